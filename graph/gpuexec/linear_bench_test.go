package gpuexec

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/gosig/gosig/gpu"
	"github.com/gosig/gosig/graph"
)

// BenchmarkLinear times every Linear variant at SigLIP2-base's three shapes
// (sequence 256, hidden 768, MLP 3072), with f32 and, for the variants
// that read them, packed f16 weights. Each iteration is one BenchLinear
// measurement: 4 evaluations in one submit, GPU timestamps where the
// adapter has them (the median evaluation), else the submit's wall time.
// On a CPU adapter it also reports cpu-GFLOP/s, the FLOPs over the
// process's CPU time times the cores: the rate with the cores to itself,
// steadier than the times on a shared machine (it counts the copies
// reg_tex makes of x, which the timestamps leave out).
//
//	go test -run '^$' -bench Linear ./graph/gpuexec
func BenchmarkLinear(b *testing.B) {
	shapes := [][3]int{{256, 768, 768}, {256, 768, 3072}, {256, 3072, 768}}
	for _, s := range shapes {
		for _, k := range registry[graph.OpLinear] {
			precisions := []bool{false}
			if k.F16Weights {
				precisions = append(precisions, true)
			}
			for _, f16 := range precisions {
				w := "f32"
				if f16 {
					w = "f16"
				}
				b.Run(fmt.Sprintf("%s/%s/%dx%dx%d", k.Name, w, s[0], s[1], s[2]), func(b *testing.B) {
					var t KernelTiming
					for b.Loop() {
						var err error
						t, err = BenchLinear(context.Background(), testDev, s[0], s[1], s[2], "linear="+k.Name, f16, 4, 1)
						if err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(t.Ms, "ms/op-gpu")
					b.ReportMetric(t.GFLOPs, "GFLOP/s")
					if t.CPUMs > 0 && testDev.Info().Type == gpu.CPU {
						// What the adapter's threads would reach with the cores to themselves.
						b.ReportMetric(2*float64(s[0])*float64(s[1])*float64(s[2])/(t.CPUMs*1e-3)/1e9*float64(runtime.NumCPU()), "cpu-GFLOP/s")
					}
				})
			}
		}
	}
}
