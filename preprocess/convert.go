package preprocess

import (
	"image"
	"image/color"
)

// toRGB converts a decoded image to 8-bit RGB the way PIL's
// Image.convert("RGB") treats the mode PIL would have opened the same file
// in:
//
//   - alpha is dropped, never composited (RGBA→RGB, LA→RGB, P with
//     transparency→RGB all keep the stored colour);
//   - grayscale is replicated to three channels, palettes are looked up;
//   - 16-bit colour samples keep their high byte (PIL unpacks 16-bit RGB and
//     RGBA PNGs with "RGB;16B"/"RGBA;16B", which take the most significant
//     byte), but 16-bit grayscale saturates at 255 (PIL opens it as mode
//     I;16, and I;16→RGB clips values above 255 instead of scaling them);
//   - premultiplied alpha (Go's image.RGBA with alpha below 255, e.g. TIFF
//     with associated alpha) is undone as PIL's "RGBa" unpacker does:
//     c·255/a, truncated;
//   - CMYK uses PIL's cmyk2rgb.
func toRGB(m image.Image) *RGB {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	out := NewRGB(w, h)
	// rows runs f on each output row with the matching source row; off is
	// the offset of the image's top-left pixel in pix.
	rows := func(pix []uint8, off, stride, bpp int, f func(src, dst []uint8)) {
		for y := 0; y < h; y++ {
			f(pix[off+y*stride:off+y*stride+w*bpp], out.Pix[y*w*3:(y+1)*w*3])
		}
	}
	switch src := m.(type) {
	case *image.NRGBA:
		rows(src.Pix, src.PixOffset(b.Min.X, b.Min.Y), src.Stride, 4, func(s, d []uint8) {
			for x := 0; x < w; x++ {
				d[x*3], d[x*3+1], d[x*3+2] = s[x*4], s[x*4+1], s[x*4+2]
			}
		})
	case *image.RGBA:
		rows(src.Pix, src.PixOffset(b.Min.X, b.Min.Y), src.Stride, 4, func(s, d []uint8) {
			for x := 0; x < w; x++ {
				d[x*3], d[x*3+1], d[x*3+2] = unpremultiply8(s[x*4], s[x*4+1], s[x*4+2], s[x*4+3])
			}
		})
	case *image.Gray:
		rows(src.Pix, src.PixOffset(b.Min.X, b.Min.Y), src.Stride, 1, func(s, d []uint8) {
			for x, v := range s {
				d[x*3], d[x*3+1], d[x*3+2] = v, v, v
			}
		})
	case *image.Gray16:
		rows(src.Pix, src.PixOffset(b.Min.X, b.Min.Y), src.Stride, 2, func(s, d []uint8) {
			for x := 0; x < w; x++ {
				v := gray16To8(s[x*2], s[x*2+1])
				d[x*3], d[x*3+1], d[x*3+2] = v, v, v
			}
		})
	case *image.NRGBA64:
		rows(src.Pix, src.PixOffset(b.Min.X, b.Min.Y), src.Stride, 8, func(s, d []uint8) {
			for x := 0; x < w; x++ {
				d[x*3], d[x*3+1], d[x*3+2] = s[x*8], s[x*8+2], s[x*8+4]
			}
		})
	case *image.Paletted:
		var pal [256][3]uint8
		for i, c := range src.Palette {
			if i < 256 {
				pal[i] = colorToRGB(c)
			}
		}
		rows(src.Pix, src.PixOffset(b.Min.X, b.Min.Y), src.Stride, 1, func(s, d []uint8) {
			for x, idx := range s {
				p := pal[idx]
				d[x*3], d[x*3+1], d[x*3+2] = p[0], p[1], p[2]
			}
		})
	case *image.CMYK:
		rows(src.Pix, src.PixOffset(b.Min.X, b.Min.Y), src.Stride, 4, func(s, d []uint8) {
			for x := 0; x < w; x++ {
				d[x*3], d[x*3+1], d[x*3+2] = cmykToRGB(s[x*4], s[x*4+1], s[x*4+2], s[x*4+3])
			}
		})
	default: // RGBA64 (premultiplied), YCbCr and the rest, through the colour model
		for y := 0; y < h; y++ {
			d := out.Pix[y*w*3 : (y+1)*w*3]
			for x := 0; x < w; x++ {
				p := colorToRGB(m.At(b.Min.X+x, b.Min.Y+y))
				d[x*3], d[x*3+1], d[x*3+2] = p[0], p[1], p[2]
			}
		}
	}
	return out
}

// gray16To8 is PIL's I;16→RGB conversion of one big-endian sample: values
// that fit a byte are kept, larger ones become 255.
func gray16To8(hi, lo uint8) uint8 {
	if hi != 0 {
		return 255
	}
	return lo
}

// unpremultiply8 undoes premultiplied alpha as PIL's unpackRGBa does.
func unpremultiply8(r, g, b, a uint8) (uint8, uint8, uint8) {
	switch a {
	case 255:
		return r, g, b
	case 0:
		return 0, 0, 0
	}
	f := func(c uint8) uint8 { return uint8(min(int(c)*255/int(a), 255)) }
	return f(r), f(g), f(b)
}

// unpremultiply16 undoes premultiplied 16-bit alpha and keeps the high byte.
func unpremultiply16(c color.RGBA64) (uint8, uint8, uint8) {
	switch c.A {
	case 0xffff:
		return uint8(c.R >> 8), uint8(c.G >> 8), uint8(c.B >> 8)
	case 0:
		return 0, 0, 0
	}
	f := func(v uint16) uint8 { return uint8(min(uint32(v)*0xffff/uint32(c.A), 0xffff) >> 8) }
	return f(c.R), f(c.G), f(c.B)
}

// cmykToRGB is PIL's cmyk2rgb: each channel is (255−k)·(255−c)/255 with
// PIL's MULDIV255 rounding.
func cmykToRGB(c, m, y, k uint8) (uint8, uint8, uint8) {
	nk := 255 - int(k)
	f := func(v uint8) uint8 {
		t := int(v)*nk + 128
		return uint8(max(0, min(255, nk-((t>>8)+t)>>8)))
	}
	return f(c), f(m), f(y)
}

// colorToRGB converts one colour of any model, keeping straight (not
// premultiplied) colour for colours that carry alpha.
func colorToRGB(c color.Color) [3]uint8 {
	switch v := c.(type) {
	case color.NRGBA:
		return [3]uint8{v.R, v.G, v.B}
	case color.RGBA:
		r, g, b := unpremultiply8(v.R, v.G, v.B, v.A)
		return [3]uint8{r, g, b}
	case color.Gray:
		return [3]uint8{v.Y, v.Y, v.Y}
	case color.Gray16:
		y := gray16To8(uint8(v.Y>>8), uint8(v.Y))
		return [3]uint8{y, y, y}
	case color.NRGBA64:
		return [3]uint8{uint8(v.R >> 8), uint8(v.G >> 8), uint8(v.B >> 8)}
	case color.RGBA64:
		r, g, b := unpremultiply16(v)
		return [3]uint8{r, g, b}
	case color.CMYK:
		r, g, b := cmykToRGB(v.C, v.M, v.Y, v.K)
		return [3]uint8{r, g, b}
	}
	n := color.NRGBA64Model.Convert(c).(color.NRGBA64)
	return [3]uint8{uint8(n.R >> 8), uint8(n.G >> 8), uint8(n.B >> 8)}
}
