package preprocess

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gosig/gosig/internal/cputime"
)

// syntheticPhoto draws a deterministic, photo-like w×h picture: smooth
// shading and edges (a few octaves of value noise, as in terrain or sky) with
// fine texture on top, so that a JPEG of it has the spectrum of a natural
// image rather than of a flat test card.
func syntheticPhoto(w, h int, seed int64) *image.RGBA {
	rng := rand.New(rand.NewSource(seed))
	type octave struct {
		n    int
		amp  float64
		grid []float64
	}
	var octs []octave
	amp := 1.0
	for _, n := range []int{3, 7, 17, 41, 97, 233} {
		g := make([]float64, (n+2)*(n+2))
		for i := range g {
			g[i] = rng.Float64()
		}
		octs = append(octs, octave{n, amp, g})
		amp *= 0.55
	}
	noise := func(fx, fy float64) float64 { // fx, fy in [0, 1)
		v, norm := 0.0, 0.0
		for _, o := range octs {
			x, y := fx*float64(o.n), fy*float64(o.n)
			ix, iy := int(x), int(y)
			tx, ty := x-float64(ix), y-float64(iy)
			tx, ty = tx*tx*(3-2*tx), ty*ty*(3-2*ty)
			s := o.n + 2
			a := o.grid[iy*s+ix]*(1-tx) + o.grid[iy*s+ix+1]*tx
			b := o.grid[(iy+1)*s+ix]*(1-tx) + o.grid[(iy+1)*s+ix+1]*tx
			v += o.amp * (a*(1-ty) + b*ty)
			norm += o.amp
		}
		return v / norm
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx, fy := float64(x)/float64(w), float64(y)/float64(h)
			v := noise(fx, fy)
			t := noise(fy*0.93+0.03, fx*0.97+0.01)
			grain := (rng.Float64() - 0.5) * 10
			r := 255*(0.2+0.8*v) + 40*math.Sin(12*t) + grain
			g := 255*(0.15+0.7*t) + grain
			b := 255*(1-v)*(0.5+0.5*fy) + grain
			img.SetRGBA(x, y, color.RGBA{clampF(r), clampF(g), clampF(b), 255})
		}
	}
	return img
}

func clampF(v float64) uint8 { return uint8(math.Max(0, math.Min(255, math.Round(v)))) }

// benchJPEG is a 1920×1080 synthetic photo as a quality-90 JPEG (image/jpeg,
// 4:2:0), made once; GOSIG_BENCH_JPEG names a file to use instead (to time
// the same file as tools/pilbench does with PIL).
var benchJPEG = sync.OnceValue(func() []byte {
	if path := os.Getenv("GOSIG_BENCH_JPEG"); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			panic(err)
		}
		return data
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, syntheticPhoto(1920, 1080, 1), &jpeg.Options{Quality: 90}); err != nil {
		panic(err)
	}
	return buf.Bytes()
})

var benchCfg = Config{
	Kind: KindNaFlex, PatchSize: 16, MaxNumPatches: 256, Resample: Bilinear,
	DoResize: true, DoRescale: true, DoNormalize: true, RescaleFactor: 1.0 / 255,
	ImageMean: [3]float64{0.5, 0.5, 0.5}, ImageStd: [3]float64{0.5, 0.5, 0.5},
}

func decodeNaFlex(b *testing.B, data []byte, opts DecodeOptions) {
	img, err := Decode(data, opts)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := NaFlex(img, benchCfg, 256); err != nil {
		b.Fatal(err)
	}
}

// benchmarkPipeline reports ms per image on one goroutine, then images/s
// with every core busy (b.RunParallel). Besides wall-clock time it reports
// the process's CPU time per image (cpu-ms/image; images/cpu-s in the
// parallel run): on a machine shared with other work, wall time also counts
// the waits for a core, CPU time only the work. Run the serial part with
// -cpu 1 so that the garbage collector's CPU time is counted on that core
// too.
func benchmarkPipeline(b *testing.B, opts DecodeOptions) {
	data := benchJPEG()
	decodeNaFlex(b, data, opts) // warm-up
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		start, cpu := time.Now(), cputime.Process().Seconds()
		for b.Loop() {
			decodeNaFlex(b, data, opts)
		}
		b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/image")
		b.ReportMetric((cputime.Process().Seconds()-cpu)*1000/float64(b.N), "cpu-ms/image")
	})
	b.Run("parallel", func(b *testing.B) {
		start, cpu := time.Now(), cputime.Process().Seconds()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				decodeNaFlex(b, data, opts)
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "images/s")
		b.ReportMetric(float64(b.N)/(cputime.Process().Seconds()-cpu), "images/cpu-s")
		b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "cores")
	})
}

// BenchmarkDecodeNaFlex256 is decode + NaFlex (256 patches of 16) of a
// 1920×1080 quality-90 4:2:0 JPEG on the exact path: the work Hugging
// Face's Siglip2ImageProcessor (PIL with libjpeg-turbo) does in about 15 ms
// on one thread of the development machine (2 cores of a 2.3 GHz Xeon,
// shared with other work). Measured there by CPU time with -cpu 1,
// alternating binaries, 10 runs each: 13.5–14.8 ms (minimum–median) per
// image, against 37–51 ms for the code before the AVX2 kernels and the
// streaming decoder, and 42–44 ms with -tags purego. In one profile of
// 14.6 ms: entropy decoding 5.3, inverse DCT 3.2, upsampling and colour
// conversion 1.7, zeroing the new image 0.8, resize 2.8 (of which 0.8
// splitting RGB into planes), patches 0.2. With both cores (-cpu 2): about
// 60 images per CPU-second, so about 120 images/s when the cores are free
// (16–20 before).
func BenchmarkDecodeNaFlex256(b *testing.B) {
	benchmarkPipeline(b, DecodeOptions{})
}

// BenchmarkDecodeNaFlex256Fast is the same with the fast path (DCT-domain
// downscaled JPEG decoding), at the default oversampling and at 2: 6.8–7.3
// and 9.5–10.4 CPU ms per image on the development machine (9.5–9.7 and
// 16–19 before), 2 and 1.4 times less than the exact path. Entropy
// decoding, the same on both paths, is 60% of what is left.
func BenchmarkDecodeNaFlex256Fast(b *testing.B) {
	benchmarkPipeline(b, DecodeOptions{FastTarget: benchCfg.Target(256)})
}

func BenchmarkDecodeNaFlex256FastOversample2(b *testing.B) {
	benchmarkPipeline(b, DecodeOptions{FastTarget: benchCfg.Target(256), FastOversample: 2})
}

// BenchmarkStages times each step of the exact path on the 1920×1080 JPEG.
func BenchmarkStages(b *testing.B) {
	data := benchJPEG()
	img, err := Decode(data, DecodeOptions{})
	if err != nil {
		b.Fatal(err)
	}
	th, tw, _ := NaFlexSize(img.H, img.W, 16, 256)
	resized, _ := Resize(img, tw, th, Bilinear)
	cpuBench(b, "decode", func() {
		if _, err := Decode(data, DecodeOptions{}); err != nil {
			b.Fatal(err)
		}
	})
	cpuBench(b, "resize", func() {
		if _, err := Resize(img, tw, th, Bilinear); err != nil {
			b.Fatal(err)
		}
	})
	cpuBench(b, "patchify", func() { patchesOf(resized, benchCfg, 256) })
}

// cpuBench runs f as a benchmark reporting CPU ms per call.
func cpuBench(b *testing.B, name string, f func()) {
	b.Run(name, func(b *testing.B) {
		cpu := cputime.Process().Seconds()
		for b.Loop() {
			f()
		}
		b.ReportMetric((cputime.Process().Seconds()-cpu)*1000/float64(b.N), "cpu-ms/op")
	})
}
