package main

import (
	"context"
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosig/gosig/gpu"
	"github.com/gosig/gosig/siglip2"
	"github.com/gosig/gosig/viewer"
)

const attnModel = "../../testdata/models/shapes-siglip2"

var attnSample = filepath.Join(attnModel, "samples", "red_circle.png")

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	return img
}

// TestAttnCommand checks that gosig attn's flags reach the picture: its PNG
// equals the viewer's headless render of the same frame in the state the
// flags describe (head 2, grid, opacity 0.8, two zero-shot labels).
func TestAttnCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "map.png")
	stdout, err := runGosig(t, "attn", "--model", attnModel, "--device", "cpu",
		"--template", "this is a photo of a {}.", "--labels", "red circle,blue circle",
		"--head", "2", "--grid", "--opacity", "0.8", "--out", out, attnSample)
	require.NoError(t, err, stdout)
	assert.Contains(t, stdout, "red_circle.png: 8×8 patches; head 2 peaks at row")
	got := decodePNG(t, out)

	ctx := context.Background()
	m, err := siglip2.Load(attnModel, siglip2.Options{Device: "cpu"})
	require.NoError(t, err)
	defer m.Close()
	dev, err := gpu.Open(gpu.Options{})
	require.NoError(t, err)
	defer dev.Close()
	src, err := viewer.NewModelSource(ctx, m, []string{attnSample}, []string{"red circle", "blue circle"}, "this is a photo of a {}.")
	require.NoError(t, err)
	f, err := src.Frame(ctx, 0)
	require.NoError(t, err)
	require.Equal(t, "red circle", f.Scores[0].Label)
	st := viewer.NewState()
	st.Head, st.Grid, st.Opacity = 1, true, 0.8
	want, err := viewer.Render(ctx, dev, f, st, 1, 1)
	require.NoError(t, err)
	require.Equal(t, want.Bounds(), got.Bounds())
	for y := range want.Bounds().Dy() {
		for x := range want.Bounds().Dx() {
			wr, wg, wb, _ := want.At(x, y).RGBA()
			gr, gg, gb, _ := got.At(x, y).RGBA()
			if [3]uint32{wr, wg, wb} != [3]uint32{gr, gg, gb} {
				t.Fatalf("gosig attn's PNG differs from the viewer's render at (%d, %d)", x, y)
			}
		}
	}
}

// TestAttnCommandModelDevice draws on the GPU executor's own device, at
// twice the size.
func TestAttnCommandModelDevice(t *testing.T) {
	out := filepath.Join(t.TempDir(), "map.png")
	stdout, err := runGosig(t, "attn", "--model", attnModel, "--scale", "2", "-o", out, attnSample)
	require.NoError(t, err, stdout)
	assert.Contains(t, stdout, "the mean over heads peaks at row 4, column 6")
	w, h := viewer.CanvasSize()
	assert.Equal(t, image.Rect(0, 0, 2*w, 2*h), decodePNG(t, out).Bounds())
}

func TestAttnCommandUsage(t *testing.T) {
	out := filepath.Join(t.TempDir(), "map.png")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--out", out, attnSample}, "--model is required"},
		{[]string{"--model", attnModel, attnSample}, "--out is required"},
		{[]string{"--model", attnModel, "--out", out}, "one image file"},
		{[]string{"--model", attnModel, "--out", out, "--head", "0", attnSample}, `--head "0"`},
		{[]string{"--model", attnModel, "--out", out, "--head", "first", attnSample}, "want mean or a head number"},
		{[]string{"--model", attnModel, "--out", out, "--opacity", "1.5", attnSample}, "--opacity 1.5"},
		{[]string{"--model", attnModel, "--out", out, "--device", "tpu", attnSample}, `--device "tpu"`},
		{[]string{"--model", attnModel, "--out", out, "--scale", "0", attnSample}, "--scale 0"},
		{[]string{"--model", attnModel, "--out", out, "--labels", "a,,b", attnSample}, "label 2 is empty"},
	} {
		_, err := runGosig(t, append([]string{"attn"}, c.args...)...)
		require.Error(t, err, "%v", c.args)
		assert.ErrorContains(t, err, c.want)
		var ee *exitError
		assert.True(t, errors.As(err, &ee) && ee.code == exitUsage, "%v: a usage error (exit 2): %v", c.args, err)
	}
	// Checked once the model says how many heads it has.
	_, err := runGosig(t, "attn", "--model", attnModel, "--device", "cpu", "--out", out, "--head", "5", attnSample)
	assert.ErrorContains(t, err, "--head 5: "+attnModel+"'s pooling head has 4 heads")
	_, err = runGosig(t, "attn", "--model", attnModel, "--device", "cpu", "--out", out, filepath.Join(t.TempDir(), "missing.png"))
	assert.ErrorContains(t, err, "missing.png")
}

// TestViewWithoutDisplay: with no X display, gosig view says so before
// loading anything, and points to gosig attn.
func TestViewWithoutDisplay(t *testing.T) {
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	_, err := runGosig(t, "view", "--model", attnModel, attnSample)
	require.Error(t, err)
	assert.True(t, errors.Is(err, viewer.ErrNoDisplay), "%v", err)
	assert.ErrorContains(t, err, "DISPLAY is not set")
	assert.ErrorContains(t, err, "gosig attn --model "+attnModel+" --out map.png "+attnSample)

	t.Setenv("DISPLAY", ":1999") // no server there
	_, err = runGosig(t, "view", "--model", attnModel, attnSample)
	assert.ErrorContains(t, err, "cannot connect to the X server at DISPLAY=:1999")
	assert.ErrorContains(t, err, "gosig attn")

	_, err = runGosig(t, "view", "--model", attnModel)
	assert.ErrorContains(t, err, "one or more image files")
}
