package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gosig/gosig/preprocess"
)

func newNaflexCmd() *cobra.Command {
	var patch, maxPatches int
	cmd := &cobra.Command{
		Use:   "naflex [--patch P] [--max-patches N] IMAGE...",
		Short: "Print the size and patch grid SigLIP 2 NaFlex resizes an image to",
		Long: `naflex reads each image's header (size and EXIF orientation; the pixels are
not decoded) and prints the size Hugging Face's Siglip2ImageProcessor resizes it
to for the given patch size and patch budget, and the resulting patch grid:

  IMAGE: W×H → W'×H' pixels, grid ROWS×COLS = N of MAX patches

The size is get_image_size_for_max_num_patches's: the largest scale whose sides,
each rounded up to a multiple of the patch size, give at most MAX patches.`,
		Example: `  gosig naflex --patch 16 --max-patches 256 photo.jpg
  gosig naflex --max-patches 1024 *.png`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("naflex takes at least one image file (see --help)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if patch < 1 || maxPatches < 1 {
				return usageErrorf("--patch %d --max-patches %d: both must be at least 1", patch, maxPatches)
			}
			for _, name := range args {
				data, err := readInput(cmd, name)
				if err != nil {
					return err
				}
				info, err := preprocess.Probe(data)
				if err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
				w, h := info.OrientedSize()
				th, tw, err := preprocess.NaFlexSize(h, w, patch, maxPatches)
				if err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
				gh, gw := th/patch, tw/patch
				if _, err := fmt.Fprintf(cmd.OutOrStdout(), "%s: %d×%d → %d×%d pixels, grid %d×%d = %d of %d patches\n",
					name, w, h, tw, th, gh, gw, gh*gw, maxPatches); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&patch, "patch", 16, "patch size in pixels")
	cmd.Flags().IntVar(&maxPatches, "max-patches", 256, "patch budget (max_num_patches)")
	return cmd
}
