package cpuexec

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

func run(t *testing.T, b *graph.Builder, w graph.MapWeights, in map[string]graph.Value) map[string]graph.Value {
	t.Helper()
	g, err := b.Build()
	require.NoError(t, err)
	p, err := graph.NewPlan(g)
	require.NoError(t, err)
	out, err := New(w).Run(context.Background(), p, in)
	require.NoError(t, err)
	return out
}

func randn(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// Hand-computed values (and torch's, where quoted) for each op.

func TestLinearByHand(t *testing.T) {
	b := graph.NewBuilder()
	x := b.Input("x", graph.F32, 2, 3)
	y := b.Linear(x, b.Weight("w", 2, 3), b.Weight("b", 2))
	b.Output("y", y)
	out := run(t, b, graph.MapWeights{
		"w": graph.F32Value([]float32{1, 0, -1, 2, 1, 0}, 2, 3),
		"b": graph.F32Value([]float32{0.5, -1}, 2),
	}, map[string]graph.Value{"x": graph.F32Value([]float32{1, 2, 3, 4, 5, 6}, 2, 3)})
	// row 0: [1-3, 2+2] + b = [-1.5, 3]; row 1: [4-6, 8+5] + b = [-1.5, 12]
	assert.Equal(t, []float32{-1.5, 3, -1.5, 12}, out["y"].F32)
	assert.Equal(t, []int{2, 2}, out["y"].Shape)
}

func TestGELUTanhMatchesTorch(t *testing.T) {
	// torch.nn.functional.gelu(torch.tensor(v), approximate="tanh")
	for v, want := range map[float32]float64{
		1: 0.8411920070648193, -1: -0.15880800783634186, 3: 2.9963627, -3: -0.0036373, 0: 0, 0.5: 0.34571400,
	} {
		assert.InDelta(t, want, GELUTanh(v), 1e-6, "gelu(%v)", v)
	}
}

func TestLayerNormByHand(t *testing.T) {
	b := graph.NewBuilder()
	x := b.Input("x", graph.F32, 1, 4)
	b.Output("y", b.LayerNorm(x, b.Weight("g", 4), b.Weight("b", 4), 1e-5))
	out := run(t, b, graph.MapWeights{
		"g": graph.F32Value([]float32{1, 1, 2, 2}, 4),
		"b": graph.F32Value([]float32{0, 1, 0, 1}, 4),
	}, map[string]graph.Value{"x": graph.F32Value([]float32{1, 2, 3, 4}, 1, 4)})
	// mean 2.5, biased variance 1.25
	s := 1 / math.Sqrt(1.25+1e-5)
	want := []float64{-1.5 * s, -0.5*s + 1, 2 * 0.5 * s, 2*1.5*s + 1}
	for i, w := range want {
		assert.InDelta(t, w, out["y"].F32[i], 1e-6)
	}
}

func TestSoftmaxMaskAndFullyMaskedRow(t *testing.T) {
	b := graph.NewBuilder()
	x := b.Input("x", graph.F32, 2, 1, 3)
	m := b.Input("m", graph.F32, 2, 3)
	b.Output("y", b.Softmax(x, m))
	out := run(t, b, nil, map[string]graph.Value{
		"x": graph.F32Value([]float32{1, 2, 100, 5, 6, 7}, 2, 1, 3),
		"m": graph.F32Value([]float32{1, 1, 0, 0, 0, 0}, 2, 3),
	})
	e := math.Exp(1.0)
	assert.InDeltaSlice(t, []float32{float32(1 / (1 + e)), float32(e / (1 + e)), 0}, out["y"].F32[:3], 1e-7)
	// A fully masked row: every score becomes float32 min, so weights are uniform, not NaN.
	assert.InDeltaSlice(t, []float32{1. / 3, 1. / 3, 1. / 3}, out["y"].F32[3:], 1e-7)
}

func TestSmallOpsByHand(t *testing.T) {
	b := graph.NewBuilder()
	x := b.Input("x", graph.F32, 2, 2, 2)
	mask := b.Input("mask", graph.F32, 2, 2)
	ids := b.Input("ids", graph.I32, 1, 3)
	b.Output("add", b.Add(x, b.Weight("pos", 2, 2)))
	b.Output("mean", b.MaskedMean(x, mask))
	b.Output("last", b.Token(x, -1))
	b.Output("first", b.Token(x, 0))
	b.Output("norm", b.L2Normalize(b.Reshape(x, 4, 2)))
	b.Output("emb", b.Gather(b.Weight("table", 3, 2), ids))
	out := run(t, b, graph.MapWeights{
		"pos":   graph.F32Value([]float32{10, 20, 30, 40}, 2, 2),
		"table": graph.F32Value([]float32{0, 1, 2, 3, 4, 5}, 3, 2),
	}, map[string]graph.Value{
		"x":    graph.F32Value([]float32{3, 4, 1, 0, 0, 2, 6, 8}, 2, 2, 2),
		"mask": graph.F32Value([]float32{1, 1, 0, 1}, 2, 2),
		"ids":  graph.I32Value([]int32{2, 0, 2}, 1, 3),
	})
	assert.Equal(t, []float32{13, 24, 31, 40, 10, 22, 36, 48}, out["add"].F32)
	assert.Equal(t, []float32{2, 2, 6, 8}, out["mean"].F32)
	assert.Equal(t, []float32{1, 0, 6, 8}, out["last"].F32)
	assert.Equal(t, []float32{3, 4, 0, 2}, out["first"].F32)
	assert.InDeltaSlice(t, []float32{0.6, 0.8, 1, 0, 0, 1, 0.6, 0.8}, out["norm"].F32, 1e-7)
	assert.Equal(t, []int{4, 2}, out["norm"].Shape)
	assert.Equal(t, []float32{4, 5, 0, 1, 4, 5}, out["emb"].F32)
}

func TestGatherRejectsOutOfRangeIDs(t *testing.T) {
	b := graph.NewBuilder()
	b.Output("e", b.Gather(b.Weight("table", 3, 2), b.Input("ids", graph.I32, 1, 2)))
	g, err := b.Build()
	require.NoError(t, err)
	p, err := graph.NewPlan(g)
	require.NoError(t, err)
	_, err = New(graph.MapWeights{"table": graph.F32Value(make([]float32, 6), 3, 2)}).Run(context.Background(), p,
		map[string]graph.Value{"ids": graph.I32Value([]int32{1, 3}, 1, 2)})
	require.ErrorContains(t, err, "id 3 at position 1 is outside the vocabulary [0, 3)")
}

func TestMissingWeightIsAnError(t *testing.T) {
	b := graph.NewBuilder()
	b.Output("y", b.Linear(b.Input("x", graph.F32, 1, 2), b.Weight("w", 2, 2), graph.Tensor{}))
	g, err := b.Build()
	require.NoError(t, err)
	p, err := graph.NewPlan(g)
	require.NoError(t, err)
	_, err = New(graph.MapWeights{}).Run(context.Background(), p, map[string]graph.Value{"x": graph.F32Value([]float32{1, 2}, 1, 2)})
	require.ErrorContains(t, err, "weight w: not found")
	_, err = New(graph.MapWeights{"w": graph.F32Value(make([]float32, 6), 3, 2)}).Run(context.Background(), p,
		map[string]graph.Value{"x": graph.F32Value([]float32{1, 2}, 1, 2)})
	require.ErrorContains(t, err, "weight w: expected shape [2 2], found [3 2]")
}

// TestAttentionEqualsItsDefinition checks the fused Attention op against the
// same computation spelt out with Linear, Softmax and the probabilities,
// head by head, including a broadcast single query and masked keys.
func TestAttentionEqualsItsDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const bsz, sk, heads, dh = 2, 5, 3, 4
	for _, sq := range []int{1, sk} {
		for _, qBatch := range []int{1, bsz} {
			hidden := heads * dh
			q := randn(rng, qBatch*sq*hidden)
			k := randn(rng, bsz*sk*hidden)
			v := randn(rng, bsz*sk*hidden)
			mask := []float32{1, 1, 0, 1, 0, 0, 0, 0, 0, 0} // batch 1 fully masked

			b := graph.NewBuilder()
			qt := b.Input("q", graph.F32, qBatch, sq, hidden)
			kt := b.Input("k", graph.F32, bsz, sk, hidden)
			vt := b.Input("v", graph.F32, bsz, sk, hidden)
			mt := b.Input("m", graph.F32, bsz, sk)
			b.Output("attn", b.Attention(qt, kt, vt, mt, heads))
			b.Output("probs", b.AttentionProbs(qt, kt, mt, heads))
			out := run(t, b, nil, map[string]graph.Value{
				"q": graph.F32Value(q, qBatch, sq, hidden), "k": graph.F32Value(k, bsz, sk, hidden),
				"v": graph.F32Value(v, bsz, sk, hidden), "m": graph.F32Value(mask, bsz, sk),
			})

			for bi := range bsz {
				qb := bi % qBatch
				for h := range heads {
					// Slice the head out and run it through Linear and Softmax.
					b := graph.NewBuilder()
					qh := b.Input("q", graph.F32, 1, sq, dh)
					kh := b.Input("k", graph.F32, sk, dh)
					m := b.Input("m", graph.F32, 1, sk)
					scores := b.Linear(qh, kh, graph.Tensor{})
					b.Output("p", b.Softmax(scores, m))
					qs := make([]float32, sq*dh)
					for i := range sq {
						for d := range dh {
							qs[i*dh+d] = q[(qb*sq+i)*hidden+h*dh+d] / float32(math.Sqrt(dh))
						}
					}
					ks := make([]float32, sk*dh)
					for j := range sk {
						copy(ks[j*dh:], k[(bi*sk+j)*hidden+h*dh:][:dh])
					}
					ref := run(t, b, nil, map[string]graph.Value{
						"q": graph.F32Value(qs, 1, sq, dh), "k": graph.F32Value(ks, sk, dh),
						"m": graph.F32Value(mask[bi*sk:(bi+1)*sk], 1, sk),
					})["p"].F32
					for i := range sq {
						for j := range sk {
							got := out["probs"].F32[((bi*heads+h)*sq+i)*sk+j]
							// Scaling q first instead of the scores differs by an ulp or two.
							require.InDelta(t, ref[i*sk+j], got, 1e-6)
						}
						for d := range dh {
							var want float64
							for j := range sk {
								want += float64(ref[i*sk+j]) * float64(v[(bi*sk+j)*hidden+h*dh+d])
							}
							require.InDelta(t, want, out["attn"].F32[(bi*sq+i)*hidden+h*dh+d], 1e-5)
						}
					}
				}
			}
		}
	}
}

// TestArenaLayoutComputesTheSameValues runs a plan the way a GPU executor
// does, every tensor at its arena slot in one shared buffer, and checks that
// the planner's memory reuse never clobbers a value still to be read.
func TestArenaLayoutComputesTheSameValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const s, d, heads = 6, 8, 2
	w := graph.MapWeights{}
	weight := func(b *graph.Builder, name string, shape ...int) graph.Tensor {
		w[name] = graph.F32Value(randn(rng, graph.Elems(shape)), shape...)
		return b.Weight(name, shape...)
	}
	b := graph.NewBuilder()
	x := b.Input("x", graph.F32, 2, s, d)
	mask := b.Input("mask", graph.F32, 2, s)
	for l := range 3 {
		pop := b.Scope(fmt.Sprint("layer", l))
		h := b.LayerNorm(x, weight(b, fmt.Sprint(l, "ln1.w"), d), weight(b, fmt.Sprint(l, "ln1.b"), d), 1e-6)
		q := b.Linear(h, weight(b, fmt.Sprint(l, "q.w"), d, d), weight(b, fmt.Sprint(l, "q.b"), d))
		k := b.Linear(h, weight(b, fmt.Sprint(l, "k.w"), d, d), graph.Tensor{})
		v := b.Linear(h, weight(b, fmt.Sprint(l, "v.w"), d, d), graph.Tensor{})
		a := b.Attention(q, k, v, mask, heads)
		x = b.Add(x, b.Linear(a, weight(b, fmt.Sprint(l, "o.w"), d, d), graph.Tensor{}))
		h = b.LayerNorm(x, weight(b, fmt.Sprint(l, "ln2.w"), d), weight(b, fmt.Sprint(l, "ln2.b"), d), 1e-6)
		h = b.GELUTanh(b.Linear(h, weight(b, fmt.Sprint(l, "fc1.w"), 2*d, d), graph.Tensor{}))
		x = b.Add(x, b.Linear(h, weight(b, fmt.Sprint(l, "fc2.w"), d, 2*d), graph.Tensor{}))
		pop()
	}
	b.Output("pooled", b.L2Normalize(b.MaskedMean(x, mask)))
	b.Output("hidden", x)
	g, err := b.Build()
	require.NoError(t, err)
	p, err := graph.NewPlan(g)
	require.NoError(t, err)
	require.Equal(t, 9, p.Fused) // per layer: out_proj+residual, fc1+GELU, fc2+residual

	in := map[string]graph.Value{
		"x":    graph.F32Value(randn(rng, 2*s*d), 2, s, d),
		"mask": graph.F32Value([]float32{1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1}, 2, s),
	}
	want, err := New(w).Run(context.Background(), p, in)
	require.NoError(t, err)

	arena := make([]float32, p.ArenaBytes/4)
	view := func(id int) graph.Value {
		n := p.Node(id)
		if n.Op == graph.OpWeight {
			return w[n.Name]
		}
		sl := p.SlotOf(id)
		return graph.F32Value(arena[sl.Offset/4:][:sl.Bytes/4], n.Shape...)
	}
	for _, n := range p.LiveInputs() {
		copy(view(n.ID).F32, in[n.Name].F32)
	}
	for _, id := range p.Steps {
		n := p.Node(id)
		args := make([]graph.Value, len(n.Inputs))
		for i, x := range n.Inputs {
			if x != graph.None {
				args[i] = view(x)
			}
		}
		res, err := compute(n, args)
		require.NoError(t, err)
		copy(view(id).F32, res)
	}
	for _, o := range p.Outputs {
		assert.Equal(t, want[o.Name].F32, view(o.ID).F32, o.Name)
	}
	assert.Less(t, p.ArenaBytes, int64(len(p.Steps))*int64(2*s*2*d*4), "the arena should reuse memory")
}
