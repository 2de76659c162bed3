package siglip2

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gosig/gosig/safetensors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testModels = []string{"siglip2_tiny_p16", "siglip2_tiny_p16_cls", "siglip_tiny_fixres", "siglip2_odd_p14", "shapes-siglip2"}

// The fixtures' model.safetensors were written by transformers'
// save_pretrained, so the spec must name exactly their keys, with their
// shapes: nothing missing, nothing extra.
func TestTensorsMatchSavedCheckpoints(t *testing.T) {
	for _, name := range testModels {
		t.Run(name, func(t *testing.T) {
			dir := testModelDir(name)
			cfg, err := LoadConfig(dir)
			require.NoError(t, err)
			f, err := safetensors.Open(filepath.Join(dir, safetensors.ModelFile))
			require.NoError(t, err)
			defer f.Close()

			specs := cfg.Tensors()
			keys := make([]string, len(specs))
			for i, s := range specs {
				keys[i] = s.Key
				info, ok := f.Info(s.Key)
				if assert.True(t, ok, s.Key) {
					assert.Equal(t, info.Shape, s.Shape, s.Key)
				}
			}
			slices.Sort(keys)
			assert.Equal(t, f.Names(), keys)

			w, err := OpenWeights(dir, cfg)
			require.NoError(t, err)
			defer w.Close()
			assert.Empty(t, w.Unexpected())
			assert.Len(t, w.Keys(), len(specs))

			key := "vision_model.post_layernorm.weight"
			if !cfg.HasVision() {
				key = "text_model.final_layer_norm.weight"
			}
			got, shape, err := w.Float32(key)
			require.NoError(t, err)
			want, wantShape, err := f.Float32(key)
			require.NoError(t, err)
			assert.Equal(t, want, got)
			assert.Equal(t, wantShape, shape)
			s, ok := w.Shape(key)
			assert.True(t, ok)
			assert.Equal(t, wantShape, s)
			info, ok := w.Info(key)
			require.True(t, ok)
			assert.Equal(t, safetensors.F32, info.DType)
			raw, err := w.Bytes(key)
			require.NoError(t, err)
			assert.Len(t, raw, 4*len(want))

			_, _, err = w.Float32("vision_model.no_such.weight")
			assert.ErrorIs(t, err, ErrMissingWeight)
			_, ok = w.Info("vision_model.no_such.weight")
			assert.False(t, ok)
		})
	}
}

// rewrite copies the siglip2_tiny_p16_cls checkpoint into a temporary model
// folder, letting edit change its tensors, and returns the folder.
func rewrite(t *testing.T, edit func([]safetensors.Tensor) []safetensors.Tensor) string {
	t.Helper()
	src := testModelDir("siglip2_tiny_p16_cls")
	f, err := safetensors.Open(filepath.Join(src, safetensors.ModelFile))
	require.NoError(t, err)
	defer f.Close()
	var tensors []safetensors.Tensor
	for _, name := range f.Names() {
		info, _ := f.Info(name)
		raw, err := f.Bytes(name)
		require.NoError(t, err)
		tensors = append(tensors, safetensors.Tensor{Name: name, DType: info.DType, Shape: info.Shape, Data: slices.Clone(raw)})
	}
	dir := t.TempDir()
	require.NoError(t, safetensors.WriteFile(filepath.Join(dir, safetensors.ModelFile), edit(tensors), f.Metadata()))
	cfg, err := os.ReadFile(filepath.Join(src, ConfigFile))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, ConfigFile), cfg, 0o644))
	return dir
}

func TestLoadWeightsErrors(t *testing.T) {
	cfg, err := LoadConfig(testModelDir("siglip2_tiny_p16_cls"))
	require.NoError(t, err)
	const probe = "vision_model.head.probe"
	const classifier = "classifier.weight"

	t.Run("missing key", func(t *testing.T) {
		dir := rewrite(t, func(ts []safetensors.Tensor) []safetensors.Tensor {
			return slices.DeleteFunc(ts, func(x safetensors.Tensor) bool { return x.Name == probe })
		})
		_, err := OpenWeights(dir, cfg)
		require.ErrorIs(t, err, ErrMissingWeight)
		assert.Contains(t, err.Error(), `"`+probe+`" (shape [1 1 64])`)
		assert.Contains(t, err.Error(), filepath.Join(dir, safetensors.ModelFile))
	})
	t.Run("misshaped", func(t *testing.T) {
		dir := rewrite(t, func(ts []safetensors.Tensor) []safetensors.Tensor {
			for i := range ts {
				if ts[i].Name == classifier {
					ts[i].Shape = []int{64, 5} // transposed
				}
			}
			return ts
		})
		_, err := OpenWeights(dir, cfg)
		require.ErrorIs(t, err, ErrWeightShape)
		assert.Contains(t, err.Error(), `"classifier.weight": expected shape [5 64], found [64 5]`)
	})
	t.Run("wrong dtype", func(t *testing.T) {
		dir := rewrite(t, func(ts []safetensors.Tensor) []safetensors.Tensor {
			for i := range ts {
				if ts[i].Name == probe {
					ts[i] = safetensors.Int64Tensor(probe, []int{1, 1, 64}, make([]int64, 64))
				}
			}
			return ts
		})
		_, err := OpenWeights(dir, cfg)
		require.ErrorIs(t, err, ErrWeightDType)
		assert.Contains(t, err.Error(), `"`+probe+`": expected F32, F16, BF16 or F64, found I64`)
	})
	t.Run("every problem at once", func(t *testing.T) {
		dir := rewrite(t, func(ts []safetensors.Tensor) []safetensors.Tensor {
			return slices.DeleteFunc(ts, func(x safetensors.Tensor) bool { return x.Name != "classifier.bias" })
		})
		_, err := OpenWeights(dir, cfg)
		require.ErrorIs(t, err, ErrMissingWeight)
		assert.Contains(t, err.Error(), "49 problem(s)")
		assert.Contains(t, err.Error(), "(and 37 more)")
	})
	t.Run("F16 and BF16 convert, extras are warnings", func(t *testing.T) {
		var want []float32
		dir := rewrite(t, func(ts []safetensors.Tensor) []safetensors.Tensor {
			for i := range ts {
				switch ts[i].Name {
				case probe:
					want = make([]float32, 64)
					for j := range want {
						want[j] = float32(j) / 8 // exact in F16
					}
					ts[i] = safetensors.Float16Tensor(probe, []int{1, 1, 64}, want)
				case classifier:
					ts[i] = safetensors.BFloat16Tensor(classifier, []int{5, 64}, make([]float32, 320))
				}
			}
			return append(ts, safetensors.Int64Tensor("vision_model.embeddings.position_ids", []int{1, 64}, make([]int64, 64)))
		})
		w, err := OpenWeights(dir, cfg)
		require.NoError(t, err)
		defer w.Close()
		assert.Equal(t, []string{"vision_model.embeddings.position_ids"}, w.Unexpected())
		got, shape, err := w.Float32(probe)
		require.NoError(t, err)
		assert.Equal(t, want, got)
		assert.Equal(t, []int{1, 1, 64}, shape)
		info, _ := w.Info(probe)
		assert.Equal(t, safetensors.F16, info.DType)
	})
	t.Run("truncated file", func(t *testing.T) {
		dir := rewrite(t, func(ts []safetensors.Tensor) []safetensors.Tensor { return ts })
		path := filepath.Join(dir, safetensors.ModelFile)
		st, err := os.Stat(path)
		require.NoError(t, err)
		require.NoError(t, os.Truncate(path, st.Size()-100))
		_, err = OpenWeights(dir, cfg)
		require.ErrorIs(t, err, safetensors.ErrInvalid)
		assert.Contains(t, err.Error(), path)
		assert.Contains(t, err.Error(), "truncated")
	})
	t.Run("no checkpoint", func(t *testing.T) {
		_, err := OpenWeights(t.TempDir(), cfg)
		assert.ErrorContains(t, err, safetensors.ModelFile)
	})
	t.Run("checkpoint of another model", func(t *testing.T) {
		other, err := LoadConfig(testModelDir("siglip_tiny_fixres"))
		require.NoError(t, err)
		_, err = OpenWeights(testModelDir("siglip2_tiny_p16_cls"), other)
		require.ErrorIs(t, err, ErrMissingWeight)
		require.ErrorIs(t, err, ErrWeightShape) // the patch embedding: Linear vs Conv2d
		assert.Contains(t, err.Error(), "expected shape [64 3 16 16], found [64 768]")
	})
}

// A sharded checkpoint (model.safetensors.index.json) loads like one file.
func TestOpenWeightsSharded(t *testing.T) {
	src := testModelDir("siglip_tiny_fixres")
	cfg, err := LoadConfig(src)
	require.NoError(t, err)
	f, err := safetensors.Open(filepath.Join(src, safetensors.ModelFile))
	require.NoError(t, err)
	defer f.Close()
	dir := t.TempDir()
	shards := [2][]safetensors.Tensor{}
	weightMap := map[string]string{}
	for i, name := range f.Names() {
		info, _ := f.Info(name)
		raw, err := f.Bytes(name)
		require.NoError(t, err)
		shards[i%2] = append(shards[i%2], safetensors.Tensor{Name: name, DType: info.DType, Shape: info.Shape, Data: slices.Clone(raw)})
		weightMap[name] = []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}[i%2]
	}
	for i, s := range shards {
		name := []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}[i]
		require.NoError(t, safetensors.WriteFile(filepath.Join(dir, name), s, map[string]string{"format": "pt"}))
	}
	index, err := json.Marshal(map[string]any{"metadata": map[string]any{"total_size": 1}, "weight_map": weightMap})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, safetensors.ModelIndexFile), index, 0o644))

	w, err := OpenWeights(dir, cfg)
	require.NoError(t, err)
	defer w.Close()
	for _, key := range []string{"logit_scale", "vision_model.embeddings.patch_embedding.weight", "text_model.head.bias"} {
		got, _, err := w.Float32(key)
		require.NoError(t, err)
		want, _, err := f.Float32(key)
		require.NoError(t, err)
		assert.Equal(t, want, got, key)
	}
}
