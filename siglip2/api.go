package siglip2

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gosig/gosig/preprocess"
)

// DefaultTemplate is the prompt Hugging Face's zero-shot-image-classification
// pipeline wraps each label in.
const DefaultTemplate = "This is a photo of {}."

// Score is one label's score for one image.
type Score struct {
	Label string
	// Score is the probability: sigmoid(Logit) for SigLIP's zero-shot
	// scores (each label on its own), softmax over the labels for a
	// classification head.
	Score float32
	// Logit is the raw logit.
	Logit float32
}

// ZeroShotOptions tune ZeroShot.
type ZeroShotOptions struct {
	// Template turns a label into a prompt; "{}" stands for the label. Empty
	// means DefaultTemplate.
	Template string
}

// batches calls fn on consecutive slices of at most size items.
func batches[T any](items []T, size int, fn func(lo int, part []T) error) error {
	for lo := 0; lo < len(items); lo += size {
		if err := fn(lo, items[lo:min(lo+size, len(items))]); err != nil {
			return err
		}
	}
	return nil
}

// EmbedPrepared returns the L2-normalised embedding (image_embeds) of each
// prepared image, in batches.
func (m *Model) EmbedPrepared(ctx context.Context, imgs []*preprocess.Patches) ([][]float32, error) {
	out := make([][]float32, 0, len(imgs))
	err := batches(imgs, m.opts.BatchSize, func(_ int, part []*preprocess.Patches) error {
		r, err := m.Vision(ctx, part, OutEmbeds)
		if err != nil {
			return err
		}
		out = append(out, rowsOf(r.Embeds)...)
		return nil
	})
	return out, err
}

// prepareAll runs Prepare on every image, naming the one that fails.
func (m *Model) prepareAll(imgs []*preprocess.RGB) ([]*preprocess.Patches, error) {
	if len(imgs) == 0 {
		return nil, errors.New("no images given")
	}
	ps := make([]*preprocess.Patches, len(imgs))
	for i, img := range imgs {
		p, err := m.Prepare(img)
		if err != nil {
			return nil, fmt.Errorf("image %d: %w", i, err)
		}
		ps[i] = p
	}
	return ps, nil
}

// EmbedImages returns the L2-normalised embedding of each image.
func (m *Model) EmbedImages(ctx context.Context, imgs []*preprocess.RGB) ([][]float32, error) {
	ps, err := m.prepareAll(imgs)
	if err != nil {
		return nil, err
	}
	return m.EmbedPrepared(ctx, ps)
}

// EmbedTexts returns the L2-normalised embedding (text_embeds) of each text,
// tokenized as the checkpoint expects (padded to 64 tokens, lowercased for
// SigLIP 2).
func (m *Model) EmbedTexts(ctx context.Context, texts []string) ([][]float32, error) {
	if len(texts) == 0 {
		return nil, errors.New("no texts given")
	}
	ids, err := m.Tokenize(texts)
	if err != nil {
		return nil, err
	}
	out := make([][]float32, 0, len(texts))
	err = batches(ids, m.opts.BatchSize*4, func(_ int, part [][]int) error {
		r, err := m.Text(ctx, part, nil, OutEmbeds)
		if err != nil {
			return err
		}
		out = append(out, rowsOf(r.Embeds)...)
		return nil
	})
	return out, err
}

// Prompts returns the prompt for each label under template ("{}" replaced
// by the label; DefaultTemplate when empty).
func Prompts(labels []string, template string) ([]string, error) {
	if template == "" {
		template = DefaultTemplate
	}
	if !strings.Contains(template, "{}") {
		return nil, fmt.Errorf("template %q has no {} to put the label in", template)
	}
	out := make([]string, len(labels))
	for i, l := range labels {
		out[i] = strings.ReplaceAll(template, "{}", l)
	}
	return out, nil
}

// ZeroShot scores every label for every image, as Hugging Face's
// zero-shot-image-classification pipeline does with SigLIP: each label goes
// through the prompt template, all prompts are embedded in one batched text
// pass, and each score is sigmoid(exp(logit_scale)·cos + logit_bias) — an
// independent probability per label, not a softmax. Scores come sorted,
// best first.
func (m *Model) ZeroShot(ctx context.Context, imgs []*preprocess.RGB, labels []string, opts ZeroShotOptions) ([][]Score, error) {
	ps, err := m.prepareAll(imgs)
	if err != nil {
		return nil, err
	}
	return m.ZeroShotPrepared(ctx, ps, labels, opts)
}

// ZeroShotPrepared is ZeroShot for images already prepared.
func (m *Model) ZeroShotPrepared(ctx context.Context, imgs []*preprocess.Patches, labels []string, opts ZeroShotOptions) ([][]Score, error) {
	textEmb, err := m.LabelEmbeddings(ctx, labels, opts.Template)
	if err != nil {
		return nil, err
	}
	imgEmb, err := m.EmbedPrepared(ctx, imgs)
	if err != nil {
		return nil, err
	}
	return m.ScoreLabels(imgEmb, textEmb, labels)
}

// LabelEmbeddings embeds the prompts for labels (see Prompts). Callers that
// score many batches of images embed the labels once with it, then call
// ScoreLabels.
func (m *Model) LabelEmbeddings(ctx context.Context, labels []string, template string) ([][]float32, error) {
	if len(labels) == 0 {
		return nil, errors.New("no labels given: zero-shot classification needs at least one")
	}
	for i, l := range labels {
		if strings.TrimSpace(l) == "" {
			return nil, fmt.Errorf("label %d is empty", i)
		}
	}
	prompts, err := Prompts(labels, template)
	if err != nil {
		return nil, err
	}
	return m.EmbedTexts(ctx, prompts)
}

// ScoreLabels turns image and label embeddings into sorted sigmoid scores.
func (m *Model) ScoreLabels(imageEmbeds, labelEmbeds [][]float32, labels []string) ([][]Score, error) {
	logits, err := m.Logits(imageEmbeds, labelEmbeds)
	if err != nil {
		return nil, err
	}
	out := make([][]Score, len(logits))
	for i, row := range logits {
		s := make([]Score, len(row))
		for j, l := range row {
			s[j] = Score{Label: labels[j], Score: Sigmoid(l), Logit: l}
		}
		sortScores(s)
		out[i] = s
	}
	return out, nil
}

func sortScores(s []Score) {
	slices.SortStableFunc(s, func(a, b Score) int {
		switch {
		case a.Logit > b.Logit:
			return -1
		case a.Logit < b.Logit:
			return 1
		}
		return 0
	})
}

// Classify runs a Siglip2ForImageClassification checkpoint's head on each
// image and returns every label of config.json's id2label with its softmax
// probability, as Hugging Face's image-classification pipeline does for a
// single-label head, sorted best first.
func (m *Model) Classify(ctx context.Context, imgs []*preprocess.RGB) ([][]Score, error) {
	ps, err := m.prepareAll(imgs)
	if err != nil {
		return nil, err
	}
	return m.ClassifyPrepared(ctx, ps)
}

// HasClassifier reports whether the checkpoint has an image-classification
// head.
func (m *Model) HasClassifier() bool { return m.vision.numClasses > 0 }

// ClassifyPrepared is Classify for images already prepared.
func (m *Model) ClassifyPrepared(ctx context.Context, imgs []*preprocess.Patches) ([][]Score, error) {
	if !m.HasClassifier() {
		return nil, fmt.Errorf("%s is a %s with no classification head: give labels for zero-shot classification instead", m.dir, m.cfg.Architecture)
	}
	labels := m.cfg.Labels()
	var out [][]Score
	err := batches(imgs, m.opts.BatchSize, func(_ int, part []*preprocess.Patches) error {
		r, err := m.Vision(ctx, part, OutClassLogits)
		if err != nil {
			return err
		}
		for _, row := range rowsOf(r.Logits) {
			probs := softmax(row)
			s := make([]Score, len(row))
			for j, l := range row {
				s[j] = Score{Label: labels[j], Score: probs[j], Logit: l}
			}
			sortScores(s)
			out = append(out, s)
		}
		return nil
	})
	return out, err
}

func softmax(x []float32) []float32 {
	mx := math.Inf(-1)
	for _, v := range x {
		mx = math.Max(mx, float64(v))
	}
	var sum float64
	e := make([]float64, len(x))
	for i, v := range x {
		e[i] = math.Exp(float64(v) - mx)
		sum += e[i]
	}
	out := make([]float32, len(x))
	for i := range e {
		out[i] = float32(e[i] / sum)
	}
	return out
}

// AttentionMap is where the MAP pooling head's probe looks in one image:
// its attention weights over the valid patches, per head and averaged, laid
// out on the image's patch grid.
type AttentionMap struct {
	// GridH and GridW are the patch grid; Heads the number of heads.
	GridH, GridW, Heads int
	// PatchSize is the side of a patch in Resized's pixels.
	PatchSize int
	// PerHead holds Heads maps of GridH·GridW weights in raster order.
	PerHead [][]float32
	// Mean is the average of the heads' maps.
	Mean []float32
	// Resized is the image as the model saw it (GridH·PatchSize rows by
	// GridW·PatchSize columns).
	Resized *preprocess.RGB
	// Embedding is the image's L2-normalised embedding, computed in the same
	// pass, so zero-shot scores need no second run.
	Embedding []float32
}

// Head returns head h's map, or the mean over heads for h < 0.
func (a *AttentionMap) Head(h int) []float32 {
	if h < 0 || h >= len(a.PerHead) {
		return a.Mean
	}
	return a.PerHead[h]
}

// AttentionMaps returns the pooling head's attention map of each image. The
// weights of each head sum to 1 over the valid patches; padded patches get
// none and are left out.
func (m *Model) AttentionMaps(ctx context.Context, imgs []*preprocess.RGB) ([]*AttentionMap, error) {
	ps, err := m.prepareAll(imgs)
	if err != nil {
		return nil, err
	}
	return m.AttentionMapsPrepared(ctx, ps)
}

// AttentionMapsPrepared is AttentionMaps for images already prepared.
func (m *Model) AttentionMapsPrepared(ctx context.Context, imgs []*preprocess.Patches) ([]*AttentionMap, error) {
	var out []*AttentionMap
	err := batches(imgs, m.opts.BatchSize, func(lo int, part []*preprocess.Patches) error {
		r, err := m.Vision(ctx, part, OutAttention|OutEmbeds)
		if err != nil {
			return err
		}
		heads, n := r.Attention.Shape[1], r.Attention.Shape[3]
		emb := rowsOf(r.Embeds)
		for i, p := range part {
			valid := p.GridH * p.GridW
			a := &AttentionMap{GridH: p.GridH, GridW: p.GridW, Heads: heads, PatchSize: p.PatchSize,
				Resized: p.Resized, Embedding: emb[i], Mean: make([]float32, valid)}
			for h := range heads {
				src := r.Attention.F32[(i*heads+h)*n:][:valid]
				a.PerHead = append(a.PerHead, slices.Clone(src))
				for j, v := range src {
					a.Mean[j] += v / float32(heads)
				}
			}
			out = append(out, a)
		}
		return nil
	})
	return out, err
}
