package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/gosig/gosig/tokenizer"
)

func newTokenizeCmd() *cobra.Command {
	var (
		path      string
		maxLength int
		noPad     bool
		stdin     bool
		lowercase string
	)
	cmd := &cobra.Command{
		Use:   "tokenize --tokenizer PATH [--max-length N] [--no-pad] [--stdin] [TEXT...]",
		Short: "Print the token ids a checkpoint's text tower gets for each text",
		Long: `tokenize prints, for each TEXT (or, with --stdin, each line of standard input,
written as a JSON string), one JSON array of token ids: what gosig feeds the
text tower, the same ids Hugging Face's tokenizer gives.

PATH is a checkpoint folder or a tokenizer.json / tokenizer.model / spiece.model
file; tokenizer_config.json and config.json beside it supply the special tokens
and conventions. By default each row is truncated (keeping EOS) and right-padded
to --max-length, which defaults to the checkpoint's model_max_length, else 64.
--no-pad prints the ids alone, truncated only when --max-length is given.

--lowercase auto lowercases for SigLIP 2 checkpoints (trained on lowercased
text) and for tokenizers with do_lower_case; on and off force it.`,
		Example: `  gosig tokenize --tokenizer ~/models/siglip2-base-patch16-224 "a photo of a cat"
  gosig tokenize --tokenizer tokenizer.json --no-pad "a photo of a cat" "two dogs"
  printf '"a photo of a cat"\n"a red circle"\n' | gosig tokenize --tokenizer DIR --stdin --max-length 16`,
		Args: func(cmd *cobra.Command, args []string) error {
			if path == "" {
				return usageErrorf("--tokenizer is required (see --help)")
			}
			if stdin && len(args) > 0 {
				return usageErrorf("give texts as arguments or with --stdin, not both")
			}
			if !stdin && len(args) == 0 {
				return usageErrorf("no text to tokenize: give TEXT arguments or --stdin (see --help)")
			}
			if cmd.Flags().Changed("max-length") && maxLength <= 0 {
				return usageErrorf("--max-length must be positive, got %d", maxLength)
			}
			switch lowercase {
			case "auto", "on", "off":
			default:
				return usageErrorf("--lowercase must be auto, on or off, got %q", lowercase)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			tok, err := tokenizer.Load(path)
			if err != nil {
				return err
			}
			if lowercase != "auto" {
				tok = tok.WithLowercase(lowercase == "on")
			}
			opts := tokenizer.PadOptions{MaxLength: maxLength, Pad: !noPad}
			if !cmd.Flags().Changed("max-length") {
				opts.MaxLength = 0
				if !noPad {
					opts.MaxLength = tok.MaxLength()
					if opts.MaxLength == 0 {
						opts.MaxLength = 64 // SigLIP's text_config.max_position_embeddings
					}
				}
			}
			out := bufio.NewWriter(cmd.OutOrStdout())
			defer out.Flush()
			emit := func(text string) error {
				rows, err := tok.EncodeBatch([]string{text}, opts)
				if err != nil {
					return usageErrorf("%w", err)
				}
				b, err := json.Marshal(rows[0])
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(out, "%s\n", b)
				return err
			}
			if !stdin {
				for _, text := range args {
					if err := emit(text); err != nil {
						return err
					}
				}
				return nil
			}
			return eachJSONLine(cmd, cmd.InOrStdin(), emit)
		},
	}
	cmd.Flags().StringVar(&path, "tokenizer", "", "checkpoint folder, tokenizer.json or SentencePiece .model file")
	cmd.Flags().IntVar(&maxLength, "max-length", 0, "truncate and pad to this many ids (default: model_max_length, else 64)")
	cmd.Flags().BoolVar(&noPad, "no-pad", false, "print the ids without padding")
	cmd.Flags().BoolVar(&stdin, "stdin", false, "read texts from standard input, one JSON string per line")
	cmd.Flags().StringVar(&lowercase, "lowercase", "auto", "lowercase text first: auto, on or off")
	return cmd
}

// eachJSONLine calls fn with each line of r decoded as a JSON string.
func eachJSONLine(cmd *cobra.Command, r io.Reader, fn func(string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 64<<20)
	for line := 1; sc.Scan(); line++ {
		if err := cmd.Context().Err(); err != nil {
			return err
		}
		var text string
		if err := json.Unmarshal(sc.Bytes(), &text); err != nil {
			return fmt.Errorf("standard input line %d: want a JSON string like \"a photo of a cat\": %w", line, err)
		}
		if err := fn(text); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read standard input: %w", err)
	}
	return nil
}
