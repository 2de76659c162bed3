package preprocess

import (
	"bytes"
	"encoding/binary"
)

// Orientation values of the EXIF/TIFF Orientation tag (0x0112). 1 is the
// stored image as is; 2–8 ask the viewer to flip and/or rotate it.
const (
	orientNormal     = 1
	orientFlipH      = 2 // PIL FLIP_LEFT_RIGHT
	orientRotate180  = 3 // PIL ROTATE_180
	orientFlipV      = 4 // PIL FLIP_TOP_BOTTOM
	orientTranspose  = 5 // PIL TRANSPOSE
	orientRotate90CW = 6 // PIL ROTATE_270 (counter-clockwise 270°)
	orientTransverse = 7 // PIL TRANSVERSE
	orientRotate90CC = 8 // PIL ROTATE_90
)

// tagOrientation is the TIFF/EXIF tag number of Orientation.
const tagOrientation = 0x0112

// exifOrientation returns the Orientation tag of IFD0 of a TIFF-structured
// block (the EXIF payload after "Exif\0\0", or a whole TIFF file), or 0 when
// the block is malformed or the tag is absent, has more than one value, or
// is outside 1–8. PIL's ImageOps.exif_transpose likewise ignores any value
// it has no transpose for.
func exifOrientation(b []byte) int {
	if len(b) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch {
	case b[0] == 'I' && b[1] == 'I':
		bo = binary.LittleEndian
	case b[0] == 'M' && b[1] == 'M':
		bo = binary.BigEndian
	default:
		return 0
	}
	if bo.Uint16(b[2:]) != 42 {
		return 0
	}
	ifd := uint64(bo.Uint32(b[4:]))
	if ifd+2 > uint64(len(b)) {
		return 0
	}
	n := uint64(bo.Uint16(b[ifd:]))
	for i := uint64(0); i < n; i++ {
		e := ifd + 2 + 12*i
		if e+12 > uint64(len(b)) {
			return 0
		}
		if bo.Uint16(b[e:]) != tagOrientation {
			continue
		}
		typ, count := bo.Uint16(b[e+2:]), bo.Uint32(b[e+4:])
		if count != 1 {
			return 0
		}
		var v int64
		switch typ {
		case 1: // BYTE
			v = int64(b[e+8])
		case 3: // SHORT
			v = int64(bo.Uint16(b[e+8:]))
		case 4: // LONG
			v = int64(bo.Uint32(b[e+8:]))
		case 8: // SSHORT
			v = int64(int16(bo.Uint16(b[e+8:])))
		case 9: // SLONG
			v = int64(int32(bo.Uint32(b[e+8:])))
		default:
			return 0
		}
		if v < 1 || v > 8 {
			return 0
		}
		return int(v)
	}
	return 0
}

// xmpOrientation finds tiff:Orientation in an XMP packet, as Pillow's
// Image.getexif does when the EXIF block has no Orientation: the first
// `tiff:Orientation="D` or `tiff:Orientation>D`, D a digit. 0 when absent.
func xmpOrientation(xmp []byte) int {
	key := []byte("tiff:Orientation")
	for {
		i := bytes.Index(xmp, key)
		if i < 0 {
			return 0
		}
		rest := xmp[i+len(key):]
		switch {
		case len(rest) >= 3 && rest[0] == '=' && rest[1] == '"' && isDigit(rest[2]):
			return digitOrientation(rest[2])
		case len(rest) >= 2 && rest[0] == '>' && isDigit(rest[1]):
			return digitOrientation(rest[1])
		}
		xmp = rest
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// digitOrientation maps a digit to an orientation, 0 (none) outside 1–8.
func digitOrientation(c byte) int {
	v := int(c - '0')
	if v < 1 || v > 8 {
		return 0
	}
	return v
}

// orientation combines the EXIF and XMP sources the way Pillow does: EXIF's
// tag wins when present.
func orientation(exif, xmp []byte) int {
	if o := exifOrientation(exif); o != 0 {
		return o
	}
	if len(xmp) > 0 {
		return xmpOrientation(xmp)
	}
	return 0
}

// applyOrientation returns img transposed as PIL's ImageOps.exif_transpose
// does for orientation o (the image itself for 0, 1 or unknown values).
func applyOrientation(img *RGB, o int) *RGB {
	if o < orientFlipH || o > orientRotate90CC {
		return img
	}
	w, h := img.W, img.H
	ow, oh := w, h
	if o >= orientTranspose {
		ow, oh = h, w
	}
	out := NewRGB(ow, oh)
	for y := 0; y < oh; y++ {
		d := out.Pix[y*ow*3 : (y+1)*ow*3]
		for x := 0; x < ow; x++ {
			// (sx, sy) is the source pixel that lands at (x, y).
			var sx, sy int
			switch o {
			case orientFlipH:
				sx, sy = w-1-x, y
			case orientRotate180:
				sx, sy = w-1-x, h-1-y
			case orientFlipV:
				sx, sy = x, h-1-y
			case orientTranspose:
				sx, sy = y, x
			case orientRotate90CW:
				sx, sy = y, h-1-x
			case orientTransverse:
				sx, sy = w-1-y, h-1-x
			case orientRotate90CC:
				sx, sy = w-1-y, x
			}
			s := (sy*w + sx) * 3
			copy(d[x*3:x*3+3], img.Pix[s:s+3])
		}
	}
	return out
}
