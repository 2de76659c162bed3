package preprocess

import (
	"fmt"
	"math"
)

// Filter is a resampling filter, numbered as PIL's Image.Resampling and as the
// "resample" field of a Hugging Face preprocessor_config.json.
type Filter int

// The filters PIL offers. SigLIP 2 (NaFlex) checkpoints use Bilinear; SigLIP
// (FixRes) checkpoints use Bicubic or Bilinear.
const (
	Nearest  Filter = 0
	Lanczos  Filter = 1
	Bilinear Filter = 2
	Bicubic  Filter = 3
	Box      Filter = 4
	Hamming  Filter = 5
)

// String returns PIL's name for f.
func (f Filter) String() string {
	switch f {
	case Nearest:
		return "nearest"
	case Lanczos:
		return "lanczos"
	case Bilinear:
		return "bilinear"
	case Bicubic:
		return "bicubic"
	case Box:
		return "box"
	case Hamming:
		return "hamming"
	}
	return fmt.Sprintf("Filter(%d)", int(f))
}

// valid reports whether f is one of PIL's six filters.
func (f Filter) valid() bool { return f >= Nearest && f <= Hamming }

// resampleFilter is one of PIL's convolution kernels with its support radius
// (in source pixels at scale 1).
type resampleFilter struct {
	fn      func(x float64) float64
	support float64
}

// The kernels are written as PIL's Resample.c writes them, with explicit
// float64 conversions where C would round each product: Go may otherwise fuse
// a*b+c into one FMA instruction (it does on arm64, and on amd64 with
// GOAMD64=v3), and PIL's x86-64 wheels round every step.
func boxKernel(x float64) float64 {
	if x > -0.5 && x <= 0.5 {
		return 1
	}
	return 0
}

func bilinearKernel(x float64) float64 {
	if x < 0 {
		x = -x
	}
	if x < 1 {
		return 1 - x
	}
	return 0
}

// hammingKernel uses float32 constants, as Resample.c does (0.54f, 0.46f).
func hammingKernel(x float64) float64 {
	if x < 0 {
		x = -x
	}
	if x == 0 {
		return 1
	}
	if x >= 1 {
		return 0
	}
	x = float64(x * math.Pi)
	return float64(float64(math.Sin(x)/x) * (float64(float32(0.54)) + float64(float64(float32(0.46))*math.Cos(x))))
}

// bicubicKernel is Keys' cubic convolution with a = -0.5.
func bicubicKernel(x float64) float64 {
	const a = -0.5
	if x < 0 {
		x = -x
	}
	if x < 1 {
		t := float64((a+2)*x) - (a + 3)
		return float64(float64(t*x)*x) + 1
	}
	if x < 2 {
		t := float64(float64(x-5) * x)
		t = float64(float64(t+8)*x) - 4
		return float64(t * a)
	}
	return 0
}

func sincKernel(x float64) float64 {
	if x == 0 {
		return 1
	}
	x = float64(x * math.Pi)
	return math.Sin(x) / x
}

func lanczosKernel(x float64) float64 {
	if -3 <= x && x < 3 {
		return float64(sincKernel(x) * sincKernel(x/3))
	}
	return 0
}

func kernelOf(f Filter) resampleFilter {
	switch f {
	case Box:
		return resampleFilter{boxKernel, 0.5}
	case Bilinear:
		return resampleFilter{bilinearKernel, 1}
	case Hamming:
		return resampleFilter{hammingKernel, 1}
	case Bicubic:
		return resampleFilter{bicubicKernel, 2}
	case Lanczos:
		return resampleFilter{lanczosKernel, 3}
	}
	panic("preprocess: kernelOf called with " + f.String()) // callers check f.valid() first
}

// precisionBits is PIL's PRECISION_BITS: coefficients are fixed-point numbers
// with 22 fractional bits, leaving 8 bits for the sample and 2 for overshoot.
const precisionBits = 32 - 8 - 2

// coeffs is one axis of a separable resize: for output index i, the taps
// start at source index start[i], number count[i], and have the fixed-point
// weights k[i*ksize : i*ksize+count[i]].
type coeffs struct {
	ksize int
	start []int
	count []int
	k     []int32
}

// precomputeCoeffs reproduces PIL's precompute_coeffs followed by
// normalize_coeffs_8bpc for a resize of inSize samples to outSize over the
// whole source (PIL's box (0, inSize)): the support widens with the scale
// when shrinking, the weights of each output sample are normalised to sum to
// one in float64 and then rounded half away from zero to 22 fractional bits.
func precomputeCoeffs(inSize, outSize int, f resampleFilter) coeffs {
	// PIL computes (in1 - in0) in float32 from the box; exact for sizes < 2^24.
	scale := float64(float32(inSize)) / float64(outSize)
	filterscale := scale
	if filterscale < 1 {
		filterscale = 1
	}
	support := float64(f.support * filterscale)
	ksize := int(math.Ceil(support))*2 + 1
	c := coeffs{
		ksize: ksize,
		start: make([]int, outSize),
		count: make([]int, outSize),
		k:     make([]int32, outSize*ksize),
	}
	w := make([]float64, ksize)
	ss := 1 / filterscale
	for xx := 0; xx < outSize; xx++ {
		center := float64((float64(xx) + 0.5) * scale)
		xmin := int(center - support + 0.5)
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > inSize {
			xmax = inSize
		}
		n := xmax - xmin
		if n > ksize { // cannot happen for sizes PIL accepts; keeps the slice below in range
			n = ksize
		}
		ww := 0.0
		for x := 0; x < n; x++ {
			v := f.fn(float64(float64(float64(x+xmin)-center+0.5) * ss))
			w[x] = v
			ww += v
		}
		k := c.k[xx*ksize : xx*ksize+n]
		for x := 0; x < n; x++ {
			v := w[x]
			if ww != 0 {
				v /= ww
			}
			if v < 0 {
				k[x] = int32(-0.5 + float64(v*(1<<precisionBits)))
			} else {
				k[x] = int32(0.5 + float64(v*(1<<precisionBits)))
			}
		}
		c.start[xx] = xmin
		c.count[xx] = n
	}
	return c
}

// clip8 turns a fixed-point accumulator into a sample, as PIL's clip8 does:
// an arithmetic shift by the precision, clamped to 0–255.
func clip8(v int32) uint8 {
	v >>= precisionBits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// maxResizeSide bounds the sides Resize accepts, so that coefficient tables
// and outputs stay allocatable; PIL's own limit is INT_MAX bytes of weights.
const maxResizeSide = 1 << 20

// Resize returns img resized to w×h with filter f, bit-exact with PIL's
// Image.resize((w, h), resample=f) on an RGB image (no box, no reducing_gap),
// which is what Hugging Face's image processors call.
//
// Convolution filters run PIL's two passes: horizontal first, over only the
// source rows the vertical pass will read, each output rounded to uint8; then
// vertical. A pass whose size does not change is skipped, as in PIL. Nearest
// reproduces PIL's affine nearest-neighbour scaling.
func Resize(img *RGB, w, h int, f Filter) (*RGB, error) {
	if err := img.validate(); err != nil {
		return nil, fmt.Errorf("resize: %w", err)
	}
	if w <= 0 || h <= 0 || w > maxResizeSide || h > maxResizeSide {
		return nil, fmt.Errorf("resize %d×%d to %d×%d: target sides must be in [1, %d]", img.W, img.H, w, h, maxResizeSide)
	}
	if !f.valid() {
		return nil, fmt.Errorf("resize: unknown resampling filter %d (PIL's are 0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming)", int(f))
	}
	if w == img.W && h == img.H {
		out := &RGB{W: w, H: h, Pix: make([]uint8, len(img.Pix))}
		copy(out.Pix, img.Pix)
		return out, nil
	}
	if f == Nearest {
		return resizeNearest(img, w, h), nil
	}
	kern := kernelOf(f)
	vert := precomputeCoeffs(img.H, h, kern)
	src := img
	if w != img.W {
		// Rows the vertical pass reads: PIL's ybox_first and ybox_last.
		y0 := vert.start[0]
		y1 := vert.start[h-1] + vert.count[h-1]
		horiz := precomputeCoeffs(img.W, w, kern)
		src = resampleHorizontal(img, y0, y1, horiz)
		for i := range vert.start {
			vert.start[i] -= y0
		}
	}
	if h == img.H {
		return src, nil
	}
	out := resampleVertical(src, h, vert)
	if src != img {
		putBytes(src.Pix) // the intermediate image goes back to the pool
	}
	return out, nil
}

// resampleHorizontal resizes rows [y0, y1) of in along x with the taps c.
func resampleHorizontal(in *RGB, y0, y1 int, c coeffs) *RGB {
	ow := len(c.start)
	out := &RGB{W: ow, H: y1 - y0, Pix: getBytes(ow * (y1 - y0) * 3)} // fully written
	if useAVX2 && horizontalAVX2(in, y0, y1, c, out) {
		return out
	}
	inStride := in.W * 3
	for y := y0; y < y1; y++ {
		horizontalRow(in.Pix[y*inStride:(y+1)*inStride], out.Pix[(y-y0)*ow*3:(y-y0+1)*ow*3], c)
	}
	return out
}

// horizontalRow resamples one row. The inner loop walks the taps two at a
// time by reslicing, which lets the compiler drop its bounds checks.
func horizontalRow(src, dst []uint8, c coeffs) {
	const half = int32(1) << (precisionBits - 1)
	for xx := range c.start {
		k := c.k[xx*c.ksize : xx*c.ksize+c.count[xx]]
		s := src[c.start[xx]*3:]
		s = s[:3*len(k)]
		s0, s1, s2 := half, half, half
		for len(k) >= 2 && len(s) >= 6 {
			k0, k1 := k[0], k[1]
			s0 += int32(s[0])*k0 + int32(s[3])*k1
			s1 += int32(s[1])*k0 + int32(s[4])*k1
			s2 += int32(s[2])*k0 + int32(s[5])*k1
			k, s = k[2:], s[6:]
		}
		if len(k) == 1 && len(s) >= 3 {
			s0 += int32(s[0]) * k[0]
			s1 += int32(s[1]) * k[0]
			s2 += int32(s[2]) * k[0]
		}
		d := dst[xx*3 : xx*3+3 : xx*3+3]
		d[0] = clip8(s0)
		d[1] = clip8(s1)
		d[2] = clip8(s2)
	}
}

// horizontalAVX2 is the horizontal pass with the AVX2 kernels: each row is
// split into R, G and B planes, then every output pixel takes, per channel,
// the dot product of 16·chunks samples with its taps padded with zeros. The
// sums are the scalar code's modulo 2^32, which is what a 32-bit
// accumulator holds. It returns false, having done nothing, for taps too
// large to split into 16-bit halves (|tap| ≥ 2^26, 16 times PIL's unit;
// PIL's filters stay near 1).
func horizontalAVX2(in *RGB, y0, y1 int, c coeffs, out *RGB) bool {
	ow := len(c.start)
	chunks := (c.ksize + 15) / 16
	taps := 16 * chunks
	k := make([]int16, ow*2*taps)
	starts := make([]int32, ow)
	for i, st := range c.start {
		starts[i] = int32(st)
		for t, v := range c.k[i*c.ksize : i*c.ksize+c.count[i]] {
			if v >= 1<<26 || v < -1<<26 {
				return false
			}
			j := i*2*taps + t/16*32 + t%16
			k[j], k[j+16] = int16(v>>11), int16(v&(1<<11-1))
		}
	}
	// Each plane has room for the reads past the last start; what is there
	// meets zero taps.
	pstride := (in.W + taps + 31) &^ 31
	planes := getBytes(3 * pstride)
	r, g, b := planes[:pstride], planes[pstride:2*pstride], planes[2*pstride:]
	_ = b[c.start[ow-1]+taps-1]
	inStride := in.W * 3
	for y := y0; y < y1; y++ {
		row := in.Pix[y*inStride : (y+1)*inStride]
		n := in.W &^ 15
		if n > 0 {
			deinterleaveAVX2(&row[0], n, &r[0], &g[0], &b[0])
		}
		for x := n; x < in.W; x++ {
			r[x], g[x], b[x] = row[3*x], row[3*x+1], row[3*x+2]
		}
		dst := out.Pix[(y-y0)*ow*3 : (y-y0+1)*ow*3]
		i := 0
		if chunks == 1 {
			i = ow &^ 7
			if i > 0 {
				resampleRow8AVX2(&planes[0], pstride, &starts[0], &k[0], i, &dst[0])
			}
		}
		if i < ow {
			resampleRowAVX2(&planes[0], pstride, &starts[i], &k[i*2*taps], ow-i, chunks, &dst[3*i])
		}
	}
	putBytes(planes)
	return true
}

// resampleVertical resizes in along y to oh rows with the taps c. Each output
// row accumulates whole source rows, which sums the same integers as PIL's
// per-pixel loop (integer addition is exact, so the order does not matter).
func resampleVertical(in *RGB, oh int, c coeffs) *RGB {
	rowLen := in.W * 3
	out := &RGB{W: in.W, H: oh, Pix: make([]uint8, rowLen*oh)}
	acc := make([]int32, rowLen)
	for yy := 0; yy < oh; yy++ {
		k := c.k[yy*c.ksize : yy*c.ksize+c.count[yy]]
		src := in.Pix[c.start[yy]*rowLen : (c.start[yy]+len(k))*rowLen]
		dst := out.Pix[yy*rowLen : (yy+1)*rowLen]
		x := 0
		if n := rowLen &^ 7; useAVX2 && n > 0 && len(k) > 0 {
			resampleColsAVX2(&src[0], rowLen, &k[0], len(k), n, &dst[0])
			x = n
		}
		verticalCols(src, rowLen, k, dst, acc, x)
	}
	return out
}

// verticalCols computes columns [x, len(dst)) of one output row of the
// vertical pass from the tap rows in src (rowLen apart).
func verticalCols(src []uint8, rowLen int, k []int32, dst []uint8, acc []int32, x int) {
	const half = int32(1) << (precisionBits - 1)
	acc = acc[x:len(dst)]
	for i := range acc {
		acc[i] = half
	}
	for t, kv := range k {
		row := src[t*rowLen+x : (t+1)*rowLen]
		row = row[:len(acc)]
		for i, p := range row {
			acc[i] += int32(p) * kv
		}
	}
	dst = dst[x:]
	dst = dst[:len(acc)]
	for i, a := range acc {
		dst[i] = clip8(a)
	}
}

// resizeNearest reproduces PIL's nearest-neighbour resize, which runs the
// affine transform (ImagingScaleAffine): source coordinates advance by the
// float64 step (in/out) from half a step, and are truncated.
func resizeNearest(in *RGB, w, h int) *RGB {
	out := NewRGB(w, h)
	ax := float64(float32(in.W)) / float64(w)
	ay := float64(float32(in.H)) / float64(h)
	xin := make([]int, w)
	xo := ax * 0.5
	for x := range xin {
		xin[x] = coord(xo, in.W)
		xo += ax
	}
	yo := ay * 0.5
	for y := 0; y < h; y++ {
		yi := coord(yo, in.H)
		yo += ay
		if yi < 0 {
			continue // PIL fills with zeros; unreachable for in-range scaling
		}
		src := in.Pix[yi*in.W*3 : (yi+1)*in.W*3]
		dst := out.Pix[y*w*3 : (y+1)*w*3]
		for x, xi := range xin {
			if xi < 0 {
				continue
			}
			copy(dst[x*3:x*3+3], src[xi*3:xi*3+3])
		}
	}
	return out
}

// coord is PIL's COORD macro (−1 for negatives, else truncation), with
// indices outside [0, n) reported as −1.
func coord(v float64, n int) int {
	if v < 0 {
		return -1
	}
	i := int(v)
	if i >= n {
		return -1
	}
	return i
}
