package siglip2

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/gosig/gosig/graph"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tower sizes of the published checkpoints: hidden, intermediate, layers, heads.
var (
	sizeBase   = map[string]any{"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12, "num_attention_heads": 12}
	sizeLarge  = map[string]any{"hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 24, "num_attention_heads": 16}
	sizeSo400m = map[string]any{"hidden_size": 1152, "intermediate_size": 4304, "num_hidden_layers": 27, "num_attention_heads": 16}
	sizeGiant  = map[string]any{"hidden_size": 1536, "intermediate_size": 6144, "num_hidden_layers": 40, "num_attention_heads": 16}
)

// publishedConfig writes a config.json as save_pretrained does: model_type,
// and in each tower only the values that differ from transformers'
// defaults (base sizes, patch 16, 256 patches / 224 pixels, vocab 32000, 64
// positions are defaults and so absent).
func publishedConfig(modelType string, arch string, text, vision map[string]any) []byte {
	merge := func(kind string, parts ...map[string]any) map[string]any {
		out := map[string]any{"model_type": modelType + "_" + kind + "_model"}
		for _, p := range parts {
			for k, v := range p {
				if sizeBase[k] != v { // base sizes are the defaults
					out[k] = v
				}
			}
		}
		return out
	}
	doc := map[string]any{"model_type": modelType, "initializer_factor": 1.0, "text_config": merge("text", text), "vision_config": merge("vision", vision)}
	if arch != "" {
		doc["architectures"] = []string{arch}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return b
}

func with(base map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// TestPublishedConfigsBuild reconstructs the config.json of the published
// Google SigLIP 2 and SigLIP checkpoints (they cannot be downloaded here) and
// checks that each builds: geometry, fused shapes, and a parameter count
// within 0.5 % of the size the Hugging Face hub shows for the checkpoint.
//
// Where the values come from: the tower sizes (base 768/3072/12/12, large
// 1024/4096/24/16, so400m 1152/4304/27/16, giant-opt vision 1536/6144/40/16
// with an so400m text tower projected to 1536) from transformers'
// convert_siglip2_to_hf.py, published config.json files (siglip-so400m-
// patch14-384, siglip-large-patch16-256, siglip2-base-patch16-512) and a
// giant-opt conversion script; SigLIP 2's fixed-resolution checkpoints are
// published as model_type "siglip" with Gemma's 256000-token vocabulary
// (siglip2-base-patch16-512's config.json), its NaFlex ones as "siglip2".
// The hub sizes (375M, 882M, 1.14B, 1.87B; SigLIP 203M, 652M, 878M) are the
// "Model size" the hub pages show, as remembered: rows without a remembered
// figure only log their count. The tolerance catches gross errors (a missing
// tower, a wrong layer count); exact keys and shapes are checked against real
// save_pretrained checkpoints in TestTensorsMatchSavedCheckpoints.
func TestPublishedConfigsBuild(t *testing.T) {
	type row struct {
		name     string
		json     []byte
		naflex   bool
		grid     int // position grid side
		patchDim int
		hubSize  float64 // parameters, as the hub rounds them
	}
	var rows []row
	// SigLIP 2 NaFlex.
	rows = append(rows,
		row{"google/siglip2-base-patch16-naflex", publishedConfig("siglip2", "Siglip2Model", with(sizeBase, "vocab_size", 256000), sizeBase), true, 16, 768, 375e6},
		row{"google/siglip2-so400m-patch16-naflex", publishedConfig("siglip2", "Siglip2Model", with(sizeSo400m, "vocab_size", 256000), sizeSo400m), true, 16, 768, 1.14e9},
	)
	// SigLIP 2 FixRes.
	fixres := []struct {
		variant   string
		text, vis map[string]any
		patch     int
		sizes     []int
		hubSize   float64
	}{
		{"base", with(sizeBase, "vocab_size", 256000), sizeBase, 16, []int{224, 256, 384, 512}, 375e6},
		{"base", with(sizeBase, "vocab_size", 256000), sizeBase, 32, []int{256}, 0}, // no hub figure recorded here
		{"large", with(sizeLarge, "vocab_size", 256000), sizeLarge, 16, []int{256, 384, 512}, 882e6},
		{"so400m", with(sizeSo400m, "vocab_size", 256000), sizeSo400m, 14, []int{224, 384}, 1.14e9},
		{"so400m", with(sizeSo400m, "vocab_size", 256000), sizeSo400m, 16, []int{256, 384, 512}, 1.14e9},
		{"giant-opt", with(sizeSo400m, "vocab_size", 256000, "projection_size", 1536), sizeGiant, 16, []int{256, 384}, 1.87e9},
	}
	for _, f := range fixres {
		for _, size := range f.sizes {
			name := fmt.Sprintf("google/siglip2-%s-patch%d-%d", f.variant, f.patch, size)
			vis := with(f.vis, "image_size", size, "patch_size", f.patch)
			rows = append(rows, row{name, publishedConfig("siglip", "", f.text, vis), false, size / f.patch, 3 * f.patch * f.patch, f.hubSize})
		}
	}
	// SigLIP (v1).
	for _, size := range []int{224, 256, 384, 512} {
		rows = append(rows, row{fmt.Sprintf("google/siglip-base-patch16-%d", size),
			publishedConfig("siglip", "SiglipModel", sizeBase, with(sizeBase, "image_size", size)), false, size / 16, 768, 203e6})
	}
	for _, size := range []int{256, 384} {
		rows = append(rows, row{fmt.Sprintf("google/siglip-large-patch16-%d", size),
			publishedConfig("siglip", "SiglipModel", sizeLarge, with(sizeLarge, "image_size", size)), false, size / 16, 768, 652e6})
	}
	rows = append(rows,
		row{"google/siglip-so400m-patch14-384", publishedConfig("siglip", "SiglipModel", sizeSo400m, with(sizeSo400m, "image_size", 384, "patch_size", 14)), false, 27, 588, 878e6},
		row{"google/siglip-so400m-patch14-224", publishedConfig("siglip", "SiglipModel", with(sizeSo400m, "max_position_embeddings", 16), with(sizeSo400m, "patch_size", 14)), false, 16, 588, 0},
	)

	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			c, err := ParseConfig(r.json)
			require.NoError(t, err, string(r.json))
			assert.Equal(t, ArchModel, c.Architecture)
			assert.Equal(t, r.naflex, c.Vision.NaFlex)
			assert.Equal(t, r.grid, c.Vision.PositionGrid())
			assert.Equal(t, r.grid*r.grid, c.Vision.NumPatches)
			assert.Equal(t, r.patchDim, c.Vision.PatchDim())
			n := float64(c.NumParameters())
			if r.hubSize > 0 {
				assert.InEpsilon(t, r.hubSize, n, 0.005, "%s: %d parameters", r.name, int64(n))
			}
			t.Logf("%s: %d parameters", r.name, int64(n))

			// Every tensor has a positive shape; the MAP head's fused
			// projection is [3D, D]; the text head maps to the projection size.
			d := c.Vision.HiddenSize
			shapes := map[string][]int{}
			for _, s := range c.Tensors() {
				require.Positive(t, s.NumElements(), s.Key)
				shapes[s.Key] = s.Shape
			}
			assert.Equal(t, []int{3 * d, d}, shapes["vision_model.head.attention.in_proj_weight"])
			assert.Equal(t, []int{c.Text.ProjectionSize, c.Text.HiddenSize}, shapes["text_model.head.weight"])
			assert.Equal(t, []int{1}, shapes["logit_scale"])
			if !r.naflex {
				assert.Equal(t, []int{d, 3, c.Vision.PatchSize, c.Vision.PatchSize}, shapes["vision_model.embeddings.patch_embedding.weight"])
			}
			// The embeddings that are compared (cosine) must have one size.
			assert.Equal(t, d, c.Text.ProjectionSize, "image and text embeddings differ in size")

			// The forward graphs build, and every weight they read is in
			// the weight spec with the shape the graph declares.
			checkGraphWeights(t, c, shapes)
		})
	}
	assert.Len(t, rows, 25)
}

// The exact count for the base NaFlex model, summed by hand from the module
// shapes (vision 92,930,304 = patch 590,592 + positions 196,608 + 12 layers ×
// 7,087,872 + post-LN 1,536 + head 7,087,104; text 282,303,744 = tokens
// 196,608,000 + positions 49,152 + 12 × 7,087,872 + final LN 1,536 + head
// 590,592; + logit_scale + logit_bias).
func TestParameterCountBaseNaFlex(t *testing.T) {
	c, err := ParseConfig(publishedConfig("siglip2", "Siglip2Model", map[string]any{"vocab_size": 256000}, nil))
	require.NoError(t, err)
	assert.Equal(t, int64(92_930_304+282_303_744+2), c.NumParameters())
}

// checkGraphWeights builds the vision and text graphs of c (batch 2, the
// model's own patch count and text length) and checks each Weight node
// against the weight spec, resolving row slices as weightSource does.
func checkGraphWeights(t *testing.T, c *Config, spec map[string][]int) {
	t.Helper()
	vg, err := buildVision(visionSpecOf(c), 2, c.Vision.NumPatches, OutEmbeds|OutAttention|OutLastHidden)
	require.NoError(t, err)
	tg, err := buildText(textSpecOf(c), 2, c.Text.MaxPositionEmbeddings, false, OutEmbeds)
	require.NoError(t, err)
	used := map[string]bool{}
	for _, g := range []*graph.Graph{vg, tg} {
		for _, w := range g.Weights() {
			key, lo, hi, sliced := sliceRows(w.Name)
			want, ok := spec[key]
			require.True(t, ok, "graph weight %s is not in the weight spec", key)
			if sliced {
				require.LessOrEqual(t, hi, want[0], w.Name)
				want = append([]int{hi - lo}, want[1:]...)
			}
			if graph.Elems(want) != graph.Elems(w.Shape) || (len(want) == len(w.Shape) && !assert.ObjectsAreEqual(want, w.Shape)) {
				t.Fatalf("%s: graph declares %v, checkpoint has %v", w.Name, w.Shape, want)
			}
			used[key] = true
		}
	}
	// Every tensor is read, but those the host uses: logit_scale and
	// logit_bias, and NaFlex's position grid (resized per image).
	host := map[string]bool{"logit_scale": true, "logit_bias": true}
	if c.Vision.NaFlex {
		host["vision_model.embeddings.position_embedding.weight"] = true
	}
	for key := range spec {
		if !host[key] {
			assert.True(t, used[key], "the forward pass never reads %s", key)
		}
	}
}
