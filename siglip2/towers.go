package siglip2

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gosig/gosig/graph"
)

// Outputs selects what a forward pass returns. A graph is built (and cached)
// per batch shape and selection, so asking for less computes less.
type Outputs uint16

// Forward-pass outputs. The names of the values a run returns are the
// constants' names in snake case (see outputName).
const (
	// OutPooled is the tower's pooler_output: the MAP head's features for
	// images, head(last position) for texts.
	OutPooled Outputs = 1 << iota
	// OutEmbeds is the L2-normalised pooler_output: image_embeds, text_embeds.
	OutEmbeds
	// OutLastHidden is last_hidden_state, after the final LayerNorm.
	OutLastHidden
	// OutHiddenStates is every encoder layer's input and the last layer's
	// output, before the final LayerNorm (hidden_states.0 … hidden_states.L).
	OutHiddenStates
	// OutAttention is the MAP head's attention weights over the patches,
	// [B, heads, 1, N] (vision only).
	OutAttention
	// OutClassLogits is Siglip2ForImageClassification's logits (vision only).
	OutClassLogits
)

// Value names the outputs carry in a run's result map.
const (
	nameInputIDs       = "input_ids"
	nameTextMask       = "attention_mask"
	namePixels         = "pixel_values"
	namePixelMask      = "pixel_attention_mask"
	namePosEmbeds      = "position_embeddings"
	namePooled         = "pooler_output"
	nameEmbeds         = "embeds"
	nameLastHidden     = "last_hidden_state"
	nameAttention      = "attention"
	nameClassLogits    = "logits"
	nameHiddenStatePfx = "hidden_states."
)

// visionSpec is what the vision graph needs from a config.
type visionSpec struct {
	tower      towerSpec
	naflex     bool // Siglip2 NaFlex: Linear patch embedding, resized positions, mask
	channels   int
	patch      int
	posGrid    int  // the learned position grid is posGrid × posGrid
	useHead    bool // vision_use_head: the MAP pooling head exists
	numClasses int  // > 0 for Siglip2ForImageClassification
}

func (s visionSpec) patchDim() int { return s.channels * s.patch * s.patch }

// textSpec is what the text graph needs from a config.
type textSpec struct {
	tower      towerSpec
	vocab      int
	maxPos     int
	projection int
}

// buildVision builds the vision tower (Siglip2VisionTransformer for NaFlex,
// SiglipVisionTransformer for FixRes) for batch images of n patches each.
//
// Inputs: pixel_values [B, N, C·p·p] (patches flattened in (row, column,
// channel) order for NaFlex, (channel, row, column) for FixRes); for NaFlex
// also pixel_attention_mask [B, N] and position_embeddings [B, N, D] (the
// learned grid resized to each image's own grid, padded rows repeating row
// 0).
func buildVision(s visionSpec, batch, n int, outs Outputs) (*graph.Graph, error) {
	const prefix = "vision_model"
	d := s.tower.hidden
	b := graph.NewBuilder()
	px := b.Input(namePixels, graph.F32, batch, n, s.patchDim())
	var mask, x graph.Tensor
	func() {
		defer b.Scope(prefix + ".embeddings")()
		if s.naflex {
			mask = b.Input(namePixelMask, graph.F32, batch, n)
			pos := b.Input(namePosEmbeds, graph.F32, batch, n, d)
			x = b.Add(linearModule(b, prefix+".embeddings.patch_embedding", px, s.patchDim(), d), pos)
			return
		}
		// Conv2d(C, D, kernel=p, stride=p) over non-overlapping patches is a
		// Linear over each patch flattened in (channel, row, column) order.
		w := b.Reshape(b.Weight(prefix+".embeddings.patch_embedding.weight", d, s.channels, s.patch, s.patch), d, s.patchDim())
		x = b.Linear(px, w, b.Weight(prefix+".embeddings.patch_embedding.bias", d))
		x = b.Add(x, b.Weight(prefix+".embeddings.position_embedding.weight", n, d))
	}()
	last, states := encoder(b, prefix+".encoder", x, mask, s.tower)
	last = layerNormModule(b, prefix+".post_layernorm", last, d, s.tower.eps)

	if outs&(OutPooled|OutEmbeds|OutAttention) != 0 {
		if !s.useHead {
			return nil, fmt.Errorf("this checkpoint's vision tower has no pooling head (vision_use_head is false): it gives no pooled output, embeddings or attention maps")
		}
		pooled, probs := poolingHead(b, prefix+".head", last, mask, s.tower)
		if outs&OutPooled != 0 {
			b.Output(namePooled, pooled)
		}
		if outs&OutEmbeds != 0 {
			b.Output(nameEmbeds, b.L2Normalize(pooled))
		}
		if outs&OutAttention != 0 {
			b.Output(nameAttention, probs)
		}
	}
	if outs&OutClassLogits != 0 {
		if s.numClasses <= 0 {
			return nil, fmt.Errorf("this checkpoint has no image-classification head (it is not a Siglip2ForImageClassification)")
		}
		var pooled graph.Tensor
		if mask.Valid() {
			pooled = b.MaskedMean(last, mask)
		} else {
			ones := b.Input(namePixelMask, graph.F32, batch, n)
			pooled = b.MaskedMean(last, ones)
		}
		b.Output(nameClassLogits, linearModule(b, "classifier", pooled, d, s.numClasses))
	}
	addHidden(b, outs, last, states)
	return b.Build()
}

// buildText builds the text tower (Siglip2TextTransformer) for batch
// sequences of seq token ids. Hugging Face feeds no attention mask by
// default, and the pooled output is the last position's, padding or not;
// withMask adds an attention_mask [B, S] input for callers that want one.
func buildText(s textSpec, batch, seq int, withMask bool, outs Outputs) (*graph.Graph, error) {
	const prefix = "text_model"
	if seq > s.maxPos {
		return nil, fmt.Errorf("text of %d tokens is longer than the model's %d positions (max_position_embeddings)", seq, s.maxPos)
	}
	d := s.tower.hidden
	b := graph.NewBuilder()
	ids := b.Input(nameInputIDs, graph.I32, batch, seq)
	var mask graph.Tensor
	if withMask {
		mask = b.Input(nameTextMask, graph.F32, batch, seq)
	}
	var x graph.Tensor
	func() {
		defer b.Scope(prefix + ".embeddings")()
		tok := b.Gather(b.Weight(prefix+".embeddings.token_embedding.weight", s.vocab, d), ids)
		posKey := prefix + ".embeddings.position_embedding.weight"
		if seq < s.maxPos {
			posKey = rows(posKey, 0, seq)
		}
		x = b.Add(tok, b.Weight(posKey, seq, d))
	}()
	last, states := encoder(b, prefix+".encoder", x, mask, s.tower)
	last = layerNormModule(b, prefix+".final_layer_norm", last, d, s.tower.eps)
	if outs&(OutPooled|OutEmbeds) != 0 {
		pooled := linearModule(b, prefix+".head", b.Token(last, -1), d, s.projection)
		if outs&OutPooled != 0 {
			b.Output(namePooled, pooled)
		}
		if outs&OutEmbeds != 0 {
			b.Output(nameEmbeds, b.L2Normalize(pooled))
		}
	}
	if outs&(OutAttention|OutClassLogits) != 0 {
		return nil, fmt.Errorf("the text tower has no attention maps or classification head")
	}
	addHidden(b, outs, last, states)
	return b.Build()
}

func addHidden(b *graph.Builder, outs Outputs, last graph.Tensor, states []graph.Tensor) {
	if outs&OutLastHidden != 0 {
		b.Output(nameLastHidden, last)
	}
	if outs&OutHiddenStates != 0 {
		for i, h := range states {
			b.Output(nameHiddenStatePfx+strconv.Itoa(i), h)
		}
	}
}

// sliceRows parses a weight name with a row-slice suffix, "key[lo:hi]".
func sliceRows(name string) (key string, lo, hi int, ok bool) {
	open := strings.LastIndexByte(name, '[')
	if open < 0 || !strings.HasSuffix(name, "]") {
		return name, 0, 0, false
	}
	lohi := strings.Split(name[open+1:len(name)-1], ":")
	if len(lohi) != 2 {
		return name, 0, 0, false
	}
	lo, err1 := strconv.Atoi(lohi[0])
	hi, err2 := strconv.Atoi(lohi[1])
	if err1 != nil || err2 != nil || lo < 0 || hi <= lo {
		return name, 0, 0, false
	}
	return name[:open], lo, hi, true
}

// tensorSource gives checkpoint tensors as float32 by Hugging Face key.
type tensorSource interface {
	Float32(key string) ([]float32, []int, error)
}

// weightSource serves the graph's weights from the checkpoint, resolving
// row slices ("in_proj_weight[0:768]") to views of the whole tensor.
type weightSource struct{ src tensorSource }

// Weight implements graph.Weights.
func (w weightSource) Weight(name string) ([]float32, []int, error) {
	key, lo, hi, sliced := sliceRows(name)
	data, shape, err := w.src.Float32(key)
	if err != nil || !sliced {
		return data, shape, err
	}
	if len(shape) == 0 || hi > shape[0] {
		return nil, nil, fmt.Errorf("weight %s: rows [%d:%d] out of range for shape %v", key, lo, hi, shape)
	}
	row := graph.Elems(shape[1:])
	out := append([]int{hi - lo}, shape[1:]...)
	return data[lo*row : hi*row], out, nil
}
