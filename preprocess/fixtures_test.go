package preprocess

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gosig/gosig/safetensors"
)

// The truth in these tests is ../testdata/preprocess/expected.safetensors:
// tensors that Hugging Face's Siglip2ImageProcessor and SiglipImageProcessor
// (PIL underneath) produced for the six images in testdata/preprocess/images,
// extracted from the shared reference fixtures by testdata/preprocess/gen.go.
// Every comparison is exact: decoding (the JPEG included), resizing,
// rescaling and normalising all reproduce PIL and numpy bit for bit.

const testdataDir = "../testdata/preprocess"

// fixtureImages are the manifest's images, in its order.
var fixtureImages = []string{
	"img0_640x480.png",
	"img1_200x900.png",
	"img2_1024x256.png",
	"img3_37x53.jpg",
	"img4_gray_300x200.png",
	"img5_rgba_96x128.png",
}

func openExpected(t testing.TB) *safetensors.File {
	t.Helper()
	f, err := safetensors.Open(filepath.Join(testdataDir, "expected.safetensors"))
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}

func decodeFixtureImage(t testing.TB, i int) *RGB {
	t.Helper()
	img, err := DecodeFile(filepath.Join(testdataDir, "images", fixtureImages[i]), DecodeOptions{})
	require.NoError(t, err)
	return img
}

func loadFixtureConfig(t testing.TB, fixture string) Config {
	t.Helper()
	cfg, err := LoadConfig(filepath.Join(testdataDir, fixture))
	require.NoError(t, err)
	return cfg
}

// jpegFixture is the index of the one JPEG among the fixture images.
const jpegFixture = 3

// pilDecodedJPEG returns PIL's RGB decode of the fixture JPEG, stored with the
// fixtures.
func pilDecodedJPEG(t testing.TB, exp *safetensors.File) *RGB {
	t.Helper()
	pix, shape, err := exp.Uint8("siglip_tiny_fixres/image.3.decoded_rgb_u8")
	require.NoError(t, err)
	return &RGB{W: shape[1], H: shape[0], Pix: pix}
}

func absDiffStats(a, b []uint8) (maxDiff int, mean float64) {
	sum := 0
	for i := range a {
		d := int(a[i]) - int(b[i])
		if d < 0 {
			d = -d
		}
		maxDiff = max(maxDiff, d)
		sum += d
	}
	return maxDiff, float64(sum) / float64(len(a))
}

// TestNaFlexMatchesHuggingFace checks, for every image and both patch budgets
// of the three NaFlex fixtures, that the resized uint8 pixels in patch layout,
// the attention mask and the spatial shapes equal Hugging Face's exactly, and
// that the float values equal float32(float64(u8)/255) then (x−0.5)/0.5
// bit for bit (the fixtures' stated recipe; padded rows 0).
func TestNaFlexMatchesHuggingFace(t *testing.T) {
	exp := openExpected(t)
	meta := exp.Metadata()
	for _, fx := range []string{"siglip2_tiny_p16", "siglip2_odd_p14", "siglip2_tiny_p16_cls"} {
		cfg := loadFixtureConfig(t, fx)
		require.Equal(t, KindNaFlex, cfg.Kind)
		for _, mnp := range []int{64, 256} {
			prefix := fmt.Sprintf("%s/naflex.mnp%d.", fx, mnp)
			var images []int
			require.NoError(t, json.Unmarshal([]byte(meta[prefix+"images"]), &images))
			u8, shape, err := exp.Uint8(prefix + "pixel_values_u8")
			require.NoError(t, err)
			mask, _, err := exp.Int32(prefix + "pixel_attention_mask")
			require.NoError(t, err)
			shapes, _, err := exp.Int64(prefix + "spatial_shapes")
			require.NoError(t, err)
			rowLen := cfg.PatchSize * cfg.PatchSize * 3
			require.Equal(t, []int{len(images), mnp, rowLen}, shape)
			for b, idx := range images {
				t.Run(fmt.Sprintf("%s/mnp%d/%s", fx, mnp, fixtureImages[idx]), func(t *testing.T) {
					img := decodeFixtureImage(t, idx)
					p, err := NaFlex(img, cfg, mnp)
					require.NoError(t, err)
					require.Equal(t, []int64{shapes[2*b], shapes[2*b+1]}, []int64{int64(p.GridH), int64(p.GridW)}, "spatial_shapes")
					require.Equal(t, mask[b*mnp:(b+1)*mnp], p.Mask, "pixel_attention_mask")
					want := u8[b*mnp*rowLen : (b+1)*mnp*rowLen]
					got := p.ValuesU8()
					if n, first := countDiff(want, got); n > 0 {
						t.Fatalf("%d of %d uint8 samples differ from PIL's; first at %d (patch %d): want %d, got %d",
							n, len(want), first, first/rowLen, want[first], got[first])
					}
					for i, v := range want {
						x := float32(0)
						if p.Mask[i/rowLen] == 1 {
							x = (float32(float64(v)*(1.0/255)) - 0.5) / 0.5
						}
						if math.Float32bits(x) != math.Float32bits(p.Values[i]) {
							t.Fatalf("value %d: want %g (from u8 %d), got %g", i, x, v, p.Values[i])
						}
					}
				})
			}
		}
	}
}

func countDiff(a, b []uint8) (n, first int) {
	first = -1
	for i := range a {
		if a[i] != b[i] {
			if first < 0 {
				first = i
			}
			n++
		}
	}
	return n, first
}

// TestFixResMatchesHuggingFace compares SiglipImageProcessor's float32 output
// (bicubic resize to 64×64, rescale, normalise, CHW) for all six images. The
// tolerance is zero: PIL's resize is reproduced bit for bit and the float
// steps are the same IEEE operations.
func TestFixResMatchesHuggingFace(t *testing.T) {
	exp := openExpected(t)
	want, shape, err := exp.Float32("siglip_tiny_fixres/fixres.pixel_values")
	require.NoError(t, err)
	cfg := loadFixtureConfig(t, "siglip_tiny_fixres")
	require.Equal(t, KindFixRes, cfg.Kind)
	require.Equal(t, Bicubic, cfg.Resample)
	require.Equal(t, []int{len(fixtureImages), 3, cfg.Height, cfg.Width}, shape)
	n := 3 * cfg.Height * cfg.Width
	for i, name := range fixtureImages {
		t.Run(name, func(t *testing.T) {
			img := decodeFixtureImage(t, i)
			got, err := FixRes(img, cfg)
			require.NoError(t, err)
			require.Len(t, got, n)
			bad, first := 0, -1
			for j, v := range want[i*n : (i+1)*n] {
				if math.Float32bits(v) != math.Float32bits(got[j]) {
					if first < 0 {
						first = j
					}
					bad++
				}
			}
			if bad > 0 {
				t.Fatalf("%d of %d values differ; first at %d: want %g, got %g", bad, n, first, want[i*n+first], got[first])
			}
		})
	}
}

// TestJPEGDecodeAgainstPIL compares the decode of the fixture JPEG (4:4:4,
// 37×53) with PIL's: equal, sample for sample.
func TestJPEGDecodeAgainstPIL(t *testing.T) {
	exp := openExpected(t)
	want := pilDecodedJPEG(t, exp)
	got := decodeFixtureImage(t, jpegFixture)
	require.Equal(t, [2]int{want.W, want.H}, [2]int{got.W, got.H})
	n, first := countDiff(want.Pix, got.Pix)
	require.Zero(t, n, "%d samples differ from PIL's decode, first at %d", n, first)
}
