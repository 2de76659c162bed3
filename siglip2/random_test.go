package siglip2

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosig/gosig/preprocess"
)

// TestVisionFLOPs: SigLIP2-base at 256 patches is 46.8 GFLOP per image, the
// figure of the model issue (counted there by hand from the same shapes).
func TestVisionFLOPs(t *testing.T) {
	cfg, err := RandomVisionConfig("base")
	require.NoError(t, err)
	assert.InDelta(t, 46.8, VisionFLOPs(cfg.Vision, 256)/1e9, 0.05)
	// Doubling the patches doubles the per-patch work and quadruples the
	// attention (4·S²·D per layer); the head's one-query work stays.
	const D, MLP = 768.0, 3072.0
	attention := 12 * 4 * (512*512 - 2*256*256) * D
	headQuery := 2*(2*D*D) + 2*(2*D*MLP) // q and out projections, the MLP
	assert.InDelta(t, attention-headQuery, VisionFLOPs(cfg.Vision, 512)-2*VisionFLOPs(cfg.Vision, 256), 1)
}

// TestRandomVisionConfigs: the sizes are those of the published
// checkpoints, as TestPublishedConfigsBuild has them, with patch 16 and a
// 16×16 position grid.
func TestRandomVisionConfigs(t *testing.T) {
	for name, size := range map[string]map[string]any{"base": sizeBase, "large": sizeLarge, "so400m": sizeSo400m} {
		cfg, err := RandomVisionConfig(name)
		require.NoError(t, err, name)
		v := cfg.Vision
		assert.Equal(t, size["hidden_size"], v.HiddenSize, name)
		assert.Equal(t, size["intermediate_size"], v.IntermediateSize, name)
		assert.Equal(t, size["num_hidden_layers"], v.NumHiddenLayers, name)
		assert.Equal(t, size["num_attention_heads"], v.NumAttentionHeads, name)
		assert.True(t, v.NaFlex && v.UseHead, name)
		assert.Equal(t, [2]int{16, 256}, [2]int{v.PatchSize, v.NumPatches}, name)
	}
	_, err := RandomVisionConfig("huge")
	assert.ErrorContains(t, err, "want one of base, large, so400m, tiny")
}

// TestNewRandom: a random tiny model runs on both executors and they agree
// (the parity every op already has, here through a whole tower, with heads
// of 64 as SigLIP2-base's, so the GPU runs the kernels base gets); the
// same seed gives the same weights and another seed others.
func TestNewRandom(t *testing.T) {
	cfg, err := RandomVisionConfig("tiny")
	require.NoError(t, err)
	var embeds [][]float32
	for _, device := range executors {
		m, err := NewRandom(cfg, 7, Options{Device: device, MaxPatches: 48})
		require.NoError(t, err, device)
		p, err := m.RandomPatches(0, 1)
		require.NoError(t, err)
		assert.Equal(t, 48, p.MaxPatches)
		assert.Equal(t, [2]int{6, 8}, [2]int{p.GridH, p.GridW})
		e, err := m.EmbedPrepared(context.Background(), []*preprocess.Patches{p, p})
		require.NoError(t, err, device)
		var norm float64
		for _, v := range e[0] {
			require.False(t, math.IsNaN(float64(v)) || math.IsInf(float64(v), 0))
			norm += float64(v) * float64(v)
		}
		assert.InDelta(t, 1, norm, 1e-5, "L2-normalised")
		assert.Equal(t, e[0], e[1])
		embeds = append(embeds, e[0])
		require.NoError(t, m.Close())
	}
	for i := range embeds[0] {
		assert.InDelta(t, embeds[0][i], embeds[1][i], 2e-5, "cpu vs gpu [%d]", i)
	}

	a, b, c := newRandomTensors(cfg, 1), newRandomTensors(cfg, 1), newRandomTensors(cfg, 2)
	key := "vision_model.encoder.layers.1.mlp.fc1.weight"
	va, shape, err := a.Float32(key)
	require.NoError(t, err)
	assert.Equal(t, []int{256, 128}, shape)
	vb, _, _ := b.Float32(key)
	vc, _, _ := c.Float32(key)
	assert.Equal(t, va, vb)
	assert.NotEqual(t, va, vc)
	for _, v := range va {
		require.LessOrEqual(t, math.Abs(float64(v)), 1/math.Sqrt(128)) // ±1/√fan_in
	}
	ln, _, err := a.Float32("vision_model.post_layernorm.weight")
	require.NoError(t, err)
	assert.Equal(t, float32(1), ln[0])
}

// TestNewRandomRefusesText: text towers need a tokenizer's files.
func TestNewRandomRefusesText(t *testing.T) {
	cfg, err := ParseConfig([]byte(`{"model_type": "siglip2"}`))
	require.NoError(t, err)
	_, err = NewRandom(cfg, 1, Options{Device: "cpu"})
	assert.ErrorContains(t, err, "text tower")
}

// TestBenchVision: the benchmark reports its shapes and, on the GPU, one
// submit per batch (the design rule) and some dispatches; figures are
// consistent with VisionFLOPs. No time is asserted.
func TestBenchVision(t *testing.T) {
	cfg, err := RandomVisionConfig("tiny")
	require.NoError(t, err)
	for _, device := range executors {
		m, err := NewRandom(cfg, 1, Options{Device: device})
		require.NoError(t, err)
		r, err := m.BenchVision(context.Background(), 2, 32, 1, 3)
		require.NoError(t, err, device)
		require.NoError(t, m.Close())
		assert.Equal(t, 2, r.Batch)
		assert.Equal(t, 32, r.Patches)
		assert.Equal(t, 3, r.Runs)
		assert.InEpsilon(t, VisionFLOPs(cfg.Vision, 32)/1e9, r.GFLOPPerImage, 1e-9)
		assert.InEpsilon(t, r.GFLOPPerImage*1e3/r.MsPerImage, r.GFLOPs, 1e-9)
		if device == "gpu" {
			assert.Equal(t, int64(1), r.Submits)
			assert.Positive(t, r.Dispatches)
		} else {
			assert.Zero(t, r.Submits+r.Dispatches)
		}
	}
}

// TestEmbedIDs: ids from Tokenize embed as EmbedTexts embeds the texts;
// sequences of other lengths go in their own passes, each as Text alone.
func TestEmbedIDs(t *testing.T) {
	m := loadFixtureModel(t, "shapes-siglip2", "cpu")
	ctx := context.Background()
	texts := []string{"a red circle", "this is a photo of a blue square.", "a green star"}
	want, err := m.EmbedTexts(ctx, texts)
	require.NoError(t, err)
	ids, err := m.Tokenize(texts)
	require.NoError(t, err)
	short := []int{276, 275, 260, 1}
	got, err := m.EmbedIDs(ctx, [][]int{ids[0], ids[1], short, ids[2]})
	require.NoError(t, err)
	require.Len(t, got, 4)
	alone, err := m.Text(ctx, [][]int{short}, nil, OutEmbeds)
	require.NoError(t, err)
	for i, w := range [][]float32{want[0], want[1], alone.Embeds.F32, want[2]} {
		for j := range w {
			require.InDelta(t, w[j], got[i][j], 1e-6, "sequence %d [%d]", i, j)
		}
	}
	_, err = m.EmbedIDs(ctx, nil)
	assert.Error(t, err)
}
