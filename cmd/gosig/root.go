package main

import (
	"github.com/spf13/cobra"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "gosig",
		Short: "SigLIP and SigLIP 2 on any GPU through WebGPU",
		Long: `gosig runs Google's SigLIP and SigLIP 2 image-text encoders on any GPU
(Vulkan, Metal, DX12; Mesa's lavapipe on a CPU-only machine) with the same
numbers as Hugging Face transformers.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return usageErrorf("%w (see --help)", err)
	})
	// Each subcommand lives in a file of its own; add its constructor here.
	root.AddCommand(
		newPullCmd(),
		newPreprocessCmd(),
		newNaflexCmd(),
		newTokenizeCmd(),
		newDevicesCmd(),
		newBenchCmd(),
		newClassifyCmd(),
		newEmbedCmd(),
		newAttnCmd(),
		newViewCmd(),
	)
	return root
}
