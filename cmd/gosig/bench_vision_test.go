package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosig/gosig/siglip2"
)

// TestBenchVisionJSON: bench vision --json prints the fields, with
// gflops the FLOP count of the shapes over the time, and one submit per
// batch on the GPU. No time is asserted.
func TestBenchVisionJSON(t *testing.T) {
	for _, device := range []string{"cpu", "gpu"} {
		stdout, stderr, code := gosig(t, "bench", "vision", "--config", "tiny", "--max-patches", "64", "--batch", "2",
			"--runs", "2", "--device", device, "--json")
		require.Equal(t, exitOK, code, stderr)
		var r map[string]any
		require.NoError(t, json.Unmarshal([]byte(stdout), &r), stdout)
		for _, k := range []string{"ms_per_image", "gflops", "dispatches", "submits"} {
			assert.Contains(t, r, k)
		}
		cfg, err := siglip2.RandomVisionConfig("tiny")
		require.NoError(t, err)
		ms := r["ms_per_image"].(float64)
		assert.InEpsilon(t, siglip2.VisionFLOPs(cfg.Vision, 64)/(ms*1e6), r["gflops"], 1e-6)
		if device == "gpu" {
			assert.Equal(t, 1.0, r["submits"])
		}
	}
	_, stderr, code := gosig(t, "bench", "vision", "--config", "giant")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "want one of base, large, so400m, tiny")
}
