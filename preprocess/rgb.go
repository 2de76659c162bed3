package preprocess

import (
	"fmt"
	"image"
	"image/color"
)

// RGB is an 8-bit RGB image, the form every decoder's output is brought to
// before resizing. Pix holds the samples interleaved, row by row, with no
// padding: the sample of channel c at (x, y) is Pix[(y*W+x)*3+c].
type RGB struct {
	W, H int
	Pix  []uint8
}

// NewRGB allocates a black w×h image.
func NewRGB(w, h int) *RGB {
	return &RGB{W: w, H: h, Pix: make([]uint8, w*h*3)}
}

// validate reports whether img is usable: positive sides and a Pix slice of
// the right length.
func (img *RGB) validate() error {
	if img == nil {
		return fmt.Errorf("nil image")
	}
	if img.W <= 0 || img.H <= 0 {
		return fmt.Errorf("image is %d×%d: both sides must be at least 1", img.W, img.H)
	}
	if len(img.Pix) != img.W*img.H*3 {
		return fmt.Errorf("image is %d×%d but has %d samples, want %d", img.W, img.H, len(img.Pix), img.W*img.H*3)
	}
	return nil
}

// Image returns img as an *image.NRGBA (opaque), for display or for encoding
// with the standard library. The pixels are copied.
func (img *RGB) Image() *image.NRGBA {
	out := image.NewNRGBA(image.Rect(0, 0, img.W, img.H))
	for i, j := 0, 0; i < len(img.Pix); i, j = i+3, j+4 {
		out.Pix[j] = img.Pix[i]
		out.Pix[j+1] = img.Pix[i+1]
		out.Pix[j+2] = img.Pix[i+2]
		out.Pix[j+3] = 0xff
	}
	return out
}

// ColorModel, Bounds and At make *RGB an image.Image, so it can be passed to
// image/png and friends directly.
func (img *RGB) ColorModel() color.Model { return color.NRGBAModel }

// Bounds returns the rectangle (0, 0)–(W, H).
func (img *RGB) Bounds() image.Rectangle { return image.Rect(0, 0, img.W, img.H) }

// At returns the colour at (x, y), or transparent black outside the image.
func (img *RGB) At(x, y int) color.Color {
	if x < 0 || y < 0 || x >= img.W || y >= img.H {
		return color.NRGBA{}
	}
	i := (y*img.W + x) * 3
	return color.NRGBA{img.Pix[i], img.Pix[i+1], img.Pix[i+2], 0xff}
}
