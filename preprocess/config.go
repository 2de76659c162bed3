package preprocess

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Kind says which of the two SigLIP preprocessing schemes a checkpoint uses.
type Kind int

const (
	// KindNaFlex is SigLIP 2's native-aspect scheme (Siglip2ImageProcessor): the
	// image keeps its aspect ratio, is resized to at most MaxNumPatches
	// patches and is returned as a padded sequence of flattened patches.
	KindNaFlex Kind = iota + 1
	// KindFixRes is SigLIP's fixed-resolution scheme (SiglipImageProcessor): the
	// image is resized to Height×Width and returned channels-first.
	KindFixRes
)

// String returns "naflex" or "fixres".
func (k Kind) String() string {
	switch k {
	case KindNaFlex:
		return "naflex"
	case KindFixRes:
		return "fixres"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Config holds the fields of a Hugging Face preprocessor_config.json that the
// SigLIP and SigLIP 2 image processors read. Fields missing from the file get
// Hugging Face's defaults for the processor class.
type Config struct {
	// ProcessorType is image_processor_type as written in the file
	// ("Siglip2ImageProcessor", "SiglipImageProcessor", or a "...Fast"
	// variant, which gosig treats as its PIL-based counterpart).
	ProcessorType string
	// Kind is KindNaFlex or KindFixRes, from ProcessorType.
	Kind Kind

	// PatchSize and MaxNumPatches drive NaFlex (patch_size, max_num_patches).
	PatchSize     int
	MaxNumPatches int
	// Height and Width are FixRes's target size (size.height, size.width).
	Height, Width int

	// Resample is the resize filter (resample; PIL's numbering).
	Resample Filter
	// DoResize, DoRescale and DoNormalize switch the three steps.
	DoResize, DoRescale, DoNormalize bool
	// RescaleFactor multiplies each uint8 sample, in float64, before the
	// result is rounded to float32 (rescale_factor, usually 1/255).
	RescaleFactor float64
	// ImageMean and ImageStd normalise each channel: (x − mean) / std in
	// float32, with mean and std rounded to float32 first, as numpy does.
	ImageMean, ImageStd [3]float64
	// DoConvertRGB records do_convert_rgb (nil when unset). gosig converts
	// every image to RGB whatever it says; see the package documentation.
	DoConvertRGB *bool
}

// rawConfig mirrors the JSON; pointers tell a missing field from a zero one.
type rawConfig struct {
	ImageProcessorType string          `json:"image_processor_type"`
	PatchSize          *int            `json:"patch_size"`
	MaxNumPatches      *int            `json:"max_num_patches"`
	Size               json.RawMessage `json:"size"`
	Resample           *int            `json:"resample"`
	DoResize           *bool           `json:"do_resize"`
	DoRescale          *bool           `json:"do_rescale"`
	RescaleFactor      *float64        `json:"rescale_factor"`
	DoNormalize        *bool           `json:"do_normalize"`
	ImageMean          json.RawMessage `json:"image_mean"`
	ImageStd           json.RawMessage `json:"image_std"`
	DoConvertRGB       *bool           `json:"do_convert_rgb"`
}

// ConfigFile is the name of the preprocessing config in a checkpoint folder.
const ConfigFile = "preprocessor_config.json"

// LoadConfig reads dir/preprocessor_config.json.
func LoadConfig(dir string) (Config, error) {
	path := filepath.Join(dir, ConfigFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("load preprocessing config: %w", err)
	}
	cfg, err := ParseConfig(b)
	if err != nil {
		return Config{}, fmt.Errorf("load %s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig parses the contents of a preprocessor_config.json.
func ParseConfig(data []byte) (Config, error) {
	var raw rawConfig
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raw); err != nil {
		return Config{}, fmt.Errorf("parse JSON: %w", err)
	}
	cfg := Config{ProcessorType: raw.ImageProcessorType, DoConvertRGB: raw.DoConvertRGB}
	switch raw.ImageProcessorType {
	case "Siglip2ImageProcessor", "Siglip2ImageProcessorFast":
		cfg.Kind = KindNaFlex
	case "SiglipImageProcessor", "SiglipImageProcessorFast":
		cfg.Kind = KindFixRes
	case "":
		// Old or hand-written files: infer from the fields present.
		switch {
		case raw.MaxNumPatches != nil:
			cfg.Kind = KindNaFlex
		case len(raw.Size) > 0:
			cfg.Kind = KindFixRes
		default:
			return Config{}, errors.New("image_processor_type is missing and neither max_num_patches (SigLIP 2 NaFlex) nor size (SigLIP FixRes) is set")
		}
	default:
		return Config{}, fmt.Errorf("image_processor_type %q is not a SigLIP processor (want Siglip2ImageProcessor or SiglipImageProcessor)", raw.ImageProcessorType)
	}

	// Hugging Face's defaults for each class.
	cfg.DoResize, cfg.DoRescale, cfg.DoNormalize = true, true, true
	cfg.RescaleFactor = 1.0 / 255
	cfg.ImageMean = [3]float64{0.5, 0.5, 0.5}
	cfg.ImageStd = [3]float64{0.5, 0.5, 0.5}
	if cfg.Kind == KindNaFlex {
		cfg.Resample, cfg.PatchSize, cfg.MaxNumPatches = Bilinear, 16, 256
	} else {
		cfg.Resample, cfg.Height, cfg.Width = Bicubic, 224, 224
	}

	if raw.PatchSize != nil {
		cfg.PatchSize = *raw.PatchSize
	}
	if raw.MaxNumPatches != nil {
		cfg.MaxNumPatches = *raw.MaxNumPatches
	}
	if raw.Resample != nil {
		cfg.Resample = Filter(*raw.Resample)
	}
	if raw.DoResize != nil {
		cfg.DoResize = *raw.DoResize
	}
	if raw.DoRescale != nil {
		cfg.DoRescale = *raw.DoRescale
	}
	if raw.RescaleFactor != nil {
		cfg.RescaleFactor = *raw.RescaleFactor
	}
	if raw.DoNormalize != nil {
		cfg.DoNormalize = *raw.DoNormalize
	}
	if len(raw.Size) > 0 && cfg.Kind == KindFixRes {
		var size struct {
			Height *int `json:"height"`
			Width  *int `json:"width"`
		}
		if err := json.Unmarshal(raw.Size, &size); err != nil || size.Height == nil || size.Width == nil {
			return Config{}, fmt.Errorf("size = %s: want {\"height\": H, \"width\": W}, as SiglipImageProcessor reads it", raw.Size)
		}
		cfg.Height, cfg.Width = *size.Height, *size.Width
	}
	var err error
	if cfg.ImageMean, err = parseChannels("image_mean", raw.ImageMean, cfg.ImageMean); err != nil {
		return Config{}, err
	}
	if cfg.ImageStd, err = parseChannels("image_std", raw.ImageStd, cfg.ImageStd); err != nil {
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// parseChannels reads a per-channel value written as a number or a list of
// three numbers (Hugging Face accepts both).
func parseChannels(key string, raw json.RawMessage, def [3]float64) ([3]float64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return def, nil
	}
	var one float64
	if err := json.Unmarshal(raw, &one); err == nil {
		return [3]float64{one, one, one}, nil
	}
	var list []float64
	if err := json.Unmarshal(raw, &list); err != nil || len(list) != 3 {
		return def, fmt.Errorf("%s = %s: want a number or a list of 3 numbers (one per RGB channel)", key, raw)
	}
	return [3]float64{list[0], list[1], list[2]}, nil
}

// Validate checks that the values can be used, and says which one is wrong.
func (c Config) Validate() error {
	if !c.Resample.valid() {
		return fmt.Errorf("resample = %d: not a PIL filter (0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming)", int(c.Resample))
	}
	switch c.Kind {
	case KindNaFlex:
		if c.PatchSize < 1 || c.PatchSize > 1024 {
			return fmt.Errorf("patch_size = %d: want 1–1024", c.PatchSize)
		}
		if c.MaxNumPatches < 1 {
			return fmt.Errorf("max_num_patches = %d: want at least 1", c.MaxNumPatches)
		}
	case KindFixRes:
		if c.Height < 1 || c.Width < 1 || c.Height > maxResizeSide || c.Width > maxResizeSide {
			return fmt.Errorf("size = %d×%d: want sides in [1, %d]", c.Height, c.Width, maxResizeSide)
		}
	default:
		return fmt.Errorf("unknown preprocessing kind %d", int(c.Kind))
	}
	for i, s := range c.ImageStd {
		if c.DoNormalize && float32(s) == 0 {
			return fmt.Errorf("image_std[%d] = 0: normalising would divide by zero", i)
		}
	}
	return nil
}

// Target returns the function DecodeOptions.FastTarget wants for this
// config: the size an image of size w×h is resized to, with maxPatches as
// the NaFlex budget (0: MaxNumPatches).
func (c Config) Target(maxPatches int) func(w, h int) (tw, th int) {
	if maxPatches == 0 {
		maxPatches = c.MaxNumPatches
	}
	return func(w, h int) (int, int) {
		if !c.DoResize {
			return w, h
		}
		if c.Kind == KindFixRes {
			return c.Width, c.Height
		}
		th, tw, err := NaFlexSize(h, w, c.PatchSize, maxPatches)
		if err != nil {
			return w, h
		}
		return tw, th
	}
}
