package preprocess

import (
	"encoding/binary"
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

// jpegPlane is one component's samples at the decoded scale.
type jpegPlane struct {
	pix    []uint8
	stride int
	w, h   int // real samples (libjpeg's downsampled_width/height)
	hx, vx int // expansion to full resolution
	filled int // rows the inverse DCT has written so far
}

// jpegOutput receives a frame's coefficients a row of MCUs at a time, runs
// the inverse DCT of its blocks into each component's plane, and converts
// every output row whose upsampling inputs are all in place to RGB at once,
// while the plane rows it reads are still in cache. A baseline JPEG is fed
// as it is entropy-decoded, so its coefficients never exist for the whole
// image; a progressive one is fed from its coefficient buffers after the
// last scan.
type jpegOutput struct {
	scale         int // in eighths: 8 is full size
	width, height int // image size at the decoded scale
	space         jpegColorSpace
	fancy         bool // libjpeg's do_fancy_upsampling applies (not at 1/8 scale)
	planes        []jpegPlane
	img           *RGB
	next          int // next output row to convert
	bufs, rows    [][]uint8
	cs            []int16       // column sums for fancyUpsampleAVX2
	ext           []blockExtent // extents of a row of blocks without them
}

// newOutput checks that libjpeg could upsample the frame and allocates the
// planes (pooled) and the image.
func (d *jpegDecoder) newOutput() (*jpegOutput, error) {
	for i := range d.comps {
		if c := &d.comps[i]; d.maxH%c.h != 0 || d.maxV%c.v != 0 {
			return nil, fmt.Errorf("%w: fractional sampling factors", errJPEGUnsupported)
		}
	}
	s := d.scale
	o := &jpegOutput{
		scale:  s,
		width:  (d.width*s + 7) / 8,
		height: (d.height*s + 7) / 8,
		space:  d.colorSpace(),
		fancy:  s > 1,
	}
	for i := range d.comps {
		c := &d.comps[i]
		p := jpegPlane{
			stride: c.bw * s,
			w:      (c.w*s + 7) / 8,
			h:      (c.h8*s + 7) / 8,
			hx:     d.maxH / c.h,
			vx:     d.maxV / c.v,
		}
		// Every sample is written before it is read; the slack is for the
		// AVX2 kernels.
		p.pix = getBytes(p.stride*c.bh*s + planeSlack)[:p.stride*c.bh*s]
		o.planes = append(o.planes, p)
		buf := make([]uint8, max(o.width, 2*p.w)+planeSlack)
		o.bufs = append(o.bufs, buf)
		o.cs = make([]int16, max(len(o.cs), p.w+planeSlack))
		o.ext = make([]blockExtent, max(len(o.ext), c.bw))
	}
	o.rows = make([][]uint8, len(o.planes))
	o.img = NewRGB(o.width, o.height)
	return o, nil
}

// blockRow runs the inverse DCT of block row by of component i: c.bw blocks
// of coefficients, with their extents when the entropy decoder knows them
// (nil: work them out).
func (o *jpegOutput) blockRow(c *jpegComp, i, by int, coefs []int16, ext []blockExtent) {
	pl := &o.planes[i]
	s := o.scale
	row := pl.pix[by*s*pl.stride:]
	pl.filled = (by + 1) * s
	if s != 8 {
		for bx := 0; bx < c.bw; bx++ {
			idctReduced((*[64]int16)(coefs[bx*64:bx*64+64]), &c.quant, row[bx*s:], pl.stride, s)
		}
		return
	}
	if ext == nil {
		ext = o.ext[:c.bw]
		for bx := range ext {
			ext[bx] = extentOf((*[64]int16)(coefs[bx*64 : bx*64+64]))
		}
	}
	_ = ext[c.bw-1]
	_ = row[7*pl.stride+c.bw*8-1] // the kernel writes 8 rows of every block's tile
	for bx := 0; bx < c.bw; bx++ {
		if useAVX2 {
			bx += idctRowAVX2((*[64]int16)(coefs[bx*64:]), &ext[bx], c.bw-bx, &c.quant, &row[bx*8], pl.stride)
			if bx == c.bw {
				break
			}
		}
		idctIslow((*[64]int16)(coefs[bx*64:bx*64+64]), &c.quant, ext[bx], row[bx*8:], pl.stride)
	}
}

// emit converts the output rows whose plane rows are all written.
func (o *jpegOutput) emit() {
	for ; o.next < o.height; o.next++ {
		y := o.next
		for i := range o.planes {
			pl := &o.planes[i]
			need := y // the last plane row row() reads for output row y
			if pl.vx > 1 {
				need = y/pl.vx + 1
			}
			if min(need, pl.h-1) >= pl.filled {
				return
			}
		}
		o.convertRow(y)
	}
}

// release returns the planes' memory to the pool.
func (o *jpegOutput) release() {
	for _, pl := range o.planes {
		putBytes(pl.pix)
	}
	o.planes = nil
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

// blockExtent describes which coefficients of a block may be non-zero: the
// number of coefficient rows (high nibble) and columns (low nibble) that
// hold them, each 1–8. The inverse DCT skips the rest, which are zero.
type blockExtent uint8

// dcOnly is the extent of a block whose AC coefficients are all zero.
const dcOnly blockExtent = 0x11

// extentAfter[k] is the extent of a block whose coefficients past zig-zag
// position k are all zero (what the baseline decoder knows for free).
var extentAfter = func() (t [64]blockExtent) {
	rows, cols := 0, 0
	for k := range t {
		rows, cols = max(rows, int(zigzag[k]>>3)), max(cols, int(zigzag[k]&7))
		t[k] = blockExtent((rows+1)<<4 | (cols + 1))
	}
	return t
}()

// extentOf computes a block's extent by looking at every coefficient.
func extentOf(b *[64]int16) blockExtent {
	var cols [8]int16
	rows := 0
	for r := 0; r < 8; r++ {
		row := b[r*8 : r*8+8 : r*8+8]
		if row[0]|row[1]|row[2]|row[3]|row[4]|row[5]|row[6]|row[7] != 0 {
			rows = r
		}
		for x, v := range row {
			cols[x] |= v
		}
	}
	nc := 0
	for x, v := range cols {
		if v != 0 {
			nc = x
		}
	}
	return blockExtent((rows+1)<<4 | (nc + 1))
}

// idctIslow dequantises one block and writes its 8×8 samples, bit-exact with
// libjpeg-turbo's jpeg_idct_islow (and its SIMD versions on the coefficients
// real encoders produce): the Loeffler–Ligtenberg–Moschytz 8-point
// transform with 13-bit constants, a column pass scaled up by 2^PASS1_BITS
// into a 32-bit workspace, a row pass descaled by 2^(PASS1_BITS+3), and the
// range-limit table. The arithmetic is 64-bit, as libjpeg's JLONG is on LP64
// systems.
//
// ext bounds the non-zero coefficients: columns past it are zero and skipped
// (their workspace columns are zero, exactly what the transform of zeros
// gives), a block with only its first coefficient row makes eight equal
// workspace rows, so one output row is computed and copied, and a block with
// only its DC coefficient is flat. Each shortcut drops only terms that are
// exactly zero, so the samples are those of the full transform.
func idctIslow(blk *[64]int16, q *[64]uint16, ext blockExtent, dst []uint8, stride int) {
	nr, nc := int(ext>>4), int(ext&15)
	_ = dst[7*stride+7]
	if ext == dcOnly {
		ws := int32(int64(blk[0]) * int64(q[0]) << idctPass1Bits)
		v := idctLimit[int32((int64(ws)+1<<(idctPass1Bits+2))>>(idctPass1Bits+3))&1023]
		fill := uint64(v) * 0x0101010101010101
		for y := 0; y < 8; y++ {
			binary.LittleEndian.PutUint64(dst[y*stride:], fill)
		}
		return
	}
	var ws [64]int32
	// Pass 1: columns (only the first nc can be non-zero).
	for x := range 8 {
		if x == nc {
			break
		}
		if nr == 1 || blk[8+x]|blk[16+x]|blk[24+x]|blk[32+x]|blk[40+x]|blk[48+x]|blk[56+x] == 0 {
			dc := int32(int64(blk[x]) * int64(q[x]) << idctPass1Bits)
			ws[x], ws[8+x], ws[16+x], ws[24+x] = dc, dc, dc, dc
			ws[32+x], ws[40+x], ws[48+x], ws[56+x] = dc, dc, dc, dc
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
		tmp10, tmp11, tmp12, tmp13 := idctEven(in0, in2, in4, in6)
		t0, t3 := idctOdd03(in1, in3, in5, in7)
		t1, t2 := idctOdd12(in1, in3, in5, in7)
		const n = idctConstBits - idctPass1Bits
		const r = 1 << (n - 1)
		ws[x] = int32((tmp10 + t3 + r) >> n)
		ws[56+x] = int32((tmp10 - t3 + r) >> n)
		ws[8+x] = int32((tmp11 + t2 + r) >> n)
		ws[48+x] = int32((tmp11 - t2 + r) >> n)
		ws[16+x] = int32((tmp12 + t1 + r) >> n)
		ws[40+x] = int32((tmp12 - t1 + r) >> n)
		ws[24+x] = int32((tmp13 + t0 + r) >> n)
		ws[32+x] = int32((tmp13 - t0 + r) >> n)
	}
	// Pass 2: rows. With one coefficient row, all eight workspace rows are
	// equal.
	rows := 8
	if nr == 1 {
		rows = 1
	}
	for y := 0; y < rows; y++ {
		w := (*[8]int32)(ws[y*8 : y*8+8])
		out := dst[y*stride : y*stride+8 : y*stride+8]
		if nc == 1 || w[1]|w[2]|w[3]|w[4]|w[5]|w[6]|w[7] == 0 {
			v := idctLimit[int32((int64(w[0])+1<<(idctPass1Bits+2))>>(idctPass1Bits+3))&1023]
			binary.LittleEndian.PutUint64(out, uint64(v)*0x0101010101010101)
			continue
		}
		in0, in1, in2, in3 := int64(w[0]), int64(w[1]), int64(w[2]), int64(w[3])
		in4, in5, in6, in7 := int64(w[4]), int64(w[5]), int64(w[6]), int64(w[7])
		tmp10, tmp11, tmp12, tmp13 := idctEven(in0, in2, in4, in6)
		t0, t3 := idctOdd03(in1, in3, in5, in7)
		t1, t2 := idctOdd12(in1, in3, in5, in7)
		const n = idctConstBits + idctPass1Bits + 3
		const r = 1 << (n - 1)
		lim := &idctLimit
		out[0] = lim[int32((tmp10+t3+r)>>n)&1023]
		out[7] = lim[int32((tmp10-t3+r)>>n)&1023]
		out[1] = lim[int32((tmp11+t2+r)>>n)&1023]
		out[6] = lim[int32((tmp11-t2+r)>>n)&1023]
		out[2] = lim[int32((tmp12+t1+r)>>n)&1023]
		out[5] = lim[int32((tmp12-t1+r)>>n)&1023]
		out[3] = lim[int32((tmp13+t0+r)>>n)&1023]
		out[4] = lim[int32((tmp13-t0+r)>>n)&1023]
	}
	for y := rows; y < 8; y++ {
		copy(dst[y*stride:y*stride+8], dst[:8])
	}
}

// idctEven is the even part of jidctint.c's 8-point transform: from inputs
// 0, 2, 4, 6 the terms tmp10–tmp13 that outputs 0–3 and 7–4 add and
// subtract the odd part's to. The transform is split into small functions so
// that the compiler inlines them into both passes.
func idctEven(in0, in2, in4, in6 int64) (tmp10, tmp11, tmp12, tmp13 int64) {
	z1 := (in2 + in6) * fix0541196100
	tmp2 := z1 - in6*fix1847759065
	tmp3 := z1 + in2*fix0765366865
	tmp0 := (in0 + in4) << idctConstBits
	tmp1 := (in0 - in4) << idctConstBits
	return tmp0 + tmp3, tmp1 + tmp2, tmp1 - tmp2, tmp0 - tmp3
}

// idctOdd03 and idctOdd12 are the odd part, from inputs 1, 3, 5, 7: the
// terms t0 and t3, t1 and t2 that outputs 3, 0, 2, 1 add and outputs 4, 7,
// 5, 6 subtract. Written as two functions, each small enough to inline; the
// compiler computes the shared z5 once.
func idctOdd03(in1, in3, in5, in7 int64) (t0, t3 int64) {
	z5 := (in7 + in3 + in5 + in1) * fix1175875602
	z1 := (in7 + in1) * -fix0899976223
	z3 := (in7+in3)*-fix1961570560 + z5
	z4 := (in5+in1)*-fix0390180644 + z5
	return in7*fix0298631336 + z1 + z3, in1*fix1501321110 + z1 + z4
}

func idctOdd12(in1, in3, in5, in7 int64) (t1, t2 int64) {
	z5 := (in7 + in3 + in5 + in1) * fix1175875602
	z2 := (in5 + in3) * -fix2562915447
	z3 := (in7+in3)*-fix1961570560 + z5
	z4 := (in5+in1)*-fix0390180644 + z5
	return in5*fix2053119869 + z2 + z4, in3*fix3072711026 + z2 + z3
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
func idctReduced(b *[64]int16, q *[64]uint16, dst []uint8, stride, s int) {
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

// convertRow makes output row y as libjpeg-turbo with PIL's settings does:
// each plane upsampled to full size (fancy upsampling where libjpeg uses
// it), then YCbCr→RGB with jdcolor.c's tables, or for CMYK and YCCK files
// PIL's inverted-CMYK reading and cmyk2rgb.
func (o *jpegOutput) convertRow(y int) {
	w := o.width
	rows := o.rows
	for i := range o.planes {
		rows[i] = o.planes[i].row(y, w, o.fancy, o.bufs[i], o.cs)
	}
	out := o.img.Pix[y*w*3 : (y+1)*w*3]
	switch o.space {
	case jcsGray:
		for x, v := range rows[0][:w] {
			out[3*x], out[3*x+1], out[3*x+2] = v, v, v
		}
	case jcsRGB:
		r, g, b := rows[0][:w], rows[1][:w], rows[2][:w]
		for x := range r {
			out[3*x], out[3*x+1], out[3*x+2] = r[x], g[x], b[x]
		}
	case jcsYCbCr:
		yp, cb, cr := rows[0][:w], rows[1][:w], rows[2][:w]
		if n := w &^ 15; useAVX2 && n > 0 {
			yccToRGBAVX2(&yp[0], &cb[0], &cr[0], n, &out[0])
			yp, cb, cr, out = yp[n:], cb[n:], cr[n:], out[3*n:]
		}
		yccToRGB(yp, cb, cr, out)
	case jcsCMYK, jcsYCCK:
		t := yccTab
		for x := 0; x < w; x++ {
			c, m, yy, k := rows[0][x], rows[1][x], rows[2][x], rows[3][x]
			if o.space == jcsYCCK { // jdcolor.c ycck_cmyk_convert
				Y, cb, cr := int32(c), m, yy
				c = 255 - clampU8(Y+t.crR[cr])
				m = 255 - clampU8(Y+(t.cbG[cb]+t.crG[cr])>>16)
				yy = 255 - clampU8(Y+t.cbB[cb])
			}
			// PIL reads 4-component JPEGs as Adobe-inverted CMYK ("CMYK;I").
			out[3*x], out[3*x+1], out[3*x+2] = cmykToRGB(^c, ^m, ^yy, ^k)
		}
	}
}

// row returns output row y of the plane upsampled to width w (in buf when
// upsampling is needed), as libjpeg-turbo's jdsample.c makes it: with
// do_fancy_upsampling, triangle filters for 2:1 horizontal (h2v1, when the
// plane is more than two samples wide), 2:1 vertical (h1v2) and both (h2v2,
// likewise), each with its rounding biases; otherwise, and for other integer
// factors, replication. Rows past the top and bottom repeat the edge row, as
// libjpeg's context rows do.
func (pl *jpegPlane) row(y, w int, fancy bool, buf []uint8, cs []int16) []uint8 {
	src := func(i int) []uint8 {
		i = max(0, min(pl.h-1, i))
		return pl.pix[i*pl.stride : i*pl.stride+pl.w]
	}
	switch {
	case pl.hx == 1 && pl.vx == 1:
		return src(y)
	case fancy && pl.hx == 2 && pl.vx == 1 && pl.w > 2:
		if useAVX2 {
			pl.fancyAVX2(src(y), nil, buf, cs)
		} else {
			h2v1Fancy(src(y), buf)
		}
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
		if useAVX2 {
			pl.fancyAVX2(near, far, buf, cs)
		} else {
			h2v2Fancy(near, far, buf)
		}
	default:
		s := src(y / pl.vx)
		d := buf[:w]
		for x := range d {
			d[x] = s[min(x/pl.hx, pl.w-1)]
		}
	}
	return buf
}

// planeSlack is the room left after a plane, its row buffers and the
// column-sum scratch for the AVX2 kernels, which work 16 samples at a time.
const planeSlack = 64

// fancyAVX2 runs fancyUpsampleAVX2 on rows of pl (far nil for h2v1), after
// checking that the kernel's reads and writes past the row stay inside pl's
// buffer, buf and cs.
func (pl *jpegPlane) fancyAVX2(near, far, buf []uint8, cs []int16) {
	n := len(near)
	_ = near[: n+15 : n+15]
	_ = cs[n+17]
	_ = buf[2*n+31]
	var farp *uint8
	if far != nil {
		_ = far[: n+15 : n+15]
		farp = &far[0]
	}
	fancyUpsampleAVX2(&near[0], farp, n, &cs[0], &buf[0])
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
