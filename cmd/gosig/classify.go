package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gosig/gosig/pipeline"
	"github.com/gosig/gosig/preprocess"
	"github.com/gosig/gosig/siglip2"
)

// classifyLine is one line of classify --json.
type classifyLine struct {
	Image  string       `json:"image"`
	Scores []scoreEntry `json:"scores"`
}

type scoreEntry struct {
	Label string  `json:"label"`
	Score float32 `json:"score"`
}

// splitLabels parses --labels "a cat, a dog".
func splitLabels(s string) ([]string, error) {
	var out []string
	for i, l := range strings.Split(s, ",") {
		l = strings.TrimSpace(l)
		if l == "" {
			return nil, fmt.Errorf("--labels %q: label %d is empty (labels are comma-separated)", s, i+1)
		}
		out = append(out, l)
	}
	return out, nil
}

// classifyStages scores images against labels (zero-shot: the labels'
// prompts are embedded once, here) or, without labels, with the
// checkpoint's classification head.
func classifyStages(ctx context.Context, m *siglip2.Model, labels []string, template string) (pipeline.Stages[[]siglip2.Score], error) {
	st := pipeline.Stages[[]siglip2.Score]{PrepareImage: pipeline.PrepareImage(m)}
	if labels == nil {
		st.Images = m.ClassifyPrepared
		return st, nil
	}
	labelEmb, err := m.LabelEmbeddings(ctx, labels, template)
	if err != nil {
		return st, err
	}
	st.Images = func(ctx context.Context, ps []*preprocess.Patches) ([][]siglip2.Score, error) {
		emb, err := m.EmbedPrepared(ctx, ps)
		if err != nil {
			return nil, err
		}
		return m.ScoreLabels(emb, labelEmb, labels)
	}
	return st, nil
}

func newClassifyCmd() *cobra.Command {
	var (
		mf       modelFlags
		labelArg string
		template string
		top      int
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "classify --model M [--labels \"a,b,c\"] [flags] IMAGE...",
		Short: "Score images against labels (zero-shot), or with a classification head",
		Long: `classify scores each image. With --labels it does SigLIP's zero-shot
classification, as Hugging Face's zero-shot-image-classification pipeline:
each label goes into --template, all prompts are embedded once, and each
score is sigmoid(scale·cos + bias) — every label on its own, so scores do not
sum to 1 (rank them; do not threshold at 0.5). Without --labels, a checkpoint
with an image-classification head (Siglip2ForImageClassification) uses it,
with softmax probabilities over its id2label.

IMAGE may be a file, a folder (searched recursively) or a glob. Each image
prints its top --top labels; with --json, one line per image:

  {"image": "cat.jpg", "scores": [{"label": "a cat", "score": 0.93}, ...]}

with every label, best first (--top limits it when given). An image that
fails is reported on standard error and skipped; the rest go on.

Exit status: 0 all done, 1 failure (or every image failed), 2 usage,
3 some images failed.`,
		Example: `  gosig classify --model google/siglip2-base-patch16-naflex --labels "a cat,a dog" cat.jpg
  gosig classify --model DIR --labels "red circle,blue square" --template "this is a photo of a {}." shapes/
  gosig classify --model my-finetuned-classifier --json --top 3 photos/*.jpg`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := mf.check(); err != nil {
				return err
			}
			if len(args) == 0 {
				return usageErrorf("no images given (see --help)")
			}
			if top < 0 {
				return usageErrorf("--top must be 0 (all) or more, got %d", top)
			}
			var labels []string
			if cmd.Flags().Changed("labels") {
				var err error
				if labels, err = splitLabels(labelArg); err != nil {
					return usageErrorf("%w", err)
				}
				if _, err := siglip2.Prompts(labels, template); err != nil {
					return usageErrorf("--template: %w", err)
				}
			}
			m, err := mf.load()
			if err != nil {
				return err
			}
			defer m.Close()
			cfg := m.Config()
			switch {
			case labels == nil && !m.HasClassifier():
				return usageErrorf("no --labels: %s is a %s without a classification head; give labels to score, e.g. --labels \"a cat,a dog\"", mf.model, cfg.Architecture)
			case labels != nil && !cfg.HasText():
				hint := ""
				if m.HasClassifier() {
					hint = "; leave out --labels to use its classification head"
				}
				return usageErrorf("--labels: %s is a %s without a text tower, so it cannot score labels%s", mf.model, cfg.Architecture, hint)
			}
			st, err := classifyStages(cmd.Context(), m, labels, template)
			if err != nil {
				return err
			}

			paths, problems := pipeline.ExpandImages(args)
			stderr := cmd.ErrOrStderr()
			for _, p := range problems {
				fmt.Fprintf(stderr, "gosig: skip %v\n", p)
			}
			inputs := make([]pipeline.Input, len(paths))
			for i, p := range paths {
				inputs[i] = pipeline.ImageInput(p)
			}
			inputs, _ = pipeline.Unique(inputs, nil)
			limit := top
			if asJSON && !cmd.Flags().Changed("top") {
				limit = 0
			}
			out := bufio.NewWriter(cmd.OutOrStdout())
			bar := newProgress(stderr, len(inputs), true, "")
			write := func(rs []pipeline.Result[[]siglip2.Score]) error {
				for _, r := range rs {
					if r.Err != nil {
						bar.println("gosig: skip %v", r.Err)
						continue
					}
					if err := printScores(out, r.Input.Path, r.Value, limit, asJSON); err != nil {
						return err
					}
				}
				return out.Flush()
			}
			stats, err := pipeline.Run(cmd.Context(), inputs, st, mf.pipelineOptions(), write)
			if err != nil {
				return err
			}
			return runOutcome(stats.Done(), stats.Failed+len(problems))
		},
	}
	fs := cmd.Flags()
	mf.register(fs)
	fs.StringVar(&labelArg, "labels", "", "comma-separated labels for zero-shot classification")
	fs.StringVar(&template, "template", siglip2.DefaultTemplate, "prompt for each label; {} stands for the label")
	fs.IntVar(&top, "top", 5, "labels to print per image (0: all)")
	fs.BoolVar(&asJSON, "json", false, "one JSON object per image, every label (unless --top is given)")
	return cmd
}

// printScores writes one image's scores: a JSON line, or the image's path
// followed by its best labels, one per line.
func printScores(w io.Writer, path string, scores []siglip2.Score, limit int, asJSON bool) error {
	if limit > 0 && limit < len(scores) {
		scores = scores[:limit]
	}
	if asJSON {
		line := classifyLine{Image: path, Scores: make([]scoreEntry, len(scores))}
		for i, s := range scores {
			line.Scores[i] = scoreEntry{Label: s.Label, Score: s.Score}
		}
		b, err := json.Marshal(line)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	if _, err := fmt.Fprintln(w, path); err != nil {
		return err
	}
	for _, s := range scores {
		if _, err := fmt.Fprintf(w, "  %.4f  %s\n", s.Score, s.Label); err != nil {
			return err
		}
	}
	return nil
}
