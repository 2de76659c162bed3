package graph

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Tensor is a handle to a node under construction. The zero Tensor means
// "absent" where an input is optional (a Linear's bias, an attention mask).
type Tensor struct {
	b  *Builder
	id int
}

// Valid reports whether t refers to a node.
func (t Tensor) Valid() bool { return t.b != nil }

// ID returns the node's ID in the graph.
func (t Tensor) ID() int { return t.id }

// Shape returns a copy of the tensor's shape (nil for an invalid tensor).
func (t Tensor) Shape() []int {
	if t.b == nil {
		return nil
	}
	return slices.Clone(t.b.nodes[t.id].Shape)
}

// Dim returns dimension i of the tensor; negative i counts from the end.
func (t Tensor) Dim(i int) int {
	s := t.b.nodes[t.id].Shape
	if i < 0 {
		i += len(s)
	}
	return s[i]
}

// Builder records ops into a Graph. Ops check their operands' shapes; the
// first mismatch is kept, every later op becomes a no-op, and Build returns
// that error (naming the op, its label and both shapes). Model code can thus
// be written without an error check after each call.
type Builder struct {
	nodes   []*Node
	outputs []Output
	scope   []string
	err     error
	inputs  map[string]int
	weights map[string]int
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder {
	return &Builder{inputs: map[string]int{}, weights: map[string]int{}}
}

// Err returns the first error recorded so far.
func (b *Builder) Err() error { return b.err }

// Scope pushes a label prefix (for example "vision_model.encoder.layers.3")
// onto the names of the nodes created until the returned function is called:
//
//	defer b.Scope("encoder.layers.3")()
func (b *Builder) Scope(name string) (pop func()) {
	b.scope = append(b.scope, name)
	n := len(b.scope)
	return func() { b.scope = b.scope[:n-1] }
}

func (b *Builder) label(op Op) string {
	if len(b.scope) == 0 {
		return op.String()
	}
	return strings.Join(b.scope, ".") + "." + op.String()
}

func (b *Builder) fail(op Op, format string, args ...any) Tensor {
	if b.err == nil {
		b.err = fmt.Errorf("graph: %s: %s", b.label(op), fmt.Sprintf(format, args...))
	}
	return Tensor{}
}

// ok checks that every required tensor is valid and belongs to b. A tensor
// from a failed op is invalid: the error that caused it is already recorded.
func (b *Builder) ok(op Op, ts ...Tensor) bool {
	if b.err != nil {
		return false
	}
	for _, t := range ts {
		if t.b == nil {
			b.fail(op, "missing operand")
			return false
		}
		if t.b != b {
			b.fail(op, "operand %%%d belongs to another builder", t.id)
			return false
		}
	}
	return true
}

func (b *Builder) node(t Tensor) *Node { return b.nodes[t.id] }

func (b *Builder) add(n *Node) Tensor {
	n.ID = len(b.nodes)
	if n.Name == "" {
		n.Name = b.label(n.Op)
	}
	b.nodes = append(b.nodes, n)
	return Tensor{b: b, id: n.ID}
}

func optID(t Tensor) int {
	if t.b == nil {
		return None
	}
	return t.id
}

func validShape(shape []int) bool {
	for _, d := range shape {
		if d <= 0 {
			return false
		}
	}
	return len(shape) > 0
}

// Input declares a tensor fed by name at run time. Declaring the same name
// twice is an error.
func (b *Builder) Input(name string, dt DType, shape ...int) Tensor {
	if b.err != nil {
		return Tensor{}
	}
	if !validShape(shape) {
		return b.fail(OpInput, "input %q: invalid shape %v", name, shape)
	}
	if _, dup := b.inputs[name]; dup {
		return b.fail(OpInput, "input %q declared twice", name)
	}
	t := b.add(&Node{Op: OpInput, DType: dt, Shape: slices.Clone(shape), Name: name})
	b.inputs[name] = t.id
	return t
}

// Weight declares a named F32 parameter (a Hugging Face state-dict key or a
// name derived from one). The executor binds its data once from a Weights
// source. Declaring the same name again returns the same tensor; a different
// shape is an error.
func (b *Builder) Weight(name string, shape ...int) Tensor {
	if b.err != nil {
		return Tensor{}
	}
	if !validShape(shape) {
		return b.fail(OpWeight, "weight %q: invalid shape %v", name, shape)
	}
	if id, ok := b.weights[name]; ok {
		if have := b.nodes[id].Shape; !slices.Equal(have, shape) {
			return b.fail(OpWeight, "weight %q declared with shape %v and %v", name, have, shape)
		}
		return Tensor{b: b, id: id}
	}
	t := b.add(&Node{Op: OpWeight, DType: F32, Shape: slices.Clone(shape), Name: name})
	b.weights[name] = t.id
	return t
}

func (b *Builder) needF32(op Op, what string, t Tensor) bool {
	if n := b.node(t); n.DType != F32 {
		b.fail(op, "%s must be F32, found %s %v", what, n.DType, n.Shape)
		return false
	}
	return true
}

// Linear computes y = x·wᵀ + bias, Hugging Face's nn.Linear: x is [.., K], w
// is [N, K] (the [out, in] layout of the checkpoint), bias is [N] or absent;
// y is [.., N]. The planner fuses a following GELUTanh and a following
// residual Add into it. w may be any F32 tensor, not only a weight (image
// embeddings times text embeddings, say).
func (b *Builder) Linear(x, w, bias Tensor) Tensor {
	if !b.ok(OpLinear, x, w) || !b.needF32(OpLinear, "x", x) || !b.needF32(OpLinear, "w", w) {
		return Tensor{}
	}
	xs, ws := b.node(x).Shape, b.node(w).Shape
	if len(ws) != 2 {
		return b.fail(OpLinear, "w must be [N, K], found %v", ws)
	}
	if xs[len(xs)-1] != ws[1] {
		return b.fail(OpLinear, "x %v and w %v disagree on K (x's last dimension must equal w's second)", xs, ws)
	}
	if bias.Valid() {
		if !b.ok(OpLinear, bias) || !b.needF32(OpLinear, "bias", bias) {
			return Tensor{}
		}
		if bs := b.node(bias).Shape; len(bs) != 1 || bs[0] != ws[0] {
			return b.fail(OpLinear, "bias must be [%d] for w %v, found %v", ws[0], ws, bs)
		}
	}
	shape := append(slices.Clone(xs[:len(xs)-1]), ws[0])
	return b.add(&Node{Op: OpLinear, Shape: shape, Inputs: []int{x.id, w.id, optID(bias), None}})
}

// LayerNorm normalises x over its last dimension D:
// (x - mean) / sqrt(var + eps) · gamma + beta, with the biased variance, as
// torch.nn.LayerNorm. gamma and beta are [D].
func (b *Builder) LayerNorm(x, gamma, beta Tensor, eps float32) Tensor {
	if !b.ok(OpLayerNorm, x, gamma, beta) || !b.needF32(OpLayerNorm, "x", x) {
		return Tensor{}
	}
	xs := b.node(x).Shape
	d := xs[len(xs)-1]
	for _, p := range []Tensor{gamma, beta} {
		if ps := b.node(p).Shape; len(ps) != 1 || ps[0] != d {
			return b.fail(OpLayerNorm, "gamma and beta must be [%d] for x %v, found %v", d, xs, ps)
		}
	}
	if !(eps > 0) {
		return b.fail(OpLayerNorm, "eps must be positive, found %g", eps)
	}
	return b.add(&Node{Op: OpLayerNorm, Shape: slices.Clone(xs), Inputs: []int{x.id, gamma.id, beta.id}, Eps: eps})
}

// GELUTanh applies torch's gelu(approximate="tanh") element-wise:
// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
func (b *Builder) GELUTanh(x Tensor) Tensor {
	if !b.ok(OpGELUTanh, x) || !b.needF32(OpGELUTanh, "x", x) {
		return Tensor{}
	}
	return b.add(&Node{Op: OpGELUTanh, Shape: b.node(x).Shape, Inputs: []int{x.id}})
}

// Add returns a + c. c has a's shape or equals a's trailing dimensions, in
// which case it is broadcast over a's leading ones (position embeddings
// [S, D] added to every sequence of [B, S, D]).
func (b *Builder) Add(a, c Tensor) Tensor {
	if !b.ok(OpAdd, a, c) || !b.needF32(OpAdd, "a", a) || !b.needF32(OpAdd, "b", c) {
		return Tensor{}
	}
	as, cs := b.node(a).Shape, b.node(c).Shape
	if len(cs) > len(as) || !slices.Equal(as[len(as)-len(cs):], cs) {
		return b.fail(OpAdd, "cannot add %v to %v: the second shape must equal the first's trailing dimensions", cs, as)
	}
	return b.add(&Node{Op: OpAdd, Shape: slices.Clone(as), Inputs: []int{a.id, c.id}})
}

// checkMask verifies that mask is an F32 [B, N] tensor.
func (b *Builder) checkMask(op Op, mask Tensor, batch, n int) bool {
	if !b.ok(op, mask) || !b.needF32(op, "mask", mask) {
		return false
	}
	if ms := b.node(mask).Shape; len(ms) != 2 || ms[0] != batch || ms[1] != n {
		b.fail(op, "mask must be [%d, %d], found %v", batch, n, ms)
		return false
	}
	return true
}

// Softmax normalises x [B, .., N] over its last dimension. Where mask [B, N]
// (optional, broadcast over the middle dimensions) is 0, the float32 minimum
// is added to x first, as Hugging Face does: a fully masked row stays finite
// and comes out uniform.
func (b *Builder) Softmax(x, mask Tensor) Tensor {
	if !b.ok(OpSoftmax, x) || !b.needF32(OpSoftmax, "x", x) {
		return Tensor{}
	}
	xs := b.node(x).Shape
	if mask.Valid() {
		if len(xs) < 2 {
			return b.fail(OpSoftmax, "a masked softmax needs x of rank ≥ 2, found %v", xs)
		}
		if !b.checkMask(OpSoftmax, mask, xs[0], xs[len(xs)-1]) {
			return Tensor{}
		}
	}
	return b.add(&Node{Op: OpSoftmax, Shape: slices.Clone(xs), Inputs: []int{x.id, optID(mask)}})
}

// attnShapes checks the operands of Attention and AttentionProbs and returns
// batch, query length, key length and head dimension.
func (b *Builder) attnShapes(op Op, q, k, v, keyMask Tensor, heads int) (bsz, sq, sk, dh int, ok bool) {
	ts := []Tensor{q, k}
	if v.Valid() || op == OpAttention {
		ts = append(ts, v)
	}
	if !b.ok(op, ts...) {
		return
	}
	for _, t := range ts {
		if !b.needF32(op, "q, k and v", t) {
			return
		}
	}
	qs, ks := b.node(q).Shape, b.node(k).Shape
	if len(qs) != 3 || len(ks) != 3 {
		b.fail(op, "q and k must be [B, S, H·Dh], found %v and %v", qs, ks)
		return
	}
	if v.Valid() {
		if vs := b.node(v).Shape; !slices.Equal(vs, ks) {
			b.fail(op, "v %v must have k's shape %v", vs, ks)
			return
		}
	}
	if qs[0] != ks[0] && qs[0] != 1 {
		b.fail(op, "q's batch must be k's (%d) or 1, found %v", ks[0], qs)
		return
	}
	if qs[2] != ks[2] {
		b.fail(op, "q %v and k %v disagree on the hidden size", qs, ks)
		return
	}
	if heads <= 0 || qs[2]%heads != 0 {
		b.fail(op, "hidden size %d is not divisible by %d heads", qs[2], heads)
		return
	}
	if keyMask.Valid() && !b.checkMask(op, keyMask, ks[0], ks[1]) {
		return
	}
	return ks[0], qs[1], ks[1], qs[2] / heads, true
}

// Attention is multi-head scaled dot-product attention over q [Bq, Sq, H·Dh],
// k and v [B, Sk, H·Dh]: for each head h, softmax(q_h·k_hᵀ/√Dh + m)·v_h, where
// m is the float32 minimum at keys whose keyMask [B, Sk] (optional) is 0 and 0
// elsewhere. Bq is B, or 1 for a single query broadcast over the batch (the
// MAP pooling head's probe). The result is [B, Sq, H·Dh], heads concatenated.
func (b *Builder) Attention(q, k, v, keyMask Tensor, heads int) Tensor {
	bsz, sq, _, dh, ok := b.attnShapes(OpAttention, q, k, v, keyMask, heads)
	if !ok {
		return Tensor{}
	}
	return b.add(&Node{Op: OpAttention, Shape: []int{bsz, sq, heads * dh},
		Inputs: []int{q.id, k.id, v.id, optID(keyMask)}, Heads: heads})
}

// AttentionProbs returns the softmax weights that Attention with the same
// operands uses, [B, H, Sq, Sk]: where each query looks (attention maps).
func (b *Builder) AttentionProbs(q, k, keyMask Tensor, heads int) Tensor {
	bsz, sq, sk, _, ok := b.attnShapes(OpAttentionProbs, q, k, Tensor{}, keyMask, heads)
	if !ok {
		return Tensor{}
	}
	return b.add(&Node{Op: OpAttentionProbs, Shape: []int{bsz, heads, sq, sk},
		Inputs: []int{q.id, k.id, optID(keyMask)}, Heads: heads})
}

// Gather looks up rows of table [V, D] by ids (I32 [B, S]) and returns
// [B, S, D]: an embedding layer. Executors reject ids outside [0, V).
func (b *Builder) Gather(table, ids Tensor) Tensor {
	if !b.ok(OpGather, table, ids) || !b.needF32(OpGather, "table", table) {
		return Tensor{}
	}
	ts, is := b.node(table).Shape, b.node(ids).Shape
	if len(ts) != 2 {
		return b.fail(OpGather, "table must be [V, D], found %v", ts)
	}
	if b.node(ids).DType != I32 || len(is) != 2 {
		return b.fail(OpGather, "ids must be I32 [B, S], found %s %v", b.node(ids).DType, is)
	}
	return b.add(&Node{Op: OpGather, Shape: []int{is[0], is[1], ts[1]}, Inputs: []int{table.id, ids.id}})
}

// MaskedMean averages x [B, S, D] over the positions where mask [B, S] is 1:
// Σ x·mask / Σ mask, giving [B, D] (Siglip2ForImageClassification's pooling).
func (b *Builder) MaskedMean(x, mask Tensor) Tensor {
	if !b.ok(OpMaskedMean, x) || !b.needF32(OpMaskedMean, "x", x) {
		return Tensor{}
	}
	xs := b.node(x).Shape
	if len(xs) != 3 {
		return b.fail(OpMaskedMean, "x must be [B, S, D], found %v", xs)
	}
	if !b.checkMask(OpMaskedMean, mask, xs[0], xs[1]) {
		return Tensor{}
	}
	return b.add(&Node{Op: OpMaskedMean, Shape: []int{xs[0], xs[2]}, Inputs: []int{x.id, mask.id}})
}

// L2Normalize divides x by its Euclidean norm over the last dimension, with
// no epsilon, as Hugging Face normalises SigLIP embeddings.
func (b *Builder) L2Normalize(x Tensor) Tensor {
	if !b.ok(OpL2Normalize, x) || !b.needF32(OpL2Normalize, "x", x) {
		return Tensor{}
	}
	return b.add(&Node{Op: OpL2Normalize, Shape: b.node(x).Shape, Inputs: []int{x.id}})
}

// Token picks position index of every sequence of x [B, S, D], giving
// [B, D]; a negative index counts from the end (-1 is the last position, the
// SigLIP text pooler).
func (b *Builder) Token(x Tensor, index int) Tensor {
	if !b.ok(OpToken, x) || !b.needF32(OpToken, "x", x) {
		return Tensor{}
	}
	xs := b.node(x).Shape
	if len(xs) != 3 {
		return b.fail(OpToken, "x must be [B, S, D], found %v", xs)
	}
	if index < -xs[1] || index >= xs[1] {
		return b.fail(OpToken, "index %d out of range for %d positions", index, xs[1])
	}
	return b.add(&Node{Op: OpToken, Shape: []int{xs[0], xs[2]}, Inputs: []int{x.id}, Index: index})
}

// Reshape views x with another shape of the same element count; no data
// moves.
func (b *Builder) Reshape(x Tensor, shape ...int) Tensor {
	if !b.ok(OpReshape, x) {
		return Tensor{}
	}
	n := b.node(x)
	if !validShape(shape) || Elems(shape) != n.Elems() {
		return b.fail(OpReshape, "cannot reshape %v (%d elements) to %v", n.Shape, n.Elems(), shape)
	}
	return b.add(&Node{Op: OpReshape, DType: n.DType, Shape: slices.Clone(shape), Inputs: []int{x.id}})
}

// Output marks t as a result a run returns under name.
func (b *Builder) Output(name string, t Tensor) {
	if b.err != nil {
		return
	}
	if t.b != b {
		b.err = fmt.Errorf("graph: output %q: not a tensor of this builder", name)
		return
	}
	for _, o := range b.outputs {
		if o.Name == name {
			b.err = fmt.Errorf("graph: output %q declared twice", name)
			return
		}
	}
	b.outputs = append(b.outputs, Output{Name: name, ID: t.id})
}

// Build returns the graph, or the first error any op recorded. Nodes that no
// output depends on are kept (the planner skips them).
func (b *Builder) Build() (*Graph, error) {
	if b.err != nil {
		return nil, b.err
	}
	if len(b.outputs) == 0 {
		return nil, errors.New("graph: no outputs declared")
	}
	g := &Graph{Nodes: b.nodes, Outputs: slices.Clone(b.outputs), inputByName: map[string]int{}}
	for name, id := range b.inputs {
		g.inputByName[name] = id
	}
	b.nodes, b.outputs = nil, nil
	b.err = errors.New("graph: builder already built")
	return g, nil
}
