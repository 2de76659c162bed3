package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/gosig/gosig/hub"
	"github.com/gosig/gosig/preprocess"
	"github.com/gosig/gosig/safetensors"
)

func newPreprocessCmd() *cobra.Command {
	var (
		model, revision, out string
		maxPatches           int
		maxPixels            int64
		fast                 bool
	)
	cmd := &cobra.Command{
		Use:   "preprocess --model DIR --out FILE.safetensors IMAGE",
		Short: "Turn an image into the model's pixel inputs, as Hugging Face's image processor does",
		Long: `preprocess decodes IMAGE (JPEG, PNG, GIF, WebP, BMP or TIFF; "-" reads standard
input), applies its EXIF orientation, converts it to RGB and preprocesses it
with the checkpoint's preprocessor_config.json, then writes the tensors Hugging
Face's image processor returns for it, batch of one, to a safetensors file:

  SigLIP 2 NaFlex (Siglip2ImageProcessor):
    pixel_values          F32 [1, max_patches, patch*patch*3]
    pixel_attention_mask  I32 [1, max_patches]
    spatial_shapes        I64 [1, 2]   (patches along height, width)
  SigLIP FixRes (SiglipImageProcessor):
    pixel_values          F32 [1, 3, height, width]

The resize is PIL's, bit for bit, so the values equal Hugging Face's for the
same decoded pixels. Images are always converted to RGB, even where a config
leaves do_convert_rgb unset. --fast decodes large JPEGs already shrunk in the
DCT domain: faster, and close to but not exactly Hugging Face's pixels.`,
		Example: `  gosig preprocess --model google/siglip2-base-patch16-naflex --out cat.safetensors cat.jpg
  gosig preprocess --model ./siglip2-checkpoint --max-patches 1024 --out big.safetensors photo.png`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("preprocess takes one image file (see --help)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if model == "" || out == "" {
				return usageErrorf("--model and --out are required (see --help)")
			}
			if maxPatches < 0 {
				return usageErrorf("--max-patches %d: want a positive number of patches", maxPatches)
			}
			dir, err := hub.Resolve(model, revision)
			if err != nil {
				return err
			}
			cfg, err := preprocess.LoadConfig(dir)
			if err != nil {
				return err
			}
			data, err := readInput(cmd, args[0])
			if err != nil {
				return err
			}
			if maxPatches == 0 {
				maxPatches = cfg.MaxNumPatches
			}
			opts := preprocess.DecodeOptions{MaxPixels: maxPixels}
			if fast {
				opts.FastTarget = cfg.Target(maxPatches)
			}
			img, err := preprocess.Decode(data, opts)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			var tensors []safetensors.Tensor
			var summary string
			switch cfg.Kind {
			case preprocess.KindNaFlex:
				p, err := preprocess.NaFlex(img, cfg, maxPatches)
				if err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
				tensors = []safetensors.Tensor{
					safetensors.Float32Tensor("pixel_values", []int{1, p.MaxPatches, p.RowLen()}, p.Values),
					safetensors.Int32Tensor("pixel_attention_mask", []int{1, p.MaxPatches}, p.Mask),
					safetensors.Int64Tensor("spatial_shapes", []int{1, 2}, []int64{int64(p.GridH), int64(p.GridW)}),
				}
				summary = fmt.Sprintf("naflex %d×%d → %d×%d, grid %d×%d = %d of %d patches",
					img.W, img.H, p.Resized.W, p.Resized.H, p.GridH, p.GridW, p.NumPatches(), p.MaxPatches)
			case preprocess.KindFixRes:
				v, err := preprocess.FixRes(img, cfg)
				if err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
				h, w := cfg.Height, cfg.Width
				if !cfg.DoResize {
					h, w = img.H, img.W
				}
				tensors = []safetensors.Tensor{safetensors.Float32Tensor("pixel_values", []int{1, 3, h, w}, v)}
				summary = fmt.Sprintf("fixres %d×%d → %d×%d (%s)", img.W, img.H, w, h, cfg.Resample)
			}
			meta := map[string]string{
				"image":          filepath.Base(args[0]),
				"model":          model,
				"processor_type": cfg.ProcessorType,
				"fast_decode":    fmt.Sprint(fast),
			}
			if err := safetensors.WriteFile(out, tensors, meta); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s: %s; wrote %s\n", args[0], summary, out)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "checkpoint directory, or a hub id already fetched with gosig pull")
	f.StringVar(&revision, "revision", hub.DefaultRevision, "revision of a hub id given to --model")
	f.StringVarP(&out, "out", "o", "", "safetensors file to write")
	f.IntVar(&maxPatches, "max-patches", 0, "NaFlex patch budget (default: max_num_patches of the config)")
	f.Int64Var(&maxPixels, "max-pixels", 0, fmt.Sprintf("refuse images with more pixels than this (0: %d, PIL's bomb limit; -1: no limit)", preprocess.DefaultMaxPixels))
	f.BoolVar(&fast, "fast", false, "decode large JPEGs shrunk in the DCT domain (faster, not bit-exact)")
	return cmd
}

// readInput reads an image file, or standard input for "-".
func readInput(cmd *cobra.Command, name string) ([]byte, error) {
	if name == "-" {
		b, err := io.ReadAll(cmd.InOrStdin())
		if err != nil {
			return nil, fmt.Errorf("read standard input: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read image: %w", err)
	}
	return b, nil
}
