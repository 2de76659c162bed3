package gpuexec

import (
	"context"
	"strings"
	"testing"
)

// Benchmarks of one SigLIP2-base encoder layer's kernels (seq 256, hidden
// 768, 12 heads, MLP 3072), one sub-benchmark per kernel variant. Each
// iteration is one round of LayerCases' measurement (4 evaluations in one
// submit, GPU timestamps where the adapter has them); ms and GFLOP/s are
// reported per evaluation.
func BenchmarkLayer(b *testing.B) {
	cases := LayerCases(256, 768, 12, 3072)
	for _, c := range cases {
		op, _ := opByName(map[string]string{"linear": "Linear", "attention": "Attention", "layernorm": "LayerNorm", "gelu": "GELUTanh"}[c.Op])
		for _, v := range Variants(op) {
			b.Run(c.Op+"/"+v+"/"+c.Shape, func(b *testing.B) {
				var ms, gf float64
				for b.Loop() {
					t, err := BenchKernel(context.Background(), testDev, c, Options{Kernels: op.String() + "=" + v}, 4, 1)
					if err != nil && strings.Contains(err.Error(), "does not support") {
						b.Skip(err) // e.g. a kernel past lavapipe's loop limit at this shape
					}
					if err != nil {
						b.Fatal(err)
					}
					ms, gf = t.Ms, t.GFLOPs
				}
				b.ReportMetric(ms, "ms/op-gpu")
				b.ReportMetric(gf, "GFLOP/s")
			})
		}
	}
}

func TestBenchKernel(t *testing.T) {
	// A tiny layer: the harness runs and reports sane numbers (not speed).
	for _, c := range LayerCases(5, 16, 2, 32) {
		r, err := BenchKernel(context.Background(), testDev, c, Options{}, 2, 2)
		if err != nil {
			t.Fatal(err)
		}
		if !(r.Ms > 0) || !(r.GFLOPs > 0) || r.Kernel == "" || r.Adapter == "" {
			t.Errorf("%s %s: %+v", c.Op, c.Shape, r)
		}
	}
}
