package siglip2

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strconv"

	"github.com/gosig/gosig/gpu"
	"github.com/gosig/gosig/graph"
	"github.com/gosig/gosig/graph/cpuexec"
	"github.com/gosig/gosig/graph/gpuexec"
	"github.com/gosig/gosig/hub"
	"github.com/gosig/gosig/preprocess"
	"github.com/gosig/gosig/tokenizer"
)

// Options configure Load. The zero value runs on the default GPU with the
// checkpoint's own preprocessing and tokenizer settings.
type Options struct {
	// Device is "gpu" (the default: WebGPU on Vulkan, Metal or DX12; Mesa's
	// lavapipe on a machine without a GPU) or "cpu" (the pure Go reference
	// executor: exact but slow).
	Device string
	// GPU chooses the WebGPU backend and adapter (also $GOSIG_BACKEND and
	// $GOSIG_ADAPTER).
	GPU gpu.Options
	// Kernels overrides the GPU kernel choice (see gpuexec.Options.Kernels).
	Kernels string
	// F16Weights stores the Linear weights as f16 on the GPU: half the
	// memory and bandwidth, at an error measured in the README.
	F16Weights bool
	// Executor, when set, runs the model instead of one made from Device.
	// Load does not close it.
	Executor graph.Executor

	// Revision picks the revision of a hub id in the local cache ("main" if
	// empty).
	Revision string
	// MaxPatches overrides the NaFlex patch budget of
	// preprocessor_config.json (max_num_patches): more patches, more detail,
	// more time.
	MaxPatches int
	// Lowercase overrides whether texts are lowercased before tokenizing
	// (nil: on for SigLIP 2, as it was trained; SigLIP's tokenizer
	// lowercases anyway).
	Lowercase *bool
	// FastDecode decodes large JPEGs already shrunk in the DCT domain, for
	// bulk work: about half the decoding CPU, close to but not bit-exact with
	// Hugging Face's pixels (see preprocess.DecodeOptions; embeddings keep a
	// cosine ≥ 0.9997 to the exact path's, TestFastDecodeEmbeddings).
	FastDecode bool
	// BatchSize is how many images or texts one forward pass takes in the
	// high-level methods; 0 means 8.
	BatchSize int
}

// Model is a loaded SigLIP or SigLIP 2 checkpoint with its tokenizer and
// image processor, bound to an executor. Its methods are safe for concurrent
// use; forward passes on one executor run one after another.
type Model struct {
	cfg      *Config
	dir      string
	opts     Options
	weights  *Weights
	exec     graph.Executor
	ownsExec bool

	pre preprocess.Config
	tok *tokenizer.Tokenizer // nil without a text tower

	vision visionSpec
	text   textSpec
	posW   []float32 // the learned NaFlex position grid, [g·g, D]

	logitScale, logitBias float32
	hasLogits             bool

	plans graph.PlanCache
	pos   posEmbedCache
}

// Load opens the checkpoint in dir — a folder with config.json,
// model.safetensors (or a sharded index), the tokenizer files and
// preprocessor_config.json, or a hub id ("google/siglip2-base-patch16-naflex")
// already in the local Hugging Face cache (see gosig pull) — and prepares it
// to run.
func Load(dir string, opts Options) (*Model, error) {
	path, err := hub.Resolve(dir, opts.Revision)
	if err != nil {
		return nil, err
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		return nil, err
	}
	w, err := OpenWeights(path, cfg)
	if err != nil {
		return nil, err
	}
	m, err := newModel(path, cfg, w, opts)
	if err != nil {
		w.Close()
		return nil, err
	}
	return m, nil
}

func newModel(dir string, cfg *Config, w *Weights, opts Options) (*Model, error) {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 8
	}
	m := &Model{cfg: cfg, dir: dir, opts: opts, weights: w}
	if cfg.HasVision() {
		v := cfg.Vision
		m.vision = visionSpecOf(cfg)
		pre, err := preprocess.LoadConfig(dir)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", dir, err)
		}
		if err := m.checkPreprocess(pre); err != nil {
			return nil, err
		}
		m.pre = pre
		if v.NaFlex {
			pos, _, err := w.Float32("vision_model.embeddings.position_embedding.weight")
			if err != nil {
				return nil, err
			}
			m.posW = pos
		}
	}
	if cfg.HasText() {
		t := cfg.Text
		m.text = textSpecOf(cfg)
		tok, err := tokenizer.Load(dir)
		if err != nil {
			return nil, err
		}
		if opts.Lowercase != nil {
			tok = tok.WithLowercase(*opts.Lowercase)
		}
		if tok.VocabSize() > t.VocabSize {
			return nil, fmt.Errorf("load %s: the tokenizer has %d tokens but the text model only %d (vocab_size): they are not from the same checkpoint", dir, tok.VocabSize(), t.VocabSize)
		}
		m.tok = tok
	}
	if cfg.Architecture == ArchModel {
		scale, _, err1 := w.Float32("logit_scale")
		bias, _, err2 := w.Float32("logit_bias")
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		m.logitScale, m.logitBias, m.hasLogits = scale[0], bias[0], true
	}
	switch {
	case opts.Executor != nil:
		m.exec = opts.Executor
	case opts.Device == "" || opts.Device == "gpu":
		e, err := gpuexec.New(weightSource{w}, gpuexec.Options{GPU: opts.GPU, Kernels: opts.Kernels, F16Weights: opts.F16Weights})
		if err != nil {
			return nil, fmt.Errorf("%w\n(to run without a GPU, use the CPU executor: --device cpu)", err)
		}
		m.exec, m.ownsExec = e, true
	case opts.Device == "cpu":
		m.exec, m.ownsExec = cpuexec.New(weightSource{w}), true
	default:
		return nil, fmt.Errorf("unknown device %q: want gpu or cpu", opts.Device)
	}
	return m, nil
}

// visionSpecOf takes what the vision graph needs from a config.
func visionSpecOf(cfg *Config) visionSpec {
	v := cfg.Vision
	s := visionSpec{
		tower:    towerSpec{v.HiddenSize, v.NumAttentionHeads, v.IntermediateSize, v.NumHiddenLayers, float32(v.LayerNormEps)},
		naflex:   v.NaFlex,
		channels: v.NumChannels,
		patch:    v.PatchSize,
		posGrid:  v.PositionGrid(),
		useHead:  v.UseHead,
	}
	if cfg.Architecture == ArchImageClassification {
		s.numClasses = cfg.NumLabels
	}
	return s
}

// textSpecOf takes what the text graph needs from a config.
func textSpecOf(cfg *Config) textSpec {
	t := cfg.Text
	return textSpec{
		tower:      towerSpec{t.HiddenSize, t.NumAttentionHeads, t.IntermediateSize, t.NumHiddenLayers, float32(t.LayerNormEps)},
		vocab:      t.VocabSize,
		maxPos:     t.MaxPositionEmbeddings,
		projection: t.ProjectionSize,
	}
}

// checkPreprocess verifies that the image processor fits the vision tower.
func (m *Model) checkPreprocess(pre preprocess.Config) error {
	v := m.cfg.Vision
	file := filepath.Join(m.dir, preprocess.ConfigFile)
	switch {
	case v.NaFlex && pre.Kind != preprocess.KindNaFlex:
		return fmt.Errorf("%s: a %s is a fixed-resolution processor, but the model is SigLIP 2 NaFlex", file, pre.ProcessorType)
	case !v.NaFlex && pre.Kind != preprocess.KindFixRes:
		return fmt.Errorf("%s: a %s is a NaFlex processor, but the model is fixed-resolution (model_type siglip)", file, pre.ProcessorType)
	case v.NaFlex && pre.PatchSize != v.PatchSize:
		return fmt.Errorf("%s: patch_size %d, but the model's is %d", file, pre.PatchSize, v.PatchSize)
	case !v.NaFlex && (pre.Height%v.PatchSize != 0 || pre.Width%v.PatchSize != 0 ||
		(pre.Height/v.PatchSize)*(pre.Width/v.PatchSize) != v.NumPatches):
		return fmt.Errorf("%s: size %d×%d does not give the model's %d patches of %d pixels", file, pre.Height, pre.Width, v.NumPatches, v.PatchSize)
	}
	return nil
}

// Config returns the checkpoint's configuration.
func (m *Model) Config() *Config { return m.cfg }

// Dir returns the folder the checkpoint was loaded from.
func (m *Model) Dir() string { return m.dir }

// Executor returns the executor the model runs on.
func (m *Model) Executor() graph.Executor { return m.exec }

// Tokenizer returns the checkpoint's tokenizer (nil without a text tower).
func (m *Model) Tokenizer() *tokenizer.Tokenizer { return m.tok }

// Preprocessor returns the checkpoint's image-processor settings.
func (m *Model) Preprocessor() preprocess.Config { return m.pre }

// MaxPatches returns the NaFlex patch budget in use (Options.MaxPatches, else
// the processor's max_num_patches), or the fixed patch count for FixRes.
func (m *Model) MaxPatches() int {
	if !m.vision.naflex {
		return m.cfg.Vision.NumPatches
	}
	if m.opts.MaxPatches > 0 {
		return m.opts.MaxPatches
	}
	return m.pre.MaxNumPatches
}

// Close releases the executor (unless it was passed in Options) and the
// memory-mapped weights.
func (m *Model) Close() error {
	var err error
	if m.ownsExec {
		err = m.exec.Close()
	}
	return errors.Join(err, m.weights.Close())
}

// DecodeOptions returns the decoding options the model's settings imply:
// with FastDecode, large JPEGs are decoded shrunk towards the size the
// processor will resize them to.
func (m *Model) DecodeOptions() preprocess.DecodeOptions {
	var o preprocess.DecodeOptions
	if m.opts.FastDecode && m.cfg.HasVision() {
		o.FastTarget = m.pre.Target(m.MaxPatches())
	}
	return o
}

// LoadImage decodes an image file as Hugging Face's load_image does (EXIF
// orientation applied, converted to RGB).
func (m *Model) LoadImage(path string) (*preprocess.RGB, error) {
	return preprocess.DecodeFile(path, m.DecodeOptions())
}

// Prepare turns an image into the vision tower's input: NaFlex patches for
// SigLIP 2, or the fixed-size image cut into patches in (channel, row,
// column) order for SigLIP. Resized always holds the image the model sees.
func (m *Model) Prepare(img *preprocess.RGB) (*preprocess.Patches, error) {
	if !m.cfg.HasVision() {
		return nil, errors.New("this checkpoint has no vision tower")
	}
	if m.vision.naflex {
		return preprocess.NaFlex(img, m.pre, m.MaxPatches())
	}
	chw, err := preprocess.FixRes(img, m.pre)
	if err != nil {
		return nil, err
	}
	resized := img
	if m.pre.DoResize {
		if resized, err = preprocess.Resize(img, m.pre.Width, m.pre.Height, m.pre.Resample); err != nil {
			return nil, err
		}
	}
	return fixResPatches(chw, m.pre.Height, m.pre.Width, m.vision.patch, resized), nil
}

// fixResPatches cuts a [3, H, W] image into [N, 3·p·p] rows, each patch
// flattened in (channel, row, column) order — the order in which a Conv2d
// with kernel and stride p reads it.
func fixResPatches(chw []float32, h, w, p int, resized *preprocess.RGB) *preprocess.Patches {
	gh, gw := h/p, w/p
	row := 3 * p * p
	vals := make([]float32, gh*gw*row)
	mask := make([]int32, gh*gw)
	for py := range gh {
		for px := range gw {
			dst := vals[(py*gw+px)*row:]
			i := 0
			for c := range 3 {
				for y := range p {
					src := chw[(c*h+py*p+y)*w+px*p:][:p]
					i += copy(dst[i:], src)
				}
			}
			mask[py*gw+px] = 1
		}
	}
	return &preprocess.Patches{Values: vals, Mask: mask, GridH: gh, GridW: gw, PatchSize: p, MaxPatches: gh * gw, Resized: resized}
}

// Result holds what a forward pass returned, each output a flat row-major
// tensor with its shape (zero when not asked for).
type Result struct {
	// Pooled is pooler_output [B, D]; Embeds its L2-normalised form.
	Pooled, Embeds graph.Value
	// LastHidden is last_hidden_state [B, S, D].
	LastHidden graph.Value
	// HiddenStates are hidden_states.0 … hidden_states.L, [B, S, D] each.
	HiddenStates []graph.Value
	// Attention is the pooling head's attention over the patches,
	// [B, heads, 1, N].
	Attention graph.Value
	// Logits are the image-classification logits [B, labels].
	Logits graph.Value
}

func (m *Model) run(ctx context.Context, key string, build func() (*graph.Graph, error), in map[string]graph.Value, outs Outputs) (*Result, error) {
	p, err := m.plans.Get(key, build)
	if err != nil {
		return nil, err
	}
	vals, err := m.exec.Run(ctx, p, in)
	if err != nil {
		return nil, err
	}
	r := &Result{
		Pooled: vals[namePooled], Embeds: vals[nameEmbeds], LastHidden: vals[nameLastHidden],
		Attention: vals[nameAttention], Logits: vals[nameClassLogits],
	}
	if outs&OutHiddenStates != 0 {
		for i := 0; ; i++ {
			v, ok := vals[nameHiddenStatePfx+strconv.Itoa(i)]
			if !ok {
				break
			}
			r.HiddenStates = append(r.HiddenStates, v)
		}
	}
	return r, nil
}

// Vision runs the vision tower on a batch of prepared images (see Prepare),
// which must share one patch budget; their grids may differ.
func (m *Model) Vision(ctx context.Context, batch []*preprocess.Patches, outs Outputs) (*Result, error) {
	if !m.cfg.HasVision() {
		return nil, errors.New("this checkpoint has no vision tower")
	}
	if len(batch) == 0 {
		return nil, errors.New("vision: no images")
	}
	n := batch[0].MaxPatches
	pd := m.vision.patchDim()
	d := m.vision.tower.hidden
	px := make([]float32, 0, len(batch)*n*pd)
	mask := make([]float32, 0, len(batch)*n)
	var pos []float32
	if m.vision.naflex {
		pos = make([]float32, 0, len(batch)*n*d)
	}
	for i, p := range batch {
		if p.MaxPatches != n || len(p.Values) != n*pd || len(p.Mask) != n {
			return nil, fmt.Errorf("vision: image %d has %d patches of %d values, want %d of %d (one batch, one patch budget)", i, p.MaxPatches, len(p.Values)/max(p.MaxPatches, 1), n, pd)
		}
		px = append(px, p.Values...)
		for _, v := range p.Mask {
			mask = append(mask, float32(v))
		}
		if m.vision.naflex {
			if p.GridH*p.GridW > n {
				return nil, fmt.Errorf("vision: image %d has a %d×%d grid, more than its %d patches", i, p.GridH, p.GridW, n)
			}
			r, err := m.pos.get(m.posW, m.vision.posGrid, d, p.GridH, p.GridW)
			if err != nil {
				return nil, fmt.Errorf("vision: image %d: %w", i, err)
			}
			pos = append(pos, r...)
			for range n - p.GridH*p.GridW { // padded rows repeat the first resized row
				pos = append(pos, r[:d]...)
			}
		}
	}
	bsz := len(batch)
	in := map[string]graph.Value{
		namePixels:    graph.F32Value(px, bsz, n, pd),
		namePixelMask: graph.F32Value(mask, bsz, n),
	}
	if m.vision.naflex {
		in[namePosEmbeds] = graph.F32Value(pos, bsz, n, d)
	}
	key := fmt.Sprintf("vision/%d/%d/%d", bsz, n, outs)
	return m.run(ctx, key, func() (*graph.Graph, error) { return buildVision(m.vision, bsz, n, outs) }, in, outs)
}

// Tokenize turns texts into the text tower's input: the checkpoint's ids,
// truncated and right-padded to the model's max_position_embeddings (64 for
// every published SigLIP), as the model was trained.
func (m *Model) Tokenize(texts []string) ([][]int, error) {
	if m.tok == nil {
		return nil, errors.New("this checkpoint has no text tower")
	}
	return m.tok.EncodeBatch(texts, tokenizer.PadOptions{MaxLength: m.text.maxPos, Pad: true})
}

// Text runs the text tower on a batch of token-id sequences of one length
// (see Tokenize). mask, when not nil, is an attention mask ([B][S], 1 for a
// real token): Hugging Face passes none by default, and SigLIP was trained
// without one.
func (m *Model) Text(ctx context.Context, ids [][]int, mask [][]int, outs Outputs) (*Result, error) {
	if !m.cfg.HasText() {
		return nil, errors.New("this checkpoint has no text tower")
	}
	if len(ids) == 0 {
		return nil, errors.New("text: no texts")
	}
	seq := len(ids[0])
	flat := make([]int32, 0, len(ids)*seq)
	for i, row := range ids {
		if len(row) != seq {
			return nil, fmt.Errorf("text: sequence %d has %d ids, sequence 0 has %d (pad them to one length)", i, len(row), seq)
		}
		for _, id := range row {
			if id < 0 || id >= m.text.vocab {
				return nil, fmt.Errorf("text: sequence %d: token id %d is outside the vocabulary [0, %d)", i, id, m.text.vocab)
			}
			flat = append(flat, int32(id))
		}
	}
	bsz := len(ids)
	in := map[string]graph.Value{nameInputIDs: graph.I32Value(flat, bsz, seq)}
	if mask != nil {
		fm := make([]float32, 0, bsz*seq)
		for i, row := range mask {
			if len(row) != seq {
				return nil, fmt.Errorf("text: attention mask %d has %d entries, want %d", i, len(row), seq)
			}
			for _, v := range row {
				fm = append(fm, float32(v))
			}
		}
		if len(mask) != bsz {
			return nil, fmt.Errorf("text: %d attention masks for %d sequences", len(mask), bsz)
		}
		in[nameTextMask] = graph.F32Value(fm, bsz, seq)
	}
	withMask := mask != nil
	key := fmt.Sprintf("text/%d/%d/%t/%d", bsz, seq, withMask, outs)
	return m.run(ctx, key, func() (*graph.Graph, error) { return buildText(m.text, bsz, seq, withMask, outs) }, in, outs)
}

// LogitScale returns exp(logit_scale) and logit_bias: logits are
// scale·cos(image, text) + bias.
func (m *Model) LogitScale() (scale, bias float32, ok bool) {
	return float32(math.Exp(float64(m.logitScale))), m.logitBias, m.hasLogits
}

// Logits returns logits_per_image [images][texts] for L2-normalised
// embeddings: exp(logit_scale)·(image·text) + logit_bias.
func (m *Model) Logits(imageEmbeds, textEmbeds [][]float32) ([][]float32, error) {
	scale, bias, ok := m.LogitScale()
	if !ok {
		return nil, fmt.Errorf("this checkpoint (%s) has no logit_scale and logit_bias", m.cfg.Architecture)
	}
	out := make([][]float32, len(imageEmbeds))
	for i, im := range imageEmbeds {
		out[i] = make([]float32, len(textEmbeds))
		for j, tx := range textEmbeds {
			if len(im) != len(tx) {
				return nil, fmt.Errorf("image embedding of %d values and text embedding of %d", len(im), len(tx))
			}
			var dot float64
			for k := range im {
				dot += float64(im[k]) * float64(tx[k])
			}
			out[i][j] = float32(dot)*scale + bias
		}
	}
	return out, nil
}

// Sigmoid is SigLIP's probability for a logit: each label is scored on its
// own, so scores do not sum to 1 (never apply softmax to SigLIP logits).
func Sigmoid(logit float32) float32 {
	return float32(1 / (1 + math.Exp(-float64(logit))))
}

// rowsOf splits a [B, D] value into B rows.
func rowsOf(v graph.Value) [][]float32 {
	if len(v.Shape) == 0 {
		return nil
	}
	d := v.Shape[len(v.Shape)-1]
	out := make([][]float32, len(v.F32)/d)
	for i := range out {
		out[i] = v.F32[i*d : (i+1)*d : (i+1)*d]
	}
	return out
}
