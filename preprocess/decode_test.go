package preprocess

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

func readTestdata(t testing.TB, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{testdataDir}, parts...)...))
	require.NoError(t, err)
	return b
}

func mustDecode(t testing.TB, data []byte) *RGB {
	t.Helper()
	img, err := Decode(data, DecodeOptions{})
	require.NoError(t, err)
	return img
}

// TestJPEGAgainstLibjpegTurbo decodes JPEGs of every chroma layout (4:4:4,
// 4:2:2, 4:4:0, 4:2:0, 4:1:1, progressive with successive approximation,
// restart markers, grayscale, and a 5×3 image whose 4:2:0 chroma is too
// narrow for fancy upsampling) and requires libjpeg-turbo's djpeg output
// exactly: djpeg decodes as PIL does (see testdata/preprocess/decode/make.sh).
func TestJPEGAgainstLibjpegTurbo(t *testing.T) {
	for _, name := range []string{"s1x1", "s2x1", "s1x2", "s2x2", "s4x1", "prog2x2", "rst2x1", "gray", "tiny2x2"} {
		t.Run(name, func(t *testing.T) {
			got := mustDecode(t, readTestdata(t, "decode", name+".jpg"))
			want := mustDecode(t, readTestdata(t, "decode", name+".jpg.want.png"))
			require.Equal(t, [2]int{want.W, want.H}, [2]int{got.W, got.H})
			n, first := countDiff(want.Pix, got.Pix)
			assert.Zero(t, n, "%d samples differ from libjpeg-turbo, first at %d", n, first)
		})
	}
}

// TestJPEGVariants: Adobe CMYK decodes through PIL's inverted-CMYK reading
// (no PIL truth here, so the check is the round trip to the source colours:
// ImageMagick's RGB→CMYK, JPEG at quality 90, PIL's cmyk2rgb; reading the
// CMYK uninverted would be off by ~200); arithmetic coding, which PIL reads
// but gosig does not, is refused with an error that says so.
func TestJPEGVariants(t *testing.T) {
	got := mustDecode(t, readTestdata(t, "decode", "cmyk.jpg"))
	src := mustDecode(t, readTestdata(t, "decode", "src.png"))
	_, mean := absDiffStats(src.Pix, got.Pix)
	assert.Less(t, mean, 3.0, "CMYK round trip")

	_, err := Decode(readTestdata(t, "decode", "arith.jpg"), DecodeOptions{})
	require.ErrorIs(t, err, errJPEGUnsupported)
	assert.ErrorContains(t, err, "arithmetic")
}

// TestWebPAgainstLibwebp: lossy WebP (with and without alpha) must equal
// libwebp's dwebp output exactly, since VP8 decoding is exactly specified and
// the fancy upsampler and YUV→RGB conversion are libwebp's; lossless must
// equal the source image.
func TestWebPAgainstLibwebp(t *testing.T) {
	for _, name := range []string{"lossy", "alpha"} {
		got := mustDecode(t, readTestdata(t, "decode", name+".webp"))
		want := mustDecode(t, readTestdata(t, "decode", name+".webp.want.png"))
		n, first := countDiff(want.Pix, got.Pix)
		assert.Zero(t, n, "%s: %d samples differ from libwebp, first at %d", name, n, first)
	}
	got := mustDecode(t, readTestdata(t, "decode", "lossless.webp"))
	want := mustDecode(t, readTestdata(t, "decode", "src.png"))
	assert.Equal(t, want.Pix, got.Pix, "lossless WebP")
}

func encodePNG(t testing.TB, m image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, m))
	return buf.Bytes()
}

// TestConvertLikePIL checks Image.convert("RGB") semantics on the modes PIL
// opens PNGs in (the expected values follow PIL's Convert.c and Unpack.c:
// alpha dropped, 16-bit colour keeps its high byte, 16-bit grey clips at 255).
func TestConvertLikePIL(t *testing.T) {
	t.Run("RGBA keeps colour under zero alpha", func(t *testing.T) {
		m := image.NewNRGBA(image.Rect(0, 0, 2, 1))
		m.Pix = []uint8{10, 20, 30, 0, 200, 100, 50, 128}
		assert.Equal(t, []uint8{10, 20, 30, 200, 100, 50}, mustDecode(t, encodePNG(t, m)).Pix)
	})
	t.Run("gray+alpha", func(t *testing.T) {
		m := image.NewNRGBA(image.Rect(0, 0, 1, 1)) // Go writes LA as RGBA; the rule is the same
		m.Pix = []uint8{77, 77, 77, 3}
		assert.Equal(t, []uint8{77, 77, 77}, mustDecode(t, encodePNG(t, m)).Pix)
	})
	t.Run("16-bit RGB keeps the high byte", func(t *testing.T) {
		m := image.NewRGBA64(image.Rect(0, 0, 1, 1))
		m.SetRGBA64(0, 0, color.RGBA64{0x12ff, 0xab01, 0x00ff, 0xffff})
		assert.Equal(t, []uint8{0x12, 0xab, 0x00}, mustDecode(t, encodePNG(t, m)).Pix)
	})
	t.Run("16-bit RGBA keeps the high byte, drops alpha", func(t *testing.T) {
		m := image.NewNRGBA64(image.Rect(0, 0, 1, 1))
		m.SetNRGBA64(0, 0, color.NRGBA64{0x12ff, 0xab01, 0x00ff, 0x0100})
		assert.Equal(t, []uint8{0x12, 0xab, 0x00}, mustDecode(t, encodePNG(t, m)).Pix)
	})
	t.Run("16-bit gray clips", func(t *testing.T) {
		m := image.NewGray16(image.Rect(0, 0, 3, 1))
		m.SetGray16(0, 0, color.Gray16{200})
		m.SetGray16(1, 0, color.Gray16{256})
		m.SetGray16(2, 0, color.Gray16{0xffff})
		assert.Equal(t, []uint8{200, 200, 200, 255, 255, 255, 255, 255, 255}, mustDecode(t, encodePNG(t, m)).Pix)
	})
	t.Run("palette with transparency keeps the palette colour", func(t *testing.T) {
		m := image.NewPaletted(image.Rect(0, 0, 2, 1), color.Palette{color.NRGBA{9, 8, 7, 0}, color.NRGBA{1, 2, 3, 255}})
		m.Pix = []uint8{0, 1}
		assert.Equal(t, []uint8{9, 8, 7, 1, 2, 3}, mustDecode(t, encodePNG(t, m)).Pix)
	})
	t.Run("2-bit palette", func(t *testing.T) {
		m := image.NewPaletted(image.Rect(0, 0, 3, 1), color.Palette{color.Gray{0}, color.Gray{50}, color.Gray{250}})
		m.Pix = []uint8{2, 1, 0}
		assert.Equal(t, []uint8{250, 250, 250, 50, 50, 50, 0, 0, 0}, mustDecode(t, encodePNG(t, m)).Pix)
	})
	t.Run("CMYK", func(t *testing.T) {
		// PIL's cmyk2rgb: (255−k)·(255−c)/255 with MULDIV255 rounding.
		r, g, b := cmykToRGB(0, 128, 255, 64)
		assert.Equal(t, [3]uint8{191, 95, 0}, [3]uint8{r, g, b})
	})
}

// TestGIFFirstFrameLikePIL: the transparent index keeps its palette colour
// (Go's decoder blanks it), and the screen outside the first frame is the
// transparent index's colour.
func TestGIFFirstFrameLikePIL(t *testing.T) {
	pal := color.Palette{color.RGBA{10, 20, 30, 255}, color.RGBA{200, 100, 50, 255}, color.RGBA{1, 2, 3, 255}}
	frame := image.NewPaletted(image.Rect(1, 0, 3, 2), pal)
	frame.Pix = []uint8{0, 1, 1, 2}
	var buf bytes.Buffer
	require.NoError(t, gif.EncodeAll(&buf, &gif.GIF{
		Image: []*image.Paletted{frame}, Delay: []int{0}, Disposal: []byte{0},
		Config: image.Config{ColorModel: pal, Width: 4, Height: 2},
	}))
	data := buf.Bytes()
	// Mark index 0 transparent: a graphic control extension before the image.
	i := bytes.IndexByte(data[13+3*4:], 0x2c) + 13 + 3*4
	gce := []byte{0x21, 0xf9, 4, 1, 0, 0, 0, 0}
	data = append(append(append([]byte(nil), data[:i]...), gce...), data[i:]...)
	got := mustDecode(t, data)
	require.Equal(t, 4, got.W)
	require.Equal(t, 2, got.H)
	c0, c1, c2 := []uint8{10, 20, 30}, []uint8{200, 100, 50}, []uint8{1, 2, 3}
	var want []uint8
	for _, c := range [][]uint8{c0, c0, c1, c0, c0, c1, c2, c0} {
		want = append(want, c...)
	}
	assert.Equal(t, want, got.Pix)
}

// gradientImage is an asymmetric test picture: every pixel differs.
func gradientImage(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.SetNRGBA(x, y, color.NRGBA{uint8(x * 40), uint8(y * 60), uint8(x*7 + y*13), 255})
		}
	}
	return m
}

// exifBlock builds a little- or big-endian TIFF block whose IFD0 holds an
// Orientation of type SHORT.
func exifBlock(o int, bigEndian bool) []byte {
	var bo binary.AppendByteOrder = binary.LittleEndian
	b := []byte("II*\x00\x08\x00\x00\x00")
	if bigEndian {
		bo = binary.BigEndian
		b = []byte("MM\x00*\x00\x00\x00\x08")
	}
	b = bo.AppendUint16(b, 1)
	b = bo.AppendUint16(b, tagOrientation)
	b = bo.AppendUint16(b, 3)
	b = bo.AppendUint32(b, 1)
	b = bo.AppendUint16(b, uint16(o))
	b = bo.AppendUint16(b, 0)
	return bo.AppendUint32(b, 0)
}

// withPNGChunk inserts a chunk right after IHDR.
func withPNGChunk(data []byte, typ string, body []byte) []byte {
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	chunk = append(chunk, typ...)
	chunk = append(chunk, body...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	at := 8 + 25
	return append(append(append([]byte(nil), data[:at]...), chunk...), data[at:]...)
}

// withJPEGSegment inserts an APPn segment right after SOI.
func withJPEGSegment(data []byte, marker byte, body []byte) []byte {
	seg := []byte{0xff, marker}
	seg = binary.BigEndian.AppendUint16(seg, uint16(len(body)+2))
	seg = append(seg, body...)
	return append(append(append([]byte(nil), data[:2]...), seg...), data[2:]...)
}

// TestEXIFOrientation checks all eight orientations against PIL's
// exif_transpose mapping (2 FLIP_LEFT_RIGHT, 3 ROTATE_180, 4 FLIP_TOP_BOTTOM,
// 5 TRANSPOSE, 6 ROTATE_270, 7 TRANSVERSE, 8 ROTATE_90), written out here by
// where the stored top-left and top-right corners must land.
func TestEXIFOrientation(t *testing.T) {
	const w, h = 5, 3
	src := gradientImage(w, h)
	plain := encodePNG(t, src)
	base := mustDecode(t, plain)
	at := func(img *RGB, x, y int) [3]uint8 {
		i := (y*img.W + x) * 3
		return [3]uint8{img.Pix[i], img.Pix[i+1], img.Pix[i+2]}
	}
	tl, tr := at(base, 0, 0), at(base, w-1, 0)
	// For each orientation: output size, and where stored (0,0) and (w-1,0) go.
	type spot struct{ x, y int }
	cases := map[int]struct {
		w, h   int
		tl, tr spot
	}{
		1: {w, h, spot{0, 0}, spot{w - 1, 0}},
		2: {w, h, spot{w - 1, 0}, spot{0, 0}},
		3: {w, h, spot{w - 1, h - 1}, spot{0, h - 1}},
		4: {w, h, spot{0, h - 1}, spot{w - 1, h - 1}},
		5: {h, w, spot{0, 0}, spot{0, w - 1}},
		6: {h, w, spot{h - 1, 0}, spot{h - 1, w - 1}},
		7: {h, w, spot{h - 1, w - 1}, spot{h - 1, 0}},
		8: {h, w, spot{0, w - 1}, spot{0, 0}},
	}
	for o, c := range cases {
		for _, be := range []bool{false, true} {
			img := mustDecode(t, withPNGChunk(plain, "eXIf", exifBlock(o, be)))
			require.Equal(t, [2]int{c.w, c.h}, [2]int{img.W, img.H}, "orientation %d", o)
			assert.Equal(t, tl, at(img, c.tl.x, c.tl.y), "orientation %d: stored top-left", o)
			assert.Equal(t, tr, at(img, c.tr.x, c.tr.y), "orientation %d: stored top-right", o)
			// Every pixel: the mapping is a permutation of the stored pixels.
			assert.Equal(t, pixelMultiset(base), pixelMultiset(img))
		}
	}

	// JPEG: EXIF APP1, and XMP when EXIF has no orientation (Pillow ≥ 9).
	var buf bytes.Buffer
	require.NoError(t, jpeg.Encode(&buf, gradientImage(16, 8), &jpeg.Options{Quality: 95}))
	j := buf.Bytes()
	rot := mustDecode(t, withJPEGSegment(j, 0xe1, append([]byte("Exif\x00\x00"), exifBlock(6, true)...)))
	assert.Equal(t, [2]int{8, 16}, [2]int{rot.W, rot.H})
	xmp := append([]byte("http://ns.adobe.com/xap/1.0/\x00"), `<x:xmpmeta><rdf:Description tiff:Orientation="8"/></x:xmpmeta>`...)
	rot8 := mustDecode(t, withJPEGSegment(j, 0xe1, xmp))
	unrot := mustDecode(t, j)
	assert.Equal(t, applyOrientation(unrot, 8).Pix, rot8.Pix)
	assert.Equal(t, applyOrientation(unrot, 6).Pix, rot.Pix)
	info, err := Probe(withJPEGSegment(j, 0xe1, xmp))
	require.NoError(t, err)
	assert.Equal(t, Info{Format: FormatJPEG, Width: 16, Height: 8, Orientation: 8}, info)
	w2, h2 := info.OrientedSize()
	assert.Equal(t, [2]int{8, 16}, [2]int{w2, h2})
}

func pixelMultiset(img *RGB) map[[3]uint8]int {
	m := map[[3]uint8]int{}
	for i := 0; i < len(img.Pix); i += 3 {
		m[[3]uint8{img.Pix[i], img.Pix[i+1], img.Pix[i+2]}]++
	}
	return m
}

func TestEXIFParser(t *testing.T) {
	assert.Equal(t, 6, exifOrientation(exifBlock(6, false)))
	assert.Equal(t, 3, exifOrientation(exifBlock(3, true)))
	assert.Equal(t, 0, exifOrientation(exifBlock(9, false)), "out of range")
	assert.Equal(t, 0, exifOrientation(exifBlock(0, false)), "out of range")
	assert.Equal(t, 0, exifOrientation(nil))
	assert.Equal(t, 0, exifOrientation([]byte("II*\x00\xff\xff\xff\xff")), "IFD offset past the end")
	b := exifBlock(6, false)
	assert.Equal(t, 0, exifOrientation(b[:len(b)-8]), "entry cut short")
	assert.Equal(t, 2, xmpOrientation([]byte(`<tiff:Orientation>2</tiff:Orientation>`)))
	assert.Equal(t, 0, xmpOrientation([]byte(`tiff:Orientation="x"`)))
}

// pngHeader returns a PNG with an IHDR of the given size and no image data.
func pngHeader(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0)
	data := []byte("\x89PNG\r\n\x1a\n")
	for _, c := range []struct {
		typ  string
		body []byte
	}{{"IHDR", ihdr}, {"IEND", nil}} {
		chunk := binary.BigEndian.AppendUint32(nil, uint32(len(c.body)))
		chunk = append(append(chunk, c.typ...), c.body...)
		data = append(data, binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))...)
	}
	return data
}

// TestBadInput: everything refused with an error that says why, nothing
// panics, and oversized images are refused before their pixels are
// allocated.
func TestBadInput(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, jpeg.Encode(&buf, gradientImage(32, 32), nil))
	jpg := buf.Bytes()
	pngData := encodePNG(t, gradientImage(32, 32))
	webpData := readTestdata(t, "decode", "lossy.webp")

	cases := []struct {
		name string
		data []byte
		is   error
		msg  string
	}{
		{"empty", nil, ErrFormat, "empty"},
		{"not an image", []byte("hello, world"), ErrFormat, "unknown image format"},
		{"truncated JPEG", jpg[:len(jpg)/2], nil, "truncated"},
		{"JPEG header only", jpg[:20], nil, "truncated"},
		{"truncated PNG", pngData[:len(pngData)/2], nil, "png"},
		{"truncated WebP", webpData[:len(webpData)/2], nil, "webp"},
		{"zero-sized PNG", pngHeader(0, 10), nil, "png"},
		{"zero-sized GIF", []byte("GIF89a\x00\x00\x00\x00\x00\x00\x00\x2c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x02\x4c\x01\x00\x3b"), ErrEmpty, "no pixels"},
		{"bomb PNG", pngHeader(20000, 20000), ErrTooLarge, "decompression bomb"},
		{"bomb JPEG", jpegWithSize(jpg, 65535, 65535), ErrTooLarge, "65535×65535"},
		{"zero-height JPEG", jpegWithSize(jpg, 0, 32), ErrEmpty, "no pixels"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img, err := Decode(c.data, DecodeOptions{})
			require.Error(t, err)
			assert.Nil(t, img)
			if c.is != nil {
				assert.ErrorIs(t, err, c.is)
			}
			assert.Contains(t, err.Error(), c.msg)
		})
	}

	// A configurable limit.
	_, err := Decode(pngData, DecodeOptions{MaxPixels: 32*32 - 1})
	assert.ErrorIs(t, err, ErrTooLarge)
	_, err = Decode(pngData, DecodeOptions{MaxPixels: 32 * 32})
	assert.NoError(t, err)
	_, err = Decode(pngHeader(20000, 20000), DecodeOptions{MaxPixels: -1})
	assert.NotErrorIs(t, err, ErrTooLarge, "no limit: the PNG decoder sees the missing data")
}

// jpegWithSize rewrites the frame header's size fields.
func jpegWithSize(data []byte, w, h uint16) []byte {
	out := append([]byte(nil), data...)
	i := bytes.Index(out, []byte{0xff, 0xc0})
	binary.BigEndian.PutUint16(out[i+5:], h)
	binary.BigEndian.PutUint16(out[i+7:], w)
	return out
}

// TestExtremeAspect: a 1×100000 image is valid (PIL and Hugging Face accept
// it): NaFlex gives one patch column of at most the budget, FixRes the
// configured size.
func TestExtremeAspect(t *testing.T) {
	for _, size := range [][2]int{{1, 100000}, {100000, 1}} {
		img := mustDecode(t, encodePNG(t, image.NewGray(image.Rect(0, 0, size[0], size[1]))))
		require.Equal(t, size, [2]int{img.W, img.H})
		cfg := Config{Kind: KindNaFlex, PatchSize: 16, MaxNumPatches: 256, Resample: Bilinear,
			DoResize: true, DoRescale: true, DoNormalize: true, RescaleFactor: 1.0 / 255,
			ImageMean: [3]float64{0.5, 0.5, 0.5}, ImageStd: [3]float64{0.5, 0.5, 0.5}}
		p, err := NaFlex(img, cfg, 0)
		require.NoError(t, err)
		if size[0] == 1 {
			assert.Equal(t, [2]int{256, 1}, [2]int{p.GridH, p.GridW})
		} else {
			assert.Equal(t, [2]int{1, 256}, [2]int{p.GridH, p.GridW})
		}
		for _, v := range p.Values[:p.NumPatches()*p.RowLen()] {
			require.Equal(t, float32(-1), v, "black stays black")
		}
		cfg.Kind, cfg.Height, cfg.Width, cfg.Resample = KindFixRes, 32, 32, Bicubic
		v, err := FixRes(img, cfg)
		require.NoError(t, err)
		assert.Len(t, v, 3*32*32)
	}
}

// TestFastPathDeviation measures how far the fast path (JPEG decoded shrunk
// by k/8 in the DCT domain, then the exact resize) lands from the exact
// pixels after NaFlex, on synthetic photos and on two fixture images (flat
// shapes with hard edges) saved as JPEG, at the default oversampling and at
// 2. Measured when the fast path was written, default: photos max 2–9, mean
// 0.24–0.85 uint8 steps; graphics max 13–19, mean 0.50–0.76 (the DCT-domain
// shrink filters edges differently from PIL's bilinear). At 2: photos max 2,
// mean 0.2–0.35. The bounds add headroom. JPEGs too small to shrink must come
// out exact.
func TestFastPathDeviation(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes a 2000×1500 image")
	}
	images := map[string][]byte{}
	for name, size := range map[string][2]int{"photo 1920×1080": {1920, 1080}, "photo 2000×1500": {2000, 1500}, "photo 800×600": {800, 600}} {
		var buf bytes.Buffer
		require.NoError(t, jpeg.Encode(&buf, syntheticPhoto(size[0], size[1], int64(size[0])), &jpeg.Options{Quality: 90}))
		images[name] = buf.Bytes()
	}
	for _, i := range []int{0, 2} {
		var buf bytes.Buffer
		require.NoError(t, jpeg.Encode(&buf, decodeFixtureImage(t, i), &jpeg.Options{Quality: 90}))
		images[fixtureImages[i]] = buf.Bytes()
	}
	for name, data := range images {
		photo := strings.HasPrefix(name, "photo")
		exact, err := Decode(data, DecodeOptions{})
		require.NoError(t, err)
		for _, oversample := range []float64{0, 2} {
			for _, mnp := range []int{64, 256, 1024} {
				fast, err := Decode(data, DecodeOptions{FastTarget: benchCfg.Target(mnp), FastOversample: oversample})
				require.NoError(t, err)
				pe, err := NaFlex(exact, benchCfg, mnp)
				require.NoError(t, err)
				pf, err := NaFlex(fast, benchCfg, mnp)
				require.NoError(t, err)
				mx, mean := absDiffStats(pe.ValuesU8(), pf.ValuesU8())
				t.Logf("%-18s oversample %-4g mnp %4d: decoded %4d×%-4d of %4d×%-4d for %d×%d: max |Δu8| %2d, mean %.3f",
					name, oversample, mnp, fast.W, fast.H, exact.W, exact.H, pe.Resized.W, pe.Resized.H, mx, mean)
				switch {
				case fast.W == exact.W:
					assert.Zero(t, mx, "%s: not shrunk, so exact", name)
				case photo && oversample == 2:
					assert.LessOrEqual(t, mx, 4, name)
					assert.Less(t, mean, 0.5, name)
				case photo:
					assert.LessOrEqual(t, mx, 12, name)
					assert.Less(t, mean, 1.0, name)
				default:
					assert.LessOrEqual(t, mx, 32, name)
					assert.Less(t, mean, 1.2, name)
				}
			}
		}
	}
}

// pngChunks assembles a PNG from raw chunks.
func pngChunks(chunks ...[2][]byte) []byte {
	data := []byte("\x89PNG\r\n\x1a\n")
	for _, c := range chunks {
		chunk := binary.BigEndian.AppendUint32(nil, uint32(len(c[1])))
		chunk = append(append(chunk, c[0]...), c[1]...)
		data = append(data, binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))...)
	}
	return data
}

// TestGray16WithTransparencyClips: Go returns 16-bit grey with a tRNS chunk
// as NRGBA64, but PIL still opens it as I;16 and clips; so must gosig.
func TestGray16WithTransparencyClips(t *testing.T) {
	ihdr := binary.BigEndian.AppendUint32(nil, 3)
	ihdr = binary.BigEndian.AppendUint32(ihdr, 1)
	ihdr = append(ihdr, 16, 0, 0, 0, 0)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	_, err := zw.Write([]byte{0, 0x00, 0xc8, 0x01, 0x00, 0xff, 0xff}) // filter 0; samples 200, 256, 65535
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	data := pngChunks([2][]byte{[]byte("IHDR"), ihdr}, [2][]byte{[]byte("tRNS"), {0x01, 0x00}},
		[2][]byte{[]byte("IDAT"), z.Bytes()}, [2][]byte{[]byte("IEND"), nil})
	m, err := png.Decode(bytes.NewReader(data))
	require.NoError(t, err)
	require.IsType(t, &image.NRGBA64{}, m, "the case this test is about")
	assert.Equal(t, []uint8{200, 200, 200, 255, 255, 255, 255, 255, 255}, mustDecode(t, data).Pix)
}

// TestOtherFormats: BMP, TIFF and GIF round trips through their Go encoders.
func TestOtherFormats(t *testing.T) {
	src := gradientImage(7, 5)
	want := mustDecode(t, encodePNG(t, src)).Pix
	var bmpBuf, tiffBuf bytes.Buffer
	require.NoError(t, bmp.Encode(&bmpBuf, src))
	require.NoError(t, tiff.Encode(&tiffBuf, src, nil))
	assert.Equal(t, want, mustDecode(t, bmpBuf.Bytes()).Pix, "BMP")
	assert.Equal(t, want, mustDecode(t, tiffBuf.Bytes()).Pix, "TIFF")
	for _, data := range [][]byte{bmpBuf.Bytes(), tiffBuf.Bytes()} {
		info, err := Probe(data)
		require.NoError(t, err)
		assert.Equal(t, [2]int{7, 5}, [2]int{info.Width, info.Height})
	}
}
