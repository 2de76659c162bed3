package preprocess

import (
	"errors"
	"fmt"
	"image"
)

// jpegInfo is what gosig reads from a JPEG's markers before decoding it.
type jpegInfo struct {
	width, height int
	exif, xmp     []byte // first "Exif\0\0" APP1 payload (TIFF part), first XMP APP1 packet
	data          []byte
}

var (
	exifPrefix = []byte("Exif\x00\x00")
	xmpPrefix  = []byte("http://ns.adobe.com/xap/1.0/\x00")
)

// scanJPEG reads a JPEG's header, up to its first scan: size and metadata.
func scanJPEG(data []byte) (jpegInfo, error) {
	if len(data) < 4 || data[0] != 0xff || data[1] != 0xd8 {
		return jpegInfo{}, errors.New("not a JPEG (no SOI marker)")
	}
	d := &jpegDecoder{data: data, headerOnly: true}
	if err := d.parse(); err != nil {
		return jpegInfo{}, err
	}
	return jpegInfo{width: d.width, height: d.height, exif: d.exif, xmp: d.xmp, data: data}, nil
}

// decodeJPEG decodes a JPEG to RGB as PIL (libjpeg-turbo) does, with gosig's
// own decoder (jpegdec.go, jpegidct.go): libjpeg-turbo's integer IDCT, chroma
// upsampling and colour conversion, so the pixels equal PIL's.
//
// scaleTo, when non-zero, selects the fast path: the image is decoded at the
// smallest of 1/8, 1/4, 1/2 scale that is at least scaleTo on both sides,
// straight from the DCT coefficients.
func decodeJPEG(info jpegInfo, scaleTo image.Point) (*RGB, error) {
	scale := 8
	if scaleTo.X > 0 && scaleTo.Y > 0 {
		for _, s := range []int{1, 2, 4} {
			if (info.width*s+7)/8 >= scaleTo.X && (info.height*s+7)/8 >= scaleTo.Y {
				scale = s
				break
			}
		}
	}
	img, err := decodeJPEGImage(info.data, scale)
	if errors.Is(err, errJPEGUnsupported) {
		return nil, fmt.Errorf("%w (gosig reads baseline and progressive Huffman-coded 8-bit JPEGs)", err)
	}
	return img, err
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
	far = far[:n]
	out = out[:2*n]
	this := int32(near[0])*3 + int32(far[0])
	next := int32(near[1])*3 + int32(far[1])
	out[0] = uint8((this*4 + 8) >> 4)
	out[1] = uint8((this*3 + next + 7) >> 4)
	last := this
	this = next
	for i := 1; i < n-1; i++ {
		next = int32(near[i+1])*3 + int32(far[i+1])
		out[2*i] = uint8((this*3 + last + 8) >> 4)
		out[2*i+1] = uint8((this*3 + next + 7) >> 4)
		last, this = this, next
	}
	out[2*n-2] = uint8((this*3 + last + 8) >> 4)
	out[2*n-1] = uint8((this*4 + 7) >> 4)
}
