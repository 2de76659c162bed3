package preprocess

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
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
//
// Speed. A single-scan (baseline) frame is decoded a row of MCUs at a time:
// the row's coefficients go straight through the inverse DCT into the
// component planes, and the output rows they complete are upsampled and
// converted to RGB while still in cache (jpegOutput), so the coefficients
// of the whole image never exist. The entropy decoder works on the scan
// data with its stuffed bytes removed (bitReader), refills its bit buffer
// without a branch and decodes up to two coefficients per table lookup
// (huffTable.pairs). On amd64 with AVX2, the inverse DCT, the upsampling
// and the colour conversion run in assembly kernels (*_amd64.s) that give
// the same bytes as the Go code.

// Scratch buffers are recycled between decodes: a 1080p 4:2:0 JPEG needs
// 3 MB of planes and 350 kB of unstuffed scan data (a progressive one also
// 6 MB of coefficients), and the resizer a 1 MB intermediate image. Buffers
// are pooled by power-of-two capacity, so that a request never meets a
// buffer too small for it. These pools are caches, not state: what comes
// out of them is fully overwritten, and coefficient buffers go back cleared.
var coefPools, bytePools [64]sync.Pool

// sizeClass returns the pool index for n elements: capacities are 1 << class.
func sizeClass(n int) int { return bits.Len(uint(max(n, 1) - 1)) }

// getCoefs returns n zero coefficients.
func getCoefs(n int) []int16 {
	c := sizeClass(n)
	if b, ok := coefPools[c].Get().(*[]int16); ok {
		return (*b)[:n]
	}
	return make([]int16, n, 1<<c)
}

// putCoefs clears b and pools it; b must come from getCoefs.
func putCoefs(b []int16) {
	clear(b)
	coefPools[sizeClass(cap(b))].Put(&b)
}

// getBytes returns a buffer of n bytes with arbitrary contents.
func getBytes(n int) []byte {
	c := sizeClass(n)
	if b, ok := bytePools[c].Get().(*[]byte); ok {
		return (*b)[:n]
	}
	return make([]byte, n, 1<<c)
}

// putBytes pools b, which must come from getBytes.
func putBytes(b []byte) { bytePools[sizeClass(cap(b))].Put(&b) }

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
	// pairs decodes, for AC tables, one or two whole coefficients (code and
	// magnitude bits) that fit in the lookup width; 0 where the slow path is
	// needed. See pairEOB1 for the layout.
	pairs [1 << huffLookupBits]uint64
}

const huffLookupBits = 10

// A pairs entry decodes the next one or two coefficients: the bits they
// take together (bits 0–5) and the first one's alone (6–11), flags for an
// end-of-block code as the first or second symbol, the first one's zero
// run (16–19), the step from the first to the second (20–24: 1 + its run,
// or 0 when the entry holds one coefficient, which is then stored twice)
// and their values (int16 at 32 and 48).
const (
	pairEOB1 = 1 << 12
	pairEOB2 = 1 << 13
)

// pairSymbols lets buildHuffTable put two coefficients in a pairs entry;
// tests turn it off to check the pairs against one-at-a-time decoding.
var pairSymbols = true

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
	// One coefficient per lookup first: run, value and bits used, or eob.
	type coef struct {
		bits, run int
		v         int32
		eob, ok   bool
	}
	var single [1 << huffLookupBits]coef
	for p := range single {
		e := t.lookup[p]
		l, rs := int(e>>8), uint8(e)
		size := int(rs & 15)
		switch {
		case e == 0 || l+size > huffLookupBits:
			continue
		case rs == 0x00: // end of block
			single[p] = coef{bits: l, eob: true, ok: true}
			continue
		case size == 0 && rs != 0xf0: // EOBn: progressive only
			continue
		}
		v := extend(int32(p>>(huffLookupBits-l-size))&(1<<size-1), uint8(size))
		single[p] = coef{bits: l + size, run: int(rs >> 4), v: v, ok: true}
	}
	// Then a second one from the bits left, when its code and magnitude
	// fit in them.
	for p, c := range single {
		if !c.ok {
			continue
		}
		e := uint64(c.bits)<<6 | uint64(c.run)<<16 | uint64(uint16(c.v))<<32
		if c.eob {
			t.pairs[p] = e | uint64(c.bits) | pairEOB1
			continue
		}
		c2 := single[p<<c.bits&(1<<huffLookupBits-1)]
		if !pairSymbols || !c2.ok || c.bits+c2.bits > huffLookupBits {
			t.pairs[p] = e | uint64(c.bits) | uint64(uint16(c.v))<<48
			continue
		}
		e |= uint64(c.bits + c2.bits)
		if c2.eob {
			e |= pairEOB2
		}
		t.pairs[p] = e | uint64(1+c2.run)<<20 | uint64(uint16(c2.v))<<48
	}
	return t, nil
}

// bitReader reads a scan's entropy-coded data MSB first. The data up to the
// next marker (a restart interval's, or the whole scan's) is first copied
// without its stuffed zero bytes into seg, followed by zeros: past a marker
// (0xFF followed by anything but 0x00) or the end of the file the reader
// supplies zero bits, as libjpeg does. With no stuffing left to watch for,
// the bit buffer is refilled eight bytes at a time without a branch.
type bitReader struct {
	data []byte // the file
	end  int    // where in data the segment's marker (or the end) is
	seg  []byte // the segment unstuffed, then segPad zero bytes
	lim  int    // the segment's length
	pos  int    // next byte of seg to load, at most lim
	acc  uint64 // the next bits, left-aligned: n valid ones, then later bits or zeros
	n    uint   // valid bits in acc
	err  error  // first invalid code met
}

// segPad zero bytes follow a segment, so that a refill at its end reads zeros.
const segPad = 8

// start begins a segment at data[p], with an empty bit buffer.
func (br *bitReader) start(p int) {
	data := br.data
	if cap(br.seg) < len(data)-p+segPad { // room for any segment of the scan
		if br.seg != nil {
			putBytes(br.seg)
		}
		br.seg = getBytes(len(data) + segPad)
	}
	seg := br.seg[:0]
	for {
		i := bytes.IndexByte(data[p:], 0xff)
		if i < 0 {
			seg = append(seg, data[p:]...)
			p = len(data)
			break
		}
		seg = append(seg, data[p:p+i]...)
		p += i
		if p+1 >= len(data) || data[p+1] != 0x00 {
			break // a marker: the segment ends here
		}
		seg = append(seg, 0xff)
		p += 2
	}
	br.end, br.lim = p, len(seg)
	br.seg = append(seg, make([]byte, segPad)...)
	br.pos, br.acc, br.n = 0, 0, 0
}

// refill tops the buffer up to at least 56 bits: it ORs in the eight bytes
// at pos below the valid bits (bits already there are the same stream bits)
// and counts the whole bytes that fitted (Giesen's branch-free refill).
func (br *bitReader) refill() {
	br.acc |= binary.BigEndian.Uint64(br.seg[br.pos:]) >> (br.n & 63)
	br.pos = min(br.pos+int((63-br.n)>>3), br.lim)
	br.n |= 56
}

// bits reads k ≤ 16 bits.
func (br *bitReader) bits(k uint) int32 {
	if br.n < k {
		br.refill()
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
		br.refill()
	}
	if e := t.lookup[br.acc>>(64-huffLookupBits)]; e != 0 {
		l := uint(e >> 8)
		br.acc <<= l
		br.n -= l
		return uint8(e)
	}
	return br.decodeLong(t)
}

// decodeLong reads a symbol whose code is longer than the lookup width; the
// buffer holds at least 16 bits.
func (br *bitReader) decodeLong(t *huffTable) uint8 {
	for l := uint(huffLookupBits + 1); l <= 16; l++ {
		if code := int32(br.acc >> (64 - l)); code <= t.maxCode[l] {
			br.acc <<= l
			br.n -= l
			return t.vals[t.valPtr[l]+code-t.minCode[l]]
		}
	}
	br.err = errBadHuffman
	return 0
}

// restart drops the buffered bits at a restart point and starts the next
// segment after the RSTn marker, searching from the current segment's end
// past any other bytes (fill bytes, garbage). At a marker of another kind
// the new segment is empty: the reads that follow give zeros.
func (br *bitReader) restart() {
	p, data := br.end, br.data
	for p+1 < len(data) {
		if data[p] == 0xff && data[p+1] >= 0xd0 && data[p+1] <= 0xd7 {
			p += 2
			break
		}
		if data[p] == 0xff && data[p+1] != 0x00 && data[p+1] != 0xff {
			break
		}
		p++
	}
	br.start(p)
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
	pred    int32
	dc, ac  int
	present bool          // appeared in a scan
	quant   [64]uint16    // the table latched at its first scan, as libjpeg does
	coefs   []int16       // whole-image coefficients (multi-scan frames)
	row     []int16       // one row of MCUs' coefficients (single-scan frames)
	ext     []blockExtent // the extents of row's blocks
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

	// scale is the output size in eighths; out receives the image, created
	// at the first scan of a single-scan frame or after the last scan.
	scale int
	out   *jpegOutput

	// headerOnly stops parse at the first scan (for Probe); exif and xmp
	// keep the first EXIF and XMP APP1 payloads, as PIL does.
	headerOnly bool
	exif, xmp  []byte
}

// decodeJPEGImage decodes data to RGB at scale eighths of its size (8: full
// size; 4, 2, 1: the fast path's DCT-domain shrink).
func decodeJPEGImage(data []byte, scale int) (*RGB, error) {
	d := &jpegDecoder{data: data, scale: scale}
	defer d.release()
	if err := d.parse(); err != nil {
		return nil, err
	}
	if d.out == nil { // a progressive or multi-scan frame: output now
		for i := range d.comps {
			if !d.comps[i].present {
				return nil, errors.New("invalid JPEG: a component has no scan")
			}
		}
		o, err := d.newOutput()
		if err != nil {
			return nil, err
		}
		d.out = o
		for my := 0; my < d.mcusY; my++ {
			for i := range d.comps {
				c := &d.comps[i]
				for v := 0; v < c.v; v++ {
					by := my*c.v + v
					o.blockRow(c, i, by, c.coefs[by*c.bw*64:(by+1)*c.bw*64], nil)
				}
			}
			o.emit()
		}
	}
	if d.out.next != d.out.height {
		return nil, errors.New("invalid JPEG: the scan ended early") // cannot happen: scans cover every MCU
	}
	return d.out.img, nil
}

// release returns pooled buffers.
func (d *jpegDecoder) release() {
	for _, c := range d.comps {
		if c.coefs != nil {
			putCoefs(c.coefs)
		}
		if c.row != nil {
			putCoefs(c.row)
		}
	}
	if d.out != nil {
		d.out.release()
	}
	if d.br.seg != nil {
		putBytes(d.br.seg)
	}
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
	if d.out != nil {
		return 0, errors.New("invalid JPEG: a scan after a complete single-scan image")
	}
	for _, c := range scomps {
		if !c.present { // libjpeg latches a component's table at its first scan
			if !d.quantSet[c.tq] {
				return 0, errors.New("invalid JPEG: missing quantisation table")
			}
			c.quant, c.present = d.quant[c.tq], true
		}
	}
	// A sequential frame whose first scan holds every component streams
	// into the output; any other keeps whole-image coefficients.
	stream := !d.progressive && ns == len(d.comps) && d.comps[0].coefs == nil
	for i := range d.comps {
		stream = stream && d.comps[i].present
	}
	if !stream && d.comps[0].coefs == nil {
		for i := range d.comps {
			c := &d.comps[i]
			c.coefs = getCoefs(c.bw * c.bh * 64)
		}
	}
	d.br.data = d.data
	d.br.start(pos)
	for _, c := range scomps {
		c.pred = 0
	}
	d.eobrun = 0
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
	switch {
	case stream:
		if err := d.streamScan(scomps, restart, &mcu); err != nil {
			return 0, err
		}
	case ns == 1:
		// Non-interleaved: one block per MCU, over the component's own blocks.
		c := scomps[0]
		bx := (c.w + 7) / 8
		by := (c.h8 + 7) / 8
		for y := 0; y < by; y++ {
			for x := 0; x < bx; x++ {
				restart()
				off := (y*c.bw + x) * 64
				if err := d.decodeBlock(c, (*[64]int16)(c.coefs[off:off+64]), ss, se, ah, al); err != nil {
					return 0, err
				}
				mcu++
			}
		}
	default:
		for my := 0; my < d.mcusY; my++ {
			for mx := 0; mx < d.mcusX; mx++ {
				restart()
				for _, c := range scomps {
					for v := 0; v < c.v; v++ {
						for h := 0; h < c.h; h++ {
							off := ((my*c.v+v)*c.bw + mx*c.h + h) * 64
							if err := d.decodeBlock(c, (*[64]int16)(c.coefs[off:off+64]), ss, se, ah, al); err != nil {
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
	p := d.br.end
	for p+1 < len(d.data) && !(d.data[p] == 0xff && d.data[p+1] != 0 && (d.data[p+1] < 0xd0 || d.data[p+1] > 0xd7)) {
		p++
	}
	return p, nil
}

// streamScan decodes a sequential scan of every component a row of MCUs at
// a time into the components' row buffers and hands each row to the output:
// the inverse DCT and colour conversion run while the row is in cache.
func (d *jpegDecoder) streamScan(scomps []*jpegComp, restart func(), mcu *int) error {
	o, err := d.newOutput()
	if err != nil {
		return err
	}
	d.out = o
	for i := range d.comps {
		c := &d.comps[i]
		c.row = getCoefs(c.v * c.bw * 64)
		c.ext = make([]blockExtent, c.v*c.bw)
	}
	for my := 0; my < d.mcusY; my++ {
		for mx := 0; mx < d.mcusX; mx++ {
			restart()
			for _, c := range scomps {
				for v := 0; v < c.v; v++ {
					b := v*c.bw + mx*c.h
					for h := 0; h < c.h; h++ {
						last := d.decodeBaseline(c, (*[64]int16)(c.row[(b+h)*64:(b+h)*64+64]))
						c.ext[b+h] = extentAfter[last&63]
					}
				}
			}
			if d.br.err != nil {
				return d.br.err
			}
			*mcu++
		}
		for i := range d.comps {
			c := &d.comps[i]
			for v := 0; v < c.v; v++ {
				o.blockRow(c, i, my*c.v+v, c.row[v*c.bw*64:(v+1)*c.bw*64], c.ext[v*c.bw:(v+1)*c.bw])
			}
			// Zero the blocks for the next row: only their rows that the
			// extent says may hold coefficients.
			for b, e := range c.ext {
				clear(c.row[b*64 : b*64+int(e>>4)*8])
			}
		}
		o.emit()
	}
	return nil
}

// decodeBlock decodes one block's part of a scan into whole-image
// coefficients.
func (d *jpegDecoder) decodeBlock(c *jpegComp, blk *[64]int16, ss, se, ah, al int) error {
	switch {
	case !d.progressive:
		d.decodeBaseline(c, blk)
		return d.br.err
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

// decodeBaseline decodes a sequential block (which must be zero) and returns
// the zig-zag index of its last non-zero coefficient (at least that: a
// corrupt run may overshoot, so callers mask it). An invalid code sets
// d.br.err.
func (d *jpegDecoder) decodeBaseline(c *jpegComp, blk *[64]int16) int {
	// The bit buffer lives in locals, so that it stays in registers; br is
	// brought up to date around the rare call that uses it. Each symbol
	// starts with a refill (at least 56 bits), which is cheaper than a
	// mispredicted test; a symbol with its extra bits takes at most 32.
	br := &d.br
	seg, lim := br.seg, br.lim
	acc, n, pos := br.acc, br.n, br.pos
	acc |= binary.BigEndian.Uint64(seg[pos:]) >> (n & 63)
	pos = min(pos+int((63-n)>>3), lim)
	n |= 56
	dc := d.dcTabs[c.dc]
	var s uint
	if e := dc.lookup[acc>>(64-huffLookupBits)]; e != 0 {
		l := uint(e>>8) & 63
		acc <<= l
		n -= l
		s = uint(e & 15)
	} else {
		br.acc, br.n = acc, n
		s = uint(br.decodeLong(dc) & 15)
		acc, n = br.acc, br.n
	}
	c.pred += extend(int32(acc>>((64-s)&63)), uint8(s)) // for s = 0, extend gives 0
	acc <<= s
	n -= s
	blk[0] = int16(c.pred)
	ac := d.acTabs[c.ac]
	pairs := &ac.pairs
	last := 0
	for k := 1; k < 64; k++ {
		acc |= binary.BigEndian.Uint64(seg[pos:]) >> (n & 63)
		pos = min(pos+int((63-n)>>3), lim)
		n |= 56
		if e := pairs[acc>>(64-huffLookupBits)]; e != 0 {
			// No branch depends on whether the entry holds one coefficient
			// or two, so that the next lookup waits only for the shift.
			l := uint(e) & 63
			if e&pairEOB1 != 0 {
				acc <<= l
				n -= l
				break
			}
			k += int(e>>16) & 15
			blk[zigzag[k&127]&63] = int16(e >> 32)
			if k >= 63 { // the block is full: a second symbol is the next block's
				l = uint(e>>6) & 63
				acc <<= l
				n -= l
				last = k
				continue
			}
			acc <<= l
			n -= l
			if e&pairEOB2 != 0 {
				last = k
				break
			}
			k += int(e>>20) & 31
			blk[zigzag[k&127]&63] = int16(e >> 48)
			last = k
			continue
		}
		var rs uint8
		if e := ac.lookup[acc>>(64-huffLookupBits)]; e != 0 {
			l := uint(e>>8) & 63
			acc <<= l
			n -= l
			rs = uint8(e)
		} else {
			br.acc, br.n = acc, n
			rs = br.decodeLong(ac)
			acc, n = br.acc, br.n
		}
		r, s := int(rs>>4), uint(rs&15)
		if s != 0 {
			k += r
			v := int32(acc >> ((64 - s) & 63))
			acc <<= s
			n -= s
			blk[zigzag[k&127]&63] = int16(extend(v, uint8(s)))
			last = k
		} else {
			if r != 15 {
				break
			}
			k += 15
		}
	}
	br.acc, br.n, br.pos = acc, n, pos
	return min(last, 63)
}

func (d *jpegDecoder) decodeDCFirst(c *jpegComp, blk *[64]int16, al int) error {
	s := d.br.decodeSym(d.dcTabs[c.dc]) & 15
	c.pred += extend(d.br.bits(uint(s)), s)
	blk[0] = int16(c.pred << al)
	return d.br.err
}

func (d *jpegDecoder) decodeACFirst(c *jpegComp, blk *[64]int16, ss, se, al int) error {
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
			blk[zigzag[k]] = int16(extend(br.bits(uint(s)), s) << al)
		} else {
			if r != 15 {
				d.eobrun = 1 << r
				if r != 0 {
					d.eobrun += br.bits(uint(r))
				}
				d.eobrun--
				break
			}
			k += 15
		}
	}
	return br.err
}

func (d *jpegDecoder) decodeACRefine(c *jpegComp, blk *[64]int16, ss, se, al int) error {
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
					d.eobrun += br.bits(uint(r))
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
