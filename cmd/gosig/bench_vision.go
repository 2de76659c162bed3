package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gosig/gosig/siglip2"
)

func newBenchVisionCmd() *cobra.Command {
	var (
		config     string
		maxPatches int
		batch      int
		device     string
		f16        bool
		runs       int
		warmup     int
		asJSON     bool
		kernels    string
		gf         gpuFlags
	)
	cmd := &cobra.Command{
		Use:   "vision [--config base] [--max-patches 256] [--batch 1] [--json]",
		Short: "Time the vision tower of a published SigLIP 2 size, with random weights",
		Long: `vision times the image tower of a SigLIP 2 NaFlex model of a published size
(` + strings.Join(siglip2.BenchConfigNames(), ", ") + `; patch 16, base: hidden 768, 12 layers, 12 heads, MLP 3072)
with random weights, so no checkpoint is needed. Each image has the full
budget of --max-patches patches; decoding is not timed. After --warmup
untimed runs (the first compiles the kernels and uploads the weights), it
reports the median of --runs batches:

  {"ms_per_image": 1210.4, "gflops": 38.7, "dispatches": 245, "submits": 1, ...}

gflops is the model's work (2·M·K·N per Linear and 4·S²·D per attention,
counted from the shapes) over the time; dispatches and submits are per
batch (0 on the CPU executor).`,
		Args: cobra.NoArgs,
		Example: `  gosig bench vision --config base --max-patches 256 --batch 1 --json
  gosig bench vision --config so400m --max-patches 1024 --batch 4 --f16`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case !slices.Contains(siglip2.BenchConfigNames(), config):
				return usageErrorf("--config %q: want one of %s", config, strings.Join(siglip2.BenchConfigNames(), ", "))
			case device != "gpu" && device != "cpu":
				return usageErrorf("--device must be gpu or cpu, got %q", device)
			case maxPatches <= 0 || batch <= 0 || runs <= 0 || warmup < 0:
				return usageErrorf("--max-patches, --batch and --runs must be positive and --warmup not negative")
			}
			cfg, err := siglip2.RandomVisionConfig(config)
			if err != nil {
				return usageErrorf("%w", err)
			}
			m, err := siglip2.NewRandom(cfg, 1, siglip2.Options{Device: device, GPU: gf.options(), Kernels: kernels, F16Weights: f16, MaxPatches: maxPatches, BatchSize: batch})
			if err != nil {
				return err
			}
			defer m.Close()
			r, err := m.BenchVision(cmd.Context(), batch, maxPatches, warmup, runs)
			if err != nil {
				return err
			}
			r.Config = config
			if asJSON {
				b, err := json.Marshal(r)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", b)
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(),
				"%s vision, %d patches, batch %d on %s: %.1f ms per image, %.1f GFLOP/s (%.1f GFLOP per image), %d dispatches and %d submits per batch (median of %d)\n",
				config, r.Patches, r.Batch, r.Device, r.MsPerImage, r.GFLOPs, r.GFLOPPerImage, r.Dispatches, r.Submits, r.Runs)
			return err
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&config, "config", "base", "model size: "+strings.Join(siglip2.BenchConfigNames(), ", "))
	fs.IntVar(&maxPatches, "max-patches", 256, "patches per image (the NaFlex budget, all used)")
	fs.IntVar(&batch, "batch", 1, "images per forward pass")
	fs.StringVar(&device, "device", "gpu", "gpu or cpu")
	fs.BoolVar(&f16, "f16", false, "keep the Linear weights as f16 on the GPU")
	fs.IntVar(&runs, "runs", 5, "timed batches (the median is reported)")
	fs.IntVar(&warmup, "warmup", 1, "untimed batches first")
	fs.BoolVar(&asJSON, "json", false, "print one JSON object")
	fs.StringVar(&kernels, "kernels", "", "kernel choice as GOSIG_KERNELS: cpu, gpu and/or op=variant items")
	gf.add(cmd)
	return cmd
}
