package viewer

import (
	"image"
	"math"
)

// Rect is an axis-aligned rectangle in canvas units: X, Y is the top-left
// corner.
type Rect struct{ X, Y, W, H float64 }

// Contains reports whether (x, y) lies in r (left and top edges included).
func (r Rect) Contains(x, y float64) bool {
	return x >= r.X && y >= r.Y && x < r.X+r.W && y < r.Y+r.H
}

// Canvas geometry, in canvas units (pixels at scale 1). The canvas has the
// same size for every image, so that stepping through images never resizes
// the window; each image is fitted into the image box.
const (
	margin    = 24.0
	headerH   = 64.0
	footerH   = 64.0
	boxSide   = 512.0 // the image box is square
	barGap    = 20.0  // image box to colour bar
	barW      = 14.0
	barLabelW = 64.0 // colour-bar value labels
	panelGap  = 20.0
	panelW    = 360.0
	barTop    = 22.0 // room above the colour bar for its title
)

// Layout places everything on the canvas for one frame.
type Layout struct {
	// W and H are the canvas size.
	W, H float64
	// Box is the square the image is fitted into; Image is where the image
	// is drawn (the whole patch grid, no padding).
	Box, Image Rect
	// ImgW and ImgH are the image's size in its own pixels.
	ImgW, ImgH int
	// Bar is the colour bar; Panel the score list; Header and Footer the
	// text lines above and below.
	Bar, Panel, Header, Footer Rect
}

// CanvasSize is the size of every canvas in canvas units: the window's
// natural size and the PNG export's size at scale 1.
func CanvasSize() (w, h int) {
	return int(margin + boxSide + barGap + barW + barLabelW + panelGap + panelW + margin), int(headerH + boxSide + footerH)
}

// NewLayout lays the canvas out for an image of imgW×imgH pixels. The image
// is scaled to fill the box along its longer side and centred in it; its
// rectangle has whole canvas coordinates. (Each model pixel is drawn as a
// block of the nearest framebuffer pixels, so at a fractional scale blocks
// differ in size by at most one pixel.)
func NewLayout(imgW, imgH int) Layout {
	w, h := CanvasSize()
	l := Layout{W: float64(w), H: float64(h), ImgW: imgW, ImgH: imgH}
	l.Box = Rect{margin, headerH, boxSide, boxSide}
	s := math.Min(boxSide/float64(imgW), boxSide/float64(imgH))
	dw, dh := math.Round(float64(imgW)*s), math.Round(float64(imgH)*s)
	l.Image = Rect{l.Box.X + math.Floor((boxSide-dw)/2), l.Box.Y + math.Floor((boxSide-dh)/2), dw, dh}
	l.Bar = Rect{l.Box.X + boxSide + barGap, l.Box.Y + barTop, barW, boxSide - barTop}
	px := l.Bar.X + barW + barLabelW + panelGap
	l.Panel = Rect{px, l.Box.Y, panelW, boxSide}
	l.Header = Rect{margin, 0, l.W - 2*margin, headerH}
	l.Footer = Rect{margin, headerH + boxSide, l.W - 2*margin, footerH}
	return l
}

// PatchAt returns the patch index (row·gridW + column) under canvas point
// (x, y), or -1 when the point is not on the image.
func (l Layout) PatchAt(x, y float64, gridW, gridH, patch int) int {
	if !l.Image.Contains(x, y) {
		return -1
	}
	px := (x - l.Image.X) / l.Image.W * float64(l.ImgW)
	py := (y - l.Image.Y) / l.Image.H * float64(l.ImgH)
	col := min(int(px)/patch, gridW-1)
	row := min(int(py)/patch, gridH-1)
	return row*gridW + col
}

// Viewport is where the canvas lands in a framebuffer of a given size:
// scaled uniformly to fit, centred, the rest letterboxed.
type Viewport struct {
	// X, Y is the canvas corner in framebuffer pixels; W, H its scaled
	// size (whole pixels).
	X, Y, W, H int
	// Scale is framebuffer pixels per canvas unit.
	Scale float64
}

// Fit returns the viewport of the canvas in a fbW×fbH framebuffer. At the
// canvas's own size it is the whole framebuffer at scale 1.
func Fit(fbW, fbH int) Viewport {
	cw, ch := CanvasSize()
	s := math.Min(float64(fbW)/float64(cw), float64(fbH)/float64(ch))
	if s <= 0 || math.IsNaN(s) {
		return Viewport{Scale: 1}
	}
	w, h := int(math.Round(float64(cw)*s)), int(math.Round(float64(ch)*s))
	return Viewport{X: (fbW - w) / 2, Y: (fbH - h) / 2, W: w, H: h, Scale: s}
}

// Canvas converts a framebuffer point to canvas units.
func (v Viewport) Canvas(x, y float64) (float64, float64) {
	return (x - float64(v.X)) / v.Scale, (y - float64(v.Y)) / v.Scale
}

// Bounds returns the viewport's rectangle in the framebuffer.
func (v Viewport) Bounds() image.Rectangle { return image.Rect(v.X, v.Y, v.X+v.W, v.Y+v.H) }
