package safetensors

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Tensor is one named tensor to write: raw little-endian bytes of DType in
// row-major order. The XxxTensor helpers build one from a Go slice.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// Float32Tensor encodes values as an F32 tensor.
func Float32Tensor(name string, shape []int, values []float32) Tensor {
	return encode(name, F32, shape, values, func(b []byte, v float32) {
		binary.LittleEndian.PutUint32(b, math.Float32bits(v))
	})
}

// Float16Tensor encodes values as an F16 tensor, rounding to nearest even.
func Float16Tensor(name string, shape []int, values []float32) Tensor {
	return encode(name, F16, shape, values, func(b []byte, v float32) {
		binary.LittleEndian.PutUint16(b, F32ToF16(v))
	})
}

// BFloat16Tensor encodes values as a BF16 tensor, rounding to nearest even.
func BFloat16Tensor(name string, shape []int, values []float32) Tensor {
	return encode(name, BF16, shape, values, func(b []byte, v float32) {
		binary.LittleEndian.PutUint16(b, F32ToBF16(v))
	})
}

// Int64Tensor encodes values as an I64 tensor.
func Int64Tensor(name string, shape []int, values []int64) Tensor {
	return encode(name, I64, shape, values, func(b []byte, v int64) {
		binary.LittleEndian.PutUint64(b, uint64(v))
	})
}

// Int32Tensor encodes values as an I32 tensor.
func Int32Tensor(name string, shape []int, values []int32) Tensor {
	return encode(name, I32, shape, values, func(b []byte, v int32) {
		binary.LittleEndian.PutUint32(b, uint32(v))
	})
}

// Uint8Tensor stores values as a U8 tensor.
func Uint8Tensor(name string, shape []int, values []uint8) Tensor {
	return Tensor{Name: name, DType: U8, Shape: slices.Clone(shape), Data: slices.Clone(values)}
}

// encode lays values out little-endian, d.Size() bytes each.
func encode[T any](name string, d DType, shape []int, values []T, put func([]byte, T)) Tensor {
	size := d.Size()
	b := make([]byte, size*len(values))
	for i, v := range values {
		put(b[size*i:], v)
	}
	return Tensor{Name: name, DType: d, Shape: slices.Clone(shape), Data: b}
}

// headerEntry is a tensor's header object; field order matches the reference
// writer's.
type headerEntry struct {
	DType       DType    `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// Write writes tensors (and metadata, if not nil) in the safetensors format,
// laid out as the reference implementation does: data ordered by dtype width
// (widest first, so each tensor is aligned to its element size) then by name,
// header keys in that order after __metadata__, the header padded with spaces
// to a multiple of 8 bytes.
func Write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	order := slices.Clone(tensors)
	slices.SortStableFunc(order, func(a, b Tensor) int {
		return cmp.Or(cmp.Compare(a.DType.rank(), b.DType.rank()), strings.Compare(a.Name, b.Name))
	})
	var hdr bytes.Buffer
	enc := json.NewEncoder(&hdr)
	enc.SetEscapeHTML(false)
	put := func(v any) error {
		if err := enc.Encode(v); err != nil {
			return err
		}
		hdr.Truncate(hdr.Len() - 1) // Encode appends a newline
		return nil
	}
	hdr.WriteByte('{')
	if metadata != nil {
		hdr.WriteString(`"` + metadataKey + `":`)
		if err := put(metadata); err != nil {
			return fmt.Errorf("write safetensors: metadata: %w", err)
		}
	}
	var offset int64
	for i, t := range order {
		if err := checkTensor(t); err != nil {
			return err
		}
		if i > 0 && order[i-1].Name == t.Name {
			return fmt.Errorf("write safetensors: tensor %q given twice", t.Name)
		}
		if metadata != nil || i > 0 {
			hdr.WriteByte(',')
		}
		if err := put(t.Name); err != nil {
			return fmt.Errorf("write safetensors: tensor %q: %w", t.Name, err)
		}
		hdr.WriteByte(':')
		end := offset + int64(len(t.Data))
		if err := put(headerEntry{t.DType, nonNil(t.Shape), [2]int64{offset, end}}); err != nil {
			return fmt.Errorf("write safetensors: tensor %q: %w", t.Name, err)
		}
		offset = end
	}
	hdr.WriteByte('}')
	for hdr.Len()%8 != 0 {
		hdr.WriteByte(' ')
	}
	if hdr.Len() > MaxHeaderSize {
		return fmt.Errorf("write safetensors: header is %d bytes, above the %d-byte limit readers accept", hdr.Len(), MaxHeaderSize)
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(hdr.Len()))
	if _, err := w.Write(n[:]); err != nil {
		return fmt.Errorf("write safetensors: %w", err)
	}
	if _, err := w.Write(hdr.Bytes()); err != nil {
		return fmt.Errorf("write safetensors: %w", err)
	}
	for _, t := range order {
		if _, err := w.Write(t.Data); err != nil {
			return fmt.Errorf("write safetensors: tensor %q: %w", t.Name, err)
		}
	}
	return nil
}

func nonNil(s []int) []int {
	if s == nil {
		return []int{}
	}
	return s
}

// checkTensor refuses what a reader would refuse.
func checkTensor(t Tensor) error {
	if t.Name == metadataKey {
		return fmt.Errorf("write safetensors: %q is reserved for metadata and cannot name a tensor", t.Name)
	}
	if !t.DType.Valid() {
		return fmt.Errorf("write safetensors: tensor %q: unknown dtype %q (supported: %s)", t.Name, t.DType, knownDTypes())
	}
	n, err := NumElements(t.Shape)
	if err != nil {
		return fmt.Errorf("write safetensors: tensor %q: %w", t.Name, err)
	}
	if want := n * int64(t.DType.Size()); int64(len(t.Data)) != want {
		return fmt.Errorf("write safetensors: tensor %q: shape %v of %s needs %d bytes, data has %d", t.Name, t.Shape, t.DType, want, len(t.Data))
	}
	return nil
}

// WriteFile writes tensors to path atomically: to a temporary file in the
// same folder, renamed over path once complete.
func WriteFile(path string, tensors []Tensor, metadata map[string]string) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write safetensors: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("write safetensors %s: %w", path, err)
	}
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err = Write(bw, tensors, metadata); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("write safetensors %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write safetensors %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write safetensors %s: %w", path, err)
	}
	return nil
}
