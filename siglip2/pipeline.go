package siglip2

import (
	"context"
	"errors"
)

// EmbedIDs returns the L2-normalised text embedding (text_embeds) of each
// token-id sequence, for callers that tokenize themselves (see Tokenize) or
// bring ids from elsewhere. Sequences may differ in length: each run of
// consecutive sequences of one length is one batch (of at most four times
// Options.BatchSize, as EmbedTexts), since a forward pass takes one length.
func (m *Model) EmbedIDs(ctx context.Context, ids [][]int) ([][]float32, error) {
	if len(ids) == 0 {
		return nil, errors.New("no token ids given")
	}
	out := make([][]float32, 0, len(ids))
	size := m.opts.BatchSize * 4
	for lo := 0; lo < len(ids); {
		hi := lo + 1
		for hi < len(ids) && hi-lo < size && len(ids[hi]) == len(ids[lo]) {
			hi++
		}
		r, err := m.Text(ctx, ids[lo:hi], nil, OutEmbeds)
		if err != nil {
			return nil, err
		}
		out = append(out, rowsOf(r.Embeds)...)
		lo = hi
	}
	return out, nil
}
