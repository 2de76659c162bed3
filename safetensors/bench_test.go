package safetensors

import (
	"bytes"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// benchFile is a 4M-element tensor in each float dtype (16 MB as F32).
func benchFile(b *testing.B) *File {
	b.Helper()
	r := rand.New(rand.NewPCG(3, 4))
	v := make([]float32, 4<<20)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	var buf bytes.Buffer
	if err := Write(&buf, []Tensor{
		Float32Tensor("f32", []int{len(v)}, v),
		Float16Tensor("f16", []int{len(v)}, v),
		BFloat16Tensor("bf16", []int{len(v)}, v),
	}, nil); err != nil {
		b.Fatal(err)
	}
	f, err := Parse(buf.Bytes())
	if err != nil {
		b.Fatal(err)
	}
	return f
}

// BenchmarkFloat32 measures conversion to float32, in output GB/s.
func BenchmarkFloat32(b *testing.B) {
	f := benchFile(b)
	for _, name := range []string{"f32", "f16", "bf16"} {
		b.Run(name, func(b *testing.B) {
			info, _ := f.Info(name)
			for b.Loop() {
				if _, _, err := f.Float32(name); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(4*info.NumElements())*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	}
}

// BenchmarkOpen measures opening (mapping and validating the header of) the
// 9.5 MB shapes-siglip2 checkpoint, which must not read its tensors.
func BenchmarkOpen(b *testing.B) {
	path := filepath.Join("..", "testdata", "models", "shapes-siglip2", ModelFile)
	for b.Loop() {
		f, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "opens/s")
}
