package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gosig/gosig/gpu"
	"github.com/gosig/gosig/graph"
	"github.com/gosig/gosig/graph/gpuexec"
)

// newBenchCmd is the parent of the benchmarks; each lives in a function of
// its own (bench kernels here) and is added below.
func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure gosig's speed on this machine",
		Long: `bench measures speed. Its subcommands print a table, or with --json one JSON
object per line, so that runs on different machines can be compared.`,
		Example: `  gosig bench kernels
  gosig bench kernels --json > kernels.jsonl`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(
		newBenchKernelsCmd(),
		newBenchVisionCmd(),
	)
	return cmd
}

// gpuFlags are the device-choice flags shared by GPU commands.
type gpuFlags struct {
	backend, adapter string
}

func (f *gpuFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.backend, "backend", "", "vulkan, metal, dx12 or gl (default $GOSIG_BACKEND, else vulkan)")
	cmd.Flags().StringVar(&f.adapter, "adapter", "", "substring of the adapter name to use (default $GOSIG_ADAPTER, else the best; see gosig devices)")
}

func (f *gpuFlags) options() gpu.Options {
	return gpu.Options{Backend: f.backend, Adapter: f.adapter}
}

// benchOps maps the op names of LayerCases to graph ops, for --variants.
var benchOps = map[string]graph.Op{
	"linear": graph.OpLinear, "attention": graph.OpAttention, "layernorm": graph.OpLayerNorm, "gelu": graph.OpGELUTanh,
}

func newBenchKernelsCmd() *cobra.Command {
	var (
		gf                      gpuFlags
		asJSON, variants        bool
		seq, hidden, heads, mlp int
		reps, rounds            int
		kernels                 string
	)
	cmd := &cobra.Command{
		Use:   "kernels",
		Short: "Time the kernels of one transformer encoder layer",
		Long: `kernels times the GPU kernels of one SigLIP encoder layer at the given sizes
(default SigLIP2-base at 256 tokens) as a layer runs them: the Linear layers
(q/k/v/out 768×768, fc1 768→3072 with its GELU fused in, fc2 3072→768), the
fused attention and a LayerNorm; and, for information only, the GELU alone
(the planner fuses it into fc1, so no layer runs it).

Each kernel runs --reps times in one submit, --rounds times; with GPU timestamp
queries (where the adapter has them) a round's figure is the median of its
runs' GPU time, otherwise the submit's wall time divided by --reps; the
figure printed is the median over rounds. Shapes read MxKxN for Linear,
SqxSkxHidden for attention and rowsxD otherwise. A last line sums one layer
as it runs: its Linear time (4 projections, fc1 with GELU, fc2) against
attention and two LayerNorms, and other_share, the second over the first.
With --variants every variant is timed (those that refuse the shape are
skipped) and the sum uses gosig's pick.

The kernel variants are those gosig would pick for the adapter; --kernels
overrides them as GOSIG_KERNELS does, --variants times every variant.`,
		Example: `  gosig bench kernels
  gosig bench kernels --json --seq 729 --hidden 1152 --heads 16 --mlp 4304
  gosig bench kernels --variants --kernels cpu`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for name, v := range map[string]int{"seq": seq, "hidden": hidden, "heads": heads, "mlp": mlp, "reps": reps, "rounds": rounds} {
				if v <= 0 {
					return usageErrorf("--%s must be positive, got %d", name, v)
				}
			}
			if hidden%heads != 0 {
				return usageErrorf("--hidden %d is not divisible by --heads %d", hidden, heads)
			}
			dev, err := gpu.Open(gf.options())
			if err != nil {
				return err
			}
			defer dev.Close()
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			enc := json.NewEncoder(out)
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
			if !asJSON {
				fmt.Fprintf(out, "adapter: %s\n", dev.Info())
				fmt.Fprintln(tw, "op\tkernel\tshape\tms\tGFLOP/s\tmethod\t")
			}
			cases := gpuexec.LayerCases(seq, hidden, heads, mlp)
			picked := make([]gpuexec.KernelTiming, len(cases))
			for ci, c := range cases {
				// gosig's pick first: the layer sum uses it.
				specs := []string{kernels}
				if variants {
					for _, v := range gpuexec.Variants(benchOps[c.Op]) {
						specs = append(specs, strings.TrimPrefix(kernels+","+benchOps[c.Op].String()+"="+v, ","))
					}
				}
				for i, spec := range specs {
					t, err := gpuexec.BenchKernel(ctx, dev, c, gpuexec.Options{Kernels: spec}, reps, rounds)
					if _, ok := errors.AsType[*gpuexec.UnsupportedError](err); i > 0 && ok {
						continue // a variant that refuses the shape on this adapter
					}
					if err != nil {
						return fmt.Errorf("bench %s %s: %w", c.Op, c.Shape, err)
					}
					if i == 0 {
						picked[ci] = t
						if variants {
							continue // printed again under its own name
						}
					}
					if asJSON {
						if err := enc.Encode(t); err != nil {
							return err
						}
						continue
					}
					op := t.Op
					if t.GELU {
						op += "+gelu"
					}
					if c.PerLayer == 0 {
						op += " (info)"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%.3f\t%.2f\t%s\t\n", op, t.Kernel, t.Shape, t.Ms, t.GFLOPs, t.Method)
				}
			}
			sum := gpuexec.SummarizeLayer(fmt.Sprintf("%dx%dx%d", seq, hidden, mlp), cases, picked)
			if asJSON {
				return enc.Encode(sum)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(out, "layer %s: Linear (fc1 with GELU) %.2f ms, attention %.2f ms + 2·LayerNorm %.2f ms = %.2f ms (%.0f%% of Linear), %.2f GFLOP/s overall\n",
				sum.Shape, sum.MatmulMs, sum.AttentionMs, sum.LayerNormMs, sum.OtherMs, 100*sum.OtherShare, sum.GFLOPs)
			return nil
		},
	}
	gf.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per kernel (op, shape, gflops, ms, adapter, kernel, method)")
	cmd.Flags().BoolVar(&variants, "variants", false, "time every kernel variant, not only the one gosig picks")
	cmd.Flags().StringVar(&kernels, "kernels", "", "kernel choice as GOSIG_KERNELS: cpu, gpu and/or op=variant items")
	cmd.Flags().IntVar(&seq, "seq", 256, "tokens per image (rows of the Linear layers)")
	cmd.Flags().IntVar(&hidden, "hidden", 768, "hidden size")
	cmd.Flags().IntVar(&heads, "heads", 12, "attention heads")
	cmd.Flags().IntVar(&mlp, "mlp", 3072, "MLP intermediate size")
	cmd.Flags().IntVar(&reps, "reps", 4, "evaluations per submit")
	cmd.Flags().IntVar(&rounds, "rounds", 3, "submits per kernel; the median is printed")
	return cmd
}
