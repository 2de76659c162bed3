package preprocess

// lut maps each uint8 sample of each channel to the float32 Hugging Face
// computes for it: rescale (float32(float64(u8) · rescale_factor)), then
// normalise ((x − float32(mean)) / float32(std), in float32). Every step
// depends only on the sample and the channel, so a 3×256 table gives the
// same bits as computing each pixel.
type lut [3][256]float32

func newLUT(cfg Config) *lut {
	var t lut
	for c := 0; c < 3; c++ {
		mean, std := float32(cfg.ImageMean[c]), float32(cfg.ImageStd[c])
		for v := 0; v < 256; v++ {
			x := float32(v)
			if cfg.DoRescale {
				x = float32(float64(v) * cfg.RescaleFactor)
			}
			if cfg.DoNormalize {
				x = (x - mean) / std
			}
			t[c][v] = x
		}
	}
	return &t
}
