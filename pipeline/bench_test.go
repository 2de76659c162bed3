package pipeline

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"golang.org/x/sync/errgroup"

	"github.com/gosig/gosig/siglip2"
)

const benchModel = "../testdata/models/shapes-siglip2"

// benchJPEGs returns n generated 1920×1080 JPEGs (4:2:0, quality 90):
// a smooth two-colour gradient, a few filled discs and boxes, and mild
// noise, so that they compress and decode like photographs rather than
// flat test cards. They are deterministic (image i from seed i) and
// generated once into $TMPDIR/gosig-bench-1080p, where later runs find
// them; they are never committed.
func benchJPEGs(b *testing.B, n int) []string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), "gosig-bench-1080p")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	paths := make([]string, n)
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i := range n {
		paths[i] = filepath.Join(dir, fmt.Sprintf("img%04d.jpg", i))
		if _, err := os.Stat(paths[i]); err == nil {
			continue
		}
		g.Go(func() error { return writeBenchJPEG(paths[i], uint64(i)) })
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	return paths
}

func writeBenchJPEG(path string, seed uint64) error {
	const w, h = 1920, 1080
	rng := rand.New(rand.NewPCG(seed, 1080))
	c0 := [3]float64{rng.Float64() * 255, rng.Float64() * 255, rng.Float64() * 255}
	c1 := [3]float64{rng.Float64() * 255, rng.Float64() * 255, rng.Float64() * 255}
	type blob struct {
		x, y, r float64
		disc    bool
		c       color.RGBA
	}
	blobs := make([]blob, 3+rng.IntN(4))
	for i := range blobs {
		blobs[i] = blob{rng.Float64() * w, rng.Float64() * h, 60 + rng.Float64()*300, rng.IntN(2) == 0,
			color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255}}
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			t := (float64(x)/w + float64(y)/h) / 2
			var px [3]float64
			for c := range 3 {
				px[c] = c0[c]*(1-t) + c1[c]*t + rng.NormFloat64()*6
			}
			for _, bl := range blobs {
				dx, dy := float64(x)-bl.x, float64(y)-bl.y
				if (bl.disc && dx*dx+dy*dy < bl.r*bl.r) || (!bl.disc && math.Abs(dx) < bl.r && math.Abs(dy) < bl.r/2) {
					px = [3]float64{float64(bl.c.R), float64(bl.c.G), float64(bl.c.B)}
				}
			}
			i := img.PixOffset(x, y)
			for c := range 3 {
				img.Pix[i+c] = uint8(max(0, min(255, px[c])))
			}
			img.Pix[i+3] = 255
		}
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 90}); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// BenchmarkEmbedJPEGs embeds 500 generated 1920×1080 JPEGs with the demo
// checkpoint through the whole pipeline (decode and NaFlex on every core,
// batches of 8, one GPU goroutine, JSONL encoding), exact and with
// FastDecode. It reports images/s, the share of wall time the GPU
// goroutine spent in forward passes (gpu-busy-%), and how long it waited
// for batches after the first (starved-s) and for the first (fill-s).
// GOSIG_BENCH_IMAGES and GOSIG_BENCH_DEVICE (gpu or cpu) change the count
// and the executor.
func BenchmarkEmbedJPEGs(b *testing.B) {
	n := 500
	if s := os.Getenv("GOSIG_BENCH_IMAGES"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n <= 0 {
			b.Fatalf("GOSIG_BENCH_IMAGES=%q: want a positive count", s)
		}
	}
	device := os.Getenv("GOSIG_BENCH_DEVICE")
	paths := benchJPEGs(b, n)
	inputs := make([]Input, n)
	for i, p := range paths {
		inputs[i] = ImageInput(p)
	}
	for _, fast := range []bool{false, true} {
		b.Run(fmt.Sprintf("fast-decode=%t", fast), func(b *testing.B) {
			m, err := siglip2.Load(benchModel, siglip2.Options{Device: device, FastDecode: fast, BatchSize: 8})
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			out := NewJSONL(io.Discard)
			var total Stats
			b.ResetTimer()
			for range b.N {
				s, err := Run(context.Background(), inputs, EmbedStages(m), Options{BatchSize: 8}, func(rs []Result[[]float32]) error {
					ins := make([]Input, 0, len(rs))
					embs := make([][]float32, 0, len(rs))
					for _, r := range rs {
						if r.Err != nil {
							return r.Err
						}
						ins, embs = append(ins, r.Input), append(embs, r.Value)
					}
					return out.Write(ins, embs)
				})
				if err != nil {
					b.Fatal(err)
				}
				total.Images += s.Images
				total.Wall += s.Wall
				total.Busy += s.Busy
				total.Starved += s.Starved
				total.Fill += s.Fill
			}
			b.ReportMetric(float64(total.Images)/total.Wall.Seconds(), "images/s")
			b.ReportMetric(100*total.BusyFraction(), "gpu-busy-%")
			b.ReportMetric(total.Starved.Seconds()/float64(b.N), "starved-s")
			b.ReportMetric(total.Fill.Seconds()/float64(b.N), "fill-s")
		})
	}
}
