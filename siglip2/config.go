package siglip2

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Errors a configuration can be refused with, for errors.Is. The message
// names the file, the field, what was found and what is supported.
var (
	// ErrUnsupportedConfig marks a well-formed config.json this package
	// cannot run: another model_type, architecture or activation.
	ErrUnsupportedConfig = errors.New("unsupported model configuration")
	// ErrInvalidConfig marks a config.json that is not valid JSON, has a field
	// of the wrong type, or values that cannot build a model.
	ErrInvalidConfig = errors.New("invalid model configuration")
)

// ConfigFile is the name of the configuration in a Hugging Face model folder.
const ConfigFile = "config.json"

// Architecture is the Hugging Face model class a checkpoint was saved from;
// it decides which towers and heads the checkpoint holds.
type Architecture int

// The supported architectures. The names are transformers' class names for
// SigLIP 2; the SigLIP (v1) classes map to the same values.
const (
	// ArchModel is Siglip2Model / SiglipModel: vision and text towers,
	// logit_scale and logit_bias.
	ArchModel Architecture = iota
	// ArchImageClassification is Siglip2ForImageClassification /
	// SiglipForImageClassification: the vision tower and a linear classifier
	// over the mean of its last hidden state; no text tower.
	ArchImageClassification
	// ArchVisionModel is Siglip2VisionModel / SiglipVisionModel: the vision
	// tower alone.
	ArchVisionModel
	// ArchTextModel is Siglip2TextModel / SiglipTextModel: the text tower alone.
	ArchTextModel
)

// String returns the SigLIP 2 class name.
func (a Architecture) String() string {
	switch a {
	case ArchModel:
		return "Siglip2Model"
	case ArchImageClassification:
		return "Siglip2ForImageClassification"
	case ArchVisionModel:
		return "Siglip2VisionModel"
	case ArchTextModel:
		return "Siglip2TextModel"
	}
	return "Architecture(" + strconv.Itoa(int(a)) + ")"
}

// architectures maps the class names config.json may list to what they hold.
var architectures = map[string]struct {
	arch Architecture
	v2   bool
}{
	"Siglip2Model":                  {ArchModel, true},
	"Siglip2ForImageClassification": {ArchImageClassification, true},
	"Siglip2VisionModel":            {ArchVisionModel, true},
	"Siglip2TextModel":              {ArchTextModel, true},
	"SiglipModel":                   {ArchModel, false},
	"SiglipForImageClassification":  {ArchImageClassification, false},
	"SiglipVisionModel":             {ArchVisionModel, false},
	"SiglipTextModel":               {ArchTextModel, false},
}

// modelTypes maps the supported model_type values to (SigLIP 2 NaFlex?, the
// architecture a config without "architectures" defaults to, is the config
// a bare tower config?).
var modelTypes = map[string]struct {
	naflex bool
	arch   Architecture
	bare   bool
}{
	"siglip2":              {true, ArchModel, false},
	"siglip":               {false, ArchModel, false},
	"siglip2_vision_model": {true, ArchVisionModel, true},
	"siglip_vision_model":  {false, ArchVisionModel, true},
	"siglip2_text_model":   {true, ArchTextModel, true},
	"siglip_text_model":    {false, ArchTextModel, true},
}

// supportedActivations lists the hidden_act values the model can run; it is
// never written after initialisation. Both are GELU with the tanh
// approximation: transformers' "gelu_pytorch_tanh" (torch's
// gelu(approximate="tanh"), every published checkpoint) and "gelu_new" (the
// same formula written out).
var supportedActivations = []string{"gelu_pytorch_tanh", "gelu_new"}

// Bounds on configuration values, so that shape arithmetic cannot overflow
// and a hostile config.json cannot make the weight spec exhaust memory. The
// largest published SigLIP (giant) is below 2^18 on every axis and has 40
// layers; ImageNet-21k has 21843 labels.
const (
	maxDim    = 1 << 24
	maxLayers = 1 << 10
	maxLabels = 1 << 20
)

// Config is a parsed config.json with transformers' defaults filled in for
// every absent field, as transformers' SiglipConfig / Siglip2Config
// constructors do.
type Config struct {
	// Path is the file the configuration was read from ("<memory>" for
	// ParseConfig).
	Path string
	// ModelType is the top-level model_type: "siglip2" or "siglip" (or a bare
	// tower's "siglip2_vision_model", "siglip_text_model", ...).
	ModelType string
	// Architectures is config.json's "architectures" list, as written.
	Architectures []string
	// Architecture is what the checkpoint holds, from Architectures[0] or,
	// when absent, the model_type's default model.
	Architecture Architecture
	// Vision is the vision tower's configuration (meaningful when HasVision).
	Vision VisionConfig
	// Text is the text tower's configuration (meaningful when HasText).
	Text TextConfig
	// ID2Label names the classifier's outputs; transformers' default, when
	// config.json has no id2label, is two labels "LABEL_0", "LABEL_1".
	ID2Label map[int]string
	// Label2ID is config.json's label2id (the inverse of ID2Label by default).
	Label2ID map[string]int
	// NumLabels is len(ID2Label): the classifier's output size
	// (ArchImageClassification only; 0 means no classifier, as in transformers).
	NumLabels int
	// TorchDType is config.json's torch_dtype (or dtype), informational only.
	TorchDType string
}

// VisionConfig is a vision tower's configuration (Siglip2VisionConfig or
// SiglipVisionConfig). Fields without their own comment are config.json's
// keys in Go spelling (hidden_size → HiddenSize) and mean what they mean in
// transformers.
type VisionConfig struct {
	// NaFlex is true for SigLIP 2's NaFlex tower (Linear patch embedding over
	// flattened patches, a learned position grid resized per image, padding
	// masks), false for the fixed-resolution SigLIP tower (Conv2d patch
	// embedding, fixed position embeddings).
	NaFlex            bool
	HiddenSize        int
	IntermediateSize  int
	NumHiddenLayers   int
	NumAttentionHeads int
	NumChannels       int
	PatchSize         int
	// NumPatches is the number of learned position embeddings: the
	// num_patches field for NaFlex (a perfect square, the side of the
	// position grid squared), (ImageSize/PatchSize)² for SigLIP.
	NumPatches int
	// ImageSize is the fixed input side for SigLIP; 0 for NaFlex.
	ImageSize        int
	HiddenAct        string
	LayerNormEps     float64
	AttentionDropout float64
	// UseHead is vision_use_head: whether the MAP pooling head (and so
	// pooler_output) exists. transformers' default is true.
	UseHead bool
}

// TextConfig is a text tower's configuration (Siglip2TextConfig or
// SiglipTextConfig). Fields without their own comment are config.json's keys
// in Go spelling (max_position_embeddings → MaxPositionEmbeddings).
type TextConfig struct {
	VocabSize             int
	HiddenSize            int
	IntermediateSize      int
	NumHiddenLayers       int
	NumAttentionHeads     int
	MaxPositionEmbeddings int
	HiddenAct             string
	LayerNormEps          float64
	AttentionDropout      float64
	// PadTokenID, BosTokenID and EosTokenID are the config's token ids
	// (transformers' defaults 1, 49406, 49407 are CLIP's, not the tokenizer's:
	// read the ids from the tokenizer files); -1 where config.json says null.
	PadTokenID, BosTokenID, EosTokenID int
	// ProjectionSize is the output size of the text head (the text embedding
	// size); HiddenSize when absent.
	ProjectionSize int
}

// HeadDim is the per-head size of attention.
func (v VisionConfig) HeadDim() int { return v.HiddenSize / v.NumAttentionHeads }

// PatchDim is the length of one flattened patch: channels × patch × patch.
func (v VisionConfig) PatchDim() int { return v.NumChannels * v.PatchSize * v.PatchSize }

// PositionGrid is the side of the square grid of learned position
// embeddings: √NumPatches (for SigLIP, ImageSize/PatchSize).
func (v VisionConfig) PositionGrid() int { return isqrt(v.NumPatches) }

// HeadDim is the per-head size of attention.
func (t TextConfig) HeadDim() int { return t.HiddenSize / t.NumAttentionHeads }

// HasVision reports whether the checkpoint holds a vision tower.
func (c *Config) HasVision() bool { return c.Architecture != ArchTextModel }

// HasText reports whether the checkpoint holds a text tower.
func (c *Config) HasText() bool {
	return c.Architecture == ArchModel || c.Architecture == ArchTextModel
}

// Labels returns the classifier's label names in output order.
func (c *Config) Labels() []string {
	out := make([]string, c.NumLabels)
	for i := range out {
		out[i] = c.ID2Label[i]
	}
	return out
}

// LoadConfig reads and validates a config.json; path may also be the model
// folder holding it.
func LoadConfig(path string) (*Config, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, ConfigFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load model config: %w", err)
	}
	return parseConfig(path, data)
}

// ParseConfig parses and validates the text of a config.json.
func ParseConfig(data []byte) (*Config, error) { return parseConfig("<memory>", data) }

// rawText and rawVision hold a tower's fields as config.json writes them;
// nil means absent, so that transformers' defaults can be filled in.
type rawText struct {
	VocabSize             *int       `json:"vocab_size"`
	HiddenSize            *int       `json:"hidden_size"`
	IntermediateSize      *int       `json:"intermediate_size"`
	NumHiddenLayers       *int       `json:"num_hidden_layers"`
	NumAttentionHeads     *int       `json:"num_attention_heads"`
	MaxPositionEmbeddings *int       `json:"max_position_embeddings"`
	HiddenAct             *string    `json:"hidden_act"`
	LayerNormEps          *float64   `json:"layer_norm_eps"`
	AttentionDropout      *float64   `json:"attention_dropout"`
	PadTokenID            optionalID `json:"pad_token_id"`
	BosTokenID            optionalID `json:"bos_token_id"`
	EosTokenID            optionalID `json:"eos_token_id"`
	ProjectionSize        *int       `json:"projection_size"`
}

type rawVision struct {
	HiddenSize        *int     `json:"hidden_size"`
	IntermediateSize  *int     `json:"intermediate_size"`
	NumHiddenLayers   *int     `json:"num_hidden_layers"`
	NumAttentionHeads *int     `json:"num_attention_heads"`
	NumChannels       *int     `json:"num_channels"`
	NumPatches        *int     `json:"num_patches"`
	ImageSize         *int     `json:"image_size"`
	PatchSize         *int     `json:"patch_size"`
	HiddenAct         *string  `json:"hidden_act"`
	LayerNormEps      *float64 `json:"layer_norm_eps"`
	AttentionDropout  *float64 `json:"attention_dropout"`
	VisionUseHead     *bool    `json:"vision_use_head"`
}

// optionalID is a token id that config.json may give as an integer or null.
type optionalID struct {
	set bool
	id  int
}

func (o *optionalID) UnmarshalJSON(b []byte) error {
	o.set = true
	if string(b) == "null" {
		o.id = -1
		return nil
	}
	return json.Unmarshal(b, &o.id)
}

func (o optionalID) or(def int) int {
	if o.set {
		return o.id
	}
	return def
}

type rawConfig struct {
	ModelType     *string           `json:"model_type"`
	Architectures []string          `json:"architectures"`
	TextConfig    json.RawMessage   `json:"text_config"`
	VisionConfig  json.RawMessage   `json:"vision_config"`
	ID2Label      map[string]string `json:"id2label"`
	Label2ID      map[string]int    `json:"label2id"`
	NumLabels     *int              `json:"num_labels"`
	TorchDType    *string           `json:"torch_dtype"`
	DType         *string           `json:"dtype"`
}

func parseConfig(path string, data []byte) (*Config, error) {
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("model config %s: %w: %s", path, ErrInvalidConfig, fmt.Sprintf(format, args...))
	}
	unsupported := func(format string, args ...any) error {
		return fmt.Errorf("model config %s: %w: %s", path, ErrUnsupportedConfig, fmt.Sprintf(format, args...))
	}
	var raw rawConfig
	if err := decodeJSON(data, &raw); err != nil {
		return nil, invalid("%v", err)
	}
	if raw.ModelType == nil {
		return nil, unsupported("no \"model_type\"; want one of %s", knownModelTypes())
	}
	mt, ok := modelTypes[*raw.ModelType]
	if !ok {
		return nil, unsupported("model_type %q; want one of %s", *raw.ModelType, knownModelTypes())
	}
	c := &Config{Path: path, ModelType: *raw.ModelType, Architectures: raw.Architectures, Architecture: mt.arch}
	if len(raw.Architectures) > 0 {
		a, ok := architectures[raw.Architectures[0]]
		if !ok {
			return nil, unsupported("architectures[0] %q; want one of %s", raw.Architectures[0], knownArchitectures())
		}
		if a.v2 != mt.naflex && !mt.bare {
			// SigLIP 2's fixed-resolution checkpoints are published as
			// model_type "siglip"; only the class families must agree.
			return nil, unsupported("architectures[0] %q does not go with model_type %q", raw.Architectures[0], c.ModelType)
		}
		if mt.bare && a.arch != mt.arch {
			return nil, unsupported("architectures[0] %q does not go with the bare tower config model_type %q", raw.Architectures[0], c.ModelType)
		}
		c.Architecture = a.arch
	}
	switch {
	case raw.TorchDType != nil:
		c.TorchDType = *raw.TorchDType
	case raw.DType != nil:
		c.TorchDType = *raw.DType
	}

	// Towers: nested under text_config / vision_config, or the whole file
	// for a bare tower config.
	textJSON, visionJSON := []byte(raw.TextConfig), []byte(raw.VisionConfig)
	if mt.bare {
		textJSON, visionJSON = data, data
	}
	var err error
	if c.HasVision() {
		if c.Vision, err = parseVision(visionJSON, mt.naflex); err != nil {
			return nil, fmt.Errorf("model config %s: vision_config: %w", path, err)
		}
	}
	if c.HasText() {
		if c.Text, err = parseText(textJSON); err != nil {
			return nil, fmt.Errorf("model config %s: text_config: %w", path, err)
		}
	}
	if err := c.parseLabels(raw); err != nil {
		return nil, fmt.Errorf("model config %s: %w", path, err)
	}
	return c, nil
}

// decodeJSON decodes JSON into v, naming the field at fault in type errors
// and refusing trailing data. Unknown fields are ignored, as transformers does.
func decodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("field %q is a JSON %s, want %s", te.Field, te.Value, te.Type)
		}
		return fmt.Errorf("not valid JSON: %w", err)
	}
	if dec.More() {
		return errors.New("not valid JSON: data after the top-level object")
	}
	return nil
}

func isNull(b []byte) bool {
	return len(bytes.TrimSpace(b)) == 0 || string(bytes.TrimSpace(b)) == "null"
}

func parseVision(data []byte, naflex bool) (VisionConfig, error) {
	var r rawVision
	if !isNull(data) {
		if err := decodeJSON(data, &r); err != nil {
			return VisionConfig{}, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
		}
	}
	v := VisionConfig{
		NaFlex:            naflex,
		HiddenSize:        intOr(r.HiddenSize, 768),
		IntermediateSize:  intOr(r.IntermediateSize, 3072),
		NumHiddenLayers:   intOr(r.NumHiddenLayers, 12),
		NumAttentionHeads: intOr(r.NumAttentionHeads, 12),
		NumChannels:       intOr(r.NumChannels, 3),
		PatchSize:         intOr(r.PatchSize, 16),
		HiddenAct:         strOr(r.HiddenAct, "gelu_pytorch_tanh"),
		LayerNormEps:      floatOr(r.LayerNormEps, 1e-6),
		AttentionDropout:  floatOr(r.AttentionDropout, 0),
		UseHead:           r.VisionUseHead == nil || *r.VisionUseHead,
	}
	checks := []sizeCheck{
		{"hidden_size", v.HiddenSize}, {"intermediate_size", v.IntermediateSize},
		{"num_hidden_layers", v.NumHiddenLayers}, {"num_attention_heads", v.NumAttentionHeads},
		{"num_channels", v.NumChannels}, {"patch_size", v.PatchSize},
	}
	if naflex {
		v.NumPatches = intOr(r.NumPatches, 256)
		checks = append(checks, sizeCheck{"num_patches", v.NumPatches})
	} else {
		v.ImageSize = intOr(r.ImageSize, 224)
		checks = append(checks, sizeCheck{"image_size", v.ImageSize})
	}
	if err := checkSizes(checks); err != nil {
		return v, err
	}
	if err := checkLayers(v.NumHiddenLayers); err != nil {
		return v, err
	}
	if err := checkTower(v.HiddenSize, v.NumAttentionHeads, v.HiddenAct, v.LayerNormEps, v.AttentionDropout); err != nil {
		return v, err
	}
	if naflex {
		if g := isqrt(v.NumPatches); g*g != v.NumPatches {
			return v, fmt.Errorf("%w: num_patches = %d is not a perfect square; NaFlex learns a square grid of position embeddings", ErrInvalidConfig, v.NumPatches)
		}
	} else {
		if v.ImageSize < v.PatchSize {
			return v, fmt.Errorf("%w: image_size = %d is smaller than patch_size = %d", ErrInvalidConfig, v.ImageSize, v.PatchSize)
		}
		side := v.ImageSize / v.PatchSize // Conv2d with stride p drops a remainder, as in transformers
		v.NumPatches = side * side
	}
	return v, nil
}

func parseText(data []byte) (TextConfig, error) {
	var r rawText
	if !isNull(data) {
		if err := decodeJSON(data, &r); err != nil {
			return TextConfig{}, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
		}
	}
	t := TextConfig{
		VocabSize:             intOr(r.VocabSize, 32000),
		HiddenSize:            intOr(r.HiddenSize, 768),
		IntermediateSize:      intOr(r.IntermediateSize, 3072),
		NumHiddenLayers:       intOr(r.NumHiddenLayers, 12),
		NumAttentionHeads:     intOr(r.NumAttentionHeads, 12),
		MaxPositionEmbeddings: intOr(r.MaxPositionEmbeddings, 64),
		HiddenAct:             strOr(r.HiddenAct, "gelu_pytorch_tanh"),
		LayerNormEps:          floatOr(r.LayerNormEps, 1e-6),
		AttentionDropout:      floatOr(r.AttentionDropout, 0),
		PadTokenID:            r.PadTokenID.or(1),
		BosTokenID:            r.BosTokenID.or(49406),
		EosTokenID:            r.EosTokenID.or(49407),
	}
	t.ProjectionSize = intOr(r.ProjectionSize, t.HiddenSize)
	err := checkSizes([]sizeCheck{
		{"vocab_size", t.VocabSize}, {"hidden_size", t.HiddenSize}, {"intermediate_size", t.IntermediateSize},
		{"num_hidden_layers", t.NumHiddenLayers}, {"num_attention_heads", t.NumAttentionHeads},
		{"max_position_embeddings", t.MaxPositionEmbeddings}, {"projection_size", t.ProjectionSize},
	})
	if err == nil {
		err = checkLayers(t.NumHiddenLayers)
	}
	if err != nil {
		return t, err
	}
	return t, checkTower(t.HiddenSize, t.NumAttentionHeads, t.HiddenAct, t.LayerNormEps, t.AttentionDropout)
}

type sizeCheck struct {
	field string
	v     int
}

func checkSizes(checks []sizeCheck) error {
	for _, c := range checks {
		if c.v <= 0 || c.v > maxDim {
			return fmt.Errorf("%w: %s = %d, want a positive size up to %d", ErrInvalidConfig, c.field, c.v, maxDim)
		}
	}
	return nil
}

func checkLayers(n int) error {
	if n > maxLayers {
		return fmt.Errorf("%w: num_hidden_layers = %d, want at most %d", ErrInvalidConfig, n, maxLayers)
	}
	return nil
}

// checkTower validates what both towers share.
func checkTower(hidden, heads int, act string, eps, dropout float64) error {
	if hidden%heads != 0 {
		return fmt.Errorf("%w: hidden_size = %d is not divisible by num_attention_heads = %d", ErrInvalidConfig, hidden, heads)
	}
	if !slices.Contains(supportedActivations, act) {
		return fmt.Errorf("%w: hidden_act %q; supported: %s", ErrUnsupportedConfig, act, strings.Join(supportedActivations, ", "))
	}
	if !(eps >= 0) || math.IsInf(eps, 0) {
		return fmt.Errorf("%w: layer_norm_eps = %g, want a finite value >= 0", ErrInvalidConfig, eps)
	}
	if !(dropout >= 0 && dropout <= 1) {
		return fmt.Errorf("%w: attention_dropout = %g, want a value in [0, 1] (unused at inference)", ErrInvalidConfig, dropout)
	}
	return nil
}

// parseLabels fills the classifier's labels as transformers'
// PretrainedConfig does: id2label if given (its length is num_labels), else
// num_labels (default 2) labels named LABEL_i.
func (c *Config) parseLabels(raw rawConfig) error {
	c.ID2Label = map[int]string{}
	if raw.ID2Label != nil {
		if len(raw.ID2Label) > maxLabels {
			return fmt.Errorf("%w: id2label has %d labels, want at most %d", ErrInvalidConfig, len(raw.ID2Label), maxLabels)
		}
		for k, v := range raw.ID2Label {
			id, err := strconv.Atoi(k)
			if err != nil || id < 0 || id >= len(raw.ID2Label) {
				return fmt.Errorf("%w: id2label key %q; want the integers 0..%d (one per classifier output)", ErrInvalidConfig, k, len(raw.ID2Label)-1)
			}
			c.ID2Label[id] = v
		}
	} else {
		n := intOr(raw.NumLabels, 2)
		if n < 0 || n > maxLabels {
			return fmt.Errorf("%w: num_labels = %d, want 0..%d", ErrInvalidConfig, n, maxLabels)
		}
		for i := range n {
			c.ID2Label[i] = "LABEL_" + strconv.Itoa(i)
		}
	}
	c.NumLabels = len(c.ID2Label)
	c.Label2ID = raw.Label2ID
	if c.Label2ID == nil {
		c.Label2ID = make(map[string]int, c.NumLabels)
		for id, name := range c.ID2Label {
			c.Label2ID[name] = id
		}
	}
	return nil
}

func intOr(p *int, def int) int {
	if p != nil {
		return *p
	}
	return def
}

func floatOr(p *float64, def float64) float64 {
	if p != nil {
		return *p
	}
	return def
}

func strOr(p *string, def string) string {
	if p != nil {
		return *p
	}
	return def
}

// isqrt returns ⌊√n⌋ for n >= 0.
func isqrt(n int) int {
	r := int(math.Sqrt(float64(n)))
	for r*r > n {
		r--
	}
	for (r+1)*(r+1) <= n {
		r++
	}
	return r
}

func knownModelTypes() string {
	return joinSortedKeys(modelTypes)
}

func knownArchitectures() string {
	return joinSortedKeys(architectures)
}

func joinSortedKeys[V any](m map[string]V) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, strconv.Quote(k))
	}
	slices.Sort(keys)
	return strings.Join(keys, ", ")
}
