package preprocess

import (
	"errors"
	"fmt"
	"math"
)

// jpegColorSpace is the colour space of the decoded components, chosen by
// libjpeg's rules (jdapimin.c default_decompress_parms).
type jpegColorSpace int

const (
	jcsGray jpegColorSpace = iota
	jcsYCbCr
	jcsRGB
	jcsCMYK
	jcsYCCK
)

// jpegPlanes holds one decoded plane per component, each at its own
// (possibly subsampled, possibly DCT-scaled) resolution.
type jpegPlanes struct {
	width, height int // image size at the decoded scale
	space         jpegColorSpace
	planes        []jpegPlane
	fancy         bool // libjpeg's do_fancy_upsampling applies (not at 1/8 scale)
}

type jpegPlane struct {
	pix    []uint8
	stride int
	w, h   int // real samples (libjpeg's downsampled_width/height)
	hx, vx int // expansion to full resolution
}

// output runs the inverse DCT of every block at scale/8 and picks the colour
// space.
func (d *jpegDecoder) output(scale int) (*jpegPlanes, error) {
	for i := range d.comps {
		c := &d.comps[i]
		if !c.present {
			return nil, errors.New("invalid JPEG: a component has no scan")
		}
		if !d.quantSet[c.tq] {
			return nil, errors.New("invalid JPEG: missing quantisation table")
		}
		if d.maxH%c.h != 0 || d.maxV%c.v != 0 {
			return nil, fmt.Errorf("%w: fractional sampling factors", errJPEGUnsupported)
		}
	}
	out := &jpegPlanes{
		width:  (d.width*scale + 7) / 8,
		height: (d.height*scale + 7) / 8,
		fancy:  scale > 1,
	}
	out.space = d.colorSpace()
	for i := range d.comps {
		c := &d.comps[i]
		p := jpegPlane{
			stride: c.bw * scale,
			w:      (c.w*scale + 7) / 8,
			h:      (c.h8*scale + 7) / 8,
			hx:     d.maxH / c.h,
			vx:     d.maxV / c.v,
		}
		p.pix = getBytes(p.stride * c.bh * scale) // every sample is written below
		q := &d.quant[c.tq]
		for by := 0; by < c.bh; by++ {
			for bx := 0; bx < c.bw; bx++ {
				blk := c.coefs[(by*c.bw+bx)*64 : (by*c.bw+bx+1)*64]
				dst := p.pix[by*scale*p.stride+bx*scale:]
				if scale == 8 {
					idctIslow(blk, q, dst, p.stride)
				} else {
					idctReduced(blk, q, dst, p.stride, scale)
				}
			}
		}
		out.planes = append(out.planes, p)
	}
	return out, nil
}

// release returns the planes' memory to the pool.
func (p *jpegPlanes) release() {
	for _, pl := range p.planes {
		putBytes(pl.pix)
	}
	p.planes = nil
}

// colorSpace applies libjpeg's defaults: one component is grey; three are
// YCbCr unless an Adobe marker says RGB (transform 0) or, with neither a JFIF
// nor an Adobe marker, the component ids spell R, G, B; four are CMYK, or
// YCCK when an Adobe marker says transform 2.
func (d *jpegDecoder) colorSpace() jpegColorSpace {
	switch len(d.comps) {
	case 1:
		return jcsGray
	case 3:
		switch {
		case d.jfif:
			return jcsYCbCr
		case d.adobe:
			if d.adobeTransform == 0 {
				return jcsRGB
			}
			return jcsYCbCr
		case d.comps[0].id == 'R' && d.comps[1].id == 'G' && d.comps[2].id == 'B':
			return jcsRGB
		}
		return jcsYCbCr
	}
	if d.adobe && d.adobeTransform == 2 {
		return jcsYCCK
	}
	return jcsCMYK
}

// idctLimit is libjpeg's post-IDCT range limit table indexed by the
// descaled output & 1023: x+128 clamped to 0–255 for x in [−512, 511], the
// wrap-around beyond that as in jdmaster.c's prepare_range_limit_table.
var idctLimit = func() (t [1024]uint8) {
	for v := range t {
		switch {
		case v < 128:
			t[v] = uint8(v + 128)
		case v < 512:
			t[v] = 255
		case v < 896:
			t[v] = 0
		default:
			t[v] = uint8(v - 896)
		}
	}
	return t
}()

// Fixed-point constants of libjpeg's jidctint.c: FIX(x) = round(x·2^13).
const (
	idctConstBits = 13
	idctPass1Bits = 2
	fix0298631336 = 2446
	fix0390180644 = 3196
	fix0541196100 = 4433
	fix0765366865 = 6270
	fix0899976223 = 7373
	fix1175875602 = 9633
	fix1501321110 = 12299
	fix1847759065 = 15137
	fix1961570560 = 16069
	fix2053119869 = 16819
	fix2562915447 = 20995
	fix3072711026 = 25172
)

// idctIslow dequantises one block and writes its 8×8 samples, bit-exact with
// libjpeg-turbo's jpeg_idct_islow (and its SIMD versions): the
// Loeffler–Ligtenberg–Moschytz 8-point transform with 13-bit constants, a
// column pass scaled up by 2^PASS1_BITS, a row pass descaled by
// 2^(PASS1_BITS+3), and the range-limit table. The arithmetic is 64-bit, as
// libjpeg's JLONG is on LP64 systems.
func idctIslow(blk []int16, q *[64]uint16, dst []uint8, stride int) {
	blk = blk[:64]
	q = (*[64]uint16)(q[:64])
	// A block with only a DC term is flat: both passes reduce to this.
	ac := int16(0)
	for _, c := range blk[1:] {
		ac |= c
	}
	if ac == 0 {
		dc := int64(blk[0]) * int64(q[0])
		v := idctLimit[int32(((dc<<idctPass1Bits)+1<<(idctPass1Bits+2))>>(idctPass1Bits+3))&1023]
		for y := 0; y < 8; y++ {
			row := dst[y*stride : y*stride+8 : y*stride+8]
			for i := range row {
				row[i] = v
			}
		}
		return
	}
	var ws [64]int32
	// Pass 1: columns.
	for x := 0; x < 8; x++ {
		if blk[8+x] == 0 && blk[16+x] == 0 && blk[24+x] == 0 && blk[32+x] == 0 &&
			blk[40+x] == 0 && blk[48+x] == 0 && blk[56+x] == 0 {
			dc := int32(int64(blk[x]) * int64(q[x]) << idctPass1Bits)
			for r := 0; r < 8; r++ {
				ws[r*8+x] = dc
			}
			continue
		}
		in0 := int64(blk[x]) * int64(q[x])
		in1 := int64(blk[8+x]) * int64(q[8+x])
		in2 := int64(blk[16+x]) * int64(q[16+x])
		in3 := int64(blk[24+x]) * int64(q[24+x])
		in4 := int64(blk[32+x]) * int64(q[32+x])
		in5 := int64(blk[40+x]) * int64(q[40+x])
		in6 := int64(blk[48+x]) * int64(q[48+x])
		in7 := int64(blk[56+x]) * int64(q[56+x])
		o0, o1, o2, o3, o4, o5, o6, o7 := idct8(in0, in1, in2, in3, in4, in5, in6, in7)
		const n = idctConstBits - idctPass1Bits
		const r = 1 << (n - 1)
		ws[x] = int32((o0 + r) >> n)
		ws[8+x] = int32((o1 + r) >> n)
		ws[16+x] = int32((o2 + r) >> n)
		ws[24+x] = int32((o3 + r) >> n)
		ws[32+x] = int32((o4 + r) >> n)
		ws[40+x] = int32((o5 + r) >> n)
		ws[48+x] = int32((o6 + r) >> n)
		ws[56+x] = int32((o7 + r) >> n)
	}
	// Pass 2: rows.
	const n = idctConstBits + idctPass1Bits + 3
	const r = 1 << (n - 1)
	for y := 0; y < 8; y++ {
		w := ws[y*8 : y*8+8 : y*8+8]
		out := dst[y*stride : y*stride+8 : y*stride+8]
		if w[1] == 0 && w[2] == 0 && w[3] == 0 && w[4] == 0 && w[5] == 0 && w[6] == 0 && w[7] == 0 {
			v := idctLimit[int32((int64(w[0])+1<<(idctPass1Bits+2))>>(idctPass1Bits+3))&1023]
			for i := range out {
				out[i] = v
			}
			continue
		}
		o0, o1, o2, o3, o4, o5, o6, o7 := idct8(int64(w[0]), int64(w[1]), int64(w[2]), int64(w[3]), int64(w[4]), int64(w[5]), int64(w[6]), int64(w[7]))
		out[0] = idctLimit[int32((o0+r)>>n)&1023]
		out[1] = idctLimit[int32((o1+r)>>n)&1023]
		out[2] = idctLimit[int32((o2+r)>>n)&1023]
		out[3] = idctLimit[int32((o3+r)>>n)&1023]
		out[4] = idctLimit[int32((o4+r)>>n)&1023]
		out[5] = idctLimit[int32((o5+r)>>n)&1023]
		out[6] = idctLimit[int32((o6+r)>>n)&1023]
		out[7] = idctLimit[int32((o7+r)>>n)&1023]
	}
}

// idct8 is the 1-D transform of jidctint.c on dequantised inputs, before the
// final descale.
func idct8(in0, in1, in2, in3, in4, in5, in6, in7 int64) (o0, o1, o2, o3, o4, o5, o6, o7 int64) {
	// Even part.
	z1 := (in2 + in6) * fix0541196100
	tmp2 := z1 - in6*fix1847759065
	tmp3 := z1 + in2*fix0765366865
	tmp0 := (in0 + in4) << idctConstBits
	tmp1 := (in0 - in4) << idctConstBits
	tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
	tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2
	// Odd part.
	t0, t1, t2, t3 := in7, in5, in3, in1
	z1 = t0 + t3
	z2 := t1 + t2
	z3 := t0 + t2
	z4 := t1 + t3
	z5 := (z3 + z4) * fix1175875602
	t0 *= fix0298631336
	t1 *= fix2053119869
	t2 *= fix3072711026
	t3 *= fix1501321110
	z1 *= -fix0899976223
	z2 *= -fix2562915447
	z3 = z3*-fix1961570560 + z5
	z4 = z4*-fix0390180644 + z5
	t0 += z1 + z3
	t1 += z2 + z4
	t2 += z2 + z3
	t3 += z1 + z4
	return tmp10 + t3, tmp11 + t2, tmp12 + t1, tmp13 + t0, tmp13 - t0, tmp12 - t1, tmp11 - t2, tmp10 - t3
}

// Reduced inverse DCTs for decoding at 1/2, 1/4 and 1/8 scale: the s-point
// transform of the s×s lowest frequencies with the 8-point normalisation
// (c(0) = 1/(2√2), c(u) = 1/2), so each output is the mean of the 8/s × 8/s
// pixels it replaces, up to the dropped frequencies. Constants have
// reducedBits fractional bits. These serve the fast path only: they are not
// libjpeg's scaled IDCTs and are not meant to equal any reference.
const reducedBits = 12

var (
	rc0 = int64(math.Round(1 / (2 * math.Sqrt2) * (1 << reducedBits)))        // c(0)
	rc1 = int64(math.Round(0.5 * math.Cos(math.Pi/8) * (1 << reducedBits)))   // 4-point, u=1
	rc2 = int64(math.Round(0.5 * math.Cos(math.Pi/4) * (1 << reducedBits)))   // 4-point u=2, 2-point u=1
	rc3 = int64(math.Round(0.5 * math.Cos(3*math.Pi/8) * (1 << reducedBits))) // 4-point, u=3
)

// idct4 is the 1-D 4-point transform (even/odd split, 6 multiplies).
func idct4(i0, i1, i2, i3 int64) (o0, o1, o2, o3 int64) {
	e0 := rc0*i0 + rc2*i2
	e1 := rc0*i0 - rc2*i2
	d0 := rc1*i1 + rc3*i3
	d1 := rc3*i1 - rc1*i3
	return e0 + d0, e1 + d1, e1 - d1, e0 - d0
}

// idctReduced writes an s×s block (s = 1, 2 or 4).
func idctReduced(blk []int16, q *[64]uint16, dst []uint8, stride, s int) {
	b := (*[64]int16)(blk[:64])
	q = (*[64]uint16)(q[:64])
	const shift = 2 * reducedBits
	const round = 1 << (shift - 1)
	dc := int64(b[0]) * int64(q[0])
	switch s {
	case 1:
		dst[0] = idctLimit[int32((dc+4)>>3)&1023]
	case 2:
		// 2-point: out0 = c0·in0 + c2·in1, out1 = c0·in0 − c2·in1.
		b1, c0, c1 := int64(b[1])*int64(q[1]), int64(b[8])*int64(q[8]), int64(b[9])*int64(q[9])
		r0, r1 := rc0*dc+rc2*b1, rc0*dc-rc2*b1 // row v=0
		s0, s1 := rc0*c0+rc2*c1, rc0*c0-rc2*c1 // row v=1
		dst[0] = idctLimit[int32((rc0*r0+rc2*s0+round)>>shift)&1023]
		dst[1] = idctLimit[int32((rc0*r1+rc2*s1+round)>>shift)&1023]
		dst[stride] = idctLimit[int32((rc0*r0-rc2*s0+round)>>shift)&1023]
		dst[stride+1] = idctLimit[int32((rc0*r1-rc2*s1+round)>>shift)&1023]
	case 4:
		if b[1]|b[2]|b[3]|b[8]|b[9]|b[10]|b[11]|b[16]|b[17]|b[18]|b[19]|b[24]|b[25]|b[26]|b[27] == 0 {
			v := idctLimit[int32((dc+4)>>3)&1023]
			for y := 0; y < 4; y++ {
				row := dst[y*stride : y*stride+4 : y*stride+4]
				row[0], row[1], row[2], row[3] = v, v, v, v
			}
			return
		}
		var t [16]int64 // t[v*4+x]: coefficient rows transformed along x
		for v := 0; v < 4; v++ {
			i := v * 8
			if b[i]|b[i+1]|b[i+2]|b[i+3] == 0 {
				continue // high-frequency rows are often empty
			}
			t[v*4], t[v*4+1], t[v*4+2], t[v*4+3] = idct4(int64(b[i])*int64(q[i]), int64(b[i+1])*int64(q[i+1]),
				int64(b[i+2])*int64(q[i+2]), int64(b[i+3])*int64(q[i+3]))
		}
		for x := 0; x < 4; x++ {
			o0, o1, o2, o3 := idct4(t[x], t[4+x], t[8+x], t[12+x])
			dst[x] = idctLimit[int32((o0+round)>>shift)&1023]
			dst[stride+x] = idctLimit[int32((o1+round)>>shift)&1023]
			dst[2*stride+x] = idctLimit[int32((o2+round)>>shift)&1023]
			dst[3*stride+x] = idctLimit[int32((o3+round)>>shift)&1023]
		}
	}
}

// toRGB converts decoded planes to RGB as libjpeg-turbo with PIL's settings
// does: each plane upsampled to full size (fancy upsampling where libjpeg
// uses it), then YCbCr→RGB with jdcolor.c's tables, or for CMYK and YCCK
// files PIL's inverted-CMYK reading and cmyk2rgb. It works a row at a time.
func (p *jpegPlanes) toRGB() (*RGB, error) {
	w, h := p.width, p.height
	out := NewRGB(w, h)
	rows := make([][]uint8, len(p.planes))
	bufs := make([][]uint8, len(p.planes))
	for i, pl := range p.planes {
		bufs[i] = make([]uint8, max(w, 2*pl.w))
	}
	t := yccTab
	for y := 0; y < h; y++ {
		for i := range p.planes {
			rows[i] = p.planes[i].row(y, w, p.fancy, bufs[i])
		}
		o := out.Pix[y*w*3 : (y+1)*w*3]
		switch p.space {
		case jcsGray:
			for x, v := range rows[0][:w] {
				o[3*x], o[3*x+1], o[3*x+2] = v, v, v
			}
		case jcsRGB:
			r, g, b := rows[0][:w], rows[1][:w], rows[2][:w]
			for x := range r {
				o[3*x], o[3*x+1], o[3*x+2] = r[x], g[x], b[x]
			}
		case jcsYCbCr:
			yccToRGB(rows[0][:w], rows[1][:w], rows[2][:w], o)
		case jcsCMYK, jcsYCCK:
			for x := 0; x < w; x++ {
				c, m, yy, k := rows[0][x], rows[1][x], rows[2][x], rows[3][x]
				if p.space == jcsYCCK { // jdcolor.c ycck_cmyk_convert
					Y, cb, cr := int32(c), m, yy
					c = 255 - clampU8(Y+t.crR[cr])
					m = 255 - clampU8(Y+(t.cbG[cb]+t.crG[cr])>>16)
					yy = 255 - clampU8(Y+t.cbB[cb])
				}
				// PIL reads 4-component JPEGs as Adobe-inverted CMYK ("CMYK;I").
				o[3*x], o[3*x+1], o[3*x+2] = cmykToRGB(^c, ^m, ^yy, ^k)
			}
		default:
			return nil, errors.New("unknown JPEG colour space")
		}
	}
	return out, nil
}

// row returns output row y of the plane upsampled to width w (in buf when
// upsampling is needed), as libjpeg-turbo's jdsample.c makes it: with
// do_fancy_upsampling, triangle filters for 2:1 horizontal (h2v1, when the
// plane is more than two samples wide), 2:1 vertical (h1v2) and both (h2v2,
// likewise), each with its rounding biases; otherwise, and for other integer
// factors, replication. Rows past the top and bottom repeat the edge row, as
// libjpeg's context rows do.
func (pl *jpegPlane) row(y, w int, fancy bool, buf []uint8) []uint8 {
	src := func(i int) []uint8 {
		i = max(0, min(pl.h-1, i))
		return pl.pix[i*pl.stride : i*pl.stride+pl.w]
	}
	switch {
	case pl.hx == 1 && pl.vx == 1:
		return src(y)
	case fancy && pl.hx == 2 && pl.vx == 1 && pl.w > 2:
		h2v1Fancy(src(y), buf)
	case fancy && pl.hx == 1 && pl.vx == 2:
		near, far, bias := src(y/2), src(y/2-1), int32(1)
		if y%2 == 1 {
			far, bias = src(y/2+1), 2
		}
		far = far[:len(near)]
		d := buf[:len(near)]
		for x := range d {
			d[x] = uint8((int32(near[x])*3 + int32(far[x]) + bias) >> 2)
		}
	case fancy && pl.hx == 2 && pl.vx == 2 && pl.w > 2:
		near, far := src(y/2), src(y/2-1)
		if y%2 == 1 {
			far = src(y/2 + 1)
		}
		h2v2Fancy(near, far, buf)
	default:
		s := src(y / pl.vx)
		d := buf[:w]
		for x := range d {
			d[x] = s[min(x/pl.hx, pl.w-1)]
		}
	}
	return buf
}

// yccToRGB converts one row with jdcolor.c's ycc_rgb_convert. The clamp is a
// table lookup (like libjpeg's range_limit), which is twice as fast here as
// comparisons.
func yccToRGB(yp, cb, cr, out []uint8) {
	t := yccTab
	n := len(yp)
	cb, cr = cb[:n], cr[:n]
	out = out[:3*n]
	for i := 0; i < n; i++ {
		Y, u, v := int32(yp[i])+clampOffset, cb[i], cr[i]
		o := out[3*i : 3*i+3 : 3*i+3]
		o[0] = clampTab[(Y+t.crR[v])&1023]
		o[1] = clampTab[(Y+(t.cbG[u]+t.crG[v])>>16)&1023]
		o[2] = clampTab[(Y+t.cbB[u])&1023]
	}
}

// clampTab[v+clampOffset] is v clamped to 0–255, for v in [−384, 639]:
// every sum the colour conversion makes.
const clampOffset = 384

var clampTab = func() (t [1024]uint8) {
	for i := range t {
		t[i] = clampU8(int32(i - clampOffset))
	}
	return t
}()
