package preprocess

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// decodeBothWays decodes data and makes NaFlex patches twice: with the AVX2
// kernels (where built) and two-coefficient Huffman lookups, and with the
// pure Go code and one coefficient per lookup. It flips package switches, so
// its callers must not run in parallel with other tests.
func decodeBothWays(t *testing.T, data []byte, opts DecodeOptions) {
	defer func(on bool) { setAVX2(on); pairSymbols = true }(useAVX2)
	var imgs [2]*RGB
	var errs [2]error
	var patches [2]*Patches
	for i, on := range []bool{true, false} {
		setAVX2(on)
		pairSymbols = on
		imgs[i], errs[i] = Decode(data, opts)
		if errs[i] == nil {
			patches[i], errs[i] = NaFlex(imgs[i], benchCfg, 64)
		}
	}
	require.Equal(t, errs[0] == nil, errs[1] == nil, "AVX2: %v; Go: %v", errs[0], errs[1])
	if errs[0] != nil {
		require.Equal(t, errs[0].Error(), errs[1].Error())
		return
	}
	require.Equal(t, imgs[1].W, imgs[0].W)
	require.Equal(t, imgs[1].H, imgs[0].H)
	if n, first := countDiff(imgs[1].Pix, imgs[0].Pix); n > 0 {
		t.Fatalf("%d decoded samples differ, first at %d", n, first)
	}
	for i, v := range patches[1].Values {
		if math.Float32bits(v) != math.Float32bits(patches[0].Values[i]) {
			t.Fatalf("patch value %d differs: %g, reference %g", i, patches[0].Values[i], v)
		}
	}
}

// FuzzDecodeKernels decodes arbitrary bytes with the fast code (AVX2
// kernels where built, two-coefficient Huffman lookups) and with the plain
// code: both must fail alike or give the same pixels and patches. The seeds
// are the decoder test files (every chroma layout, progressive, restart
// markers) and photo-like JPEGs of awkward sizes.
func FuzzDecodeKernels(f *testing.F) {
	names, err := filepath.Glob(filepath.Join(testdataDir, "decode", "*.jpg"))
	require.NoError(f, err)
	for _, name := range names {
		b, err := os.ReadFile(name)
		require.NoError(f, err)
		f.Add(b)
	}
	for _, size := range [][2]int{{131, 77}, {40, 300}} {
		var buf bytes.Buffer
		require.NoError(f, jpeg.Encode(&buf, syntheticPhoto(size[0], size[1], 5), &jpeg.Options{Quality: 95}))
		f.Add(buf.Bytes())
	}
	tiny := func(int, int) (int, int) { return 1, 1 }
	f.Fuzz(func(t *testing.T, data []byte) {
		decodeBothWays(t, data, DecodeOptions{MaxPixels: 1 << 20})
		decodeBothWays(t, data, DecodeOptions{MaxPixels: 1 << 20, FastTarget: tiny})
	})
}

// TestConcurrentDecode runs Decode and NaFlex from several goroutines at
// once, as the bulk pipeline does, on images of different sizes and layouts
// (so that pooled scratch buffers change hands between sizes), and requires
// each result to equal the one computed alone. Run it with -race.
func TestConcurrentDecode(t *testing.T) {
	var inputs [][]byte
	for _, name := range []string{"s2x2.jpg", "s1x1.jpg", "prog2x2.jpg", "rst2x1.jpg", "gray.jpg", "s4x1.jpg"} {
		b, err := os.ReadFile(filepath.Join(testdataDir, "decode", name))
		require.NoError(t, err)
		inputs = append(inputs, b)
	}
	for i, size := range [][2]int{{320, 200}, {97, 333}} {
		var buf bytes.Buffer
		require.NoError(t, jpeg.Encode(&buf, syntheticPhoto(size[0], size[1], int64(i)), &jpeg.Options{Quality: 90}))
		inputs = append(inputs, buf.Bytes())
	}
	want := make([][]float32, len(inputs))
	for i, data := range inputs {
		img, err := Decode(data, DecodeOptions{})
		require.NoError(t, err)
		p, err := NaFlex(img, benchCfg, 64)
		require.NoError(t, err)
		want[i] = p.Values
	}
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for rep := 0; rep < 10; rep++ {
				i := (g + rep) % len(inputs)
				img, err := Decode(inputs[i], DecodeOptions{})
				if err == nil {
					var p *Patches
					if p, err = NaFlex(img, benchCfg, 64); err == nil {
						for j, v := range p.Values {
							if math.Float32bits(v) != math.Float32bits(want[i][j]) {
								err = fmt.Errorf("input %d: value %d is %g, alone %g", i, j, v, want[i][j])
								break
							}
						}
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		require.NoError(t, <-errs)
	}
}
