package preprocess

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// naflexSizeCases were computed by running Hugging Face's
// get_image_size_for_max_num_patches (transformers, image_processing_siglip2.py)
// in CPython 3.11: {height, width, patch, max patches, want height, want width}.
// The random rows cover the size range the fuzz target explores.
var naflexSizeCases = [][6]int{
	{480, 640, 16, 64, 112, 144},
	{900, 200, 16, 64, 256, 64},
	{256, 1024, 16, 256, 128, 512},
	{53, 37, 16, 256, 304, 208},
	{200, 300, 14, 64, 84, 126},
	{128, 96, 14, 256, 252, 196},
	{1080, 1920, 16, 256, 192, 336},
	{1920, 1080, 16, 256, 336, 192},
	{1080, 1920, 16, 1024, 384, 672},
	{1080, 1920, 14, 729, 280, 504},
	{1, 1, 16, 256, 112, 112},
	{1, 1, 16, 1, 16, 16},
	{65535, 65535, 16, 1, 16, 16},
	{100000, 1, 16, 256, 4096, 16},
	{1, 65535, 16, 256, 16, 4096},
	{65535, 1, 14, 4096, 57344, 14},
	{3000, 4000, 16, 576, 336, 432},
	{768, 1024, 16, 784, 384, 512},
	{224, 224, 16, 196, 224, 224},
	{384, 384, 16, 576, 384, 384},
	{512, 512, 16, 1024, 512, 512},
	{1, 1, 1, 1000000, 100, 100},
	{7, 5, 3, 17, 15, 9},
	{65535, 65535, 16, 1048576, 16384, 16384},
	{333, 777, 16, 333, 192, 432},
	{2, 65535, 16, 2, 16, 32},
	{40823, 16741, 32, 576, 1184, 480},
	{52114, 45250, 32, 4096, 2176, 1920},
	{1901, 55074, 16, 196, 48, 1040},
	{42532, 3399, 14, 2, 28, 14},
	{24366, 30741, 14, 729, 336, 420},
	{35636, 6683, 32, 196, 1024, 192},
	{860, 47919, 14, 729, 56, 2548},
	{18317, 11933, 16, 64, 160, 96},
	{49934, 52242, 14, 64, 112, 112},
	{40497, 40466, 16, 64, 128, 128},
	{8667, 117, 14, 196, 1372, 28},
	{50699, 14122, 14, 64, 210, 56},
	{18960, 20556, 14, 4096, 854, 938},
	{57418, 44423, 32, 196, 512, 384},
	{11906, 61668, 32, 196, 192, 1024},
	{63345, 63249, 16, 256, 256, 256},
	{1414, 23671, 16, 64, 32, 512},
	{61329, 9549, 16, 2, 32, 16},
	{21749, 19750, 32, 1, 32, 32},
	{39059, 44430, 32, 576, 704, 832},
	{4327, 20314, 16, 256, 112, 528},
	{31507, 45641, 16, 64, 112, 144},
	{31538, 30969, 32, 64, 256, 256},
	{3736, 16790, 14, 576, 154, 700},
	{55371, 26496, 14, 4096, 1288, 616},
	{51626, 27449, 16, 729, 576, 320},
	{37914, 55132, 14, 1024, 364, 532},
	{3063, 46384, 14, 196, 56, 686},
	{7801, 49528, 14, 1024, 182, 1092},
	{22570, 33587, 16, 4096, 832, 1248},
}

func TestNaFlexSizeMatchesHuggingFace(t *testing.T) {
	for _, c := range naflexSizeCases {
		th, tw, err := NaFlexSize(c[0], c[1], c[2], c[3])
		require.NoError(t, err)
		assert.Equal(t, [2]int{c[4], c[5]}, [2]int{th, tw}, "image %d×%d (h×w), patch %d, budget %d", c[0], c[1], c[2], c[3])
	}
}

func TestNaFlexSizeErrors(t *testing.T) {
	for _, c := range [][4]int{{0, 5, 16, 256}, {5, 0, 16, 256}, {5, 5, 0, 256}, {5, 5, 16, 0}, {-1, 5, 16, 256}} {
		_, _, err := NaFlexSize(c[0], c[1], c[2], c[3])
		assert.Error(t, err, "%v", c)
	}
}

// checkNaFlexSize asserts what every NaFlex size must satisfy.
func checkNaFlexSize(t *testing.T, h, w, p, budget, th, tw int) {
	t.Helper()
	if th%p != 0 || tw%p != 0 || th < p || tw < p {
		t.Fatalf("%d×%d p%d budget %d: size %d×%d is not a positive multiple of the patch", h, w, p, budget, th, tw)
	}
	if (th/p)*(tw/p) > budget {
		t.Fatalf("%d×%d p%d budget %d: %d×%d patches exceed the budget", h, w, p, budget, th/p, tw/p)
	}
	// The scale never exceeds 100 (HF's upper bound), so no side exceeds
	// 100× the input rounded up to a patch.
	if th > max(p, (h*100+p-1)/p*p) || tw > max(p, (w*100+p-1)/p*p) {
		t.Fatalf("%d×%d p%d budget %d: size %d×%d is more than 100× the image", h, w, p, budget, th, tw)
	}
}

// FuzzNaFlexSize explores sides in [1, 65535], patch sizes 1–64 and any
// budget ≥ 1: no panic, and the size invariants hold.
func FuzzNaFlexSize(f *testing.F) {
	for _, c := range naflexSizeCases {
		f.Add(uint16(c[0]), uint16(c[1]), uint8(c[2]), uint32(c[3]))
	}
	f.Fuzz(func(t *testing.T, h16, w16 uint16, p8 uint8, budget32 uint32) {
		h, w, p, budget := max(int(h16), 1), max(int(w16), 1), int(p8%64)+1, max(int(budget32), 1)
		th, tw, err := NaFlexSize(h, w, p, budget)
		if err != nil {
			t.Fatal(err)
		}
		checkNaFlexSize(t, h, w, p, budget, th, tw)
	})
}

// TestNaFlexLayout checks the patch order on a synthetic image: patch
// (row, column) raster order, each patch flattened (row, column, channel),
// padding rows zero with mask 0.
func TestNaFlexLayout(t *testing.T) {
	const p = 2
	img := NewRGB(4, 2) // already 2×1 patches of 2: no resize happens
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	cfg := Config{Kind: KindNaFlex, PatchSize: p, MaxNumPatches: 3, Resample: Bilinear, DoResize: false}
	got, err := NaFlex(img, cfg, 0)
	require.NoError(t, err)
	assert.Equal(t, [2]int{1, 2}, [2]int{got.GridH, got.GridW})
	assert.Equal(t, []int32{1, 1, 0}, got.Mask)
	// Pixel (x, y) channel c holds (y*4+x)*3+c.
	want := []uint8{
		0, 1, 2, 3, 4, 5, 12, 13, 14, 15, 16, 17, // patch 0: (0,0) (1,0) (0,1) (1,1)
		6, 7, 8, 9, 10, 11, 18, 19, 20, 21, 22, 23, // patch 1
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // padding
	}
	assert.Equal(t, want, got.ValuesU8())
	for i, v := range want {
		assert.Equal(t, float32(v), got.Values[i], "no rescale, no normalise: the samples as float32")
	}
	_, err = NaFlex(NewRGB(5, 2), cfg, 0)
	assert.Error(t, err, "without resizing the sides must be multiples of the patch")
}

// TestResizeHandComputed checks the resampler on cases small enough to work
// out from PIL's algorithm by hand.
func TestResizeHandComputed(t *testing.T) {
	row := func(v ...uint8) *RGB {
		img := NewRGB(len(v), 1)
		for i, x := range v {
			img.Pix[3*i], img.Pix[3*i+1], img.Pix[3*i+2] = x, x, x
		}
		return img
	}
	gray := func(img *RGB) []uint8 {
		out := make([]uint8, img.W*img.H)
		for i := range out {
			out[i] = img.Pix[3*i]
		}
		return out
	}
	// Halving with bilinear: the support widens to 2 source pixels; pixel
	// centres 0.5 and 1.5 from the output centre weigh 0.75 and 0.25, and the
	// weights of the pixels inside the image are normalised to sum to one.
	// Output 0 (centre 1.0): pixels 0, 1, 2 weigh .75, .75, .25:
	//   (0·.75 + 100·.75 + 200·.25) / 1.75 = 71.43 → 71.
	// Output 1 (centre 3.0): pixels 1, 2, 3 weigh .25, .75, .75:
	//   (100·.25 + 200·.75 + 40·.75) / 1.75 = 117.14 → 117.
	got, err := Resize(row(0, 100, 200, 40), 2, 1, Bilinear)
	require.NoError(t, err)
	assert.Equal(t, []uint8{71, 117}, gray(got))
	// Doubling with bilinear: support 1, output centres 0.25, 0.75, 1.25, 1.75
	// in source units; edge outputs only see the edge pixel inside.
	//   out0: pixel 0 only → 0; out1: .75·0 + .25·100 = 25;
	//   out2: .25·0 + .75·100 = 75; out3: pixel 1 only → 100.
	got, err = Resize(row(0, 100), 4, 1, Bilinear)
	require.NoError(t, err)
	assert.Equal(t, []uint8{0, 25, 75, 100}, gray(got))
}

// TestResizeIdentityAndNearest: same size copies; nearest picks PIL's pixels.
func TestResizeIdentityAndNearest(t *testing.T) {
	img := NewRGB(4, 1)
	for i := range img.Pix {
		img.Pix[i] = uint8(10 * (i / 3))
	}
	same, err := Resize(img, 4, 1, Bicubic)
	require.NoError(t, err)
	assert.Equal(t, img.Pix, same.Pix)
	// Nearest 4→2: centres 1.0 and 3.0 → source pixels 1 and 3.
	n, err := Resize(img, 2, 1, Nearest)
	require.NoError(t, err)
	assert.Equal(t, []uint8{10, 10, 10, 30, 30, 30}, n.Pix)
	// Nearest 2→5: step 0.4, centres 0.2, 0.6, 1.0, 1.4, 1.8.
	two := &RGB{W: 2, H: 1, Pix: []uint8{1, 1, 1, 2, 2, 2}}
	n, err = Resize(two, 5, 1, Nearest)
	require.NoError(t, err)
	assert.Equal(t, []uint8{1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2}, n.Pix)
	_, err = Resize(img, 0, 1, Bilinear)
	assert.Error(t, err)
	_, err = Resize(img, 2, 1, Filter(9))
	assert.Error(t, err)
}

// FuzzDecode feeds arbitrary bytes to Decode: it must return an image or an
// error, never panic, and never return an image with a wrong buffer size.
func FuzzDecode(f *testing.F) {
	var buf bytes.Buffer
	_ = jpeg.Encode(&buf, gradientImage(9, 7), nil)
	f.Add(buf.Bytes())
	f.Add(withJPEGSegment(buf.Bytes(), 0xe1, append([]byte("Exif\x00\x00"), exifBlock(6, false)...)))
	f.Add(encodePNGBytes(gradientImage(5, 3)))
	f.Add(pngHeader(3, 3))
	f.Add([]byte("GIF89a\x02\x00\x02\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff\x2c\x00\x00\x00\x00\x02\x00\x02\x00\x00\x02\x02\x44\x01\x00\x3b"))
	f.Add([]byte("RIFF\x00\x00\x00\x00WEBPVP8 "))
	f.Add([]byte("BM"))
	f.Add([]byte("II*\x00\x08\x00\x00\x00"))
	for _, name := range []string{"prog2x2.jpg", "rst2x1.jpg", "s4x1.jpg", "gray.jpg", "cmyk.jpg", "lossy.webp", "alpha.webp"} {
		b, err := os.ReadFile(filepath.Join(testdataDir, "decode", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	tiny := func(int, int) (int, int) { return 1, 1 } // fast path at the smallest scale
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opts := range []DecodeOptions{{MaxPixels: 1 << 20}, {MaxPixels: 1 << 20, FastTarget: tiny}} {
			img, err := Decode(data, opts)
			if err != nil {
				continue
			}
			if img.W <= 0 || img.H <= 0 || len(img.Pix) != img.W*img.H*3 {
				t.Fatalf("decoded a %d×%d image with %d samples", img.W, img.H, len(img.Pix))
			}
		}
	})
}

func encodePNGBytes(m image.Image) []byte {
	var buf bytes.Buffer
	_ = png.Encode(&buf, m)
	return buf.Bytes()
}

// FuzzEXIF: the orientation parsers accept any bytes.
func FuzzEXIF(f *testing.F) {
	f.Add(exifBlock(6, false))
	f.Add(exifBlock(8, true))
	f.Add([]byte("MM\x00*\x00\x00\x00\x08\x00\x02"))
	f.Add([]byte(`tiff:Orientation="3"`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if o := exifOrientation(b); o < 0 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
		if o := xmpOrientation(b); o < 0 || o > 8 {
			t.Fatalf("XMP orientation %d", o)
		}
		exif, xmp := pngMetadata(b)
		_, _ = webpMetadata(b)
		_ = orientation(exif, xmp)
		_, _ = scanJPEG(b)
		_, _ = parseGIF(b)
	})
}
