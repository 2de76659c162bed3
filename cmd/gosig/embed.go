package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/gosig/gosig/pipeline"
	"github.com/gosig/gosig/siglip2"
)

// modelFlags are the flags of the commands that load a checkpoint and run
// it over many images (embed, classify).
type modelFlags struct {
	model      string
	device     string
	maxPatches int
	batch      int
	workers    int
	fastDecode bool
}

func (f *modelFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.model, "model", "", "checkpoint folder, or hub id in the local Hugging Face cache (see gosig pull)")
	fs.StringVar(&f.device, "device", "gpu", "gpu (WebGPU; Mesa's lavapipe without a GPU) or cpu (the pure Go reference)")
	fs.IntVar(&f.maxPatches, "max-patches", 0, "NaFlex patch budget per image (default: the checkpoint's max_num_patches)")
	fs.IntVar(&f.batch, "batch", 8, "images per forward pass")
	fs.IntVar(&f.workers, "workers", 0, "image decoding goroutines (default: one per core)")
	fs.BoolVar(&f.fastDecode, "fast-decode", false, "decode large JPEGs shrunk in the DCT domain: about half the decoding CPU, close to but not bit-exact with Hugging Face's pixels (embeddings: cosine ≥ 0.9997 to the exact ones)")
}

// check reports flag values that cannot work, as usage errors.
func (f *modelFlags) check() error {
	switch {
	case f.model == "":
		return usageErrorf("--model is required (a checkpoint folder or a hub id; see --help)")
	case f.device != "gpu" && f.device != "cpu":
		return usageErrorf("--device must be gpu or cpu, got %q", f.device)
	case f.maxPatches < 0:
		return usageErrorf("--max-patches must be positive, got %d", f.maxPatches)
	case f.batch <= 0:
		return usageErrorf("--batch must be positive, got %d", f.batch)
	case f.workers < 0:
		return usageErrorf("--workers must be positive, got %d", f.workers)
	}
	return nil
}

func (f *modelFlags) load() (*siglip2.Model, error) {
	return siglip2.Load(f.model, siglip2.Options{Device: f.device, MaxPatches: f.maxPatches,
		BatchSize: f.batch, FastDecode: f.fastDecode})
}

func (f *modelFlags) pipelineOptions() pipeline.Options {
	return pipeline.Options{Workers: f.workers, BatchSize: f.batch}
}

// progress is a progress bar on standard error, or nothing when that is not
// a terminal or --quiet asks for silence. Lines printed while it shows go
// through println, which clears it first.
type progress struct {
	bar *progressbar.ProgressBar
	w   io.Writer
}

func newProgress(w io.Writer, total int, quiet bool, what string) *progress {
	p := &progress{w: w}
	f, ok := w.(*os.File)
	if quiet || !ok || !term.IsTerminal(int(f.Fd())) || total == 0 {
		return p
	}
	p.bar = progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("img"),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	// Start the clocks now, not at the first batch, so that images/s and
	// the ETA count the time the first batch took.
	p.bar.StartWithoutRender()
	p.bar.RenderBlank()
	return p
}

func (p *progress) add(n int) {
	if p.bar != nil {
		p.bar.Add(n)
	}
}

func (p *progress) println(format string, args ...any) {
	if p.bar != nil {
		p.bar.Clear()
	}
	fmt.Fprintf(p.w, format+"\n", args...)
}

func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
}

// runOutcome turns a run's counts into the command's exit: 0 when nothing
// failed, 3 (partial) when some inputs failed and others are in the output,
// 1 when every input failed.
func runOutcome(done, failed int) error {
	switch {
	case failed == 0:
		return nil
	case done == 0:
		return &exitError{code: exitFailure, err: fmt.Errorf("all %d inputs failed", failed)}
	}
	return &exitError{code: exitPartial, err: fmt.Errorf("%d of %d inputs failed (see above)", failed, done+failed)}
}

// parseIDs parses "1,2,3".
func parseIDs(s string) ([]int, error) {
	var ids []int
	for _, f := range strings.Split(s, ",") {
		id, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || id < 0 {
			return nil, fmt.Errorf("--input-ids %q: want comma-separated token ids like 2,1003,1", s)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func newEmbedCmd() *cobra.Command {
	var (
		mf        modelFlags
		images    []string
		texts     []string
		textsFile string
		idLists   []string
		out       string
		resume    bool
		quiet     bool
	)
	cmd := &cobra.Command{
		Use:   "embed --model M [flags] [FILE|FOLDER|GLOB...]",
		Short: "Write the embeddings of images and texts as JSON lines or .npy",
		Long: `embed writes the L2-normalised embedding (image_embeds, text_embeds) of each
input, one JSON object per line:

  {"input": "photos/cat.jpg", "kind": "image", "embedding": [0.0123, ...]}

on standard output, or to --out: a .jsonl file, or a .npy file (float32
[N, D], rows in order) with an index beside it (OUT.index.jsonl: the input
of each row, one per line).

Images come from --image, and from arguments: files, folders (searched
recursively for .jpg .jpeg .png .gif .webp .bmp .tif .tiff) and globs.
Texts come from --text, --texts-file (one per line) and --input-ids (token
ids given as they are). Output order: images, then texts, then ids; an
input named twice is embedded once.

Decoding runs on every core while one goroutine feeds the GPU, so the GPU
does not wait on decoding. Output is written after every batch. An input
that fails is reported on standard error, one line naming it and why, and
skipped; the rest go on. --resume continues an interrupted run: inputs
already in --out are skipped (a line cut short by a kill is dropped).

Exit status: 0 all done, 1 failure (or every input failed), 2 usage,
3 some inputs failed.`,
		Example: `  gosig embed --model google/siglip2-base-patch16-naflex photos/ --out photos.npy
  gosig embed --model DIR --text "a photo of a cat" --text "a dog" cat.jpg
  gosig embed --model DIR --texts-file captions.txt --out captions.jsonl
  gosig embed --model DIR --fast-decode --batch 16 'shots/*.jpg' --out shots.jsonl --resume`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := mf.check(); err != nil {
				return err
			}
			if resume && out == "" {
				return usageErrorf("--resume needs --out: standard output cannot be resumed")
			}
			// Inputs, in output order.
			paths, problems := pipeline.ExpandImages(append(images, args...))
			var inputs []pipeline.Input
			for _, p := range paths {
				inputs = append(inputs, pipeline.ImageInput(p))
			}
			if textsFile != "" {
				more, err := pipeline.ReadTexts(textsFile)
				if err != nil {
					return usageErrorf("--texts-file: %w", err)
				}
				texts = append(texts, more...)
			}
			for _, t := range texts {
				inputs = append(inputs, pipeline.TextInput(t))
			}
			for _, s := range idLists {
				ids, err := parseIDs(s)
				if err != nil {
					return usageErrorf("%w", err)
				}
				inputs = append(inputs, pipeline.IDsInput(ids))
			}
			if len(inputs) == 0 && len(problems) == 0 {
				return usageErrorf("nothing to embed: give image files, folders or globs, --text, --texts-file or --input-ids (see --help)")
			}

			stderr := cmd.ErrOrStderr()
			for _, p := range problems {
				fmt.Fprintf(stderr, "gosig: skip %v\n", p)
			}
			var (
				output pipeline.Output
				done   map[string]bool
				err    error
			)
			if out == "" {
				output = pipeline.NewJSONL(cmd.OutOrStdout())
			} else if output, done, err = pipeline.OpenOutput(out, resume); err != nil {
				if errors.Is(err, pipeline.ErrExists) {
					return usageErrorf("%w", err)
				}
				return err
			}
			todo, skipped := pipeline.Unique(inputs, done)

			m, err := mf.load()
			if err != nil {
				return errors.Join(err, output.Close())
			}
			defer m.Close()

			bar := newProgress(stderr, len(todo), quiet, "embedding")
			write := func(rs []pipeline.Result[[]float32]) error {
				ins := make([]pipeline.Input, 0, len(rs))
				embs := make([][]float32, 0, len(rs))
				for _, r := range rs {
					if r.Err != nil {
						bar.println("gosig: skip %v", r.Err)
						continue
					}
					ins = append(ins, r.Input)
					embs = append(embs, r.Value)
				}
				bar.add(len(rs))
				return output.Write(ins, embs)
			}
			stats, runErr := pipeline.Run(cmd.Context(), todo, pipeline.EmbedStages(m), mf.pipelineOptions(), write)
			bar.finish()
			if err := output.Close(); err != nil {
				return errors.Join(runErr, fmt.Errorf("close output: %w", err))
			}
			if !quiet {
				fmt.Fprintln(stderr, "gosig embed:", summary(stats, skipped, out))
			}
			if runErr != nil {
				if cmd.Context().Err() != nil && out != "" {
					return fmt.Errorf("interrupted after %d inputs (they are in %s; run again with --resume to continue)", stats.Done(), out)
				}
				return runErr
			}
			return runOutcome(stats.Done()+skipped, stats.Failed+len(problems))
		},
	}
	fs := cmd.Flags()
	mf.register(fs)
	fs.StringArrayVar(&images, "image", nil, "an image file to embed (repeatable)")
	fs.StringArrayVar(&texts, "text", nil, "a text to embed (repeatable)")
	fs.StringVar(&textsFile, "texts-file", "", "a file of texts to embed, one per line")
	fs.StringArrayVar(&idLists, "input-ids", nil, "token ids to embed as they are, comma-separated (repeatable)")
	fs.StringVarP(&out, "out", "o", "", "output file: .npy (with an .index.jsonl beside it) or JSON lines (default: standard output)")
	fs.BoolVar(&resume, "resume", false, "continue an interrupted run: skip the inputs already in --out")
	fs.BoolVarP(&quiet, "quiet", "q", false, "no progress bar and no summary (failures are still reported)")
	return cmd
}

// summary is the line that ends an embed run: counts, speed, and how busy
// the GPU goroutine was.
func summary(s pipeline.Stats, skipped int, out string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d done (%d images, %d texts), %d failed", s.Done(), s.Images, s.Texts, s.Failed)
	if skipped > 0 {
		fmt.Fprintf(&b, ", %d skipped (already in %s)", skipped, out)
	}
	fmt.Fprintf(&b, " in %.1f s", s.Wall.Seconds())
	if s.Images > 0 && s.Wall > 0 {
		fmt.Fprintf(&b, "; %.1f images/s", float64(s.Images)/s.Wall.Seconds())
	}
	if s.Batches > 0 {
		fmt.Fprintf(&b, "; gpu busy %.0f%% (waited %.1f s for the first batch, %.1f s for later ones)",
			100*s.BusyFraction(), s.Fill.Seconds(), s.Starved.Seconds())
	}
	return b.String()
}
