package safetensors

import (
	"fmt"
	"strings"
)

// DType is a tensor element type as spelled in a safetensors header ("F32",
// "BF16", ...).
type DType string

// The element types this package knows. Their names and sizes are those of the
// reference implementation (huggingface/safetensors); the 8-bit float types
// are not supported because no SigLIP checkpoint uses them.
const (
	F64  DType = "F64"
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
	I64  DType = "I64"
	I32  DType = "I32"
	I16  DType = "I16"
	I8   DType = "I8"
	U64  DType = "U64"
	U32  DType = "U32"
	U16  DType = "U16"
	U8   DType = "U8"
	BOOL DType = "BOOL"
)

// dtypeSizes maps each known dtype to its element size in bytes. It is never
// written after initialisation.
var dtypeSizes = map[DType]int{
	F64: 8, F32: 4, F16: 2, BF16: 2,
	I64: 8, I32: 4, I16: 2, I8: 1,
	U64: 8, U32: 4, U16: 2, U8: 1,
	BOOL: 1,
}

// dtypeOrder lists the known dtypes for error messages, and orders them by
// alignment the way the reference writer lays data out (widest first).
var dtypeOrder = []DType{U64, I64, F64, F32, U32, I32, BF16, F16, U16, I16, I8, U8, BOOL}

// Size returns the size of one element in bytes, or 0 for an unknown dtype.
func (d DType) Size() int { return dtypeSizes[d] }

// Valid reports whether d is a dtype this package knows.
func (d DType) Valid() bool { return dtypeSizes[d] != 0 }

// String returns the header spelling of d.
func (d DType) String() string { return string(d) }

// knownDTypes returns the supported dtype names for error messages.
func knownDTypes() string {
	names := make([]string, len(dtypeOrder))
	for i, d := range dtypeOrder {
		names[i] = string(d)
	}
	return strings.Join(names, " ")
}

// rank orders dtypes for the writer's data layout: wider first, as the
// reference implementation does so that every tensor is aligned to its
// element size.
func (d DType) rank() int {
	for i, o := range dtypeOrder {
		if o == d {
			return i
		}
	}
	return len(dtypeOrder)
}

// NumElements returns the product of shape, or an error if a dimension is
// negative or the product overflows int64.
func NumElements(shape []int) (int64, error) {
	n := int64(1)
	for i, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("shape %v: dimension %d is negative (%d)", shape, i, d)
		}
		if d != 0 && n > (1<<63-1)/int64(d) {
			return 0, fmt.Errorf("shape %v: element count overflows int64", shape)
		}
		n *= int64(d)
	}
	return n, nil
}
