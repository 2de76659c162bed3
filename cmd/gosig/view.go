package main

import (
	"github.com/spf13/cobra"

	"github.com/gosig/gosig/viewer"
)

func newViewCmd() *cobra.Command {
	var (
		f       attnFlags
		saveDir string
	)
	cmd := &cobra.Command{
		Use:   "view --model DIR IMAGE...",
		Short: "Open a window showing where the model looks in each image",
		Long: `view opens a window (X11, through GLFW) showing each IMAGE as the model saw
it (NaFlex-resized), with the pooling head's attention over its patches as a
heat map and a colour bar, and the zero-shot scores of --labels beside it (or
the classification head's scores for a checkpoint that has one). The picture is
drawn with WebGPU on the device the model runs on.

Keys:
  ← →  or [ ]          previous / next attention head (the mean is one step)
  1 … 9                 head 1 to 9;   M or 0  the mean over heads
  ↑ ↓  or + −          heat-map opacity
  G                     patch grid on / off
  N P, PageDown PageUp  next / previous image
  S                     save the picture as IMAGE-attn-HEAD.png (in --save-dir)
  Q, Escape             quit
Hovering over a patch shows its row, column and weight. Resizing the window
scales the picture, keeping its aspect ratio.

It needs an X11 display (DISPLAY; XWayland under Wayland). Without one,
gosig attn draws the same picture into a PNG.`,
		Example: `  gosig view --model testdata/models/shapes-siglip2 --template "this is a photo of a {}." \
      --labels "red circle,blue circle,yellow star" testdata/models/shapes-siglip2/samples/*
  gosig view --model google/siglip2-base-patch16-naflex --labels "a cat,a dog" --max-patches 256 cat.jpg`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("view takes one or more image files (see --help)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(); err != nil {
				return err
			}
			// Fail before loading anything when no window can open.
			if err := viewer.CheckDisplay(); err != nil {
				return errNoWindow(err, f.model, args)
			}
			ctx := cmd.Context()
			s, err := f.open(ctx, args)
			if err != nil {
				return err
			}
			defer s.close()
			err = viewer.Run(ctx, s.dev, s.src, viewer.WindowOptions{Initial: &s.state, SaveDir: saveDir})
			return errNoWindow(err, f.model, args)
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&saveDir, "save-dir", "", "folder the S key saves PNGs in (default: the current folder)")
	return cmd
}
