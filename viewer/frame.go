package viewer

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/gosig/gosig/preprocess"
	"github.com/gosig/gosig/siglip2"
)

// Frame is everything the viewer shows for one image: the image as the
// model saw it, the pooling head's attention over its patch grid, and the
// label scores. Padded patches are not part of a Frame: the maps cover the
// GridH·GridW valid patches only.
type Frame struct {
	// Name labels the image (its file name).
	Name string
	// Image is the image as the model saw it, GridW·PatchSize pixels wide
	// and GridH·PatchSize high (the NaFlex-resized image, or the
	// fixed-resolution one).
	Image *preprocess.RGB
	// GridH and GridW are the patch grid; PatchSize the side of a patch in
	// Image's pixels.
	GridH, GridW, PatchSize int
	// Heads holds one map per attention head, GridH·GridW weights in raster
	// order; each sums to 1 over the valid patches.
	Heads [][]float32
	// Mean is the average of the heads' maps.
	Mean []float32
	// Scores are the label scores, best first (empty: no panel contents).
	Scores []Score
	// ScoreKind says what the scores are, for the panel's subtitle
	// ("sigmoid probability per label").
	ScoreKind string
}

// Score is one label's score as the panel lists it.
type Score struct {
	Label string
	Score float32
}

// Validate checks that the image, grid and maps agree, so that the
// renderer never reads outside them.
func (f *Frame) Validate() error {
	if f == nil {
		return errors.New("viewer: no frame")
	}
	if f.GridH <= 0 || f.GridW <= 0 || f.PatchSize <= 0 {
		return fmt.Errorf("viewer: %s: grid %d×%d of %d-pixel patches: all must be positive", f.Name, f.GridH, f.GridW, f.PatchSize)
	}
	if f.Image == nil || f.Image.W != f.GridW*f.PatchSize || f.Image.H != f.GridH*f.PatchSize || len(f.Image.Pix) != f.Image.W*f.Image.H*3 {
		return fmt.Errorf("viewer: %s: the image must be %d×%d pixels (grid %d×%d of %d-pixel patches)",
			f.Name, f.GridW*f.PatchSize, f.GridH*f.PatchSize, f.GridH, f.GridW, f.PatchSize)
	}
	n := f.GridH * f.GridW
	if len(f.Heads) == 0 {
		return fmt.Errorf("viewer: %s: no attention heads", f.Name)
	}
	for h, m := range f.Heads {
		if len(m) != n {
			return fmt.Errorf("viewer: %s: head %d's map has %d weights, want %d (grid %d×%d)", f.Name, h+1, len(m), n, f.GridH, f.GridW)
		}
	}
	if len(f.Mean) != n {
		return fmt.Errorf("viewer: %s: the mean map has %d weights, want %d", f.Name, len(f.Mean), n)
	}
	return nil
}

// Map returns head h's map (0-based), or the mean over heads for h < 0 or
// out of range.
func (f *Frame) Map(h int) []float32 {
	if h < 0 || h >= len(f.Heads) {
		return f.Mean
	}
	return f.Heads[h]
}

// Peak returns the patch (row, column) with the largest weight of head h's
// map (the mean for h < 0) and that weight; the first one on ties.
func (f *Frame) Peak(h int) (row, col int, w float32) {
	m := f.Map(h)
	best := 0
	for i, x := range m {
		if x > m[best] {
			best = i
		}
	}
	return best / f.GridW, best % f.GridW, m[best]
}

// Range returns the smallest and largest weight of head h's map (the mean
// for h < 0): the colour bar's ends.
func (f *Frame) Range(h int) (lo, hi float32) {
	m := f.Map(h)
	lo, hi = m[0], m[0]
	for _, x := range m[1:] {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}

// NewFrame builds a Frame from one image's attention map and its scores
// (sorted best first, as siglip2 returns them; nil for none).
func NewFrame(name string, a *siglip2.AttentionMap, scores []siglip2.Score, kind string) (*Frame, error) {
	if a == nil {
		return nil, errors.New("viewer: no attention map")
	}
	f := &Frame{Name: name, Image: a.Resized, GridH: a.GridH, GridW: a.GridW, PatchSize: a.PatchSize,
		Heads: a.PerHead, Mean: a.Mean, ScoreKind: kind}
	for _, s := range scores {
		f.Scores = append(f.Scores, Score{Label: s.Label, Score: s.Score})
	}
	return f, f.Validate()
}

// Source gives the viewer its images, one Frame at a time, so that a long
// list of images costs a forward pass only when an image is shown.
type Source interface {
	// Len is the number of images.
	Len() int
	// Frame returns image i's frame.
	Frame(ctx context.Context, i int) (*Frame, error)
}

// Frames is a Source over frames already computed.
type Frames []*Frame

// Len returns the number of frames.
func (fs Frames) Len() int { return len(fs) }

// Frame returns frame i.
func (fs Frames) Frame(_ context.Context, i int) (*Frame, error) {
	if i < 0 || i >= len(fs) {
		return nil, fmt.Errorf("viewer: frame %d of %d", i, len(fs))
	}
	return fs[i], nil
}

// ModelSource computes frames from image files with a SigLIP model: the
// attention maps and image embedding in one forward pass, and the scores
// from label embeddings computed once (zero-shot), or from the model's
// classification head when no labels are given. Frames are kept once
// computed. A ModelSource is not safe for concurrent use.
type ModelSource struct {
	m        *siglip2.Model
	paths    []string
	labels   []string
	labelEmb [][]float32
	frames   []*Frame
}

// NewModelSource prepares a source over the image files at paths. labels
// (with template, "{}" standing for the label; empty means the siglip2
// default) are embedded now; with no labels, a checkpoint with a
// classification head scores its own classes, and one without shows no
// scores.
func NewModelSource(ctx context.Context, m *siglip2.Model, paths, labels []string, template string) (*ModelSource, error) {
	if len(paths) == 0 {
		return nil, errors.New("viewer: no images given")
	}
	s := &ModelSource{m: m, paths: paths, labels: labels, frames: make([]*Frame, len(paths))}
	if len(labels) > 0 {
		emb, err := m.LabelEmbeddings(ctx, labels, template)
		if err != nil {
			return nil, fmt.Errorf("viewer: embed the labels: %w", err)
		}
		s.labelEmb = emb
	}
	return s, nil
}

// Len returns the number of images.
func (s *ModelSource) Len() int { return len(s.paths) }

// Frame decodes image i, runs the vision tower and scores it.
func (s *ModelSource) Frame(ctx context.Context, i int) (*Frame, error) {
	if i < 0 || i >= len(s.paths) {
		return nil, fmt.Errorf("viewer: image %d of %d", i, len(s.paths))
	}
	if f := s.frames[i]; f != nil {
		return f, nil
	}
	path := s.paths[i]
	img, err := s.m.LoadImage(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	maps, err := s.m.AttentionMaps(ctx, []*preprocess.RGB{img})
	if err != nil {
		return nil, fmt.Errorf("%s: attention map: %w", path, err)
	}
	var scores []siglip2.Score
	kind := ""
	switch {
	case s.labelEmb != nil:
		all, err := s.m.ScoreLabels([][]float32{maps[0].Embedding}, s.labelEmb, s.labels)
		if err != nil {
			return nil, fmt.Errorf("%s: scores: %w", path, err)
		}
		scores, kind = all[0], "zero-shot: sigmoid probability per label"
	case s.m.HasClassifier():
		all, err := s.m.Classify(ctx, []*preprocess.RGB{img})
		if err != nil {
			return nil, fmt.Errorf("%s: classify: %w", path, err)
		}
		scores, kind = all[0], "classifier head: softmax over its classes"
	}
	f, err := NewFrame(filepath.Base(path), maps[0], scores, kind)
	if err != nil {
		return nil, err
	}
	s.frames[i] = f
	return f, nil
}
