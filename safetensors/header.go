package safetensors

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxHeaderSize is the largest JSON header accepted, in bytes. It is the
// reference implementation's limit: a larger length field is a corrupt or
// hostile file, and honouring it would allocate that much.
const MaxHeaderSize = 100_000_000

// metadataKey is the reserved header key for free-form string metadata.
const metadataKey = "__metadata__"

// TensorInfo describes one tensor of a file, as its header declares it.
type TensorInfo struct {
	// Name is the header key, e.g. "vision_model.post_layernorm.weight".
	Name string
	// DType is the element type.
	DType DType
	// Shape is the tensor's shape; an empty shape is a scalar.
	Shape []int
	// Begin and End are the tensor's byte range within the data section (the
	// bytes after the header), as the header's data_offsets give them.
	Begin, End int64
	// File is the path of the file holding the tensor ("<memory>" for Parse),
	// so that callers can name it in their own errors.
	File string
}

// NumElements returns the number of elements (the product of Shape).
func (t TensorInfo) NumElements() int64 {
	n, _ := NumElements(t.Shape) // validated when the header was parsed
	return n
}

// ByteLen returns the tensor's size in bytes.
func (t TensorInfo) ByteLen() int64 { return t.End - t.Begin }

// header is a parsed and validated safetensors header.
type header struct {
	size     int64 // JSON length, from the first 8 bytes
	tensors  map[string]TensorInfo
	names    []string // sorted
	metadata map[string]string
}

// rawTensor is a header entry before validation. Numbers stay json.Number so
// that negative or fractional values can be reported rather than silently
// failing to decode.
type rawTensor struct {
	DType       *string       `json:"dtype"`
	Shape       []json.Number `json:"shape"`
	DataOffsets []json.Number `json:"data_offsets"`
}

// parseHeader reads and validates the header of a whole safetensors file held
// in data. path names the file in errors.
func parseHeader(path string, data []byte) (*header, error) {
	if len(data) < 8 {
		return nil, formatErr(path, "", "file is %d bytes, shorter than the 8-byte header length field; the file is truncated or not safetensors", len(data))
	}
	n := binary.LittleEndian.Uint64(data[:8])
	if n > MaxHeaderSize {
		return nil, formatErr(path, "", "header length field is %d bytes, above the %d-byte limit; the file is corrupt or not safetensors", n, MaxHeaderSize)
	}
	if n > uint64(len(data)-8) {
		return nil, formatErr(path, "", "header length field is %d bytes but only %d bytes follow it; the file is truncated", n, len(data)-8)
	}
	js := data[8 : 8+n]
	if !utf8.Valid(js) {
		return nil, formatErr(path, "", "header is not valid UTF-8")
	}
	if len(js) == 0 || js[0] != '{' {
		return nil, formatErr(path, "", "header does not start with '{' (found %q); the file is not safetensors", firstBytes(js))
	}
	h := &header{size: int64(n), tensors: map[string]TensorInfo{}}
	dataLen := int64(len(data)) - 8 - int64(n)
	if err := h.decode(path, js, dataLen); err != nil {
		return nil, err
	}
	if err := h.checkLayout(path); err != nil {
		return nil, err
	}
	return h, nil
}

func firstBytes(b []byte) []byte {
	if len(b) > 16 {
		return b[:16]
	}
	return b
}

// decode walks the header object key by key (so that duplicate keys, which a
// map decode would silently merge, are caught) and validates each entry.
func (h *header) decode(path string, js []byte, dataLen int64) error {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	bad := func(err error) error {
		return formatErr(path, "", "header is not valid JSON: %v", err)
	}
	if _, err := dec.Token(); err != nil { // '{', checked above
		return bad(err)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return bad(err)
		}
		key, ok := tok.(string)
		if !ok {
			return bad(fmt.Errorf("object key is %v", tok))
		}
		if seen[key] {
			return formatErr(path, key, "key appears twice in the header")
		}
		seen[key] = true
		if key == metadataKey {
			var m map[string]string
			if err := dec.Decode(&m); err != nil {
				return formatErr(path, "", "%s must map strings to strings: %v", metadataKey, err)
			}
			h.metadata = m
			continue
		}
		var raw rawTensor
		if err := dec.Decode(&raw); err != nil {
			return formatErr(path, key, "header entry is not valid JSON or not {\"dtype\", \"shape\", \"data_offsets\"}: %v", err)
		}
		info, err := raw.validate(path, key, dataLen)
		if err != nil {
			return err
		}
		h.tensors[key] = info
		h.names = append(h.names, key)
	}
	if _, err := dec.Token(); err != nil { // '}'
		return bad(err)
	}
	if tok, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return bad(err)
		}
		return bad(fmt.Errorf("unexpected %v after the header object", tok))
	}
	slices.Sort(h.names)
	return nil
}

// validate checks one entry on its own: dtype known, shape non-negative,
// offsets ordered and inside the data section, byte length = elements × size.
func (r *rawTensor) validate(path, key string, dataLen int64) (TensorInfo, error) {
	info := TensorInfo{Name: key, File: path}
	if r.DType == nil {
		return info, formatErr(path, key, "missing \"dtype\"")
	}
	info.DType = DType(*r.DType)
	if !info.DType.Valid() {
		return info, formatErr(path, key, "unknown dtype %q (supported: %s)", *r.DType, knownDTypes())
	}
	if r.Shape == nil {
		return info, formatErr(path, key, "missing \"shape\"")
	}
	info.Shape = make([]int, len(r.Shape))
	for i, s := range r.Shape {
		v, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil || v < 0 || int64(int(v)) != v {
			return info, formatErr(path, key, "shape[%d] = %s, want a non-negative integer", i, s)
		}
		info.Shape[i] = int(v)
	}
	count, err := NumElements(info.Shape)
	if err != nil {
		return info, formatErr(path, key, "%v", err)
	}
	if len(r.DataOffsets) != 2 {
		return info, formatErr(path, key, "data_offsets has %d entries, want 2 ([begin, end])", len(r.DataOffsets))
	}
	var off [2]int64
	for i, s := range r.DataOffsets {
		v, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil || v < 0 {
			return info, formatErr(path, key, "data_offsets[%d] = %s, want a non-negative integer", i, s)
		}
		off[i] = v
	}
	info.Begin, info.End = off[0], off[1]
	if info.End < info.Begin {
		return info, formatErr(path, key, "data_offsets [%d, %d] end before they begin", info.Begin, info.End)
	}
	size := int64(info.DType.Size())
	if count > (1<<63-1)/size {
		return info, formatErr(path, key, "shape %v of %s overflows int64 bytes", info.Shape, info.DType)
	}
	if want := count * size; info.End-info.Begin != want {
		return info, formatErr(path, key, "data_offsets [%d, %d] hold %d bytes, but shape %v of %s needs %d", info.Begin, info.End, info.End-info.Begin, info.Shape, info.DType, want)
	}
	if info.End > dataLen {
		return info, formatErr(path, key, "data_offsets [%d, %d] run past the end of the %d-byte data section; the file is truncated or the header lies", info.Begin, info.End, dataLen)
	}
	return info, nil
}

// checkLayout refuses tensors whose byte ranges overlap. Gaps and trailing
// bytes are allowed (the reference writer never makes them, but they cannot
// make a read wrong).
func (h *header) checkLayout(path string) error {
	ranges := make([]TensorInfo, 0, len(h.tensors))
	for _, t := range h.tensors {
		if t.End > t.Begin {
			ranges = append(ranges, t)
		}
	}
	slices.SortFunc(ranges, func(a, b TensorInfo) int {
		return cmp.Or(cmp.Compare(a.Begin, b.Begin), strings.Compare(a.Name, b.Name))
	})
	for i := 1; i < len(ranges); i++ {
		p, t := ranges[i-1], ranges[i]
		if t.Begin < p.End {
			return formatErr(path, t.Name, "data_offsets [%d, %d] overlap those of %q [%d, %d]", t.Begin, t.End, p.Name, p.Begin, p.End)
		}
	}
	return nil
}
