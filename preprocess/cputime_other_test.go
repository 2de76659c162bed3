//go:build !unix

package preprocess

// processCPU is unavailable here; benchmarks report 0 CPU time.
func processCPU() float64 { return 0 }
