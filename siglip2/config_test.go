package siglip2

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testModelDir is the copy of a Hugging Face model folder under testdata/.
func testModelDir(name string) string { return filepath.Join("..", "testdata", "models", name) }

// The defaults transformers fills in for an empty Siglip2Config /
// SiglipConfig (configuration_siglip2.py, configuration_siglip.py, v4.50).
func TestConfigDefaultsMatchTransformers(t *testing.T) {
	wantText := TextConfig{
		VocabSize: 32000, HiddenSize: 768, IntermediateSize: 3072, NumHiddenLayers: 12, NumAttentionHeads: 12,
		MaxPositionEmbeddings: 64, HiddenAct: "gelu_pytorch_tanh", LayerNormEps: 1e-6, AttentionDropout: 0,
		PadTokenID: 1, BosTokenID: 49406, EosTokenID: 49407, ProjectionSize: 768,
	}
	c, err := ParseConfig([]byte(`{"model_type": "siglip2"}`))
	require.NoError(t, err)
	assert.Equal(t, ArchModel, c.Architecture)
	assert.Equal(t, wantText, c.Text)
	assert.Equal(t, VisionConfig{
		NaFlex: true, HiddenSize: 768, IntermediateSize: 3072, NumHiddenLayers: 12, NumAttentionHeads: 12,
		NumChannels: 3, PatchSize: 16, NumPatches: 256, HiddenAct: "gelu_pytorch_tanh", LayerNormEps: 1e-6, UseHead: true,
	}, c.Vision)
	assert.Equal(t, 16, c.Vision.PositionGrid())
	assert.Equal(t, 768, c.Vision.PatchDim())
	assert.Equal(t, 64, c.Vision.HeadDim())
	assert.Equal(t, 2, c.NumLabels, "PretrainedConfig's default num_labels")
	assert.Equal(t, []string{"LABEL_0", "LABEL_1"}, c.Labels())
	assert.Equal(t, map[string]int{"LABEL_0": 0, "LABEL_1": 1}, c.Label2ID)

	c, err = ParseConfig([]byte(`{"model_type": "siglip", "text_config": null, "vision_config": {}}`))
	require.NoError(t, err)
	assert.Equal(t, wantText, c.Text)
	assert.Equal(t, VisionConfig{
		HiddenSize: 768, IntermediateSize: 3072, NumHiddenLayers: 12, NumAttentionHeads: 12,
		NumChannels: 3, PatchSize: 16, ImageSize: 224, NumPatches: 196, HiddenAct: "gelu_pytorch_tanh", LayerNormEps: 1e-6, UseHead: true,
	}, c.Vision)
	assert.Equal(t, 14, c.Vision.PositionGrid())

	// projection_size follows hidden_size when absent; explicit null ids stay -1.
	c, err = ParseConfig([]byte(`{"model_type": "siglip2", "text_config": {"hidden_size": 96, "num_attention_heads": 4, "pad_token_id": null}}`))
	require.NoError(t, err)
	assert.Equal(t, 96, c.Text.ProjectionSize)
	assert.Equal(t, -1, c.Text.PadTokenID)
}

// Every fixture's config, with the values its generator wrote and the
// defaults transformers filled in (the shapes-siglip2 model card lists its
// effective values).
func TestFixtureConfigs(t *testing.T) {
	c, err := LoadConfig(testModelDir("shapes-siglip2"))
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(testModelDir("shapes-siglip2"), ConfigFile), c.Path)
	assert.Equal(t, ArchModel, c.Architecture)
	assert.Equal(t, "float32", c.TorchDType)
	assert.Equal(t, VisionConfig{
		NaFlex: true, HiddenSize: 128, IntermediateSize: 512, NumHiddenLayers: 6, NumAttentionHeads: 4,
		NumChannels: 3, PatchSize: 16, NumPatches: 64, HiddenAct: "gelu_pytorch_tanh", LayerNormEps: 1e-6, UseHead: true,
	}, c.Vision)
	assert.Equal(t, TextConfig{
		VocabSize: 512, HiddenSize: 128, IntermediateSize: 512, NumHiddenLayers: 4, NumAttentionHeads: 4,
		MaxPositionEmbeddings: 64, HiddenAct: "gelu_pytorch_tanh", LayerNormEps: 1e-6,
		PadTokenID: 0, BosTokenID: 2, EosTokenID: 1, ProjectionSize: 128,
	}, c.Text)
	assert.Equal(t, 8, c.Vision.PositionGrid())
	// MODEL_CARD.md: "Total 2.38 M parameters" (vision 1.49 M, text 0.88 M).
	assert.InDelta(t, 2.38e6, float64(c.NumParameters()), 0.005e6)

	c, err = LoadConfig(testModelDir("siglip2_odd_p14"))
	require.NoError(t, err)
	assert.Equal(t, 14, c.Vision.PatchSize)
	assert.Equal(t, 588, c.Vision.PatchDim())
	assert.Equal(t, 256, c.Vision.NumPatches, "num_patches default")
	assert.Equal(t, 32, c.Vision.HeadDim())
	assert.Equal(t, 40, c.Text.MaxPositionEmbeddings)
	assert.Equal(t, 96, c.Text.ProjectionSize)

	c, err = LoadConfig(testModelDir("siglip_tiny_fixres"))
	require.NoError(t, err)
	assert.False(t, c.Vision.NaFlex)
	assert.Equal(t, 64, c.Vision.ImageSize)
	assert.Equal(t, 16, c.Vision.NumPatches, "(64/16)²")

	c, err = LoadConfig(testModelDir("siglip2_tiny_p16_cls"))
	require.NoError(t, err)
	assert.Equal(t, ArchImageClassification, c.Architecture)
	assert.True(t, c.HasVision())
	assert.False(t, c.HasText())
	assert.Equal(t, 5, c.NumLabels)
	assert.Equal(t, []string{"label_a", "label_b", "label_c", "label_d", "label_e"}, c.Labels())
	assert.Equal(t, 3, c.Label2ID["label_d"])
}

func TestBareTowerConfigs(t *testing.T) {
	// As save_pretrained writes a SiglipVisionModel (e.g. a VLM's encoder).
	c, err := ParseConfig([]byte(`{"architectures": ["SiglipVisionModel"], "hidden_size": 1152, "image_size": 384,
		"intermediate_size": 4304, "model_type": "siglip_vision_model", "num_attention_heads": 16,
		"num_hidden_layers": 27, "patch_size": 14, "vision_use_head": false}`))
	require.NoError(t, err)
	assert.Equal(t, ArchVisionModel, c.Architecture)
	assert.False(t, c.HasText())
	assert.Equal(t, 729, c.Vision.NumPatches)
	assert.False(t, c.Vision.UseHead)
	for _, ts := range c.Tensors() {
		assert.NotContains(t, ts.Key, ".head.", "vision_use_head false has no MAP head")
	}

	c, err = ParseConfig([]byte(`{"model_type": "siglip2_text_model", "vocab_size": 256000}`))
	require.NoError(t, err)
	assert.Equal(t, ArchTextModel, c.Architecture)
	assert.False(t, c.HasVision())
	assert.Equal(t, 256000, c.Text.VocabSize)
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name   string
		json   string
		target error
		want   []string // substrings: the field, what was found, what is supported
	}{
		{"not JSON", `{"model_type": "siglip2",`, ErrInvalidConfig, []string{"not valid JSON"}},
		{"trailing data", `{"model_type": "siglip2"} {}`, ErrInvalidConfig, []string{"after the top-level"}},
		{"no model_type", `{}`, ErrUnsupportedConfig, []string{"model_type", `"siglip2"`}},
		{"unknown model_type", `{"model_type": "clip"}`, ErrUnsupportedConfig, []string{`"clip"`, `"siglip"`, `"siglip2"`}},
		{"unknown architecture", `{"model_type": "siglip", "architectures": ["PaliGemmaForConditionalGeneration"]}`, ErrUnsupportedConfig, []string{"architectures[0]", "PaliGemma", "SiglipModel"}},
		{"architecture of other family", `{"model_type": "siglip2", "architectures": ["SiglipModel"]}`, ErrUnsupportedConfig, []string{"SiglipModel", `"siglip2"`}},
		{"bare tower with model class", `{"model_type": "siglip_vision_model", "architectures": ["SiglipModel"]}`, ErrUnsupportedConfig, []string{"SiglipModel"}},
		{"wrong field type", `{"model_type": "siglip2", "vision_config": {"hidden_size": "768"}}`, ErrInvalidConfig, []string{"vision_config", "hidden_size", "string"}},
		{"model_type not string", `{"model_type": 2}`, ErrInvalidConfig, []string{"model_type", "number"}},
		{"hidden_act", `{"model_type": "siglip2", "text_config": {"hidden_act": "quick_gelu"}}`, ErrUnsupportedConfig, []string{"text_config", `"quick_gelu"`, "gelu_pytorch_tanh"}},
		{"heads", `{"model_type": "siglip2", "vision_config": {"hidden_size": 100, "num_attention_heads": 12}}`, ErrInvalidConfig, []string{"vision_config", "100", "12"}},
		{"zero layers", `{"model_type": "siglip", "text_config": {"num_hidden_layers": 0}}`, ErrInvalidConfig, []string{"num_hidden_layers = 0"}},
		{"negative size", `{"model_type": "siglip2", "vision_config": {"intermediate_size": -1}}`, ErrInvalidConfig, []string{"intermediate_size = -1"}},
		{"too many layers", `{"model_type": "siglip2", "vision_config": {"num_hidden_layers": 100000}}`, ErrInvalidConfig, []string{"num_hidden_layers = 100000"}},
		{"too many labels", `{"model_type": "siglip2", "num_labels": 100000000}`, ErrInvalidConfig, []string{"num_labels = 100000000"}},
		{"huge size", `{"model_type": "siglip2", "text_config": {"vocab_size": 4000000000}}`, ErrInvalidConfig, []string{"vocab_size = 4000000000"}},
		{"num_patches not square", `{"model_type": "siglip2", "vision_config": {"num_patches": 200}}`, ErrInvalidConfig, []string{"num_patches = 200", "square"}},
		{"image smaller than patch", `{"model_type": "siglip", "vision_config": {"image_size": 8}}`, ErrInvalidConfig, []string{"image_size = 8", "patch_size = 16"}},
		{"negative eps", `{"model_type": "siglip", "vision_config": {"layer_norm_eps": -1}}`, ErrInvalidConfig, []string{"layer_norm_eps"}},
		{"id2label key", `{"model_type": "siglip2", "id2label": {"0": "a", "7": "b"}}`, ErrInvalidConfig, []string{"id2label", `"7"`}},
		{"negative num_labels", `{"model_type": "siglip2", "num_labels": -3}`, ErrInvalidConfig, []string{"num_labels = -3"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(c.json))
			require.Error(t, err)
			assert.ErrorIs(t, err, c.target)
			assert.Contains(t, err.Error(), "<memory>")
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}

	path := filepath.Join(t.TempDir(), ConfigFile)
	require.NoError(t, os.WriteFile(path, []byte("not json"), 0o644))
	_, err := LoadConfig(filepath.Dir(path))
	require.ErrorIs(t, err, ErrInvalidConfig)
	assert.Contains(t, err.Error(), path, "errors name the file")
	_, err = LoadConfig(filepath.Join(t.TempDir(), "missing.json"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// FuzzParseConfig: arbitrary bytes never panic, and whatever parses has a
// consistent weight spec (positive shapes, divisible heads).
func FuzzParseConfig(f *testing.F) {
	for _, name := range []string{"siglip2_tiny_p16", "siglip2_tiny_p16_cls", "siglip_tiny_fixres", "siglip2_odd_p14", "shapes-siglip2"} {
		if b, err := os.ReadFile(filepath.Join(testModelDir(name), ConfigFile)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"model_type": "siglip2_vision_model", "num_patches": 9, "vision_use_head": false}`))
	f.Add([]byte(`{"model_type": "siglip", "vision_config": {"image_size": 30, "patch_size": 7}, "num_labels": 0}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		if c.HasVision() && (c.Vision.HiddenSize%c.Vision.NumAttentionHeads != 0 || c.Vision.PositionGrid() < 1) {
			t.Fatalf("inconsistent vision config %+v", c.Vision)
		}
		if len(c.Labels()) != c.NumLabels {
			t.Fatalf("labels %v, NumLabels %d", c.Labels(), c.NumLabels)
		}
		for _, ts := range c.Tensors() {
			if ts.NumElements() <= 0 {
				t.Fatalf("%s has shape %v", ts.Key, ts.Shape)
			}
		}
	})
}
