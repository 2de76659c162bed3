package siglip2

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/gosig/gosig/safetensors"
)

// Errors a checkpoint can be refused with, for errors.Is. Messages name the
// key, the expected and found shape or dtype, and the file.
var (
	// ErrMissingWeight marks a tensor the configuration needs that the
	// checkpoint lacks.
	ErrMissingWeight = errors.New("missing weight")
	// ErrWeightShape marks a tensor whose shape differs from the one the
	// configuration implies.
	ErrWeightShape = errors.New("weight has the wrong shape")
	// ErrWeightDType marks a tensor that is not floating point.
	ErrWeightDType = errors.New("weight has the wrong dtype")
)

// TensorSpec is one tensor a checkpoint must hold: its Hugging Face
// state-dict key and shape.
type TensorSpec struct {
	Key   string
	Shape []int
}

// NumElements returns the product of the shape.
func (s TensorSpec) NumElements() int64 {
	n := int64(1)
	for _, d := range s.Shape {
		n *= int64(d)
	}
	return n
}

// Tensors lists every tensor a checkpoint of this configuration holds, with
// its shape, in the order transformers' modules declare them. It is the
// state dict of the Hugging Face model class (persistent parameters only;
// position_ids buffers are not saved).
func (c *Config) Tensors() []TensorSpec {
	var s specList
	if c.HasVision() {
		s.vision("vision_model", c.Vision)
	}
	if c.HasText() {
		s.text("text_model", c.Text)
	}
	switch c.Architecture {
	case ArchModel:
		s.add("logit_scale", 1)
		s.add("logit_bias", 1)
	case ArchImageClassification:
		if c.NumLabels > 0 { // transformers uses nn.Identity for 0 labels
			s.add("classifier.weight", c.NumLabels, c.Vision.HiddenSize)
			s.add("classifier.bias", c.NumLabels)
		}
	}
	return s
}

// NumParameters returns the total element count of Tensors.
func (c *Config) NumParameters() int64 {
	var n int64
	for _, t := range c.Tensors() {
		n += t.NumElements()
	}
	return n
}

type specList []TensorSpec

func (s *specList) add(key string, shape ...int) {
	*s = append(*s, TensorSpec{Key: key, Shape: shape})
}

// linear is nn.Linear(in, out): weight [out, in], bias [out].
func (s *specList) linear(prefix string, in, out int) {
	s.add(prefix+".weight", out, in)
	s.add(prefix+".bias", out)
}

// layerNorm is nn.LayerNorm(d).
func (s *specList) layerNorm(prefix string, d int) {
	s.add(prefix+".weight", d)
	s.add(prefix+".bias", d)
}

// mlp is SiglipMLP: fc1 d→i, fc2 i→d.
func (s *specList) mlp(prefix string, d, i int) {
	s.linear(prefix+".fc1", d, i)
	s.linear(prefix+".fc2", i, d)
}

// encoder is SiglipEncoder: layers of (layer_norm1, self_attn, layer_norm2, mlp).
func (s *specList) encoder(prefix string, d, i, layers int) {
	for l := range layers {
		p := prefix + ".layers." + strconv.Itoa(l)
		s.layerNorm(p+".layer_norm1", d)
		for _, proj := range []string{"k_proj", "v_proj", "q_proj", "out_proj"} {
			s.linear(p+".self_attn."+proj, d, d)
		}
		s.layerNorm(p+".layer_norm2", d)
		s.mlp(p+".mlp", d, i)
	}
}

// vision is Siglip2VisionTransformer (NaFlex) / SiglipVisionTransformer.
func (s *specList) vision(prefix string, v VisionConfig) {
	d := v.HiddenSize
	if v.NaFlex {
		// nn.Linear over patches flattened to C·p·p values.
		s.linear(prefix+".embeddings.patch_embedding", v.PatchDim(), d)
	} else {
		// nn.Conv2d(C, D, kernel p, stride p).
		s.add(prefix+".embeddings.patch_embedding.weight", d, v.NumChannels, v.PatchSize, v.PatchSize)
		s.add(prefix+".embeddings.patch_embedding.bias", d)
	}
	s.add(prefix+".embeddings.position_embedding.weight", v.NumPatches, d)
	s.encoder(prefix+".encoder", d, v.IntermediateSize, v.NumHiddenLayers)
	s.layerNorm(prefix+".post_layernorm", d)
	if v.UseHead {
		// SiglipMultiheadAttentionPoolingHead: a learned probe query and
		// torch's nn.MultiheadAttention, whose q, k, v projections are stacked
		// in in_proj_weight [3D, D].
		h := prefix + ".head"
		s.add(h+".probe", 1, 1, d)
		s.add(h+".attention.in_proj_weight", 3*d, d)
		s.add(h+".attention.in_proj_bias", 3*d)
		s.linear(h+".attention.out_proj", d, d)
		s.layerNorm(h+".layernorm", d)
		s.mlp(h+".mlp", d, v.IntermediateSize)
	}
}

// text is Siglip2TextTransformer / SiglipTextTransformer.
func (s *specList) text(prefix string, t TextConfig) {
	d := t.HiddenSize
	s.add(prefix+".embeddings.token_embedding.weight", t.VocabSize, d)
	s.add(prefix+".embeddings.position_embedding.weight", t.MaxPositionEmbeddings, d)
	s.encoder(prefix+".encoder", d, t.IntermediateSize, t.NumHiddenLayers)
	s.layerNorm(prefix+".final_layer_norm", d)
	s.linear(prefix+".head", d, t.ProjectionSize)
}

// Weights is a checkpoint checked against a configuration: every tensor the
// configuration needs is present, floating point and of the right shape.
// Tensors stay in the (memory-mapped) files until asked for, so opening a
// 1.5 GB checkpoint reads only its headers.
type Weights struct {
	cfg        *Config
	src        safetensors.Reader
	owned      bool // Close closes src
	shapes     map[string][]int
	keys       []string
	unexpected []string
}

// OpenWeights opens the checkpoint in the model folder dir
// (model.safetensors, or a sharded model.safetensors.index.json) and checks
// it against cfg. Close releases the files.
func OpenWeights(dir string, cfg *Config) (*Weights, error) {
	r, err := safetensors.OpenModel(dir)
	if err != nil {
		return nil, fmt.Errorf("load weights: %w", err)
	}
	w, err := LoadWeights(r, cfg)
	if err != nil {
		r.Close()
		return nil, err
	}
	w.owned = true
	return w, nil
}

// maxReported bounds how many problems one error lists.
const maxReported = 12

// LoadWeights checks the tensors of r against cfg. Every problem is reported
// at once (up to a dozen, then a count): missing keys (ErrMissingWeight),
// shapes that differ from the configuration's (ErrWeightShape), and dtypes
// that are not F32, F16, BF16 or F64 (ErrWeightDType). Keys the
// configuration does not expect are not an error; Unexpected lists them.
// The caller keeps ownership of r: Weights.Close does not close it.
func LoadWeights(r safetensors.Reader, cfg *Config) (*Weights, error) {
	specs := cfg.Tensors()
	w := &Weights{cfg: cfg, src: r, shapes: make(map[string][]int, len(specs))}
	src := readerPath(r)
	var problems []error
	for _, s := range specs {
		w.keys = append(w.keys, s.Key)
		w.shapes[s.Key] = s.Shape
		info, ok := r.Info(s.Key)
		switch {
		case !ok:
			problems = append(problems, fmt.Errorf("%w: %q (shape %v) is not in %s", ErrMissingWeight, s.Key, s.Shape, src))
		case !slices.Equal(info.Shape, s.Shape):
			problems = append(problems, fmt.Errorf("%w: %q: expected shape %v, found %v in %s", ErrWeightShape, s.Key, s.Shape, info.Shape, info.File))
		case !isFloat(info.DType):
			problems = append(problems, fmt.Errorf("%w: %q: expected F32, F16, BF16 or F64, found %s in %s", ErrWeightDType, s.Key, info.DType, info.File))
		}
	}
	for _, name := range r.Names() {
		if _, ok := w.shapes[name]; !ok {
			w.unexpected = append(w.unexpected, name)
		}
	}
	if len(problems) > 0 {
		return nil, loadError(src, cfg, problems)
	}
	return w, nil
}

func loadError(src string, cfg *Config, problems []error) error {
	shown := problems[:min(len(problems), maxReported)]
	var more string
	if len(problems) > len(shown) {
		more = fmt.Sprintf("\n(and %d more)", len(problems)-len(shown))
	}
	return fmt.Errorf("load weights %s for %s (%s, %s): %d problem(s); is this the checkpoint that goes with this config?\n%w%s",
		src, cfg.Path, cfg.ModelType, cfg.Architecture, len(problems), errors.Join(shown...), more)
}

func isFloat(d safetensors.DType) bool {
	return d == safetensors.F32 || d == safetensors.F16 || d == safetensors.BF16 || d == safetensors.F64
}

// readerPath names a Reader's file for messages.
func readerPath(r safetensors.Reader) string {
	if p, ok := r.(interface{ Path() string }); ok {
		return p.Path()
	}
	return "the checkpoint"
}

// Config returns the configuration the weights were checked against.
func (w *Weights) Config() *Config { return w.cfg }

// Keys returns the expected keys, in the order of Config.Tensors.
func (w *Weights) Keys() []string { return slices.Clone(w.keys) }

// Unexpected returns the checkpoint's keys that the configuration does not
// use, sorted: worth a warning (a checkpoint of another model class?), never
// an error (older checkpoints carry position_ids buffers, for instance).
func (w *Weights) Unexpected() []string { return slices.Clone(w.unexpected) }

// Shape returns the shape of an expected key.
func (w *Weights) Shape(key string) ([]int, bool) {
	s, ok := w.shapes[key]
	return slices.Clone(s), ok
}

// Info returns the header entry of an expected key: its dtype, byte range
// and file, for callers that upload raw bytes (for example F16 as is).
func (w *Weights) Info(key string) (safetensors.TensorInfo, bool) {
	if _, ok := w.shapes[key]; !ok {
		return safetensors.TensorInfo{}, false
	}
	return w.src.Info(key)
}

// Bytes returns the raw little-endian bytes of an expected key, aliasing the
// memory map (valid until Close; do not modify).
func (w *Weights) Bytes(key string) ([]byte, error) {
	if err := w.known(key); err != nil {
		return nil, err
	}
	return w.src.Bytes(key)
}

// Float32 returns an expected tensor converted to float32 (exactly from F32,
// F16 and BF16) and its shape. Each call reads and converts afresh: callers
// that need a tensor twice keep it.
func (w *Weights) Float32(key string) ([]float32, []int, error) {
	if err := w.known(key); err != nil {
		return nil, nil, err
	}
	v, shape, err := w.src.Float32(key)
	if err != nil {
		return nil, nil, fmt.Errorf("load weight: %w", err)
	}
	return v, shape, nil
}

func (w *Weights) known(key string) error {
	if _, ok := w.shapes[key]; !ok {
		return fmt.Errorf("weight %q: %w: not a tensor of %s (%s); expected keys look like %q",
			key, ErrMissingWeight, w.cfg.Path, w.cfg.Architecture, firstKey(w.keys))
	}
	return nil
}

func firstKey(keys []string) string {
	if len(keys) == 0 {
		return ""
	}
	return keys[0]
}

// Close releases the checkpoint files if OpenWeights opened them.
func (w *Weights) Close() error {
	if !w.owned {
		return nil
	}
	return w.src.Close()
}
