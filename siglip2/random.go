package siglip2

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/gosig/gosig/preprocess"
	"github.com/gosig/gosig/safetensors"
)

// benchTowers are the vision-tower sizes of the published SigLIP 2 NaFlex
// checkpoints (transformers' convert_siglip2_to_hf.py; see
// TestPublishedConfigsBuild), plus a tiny one for tests: hidden, MLP,
// layers, heads. tiny's heads are of 64, as base's, so that tests run the
// kernels the published sizes get.
var benchTowers = map[string][4]int{
	"tiny":   {128, 256, 2, 2},
	"base":   {768, 3072, 12, 12},
	"large":  {1024, 4096, 24, 16},
	"so400m": {1152, 4304, 27, 16},
}

// BenchConfigNames lists the names RandomVisionConfig knows, sorted.
func BenchConfigNames() []string {
	names := make([]string, 0, len(benchTowers))
	for n := range benchTowers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// RandomVisionConfig returns the configuration of the vision tower of a
// published SigLIP 2 NaFlex checkpoint ("base", "large", "so400m"; "tiny"
// for tests), patch 16 and a 16×16 position grid, as a bare
// Siglip2VisionModel. With NewRandom it lets benchmarks run the real shapes
// without downloading a checkpoint.
func RandomVisionConfig(name string) (*Config, error) {
	t, ok := benchTowers[name]
	if !ok {
		return nil, fmt.Errorf("unknown configuration %q: want one of %s", name, strings.Join(BenchConfigNames(), ", "))
	}
	doc := fmt.Sprintf(`{"model_type": "siglip2_vision_model", "architectures": ["Siglip2VisionModel"],
		"hidden_size": %d, "intermediate_size": %d, "num_hidden_layers": %d, "num_attention_heads": %d,
		"patch_size": 16, "num_patches": 256}`, t[0], t[1], t[2], t[3])
	cfg, err := parseConfig("<"+name+">", []byte(doc))
	if err != nil {
		return nil, fmt.Errorf("configuration %s: %w", name, err)
	}
	return cfg, nil
}

// NewRandom builds a model of configuration cfg with random weights drawn
// deterministically from seed, for benchmarks and tests that need a model's
// shapes but not its answers. Only vision towers are supported (a text
// tower needs a tokenizer's files). The image processor is Hugging Face's
// default for the tower: Siglip2ImageProcessor with cfg's patch size and a
// budget of cfg.Vision.NumPatches for NaFlex, SiglipImageProcessor at the
// tower's image size otherwise. Linear weights are uniform in ±1/√fan_in,
// LayerNorm scales 1, other vectors small, so activations stay of order 1.
func NewRandom(cfg *Config, seed uint64, opts Options) (*Model, error) {
	if cfg.HasText() {
		return nil, fmt.Errorf("random weights: a %s has a text tower, which needs a tokenizer's files; use a vision-only configuration (Siglip2VisionModel)", cfg.Architecture)
	}
	src := newRandomTensors(cfg, seed)
	w, err := LoadWeights(src, cfg)
	if err != nil {
		return nil, err
	}
	// newModel reads the image processor from a model folder: give it one
	// holding only preprocessor_config.json, gone once the model is built.
	dir, err := os.MkdirTemp("", "gosig-random-")
	if err != nil {
		return nil, fmt.Errorf("random weights: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, preprocess.ConfigFile), []byte(defaultProcessor(cfg.Vision)), 0o644); err != nil {
		return nil, fmt.Errorf("random weights: %w", err)
	}
	m, err := newModel(dir, cfg, w, opts)
	if err != nil {
		return nil, err
	}
	m.dir = fmt.Sprintf("<random %s, seed %d>", cfg.Path, seed)
	return m, nil
}

// defaultProcessor is the preprocessor_config.json transformers would save
// for a tower of this configuration.
func defaultProcessor(v VisionConfig) string {
	if v.NaFlex {
		return fmt.Sprintf(`{"image_processor_type": "Siglip2ImageProcessor", "patch_size": %d, "max_num_patches": %d}`, v.PatchSize, v.NumPatches)
	}
	return fmt.Sprintf(`{"image_processor_type": "SiglipImageProcessor", "size": {"height": %d, "width": %d}}`, v.ImageSize, v.ImageSize)
}

// randomTensors is a safetensors.Reader whose tensors are drawn on demand
// from a PCG stream seeded by (seed, hash of the key): the same key gives
// the same values on every call, and nothing is held in memory.
type randomTensors struct {
	seed  uint64
	infos map[string]safetensors.TensorInfo
	names []string
}

var _ safetensors.Reader = (*randomTensors)(nil)

func newRandomTensors(cfg *Config, seed uint64) *randomTensors {
	r := &randomTensors{seed: seed, infos: map[string]safetensors.TensorInfo{}}
	var off int64
	for _, s := range cfg.Tensors() {
		n := s.NumElements() * 4
		r.infos[s.Key] = safetensors.TensorInfo{Name: s.Key, DType: safetensors.F32, Shape: slices.Clone(s.Shape),
			Begin: off, End: off + n, File: "<random>"}
		r.names = append(r.names, s.Key)
		off += n
	}
	sort.Strings(r.names)
	return r
}

func (r *randomTensors) Names() []string { return slices.Clone(r.names) }

func (r *randomTensors) Info(name string) (safetensors.TensorInfo, bool) {
	i, ok := r.infos[name]
	return i, ok
}

func (r *randomTensors) Float32(name string) ([]float32, []int, error) {
	info, ok := r.infos[name]
	if !ok {
		return nil, nil, fmt.Errorf("random weights: no tensor %q", name)
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	rng := rand.New(rand.NewPCG(r.seed, h.Sum64()))
	out := make([]float32, info.NumElements())
	shape := info.Shape
	switch {
	case len(shape) >= 2:
		a := 1 / math.Sqrt(float64(shape[len(shape)-1]))
		for i := range out {
			out[i] = float32((2*rng.Float64() - 1) * a)
		}
	case strings.Contains(name, "norm") && strings.HasSuffix(name, ".weight"):
		for i := range out {
			out[i] = 1
		}
	default:
		for i := range out {
			out[i] = float32((2*rng.Float64() - 1) * 0.02)
		}
	}
	return out, slices.Clone(shape), nil
}

func (r *randomTensors) Bytes(name string) ([]byte, error) {
	v, _, err := r.Float32(name)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b, nil
}

var errRandomFloat = errors.New("random weights hold float32 tensors only")

func (r *randomTensors) Int64(string) ([]int64, []int, error) { return nil, nil, errRandomFloat }
func (r *randomTensors) Int32(string) ([]int32, []int, error) { return nil, nil, errRandomFloat }
func (r *randomTensors) Uint8(string) ([]uint8, []int, error) { return nil, nil, errRandomFloat }
func (r *randomTensors) Metadata() map[string]string          { return nil }
func (r *randomTensors) Close() error                         { return nil }

// VisionFLOPs counts the floating-point operations of one image through the
// vision tower at a sequence of n patches (padding included: the kernels
// compute it): 2·M·K·N for every Linear (patch embedding, attention
// projections, MLPs, the pooling head) and 4·Sq·Sk·D for each attention
// (QKᵀ and the weighted sum of V). Element-wise work (LayerNorm, GELU,
// softmax, residuals) is left out: it is under 1 % at published sizes.
func VisionFLOPs(v VisionConfig, n int) float64 {
	d, mlp, N := float64(v.HiddenSize), float64(v.IntermediateSize), float64(n)
	linear := func(m, k, out float64) float64 { return 2 * m * k * out }
	f := linear(N, float64(v.PatchDim()), d)
	layer := linear(N, d, 3*d) + linear(N, d, d) + 4*N*N*d + linear(N, d, mlp) + linear(N, mlp, d)
	f += float64(v.NumHiddenLayers) * layer
	if v.UseHead {
		// One probe query against the n patches, then out_proj and the MLP.
		f += linear(1, d, d) + linear(N, d, 2*d) + 4*N*d + linear(1, d, d) + linear(1, d, mlp) + linear(1, mlp, d)
	}
	return f
}

// RandomPatches returns a prepared input for the vision tower at its full
// budget of maxPatches (the largest grid of about the budget's aspect 1 that
// fits), with values uniform in [-1, 1) as normalised pixels are. Benchmarks
// use it so that no image decoding is timed.
func (m *Model) RandomPatches(maxPatches int, seed uint64) (*preprocess.Patches, error) {
	if !m.cfg.HasVision() {
		return nil, errors.New("this checkpoint has no vision tower")
	}
	p := m.vision.patch
	gh, gw := m.cfg.Vision.PositionGrid(), m.cfg.Vision.PositionGrid()
	if m.vision.naflex {
		if maxPatches <= 0 {
			maxPatches = m.MaxPatches()
		}
		gh = int(math.Sqrt(float64(maxPatches)))
		gw = maxPatches / gh
	} else {
		maxPatches = gh * gw
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	row := m.vision.patchDim()
	vals := make([]float32, maxPatches*row)
	mask := make([]int32, maxPatches)
	for i := range gh * gw {
		mask[i] = 1
		for j := range row {
			vals[i*row+j] = float32(2*rng.Float64() - 1)
		}
	}
	return &preprocess.Patches{Values: vals, Mask: mask, GridH: gh, GridW: gw, PatchSize: p, MaxPatches: maxPatches,
		Resized: preprocess.NewRGB(gw*p, gh*p)}, nil
}
