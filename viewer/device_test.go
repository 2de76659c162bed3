package viewer

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosig/gosig/graph/gpuexec"
	"github.com/gosig/gosig/siglip2"
)

// TestRenderOnModelDevice runs the model on the GPU executor and draws on
// that executor's own device (no second device, as gosig view does), then
// compares with the picture of the CPU executor's frame: the maps agree to
// float rounding, so the pictures may differ only where a weight's colour
// or its printed digits round the other way.
func TestRenderOnModelDevice(t *testing.T) {
	ctx := context.Background()
	m, err := siglip2.Load(shapesDir, siglip2.Options{})
	require.NoError(t, err)
	defer m.Close()
	exec, ok := m.Executor().(*gpuexec.Executor)
	require.True(t, ok, "the default executor is the GPU one")
	// No labels: the text tower is not needed to test drawing on the
	// executor's device.
	var labels []string
	src, err := NewModelSource(ctx, m, []string{redCircle}, labels, shapesTemplate)
	require.NoError(t, err)
	f, err := src.Frame(ctx, 0)
	require.NoError(t, err)
	st := NewState()
	got, err := Render(ctx, exec.Device(), f, st, 1, 1)
	require.NoError(t, err)

	cm, dev, err := testModel()
	require.NoError(t, err)
	defer cm.Close()
	defer dev.Close()
	csrc, err := NewModelSource(ctx, cm, []string{redCircle}, labels, shapesTemplate)
	require.NoError(t, err)
	cf, err := csrc.Frame(ctx, 0)
	require.NoError(t, err)
	for h := range cf.Heads {
		assert.InDeltaSlice(t, cf.Heads[h], f.Heads[h], 1e-5, "head %d's map, GPU against CPU", h+1)
	}
	want, err := Render(ctx, dev, cf, st, 1, 1)
	require.NoError(t, err)
	differing, maxDiff := 0, 0
	for i := 0; i < len(want.Pix); i += 4 {
		d := 0
		for c := range 3 {
			d = max(d, abs(int(want.Pix[i+c])-int(got.Pix[i+c])))
		}
		if d > 0 {
			differing++
		}
		maxDiff = max(maxDiff, d)
	}
	t.Logf("GPU-executor picture: %d of %d pixels differ from the CPU executor's, by at most %d/255", differing, len(want.Pix)/4, maxDiff)
	assert.Less(t, differing, len(want.Pix)/4/1000, "at most 0.1%% of the pixels differ")
}
