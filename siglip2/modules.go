package siglip2

import (
	"fmt"

	"github.com/gosig/gosig/graph"
)

// The forward pass, written as graph-building functions named after the
// Hugging Face modules they reproduce (modeling_siglip2.py and
// modeling_siglip.py). Each takes the module's state-dict prefix, so weight
// names are the checkpoint's keys.

// towerSpec holds what the encoder modules need from a vision or text
// config.
type towerSpec struct {
	hidden, heads, intermediate, layers int
	eps                                 float32
}

// rows names the slice [lo, hi) of a weight's first dimension, as
// weightSource understands it: nn.MultiheadAttention keeps q, k and v
// stacked in one in_proj_weight; the text tower may read fewer positions than
// it has.
func rows(key string, lo, hi int) string { return fmt.Sprintf("%s[%d:%d]", key, lo, hi) }

// linearModule is nn.Linear(in, out) with a bias.
func linearModule(b *graph.Builder, prefix string, x graph.Tensor, in, out int) graph.Tensor {
	return b.Linear(x, b.Weight(prefix+".weight", out, in), b.Weight(prefix+".bias", out))
}

// layerNormModule is nn.LayerNorm(d, eps).
func layerNormModule(b *graph.Builder, prefix string, x graph.Tensor, d int, eps float32) graph.Tensor {
	return b.LayerNorm(x, b.Weight(prefix+".weight", d), b.Weight(prefix+".bias", d), eps)
}

// attentionModule is Siglip2Attention: q, k, v projections, scaled
// dot-product attention over the keys that keyMask marks valid (all when
// absent), and the output projection.
func attentionModule(b *graph.Builder, prefix string, x, keyMask graph.Tensor, s towerSpec) graph.Tensor {
	defer b.Scope(prefix)()
	q := linearModule(b, prefix+".q_proj", x, s.hidden, s.hidden)
	k := linearModule(b, prefix+".k_proj", x, s.hidden, s.hidden)
	v := linearModule(b, prefix+".v_proj", x, s.hidden, s.hidden)
	a := b.Attention(q, k, v, keyMask, s.heads)
	return linearModule(b, prefix+".out_proj", a, s.hidden, s.hidden)
}

// mlpModule is Siglip2MLP: fc1, gelu_pytorch_tanh, fc2.
func mlpModule(b *graph.Builder, prefix string, x graph.Tensor, s towerSpec) graph.Tensor {
	h := linearModule(b, prefix+".fc1", x, s.hidden, s.intermediate)
	h = b.GELUTanh(h)
	return linearModule(b, prefix+".fc2", h, s.intermediate, s.hidden)
}

// encoderLayer is Siglip2EncoderLayer, pre-LayerNorm:
// x + attn(ln1(x)), then x + mlp(ln2(x)).
func encoderLayer(b *graph.Builder, prefix string, x, keyMask graph.Tensor, s towerSpec) graph.Tensor {
	h := layerNormModule(b, prefix+".layer_norm1", x, s.hidden, s.eps)
	x = b.Add(x, attentionModule(b, prefix+".self_attn", h, keyMask, s))
	h = layerNormModule(b, prefix+".layer_norm2", x, s.hidden, s.eps)
	return b.Add(x, mlpModule(b, prefix+".mlp", h, s))
}

// encoder is Siglip2Encoder. It returns the last layer's output and every
// hidden state (the input first, as Hugging Face's hidden_states).
func encoder(b *graph.Builder, prefix string, x, keyMask graph.Tensor, s towerSpec) (graph.Tensor, []graph.Tensor) {
	states := []graph.Tensor{x}
	for i := range s.layers {
		x = encoderLayer(b, fmt.Sprintf("%s.layers.%d", prefix, i), x, keyMask, s)
		states = append(states, x)
	}
	return x, states
}

// poolingHead is Siglip2MultiheadAttentionPoolingHead (the MAP head): a
// learned probe query attends over the patches with nn.MultiheadAttention,
// then LayerNorm and an MLP with a residual. It returns the pooled [B, D]
// features and the probe's attention weights [B, heads, 1, N].
func poolingHead(b *graph.Builder, prefix string, x, keyMask graph.Tensor, s towerSpec) (pooled, probs graph.Tensor) {
	defer b.Scope(prefix)()
	d := s.hidden
	probe := b.Weight(prefix+".probe", 1, 1, d)
	in := prefix + ".attention.in_proj_weight"
	bias := prefix + ".attention.in_proj_bias"
	proj := func(t graph.Tensor, part int) graph.Tensor {
		lo, hi := part*d, (part+1)*d
		return b.Linear(t, b.Weight(rows(in, lo, hi), d, d), b.Weight(rows(bias, lo, hi), d))
	}
	q, k, v := proj(probe, 0), proj(x, 1), proj(x, 2)
	a := b.Attention(q, k, v, keyMask, s.heads)
	probs = b.AttentionProbs(q, k, keyMask, s.heads)
	h := linearModule(b, prefix+".attention.out_proj", a, d, d)
	h = b.Add(h, mlpModule(b, prefix+".mlp", layerNormModule(b, prefix+".layernorm", h, d, s.eps), s))
	return b.Token(h, 0), probs
}
