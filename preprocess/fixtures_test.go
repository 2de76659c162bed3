package preprocess

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gosig/gosig/safetensors"
)

// The truth in these tests is the reference fixtures in ../testdata/models
// (see ../testdata/README.md): tensors that Hugging Face's
// Siglip2ImageProcessor and SiglipImageProcessor (PIL underneath) produced
// for six images, stored with the images, the preprocessor configs and a
// manifest.json naming every tensor. Every comparison is exact: decoding (the
// JPEG included), resizing, rescaling and normalising all reproduce PIL and
// numpy bit for bit.

// testdataDir holds this package's own test files (decode/).
const testdataDir = "../testdata/preprocess"

// fixturesDir holds the reference fixtures, one folder each.
const fixturesDir = "../testdata/models"

// fixtureImages are the manifests' images, in their order (the same six
// files in every fixture).
var fixtureImages = []string{
	"img0_640x480.png",
	"img1_200x900.png",
	"img2_1024x256.png",
	"img3_37x53.jpg",
	"img4_gray_300x200.png",
	"img5_rgba_96x128.png",
}

// jpegFixture is the index of the one JPEG among the fixture images.
const jpegFixture = 3

func openExpected(t testing.TB, fixture string) *safetensors.File {
	t.Helper()
	f, err := safetensors.Open(filepath.Join(fixturesDir, fixture, "expected.safetensors"))
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}

func decodeFixtureImage(t testing.TB, i int) *RGB {
	t.Helper()
	img, err := DecodeFile(filepath.Join(fixturesDir, "siglip2_tiny_p16", "images", fixtureImages[i]), DecodeOptions{})
	require.NoError(t, err)
	return img
}

func loadFixtureConfig(t testing.TB, fixture string) Config {
	t.Helper()
	cfg, err := LoadConfig(filepath.Join(fixturesDir, fixture))
	require.NoError(t, err)
	return cfg
}

// fixtureRuns reads which images each NaFlex patch budget was run on.
func fixtureRuns(t testing.TB, fixture string) map[int][]int {
	t.Helper()
	var m struct {
		Runs []struct {
			MaxNumPatches int   `json:"max_num_patches"`
			Images        []int `json:"images"`
		} `json:"runs"`
	}
	b, err := os.ReadFile(filepath.Join(fixturesDir, fixture, "manifest.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &m))
	runs := map[int][]int{}
	for _, r := range m.Runs {
		runs[r.MaxNumPatches] = r.Images
	}
	return runs
}

// TestNaFlexMatchesHuggingFace checks, for every image and both patch budgets
// of the three NaFlex fixtures, that the resized uint8 pixels in patch layout,
// the attention mask and the spatial shapes equal Hugging Face's exactly, and
// that the float values equal float32(float64(u8)/255) then (x−0.5)/0.5
// bit for bit (the fixtures' stated recipe; padded rows 0).
func TestNaFlexMatchesHuggingFace(t *testing.T) {
	for _, fx := range []string{"siglip2_tiny_p16", "siglip2_odd_p14", "siglip2_tiny_p16_cls"} {
		exp := openExpected(t, fx)
		cfg := loadFixtureConfig(t, fx)
		require.Equal(t, KindNaFlex, cfg.Kind)
		runs := fixtureRuns(t, fx)
		require.Len(t, runs, 2)
		for mnp, images := range runs {
			prefix := fmt.Sprintf("naflex.mnp%d.", mnp)
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
					p, err := NaFlex(decodeFixtureImage(t, idx), cfg, mnp)
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

// TestFixResMatchesHuggingFace compares SiglipImageProcessor's float32 output
// (bicubic resize to 64×64, rescale, normalise, CHW) for all six images. The
// tolerance is zero: PIL's resize is reproduced bit for bit and the float
// steps are the same IEEE operations.
func TestFixResMatchesHuggingFace(t *testing.T) {
	exp := openExpected(t, "siglip_tiny_fixres")
	want, shape, err := exp.Float32("fixres.pixel_values")
	require.NoError(t, err)
	cfg := loadFixtureConfig(t, "siglip_tiny_fixres")
	require.Equal(t, KindFixRes, cfg.Kind)
	require.Equal(t, Bicubic, cfg.Resample)
	require.Equal(t, []int{len(fixtureImages), 3, cfg.Height, cfg.Width}, shape)
	n := 3 * cfg.Height * cfg.Width
	for i, name := range fixtureImages {
		t.Run(name, func(t *testing.T) {
			got, err := FixRes(decodeFixtureImage(t, i), cfg)
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
// 37×53) with PIL's, which every fixture stores: equal, sample for sample.
func TestJPEGDecodeAgainstPIL(t *testing.T) {
	pix, shape, err := openExpected(t, "siglip2_tiny_p16").Uint8(fmt.Sprintf("image.%d.decoded_rgb_u8", jpegFixture))
	require.NoError(t, err)
	got := decodeFixtureImage(t, jpegFixture)
	require.Equal(t, []int{got.H, got.W, 3}, shape)
	n, first := countDiff(pix, got.Pix)
	require.Zero(t, n, "%d samples differ from PIL's decode, first at %d", n, first)
}
