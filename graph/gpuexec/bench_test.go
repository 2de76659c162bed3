package gpuexec

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
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
			b.Run(c.Op+"/"+v+"/"+c.Shape, func(b *testing.B) { benchVariant(b, c, op.String()+"="+v) })
		}
	}
}

// benchVariant times case c under the kernel choice kernels, one round of
// BenchKernel (4 evaluations in one submit) per iteration, and reports the
// last round's ms and GFLOP/s per evaluation. A variant that refuses the
// shape on this adapter (a missing tile, lavapipe's loop limit) is skipped.
func benchVariant(b *testing.B, c KernelCase, kernels string) {
	var ms, gf float64
	for b.Loop() {
		t, err := BenchKernel(context.Background(), testDev, c, Options{Kernels: kernels}, 4, 1)
		if _, ok := errors.AsType[*UnsupportedError](err); ok {
			b.Skip(err)
		}
		if err != nil {
			b.Fatal(err)
		}
		ms, gf = t.Ms, t.GFLOPs
	}
	b.ReportMetric(ms, "ms/op-gpu")
	b.ReportMetric(gf, "GFLOP/s")
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

// TestSummarizeLayer sums made-up timings as SigLIP2-base's layer runs its
// kernels: 4 projections, fc1 (with its GELU) and fc2 as matmul, attention
// and 2 LayerNorms as the rest, the standalone GELU nowhere.
func TestSummarizeLayer(t *testing.T) {
	cases := LayerCases(256, 768, 12, 3072)
	ms := map[string]float64{"256x768x768": 5, "256x768x3072": 20, "256x3072x768": 22, "256x256x768": 15, "256x768": 0.75, "256x3072": 2}
	var timings []KernelTiming
	for _, c := range cases {
		timings = append(timings, KernelTiming{Op: c.Op, Shape: c.Shape, Ms: ms[c.Shape], CPUMs: 2 * ms[c.Shape], Adapter: "a"})
	}
	s := SummarizeLayer("256x768x3072", cases, timings)
	assert.Equal(t, "layer", s.Op)
	assert.InDelta(t, 4*5+20+22, s.MatmulMs, 1e-9)
	assert.InDelta(t, 15, s.AttentionMs, 1e-9)
	assert.InDelta(t, 1.5, s.LayerNormMs, 1e-9)
	assert.InDelta(t, 16.5, s.OtherMs, 1e-9, "no standalone GELU")
	assert.InDelta(t, 16.5/62, s.OtherShare, 1e-9)
	assert.InDelta(t, 62+16.5, s.Ms, 1e-9)
	assert.InDelta(t, 2*(62+16.5), s.CPUMs, 1e-9)
	flops := 2*256*768*768*4.0 + 2*256*768*3072*2 + 4*256*256*768 + 2*8*256*768
	assert.InDelta(t, flops/(78.5e-3)/1e9, s.GFLOPs, 1e-6)
	assert.Equal(t, "a", s.Adapter)
	for _, c := range cases {
		assert.Equal(t, c.Op == "linear" && c.Shape == "256x768x3072", c.GELU, "fc1 alone carries the GELU: %s %s", c.Op, c.Shape)
	}
}
