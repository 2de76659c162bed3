package siglip2

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gosig/gosig/graph"
	"github.com/gosig/gosig/graph/cpuexec"
	"github.com/gosig/gosig/safetensors"
)

// fixture opens one of the Hugging Face fixture folders in testdata/models.
type fixture struct {
	name     string
	model    *safetensors.File
	expected *safetensors.File
}

func openFixture(t testing.TB, name string) *fixture {
	t.Helper()
	dir := filepath.Join("..", "testdata", "models", name)
	m, err := safetensors.Open(filepath.Join(dir, "model.safetensors"))
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	e, err := safetensors.Open(filepath.Join(dir, "expected.safetensors"))
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	return &fixture{name: name, model: m, expected: e}
}

func (f *fixture) f32(t testing.TB, key string) ([]float32, []int) {
	t.Helper()
	v, s, err := f.expected.Float32(key)
	require.NoError(t, err, key)
	return v, s
}

// naflexInputs rebuilds the model inputs of a NaFlex run from the fixture's
// stored uint8 pixels, as the manifest defines them:
// float32(float64(u8)·(1/255)), then (x − 0.5)/0.5, padded rows 0.
func (f *fixture) naflexInputs(t testing.TB, run string, spec visionSpec) map[string]graph.Value {
	t.Helper()
	u8, shape, err := f.expected.Uint8("naflex." + run + ".pixel_values_u8")
	require.NoError(t, err)
	maskI, _, err := f.expected.Int32("naflex." + run + ".pixel_attention_mask")
	require.NoError(t, err)
	grids, _, err := f.expected.Int64("naflex." + run + ".spatial_shapes")
	require.NoError(t, err)
	bsz, n, p := shape[0], shape[1], shape[2]
	px := make([]float32, len(u8))
	mask := make([]float32, bsz*n)
	for i, m := range maskI {
		mask[i] = float32(m)
	}
	for i, u := range u8 {
		if mask[i/p] == 0 {
			continue
		}
		x := float32(float64(u) * (1.0 / 255))
		px[i] = (x - 0.5) / 0.5
	}
	posW, _, err := f.model.Float32("vision_model.embeddings.position_embedding.weight")
	require.NoError(t, err)
	d := spec.tower.hidden
	pos := make([]float32, bsz*n*d)
	for b := range bsz {
		h, w := int(grids[2*b]), int(grids[2*b+1])
		r := resizePositionEmbeddings(posW, spec.posGrid, d, h, w)
		for i := range n {
			src := i
			if i >= h*w {
				src = 0
			}
			copy(pos[(b*n+i)*d:][:d], r[src*d:][:d])
		}
	}
	return map[string]graph.Value{
		namePixels:    graph.F32Value(px, bsz, n, p),
		namePixelMask: graph.F32Value(mask, bsz, n),
		namePosEmbeds: graph.F32Value(pos, bsz, n, d),
	}
}

func runGraph(t testing.TB, exec graph.Executor, g *graph.Graph, err error, in map[string]graph.Value) map[string]graph.Value {
	t.Helper()
	require.NoError(t, err)
	p, err := graph.NewPlan(g)
	require.NoError(t, err)
	out, err := exec.Run(context.Background(), p, in)
	require.NoError(t, err)
	return out
}

// assertClose compares got with want element-wise and reports the largest
// absolute difference.
func assertClose(t testing.TB, what string, want, got []float32, tol float64) {
	t.Helper()
	require.Equal(t, len(want), len(got), what)
	var worst float64
	at := 0
	for i := range want {
		d := math.Abs(float64(want[i] - got[i]))
		if d > worst || math.IsNaN(d) {
			worst, at = d, i
		}
	}
	t.Logf("%-40s max abs diff %.3g", what, worst)
	if !(worst <= tol) {
		t.Errorf("%s: max abs diff %.3g at %d (want %g, got %g) exceeds %g", what, worst, at, want[at], got[at], tol)
	}
}

var tinySpec = visionSpec{
	tower:  towerSpec{hidden: 64, heads: 4, intermediate: 128, layers: 2, eps: 1e-6},
	naflex: true, channels: 3, patch: 16, posGrid: 8, useHead: true,
}

var tinyText = textSpec{
	tower: towerSpec{hidden: 64, heads: 4, intermediate: 128, layers: 2, eps: 1e-6},
	vocab: 1000, maxPos: 64, projection: 64,
}

func TestTowersMatchHuggingFaceOnCPU(t *testing.T) {
	f := openFixture(t, "siglip2_tiny_p16")
	exec := cpuexec.New(weightSource{f.model})
	in := f.naflexInputs(t, "mnp64", tinySpec)
	g, err := buildVision(tinySpec, 6, 64, OutPooled|OutEmbeds|OutLastHidden|OutHiddenStates)
	out := runGraph(t, exec, g, err, in)
	for i := range 3 {
		want, _ := f.f32(t, fmt.Sprintf("vision.mnp64.hidden_states.%d", i))
		assertClose(t, fmt.Sprint("vision hidden_states.", i), want, out[fmt.Sprint(nameHiddenStatePfx, i)].F32, 2e-5)
	}
	want, _ := f.f32(t, "vision.mnp64.last_hidden_state")
	assertClose(t, "vision last_hidden_state", want, out[nameLastHidden].F32, 2e-5)
	want, _ = f.f32(t, "vision.mnp64.pooler_output")
	assertClose(t, "vision pooler_output", want, out[namePooled].F32, 2e-5)
	want, _ = f.f32(t, "model.mnp64.image_embeds")
	assertClose(t, "image_embeds", want, out[nameEmbeds].F32, 2e-5)

	ids64, shape, err := f.expected.Int64("inputs.input_ids")
	require.NoError(t, err)
	ids := make([]int32, len(ids64))
	for i, v := range ids64 {
		ids[i] = int32(v)
	}
	g, err = buildText(tinyText, shape[0], shape[1], false, OutPooled|OutEmbeds|OutLastHidden|OutHiddenStates)
	tout := runGraph(t, exec, g, err, map[string]graph.Value{nameInputIDs: graph.I32Value(ids, shape...)})
	for i := range 3 {
		want, _ := f.f32(t, fmt.Sprintf("text.hidden_states.%d", i))
		assertClose(t, fmt.Sprint("text hidden_states.", i), want, tout[fmt.Sprint(nameHiddenStatePfx, i)].F32, 2e-5)
	}
	want, _ = f.f32(t, "text.pooler_output")
	assertClose(t, "text pooler_output", want, tout[namePooled].F32, 2e-5)
	want, _ = f.f32(t, "model.text_embeds")
	assertClose(t, "text_embeds", want, tout[nameEmbeds].F32, 2e-5)
}
