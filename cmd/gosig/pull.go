package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/gosig/gosig/hub"
)

func newPullCmd() *cobra.Command {
	var (
		revision string
		quiet    bool
	)
	cmd := &cobra.Command{
		Use:   "pull REPO",
		Short: "Download a checkpoint from the Hugging Face hub into the local cache",
		Long: `pull downloads a SigLIP or SigLIP 2 checkpoint (config.json, the safetensors
weights, sharded or not, the tokenizer and the preprocessor settings) into the
standard Hugging Face cache, so Python's transformers finds the same files, and
prints the snapshot directory. Afterwards --model org/name works offline.

The cache is $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub.
HF_ENDPOINT chooses another hub or mirror; HF_TOKEN (or the token file that
'hf auth login' writes) opens private and gated models; HF_HUB_OFFLINE=1 makes
pull only check the cache. An interrupted download resumes where it stopped
when pull runs again; large files are checked against their sha256.`,
		Example: `  gosig pull google/siglip2-base-patch16-naflex
  HF_TOKEN=hf_... gosig pull google/siglip2-so400m-patch16-naflex --revision main --quiet`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("pull takes one repository id, like google/siglip2-base-patch16-naflex (see --help)")
			}
			if err := hub.ValidateRepoID(args[0]); err != nil {
				return usageErrorf("%w", err)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var progress io.Writer
			if !quiet && term.IsTerminal(int(os.Stderr.Fd())) {
				progress = cmd.ErrOrStderr()
			}
			dir, err := hub.Pull(cmd.Context(), args[0], hub.Options{Revision: revision, Progress: progress})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), dir)
			return err
		},
	}
	cmd.Flags().StringVar(&revision, "revision", hub.DefaultRevision, "branch, tag or commit hash to download")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress bars")
	return cmd
}
