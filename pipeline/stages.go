package pipeline

import (
	"github.com/gosig/gosig/preprocess"
	"github.com/gosig/gosig/siglip2"
)

// PrepareImage returns a function that reads an image file and prepares it
// for m's vision tower (decoding with m's settings, then NaFlex or FixRes):
// the Stages.PrepareImage of every model stage.
func PrepareImage(m *siglip2.Model) func(path string) (*preprocess.Patches, error) {
	return func(path string) (*preprocess.Patches, error) {
		img, err := m.LoadImage(path)
		if err != nil {
			return nil, err
		}
		return m.Prepare(img)
	}
}

// EmbedStages returns the stages that embed images and texts with m: the
// L2-normalised image_embeds and text_embeds. A model without a text (or
// vision) tower refuses texts (or images) before the run starts.
func EmbedStages(m *siglip2.Model) Stages[[]float32] {
	var st Stages[[]float32]
	cfg := m.Config()
	if cfg.HasVision() {
		st.PrepareImage = PrepareImage(m)
		st.Images = m.EmbedPrepared
	}
	if cfg.HasText() {
		st.Tokenize = func(text string) ([]int, error) {
			ids, err := m.Tokenize([]string{text})
			if err != nil {
				return nil, err
			}
			return ids[0], nil
		}
		st.Texts = m.EmbedIDs
	}
	return st
}
