package safetensors

import (
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sync/atomic"
)

// File is one open safetensors file. Its tensor bytes stay in the memory map
// (or the buffer given to Parse) until asked for.
type File struct {
	path   string
	hdr    *header
	body   []byte       // the data section
	unmap  func() error // nil when nothing to release
	closed atomic.Bool
}

// Open memory-maps the safetensors file at path (reading it into memory where
// mapping is not possible) and validates its header. Close releases the map.
// As with any memory map, the file must not be truncated or rewritten in
// place while open: reading a page that no longer exists kills the process
// (SIGBUS). save_pretrained and WriteFile replace files by renaming, which
// is safe.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open safetensors: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open safetensors: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, formatErr(path, "", "not a regular file")
	}
	data, unmap, err := mapFile(f, st.Size())
	if err != nil {
		// Empty files, special file systems, platforms without mmap.
		if data, err = io.ReadAll(f); err != nil {
			return nil, fmt.Errorf("read safetensors %s: %w", path, err)
		}
		unmap = nil
	}
	file, err := parse(path, data)
	if err != nil {
		if unmap != nil {
			_ = unmap()
		}
		return nil, err
	}
	file.unmap = unmap
	return file, nil
}

// Parse validates a whole safetensors file held in data. The File reads its
// tensors from data, which must not change while the File is in use.
func Parse(data []byte) (*File, error) { return parse("<memory>", data) }

func parse(path string, data []byte) (*File, error) {
	h, err := parseHeader(path, data)
	if err != nil {
		return nil, err
	}
	return &File{path: path, hdr: h, body: data[8+h.size:]}, nil
}

// Path returns the path the file was opened from ("<memory>" for Parse).
func (f *File) Path() string { return f.path }

// Names returns the tensor names, sorted. The slice is the caller's.
func (f *File) Names() []string { return append([]string(nil), f.hdr.names...) }

// Len returns the number of tensors.
func (f *File) Len() int { return len(f.hdr.names) }

// Info returns the header entry of the named tensor.
func (f *File) Info(name string) (TensorInfo, bool) {
	t, ok := f.hdr.tensors[name]
	if ok {
		t.Shape = slices.Clone(t.Shape)
	}
	return t, ok
}

// Metadata returns a copy of the header's __metadata__ map (nil if absent).
func (f *File) Metadata() map[string]string { return maps.Clone(f.hdr.metadata) }

// Bytes returns the named tensor's raw little-endian bytes. The slice aliases
// the memory map: it must not be written to, and is valid only until Close.
func (f *File) Bytes(name string) ([]byte, error) {
	_, b, err := f.lookup(name)
	return b, err
}

func (f *File) lookup(name string) (TensorInfo, []byte, error) {
	if f.closed.Load() {
		return TensorInfo{}, nil, fmt.Errorf("read %q from %s: %w", name, f.path, ErrClosed)
	}
	t, ok := f.hdr.tensors[name]
	if !ok {
		return t, nil, fmt.Errorf("%s: %w: %q", f.path, ErrNotFound, name)
	}
	return t, f.body[t.Begin:t.End:t.End], nil
}

// Float32 returns the named tensor converted to float32, with its shape. F32,
// F16 and BF16 convert exactly; F64 rounds to nearest. Other dtypes are an
// error wrapping ErrDType.
func (f *File) Float32(name string) ([]float32, []int, error) {
	return get(f, name, decodeFloat32)
}

// Int64 returns the named integer tensor widened to int64, with its shape.
func (f *File) Int64(name string) ([]int64, []int, error) { return get(f, name, decodeInt64) }

// Int32 returns the named integer tensor as int32, with its shape; values
// outside the int32 range are an error.
func (f *File) Int32(name string) ([]int32, []int, error) { return get(f, name, decodeInt32) }

// Uint8 returns a copy of the named U8 or BOOL tensor, with its shape.
func (f *File) Uint8(name string) ([]uint8, []int, error) { return get(f, name, decodeUint8) }

func get[T any](f *File, name string, decode func(DType, []byte) ([]T, error)) ([]T, []int, error) {
	t, raw, err := f.lookup(name)
	if err != nil {
		return nil, nil, err
	}
	out, err := decode(t.DType, raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: tensor %q: %w", f.path, name, err)
	}
	return out, slices.Clone(t.Shape), nil
}

// Close releases the memory map. Slices returned by Bytes become invalid;
// later reads return ErrClosed. Closing twice is harmless.
func (f *File) Close() error {
	if f.closed.Swap(true) || f.unmap == nil {
		return nil
	}
	if err := f.unmap(); err != nil {
		return fmt.Errorf("close safetensors %s: %w", f.path, err)
	}
	return nil
}
