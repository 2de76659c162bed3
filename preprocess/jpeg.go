package preprocess

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	stdjpeg "image/jpeg"

	"github.com/gen2brain/jpegli"
)

// jpegInfo is what gosig reads from a JPEG's markers before decoding it.
type jpegInfo struct {
	width, height int
	components    int
	// hSamp, vSamp are the sampling factors of the first three components.
	hSamp, vSamp [3]int
	maxH, maxV   int
	exif, xmp    []byte // first "Exif\0\0" APP1 payload (TIFF part), first XMP APP1 packet
	sos          int    // offset of the first SOS marker in stream
	// stream is the file without the APP1–APP13 and APP15 segments, which
	// decoding does not need (APP0 JFIF and APP14 Adobe, which choose the
	// colour space, are kept). jpegli switches to its own colour conversion
	// when it sees a Photoshop APP13 segment; dropping it keeps gosig's.
	stream []byte
}

var (
	exifPrefix = []byte("Exif\x00\x00")
	xmpPrefix  = []byte("http://ns.adobe.com/xap/1.0/\x00")
)

// scanJPEG walks a JPEG's marker segments up to the first scan. It reads the
// frame header (SOFn) itself: jpegli's DecodeConfig gives up on files whose
// headers (EXIF, ICC profiles) pass its first 1024 bytes.
func scanJPEG(data []byte) (jpegInfo, error) {
	var info jpegInfo
	if len(data) < 4 || data[0] != 0xff || data[1] != 0xd8 {
		return info, errors.New("not a JPEG (no SOI marker)")
	}
	var keep []byte // nil until a segment is dropped
	copied := 0     // data[:copied] is accounted for in keep
	pos := 2
	for {
		// Skip bytes up to the next 0xFF (libjpeg tolerates such junk),
		// then any 0xFF fill bytes.
		for pos < len(data) && data[pos] != 0xff {
			pos++
		}
		for pos < len(data) && data[pos] == 0xff {
			pos++
		}
		if pos >= len(data) {
			return info, fmt.Errorf("truncated JPEG: no image data (SOS) found in %d bytes", len(data))
		}
		m := data[pos]
		pos++
		switch {
		case m == 0x01 || (m >= 0xd0 && m <= 0xd7):
			continue // standalone markers
		case m == 0xd8 || m == 0xd9:
			return info, fmt.Errorf("invalid JPEG: marker 0xFF%02X before the image data", m)
		case m == 0x00:
			continue
		}
		if pos+2 > len(data) {
			return info, errors.New("truncated JPEG: segment length missing")
		}
		segLen := int(binary.BigEndian.Uint16(data[pos:]))
		if segLen < 2 || pos+segLen > len(data) {
			return info, fmt.Errorf("truncated JPEG: marker 0xFF%02X segment of %d bytes runs past the end of the file", m, segLen)
		}
		seg := data[pos+2 : pos+segLen]
		start := pos - 2 // the 0xFF byte before the marker (fill bytes are dropped with it)
		if data[start] != 0xff {
			start = pos - 1
		}
		switch {
		case m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc:
			if info.components != 0 {
				return info, errors.New("invalid JPEG: more than one frame header (SOF)")
			}
			if err := info.parseSOF(seg); err != nil {
				return info, err
			}
		case m == 0xe1 && bytes.HasPrefix(seg, exifPrefix) && info.exif == nil:
			info.exif = seg[len(exifPrefix):]
		case m == 0xe1 && bytes.HasPrefix(seg, xmpPrefix) && info.xmp == nil:
			info.xmp = seg[len(xmpPrefix):]
		case m == 0xda:
			if info.components == 0 {
				return info, errors.New("invalid JPEG: image data (SOS) before the frame header (SOF)")
			}
			if keep == nil {
				info.stream, info.sos = data, start
			} else {
				info.sos = len(keep) + start - copied
				info.stream = append(keep, data[copied:]...)
			}
			return info, nil
		}
		if (m >= 0xe1 && m <= 0xed) || m == 0xef {
			keep = append(keep, data[copied:start]...)
			copied = pos + segLen
		}
		pos += segLen
	}
}

// parseSOF reads a frame header: precision, size and sampling factors.
func (info *jpegInfo) parseSOF(seg []byte) error {
	if len(seg) < 6 {
		return errors.New("invalid JPEG: frame header (SOF) too short")
	}
	info.height = int(binary.BigEndian.Uint16(seg[1:]))
	info.width = int(binary.BigEndian.Uint16(seg[3:]))
	n := int(seg[5])
	if n != 1 && n != 3 && n != 4 {
		return fmt.Errorf("unsupported JPEG: %d colour components (want 1, 3 or 4)", n)
	}
	if len(seg) < 6+3*n {
		return errors.New("invalid JPEG: frame header (SOF) too short for its components")
	}
	info.components = n
	for i := 0; i < n; i++ {
		hv := seg[6+3*i+1]
		h, v := int(hv>>4), int(hv&15)
		if h < 1 || h > 4 || v < 1 || v > 4 {
			return fmt.Errorf("invalid JPEG: component %d has sampling factors %d×%d", i, h, v)
		}
		if i < 3 {
			info.hSamp[i], info.vSamp[i] = h, v
		}
		info.maxH, info.maxV = max(info.maxH, h), max(info.maxV, v)
	}
	return nil
}

// chromaExpand returns how many times the chroma planes of a three-component
// JPEG are subsampled (1 or 2 each way), and false when the layout is one that
// jpegli's raw output does not describe (luma not at the maximum factors, Cb
// and Cr sampled differently, or a ratio other than 1 or 2).
func (info *jpegInfo) chromaExpand() (hx, vx int, ok bool) {
	if info.components != 3 || info.hSamp[0] != info.maxH || info.vSamp[0] != info.maxV ||
		info.hSamp[1] != info.hSamp[2] || info.vSamp[1] != info.vSamp[2] {
		return 0, 0, false
	}
	if info.maxH%info.hSamp[1] != 0 || info.maxV%info.vSamp[1] != 0 {
		return 0, 0, false
	}
	hx, vx = info.maxH/info.hSamp[1], info.maxV/info.vSamp[1]
	return hx, vx, hx <= 2 && vx <= 2
}

// decodeJPEG decodes a JPEG to RGB as PIL (libjpeg-turbo) does.
//
// The exact path takes the DCT decoding from the standard library's
// image/jpeg, whose integer IDCT lands within ±2 of libjpeg-turbo's (mean
// |difference| 0.05 on the reference image), and does libjpeg-turbo's chroma
// upsampling and colour conversion here. jpegli's decoder was measured too
// and is further from PIL (its dequantisation differs by design: up to ±8,
// mean 0.77 on the same image), so it serves only the formats the standard
// library refuses (arithmetic coding, some sampling layouts), CMYK/YCCK
// files (which the standard library converts its own way) and the fast path.
//
// scaleTo, when non-zero, selects the fast path: jpegli decodes at the
// smallest k/8 scale that is at least scaleTo on both sides, in the DCT
// domain, with its own upsampling and colour conversion.
func decodeJPEG(info jpegInfo, scaleTo image.Point) (*RGB, error) {
	// A complete file ends its entropy-coded data with an EOI marker; PIL
	// refuses files cut short ("image file is truncated"), while libjpeg
	// would fill the missing rows with grey.
	if bytes.LastIndex(info.stream[info.sos:], []byte{0xff, 0xd9}) < 0 {
		return nil, errors.New("truncated JPEG: no end-of-image marker after the image data")
	}
	scaled := scaleTo.X > 0 && scaleTo.Y > 0
	var (
		m   image.Image
		err error
	)
	if !scaled && info.components != 4 {
		m, err = stdjpeg.Decode(bytes.NewReader(info.stream))
		var unsupported stdjpeg.UnsupportedError
		if errors.As(err, &unsupported) {
			m, err = decodeJpegli(info, image.Point{})
		}
	} else {
		m, err = decodeJpegli(info, scaleTo)
	}
	if err != nil {
		return nil, fmt.Errorf("decode JPEG: %w", err)
	}
	b := m.Bounds()
	if !scaled && (b.Dx() != info.width || b.Dy() != info.height) {
		return nil, fmt.Errorf("decode JPEG: decoder returned %d×%d for a %d×%d frame", b.Dx(), b.Dy(), info.width, info.height)
	}
	switch img := m.(type) {
	case *image.YCbCr:
		return ycbcrToRGB(img)
	case *image.CMYK:
		// jpegli returns the stored CMYK (YCCK converted); PIL reads every
		// 4-component JPEG as Adobe-inverted CMYK ("CMYK;I").
		for i := range img.Pix {
			img.Pix[i] = ^img.Pix[i]
		}
	}
	return toRGB(m), nil
}

// decodeJpegli decodes with jpegli, at a k/8 scale when scaleTo is set.
// jpegli's raw-plane output only describes 4:4:4, 4:2:2, 4:2:0 and 4:4:0
// layouts with luma at the largest sampling factors; others are refused here
// rather than misread.
func decodeJpegli(info jpegInfo, scaleTo image.Point) (image.Image, error) {
	opts := &jpegli.DecodingOptions{FancyUpsampling: true, DCTMethod: jpegli.DCTISlow}
	if scaleTo.X > 0 && scaleTo.Y > 0 {
		opts.ScaleTarget = image.Rect(0, 0, scaleTo.X, scaleTo.Y)
	} else if _, _, ok := info.chromaExpand(); info.components == 3 && !ok {
		return nil, fmt.Errorf("unsupported JPEG chroma sampling %v×%v", info.hSamp, info.vSamp)
	}
	return jpegli.DecodeWithOptions(bytes.NewReader(info.stream), opts)
}

// ycbcrToRGB turns raw JPEG planes into RGB with libjpeg-turbo's decoder
// defaults, which PIL uses: "fancy" (triangle-filter) chroma upsampling and
// the fixed-point YCbCr→RGB tables of jdcolor.c.
func ycbcrToRGB(m *image.YCbCr) (*RGB, error) {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	hx, vx := 1, 1
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio444:
	case image.YCbCrSubsampleRatio422:
		hx = 2
	case image.YCbCrSubsampleRatio420:
		hx, vx = 2, 2
	case image.YCbCrSubsampleRatio440:
		vx = 2
	case image.YCbCrSubsampleRatio411:
		hx = 4
	case image.YCbCrSubsampleRatio410:
		hx, vx = 4, 2
	default:
		return nil, fmt.Errorf("decode JPEG: unsupported chroma subsampling %v", m.SubsampleRatio)
	}
	// Real (unpadded) chroma plane size, libjpeg's downsampled_width/height.
	cw, ch := (w+hx-1)/hx, (h+vx-1)/vx
	if len(m.Y) < (h-1)*m.YStride+w || len(m.Cb) < (ch-1)*m.CStride+cw || len(m.Cr) < (ch-1)*m.CStride+cw {
		return nil, errors.New("decode JPEG: decoder returned short planes")
	}
	cb := upsampleChroma(m.Cb, m.CStride, cw, ch, hx, vx, w, h)
	cr := upsampleChroma(m.Cr, m.CStride, cw, ch, hx, vx, w, h)
	out := NewRGB(w, h)
	t := yccTables()
	for y := 0; y < h; y++ {
		yr := m.Y[y*m.YStride : y*m.YStride+w]
		cbr, crr := cb[y*w:(y+1)*w], cr[y*w:(y+1)*w]
		d := out.Pix[y*w*3 : (y+1)*w*3]
		for x, yy := range yr {
			Y, u, v := int32(yy), cbr[x], crr[x]
			d[x*3] = clampU8(Y + t.crR[v])
			d[x*3+1] = clampU8(Y + (t.cbG[u]+t.crG[v])>>16)
			d[x*3+2] = clampU8(Y + t.cbB[u])
		}
	}
	return out, nil
}

func clampU8(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// yccTable holds jdcolor.c's build_ycc_rgb_table: SCALEBITS 16, FIX(x) =
// round(x·2^16).
type yccTable struct {
	crR, cbB, crG, cbG [256]int32
}

var yccTab = func() *yccTable {
	const scaleBits = 16
	const half = 1 << (scaleBits - 1)
	fix := func(x float64) int32 { return int32(x*(1<<scaleBits) + 0.5) }
	var t yccTable
	for i := 0; i < 256; i++ {
		x := int32(i - 128)
		t.crR[i] = (fix(1.40200)*x + half) >> scaleBits
		t.cbB[i] = (fix(1.77200)*x + half) >> scaleBits
		t.crG[i] = -fix(0.71414) * x
		t.cbG[i] = -fix(0.34414)*x + half
	}
	return &t
}()

func yccTables() *yccTable { return yccTab }

// upsampleChroma expands a cw×ch chroma plane to w×h as libjpeg-turbo's
// jdsample.c does with do_fancy_upsampling: triangle filters for 2:1
// horizontal (h2v1), 2:1 vertical (h1v2) and both (h2v2), with their
// alternating rounding biases; plain replication for other integer factors
// and for planes two samples wide or less. Rows beyond the edges repeat the
// edge row, as libjpeg's context rows do.
func upsampleChroma(p []uint8, stride, cw, ch, hx, vx, w, h int) []uint8 {
	out := make([]uint8, w*h)
	row := func(i int) []uint8 {
		i = max(0, min(ch-1, i))
		return p[i*stride : i*stride+cw]
	}
	fancyH := hx == 2 && cw > 2
	tmp := make([]uint8, 2*cw) // one output row before cropping to w
	switch {
	case hx == 1 && vx == 1:
		for y := 0; y < h; y++ {
			copy(out[y*w:(y+1)*w], row(y))
		}
	case hx == 2 && vx == 1 && fancyH:
		for y := 0; y < h; y++ {
			h2v1Fancy(row(y), tmp)
			copy(out[y*w:(y+1)*w], tmp)
		}
	case hx == 1 && vx == 2:
		for y := 0; y < h; y++ {
			near, far, bias := row(y/2), row(y/2-1), int32(1)
			if y%2 == 1 {
				far, bias = row(y/2+1), 2
			}
			d := out[y*w : (y+1)*w]
			for x := range d {
				d[x] = uint8((int32(near[x])*3 + int32(far[x]) + bias) >> 2)
			}
		}
	case hx == 2 && vx == 2 && fancyH:
		for y := 0; y < h; y++ {
			near, far := row(y/2), row(y/2-1)
			if y%2 == 1 {
				far = row(y/2 + 1)
			}
			h2v2Fancy(near, far, tmp)
			copy(out[y*w:(y+1)*w], tmp)
		}
	default: // replication (int_upsample, h2v1_upsample, h2v2_upsample)
		for y := 0; y < h; y++ {
			src := row(y / vx)
			d := out[y*w : (y+1)*w]
			for x := range d {
				d[x] = src[min(x/hx, cw-1)]
			}
		}
	}
	return out
}

// h2v1Fancy is jdsample.c's h2v1_fancy_upsample for one row (len(in) > 2).
func h2v1Fancy(in, out []uint8) {
	n := len(in)
	out[0] = in[0]
	out[1] = uint8((int32(in[0])*3 + int32(in[1]) + 2) >> 2)
	for i := 1; i < n-1; i++ {
		v := int32(in[i]) * 3
		out[2*i] = uint8((v + int32(in[i-1]) + 1) >> 2)
		out[2*i+1] = uint8((v + int32(in[i+1]) + 2) >> 2)
	}
	out[2*n-2] = uint8((int32(in[n-1])*3 + int32(in[n-2]) + 1) >> 2)
	out[2*n-1] = in[n-1]
}

// h2v2Fancy is one output row of jdsample.c's h2v2_fancy_upsample: near is
// the nearer chroma row (weight 3), far the other (len(near) > 2).
func h2v2Fancy(near, far, out []uint8) {
	n := len(near)
	col := func(i int) int32 { return int32(near[i])*3 + int32(far[i]) }
	this, next := col(0), col(1)
	out[0] = uint8((this*4 + 8) >> 4)
	out[1] = uint8((this*3 + next + 7) >> 4)
	last := this
	this = next
	for i := 1; i < n-1; i++ {
		next = col(i + 1)
		out[2*i] = uint8((this*3 + last + 8) >> 4)
		out[2*i+1] = uint8((this*3 + next + 7) >> 4)
		last, this = this, next
	}
	out[2*n-2] = uint8((this*3 + last + 8) >> 4)
	out[2*n-1] = uint8((this*4 + 7) >> 4)
}
