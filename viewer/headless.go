package viewer

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"os"

	"github.com/gosig/gosig/gpu"
)

// Render draws frame f in state st without a window, with the window's
// shader and layout, into an offscreen texture on dev, and reads it back.
// images is the length of the image list st.Image indexes (the header says
// "image i of n" when it is above 1). At scale 1 the picture is the
// window's at its natural size, pixel for pixel.
func Render(ctx context.Context, dev *gpu.Device, f *Frame, st State, images int, scale float64) (*image.RGBA, error) {
	r, err := NewRenderer(dev)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if err := r.SetFrame(f); err != nil {
		return nil, err
	}
	return r.Image(ctx, st, images, scale)
}

// WritePNG encodes img as a PNG file at path.
func WritePNG(path string, img image.Image) error {
	out, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("viewer: %w", err)
	}
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(out, img); err != nil {
		out.Close()
		return fmt.Errorf("viewer: write %s: %w", path, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("viewer: write %s: %w", path, err)
	}
	return nil
}
