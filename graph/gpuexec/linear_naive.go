package gpuexec

import (
	"github.com/gosig/gosig/gpu"
	"github.com/gosig/gosig/graph"
)

// The simple Linear kernel: correct for every shape and the baseline the
// tuned variants (linear.go) are checked and timed against. Priority -1
// lets any other variant win the automatic choice.
func init() {
	register(Kernel{Op: graph.OpLinear, Name: "naive", Priority: -1, Build: linearNaive})
}

// Linear epilogue flags of linear_naive.wgsl.
const (
	linearBias     = 1
	linearGELU     = 2
	linearResidual = 4
)

// LinearFlags returns the epilogue flags of a Linear node with inputs in:
// 1 bias, 2 GELU-tanh, 4 residual, as the Linear shaders read them.
func LinearFlags(n *graph.Node, in []Tensor) uint32 {
	var f uint32
	if in[2].Valid() {
		f |= linearBias
	}
	if n.Act == graph.ActGELUTanh {
		f |= linearGELU
	}
	if in[3].Valid() {
		f |= linearResidual
	}
	return f
}

// LinearDims returns M, K, N of a Linear node: x is [.., K] with M rows, w
// is [N, K].
func LinearDims(in []Tensor) (m, k, n int) {
	k = in[1].Shape[1]
	n = in[1].Shape[0]
	return in[0].Elems() / k, k, n
}

func linearNaive(pr *Program, n *graph.Node, in []Tensor, out Tensor) error {
	m, k, nOut := LinearDims(in)
	const tm, tn = 4, 4
	blocks := ceilDiv(m, tm) * ceilDiv(nOut, tn)
	par := new(gpu.Params).U32(u32(m)).U32(u32(k)).U32(u32(nOut)).U32(LinearFlags(n, in))
	consts := map[string]float64{"WG": wg1D, "TM": tm, "TN": tn}
	return pr.Dispatch(Shader{Name: "linear_naive.wgsl", Constants: consts}, par, ceilDiv(blocks, wg1D),
		in[0].Binding(), in[1].Binding(), in[2].Or(in[0]), in[3].Or(in[0]), out.Binding())
}
