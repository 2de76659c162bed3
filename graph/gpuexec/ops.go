package gpuexec

import (
	"fmt"

	"github.com/gosig/gosig/gpu"
	"github.com/gosig/gosig/graph"
)

// The kernels of every op but Linear (see linear_*.go). Each launcher reads
// the node's shapes, fills the shader's parameter block and records its
// dispatches; the WGSL files document the bindings.

func init() {
	register(Kernel{Op: graph.OpLayerNorm, Name: "rows", Target: ForCPU, Supports: tripsWithin(layerNormRowsTrips), Build: layerNormRows})
	register(Kernel{Op: graph.OpLayerNorm, Name: "wg", Target: ForGPU, Build: layerNormWG})
	register(Kernel{Op: graph.OpLayerNorm, Name: "rows4", Target: ForCPU, Priority: 10, Supports: layerNormRows4Supports, Build: layerNormRows4})
	register(Kernel{Op: graph.OpGELUTanh, Name: "elementwise", Build: geluTanh})
	register(Kernel{Op: graph.OpGELUTanh, Name: "vec4", Priority: 10, Supports: elemsMultipleOf4, Build: geluTanh4})
	register(Kernel{Op: graph.OpAdd, Name: "elementwise", Build: add})
	register(Kernel{Op: graph.OpSoftmax, Name: "rows", Supports: tripsWithin(func(n *graph.Node) int { return 3 * lastDim(n) }), Build: softmax})
	register(Kernel{Op: graph.OpGather, Name: "rows", Build: gather})
	register(Kernel{Op: graph.OpMaskedMean, Name: "default", Supports: maskedMeanSupports, Build: maskedMean})
	register(Kernel{Op: graph.OpL2Normalize, Name: "rows", Supports: tripsWithin(func(n *graph.Node) int { return 2 * lastDim(n) }), Build: l2Normalize})
	register(Kernel{Op: graph.OpToken, Name: "default", Build: token})
}

// tripsWithin returns a Supports function for kernels whose loop trips per
// invocation, trips(n), depend on the node's own shape: on CPU adapters it
// refuses shapes past lavapipe's loop limit (see withinLoopLimit).
func tripsWithin(trips func(n *graph.Node) int) func(*graph.Node, []*graph.Node, *gpu.Device) bool {
	return func(n *graph.Node, _ []*graph.Node, dev *gpu.Device) bool { return withinLoopLimit(dev, trips(n)) }
}

// lastDim returns the node's last dimension.
func lastDim(n *graph.Node) int { return n.Shape[len(n.Shape)-1] }

// layerNormRowsTrips counts layernorm_rows.wgsl's loop iterations per row:
// two passes of ⌈D/16⌉ blocks of up to 16 and the final pass.
func layerNormRowsTrips(n *graph.Node) int {
	d := lastDim(n)
	return 2*(ceilDiv(d, 16)+d) + d
}

// maskedMeanSupports refuses, on CPU adapters, sequences past the loop
// limit: masked_mean.wgsl loops once over the sequence.
func maskedMeanSupports(_ *graph.Node, in []*graph.Node, dev *gpu.Device) bool {
	return withinLoopLimit(dev, in[0].Shape[1])
}

// ceilDiv returns ⌈a/b⌉.
func ceilDiv(a, b int) int { return (a + b - 1) / b }

func u32(n int) uint32 { return uint32(n) }

// wg1D is the workgroup size of the one-invocation-per-item kernels.
const wg1D = 64

// elementwiseWG is the workgroup size of the element-wise kernels.
const elementwiseWG = 256

func layerNormRows(pr *Program, n *graph.Node, in []Tensor, out Tensor) error {
	d := n.Shape[len(n.Shape)-1]
	rows := n.Elems() / d
	par := new(gpu.Params).U32(u32(rows)).U32(u32(d)).F32(n.Eps)
	return pr.Dispatch(Shader{Name: "layernorm_rows.wgsl", Constants: map[string]float64{"WG": wg1D}}, par, ceilDiv(rows, wg1D),
		in[0].Binding(), in[1].Binding(), in[2].Binding(), out.Binding())
}

// layerNormRows4WG is the workgroup size of the vec4 row kernel: one SIMD
// vector of lavapipe, so that short sequences still spread over threads.
const layerNormRows4WG = 8

// layerNormRows4Supports accepts rows of a multiple of 16 elements (every
// SigLIP hidden size) within the loop limit: 3·D/16 trips.
func layerNormRows4Supports(n *graph.Node, _ []*graph.Node, dev *gpu.Device) bool {
	d := lastDim(n)
	return d%16 == 0 && withinLoopLimit(dev, 3*d/16)
}

func layerNormRows4(pr *Program, n *graph.Node, in []Tensor, out Tensor) error {
	d := lastDim(n)
	rows := n.Elems() / d
	par := new(gpu.Params).U32(u32(rows)).U32(u32(d / 4)).F32(n.Eps)
	return pr.Dispatch(Shader{Name: "layernorm_rows4.wgsl", Constants: map[string]float64{"WG": layerNormRows4WG}}, par,
		ceilDiv(rows, layerNormRows4WG), in[0].Binding(), in[1].Binding(), in[2].Binding(), out.Binding())
}

func layerNormWG(pr *Program, n *graph.Node, in []Tensor, out Tensor) error {
	d := n.Shape[len(n.Shape)-1]
	rows := n.Elems() / d
	// Enough invocations that each sums a handful of elements.
	wg := 64
	for wg < 256 && wg*4 < d {
		wg *= 2
	}
	par := new(gpu.Params).U32(u32(rows)).U32(u32(d)).F32(n.Eps)
	return pr.Dispatch(Shader{Name: "layernorm.wgsl", Constants: map[string]float64{"WG": float64(wg)}}, par, rows,
		in[0].Binding(), in[1].Binding(), in[2].Binding(), out.Binding())
}

func geluTanh(pr *Program, n *graph.Node, in []Tensor, out Tensor) error {
	par := new(gpu.Params).U32(u32(n.Elems()))
	return pr.Dispatch(Shader{Name: "gelu.wgsl", Constants: map[string]float64{"WG": elementwiseWG}}, par, ceilDiv(n.Elems(), elementwiseWG),
		in[0].Binding(), out.Binding())
}

// elemsMultipleOf4 accepts nodes whose elements split into vec4.
func elemsMultipleOf4(n *graph.Node, _ []*graph.Node, _ *gpu.Device) bool { return n.Elems()%4 == 0 }

func geluTanh4(pr *Program, n *graph.Node, in []Tensor, out Tensor) error {
	n4 := n.Elems() / 4
	par := new(gpu.Params).U32(u32(n4))
	return pr.Dispatch(Shader{Name: "gelu4.wgsl", Constants: map[string]float64{"WG": elementwiseWG}}, par, ceilDiv(n4, elementwiseWG),
		in[0].Binding(), out.Binding())
}

func add(pr *Program, n *graph.Node, in []Tensor, out Tensor) error {
	par := new(gpu.Params).U32(u32(n.Elems())).U32(u32(in[1].Elems()))
	return pr.Dispatch(Shader{Name: "add.wgsl", Constants: map[string]float64{"WG": elementwiseWG}}, par, ceilDiv(n.Elems(), elementwiseWG),
		in[0].Binding(), in[1].Binding(), out.Binding())
}

func hasFlag(t Tensor) uint32 {
	if t.Valid() {
		return 1
	}
	return 0
}

func softmax(pr *Program, n *graph.Node, in []Tensor, out Tensor) error {
	cols := n.Shape[len(n.Shape)-1]
	rows := n.Elems() / cols
	par := new(gpu.Params).U32(u32(rows)).U32(u32(cols)).U32(u32(rows / n.Shape[0])).U32(hasFlag(in[1]))
	return pr.Dispatch(Shader{Name: "softmax.wgsl", Constants: map[string]float64{"WG": wg1D}}, par, ceilDiv(rows, wg1D),
		in[0].Binding(), in[1].Or(in[0]), out.Binding())
}

// gather looks rows up in the table; a table larger than the adapter's
// binding limit is bound in row ranges, one dispatch each.
func gather(pr *Program, n *graph.Node, in []Tensor, out Tensor) error {
	table, ids := in[0], in[1]
	vocab, d := table.Shape[0], table.Shape[1]
	tokens := ids.Elems()
	lim := pr.Device().Limits()
	rowBytes := 4 * d
	rowsPer := vocab
	if maxBind := pr.MaxBinding(); uint64(vocab*rowBytes) > maxBind {
		// Chunks must start at offsets the device can bind.
		step := int(lim.MinStorageBufferOffsetAlignment) / gcd(rowBytes, int(lim.MinStorageBufferOffsetAlignment))
		rowsPer = int(maxBind) / rowBytes / step * step
		if rowsPer == 0 {
			return fmt.Errorf("a table row of %d bytes exceeds the adapter's binding limit", rowBytes)
		}
	}
	s := Shader{Name: "gather.wgsl", Constants: map[string]float64{"WG": elementwiseWG}}
	for r0 := 0; r0 < vocab; r0 += rowsPer {
		rows := min(rowsPer, vocab-r0)
		chunk := gpu.Binding{Buffer: table.Buffer, Offset: table.Offset + uint64(r0*rowBytes), Size: uint64(rows * rowBytes)}
		par := new(gpu.Params).U32(u32(tokens)).U32(u32(d)).U32(u32(r0)).U32(u32(rows)).U32(u32(vocab))
		if err := pr.Dispatch(s, par, ceilDiv(tokens*d, elementwiseWG), chunk, ids.Binding(), out.Binding()); err != nil {
			return err
		}
	}
	return nil
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func maskedMean(pr *Program, n *graph.Node, in []Tensor, out Tensor) error {
	b, s, d := in[0].Shape[0], in[0].Shape[1], in[0].Shape[2]
	par := new(gpu.Params).U32(u32(b)).U32(u32(s)).U32(u32(d))
	return pr.Dispatch(Shader{Name: "masked_mean.wgsl", Constants: map[string]float64{"WG": wg1D}}, par, ceilDiv(b*d, wg1D),
		in[0].Binding(), in[1].Binding(), out.Binding())
}

func l2Normalize(pr *Program, n *graph.Node, in []Tensor, out Tensor) error {
	d := n.Shape[len(n.Shape)-1]
	rows := n.Elems() / d
	par := new(gpu.Params).U32(u32(rows)).U32(u32(d))
	return pr.Dispatch(Shader{Name: "l2norm.wgsl", Constants: map[string]float64{"WG": wg1D}}, par, ceilDiv(rows, wg1D),
		in[0].Binding(), out.Binding())
}

func token(pr *Program, n *graph.Node, in []Tensor, out Tensor) error {
	b, s, d := in[0].Shape[0], in[0].Shape[1], in[0].Shape[2]
	idx := n.Index
	if idx < 0 {
		idx += s
	}
	par := new(gpu.Params).U32(u32(b)).U32(u32(s)).U32(u32(d)).U32(u32(idx))
	return pr.Dispatch(Shader{Name: "token.wgsl", Constants: map[string]float64{"WG": elementwiseWG}}, par, ceilDiv(b*d, elementwiseWG),
		in[0].Binding(), out.Binding())
}
