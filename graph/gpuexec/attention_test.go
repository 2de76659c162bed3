package gpuexec

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosig/gosig/gpu"
	"github.com/gosig/gosig/graph"
)

// Attention at the largest shapes gosig runs, where lavapipe's loop limit
// (65535 iterations per invocation, all loops together) broke the earlier
// kernels: Sk up to 4096 (NaFlex so400m and giant take 1024–4096 patches)
// and heads of up to 128. The loops of the kernels lavapipe runs depend on
// Sk and Dh, not on the batch, the heads or Sq, so one head of batch 1 and
// a few queries keep the float64 reference cheap. Every variant that
// accepts the shape runs; on CPU adapters the flash kernels refuse it.
func TestAttentionWorstCaseShapes(t *testing.T) {
	cases := []attnCase{
		{bsz: 1, qBatch: 1, sq: 33, sk: 4096, heads: 1, dh: 128, masked: true},
		{bsz: 1, qBatch: 1, sq: 70, sk: 4093, heads: 1, dh: 72},
		{bsz: 2, qBatch: 1, sq: 1, sk: 4096, heads: 1, dh: 128, masked: true}, // the pooling head's probe
		{bsz: 1, qBatch: 1, sq: 1, sk: 1024, heads: 2, dh: 72},                // so400m NaFlex at 1024 patches
	}
	rng := rand.New(rand.NewPCG(41, 42))
	for _, c := range cases {
		for _, probs := range []bool{false, true} {
			op := graph.OpAttention
			if probs {
				op = graph.OpAttentionProbs
			}
			t.Run(fmt.Sprintf("%s/%s", op, c), func(t *testing.T) {
				b, in := attnGraph(rng, c, probs)
				p := plan(t, b)
				ran := 0
				for _, v := range Variants(op) {
					kernels := fmt.Sprintf("%s=%s", op, v)
					if !supported(p, kernels) {
						t.Logf("%s refuses the shape on %s", v, testDev.Info().Name)
						continue
					}
					cpu, gpu := both(t, p, nil, in, kernels)
					t.Logf("%s: max |gpu - cpu| = %.2g", v, maxErr(cpu[outName(probs)], gpu[outName(probs)]))
					// As TestAttention: convex combinations of unit-scale
					// values, f32 sums over up to 4096 keys.
					assertClose(t, cpu, gpu, tol{abs: 2e-5, rel: 1e-5})
					ran++
				}
				require.Positive(t, ran, "no variant runs the shape")
				// The automatic choice always takes the shape.
				_, err := newExec(t, nil, "").Kernels(p)
				require.NoError(t, err)
			})
		}
	}
}

func outName(probs bool) string {
	if probs {
		return "p"
	}
	return "o"
}

// supported reports whether every step of p has a kernel under the choice.
func supported(p *graph.Plan, kernels string) bool {
	sel, err := parseSelection(kernels, testDev.Info().Type)
	if err != nil {
		return false
	}
	for _, id := range p.Steps {
		n := p.Nodes[id]
		if _, err := sel.choose(n, inputNodes(p, n), testDev); err != nil {
			return false
		}
	}
	return true
}

// TestFlashKernelsRefusePastTheLoopLimit checks the trip counts that keep
// the flash-style kernels off lavapipe at long sequences: at Sk = 4096 and
// Dh = 128 each would run far past 65535 iterations, mm stays far below.
func TestFlashKernelsRefusePastTheLoopLimit(t *testing.T) {
	a := attnDims{batch: 1, qBatch: 1, sq: 4096, sk: 4096, heads: 1, dh: 128}
	assert.Greater(t, regTrips(a), 65535)
	assert.Greater(t, scalarTrips(a), 65535)
	assert.Greater(t, tiledTrips(a, 32), 65535)
	assert.Less(t, newMMLayout(a).trips(a), 1000)
	assert.Less(t, probsTrips(a), 10000)

	b := graph.NewBuilder()
	q := b.Input("q", graph.F32, 1, 8, 128)
	k := b.Input("k", graph.F32, 1, 4096, 128)
	b.Output("o", b.Attention(q, k, k, graph.Tensor{}, 1))
	p := plan(t, b)
	if testDev.Info().Type != gpu.CPU {
		t.Skipf("%s has no loop limit", testDev.Info().Name)
	}
	for _, v := range []string{"reg", "scalar", "tiled"} {
		_, err := newExec(t, nil, "attention="+v).Kernels(p)
		assert.ErrorContains(t, err, "does not support", v)
	}
	ks, err := newExec(t, nil, "").Kernels(p)
	require.NoError(t, err)
	want := "mm"
	if testDev.HasStorageTextureRead() {
		want = "mm_tex"
	}
	assert.Equal(t, want, ks[p.Steps[0]])
}

// mmVariants are mm and, where the adapter has read-only storage textures,
// mm_tex: the chunking and scratch tests run both.
func mmVariants() []string {
	if testDev.HasStorageTextureRead() {
		return []string{"mm", "mm_tex"}
	}
	return []string{"mm"}
}

// TestAttentionMMChunks lowers the binding limit the mm kernels plan for,
// so that they split the batch·heads of their scores into chunks: whole
// batches per chunk, then single heads, and bind q, k, v (mm) and out by
// batch ranges when they exceed the limit.
func TestAttentionMMChunks(t *testing.T) {
	for _, c := range []struct {
		name       string
		ac         attnCase
		maxBinding uint64
		chunks     int
		texChunks  int // mm_tex binds neither q, k nor v
	}{
		// Scores of 8×8 per head, 256 bytes: 16 heads, 8 batches of 2 per
		// chunk; q, k, v of 1 KiB per batch exceed 4 KiB: 4 batches.
		// mm_tex: out of 1 KiB per batch, 4 batches.
		{"batches", attnCase{bsz: 6, qBatch: 6, sq: 8, sk: 8, heads: 2, dh: 16, masked: true}, 4096, 2, 2},
		// Scores of 12×12 per head, 576 bytes: one head per chunk.
		{"heads", attnCase{bsz: 2, qBatch: 2, sq: 12, sk: 12, heads: 4, dh: 4, masked: true}, 1024, 8, 8},
		// One probe, bound whole, broadcast over batches of k and v of
		// 2 KiB: 2 batches per chunk; mm_tex: one chunk.
		{"probe", attnCase{bsz: 5, qBatch: 1, sq: 1, sk: 8, heads: 2, dh: 32, masked: true}, 4096, 3, 1},
	} {
		for _, v := range mmVariants() {
			t.Run(c.name+"/"+v, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(43, 44))
				b, in := attnGraph(rng, c.ac, false)
				p := plan(t, b)
				kernels := "attention=" + v
				want, _ := both(t, p, nil, in, kernels)
				e, err := New(nil, Options{Device: testDev, Kernels: kernels, maxBinding: c.maxBinding})
				require.NoError(t, err)
				defer e.Close()
				got, err := e.Run(context.Background(), p, in)
				require.NoError(t, err)
				assertClose(t, want, got, tol{abs: 2e-5, rel: 1e-5})
				chunks := c.chunks
				if v == "mm_tex" {
					chunks = c.texChunks
				}
				assert.Equal(t, int64(3*chunks), e.Stats().Dispatches, "three dispatches per chunk")
			})
		}
	}
}

// TestAttentionMMSharedScratch runs attentions of three sizes in one
// program: the larger needs a scratch buffer of its own, the smaller
// reuse the first.
func TestAttentionMMSharedScratch(t *testing.T) {
	for _, v := range mmVariants() {
		t.Run(v, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(45, 46))
			b := graph.NewBuilder()
			in := map[string]graph.Value{}
			for i, s := range []int{5, 40, 7} {
				name := fmt.Sprint("x", i)
				x := b.Input(name, graph.F32, 2, s, 16)
				in[name] = graph.F32Value(randn(rng, 2*s*16), 2, s, 16)
				b.Output(fmt.Sprint("o", i), b.Attention(x, x, x, graph.Tensor{}, 2))
			}
			p := plan(t, b)
			want, got := both(t, p, nil, in, "attention="+v)
			assertClose(t, want, got, tol{abs: 2e-5, rel: 1e-5})
			e := newExec(t, nil, "attention="+v)
			_, err := e.Run(context.Background(), p, in)
			require.NoError(t, err)
			assert.Len(t, e.programs[p].shared, 2)
		})
	}
}

// TestAttentionTexLayout checks mm_tex's texture plan at SigLIP2-base (one
// chunk of 12 heads) and that a texture too small for it is refused with
// an error that names the way out.
func TestAttentionTexLayout(t *testing.T) {
	a := attnDims{batch: 1, qBatch: 1, sq: 256, sk: 256, heads: 12, dh: 64}
	l := mmTexLayout(a)
	tl := newAttnTexLayout(a, l, 12)
	// q, k, v: 256·192 texels, 12 rows each; w: 12·256·64 texels, 48 rows;
	// st: 12·256·16 pairs of 8 bytes, 6 rows.
	assert.Equal(t, attnTexLayout{attnQKV: attnQKV{kRow: 12, vRow: 24, end: 36, qTexels: 49152, kvTexels: 49152}, wRow: 36, sRow: 84, rows: 90}, tl)

	if !testDev.HasStorageTextureRead() {
		t.Skipf("%s has no read-only storage textures", testDev.Info().Name)
	}
	rng := rand.New(rand.NewPCG(47, 48))
	b, in := attnGraph(rng, attnCase{bsz: 2, qBatch: 2, sq: 40, sk: 40, heads: 2, dh: 64}, false)
	p := plan(t, b)
	e, err := New(nil, Options{Device: testDev, Kernels: "attention=mm_tex", maxTexture: 2})
	require.NoError(t, err)
	defer e.Close()
	_, err = e.Run(context.Background(), p, in)
	assert.ErrorContains(t, err, "attention=mm")
}

func TestLanes(t *testing.T) {
	for _, c := range []struct{ rows, cols, wr, wc int }{
		{8, 16, 8, 1},  // base scores: 8 row tiles of 32 queries, 16 key tiles
		{8, 4, 8, 1},   // base output: 4 column tiles of a 64-wide head
		{1, 16, 1, 8},  // the probe's scores
		{1, 5, 1, 8},   // the probe's output at Dh 72: 5 column tiles, 3 lanes idle
		{2, 4, 2, 4},   // text scores: 64 queries, 64 keys
		{3, 3, 4, 2},   // 2 workgroups either way: the more lanes along rows
		{100, 1, 8, 1}, // tall
	} {
		wr, wc := lanes(c.rows, c.cols)
		assert.Equal(t, [2]int{c.wr, c.wc}, [2]int{wr, wc}, "%d×%d tiles", c.rows, c.cols)
	}
}

func TestAttnChunks(t *testing.T) {
	assert.Equal(t, []attnChunk{{0, 3, 0, 4}, {3, 2, 0, 4}}, attnChunks(5, 4, 12, 5))
	assert.Equal(t, []attnChunk{{0, 2, 0, 4}, {2, 2, 0, 4}, {4, 1, 0, 4}}, attnChunks(5, 4, 12, 2))
	assert.Equal(t, []attnChunk{{0, 1, 0, 3}, {0, 1, 3, 1}, {1, 1, 0, 3}, {1, 1, 3, 1}}, attnChunks(2, 4, 3, 2))
}

// attentionCase is a KernelCase of one Attention of batch 1 with random
// q, k, v: sq queries (1: the pooling head's probe) over sk keys.
func attentionCase(sq, sk, hidden, heads int) KernelCase {
	return KernelCase{Op: "attention", Shape: fmt.Sprintf("%dx%dx%d", sq, sk, hidden), Heads: heads,
		FLOPs: 4 * float64(sq) * float64(sk) * float64(hidden),
		build: func(b *graph.Builder) (map[string]graph.Value, mapWeights) {
			rng := rand.New(rand.NewPCG(uint64(sq), uint64(sk)))
			rnd := func(s int) graph.Value { return graph.F32Value(randn(rng, s*hidden), 1, s, hidden) }
			q := b.Input("q", graph.F32, 1, sq, hidden)
			k := b.Input("k", graph.F32, 1, sk, hidden)
			v := b.Input("v", graph.F32, 1, sk, hidden)
			b.Output("o", b.Attention(q, k, v, graph.Tensor{}, heads))
			return map[string]graph.Value{"q": rnd(sq), "k": rnd(sk), "v": rnd(sk)}, nil
		}}
}

// BenchmarkAttention times the attention variants that take each shape:
// SigLIP2-base at 256 patches (12 heads of 64), so400m at 729 (16 heads of
// 72), and so400m's pooling-head probe over 729 patches. As BenchmarkLayer:
// 4 evaluations per submit, GPU timestamps where the adapter has them.
func BenchmarkAttention(b *testing.B) {
	for _, c := range []KernelCase{
		attentionCase(256, 256, 768, 12),
		attentionCase(729, 729, 1152, 16),
		attentionCase(1, 729, 1152, 16),
	} {
		for _, v := range Variants(graph.OpAttention) {
			b.Run(v+"/"+c.Shape, func(b *testing.B) { benchVariant(b, c, "attention="+v) })
		}
	}
}

func TestPVTile(t *testing.T) {
	for dh, tn := range map[int]int{64: 16, 72: 24, 96: 24, 128: 16, 8: 16, 12: 16, 24: 24} {
		assert.Equal(t, tn, pvTile(dh).tn, "Dh %d", dh)
	}
}
