package viewer

import (
	"image"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/image/font"
	"golang.org/x/image/math/fixed"
)

func TestStateApply(t *testing.T) {
	s := NewState()
	assert.Equal(t, State{Head: -1, Opacity: DefaultOpacity, Hover: -1}, s)
	// Heads cycle mean → 1 → 2 → 3 → mean, both ways.
	var seen []int
	for range 4 {
		assert.True(t, s.Apply(NextHead, 3, 1))
		seen = append(seen, s.Head)
	}
	assert.Equal(t, []int{0, 1, 2, -1}, seen)
	seen = seen[:0]
	for range 4 {
		s.Apply(PrevHead, 3, 1)
		seen = append(seen, s.Head)
	}
	assert.Equal(t, []int{2, 1, 0, -1}, seen)
	s.Head = 2
	assert.True(t, s.Apply(MeanHeads, 3, 1))
	assert.Equal(t, -1, s.Head)
	assert.False(t, s.Apply(MeanHeads, 3, 1), "already the mean")

	// Opacity steps by a tenth and stays in [0, 1].
	for range 6 {
		s.Apply(OpacityUp, 3, 1)
	}
	assert.Equal(t, float32(1), s.Opacity)
	assert.False(t, s.Apply(OpacityUp, 3, 1))
	for range 3 {
		s.Apply(OpacityDown, 3, 1)
	}
	assert.Equal(t, float32(0.7), s.Opacity)
	for range 12 {
		s.Apply(OpacityDown, 3, 1)
	}
	assert.Equal(t, float32(0), s.Opacity)

	assert.True(t, s.Apply(ToggleGrid, 3, 1))
	assert.True(t, s.Grid)

	// Images wrap; a new image clears the status line.
	s.Status = "saved x.png"
	assert.True(t, s.Apply(PrevImage, 3, 4))
	assert.Equal(t, 3, s.Image)
	assert.Empty(t, s.Status)
	s.Apply(NextImage, 3, 4)
	assert.Equal(t, 0, s.Image)
	assert.False(t, s.Apply(NextImage, 3, 1), "one image: nothing to step to")
	assert.False(t, s.Apply(Save, 3, 1))
	assert.False(t, s.Apply(Quit, 3, 1))

	assert.True(t, s.SelectHead(1, 3))
	assert.Equal(t, 1, s.Head)
	assert.False(t, s.SelectHead(3, 3), "no fourth head")
	assert.False(t, s.SelectHead(1, 3), "already shown")
}

func TestLayout(t *testing.T) {
	cw, ch := CanvasSize()
	assert.Equal(t, [2]int{1038, 640}, [2]int{cw, ch})
	for _, size := range [][2]int{{128, 128}, {192, 80}, {80, 192}, {16, 16}, {1024, 256}, {48, 1008}} {
		l := NewLayout(size[0], size[1])
		// Inside the box, touching two opposite sides, centred, whole units.
		assert.True(t, l.Image.X >= l.Box.X && l.Image.Y >= l.Box.Y, "%v", size)
		assert.True(t, l.Image.X+l.Image.W <= l.Box.X+l.Box.W && l.Image.Y+l.Image.H <= l.Box.Y+l.Box.H, "%v", size)
		assert.True(t, l.Image.W == boxSide || l.Image.H == boxSide, "%v fills the box's long side: %v", size, l.Image)
		assert.InDelta(t, l.Box.X+l.Box.W/2, l.Image.X+l.Image.W/2, 1, "%v centred", size)
		assert.InDelta(t, l.Box.Y+l.Box.H/2, l.Image.Y+l.Image.H/2, 1, "%v centred", size)
		assert.InDelta(t, float64(size[0])/float64(size[1]), l.Image.W/l.Image.H, 0.05, "%v aspect", size)
		for _, r := range []Rect{l.Image, l.Bar, l.Panel} {
			assert.Equal(t, r.X, float64(int(r.X)))
			assert.Equal(t, r.Y, float64(int(r.Y)))
		}
		assert.LessOrEqual(t, l.Panel.X+l.Panel.W, l.W)
	}

	// Patches under points: 192×80 pixels are 12×5 patches of 16.
	l := NewLayout(192, 80)
	u := l.Image.W / 12 // canvas units per patch
	assert.Equal(t, 0, l.PatchAt(l.Image.X, l.Image.Y, 12, 5, 16))
	assert.Equal(t, 5*12-1, l.PatchAt(l.Image.X+l.Image.W-0.01, l.Image.Y+l.Image.H-0.01, 12, 5, 16))
	assert.Equal(t, 2*12+7, l.PatchAt(l.Image.X+7.5*u, l.Image.Y+2.5*u, 12, 5, 16))
	assert.Equal(t, -1, l.PatchAt(l.Image.X-1, l.Image.Y, 12, 5, 16))
	assert.Equal(t, -1, l.PatchAt(l.Image.X, l.Image.Y+l.Image.H, 12, 5, 16))
}

func TestFit(t *testing.T) {
	cw, ch := CanvasSize()
	v := Fit(cw, ch)
	assert.Equal(t, Viewport{0, 0, cw, ch, 1}, v, "natural size: the whole framebuffer at scale 1")
	v = Fit(2*cw, 2*ch)
	assert.Equal(t, Viewport{0, 0, 2 * cw, 2 * ch, 2}, v)

	v = Fit(cw, 2*ch) // too tall: bars above and below
	assert.Equal(t, 1.0, v.Scale)
	assert.Equal(t, image.Rect(0, ch/2, cw, ch/2+ch), v.Bounds())
	v = Fit(2*cw, ch) // too wide: bars left and right
	assert.Equal(t, image.Rect(cw/2, 0, cw/2+cw, ch), v.Bounds())

	v = Fit(700, 760)
	assert.InDelta(t, 700.0/float64(cw), v.Scale, 1e-12)
	x, y := v.Canvas(float64(v.X), float64(v.Y))
	assert.Equal(t, [2]float64{0, 0}, [2]float64{x, y})
	x, y = v.Canvas(float64(v.X+v.W), float64(v.Y+v.H))
	assert.InDelta(t, float64(cw), x, 1)
	assert.InDelta(t, float64(ch), y, 1)
	assert.Equal(t, Viewport{Scale: 1}, Fit(0, 0), "a minimised window")
}

func TestFrameValidate(t *testing.T) {
	require.NoError(t, synthFrame().Validate())
	for name, edit := range map[string]func(*Frame){
		"grid 0×3":               func(f *Frame) { f.GridH = 0 },
		"the image must be 12×8": func(f *Frame) { f.Image.W = 11 },
		"no attention heads":     func(f *Frame) { f.Heads = nil },
		"head 1's map has 7":     func(f *Frame) { f.Heads[0] = append(f.Heads[0], 1) },
		"the mean map has 5":     func(f *Frame) { f.Mean = f.Mean[:5] },
		"all must be positive":   func(f *Frame) { f.PatchSize = -1 },
	} {
		f := synthFrame()
		edit(f)
		assert.ErrorContains(t, f.Validate(), name)
	}
	var nilFrame *Frame
	assert.Error(t, nilFrame.Validate())

	f := synthFrame()
	row, col, w := f.Peak(0)
	assert.Equal(t, [3]float32{1, 1, 255}, [3]float32{float32(row), float32(col), w})
	lo, hi := f.Range(1)
	assert.Equal(t, [2]float32{0, 255}, [2]float32{lo, hi})
	assert.Equal(t, f.Mean, f.Map(-1))
	assert.Equal(t, f.Mean, f.Map(7))
}

func TestFitText(t *testing.T) {
	fc, err := face(regular, 14)
	require.NoError(t, err)
	d := &font.Drawer{Face: fc}
	s := "this is a photo of a very long label indeed"
	full := d.MeasureString(s)
	assert.Equal(t, s, fit(d, s, full))
	cut := fit(d, s, full/2)
	assert.LessOrEqual(t, d.MeasureString(cut), full/2)
	assert.Contains(t, cut, "…")
	assert.True(t, len(cut) > 10)
	assert.Equal(t, "", fit(d, s, fixed.I(1)))
}

func TestOverlayHasText(t *testing.T) {
	f := synthFrame()
	l := NewLayout(f.Image.W, f.Image.H)
	cw, ch := CanvasSize()
	ov, err := drawOverlay(f, NewState(), 1, l, cw, ch, 1)
	require.NoError(t, err)
	// Text in the header, nothing over the image: the heat map shows
	// through.
	inked := func(r image.Rectangle) int {
		n := 0
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				if ov.RGBAAt(x, y).A > 0 {
					n++
				}
			}
		}
		return n
	}
	assert.Greater(t, inked(image.Rect(24, 10, 400, 60)), 200, "header text")
	assert.Greater(t, inked(image.Rect(int(l.Panel.X), int(l.Panel.Y), int(l.Panel.X+l.Panel.W), int(l.Panel.Y+120))), 200, "scores")
	assert.Zero(t, inked(image.Rect(int(l.Image.X), int(l.Image.Y), int(l.Image.X+l.Image.W), int(l.Image.Y+l.Image.H))), "over the image")
}
