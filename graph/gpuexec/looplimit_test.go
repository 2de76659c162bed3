package gpuexec

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gosig/gosig/graph"
)

// The ops whose kernels loop over a dimension, each at the largest size
// gosig runs that dimension at (hidden 1536, sequences of 4096 tokens, MLP
// 6144, vocabulary 256000), against the CPU reference: lavapipe ends an
// invocation's loops after 65535 iterations in all and would return
// garbage, not an error. The other dimensions are as small as the kernels
// allow, to keep the float64 reference cheap; attention has
// TestAttentionWorstCaseShapes. Every variant of the op runs unless it
// refuses the shape (Linear: the variant chosen for this adapter; its
// others are the Linear tests' business).
func TestLoopLimitWorstCaseShapes(t *testing.T) {
	const hidden, seq, mlp, vocab = 1536, 4096, 6144, 256000
	rng := rand.New(rand.NewPCG(51, 52))
	rnd := func(shape ...int) graph.Value { return graph.F32Value(randn(rng, graph.Elems(shape)), shape...) }
	type opCase struct {
		op    graph.Op
		build func(b *graph.Builder) (mapWeights, map[string]graph.Value)
		tol   tol
	}
	cases := map[string]opCase{
		"LayerNorm D=1536": {graph.OpLayerNorm, func(b *graph.Builder) (mapWeights, map[string]graph.Value) {
			b.Output("y", b.LayerNorm(b.Input("x", graph.F32, 3, hidden), b.Weight("g", hidden), b.Weight("b", hidden), 1e-6))
			return mapWeights{"g": rnd(hidden), "b": rnd(hidden)}, map[string]graph.Value{"x": rnd(3, hidden)}
		}, tol{abs: 1e-5, rel: 1e-5}}, // as TestLayerNorm
		"L2Normalize D=1536": {graph.OpL2Normalize, func(b *graph.Builder) (mapWeights, map[string]graph.Value) {
			b.Output("y", b.L2Normalize(b.Input("x", graph.F32, 2, hidden)))
			return nil, map[string]graph.Value{"x": rnd(2, hidden)}
		}, tol{abs: 1e-7, rel: 1e-5}}, // as TestL2Normalize
		"Softmax N=4096": {graph.OpSoftmax, func(b *graph.Builder) (mapWeights, map[string]graph.Value) {
			b.Output("y", b.Softmax(b.Input("x", graph.F32, 2, 1, seq), b.Input("m", graph.F32, 2, seq)))
			return nil, map[string]graph.Value{"x": rnd(2, 1, seq), "m": graph.F32Value(mask(2, seq, [2]int{0, 7}, [2]int{1, seq - 1}), 2, seq)}
		}, tol{abs: 1e-6, rel: 1e-5}}, // as TestSoftmax
		"MaskedMean S=4096": {graph.OpMaskedMean, func(b *graph.Builder) (mapWeights, map[string]graph.Value) {
			b.Output("y", b.MaskedMean(b.Input("x", graph.F32, 2, seq, 3), b.Input("m", graph.F32, 2, seq)))
			return nil, map[string]graph.Value{"x": rnd(2, seq, 3), "m": graph.F32Value(mask(2, seq, [2]int{0, 5}, [2]int{1, 0}), 2, seq)}
		}, tol{abs: 1e-6, rel: 1e-4}}, // a mean of 4096 unit-scale terms in f32: ~√4096 ulp of the sum's scale
		"Gather V=256000": {graph.OpGather, func(b *graph.Builder) (mapWeights, map[string]graph.Value) {
			b.Output("e", b.Gather(b.Weight("table", vocab, 2), b.Input("ids", graph.I32, 1, 4)))
			return mapWeights{"table": rnd(vocab, 2)}, map[string]graph.Value{"ids": graph.I32Value([]int32{0, vocab - 1, 12345, 200000}, 1, 4)}
		}, tol{}}, // a copy
		"Linear K=6144": {graph.OpLinear, func(b *graph.Builder) (mapWeights, map[string]graph.Value) {
			b.Output("y", b.GELUTanh(b.Linear(b.Input("x", graph.F32, 3, mlp), b.Weight("w", 5, mlp), b.Weight("b", 5))))
			w := rnd(5, mlp)
			for i := range w.F32 {
				w.F32[i] /= 78 // ~1/√K, as trained weights
			}
			return mapWeights{"w": w, "b": rnd(5)}, map[string]graph.Value{"x": rnd(3, mlp)}
		}, tol{abs: 1e-4, rel: 1e-4}}, // a K=6144 dot product of O(1) terms in f32
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			b := graph.NewBuilder()
			w, in := c.build(b)
			p := plan(t, b)
			variants := Variants(c.op)
			if c.op == graph.OpLinear {
				variants = []string{""}
			}
			for _, v := range variants {
				kernels := ""
				if v != "" {
					kernels = fmt.Sprintf("%s=%s", c.op, v)
				}
				if !supported(p, kernels) {
					t.Logf("%s refuses the shape on %s", kernels, testDev.Info().Name)
					continue
				}
				cpu, gpu := both(t, p, w, in, kernels)
				assertClose(t, cpu, gpu, c.tol)
			}
		})
	}
}
