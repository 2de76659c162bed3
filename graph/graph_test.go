package graph

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBuilderRejectsShapeMismatches(t *testing.T) {
	cases := []struct {
		name  string
		build func(b *Builder)
		want  string
	}{
		{"linear K", func(b *Builder) {
			b.Linear(b.Input("x", F32, 2, 5), b.Weight("w", 3, 4), Tensor{})
		}, "x [2 5] and w [3 4] disagree on K"},
		{"linear bias", func(b *Builder) {
			b.Linear(b.Input("x", F32, 2, 4), b.Weight("w", 3, 4), b.Weight("b", 4))
		}, "bias must be [3]"},
		{"layernorm gamma", func(b *Builder) {
			b.LayerNorm(b.Input("x", F32, 2, 4), b.Weight("g", 3), b.Weight("b", 4), 1e-6)
		}, "gamma and beta must be [4]"},
		{"add broadcast", func(b *Builder) {
			b.Add(b.Input("x", F32, 2, 3, 4), b.Input("y", F32, 2, 4))
		}, "cannot add [2 4] to [2 3 4]"},
		{"heads", func(b *Builder) {
			q := b.Input("q", F32, 1, 4, 10)
			b.Attention(q, q, q, Tensor{}, 3)
		}, "not divisible by 3 heads"},
		{"attention mask", func(b *Builder) {
			q := b.Input("q", F32, 2, 4, 8)
			b.Attention(q, q, q, b.Input("m", F32, 2, 5), 2)
		}, "mask must be [2, 4]"},
		{"query batch", func(b *Builder) {
			k := b.Input("k", F32, 3, 4, 8)
			b.Attention(b.Input("q", F32, 2, 1, 8), k, k, Tensor{}, 2)
		}, "q's batch must be k's (3) or 1"},
		{"gather ids dtype", func(b *Builder) {
			b.Gather(b.Weight("t", 10, 4), b.Input("ids", F32, 1, 3))
		}, "ids must be I32"},
		{"token range", func(b *Builder) {
			b.Token(b.Input("x", F32, 1, 3, 4), 3)
		}, "index 3 out of range"},
		{"reshape", func(b *Builder) {
			b.Reshape(b.Input("x", F32, 2, 3), 4, 2)
		}, "cannot reshape [2 3]"},
		{"weight redeclared", func(b *Builder) {
			b.Weight("w", 2, 2)
			b.Weight("w", 2, 3)
		}, `weight "w" declared with shape [2 2] and [2 3]`},
		{"bad input shape", func(b *Builder) {
			b.Input("x", F32, 2, 0)
		}, `input "x": invalid shape [2 0]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := NewBuilder()
			c.build(b)
			b.Output("y", b.Input("unused", F32, 1))
			_, err := b.Build()
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestBuilderKeepsFirstErrorAndLabelsIt(t *testing.T) {
	b := NewBuilder()
	pop := b.Scope("encoder.layers.3")
	x := b.Input("x", F32, 2, 5)
	bad := b.Linear(x, b.Weight("w", 3, 4), Tensor{})
	pop()
	assert.False(t, bad.Valid())
	y := b.GELUTanh(bad) // a no-op after the first error
	b.Output("y", y)
	_, err := b.Build()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "encoder.layers.3.Linear")
	assert.NotContains(t, err.Error(), "GELU")
}

func TestBuildNeedsOutputs(t *testing.T) {
	b := NewBuilder()
	b.Input("x", F32, 1)
	_, err := b.Build()
	require.ErrorContains(t, err, "no outputs")
}

// mlpGraph is a pre-LayerNorm MLP block: x + fc2(gelu(fc1(ln(x)))).
func mlpGraph(t *testing.T, keepIntermediates bool) *Graph {
	b := NewBuilder()
	x := b.Input("x", F32, 2, 3, 8)
	h := b.LayerNorm(x, b.Weight("ln.w", 8), b.Weight("ln.b", 8), 1e-6)
	h1 := b.Linear(h, b.Weight("fc1.w", 16, 8), b.Weight("fc1.b", 16))
	h2 := b.GELUTanh(h1)
	h3 := b.Linear(h2, b.Weight("fc2.w", 8, 16), b.Weight("fc2.b", 8))
	y := b.Add(x, h3)
	b.Output("y", y)
	if keepIntermediates {
		b.Output("h1", h1)
		b.Output("h3", h3)
	}
	g, err := b.Build()
	require.NoError(t, err)
	return g
}

func TestPlanFusesGELUAndResidualIntoLinear(t *testing.T) {
	p, err := NewPlan(mlpGraph(t, false))
	require.NoError(t, err)
	require.Len(t, p.Steps, 3, p.String()) // LayerNorm, fc1+GELU, fc2+residual
	assert.Equal(t, 2, p.Fused)
	fc1, fc2 := p.Node(p.Steps[1]), p.Node(p.Steps[2])
	assert.Equal(t, OpLinear, fc1.Op)
	assert.Equal(t, ActGELUTanh, fc1.Act)
	assert.Equal(t, None, fc1.Input(3))
	assert.Equal(t, ActNone, fc2.Act)
	assert.Equal(t, 0, fc2.Input(3), "the residual is the input x")
	assert.Equal(t, fc1.ID, fc2.Input(0))
	assert.Equal(t, fc2.ID, p.Outputs[0].ID)
}

func TestPlanDoesNotFuseWhatIsRead(t *testing.T) {
	p, err := NewPlan(mlpGraph(t, true))
	require.NoError(t, err)
	assert.Zero(t, p.Fused, "h1 and h3 are outputs, so neither GELU nor Add may be folded")
	assert.Len(t, p.Steps, 5)
}

func TestPlanFusesResidualComputedAfterTheLinear(t *testing.T) {
	// y = Linear(x) + LayerNorm(x): the residual is computed after the
	// Linear, so the fused Linear must run after it.
	b := NewBuilder()
	x := b.Input("x", F32, 4, 8)
	l := b.Linear(x, b.Weight("w", 8, 8), Tensor{})
	r := b.LayerNorm(x, b.Weight("g", 8), b.Weight("b", 8), 1e-5)
	b.Output("y", b.Add(l, r))
	g, err := b.Build()
	require.NoError(t, err)
	p, err := NewPlan(g)
	require.NoError(t, err)
	require.Len(t, p.Steps, 2)
	assert.Equal(t, OpLayerNorm, p.Node(p.Steps[0]).Op)
	assert.Equal(t, r.ID(), p.Node(p.Steps[1]).Input(3))
}

func TestPlanDropsDeadNodes(t *testing.T) {
	b := NewBuilder()
	x := b.Input("x", F32, 4, 8)
	unused := b.Input("unused", F32, 4)
	b.GELUTanh(x) // nobody reads it
	b.Output("y", b.L2Normalize(x))
	_ = unused
	g, err := b.Build()
	require.NoError(t, err)
	p, err := NewPlan(g)
	require.NoError(t, err)
	assert.Len(t, p.Steps, 1)
	assert.Len(t, p.LiveInputs(), 1)
	assert.NoError(t, CheckInputs(p, map[string]Value{"x": F32Value(make([]float32, 32), 4, 8)}))
}

// TestPlanLayoutNeverOverlapsLiveTensors builds random residual networks and
// checks that no two tensors alive at the same step share bytes, and that
// reuse does happen.
func TestPlanLayoutNeverOverlapsLiveTensors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 50 {
		b := NewBuilder()
		d := 1 + rng.IntN(40)
		x := b.Input("x", F32, 1+rng.IntN(5), d)
		live := []Tensor{x}
		for i := range 5 + rng.IntN(30) {
			a := live[rng.IntN(len(live))]
			var y Tensor
			switch rng.IntN(4) {
			case 0:
				y = b.Linear(a, b.Weight(fmt.Sprint("w", i), d, d), Tensor{})
			case 1:
				y = b.GELUTanh(a)
			case 2:
				y = b.Add(a, live[rng.IntN(len(live))])
			case 3:
				y = b.Reshape(a, a.Shape()[0]*d)
				y = b.Reshape(b.L2Normalize(y), a.Shape()...)
			}
			live = append(live, y)
		}
		b.Output("y", live[len(live)-1])
		b.Output("z", live[rng.IntN(len(live))])
		g, err := b.Build()
		require.NoError(t, err)
		p, err := NewPlan(g)
		require.NoError(t, err)
		checkLayout(t, p, trial)
	}
}

func checkLayout(t *testing.T, p *Plan, trial int) {
	t.Helper()
	// Recompute lifetimes independently of layout().
	first := map[int]int{}
	last := map[int]int{}
	for _, n := range p.LiveInputs() {
		first[n.ID], last[n.ID] = -1, -1
	}
	for s, id := range p.Steps {
		first[id], last[id] = s, s
		for _, in := range p.Nodes[id].Inputs {
			if in != None && p.Nodes[p.Storage[in]].Op != OpWeight {
				last[p.Storage[in]] = max(last[p.Storage[in]], s)
			}
		}
	}
	for _, o := range p.Outputs {
		last[p.Storage[o.ID]] = len(p.Steps)
	}
	var ids []int
	for id := range first {
		ids = append(ids, id)
		s := p.Slots[id]
		require.Equal(t, int64(p.Nodes[id].Elems()*4), s.Bytes, "trial %d: node %d", trial, id)
		require.Zero(t, s.Offset%ArenaAlign)
		require.LessOrEqual(t, s.Offset+s.Bytes, p.ArenaBytes)
	}
	for _, a := range ids {
		for _, c := range ids {
			if a >= c || first[a] > last[c] || first[c] > last[a] {
				continue
			}
			sa, sc := p.Slots[a], p.Slots[c]
			overlap := sa.Offset < sc.Offset+sc.Bytes && sc.Offset < sa.Offset+sa.Bytes
			require.False(t, overlap, "trial %d: %%%d %+v and %%%d %+v are live together but overlap\n%s", trial, a, sa, c, sc, p)
		}
	}
}

func TestPlanReusesMemory(t *testing.T) {
	// A chain of 10 element-wise ops needs two buffers at a time, not ten.
	b := NewBuilder()
	x := b.Input("x", F32, 1024)
	for range 10 {
		x = b.GELUTanh(x)
	}
	b.Output("y", x)
	g, err := b.Build()
	require.NoError(t, err)
	p, err := NewPlan(g)
	require.NoError(t, err)
	assert.Equal(t, int64(2*4096), p.ArenaBytes)
}

func TestPlanCacheBuildsOnce(t *testing.T) {
	var c PlanCache
	builds := 0
	build := func() (*Graph, error) {
		builds++
		b := NewBuilder()
		b.Output("y", b.GELUTanh(b.Input("x", F32, 4)))
		return b.Build()
	}
	p1, err := c.Get("4", build)
	require.NoError(t, err)
	p2, err := c.Get("4", build)
	require.NoError(t, err)
	assert.Same(t, p1, p2)
	assert.Equal(t, 1, builds)
	assert.Equal(t, 1, c.Len())
}

func TestCheckInputs(t *testing.T) {
	b := NewBuilder()
	ids := b.Input("ids", I32, 2, 3)
	b.Output("y", b.Gather(b.Weight("emb", 10, 4), ids))
	g, err := b.Build()
	require.NoError(t, err)
	p, err := NewPlan(g)
	require.NoError(t, err)
	assert.ErrorContains(t, CheckInputs(p, nil), `input "ids" [2 3] is not fed`)
	assert.ErrorContains(t, CheckInputs(p, map[string]Value{"ids": F32Value(make([]float32, 6), 2, 3)}), "must be I32, fed F32")
	assert.ErrorContains(t, CheckInputs(p, map[string]Value{"ids": I32Value(make([]int32, 6), 3, 2)}), "must have shape [2 3], fed [3 2]")
	assert.ErrorContains(t, CheckInputs(p, map[string]Value{"ids": I32Value(make([]int32, 5), 2, 3)}), "holds 5")
	assert.NoError(t, CheckInputs(p, map[string]Value{"ids": I32Value(make([]int32, 6), 2, 3)}))
}
