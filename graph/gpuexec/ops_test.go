package gpuexec

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosig/gosig/graph"
)

// Every op runs on the GPU and on the CPU reference (graph/cpuexec, which
// accumulates in float64) on random inputs, with sizes that are multiples of
// no tile, for every registered variant of the op. Tolerances are stated per
// op with the reason.

// eachVariant runs f once per registered variant of op, as a subtest.
func eachVariant(t *testing.T, op graph.Op, f func(t *testing.T, kernels string)) {
	vs := Variants(op)
	require.NotEmpty(t, vs, "no kernel for %s", op)
	for _, v := range vs {
		t.Run(v, func(t *testing.T) { f(t, fmt.Sprintf("%s=%s", op, v)) })
	}
}

func TestLinear(t *testing.T) {
	eachVariant(t, graph.OpLinear, func(t *testing.T, kernels string) {
		const k = 588
		rng := rand.New(rand.NewPCG(1, 2))
		for _, m := range []int{1, 7, 257} {
			for i, n := range []int{1, 3, 96, 1152} {
				// Cycle through the epilogues: plain, bias, bias+GELU,
				// bias+GELU+residual.
				name := fmt.Sprintf("M%d_N%d_epilogue%d", m, n, i)
				t.Run(name, func(t *testing.T) {
					b := graph.NewBuilder()
					x := b.Input("x", graph.F32, m, k)
					w := map[string]graph.Value{"w": graph.F32Value(randn(rng, n*k), n, k)}
					var bias graph.Tensor
					if i >= 1 {
						bias = b.Weight("b", n)
						w["b"] = graph.F32Value(randn(rng, n), n)
					}
					y := b.Linear(x, b.Weight("w", n, k), bias)
					if i >= 2 {
						y = b.GELUTanh(y)
					}
					in := map[string]graph.Value{"x": graph.F32Value(randn(rng, m*k), m, k)}
					if i >= 3 {
						r := b.Input("r", graph.F32, m, n)
						y = b.Add(y, r)
						in["r"] = graph.F32Value(randn(rng, m*n), m, n)
					}
					b.Output("y", y)
					p := plan(t, b)
					if i >= 2 {
						require.Equal(t, i-1, p.Fused, "the planner fuses the epilogue")
					}
					cpu, gpu := both(t, p, w, in, kernels)
					// Dot products of K=588 terms of unit scale: the sum is
					// ~√K and f32 accumulation in any order errs by about
					// √K·2⁻²⁴·√K; 1e-4·√K/8 leaves a wide margin (rel 1e-5
					// for the epilogue's rounding).
					assertClose(t, cpu, gpu, tol{abs: 1e-4 * math.Sqrt(k) / 8, rel: 1e-5})
				})
			}
		}
	})
}

func TestLayerNorm(t *testing.T) {
	eachVariant(t, graph.OpLayerNorm, func(t *testing.T, kernels string) {
		rng := rand.New(rand.NewPCG(3, 4))
		for _, rows := range []int{1, 7, 257} {
			for _, d := range []int{3, 96, 768, 1152} {
				t.Run(fmt.Sprintf("%dx%d", rows, d), func(t *testing.T) {
					b := graph.NewBuilder()
					x := b.Input("x", graph.F32, rows, d)
					b.Output("y", b.LayerNorm(x, b.Weight("g", d), b.Weight("b", d), 1e-6))
					// An offset mean checks the two-pass variance.
					xs := randn(rng, rows*d)
					for i := range xs {
						xs[i] = 3*xs[i] + 20
					}
					w := mapWeights{"g": graph.F32Value(randn(rng, d), d), "b": graph.F32Value(randn(rng, d), d)}
					cpu, gpu := both(t, plan(t, b), w, map[string]graph.Value{"x": graph.F32Value(xs, rows, d)}, kernels)
					// Normalised values are O(1)·gamma; f32 sums of D terms
					// err by ~1e-7 relative: rel 1e-5 plus abs 1e-5 for
					// results near zero.
					assertClose(t, cpu, gpu, tol{abs: 1e-5, rel: 1e-5})
				})
			}
		}
	})
}

func TestGELUTanh(t *testing.T) {
	eachVariant(t, graph.OpGELUTanh, func(t *testing.T, kernels string) {
		rng := rand.New(rand.NewPCG(5, 6))
		for _, cols := range []int{1153, 1152} { // the vec4 kernel takes the second
			t.Run(fmt.Sprint(cols), func(t *testing.T) {
				const rows = 7
				xs := randn(rng, rows*cols)
				for i := range xs {
					xs[i] *= 4
				}
				// Large arguments, where a tanh through exp overflows.
				copy(xs, []float32{-100, -20, -9, 0, 9, 20, 100, 3e10, -3e10})
				b := graph.NewBuilder()
				x := b.Input("x", graph.F32, rows, cols)
				b.Output("y", b.GELUTanh(x))
				cpu, gpu := both(t, plan(t, b), nil, map[string]graph.Value{"x": graph.F32Value(xs, rows, cols)}, kernels)
				// tanh in f32 is good to a few ulp; 0.5·x·(1+tanh) amplifies
				// its absolute error by |x|/2 where 1+tanh cancels (x ≪ 0):
				// abs 1e-6 and rel 1e-5 cover |x| up to ~20, beyond which
				// the result is 0 or x.
				assertClose(t, cpu, gpu, tol{abs: 1e-6, rel: 1e-5})
			})
		}
	})
}

func TestAdd(t *testing.T) {
	eachVariant(t, graph.OpAdd, func(t *testing.T, kernels string) {
		rng := rand.New(rand.NewPCG(7, 8))
		for _, bshape := range [][]int{{3, 7, 33}, {7, 33}, {33}} {
			t.Run(fmt.Sprint(bshape), func(t *testing.T) {
				b := graph.NewBuilder()
				a := b.Input("a", graph.F32, 3, 7, 33)
				c := b.Input("c", graph.F32, bshape...)
				b.Output("y", b.Add(a, c))
				in := map[string]graph.Value{
					"a": graph.F32Value(randn(rng, 3*7*33), 3, 7, 33),
					"c": graph.F32Value(randn(rng, graph.Elems(bshape)), bshape...),
				}
				cpu, gpu := both(t, plan(t, b), nil, in, kernels)
				// One f32 addition, correctly rounded on both sides.
				assertClose(t, cpu, gpu, tol{})
			})
		}
	})
}

func TestSoftmax(t *testing.T) {
	eachVariant(t, graph.OpSoftmax, func(t *testing.T, kernels string) {
		rng := rand.New(rand.NewPCG(9, 10))
		for _, n := range []int{1, 3, 257} {
			for _, masked := range []bool{false, true} {
				t.Run(fmt.Sprintf("N%d_mask%v", n, masked), func(t *testing.T) {
					const bsz, h, s = 2, 3, 5
					b := graph.NewBuilder()
					x := b.Input("x", graph.F32, bsz, h, s, n)
					in := map[string]graph.Value{"x": graph.F32Value(randn(rng, bsz*h*s*n), bsz, h, s, n)}
					var m graph.Tensor
					if masked {
						m = b.Input("m", graph.F32, bsz, n)
						// Batch 1 fully masked: uniform weights.
						mv := mask(bsz, n, [2]int{0, n - 1})
						for j := range n {
							mv[n+j] = 0
						}
						in["m"] = graph.F32Value(mv, bsz, n)
					}
					b.Output("y", b.Softmax(x, m))
					cpu, gpu := both(t, plan(t, b), nil, in, kernels)
					// Probabilities in [0, 1]; f32 exp and sum err by a few
					// ulp of 1.
					assertClose(t, cpu, gpu, tol{abs: 1e-6, rel: 1e-5})
				})
			}
		}
	})
}

// attnCase is one attention configuration.
type attnCase struct {
	bsz, qBatch, sq, sk, heads, dh int
	masked                         bool
}

func (c attnCase) String() string {
	return fmt.Sprintf("B%d_Bq%d_Sq%d_Sk%d_H%d_Dh%d_mask%v", c.bsz, c.qBatch, c.sq, c.sk, c.heads, c.dh, c.masked)
}

var attnCases = []attnCase{
	{bsz: 2, qBatch: 2, sq: 7, sk: 7, heads: 3, dh: 8, masked: false},
	{bsz: 2, qBatch: 2, sq: 33, sk: 33, heads: 2, dh: 64, masked: true},
	{bsz: 3, qBatch: 1, sq: 1, sk: 37, heads: 4, dh: 72, masked: true}, // the MAP head's probe
	{bsz: 2, qBatch: 2, sq: 5, sk: 70, heads: 2, dh: 4, masked: true},  // Sq ≠ Sk, several key tiles
	{bsz: 1, qBatch: 1, sq: 3, sk: 1, heads: 1, dh: 12, masked: false},
	{bsz: 2, qBatch: 2, sq: 4, sk: 9, heads: 2, dh: 6, masked: true}, // Dh not a multiple of 4
}

// attnGraph builds Attention (probs false) or AttentionProbs over random q,
// k, v; with a mask, batch 0 loses its first and last keys and batch 1 (if
// any) all of them.
func attnGraph(rng *rand.Rand, c attnCase, probs bool) (*graph.Builder, map[string]graph.Value) {
	hidden := c.heads * c.dh
	b := graph.NewBuilder()
	q := b.Input("q", graph.F32, c.qBatch, c.sq, hidden)
	k := b.Input("k", graph.F32, c.bsz, c.sk, hidden)
	in := map[string]graph.Value{
		"q": graph.F32Value(randn(rng, c.qBatch*c.sq*hidden), c.qBatch, c.sq, hidden),
		"k": graph.F32Value(randn(rng, c.bsz*c.sk*hidden), c.bsz, c.sk, hidden),
	}
	var m graph.Tensor
	if c.masked {
		m = b.Input("m", graph.F32, c.bsz, c.sk)
		mv := mask(c.bsz, c.sk, [2]int{0, 0}, [2]int{0, c.sk - 1})
		for j := range c.sk * min(c.bsz-1, 1) {
			mv[c.sk+j] = 0
		}
		in["m"] = graph.F32Value(mv, c.bsz, c.sk)
	}
	if probs {
		b.Output("p", b.AttentionProbs(q, k, m, c.heads))
	} else {
		v := b.Input("v", graph.F32, c.bsz, c.sk, hidden)
		in["v"] = graph.F32Value(randn(rng, c.bsz*c.sk*hidden), c.bsz, c.sk, hidden)
		b.Output("o", b.Attention(q, k, v, m, c.heads))
	}
	return b, in
}

func TestAttention(t *testing.T) {
	eachVariant(t, graph.OpAttention, func(t *testing.T, kernels string) {
		rng := rand.New(rand.NewPCG(11, 12))
		for _, c := range attnCases {
			t.Run(c.String(), func(t *testing.T) {
				b, in := attnGraph(rng, c, false)
				cpu, gpu := both(t, plan(t, b), nil, in, kernels)
				// Outputs are convex combinations of unit-scale v; scores
				// (dot products of Dh terms) and the online softmax's
				// rescaling err by ~1e-6 relative in f32.
				assertClose(t, cpu, gpu, tol{abs: 2e-5, rel: 1e-5})
			})
		}
	})
}

func TestAttentionProbs(t *testing.T) {
	eachVariant(t, graph.OpAttentionProbs, func(t *testing.T, kernels string) {
		rng := rand.New(rand.NewPCG(13, 14))
		for _, c := range attnCases {
			t.Run(c.String(), func(t *testing.T) {
				b, in := attnGraph(rng, c, true)
				cpu, gpu := both(t, plan(t, b), nil, in, kernels)
				// Probabilities in [0, 1], as Attention.
				assertClose(t, cpu, gpu, tol{abs: 1e-5, rel: 1e-5})
			})
		}
	})
}

func TestGather(t *testing.T) {
	eachVariant(t, graph.OpGather, func(t *testing.T, kernels string) {
		rng := rand.New(rand.NewPCG(15, 16))
		const vocab, d = 50, 7
		ids := []int32{0, 49, 3, 3, 17, 8, 1, 0, 22, 48}
		b := graph.NewBuilder()
		b.Output("e", b.Gather(b.Weight("table", vocab, d), b.Input("ids", graph.I32, 2, 5)))
		w := mapWeights{"table": graph.F32Value(randn(rng, vocab*d), vocab, d)}
		p := plan(t, b)
		cpu, gpu := both(t, p, w, map[string]graph.Value{"ids": graph.I32Value(ids, 2, 5)}, kernels)
		assertClose(t, cpu, gpu, tol{}) // a copy: exact

		_, err := newExec(t, w, kernels).Run(context.Background(), p,
			map[string]graph.Value{"ids": graph.I32Value([]int32{0, 1, 2, 50, 4, 5, 6, 7, 8, 9}, 2, 5)})
		require.ErrorContains(t, err, "id 50 at position 3")
	})
}

// TestGatherChunked binds the table in row ranges, as for a table larger
// than the adapter's binding limit (SigLIP so400m's 256000×1152 embedding).
func TestGatherChunked(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	const vocab, d = 300, 16
	ids := make([]int32, 2*64)
	for i := range ids {
		ids[i] = rng.Int32N(vocab)
	}
	b := graph.NewBuilder()
	b.Output("e", b.Gather(b.Weight("table", vocab, d), b.Input("ids", graph.I32, 2, 64)))
	w := mapWeights{"table": graph.F32Value(randn(rng, vocab*d), vocab, d)}
	p := plan(t, b)
	in := map[string]graph.Value{"ids": graph.I32Value(ids, 2, 64)}
	want, _ := both(t, p, w, in, "")
	e, err := New(w, Options{Device: testDev, maxBinding: 4096})
	require.NoError(t, err)
	defer e.Close()
	got, err := e.Run(context.Background(), p, in)
	require.NoError(t, err)
	assertClose(t, want, got, tol{})
	// 4096-byte chunks of 64-byte rows: 64 rows each, 5 dispatches.
	assert.Equal(t, int64(5), e.Stats().Dispatches)
}

func TestMaskedMean(t *testing.T) {
	eachVariant(t, graph.OpMaskedMean, func(t *testing.T, kernels string) {
		rng := rand.New(rand.NewPCG(19, 20))
		const bsz, s, d = 3, 5, 7
		b := graph.NewBuilder()
		b.Output("y", b.MaskedMean(b.Input("x", graph.F32, bsz, s, d), b.Input("m", graph.F32, bsz, s)))
		in := map[string]graph.Value{
			"x": graph.F32Value(randn(rng, bsz*s*d), bsz, s, d),
			"m": graph.F32Value(mask(bsz, s, [2]int{0, 4}, [2]int{2, 0}, [2]int{2, 1}), bsz, s),
		}
		cpu, gpu := both(t, plan(t, b), nil, in, kernels)
		// A mean of ≤5 unit-scale terms in f32.
		assertClose(t, cpu, gpu, tol{abs: 1e-6, rel: 1e-6})
	})
}

func TestL2Normalize(t *testing.T) {
	eachVariant(t, graph.OpL2Normalize, func(t *testing.T, kernels string) {
		rng := rand.New(rand.NewPCG(21, 22))
		b := graph.NewBuilder()
		b.Output("y", b.L2Normalize(b.Input("x", graph.F32, 7, 1152)))
		cpu, gpu := both(t, plan(t, b), nil, map[string]graph.Value{"x": graph.F32Value(randn(rng, 7*1152), 7, 1152)}, kernels)
		// Components ~1/√1152; the f32 sum of squares errs ~1e-7 relative.
		assertClose(t, cpu, gpu, tol{abs: 1e-7, rel: 1e-5})
	})
}

func TestToken(t *testing.T) {
	eachVariant(t, graph.OpToken, func(t *testing.T, kernels string) {
		rng := rand.New(rand.NewPCG(23, 24))
		for _, idx := range []int{0, 2, -1} {
			b := graph.NewBuilder()
			b.Output("y", b.Token(b.Input("x", graph.F32, 3, 5, 7), idx))
			cpu, gpu := both(t, plan(t, b), nil, map[string]graph.Value{"x": graph.F32Value(randn(rng, 105), 3, 5, 7)}, kernels)
			assertClose(t, cpu, gpu, tol{}) // a copy: exact
		}
	})
}

// TestPassThroughOutputs returns an input, a weight and a reshaped view
// directly: no kernel, only readback.
func TestPassThroughOutputs(t *testing.T) {
	b := graph.NewBuilder()
	x := b.Input("x", graph.F32, 2, 3)
	ids := b.Input("ids", graph.I32, 1, 2)
	b.Output("x", x)
	b.Output("ids", ids)
	b.Output("w", b.Weight("w", 4))
	b.Output("r", b.Reshape(x, 3, 2))
	w := mapWeights{"w": graph.F32Value([]float32{1, 2, 3, 4}, 4)}
	in := map[string]graph.Value{"x": graph.F32Value([]float32{1, 2, 3, 4, 5, 6}, 2, 3), "ids": graph.I32Value([]int32{7, -1}, 1, 2)}
	cpu, gpu := both(t, plan(t, b), w, in, "")
	assertClose(t, cpu, gpu, tol{})
}
