package preprocess

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/gif"
)

// gifHeader is what PIL needs from a GIF beyond the pixel indices: the
// logical screen, the first frame's rectangle, its palette as stored (Go's
// decoder blanks the transparent entry, PIL keeps it) and the transparent
// index (−1 for none).
type gifHeader struct {
	canvas, frame image.Rectangle
	palette       [][3]uint8
	transparent   int
}

// parseGIF reads the GIF header, global palette and the blocks before the
// first image descriptor.
func parseGIF(data []byte) (gifHeader, error) {
	g := gifHeader{transparent: -1}
	if len(data) < 13 {
		return g, errors.New("truncated GIF header")
	}
	g.canvas = image.Rect(0, 0, int(binary.LittleEndian.Uint16(data[6:])), int(binary.LittleEndian.Uint16(data[8:])))
	pos := 13
	readTable := func(flags byte) ([][3]uint8, error) {
		n := 1 << ((flags & 7) + 1)
		if pos+3*n > len(data) {
			return nil, errors.New("truncated GIF colour table")
		}
		t := make([][3]uint8, n)
		for i := range t {
			copy(t[i][:], data[pos+3*i:])
		}
		pos += 3 * n
		return t, nil
	}
	var global [][3]uint8
	if data[10]&0x80 != 0 {
		var err error
		if global, err = readTable(data[10]); err != nil {
			return g, err
		}
	}
	for pos < len(data) {
		switch data[pos] {
		case 0x21: // extension: label, then data sub-blocks
			if pos+2 > len(data) {
				return g, errors.New("truncated GIF extension")
			}
			label := data[pos+1]
			pos += 2
			first := true
			for {
				if pos >= len(data) {
					return g, errors.New("truncated GIF extension")
				}
				n := int(data[pos])
				if pos+1+n > len(data) {
					return g, errors.New("truncated GIF extension")
				}
				if n == 0 {
					pos++
					break
				}
				if label == 0xf9 && first && n >= 4 {
					g.transparent = -1
					if data[pos+1]&1 != 0 {
						g.transparent = int(data[pos+4])
					}
				}
				first = false
				pos += 1 + n
			}
		case 0x2c: // image descriptor
			if pos+10 > len(data) {
				return g, errors.New("truncated GIF image descriptor")
			}
			d := data[pos+1:]
			x, y := int(binary.LittleEndian.Uint16(d)), int(binary.LittleEndian.Uint16(d[2:]))
			w, h := int(binary.LittleEndian.Uint16(d[4:])), int(binary.LittleEndian.Uint16(d[6:]))
			g.frame = image.Rect(x, y, x+w, y+h)
			flags := d[8]
			pos += 10
			g.palette = global
			if flags&0x80 != 0 {
				var err error
				if g.palette, err = readTable(flags); err != nil {
					return g, err
				}
			}
			return g, nil
		case 0x3b:
			return g, errors.New("GIF has no image")
		default:
			return g, errors.New("invalid GIF block")
		}
	}
	return g, errors.New("truncated GIF: no image descriptor")
}

// decodeGIF decodes the first frame as PIL shows it: the logical screen,
// filled with the transparent index (or index 0) where the frame does not
// cover it, every index looked up in the stored palette, so transparent
// pixels keep their palette colour.
func decodeGIF(data []byte) (*RGB, error) {
	g, err := parseGIF(data)
	if err != nil {
		return nil, err
	}
	m, err := gif.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	p, ok := m.(*image.Paletted)
	if !ok {
		return toRGB(m), nil
	}
	if g.palette == nil {
		return nil, errors.New("GIF has no colour table")
	}
	lookup := func(i int) [3]uint8 {
		if i >= 0 && i < len(g.palette) {
			return g.palette[i]
		}
		v := uint8(i) // PIL's palettes start as a grey ramp
		return [3]uint8{v, v, v}
	}
	out := NewRGB(g.canvas.Dx(), g.canvas.Dy())
	fill := lookup(max(g.transparent, 0))
	for i := 0; i < len(out.Pix); i += 3 {
		out.Pix[i], out.Pix[i+1], out.Pix[i+2] = fill[0], fill[1], fill[2]
	}
	r := p.Rect.Intersect(g.canvas)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := lookup(int(p.Pix[p.PixOffset(x, y)]))
			i := (y*out.W + x) * 3
			out.Pix[i], out.Pix[i+1], out.Pix[i+2] = c[0], c[1], c[2]
		}
	}
	return out, nil
}
