package preprocess

import "fmt"

// FixRes preprocesses img as SiglipImageProcessor does with cfg: resize to
// cfg.Height×cfg.Width with cfg.Resample (PIL-exact), rescale, normalise, and
// return the float32 values channels-first: [3][H][W] flattened, H and W
// being cfg's size (or the image's own with cfg.DoResize false).
func FixRes(img *RGB, cfg Config) ([]float32, error) {
	if err := img.validate(); err != nil {
		return nil, fmt.Errorf("fixres: %w", err)
	}
	cfg.Kind = KindFixRes
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("fixres: %w", err)
	}
	resized := img
	if cfg.DoResize {
		var err error
		if resized, err = Resize(img, cfg.Width, cfg.Height, cfg.Resample); err != nil {
			return nil, fmt.Errorf("fixres: %w", err)
		}
	}
	t := newLUT(cfg)
	n := resized.W * resized.H
	out := make([]float32, 3*n)
	for i := 0; i < n; i++ {
		px := resized.Pix[i*3 : i*3+3 : i*3+3]
		out[i] = t[0][px[0]]
		out[n+i] = t[1][px[1]]
		out[2*n+i] = t[2][px[2]]
	}
	return out, nil
}
