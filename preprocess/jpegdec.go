package preprocess

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

// This file is a JPEG decoder written to give libjpeg-turbo's samples: the
// same ("islow") integer inverse DCT, coefficient handling and edge rules, so
// that with jpeg.go's chroma upsampling and colour conversion a decoded image
// equals PIL's bit for bit. It reads baseline and progressive Huffman-coded
// 8-bit JPEGs with 1, 3 or 4 components, any sampling factors and restart
// intervals; other kinds (arithmetic coding, 12-bit, lossless, hierarchical),
// rare in practice, are refused with errJPEGUnsupported.
//
// It can also decode at 1/2, 1/4 or 1/8 scale straight from the DCT
// coefficients (the fast path), which skips most of the inverse transform.

// Scratch buffers are recycled between decodes: a 1080p 4:2:0 JPEG needs
// 6 MB of coefficients and 3 MB of planes, and the resizer a 1 MB
// intermediate image. These pools are caches, not state: what comes out of
// them is fully overwritten (coefficients are cleared on the way in).
var coefPool, bytePool sync.Pool

func getCoefs(n int) []int16 {
	if b, ok := coefPool.Get().(*[]int16); ok && cap(*b) >= n {
		return (*b)[:n]
	}
	return make([]int16, n)
}

func putCoefs(b []int16) {
	clear(b)
	coefPool.Put(&b)
}

// getBytes returns a buffer of n bytes with arbitrary contents.
func getBytes(n int) []byte {
	if b, ok := bytePool.Get().(*[]byte); ok && cap(*b) >= n {
		return (*b)[:n]
	}
	return make([]byte, n)
}

func putBytes(b []byte) { bytePool.Put(&b) }

// errJPEGUnsupported marks JPEG variants this decoder does not handle.
var errJPEGUnsupported = errors.New("unsupported JPEG variant")

// zigzag maps the k-th coefficient in stream order to its row-major position.
// Entries past 63 are 63, so that a corrupt run cannot index past the block
// (libjpeg's jpeg_natural_order has 16 such entries); 128 entries let an
// index masked with 127 skip the bounds check.
var zigzag = func() (z [128]uint8) {
	order := [64]uint8{
		0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
		12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
		35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
		58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
	}
	copy(z[:], order[:])
	for k := 64; k < len(z); k++ {
		z[k] = 63
	}
	return z
}()

// huffTable is a canonical Huffman table with a 9-bit lookup for short codes.
type huffTable struct {
	lookup  [1 << huffLookupBits]uint16 // code length << 8 | symbol; 0 = longer code
	maxCode [18]int32                   // largest code of each length (−1: none)
	valPtr  [17]int32                   // index in vals of the first code of each length
	minCode [17]int32
	vals    []uint8
	// acFast decodes, for AC tables, a whole coefficient whose code and
	// magnitude bits fit in the lookup width: value << 16 | run << 8 |
	// bits used, with acFastEOB set for an end-of-block code; 0 where the
	// slow path is needed.
	acFast [1 << huffLookupBits]int32
}

const huffLookupBits = 10

// acFastEOB flags an end-of-block entry in huffTable.acFast.
const acFastEOB = 1 << 15

func buildHuffTable(counts [16]uint8, vals []uint8) (*huffTable, error) {
	t := &huffTable{vals: vals}
	code, k := int32(0), int32(0)
	for l := 1; l <= 16; l++ {
		n := int32(counts[l-1])
		t.valPtr[l] = k
		t.minCode[l] = code
		code += n
		k += n
		if n > 0 {
			t.maxCode[l] = code - 1
		} else {
			t.maxCode[l] = -1
		}
		if code > 1<<l {
			return nil, errors.New("invalid JPEG: Huffman table has too many codes")
		}
		if l <= huffLookupBits {
			for c := code - n; c < code; c++ {
				sym := vals[t.valPtr[l]+c-(code-n)]
				shift := huffLookupBits - l
				for j := int32(0); j < 1<<shift; j++ {
					t.lookup[c<<shift|j] = uint16(l)<<8 | uint16(sym)
				}
			}
		}
		code <<= 1
	}
	for p := range t.acFast {
		e := t.lookup[p]
		l, rs := int(e>>8), uint8(e)
		size := int(rs & 15)
		switch {
		case e == 0 || l+size > huffLookupBits:
			continue
		case rs == 0x00: // end of block
			t.acFast[p] = acFastEOB | int32(l)
			continue
		case size == 0 && rs != 0xf0: // EOBn: progressive only
			continue
		}
		v := extend(int32(p>>(huffLookupBits-l-size))&(1<<size-1), uint8(size))
		t.acFast[p] = v<<16 | int32(rs>>4)<<8 | int32(l+size)
	}
	return t, nil
}

// bitReader reads entropy-coded data MSB first. On a marker (0xFF followed
// by anything but 0x00) or the end of the data it supplies zero bits, as
// libjpeg does, and remembers that it ran dry.
type bitReader struct {
	data   []byte
	pos    int
	acc    uint64 // valid bits left-aligned
	n      int
	marker bool
	dry    int   // zero bytes supplied past the data
	err    error // first invalid code met
}

func (br *bitReader) fill() {
	// Fast path: eight bytes without 0xFF (no stuffing, no marker) are
	// loaded at once; as many whole bytes as fit go in.
	if !br.marker && br.pos+8 <= len(br.data) {
		x := binary.BigEndian.Uint64(br.data[br.pos:])
		if v := ^x; (v-0x0101010101010101)&^v&0x8080808080808080 == 0 {
			k := (64 - br.n) >> 3
			if k < 8 {
				x = x >> (64 - 8*k) << (64 - 8*k)
			}
			br.acc |= x >> br.n
			br.n += 8 * k
			br.pos += k
			return
		}
	}
	for br.n <= 56 {
		var b byte
		switch {
		case br.marker || br.pos >= len(br.data):
			br.dry++
		case br.data[br.pos] != 0xff:
			b = br.data[br.pos]
			br.pos++
		case br.pos+1 < len(br.data) && br.data[br.pos+1] == 0x00:
			b = 0xff
			br.pos += 2
		default:
			br.marker = true
			br.dry++
		}
		br.acc |= uint64(b) << (56 - br.n)
		br.n += 8
	}
}

// bits reads k ≤ 16 bits.
func (br *bitReader) bits(k int) int32 {
	if br.n < k {
		br.fill()
	}
	v := int32(br.acc >> (64 - k)) // k = 0 reads nothing: Go's shift by 64 gives 0
	br.acc <<= k
	br.n -= k
	return v
}

func (br *bitReader) bit() bool { return br.bits(1) != 0 }

var errBadHuffman = errors.New("invalid JPEG: bad Huffman code")

// decodeSym reads one Huffman symbol. An invalid code sets br.err and reads
// as 0 (end of block), so callers check the error once per block.
func (br *bitReader) decodeSym(t *huffTable) uint8 {
	if br.n < 16 {
		br.fill()
	}
	if e := t.lookup[br.acc>>(64-huffLookupBits)]; e != 0 {
		l := int(e >> 8)
		br.acc <<= l
		br.n -= l
		return uint8(e)
	}
	return br.decodeLong(t)
}

// decodeLong reads a symbol whose code is longer than the lookup width.
func (br *bitReader) decodeLong(t *huffTable) uint8 {
	for l := huffLookupBits + 1; l <= 16; l++ {
		if code := int32(br.acc >> (64 - l)); code <= t.maxCode[l] {
			br.acc <<= l
			br.n -= l
			return t.vals[t.valPtr[l]+code-t.minCode[l]]
		}
	}
	br.err = errBadHuffman
	return 0
}

// reset drops buffered bits (at a restart marker) and steps over the marker.
func (br *bitReader) restart() {
	br.acc, br.n, br.marker = 0, 0, false
	for br.pos+1 < len(br.data) {
		if br.data[br.pos] == 0xff && br.data[br.pos+1] >= 0xd0 && br.data[br.pos+1] <= 0xd7 {
			br.pos += 2
			return
		}
		if br.data[br.pos] == 0xff && br.data[br.pos+1] != 0x00 && br.data[br.pos+1] != 0xff {
			return // some other marker: leave it, the next fill supplies zeros
		}
		br.pos++
	}
}

// extend turns the s-bit magnitude v into a signed value (HUFF_EXTEND).
func extend(v int32, s uint8) int32 {
	if s == 0 {
		return 0
	}
	if v < 1<<(s-1) {
		return v - (1 << s) + 1
	}
	return v
}

type jpegComp struct {
	id      uint8
	h, v    int
	tq      int
	bw, bh  int // blocks in the coefficient buffer (whole MCUs)
	w, h8   int // component size in samples (libjpeg's downsampled_width/height)
	coefs   []int16
	pred    int32
	dc, ac  int
	present bool // appeared in a scan
}

type jpegDecoder struct {
	data            []byte
	width, height   int
	progressive     bool
	comps           []jpegComp
	maxH, maxV      int
	mcusX, mcusY    int
	quant           [4][64]uint16 // row-major
	quantSet        [4]bool
	dcTabs, acTabs  [4]*huffTable
	restartInterval int
	jfif, adobe     bool
	adobeTransform  uint8
	eobrun          int32
	br              bitReader

	// headerOnly stops parse at the first scan (for Probe); exif and xmp
	// keep the first EXIF and XMP APP1 payloads, as PIL does.
	headerOnly bool
	exif, xmp  []byte
}

// decodeJPEGPlanes decodes data into one plane per component, each at the
// component's own resolution (scale 8 for full size, or 4, 2, 1 eighths).
// It returns the planes, their sizes, and the colour space libjpeg would
// assume for the file.
func decodeJPEGPlanes(data []byte, scale int) (*jpegPlanes, error) {
	d := &jpegDecoder{data: data}
	defer func() {
		for _, c := range d.comps {
			if c.coefs != nil {
				putCoefs(c.coefs)
			}
		}
	}()
	if err := d.parse(); err != nil {
		return nil, err
	}
	return d.output(scale)
}

func (d *jpegDecoder) parse() error {
	data := d.data
	pos := 2
	frame := false
	for {
		for pos < len(data) && data[pos] != 0xff {
			pos++
		}
		for pos < len(data) && data[pos] == 0xff {
			pos++
		}
		if pos >= len(data) {
			return errors.New("truncated JPEG: no end-of-image marker")
		}
		m := data[pos]
		pos++
		switch {
		case m == 0xd9: // EOI
			if !frame {
				return errors.New("invalid JPEG: no frame")
			}
			return nil
		case m == 0x01 || (m >= 0xd0 && m <= 0xd8) || m == 0x00:
			continue
		}
		if pos+2 > len(data) {
			return errors.New("truncated JPEG: segment length missing")
		}
		n := int(binary.BigEndian.Uint16(data[pos:]))
		if n < 2 || pos+n > len(data) {
			return fmt.Errorf("truncated JPEG: marker 0xFF%02X segment runs past the end", m)
		}
		seg := data[pos+2 : pos+n]
		pos += n
		var err error
		switch m {
		case 0xc0, 0xc1, 0xc2:
			if frame {
				return errors.New("invalid JPEG: more than one frame header")
			}
			frame = true
			d.progressive = m == 0xc2
			err = d.parseSOF(seg)
		case 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf:
			if d.headerOnly && len(seg) >= 5 && !frame { // the size is still worth knowing
				frame = true
				d.height, d.width = int(binary.BigEndian.Uint16(seg[1:])), int(binary.BigEndian.Uint16(seg[3:]))
				continue
			}
			return fmt.Errorf("%w: frame type 0xFF%02X (lossless, hierarchical or arithmetic-coded)", errJPEGUnsupported, m)
		case 0xc4:
			err = d.parseDHT(seg)
		case 0xdb:
			err = d.parseDQT(seg)
		case 0xdd:
			if len(seg) < 2 {
				return errors.New("invalid JPEG: short DRI segment")
			}
			d.restartInterval = int(binary.BigEndian.Uint16(seg))
		case 0xe0:
			d.jfif = d.jfif || (len(seg) >= 5 && string(seg[:5]) == "JFIF\x00")
		case 0xe1:
			if bytes.HasPrefix(seg, exifPrefix) && d.exif == nil {
				d.exif = seg[len(exifPrefix):]
			} else if bytes.HasPrefix(seg, xmpPrefix) && d.xmp == nil {
				d.xmp = seg[len(xmpPrefix):]
			}
		case 0xee:
			if len(seg) >= 12 && string(seg[:5]) == "Adobe" {
				d.adobe, d.adobeTransform = true, seg[11]
			}
		case 0xda:
			if !frame {
				return errors.New("invalid JPEG: scan before the frame header")
			}
			if d.headerOnly {
				return nil
			}
			pos, err = d.decodeScan(seg, pos)
		}
		if err != nil {
			return err
		}
	}
}

func (d *jpegDecoder) parseSOF(seg []byte) error {
	if len(seg) < 6 {
		return errors.New("invalid JPEG: short frame header")
	}
	d.height = int(binary.BigEndian.Uint16(seg[1:]))
	d.width = int(binary.BigEndian.Uint16(seg[3:]))
	if d.headerOnly {
		return nil // size is all a probe needs; decoding checks the rest
	}
	if seg[0] != 8 {
		return fmt.Errorf("%w: %d-bit samples", errJPEGUnsupported, seg[0])
	}
	nc := int(seg[5])
	if d.width == 0 || d.height == 0 {
		return errors.New("invalid JPEG: zero image size (DNL markers are not supported)")
	}
	if nc != 1 && nc != 3 && nc != 4 {
		return fmt.Errorf("%w: %d components", errJPEGUnsupported, nc)
	}
	if len(seg) < 6+3*nc {
		return errors.New("invalid JPEG: short frame header")
	}
	d.comps = make([]jpegComp, nc)
	for i := range d.comps {
		c := &d.comps[i]
		c.id = seg[6+3*i]
		c.h, c.v = int(seg[7+3*i]>>4), int(seg[7+3*i]&15)
		c.tq = int(seg[8+3*i])
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 || c.tq > 3 {
			return errors.New("invalid JPEG: bad component in frame header")
		}
		d.maxH, d.maxV = max(d.maxH, c.h), max(d.maxV, c.v)
	}
	if nc == 1 {
		// A single component is never interleaved: its MCU is one block.
		d.comps[0].h, d.comps[0].v, d.maxH, d.maxV = 1, 1, 1, 1
	}
	d.mcusX = (d.width + 8*d.maxH - 1) / (8 * d.maxH)
	d.mcusY = (d.height + 8*d.maxV - 1) / (8 * d.maxV)
	for i := range d.comps {
		c := &d.comps[i]
		c.w = (d.width*c.h + d.maxH - 1) / d.maxH
		c.h8 = (d.height*c.v + d.maxV - 1) / d.maxV
		c.bw, c.bh = d.mcusX*c.h, d.mcusY*c.v
		c.coefs = getCoefs(c.bw * c.bh * 64)
	}
	return nil
}

func (d *jpegDecoder) parseDHT(seg []byte) error {
	for len(seg) > 0 {
		if len(seg) < 17 {
			return errors.New("invalid JPEG: short Huffman table")
		}
		class, id := seg[0]>>4, seg[0]&15
		if class > 1 || id > 3 {
			return errors.New("invalid JPEG: bad Huffman table id")
		}
		var counts [16]uint8
		copy(counts[:], seg[1:17])
		total := 0
		for _, c := range counts {
			total += int(c)
		}
		if total > 256 || len(seg) < 17+total {
			return errors.New("invalid JPEG: bad Huffman table")
		}
		t, err := buildHuffTable(counts, append([]uint8(nil), seg[17:17+total]...))
		if err != nil {
			return err
		}
		if class == 0 {
			d.dcTabs[id] = t
		} else {
			d.acTabs[id] = t
		}
		seg = seg[17+total:]
	}
	return nil
}

func (d *jpegDecoder) parseDQT(seg []byte) error {
	for len(seg) > 0 {
		prec, id := seg[0]>>4, seg[0]&15
		if id > 3 || prec > 1 {
			return errors.New("invalid JPEG: bad quantisation table")
		}
		n := 64 << prec
		if len(seg) < 1+n {
			return errors.New("invalid JPEG: short quantisation table")
		}
		for k := 0; k < 64; k++ {
			v := uint16(seg[1+k])
			if prec == 1 {
				v = binary.BigEndian.Uint16(seg[1+2*k:])
			}
			d.quant[id][zigzag[k]] = v
		}
		d.quantSet[id] = true
		seg = seg[1+n:]
	}
	return nil
}

// decodeScan decodes one scan whose header is seg and whose entropy-coded
// data starts at pos; it returns the position after the data.
func (d *jpegDecoder) decodeScan(seg []byte, pos int) (int, error) {
	if len(seg) < 1 {
		return 0, errors.New("invalid JPEG: short scan header")
	}
	ns := int(seg[0])
	if ns < 1 || ns > len(d.comps) || len(seg) < 4+2*ns {
		return 0, errors.New("invalid JPEG: bad scan header")
	}
	scomps := make([]*jpegComp, ns)
	for i := 0; i < ns; i++ {
		id, tabs := seg[1+2*i], seg[2+2*i]
		for j := range d.comps {
			if d.comps[j].id == id {
				scomps[i] = &d.comps[j]
			}
		}
		if scomps[i] == nil {
			return 0, errors.New("invalid JPEG: scan names an unknown component")
		}
		scomps[i].dc, scomps[i].ac = int(tabs>>4), int(tabs&15)
		if scomps[i].dc > 3 || scomps[i].ac > 3 {
			return 0, errors.New("invalid JPEG: bad table id in scan header")
		}
		scomps[i].present = true
	}
	ss, se := int(seg[1+2*ns]), int(seg[2+2*ns])
	ah, al := int(seg[3+2*ns]>>4), int(seg[3+2*ns]&15)
	if !d.progressive {
		ss, se, ah, al = 0, 63, 0, 0
	} else if ss > se || se > 63 || (ss == 0 && se != 0) || (ss > 0 && ns != 1) || al > 13 {
		return 0, errors.New("invalid JPEG: bad progressive scan parameters")
	}
	for _, c := range scomps {
		if (ss == 0 && ah == 0 && d.dcTabs[c.dc] == nil) || (se > 0 && d.acTabs[c.ac] == nil) {
			return 0, errors.New("invalid JPEG: scan uses a missing Huffman table")
		}
	}
	d.br = bitReader{data: d.data, pos: pos}
	for _, c := range scomps {
		c.pred = 0
	}
	d.eobrun = 0

	decodeBlock := func(c *jpegComp, blk []int16) error {
		switch {
		case !d.progressive:
			return d.decodeBaseline(c, (*[64]int16)(blk))
		case ss == 0 && ah == 0:
			return d.decodeDCFirst(c, blk, al)
		case ss == 0:
			if d.br.bit() {
				blk[0] |= 1 << al
			}
			return nil
		case ah == 0:
			return d.decodeACFirst(c, blk, ss, se, al)
		default:
			return d.decodeACRefine(c, blk, ss, se, al)
		}
	}

	mcu := 0
	restart := func() {
		if d.restartInterval > 0 && mcu > 0 && mcu%d.restartInterval == 0 {
			d.br.restart()
			for _, c := range scomps {
				c.pred = 0
			}
			d.eobrun = 0
		}
	}
	if ns == 1 {
		// Non-interleaved: one block per MCU, over the component's own blocks.
		c := scomps[0]
		bx := (c.w + 7) / 8
		by := (c.h8 + 7) / 8
		for y := 0; y < by; y++ {
			for x := 0; x < bx; x++ {
				restart()
				off := (y*c.bw + x) * 64
				if err := decodeBlock(c, c.coefs[off:off+64]); err != nil {
					return 0, err
				}
				mcu++
			}
		}
	} else {
		for my := 0; my < d.mcusY; my++ {
			for mx := 0; mx < d.mcusX; mx++ {
				restart()
				for _, c := range scomps {
					for v := 0; v < c.v; v++ {
						for h := 0; h < c.h; h++ {
							off := ((my*c.v+v)*c.bw + mx*c.h + h) * 64
							if err := decodeBlock(c, c.coefs[off:off+64]); err != nil {
								return 0, err
							}
						}
					}
				}
				mcu++
			}
		}
	}
	// Continue after the entropy-coded data: at the next marker.
	p := d.br.pos
	for p+1 < len(d.data) && !(d.data[p] == 0xff && d.data[p+1] != 0 && (d.data[p+1] < 0xd0 || d.data[p+1] > 0xd7)) {
		p++
	}
	return p, nil
}

func (d *jpegDecoder) decodeBaseline(c *jpegComp, blk *[64]int16) error {
	br := &d.br
	s := br.decodeSym(d.dcTabs[c.dc]) & 15
	c.pred += extend(br.bits(int(s)), s)
	blk[0] = int16(c.pred)
	ac := d.acTabs[c.ac]
	for k := 1; k < 64; k++ {
		if br.n < 32 {
			br.fill()
		}
		if f := ac.acFast[br.acc>>(64-huffLookupBits)]; f != 0 {
			l := int(f & 0xff)
			br.acc <<= l
			br.n -= l
			if f&acFastEOB != 0 {
				break
			}
			k += int(f>>8) & 0x7f
			blk[zigzag[k&127]&63] = int16(f >> 16)
			continue
		}
		rs := br.decodeSym(ac)
		r, s := int(rs>>4), rs&15
		if s != 0 {
			k += r
			v := int32(br.acc >> (64 - int(s)))
			br.acc <<= s
			br.n -= int(s)
			blk[zigzag[k&127]&63] = int16(extend(v, s))
		} else {
			if r != 15 {
				break
			}
			k += 15
		}
	}
	return br.err
}

func (d *jpegDecoder) decodeDCFirst(c *jpegComp, blk []int16, al int) error {
	s := d.br.decodeSym(d.dcTabs[c.dc]) & 15
	c.pred += extend(d.br.bits(int(s)), s)
	blk[0] = int16(c.pred << al)
	return d.br.err
}

func (d *jpegDecoder) decodeACFirst(c *jpegComp, blk []int16, ss, se, al int) error {
	if d.eobrun > 0 {
		d.eobrun--
		return nil
	}
	br, ac := &d.br, d.acTabs[c.ac]
	for k := ss; k <= se; k++ {
		rs := br.decodeSym(ac)
		r, s := int(rs>>4), rs&15
		if s != 0 {
			k += r
			blk[zigzag[k]] = int16(extend(br.bits(int(s)), s) << al)
		} else {
			if r != 15 {
				d.eobrun = 1 << r
				if r != 0 {
					d.eobrun += br.bits(r)
				}
				d.eobrun--
				break
			}
			k += 15
		}
	}
	return br.err
}

func (d *jpegDecoder) decodeACRefine(c *jpegComp, blk []int16, ss, se, al int) error {
	br, ac := &d.br, d.acTabs[c.ac]
	p1, m1 := int16(1)<<al, int16(-1)<<al
	refine := func(pos uint8) {
		if v := blk[pos]; v != 0 && br.bit() && v&p1 == 0 {
			if v >= 0 {
				blk[pos] += p1
			} else {
				blk[pos] += m1
			}
		}
	}
	k := ss
	if d.eobrun == 0 {
		for ; k <= se; k++ {
			rs := br.decodeSym(ac)
			r, s := int(rs>>4), int16(rs&15)
			if s != 0 {
				if br.bit() {
					s = p1
				} else {
					s = m1
				}
			} else if r != 15 {
				d.eobrun = 1 << r
				if r != 0 {
					d.eobrun += br.bits(r)
				}
				break
			}
			// Skip r zero coefficients (refining the non-zero ones passed),
			// then place the new coefficient, if any.
			for k <= se {
				pos := zigzag[k]
				if blk[pos] != 0 {
					refine(pos)
				} else {
					if r == 0 {
						break
					}
					r--
				}
				k++
			}
			if s != 0 {
				blk[zigzag[k]] = s // k ≤ 64: zigzag's padding catches the overrun
			}
		}
	}
	if d.eobrun > 0 {
		for ; k <= se; k++ {
			refine(zigzag[k])
		}
		d.eobrun--
	}
	return br.err
}
