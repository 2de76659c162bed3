package siglip2

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gosig/gosig/graph/gpuexec"
	"github.com/gosig/gosig/preprocess"
)

// VisionBench is the outcome of BenchVision.
type VisionBench struct {
	// Config names the configuration, Device the executor it ran on.
	Config string `json:"config,omitempty"`
	Device string `json:"device"`
	// Batch and Patches are the batch size and the patch budget per image.
	Batch   int `json:"batch"`
	Patches int `json:"patches"`
	// MsPerImage is the median time of one batch divided by Batch.
	MsPerImage float64 `json:"ms_per_image"`
	// GFLOPs is VisionFLOPs per image divided by MsPerImage.
	GFLOPs float64 `json:"gflops"`
	// GFLOPPerImage is the work of one image, in GFLOP.
	GFLOPPerImage float64 `json:"gflop_per_image"`
	// Dispatches and Submits are the GPU kernel dispatches and queue
	// submits of one batch (0 on the CPU executor).
	Dispatches int64 `json:"dispatches"`
	Submits    int64 `json:"submits"`
	// Runs is how many timed batches the median is over.
	Runs int `json:"runs"`
}

// BenchVision times the vision tower (image embeddings only) on batches of
// batch random images of maxPatches patches each (see RandomPatches): warmup
// untimed runs (the first compiles the kernels and uploads the weights),
// then runs timed ones, of which it reports the median.
func (m *Model) BenchVision(ctx context.Context, batch, maxPatches, warmup, runs int) (VisionBench, error) {
	if batch <= 0 || runs <= 0 {
		return VisionBench{}, fmt.Errorf("bench: batch %d and runs %d must be positive", batch, runs)
	}
	imgs := make([]*preprocess.Patches, batch)
	for i := range imgs {
		p, err := m.RandomPatches(maxPatches, uint64(i))
		if err != nil {
			return VisionBench{}, err
		}
		imgs[i] = p
	}
	n := imgs[0].MaxPatches
	for range warmup {
		if _, err := m.Vision(ctx, imgs, OutEmbeds); err != nil {
			return VisionBench{}, err
		}
	}
	gx, _ := m.exec.(*gpuexec.Executor)
	var before gpuexec.Stats
	if gx != nil {
		before = gx.Stats()
	}
	times := make([]time.Duration, runs)
	for i := range times {
		if err := ctx.Err(); err != nil {
			return VisionBench{}, err
		}
		t0 := time.Now()
		if _, err := m.Vision(ctx, imgs, OutEmbeds); err != nil {
			return VisionBench{}, err
		}
		times[i] = time.Since(t0)
	}
	slices.Sort(times)
	med := times[len(times)/2]
	if len(times)%2 == 0 {
		med = (times[len(times)/2-1] + times[len(times)/2]) / 2
	}
	if med <= 0 {
		return VisionBench{}, errors.New("bench: the timer measured no time")
	}
	flop := VisionFLOPs(m.cfg.Vision, n)
	ms := med.Seconds() * 1e3 / float64(batch)
	r := VisionBench{Device: m.exec.Name(), Batch: batch, Patches: n, MsPerImage: ms,
		GFLOPs: flop / (ms * 1e6), GFLOPPerImage: flop / 1e9, Runs: runs}
	if gx != nil {
		after := gx.Stats()
		r.Dispatches = (after.Dispatches - before.Dispatches) / int64(runs)
		r.Submits = (after.Submits - before.Submits) / int64(runs)
	}
	return r, nil
}
