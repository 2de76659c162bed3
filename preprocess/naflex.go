package preprocess

import (
	"fmt"
	"math"
)

// maxNaFlexPatches bounds the patch budget so that the padded output stays
// allocatable (2^20 patches of 16×16×3 floats is 3 GiB already).
const maxNaFlexPatches = 1 << 20

// NaFlexSize returns the size (height, width) in pixels that SigLIP 2's
// NaFlex preprocessing resizes an h×w image to: the largest scale, found by
// bisection, for which both sides rounded up to a multiple of patch give at
// most maxPatches patches, each side at least one patch.
//
// It reproduces Hugging Face's get_image_size_for_max_num_patches float for
// float (bisection over [1e-6, 100] until the interval is under 1e-5, sides
// ceil(size·scale / patch)·patch in float64), so it picks the same size in
// the cases where rounding decides.
func NaFlexSize(h, w, patch, maxPatches int) (th, tw int, err error) {
	if h < 1 || w < 1 {
		return 0, 0, fmt.Errorf("naflex size: image is %d×%d (w×h): both sides must be at least 1", w, h)
	}
	if patch < 1 {
		return 0, 0, fmt.Errorf("naflex size: patch size %d: want at least 1", patch)
	}
	if maxPatches < 1 {
		return 0, 0, fmt.Errorf("naflex size: max patches %d: want at least 1", maxPatches)
	}
	eps := 1e-5
	scaleMin, scaleMax := eps/10, 100.0
	fp := float64(patch)
	fh, fw := float64(h), float64(w)
	side := func(scale, size float64) float64 {
		s := math.Ceil(float64(size*scale)/fp) * fp
		return math.Max(fp, s)
	}
	budget := float64(maxPatches)
	for scaleMax-scaleMin >= eps {
		scale := (scaleMin + scaleMax) / 2
		n := (side(scale, fh) / fp) * (side(scale, fw) / fp)
		if n <= budget {
			scaleMin = scale
		} else {
			scaleMax = scale
		}
	}
	sh, sw := side(scaleMin, fh), side(scaleMin, fw)
	// At most 100× the input sides (< 2^23 for 16-bit sides): exact as int.
	return int(sh), int(sw), nil
}

// Patches is the NaFlex input of one image: what Siglip2ImageProcessor
// returns as pixel_values, pixel_attention_mask and spatial_shapes, without
// the batch dimension.
type Patches struct {
	// Values holds MaxPatches rows of PatchSize·PatchSize·3 float32, each row
	// one patch flattened in (row, column, channel) order; patches run in
	// raster order over the GridH×GridW grid, and rows past GridH·GridW are
	// zero padding.
	Values []float32
	// Mask has MaxPatches entries: 1 for a real patch, 0 for padding (int32,
	// as Hugging Face returns pixel_attention_mask).
	Mask []int32
	// GridH and GridW are the patch grid (spatial_shapes: height, width).
	GridH, GridW int
	// PatchSize and MaxPatches are the values the patches were made with.
	PatchSize, MaxPatches int
	// Resized is the image after resizing, before rescaling (GridH·PatchSize
	// rows by GridW·PatchSize columns); the viewer draws it.
	Resized *RGB
}

// NumPatches returns the number of real (unpadded) patches, GridH·GridW.
func (p *Patches) NumPatches() int { return p.GridH * p.GridW }

// RowLen returns the length of one patch row, PatchSize²·3.
func (p *Patches) RowLen() int { return p.PatchSize * p.PatchSize * 3 }

// ValuesU8 returns the uint8 samples of Resized laid out as Values
// (MaxPatches rows of PatchSize²·3, padding zero): the pixels before rescaling
// and normalising, which is what the reference fixtures store.
func (p *Patches) ValuesU8() []uint8 {
	out := make([]uint8, p.MaxPatches*p.RowLen())
	patchRows(p.Resized, p.PatchSize, func(off int, src []uint8) { copy(out[off:], src) })
	return out
}

// NaFlex preprocesses img as Siglip2ImageProcessor does with cfg (patch size,
// filter, rescale, normalisation) and a budget of maxPatches patches; a
// maxPatches of 0 means cfg.MaxNumPatches.
//
// With cfg.DoResize false the image is patchified at its own size, which must
// then be a multiple of the patch size and fit the budget.
func NaFlex(img *RGB, cfg Config, maxPatches int) (*Patches, error) {
	if err := img.validate(); err != nil {
		return nil, fmt.Errorf("naflex: %w", err)
	}
	if maxPatches == 0 {
		maxPatches = cfg.MaxNumPatches
	}
	if maxPatches < 1 || maxPatches > maxNaFlexPatches {
		return nil, fmt.Errorf("naflex: max patches %d: want 1–%d", maxPatches, maxNaFlexPatches)
	}
	cfg.Kind = KindNaFlex
	if cfg.MaxNumPatches < 1 {
		cfg.MaxNumPatches = maxPatches
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("naflex: %w", err)
	}
	p := cfg.PatchSize
	resized := img
	if cfg.DoResize {
		th, tw, err := NaFlexSize(img.H, img.W, p, maxPatches)
		if err != nil {
			return nil, fmt.Errorf("naflex: %w", err)
		}
		if resized, err = Resize(img, tw, th, cfg.Resample); err != nil {
			return nil, fmt.Errorf("naflex: %w", err)
		}
	} else if img.W%p != 0 || img.H%p != 0 || (img.W/p)*(img.H/p) > maxPatches {
		return nil, fmt.Errorf("naflex without resizing: image %d×%d is not a multiple of patch %d within %d patches", img.W, img.H, p, maxPatches)
	}
	return patchesOf(resized, cfg, maxPatches), nil
}

// patchesOf patchifies an already resized image.
func patchesOf(resized *RGB, cfg Config, maxPatches int) *Patches {
	p := cfg.PatchSize
	out := &Patches{
		GridH: resized.H / p, GridW: resized.W / p,
		PatchSize: p, MaxPatches: maxPatches,
		Resized: resized,
	}
	out.Values = make([]float32, maxPatches*out.RowLen())
	patchifyLUT(resized, p, out.Values, newLUT(cfg))
	out.Mask = make([]int32, maxPatches)
	for i := 0; i < out.NumPatches(); i++ {
		out.Mask[i] = 1
	}
	return out
}

// patchRows calls f for every row of every patch of img, in the order of
// the output: patches in (patch row, patch column) order, each flattened as
// (row, column, channel); off is where the row's p·3 samples src go. Samples
// outside whole patches are skipped, as Hugging Face's reshape would refuse
// them; here sides are always multiples of p.
func patchRows(img *RGB, p int, f func(off int, src []uint8)) {
	gh, gw := img.H/p, img.W/p
	stride := img.W * 3
	off := 0
	for py := 0; py < gh; py++ {
		for px := 0; px < gw; px++ {
			for r := 0; r < p; r++ {
				i := (py*p+r)*stride + px*p*3
				f(off, img.Pix[i:i+p*3])
				off += p * 3
			}
		}
	}
}

// patchifyLUT writes img's patches into dst, each sample mapped through t:
// three samples (one pixel) a step, no call per sample.
func patchifyLUT(img *RGB, p int, dst []float32, t *lut) {
	t0, t1, t2 := &t[0], &t[1], &t[2]
	patchRows(img, p, func(off int, src []uint8) {
		o := dst[off : off+len(src)]
		for i := 0; i+2 < len(src); i += 3 {
			s := src[i : i+3 : i+3]
			q := o[i : i+3 : i+3]
			q[0], q[1], q[2] = t0[s[0]], t1[s[1]], t2[s[2]]
		}
	})
}
