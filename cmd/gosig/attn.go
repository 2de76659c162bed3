package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gosig/gosig/gpu"
	"github.com/gosig/gosig/graph/gpuexec"
	"github.com/gosig/gosig/siglip2"
	"github.com/gosig/gosig/viewer"
)

// attnFlags are the flags gosig attn and gosig view share.
type attnFlags struct {
	model, revision  string
	labels           []string
	template         string
	head             string
	opacity          float64
	grid             bool
	maxPatches       int
	device           string
	backend, adapter string
}

func (f *attnFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.model, "model", "", "checkpoint folder or hub id in the local cache (required)")
	fs.StringVar(&f.revision, "revision", "", "revision of a hub id (default main)")
	fs.StringSliceVar(&f.labels, "labels", nil, `labels to score zero-shot, comma-separated (CSV quoting: "\"a, b\",c"); repeatable`)
	fs.StringVar(&f.template, "template", "", `prompt template, {} standing for the label (default "`+siglip2.DefaultTemplate+`")`)
	fs.StringVar(&f.head, "head", "mean", "attention head to show: 1 to the number of heads, or mean")
	fs.Float64Var(&f.opacity, "opacity", viewer.DefaultOpacity, "heat-map opacity over the image, 0 to 1")
	fs.BoolVar(&f.grid, "grid", false, "draw the patch grid")
	fs.IntVar(&f.maxPatches, "max-patches", 0, "NaFlex patch budget (default: the checkpoint's max_num_patches)")
	fs.StringVar(&f.device, "device", "gpu", "where the model runs: gpu (WebGPU) or cpu (the Go reference); drawing always uses WebGPU")
	fs.StringVar(&f.backend, "backend", "", "vulkan, metal, dx12 or gl (default $GOSIG_BACKEND, else vulkan)")
	fs.StringVar(&f.adapter, "adapter", "", "substring of the adapter name to use (default $GOSIG_ADAPTER, else the best; see gosig devices)")
}

// check validates the flags that need no model.
func (f *attnFlags) check() error {
	if f.model == "" {
		return usageErrorf("--model is required (see --help)")
	}
	if f.opacity < 0 || f.opacity > 1 {
		return usageErrorf("--opacity %g: want a value from 0 to 1", f.opacity)
	}
	if f.maxPatches < 0 {
		return usageErrorf("--max-patches %d: want a positive number of patches", f.maxPatches)
	}
	if f.device != "gpu" && f.device != "cpu" {
		return usageErrorf("--device %q: want gpu or cpu", f.device)
	}
	if _, err := f.headIndex(); err != nil {
		return err
	}
	for i, l := range f.labels {
		f.labels[i] = strings.TrimSpace(l)
		if f.labels[i] == "" {
			return usageErrorf("--labels: label %d is empty", i+1)
		}
	}
	return nil
}

// headIndex parses --head: -1 for the mean, else the 0-based head.
func (f *attnFlags) headIndex() (int, error) {
	if strings.EqualFold(f.head, "mean") {
		return -1, nil
	}
	h, err := strconv.Atoi(f.head)
	if err != nil || h < 1 {
		return 0, usageErrorf("--head %q: want mean or a head number from 1", f.head)
	}
	return h - 1, nil
}

// state is the viewer state the flags ask for, checked against the first
// frame's number of heads.
func (f *attnFlags) state(fr *viewer.Frame) (viewer.State, error) {
	st := viewer.NewState()
	h, err := f.headIndex()
	if err != nil {
		return st, err
	}
	if h >= len(fr.Heads) {
		return st, usageErrorf("--head %d: %s's pooling head has %d heads", h+1, f.model, len(fr.Heads))
	}
	st.Head, st.Opacity, st.Grid = h, float32(f.opacity), f.grid
	return st, nil
}

// attnSession is a loaded model, the device the picture is drawn on, the
// source of frames, the first image's frame and the state the flags ask
// for.
type attnSession struct {
	model *siglip2.Model
	dev   *gpu.Device
	owns  bool // dev was opened for drawing (the model runs on the CPU)
	src   *viewer.ModelSource
	first *viewer.Frame
	state viewer.State
}

// open loads the model, prepares frames for images and computes the first
// one. The picture is drawn on the model's own WebGPU device when it runs
// on the GPU.
func (f *attnFlags) open(ctx context.Context, images []string) (*attnSession, error) {
	gpu.KeepLavapipeWidth() // the viewer's shader does not compile on lavapipe at 512 bits
	gopts := gpu.Options{Backend: f.backend, Adapter: f.adapter}
	m, err := siglip2.Load(f.model, siglip2.Options{Device: f.device, GPU: gopts, Revision: f.revision, MaxPatches: f.maxPatches})
	if err != nil {
		return nil, err
	}
	s := &attnSession{model: m}
	if e, ok := m.Executor().(*gpuexec.Executor); ok {
		s.dev = e.Device()
	} else {
		if s.dev, err = gpu.Open(gopts); err != nil {
			m.Close()
			return nil, fmt.Errorf("drawing the attention map needs WebGPU even when the model runs on the CPU: %w", err)
		}
		s.owns = true
	}
	if s.src, err = viewer.NewModelSource(ctx, m, images, f.labels, f.template); err == nil {
		if s.first, err = s.src.Frame(ctx, 0); err == nil {
			s.state, err = f.state(s.first)
		}
	}
	if err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *attnSession) close() {
	if s.owns {
		s.dev.Close()
	}
	s.model.Close()
}

func newAttnCmd() *cobra.Command {
	var (
		f     attnFlags
		out   string
		scale float64
	)
	cmd := &cobra.Command{
		Use:   "attn --model DIR --out MAP.png IMAGE",
		Short: "Draw where the model looks in an image (attention heat map) to a PNG",
		Long: `attn runs the vision tower on IMAGE and draws the pooling head's attention
over the image's patches as a heat map (inferno colours, from the map's
smallest weight to its largest, with a colour bar) over the image as the model
saw it (NaFlex-resized), next to the zero-shot scores of --labels (or the
classification head's scores for a checkpoint that has one).

The picture is the one gosig view shows, drawn by the same shader without a
window, so it works on a machine without a display; at --scale 1 it has the
window's pixels at its natural size. --head picks one of the pooling head's
attention heads (numbered from 1) instead of their mean.`,
		Example: `  gosig attn --model testdata/models/shapes-siglip2 --template "this is a photo of a {}." \
      --labels "red circle,blue circle,red square" --out map.png red_circle.png
  gosig attn --model google/siglip2-base-patch16-naflex --labels "a cat,a dog" --head 3 --grid --out cat.png cat.jpg`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("attn takes one image file (see --help)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(); err != nil {
				return err
			}
			if out == "" {
				return usageErrorf("--out is required (see --help)")
			}
			if scale <= 0 || scale > 8 {
				return usageErrorf("--scale %g: want a value in (0, 8]", scale)
			}
			ctx := cmd.Context()
			s, err := f.open(ctx, args)
			if err != nil {
				return err
			}
			defer s.close()
			fr, st := s.first, s.state
			img, err := viewer.Render(ctx, s.dev, fr, st, 1, scale)
			if err != nil {
				return err
			}
			if err := viewer.WritePNG(out, img); err != nil {
				return err
			}
			row, col, w := fr.Peak(st.Head)
			which := "the mean over heads"
			if st.Head >= 0 {
				which = fmt.Sprintf("head %d", st.Head+1)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d×%d patches; %s peaks at row %d, column %d (weight %.4g); wrote %s (%d×%d)\n",
				fr.Name, fr.GridH, fr.GridW, which, row+1, col+1, w, out, img.Bounds().Dx(), img.Bounds().Dy())
			return nil
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVarP(&out, "out", "o", "", "PNG file to write (required)")
	cmd.Flags().Float64Var(&scale, "scale", 1, "picture size relative to the window's natural size")
	return cmd
}

// errNoWindow turns the viewer's missing-display error into one that says
// how to get the same picture without a window.
func errNoWindow(err error, model string, images []string) error {
	if !errors.Is(err, viewer.ErrNoDisplay) {
		return err
	}
	img := "IMAGE"
	if len(images) > 0 {
		img = images[0]
	}
	return fmt.Errorf("gosig view needs a window: %w\n"+
		"to draw the same picture into a PNG without a display, run:\n  gosig attn --model %s --out map.png %s", err, model, img)
}
