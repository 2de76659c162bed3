package gpuexec

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosig/gosig/gpu"
	"github.com/gosig/gosig/graph"
)

// TestFlashTex runs flash_tex at each head size it is generated for, on
// shapes TestAttention does not give it: one query set broadcast over the
// batch (Bq = 1), query and key counts that are not multiples of its tile
// (16 or 8 queries, 4 keys), masks that drop the first and last keys of
// batch 0 and every key of batch 1 (HF: a uniform average of v), heads of
// 72 and 96. Against the float64 CPU twin with TestAttention's tolerance:
// outputs are convex combinations of unit-scale v, the scores and the
// online softmax's rescaling err by ~1e-6 relative in f32.
func TestFlashTex(t *testing.T) {
	if !testDev.HasStorageTextureRead() {
		t.Skipf("%s has no read-only storage textures", testDev.Info().Name)
	}
	rng := rand.New(rand.NewPCG(61, 62))
	for _, c := range []attnCase{
		{bsz: 3, qBatch: 1, sq: 5, sk: 37, heads: 2, dh: 72, masked: true},
		{bsz: 2, qBatch: 2, sq: 19, sk: 6, heads: 3, dh: 72, masked: true},
		{bsz: 2, qBatch: 2, sq: 9, sk: 23, heads: 2, dh: 96, masked: true},
		{bsz: 1, qBatch: 1, sq: 17, sk: 3, heads: 1, dh: 64},
	} {
		t.Run(c.String(), func(t *testing.T) {
			b, in := attnGraph(rng, c, false)
			p := plan(t, b)
			require.True(t, supported(p, "attention=flash_tex"), "flash_tex refuses %s", c)
			cpu, gpu := both(t, p, nil, in, "attention=flash_tex")
			assertClose(t, cpu, gpu, tol{abs: 2e-5, rel: 1e-5})
		})
	}
}

// TestFlashTexChoice checks which shapes flash_tex takes: the head sizes of
// SigLIP's models (64 base and large, 72 so400m, 96 giant) with 4 queries
// or more, and that it is the automatic choice there on CPU adapters with
// read-only storage textures; the pooling head's probe and other head
// sizes keep mm_tex.
func TestFlashTexChoice(t *testing.T) {
	for dh, want := range map[int]bool{64: true, 72: true, 96: true, 128: false, 32: false} {
		_, ok := flashTileFor(dh)
		assert.Equal(t, want, ok, "Dh %d", dh)
	}
	assert.Equal(t, 1024, flashTiles[0].trips(4096), "trips at Sk 4096")
	if testDev.Info().Type != gpu.CPU || !testDev.HasStorageTextureRead() {
		t.Skipf("%s is not a CPU adapter with read-only storage textures", testDev.Info().Name)
	}
	for _, c := range []struct {
		sq, dh int
		want   string
	}{{256, 64, "flash_tex"}, {729, 72, "flash_tex"}, {4, 96, "flash_tex"}, {1, 72, "mm_tex"}, {3, 64, "mm_tex"}, {256, 128, "mm_tex"}} {
		b := graph.NewBuilder()
		q := b.Input("q", graph.F32, 1, c.sq, 2*c.dh)
		k := b.Input("k", graph.F32, 1, 16, 2*c.dh)
		b.Output("o", b.Attention(q, k, k, graph.Tensor{}, 2))
		p := plan(t, b)
		ks, err := newExec(t, nil, "").Kernels(p)
		require.NoError(t, err)
		assert.Equal(t, c.want, ks[p.Steps[0]], "Sq %d, Dh %d", c.sq, c.dh)
	}
}

// TestFlashTexTextureRows checks that a texture too small for q, k, v and
// the mask is refused with an error that names the way out.
func TestFlashTexTextureRows(t *testing.T) {
	if !testDev.HasStorageTextureRead() {
		t.Skipf("%s has no read-only storage textures", testDev.Info().Name)
	}
	// q, k, v: 2·40·32 texels, one row each; the mask one more.
	assert.Equal(t, flashTexLayout{attnQKV: attnQKV{kRow: 1, vRow: 2, end: 3, qTexels: 2560, kvTexels: 2560}, mRow: 3, rows: 4, mTexels: 20},
		newFlashTexLayout(attnDims{batch: 2, qBatch: 2, sq: 40, sk: 40, heads: 2, dh: 64}))
	rng := rand.New(rand.NewPCG(65, 66))
	b, in := attnGraph(rng, attnCase{bsz: 2, qBatch: 2, sq: 40, sk: 40, heads: 2, dh: 64, masked: true}, false)
	p := plan(t, b)
	e, err := New(nil, Options{Device: testDev, Kernels: "attention=flash_tex", maxTexture: 2})
	require.NoError(t, err)
	defer e.Close()
	_, err = e.Run(context.Background(), p, in)
	assert.ErrorContains(t, err, "attention=mm")
}
