package preprocess

import (
	"bytes"
	"encoding/binary"
	"image"

	"golang.org/x/image/webp"
)

// webpMetadata returns the EXIF and XMP chunks of a WebP (RIFF) file.
func webpMetadata(data []byte) (exif, xmp []byte) {
	pos := 12
	for pos+8 <= len(data) {
		n := int(binary.LittleEndian.Uint32(data[pos+4:]))
		if n < 0 || n > len(data)-pos-8 {
			return exif, xmp
		}
		body := data[pos+8 : pos+8+n]
		switch string(data[pos : pos+4]) {
		case "EXIF":
			// PIL's Exif.load drops one "Exif\0\0" prefix if a writer left it.
			exif = bytes.TrimPrefix(body, exifPrefix)
		case "XMP ":
			xmp = body
		}
		pos += 8 + n + n&1
	}
	return exif, xmp
}

// decodeWebP decodes a still WebP. Lossless images come out of
// golang.org/x/image/webp exact; lossy ones come out as YCbCr 4:2:0 planes
// (the VP8 decoding itself is exactly specified), which are converted to RGB
// with libwebp's default "fancy" upsampler and fixed-point conversion, as PIL
// gets them from libwebp.
func decodeWebP(data []byte) (*RGB, error) {
	m, err := webp.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	switch img := m.(type) {
	case *image.YCbCr:
		return webpYUVToRGB(img), nil
	case *image.NYCbCrA:
		return webpYUVToRGB(&img.YCbCr), nil
	}
	return toRGB(m), nil
}

// webpYUVToRGB is libwebp's EmitFancyRGB: output rows are made in pairs
// (2k−1, 2k) from chroma rows k−1 and k, the first row (and the last of an
// even height) from a single chroma row, each pair by the UPSAMPLE_FUNC
// line-pair upsampler of dsp/upsampling.c.
func webpYUVToRGB(m *image.YCbCr) *RGB {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	out := NewRGB(w, h)
	yRow := func(y int) []uint8 { return m.Y[y*m.YStride : y*m.YStride+w] }
	cw := (w + 1) / 2
	uRow := func(y int) []uint8 { return m.Cb[y*m.CStride : y*m.CStride+cw] }
	vRow := func(y int) []uint8 { return m.Cr[y*m.CStride : y*m.CStride+cw] }
	dst := func(y int) []uint8 { return out.Pix[y*w*3 : (y+1)*w*3] }
	webpUpsamplePair(yRow(0), nil, uRow(0), vRow(0), uRow(0), vRow(0), dst(0), nil, w)
	for y := 1; y+1 < h; y += 2 {
		k := (y + 1) / 2
		webpUpsamplePair(yRow(y), yRow(y+1), uRow(k-1), vRow(k-1), uRow(k), vRow(k), dst(y), dst(y+1), w)
	}
	if h > 1 && h%2 == 0 {
		k := h/2 - 1
		webpUpsamplePair(yRow(h-1), nil, uRow(k), vRow(k), uRow(k), vRow(k), dst(h-1), nil, w)
	}
	return out
}

// webpUpsamplePair is libwebp's UPSAMPLE_FUNC: U and V are packed into one
// uint32 (U in the low half) and interpolated together, with the same
// rounding.
func webpUpsamplePair(topY, botY, topU, topV, curU, curV, topDst, botDst []uint8, n int) {
	load := func(u, v uint8) uint32 { return uint32(u) | uint32(v)<<16 }
	put := func(d []uint8, x int, y uint8, uv uint32) {
		u, v, yy := int(uv&0xff), int(uv>>16), int(y)
		d[x*3] = webpClip8(multHi(yy, 19077) + multHi(v, 26149) - 14234)
		d[x*3+1] = webpClip8(multHi(yy, 19077) - multHi(u, 6419) - multHi(v, 13320) + 8708)
		d[x*3+2] = webpClip8(multHi(yy, 19077) + multHi(u, 33050) - 17685)
	}
	lastPair := (n - 1) >> 1
	tl := load(topU[0], topV[0])
	l := load(curU[0], curV[0])
	put(topDst, 0, topY[0], (3*tl+l+0x00020002)>>2)
	if botY != nil {
		put(botDst, 0, botY[0], (3*l+tl+0x00020002)>>2)
	}
	for x := 1; x <= lastPair; x++ {
		t := load(topU[x], topV[x])
		c := load(curU[x], curV[x])
		avg := tl + t + l + c + 0x00080008
		diag12 := (avg + 2*(t+l)) >> 3
		diag03 := (avg + 2*(tl+c)) >> 3
		put(topDst, 2*x-1, topY[2*x-1], (diag12+tl)>>1)
		put(topDst, 2*x, topY[2*x], (diag03+t)>>1)
		if botY != nil {
			put(botDst, 2*x-1, botY[2*x-1], (diag03+l)>>1)
			put(botDst, 2*x, botY[2*x], (diag12+c)>>1)
		}
		tl, l = t, c
	}
	if n&1 == 0 {
		put(topDst, n-1, topY[n-1], (3*tl+l+0x00020002)>>2)
		if botY != nil {
			put(botDst, n-1, botY[n-1], (3*l+tl+0x00020002)>>2)
		}
	}
}

func multHi(v, coeff int) int { return (v * coeff) >> 8 }

// webpClip8 is libwebp's VP8Clip8 (YUV_FIX2 = 6).
func webpClip8(v int) uint8 {
	const mask = (256 << 6) - 1
	if v&^mask == 0 {
		return uint8(v >> 6)
	}
	if v < 0 {
		return 0
	}
	return 255
}
