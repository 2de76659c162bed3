package viewer

import (
	"context"
	"fmt"
	"image"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosig/gosig/gpu"
	"github.com/gosig/gosig/preprocess"
)

// infernoTruth holds entries of matplotlib's 256-entry inferno table
// (_cm_listed.py, CC0), the truth the shader's 33-knot table is checked
// against: index → RGB in 0..1.
var infernoTruth = map[int][3]float64{
	0:   {0.001462, 0.000466, 0.013866},
	64:  {0.341500, 0.062325, 0.429425},
	128: {0.735683, 0.215906, 0.330245},
	192: {0.978422, 0.557937, 0.034931},
	255: {0.988362, 0.998364, 0.644924},
}

// colourTolerance is the per-channel tolerance, in levels of 255, for
// heat-map colours: the shader's piecewise-linear table is at most 1.5
// levels off matplotlib's, plus rounding to 8 bits.
const colourTolerance = 2

func openDevice(t *testing.T) *gpu.Device {
	t.Helper()
	dev, err := gpu.Open(gpu.Options{})
	require.NoError(t, err, "the viewer draws with WebGPU (make setup installs lavapipe)")
	t.Cleanup(func() { dev.Close() })
	return dev
}

// synthFrame is a 2×3 grid of 4-pixel patches with a flat image colour
// and a head whose weights put t = 0, 64/255, 128/255, 192/255, 1 and
// 0.5 on its patches (weights 0 … 255, so vmin 0 and vmax 255).
func synthFrame() *Frame {
	img := preprocess.NewRGB(12, 8)
	for i := 0; i < len(img.Pix); i += 3 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2] = 200, 100, 50
	}
	h0 := []float32{0, 64, 128, 192, 255, 127.5}
	h1 := []float32{255, 0, 0, 0, 0, 0}
	mean := make([]float32, 6)
	for i := range mean {
		mean[i] = (h0[i] + h1[i]) / 2
	}
	return &Frame{Name: "synthetic", Image: img, GridH: 2, GridW: 3, PatchSize: 4,
		Heads: [][]float32{h0, h1}, Mean: mean,
		Scores: []Score{{"a", 0.5}, {"b", 0.25}}, ScoreKind: "test"}
}

// patchCentre returns the pixel at the centre of patch (row, col) of f's
// layout at scale.
func patchCentre(f *Frame, row, col int, scale float64) image.Point {
	l := NewLayout(f.Image.W, f.Image.H)
	x := l.Image.X + (float64(col)+0.5)*l.Image.W/float64(f.GridW)
	y := l.Image.Y + (float64(row)+0.5)*l.Image.H/float64(f.GridH)
	return image.Pt(int(x*scale), int(y*scale))
}

func pixel(img *image.RGBA, p image.Point) [3]int {
	o := img.PixOffset(p.X, p.Y)
	return [3]int{int(img.Pix[o]), int(img.Pix[o+1]), int(img.Pix[o+2])}
}

func assertNear(t *testing.T, want [3]float64, got [3]int, tol int, msg string, args ...any) {
	t.Helper()
	for c := range 3 {
		if math.Abs(want[c]-float64(got[c])) > float64(tol) {
			t.Errorf("%s: got %v, want %.1f (±%d)", fmt.Sprintf(msg, args...), got, want, tol)
			return
		}
	}
}

func scale255(c [3]float64) [3]float64 { return [3]float64{255 * c[0], 255 * c[1], 255 * c[2]} }

// TestRenderHeatMap checks the shader's pixels against independent
// arithmetic: at opacity 1 a patch shows matplotlib's inferno colour of its
// normalised weight, at 0 the image's own colour, in between their mix;
// the colour bar runs from inferno(1) at the top to inferno(0) at the
// bottom; the box around the image is background; a hovered patch gets a
// white outline; and a picture at scale 2 has the same colours in the same
// places.
func TestRenderHeatMap(t *testing.T) {
	dev := openDevice(t)
	ctx := context.Background()
	f := synthFrame()
	require.NoError(t, f.Validate())
	r, err := NewRenderer(dev)
	require.NoError(t, err)
	defer r.Close()
	require.NoError(t, r.SetFrame(f))
	cw, ch := CanvasSize()
	imgColour := [3]float64{200, 100, 50}
	tIndex := []int{0, 64, 128, 192, 255}

	st := NewState()
	st.Head, st.Opacity = 0, 1
	img, err := r.Image(ctx, st, 1, 1)
	require.NoError(t, err)
	require.Equal(t, image.Rect(0, 0, cw, ch), img.Bounds())
	for i, idx := range tIndex {
		assertNear(t, scale255(infernoTruth[idx]), pixel(img, patchCentre(f, i/3, i%3, 1)), colourTolerance, "patch %d (inferno[%d])", i, idx)
	}
	// Patch 5 is halfway: between inferno[127] and inferno[128].
	assertNear(t, scale255(infernoTruth[128]), pixel(img, patchCentre(f, 1, 2, 1)), 3, "patch 5 (t = 0.5)")

	l := NewLayout(f.Image.W, f.Image.H)
	bx := int(l.Bar.X + l.Bar.W/2)
	assertNear(t, scale255(infernoTruth[255]), pixel(img, image.Pt(bx, int(l.Bar.Y))), colourTolerance, "colour bar top")
	assertNear(t, scale255(infernoTruth[0]), pixel(img, image.Pt(bx, int(l.Bar.Y+l.Bar.H)-1)), colourTolerance, "colour bar bottom")
	bg := [3]float64{float64(colBackground.R), float64(colBackground.G), float64(colBackground.B)}
	above := image.Pt(int(l.Image.X+l.Image.W/2), int(l.Image.Y)-3) // in the box, above the image
	assertNear(t, bg, pixel(img, above), 0, "the box around the image")
	assertNear(t, bg, pixel(img, image.Pt(int(l.Image.X+l.Image.W/2), int(l.Image.Y+l.Image.H)+2)), 0, "the box below the image")

	// Opacity 0: the image as the model saw it; 0.5: the mix.
	st.Opacity = 0
	img, err = r.Image(ctx, st, 1, 1)
	require.NoError(t, err)
	for i := range 6 {
		assertNear(t, imgColour, pixel(img, patchCentre(f, i/3, i%3, 1)), 0, "patch %d at opacity 0", i)
	}
	st.Opacity = 0.5
	img, err = r.Image(ctx, st, 1, 1)
	require.NoError(t, err)
	for i, idx := range tIndex {
		want := scale255(infernoTruth[idx])
		for c := range 3 {
			want[c] = (want[c] + imgColour[c]) / 2
		}
		assertNear(t, want, pixel(img, patchCentre(f, i/3, i%3, 1)), colourTolerance, "patch %d at opacity 0.5", i)
	}

	// Head 1 puts all the weight on patch 0; the mean is their average.
	st.Opacity, st.Head = 1, 1
	img, err = r.Image(ctx, st, 1, 1)
	require.NoError(t, err)
	assertNear(t, scale255(infernoTruth[255]), pixel(img, patchCentre(f, 0, 0, 1)), colourTolerance, "head 1, patch 0")
	assertNear(t, scale255(infernoTruth[0]), pixel(img, patchCentre(f, 0, 1, 1)), colourTolerance, "head 1, patch 1")
	st.Head = -1 // mean: patch 0 is the largest weight (127.5), patch 1 the smallest (32)
	img, err = r.Image(ctx, st, 1, 1)
	require.NoError(t, err)
	assertNear(t, scale255(infernoTruth[255]), pixel(img, patchCentre(f, 0, 0, 1)), colourTolerance, "mean, patch 0")
	assertNear(t, scale255(infernoTruth[0]), pixel(img, patchCentre(f, 0, 1, 1)), colourTolerance, "mean, patch 1")

	// The hovered patch is outlined in white, one pixel inside its edge.
	st.Hover = 4 // row 1, column 1
	img, err = r.Image(ctx, st, 1, 1)
	require.NoError(t, err)
	x0 := int(math.Ceil(l.Image.X + l.Image.W/3))
	y0 := int(math.Ceil(l.Image.Y + l.Image.H/2))
	assert.Equal(t, [3]int{255, 255, 255}, pixel(img, image.Pt(x0+1, y0+20)), "hover outline")
	assert.NotEqual(t, [3]int{255, 255, 255}, pixel(img, image.Pt(x0+10, y0+20)), "inside the hovered patch")

	// Twice the size: the same colours at the same places.
	st.Hover = -1
	img2, err := r.Image(ctx, st, 1, 2)
	require.NoError(t, err)
	assert.Equal(t, image.Rect(0, 0, 2*cw, 2*ch), img2.Bounds())
	img1, err := r.Image(ctx, st, 1, 1)
	require.NoError(t, err)
	for i := range 6 {
		assert.Equal(t, pixel(img1, patchCentre(f, i/3, i%3, 1)), pixel(img2, patchCentre(f, i/3, i%3, 2)), "patch %d at scale 2", i)
	}
}

// TestRenderGrid checks that the grid lines fall on the interior patch
// boundaries only (none around the image's edge) and lighten the pixel.
func TestRenderGrid(t *testing.T) {
	dev := openDevice(t)
	f := synthFrame()
	st := NewState()
	st.Opacity = 0
	plain, err := Render(context.Background(), dev, f, st, 1, 1)
	require.NoError(t, err)
	st.Grid = true
	grid, err := Render(context.Background(), dev, f, st, 1, 1)
	require.NoError(t, err)
	l := NewLayout(f.Image.W, f.Image.H)
	y := int(l.Image.Y + l.Image.H/4)
	var lines []int
	for x := int(l.Image.X); x < int(l.Image.X+l.Image.W); x++ {
		if pixel(plain, image.Pt(x, y)) != pixel(grid, image.Pt(x, y)) {
			lines = append(lines, x)
			// 30 % white over the image colour (200, 100, 50).
			assertNear(t, [3]float64{0.7*200 + 0.3*255, 0.7*100 + 0.3*255, 0.7*50 + 0.3*255}, pixel(grid, image.Pt(x, y)), 1, "grid line at x=%d", x)
		}
	}
	// Two interior vertical lines, one pixel wide, at the thirds.
	require.Len(t, lines, 2)
	for i, x := range lines {
		assert.InDelta(t, l.Image.X+float64(i+1)*l.Image.W/3, float64(x), 1, "line %d", i)
	}
}

// TestRendererErrors checks what the renderer refuses.
func TestRendererErrors(t *testing.T) {
	dev := openDevice(t)
	r, err := NewRenderer(dev)
	require.NoError(t, err)
	defer r.Close()
	_, err = r.Image(context.Background(), NewState(), 1, 1)
	assert.ErrorContains(t, err, "before SetFrame")
	f := synthFrame()
	f.Heads[1] = f.Heads[1][:5]
	assert.ErrorContains(t, r.SetFrame(f), "head 2's map has 5 weights, want 6")
	require.NoError(t, r.SetFrame(synthFrame()))
	_, err = r.Image(context.Background(), NewState(), 1, 0)
	assert.ErrorContains(t, err, "scale 0")
}
