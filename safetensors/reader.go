package safetensors

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Reader is a set of named tensors: one File or a sharded checkpoint's Index.
// Model loaders take a Reader so that they need not care how a checkpoint was
// saved.
type Reader interface {
	// Names returns the tensor names, sorted.
	Names() []string
	// Info returns the named tensor's header entry; TensorInfo.File says which
	// file holds it.
	Info(name string) (TensorInfo, bool)
	// Bytes returns the raw little-endian bytes, valid until Close.
	Bytes(name string) ([]byte, error)
	// Float32 returns the tensor converted to float32 (from F32, F16, BF16 or
	// F64) and its shape.
	Float32(name string) ([]float32, []int, error)
	// Int64 returns an integer tensor widened to int64 and its shape.
	Int64(name string) ([]int64, []int, error)
	// Int32 returns an integer tensor as int32 and its shape.
	Int32(name string) ([]int32, []int, error)
	// Uint8 returns a U8 or BOOL tensor and its shape.
	Uint8(name string) ([]uint8, []int, error)
	// Metadata returns the file-level metadata.
	Metadata() map[string]string
	// Close releases the files.
	Close() error
}

var (
	_ Reader = (*File)(nil)
	_ Reader = (*Index)(nil)
)

// The file names Hugging Face's save_pretrained uses for a checkpoint.
const (
	ModelFile      = "model.safetensors"
	ModelIndexFile = "model.safetensors.index.json"
)

// OpenModel opens the checkpoint in a Hugging Face model folder: dir/
// model.safetensors if present, else the sharded dir/model.safetensors.index.json.
func OpenModel(dir string) (Reader, error) {
	single := filepath.Join(dir, ModelFile)
	if _, err := os.Stat(single); err == nil {
		return Open(single)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("open model: %w", err)
	}
	index := filepath.Join(dir, ModelIndexFile)
	if _, err := os.Stat(index); err == nil {
		return OpenIndex(index)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("open model: %w", err)
	}
	return nil, fmt.Errorf("open model: %s holds neither %s nor %s; is it a Hugging Face model folder saved with safetensors?", dir, ModelFile, ModelIndexFile)
}
