package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The reference implementation's own serialisation tests
// (huggingface/safetensors safetensors/src/tensor.rs: test_serialization,
// test_empty, test_serialization_forced_alignement): Write must produce the
// same bytes.
func TestWriteMatchesReferenceBytes(t *testing.T) {
	values := []float32{0, 1, 2, 3, 4, 5}
	data := Float32Tensor("", nil, values).Data

	cases := []struct {
		name     string
		tensors  []Tensor
		metadata map[string]string
		header   string
	}{
		{"serialization", []Tensor{{Name: "attn.0", DType: F32, Shape: []int{1, 2, 3}, Data: data}}, nil,
			`{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}`},
		{"forced alignment", []Tensor{{Name: "attn0", DType: F32, Shape: []int{1, 1, 2, 3}, Data: data}}, nil,
			`{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       `},
		{"empty", nil, nil, `{}      `},
		{"empty with metadata", nil, map[string]string{"framework": "pt"}, `{"__metadata__":{"framework":"pt"}}     `},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, Write(&buf, c.tensors, c.metadata))
			want := binary.LittleEndian.AppendUint64(nil, uint64(len(c.header)))
			want = append(want, c.header...)
			for _, tt := range c.tensors {
				want = append(want, tt.Data...)
			}
			assert.Equal(t, want, buf.Bytes())
			f, err := Parse(buf.Bytes())
			require.NoError(t, err)
			assert.Equal(t, c.metadata, f.Metadata())
		})
	}
}

func TestRoundTrip(t *testing.T) {
	f32 := []float32{1.5, -2, float32(math.Inf(1)), 0, 3.25, -0.125}
	tensors := []Tensor{
		Uint8Tensor("pixels", []int{2, 3}, []uint8{0, 1, 2, 253, 254, 255}),
		Float32Tensor("w", []int{2, 3}, f32),
		Int64Tensor("ids", []int{3}, []int64{-1, 0, math.MaxInt64}),
		Int32Tensor("small", []int{2}, []int32{math.MinInt32, 7}),
		Float16Tensor("h", []int{3, 2}, f32),
		BFloat16Tensor("b", []int{6}, f32),
		Float32Tensor("scalar", []int{}, []float32{42}),
		Float32Tensor("empty", []int{0, 4}, nil),
		{Name: "mask", DType: BOOL, Shape: []int{2}, Data: []byte{1, 0}},
		{Name: "d", DType: F64, Shape: []int{1}, Data: binary.LittleEndian.AppendUint64(nil, math.Float64bits(0.1))},
	}
	path := filepath.Join(t.TempDir(), "x.safetensors")
	require.NoError(t, WriteFile(path, tensors, map[string]string{"format": "pt", "note": "<&>"}))
	f, err := Open(path)
	require.NoError(t, err)
	defer f.Close()

	assert.Equal(t, []string{"b", "d", "empty", "h", "ids", "mask", "pixels", "scalar", "small", "w"}, f.Names())
	assert.Equal(t, map[string]string{"format": "pt", "note": "<&>"}, f.Metadata())

	got, shape, err := f.Float32("w")
	require.NoError(t, err)
	assert.Equal(t, f32, got)
	assert.Equal(t, []int{2, 3}, shape)
	for _, name := range []string{"h", "b"} { // every value above is exact in F16 and BF16
		got, _, err := f.Float32(name)
		require.NoError(t, err)
		assert.Equal(t, f32, got, name)
	}
	d, _, err := f.Float32("d")
	require.NoError(t, err)
	assert.Equal(t, []float32{0.1}, d)
	s, shape, err := f.Float32("scalar")
	require.NoError(t, err)
	assert.Equal(t, []float32{42}, s)
	assert.Equal(t, []int{}, shape)
	e, shape, err := f.Float32("empty")
	require.NoError(t, err)
	assert.Empty(t, e)
	assert.Equal(t, []int{0, 4}, shape)

	ids, _, err := f.Int64("ids")
	require.NoError(t, err)
	assert.Equal(t, []int64{-1, 0, math.MaxInt64}, ids)
	_, _, err = f.Int32("ids")
	assert.ErrorIs(t, err, ErrDType, "MaxInt64 does not fit in int32")
	small, _, err := f.Int64("small")
	require.NoError(t, err)
	assert.Equal(t, []int64{math.MinInt32, 7}, small)
	px, _, err := f.Uint8("pixels")
	require.NoError(t, err)
	assert.Equal(t, []uint8{0, 1, 2, 253, 254, 255}, px)
	px32, _, err := f.Int32("pixels")
	require.NoError(t, err)
	assert.Equal(t, []int32{0, 1, 2, 253, 254, 255}, px32)
	mask, _, err := f.Uint8("mask")
	require.NoError(t, err)
	assert.Equal(t, []uint8{1, 0}, mask)

	// Layout: widest dtype first, each tensor aligned to its element size.
	for _, name := range f.Names() {
		info, ok := f.Info(name)
		require.True(t, ok)
		assert.Zero(t, (8+info.Begin)%int64(info.DType.Size()), "%s at %d", name, info.Begin)
		assert.Equal(t, path, info.File)
	}
	ids64, _ := f.Info("ids")
	assert.Equal(t, int64(0), ids64.Begin, "I64 is laid out first")

	// Type errors name the file, the tensor and the dtype.
	_, _, err = f.Float32("ids")
	require.ErrorIs(t, err, ErrDType)
	assert.Contains(t, err.Error(), path)
	assert.Contains(t, err.Error(), `"ids"`)
	assert.Contains(t, err.Error(), "I64")
	_, _, err = f.Int64("w")
	assert.ErrorIs(t, err, ErrDType)
	_, _, err = f.Uint8("w")
	assert.ErrorIs(t, err, ErrDType)
	_, _, err = f.Float32("nope")
	assert.ErrorIs(t, err, ErrNotFound)

	require.NoError(t, f.Close())
	require.NoError(t, f.Close(), "second Close is harmless")
	_, err = f.Bytes("w")
	assert.ErrorIs(t, err, ErrClosed)
}

func TestWriteRefusesBadTensors(t *testing.T) {
	cases := map[string][]Tensor{
		"length":     {{Name: "a", DType: F32, Shape: []int{3}, Data: make([]byte, 8)}},
		"dtype":      {{Name: "a", DType: "F8_E4M3", Shape: []int{1}, Data: make([]byte, 1)}},
		"negative":   {{Name: "a", DType: U8, Shape: []int{-1}}},
		"duplicate":  {Uint8Tensor("a", []int{1}, []uint8{1}), Uint8Tensor("a", []int{1}, []uint8{2})},
		"reserved":   {Uint8Tensor(metadataKey, []int{1}, []uint8{1})},
		"wrong size": {Float32Tensor("a", []int{2, 2}, []float32{1, 2, 3})},
	}
	for name, tensors := range cases {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(&buf, tensors, nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), `"`)
		})
	}
	// WriteFile leaves nothing behind on failure.
	dir := t.TempDir()
	require.Error(t, WriteFile(filepath.Join(dir, "x.safetensors"), cases["length"], nil))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries)
}

// rawFile builds a safetensors file from a header given as text and data.
func rawFile(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

func TestParseRefusesBadFiles(t *testing.T) {
	good := rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8))
	_, err := Parse(good)
	require.NoError(t, err, "the baseline must parse")

	huge := binary.LittleEndian.AppendUint64(nil, MaxHeaderSize+1)
	cases := []struct {
		name   string
		file   []byte
		tensor string   // key the error must name ("" for none)
		want   []string // substrings of the message: what was expected and found
	}{
		{"empty file", nil, "", []string{"0 bytes"}},
		{"shorter than length field", []byte{1, 2, 3}, "", []string{"3 bytes"}},
		{"huge header length", append(huge, '{', '}'), "", []string{"100000001", "limit"}},
		{"max uint64 header length", append(binary.LittleEndian.AppendUint64(nil, math.MaxUint64), '{'), "", []string{"limit"}},
		{"header longer than file", good[:40], "", []string{"truncated"}},
		{"truncated data", good[:len(good)-1], "a", []string{"[0, 8]", "7-byte data section"}},
		{"not JSON", rawFile(`{1:2}`, nil), "", []string{"not valid JSON"}},
		{"entry not JSON", rawFile(`{"a": nope}`, nil), "a", []string{"entry"}},
		{"not an object", rawFile(`[1,2]`, nil), "", []string{"'{'"}},
		{"trailing garbage", rawFile(`{}{}`, nil), "", []string{"after the header"}},
		{"not UTF-8", rawFile("{\"\xff\":1}", nil), "", []string{"UTF-8"}},
		{"entry not object", rawFile(`{"a":3}`, nil), "a", []string{"entry"}},
		{"unknown dtype", rawFile(`{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}`, make([]byte, 1)), "a", []string{`"F8_E4M3"`, "F32"}},
		{"missing dtype", rawFile(`{"a":{"shape":[1],"data_offsets":[0,1]}}`, make([]byte, 1)), "a", []string{"dtype"}},
		{"missing shape", rawFile(`{"a":{"dtype":"U8","data_offsets":[0,1]}}`, make([]byte, 1)), "a", []string{"shape"}},
		{"negative shape", rawFile(`{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}`, make([]byte, 1)), "a", []string{"shape[0] = -1"}},
		{"fractional shape", rawFile(`{"a":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}}`, make([]byte, 1)), "a", []string{"shape[0] = 1.5"}},
		{"overflowing shape", rawFile(`{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,1]}}`, make([]byte, 1)), "a", []string{"overflow"}},
		{"shape/length mismatch", rawFile(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, make([]byte, 8)), "a", []string{"hold 8 bytes", "needs 12"}},
		{"three offsets", rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}}`, make([]byte, 2)), "a", []string{"3 entries"}},
		{"negative offset", rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}}`, make([]byte, 2)), "a", []string{"data_offsets[0] = -1"}},
		{"reversed offsets", rawFile(`{"a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}`, make([]byte, 4)), "a", []string{"[4, 0]"}},
		{"lying offsets", rawFile(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}`, make([]byte, 16)), "a", []string{"[8, 24]", "16-byte"}},
		{"overlap", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, make([]byte, 12)), "b", []string{`"a" [0, 8]`, "[4, 12]"}},
		{"duplicate key", rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, make([]byte, 2)), "a", []string{"twice"}},
		{"metadata not strings", rawFile(`{"__metadata__":{"n":1}}`, nil), "", []string{"__metadata__"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Parse(c.file)
			require.Error(t, err)
			assert.Nil(t, f)
			require.ErrorIs(t, err, ErrInvalid)
			var fe *FormatError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, "<memory>", fe.Path)
			assert.Equal(t, c.tensor, fe.Tensor, "error %q", err)
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestParseAcceptsReferenceQuirks(t *testing.T) {
	// A zero-length tensor may share its offset with a neighbour; gaps,
	// trailing bytes and unknown entry fields are harmless; a scalar has shape [].
	f, err := Parse(rawFile(`{"z":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},"a":{"dtype":"F32","shape":[],"data_offsets":[0,4],"extra":1},"b":{"dtype":"U8","shape":[1],"data_offsets":[6,7]}}  `,
		[]byte{0, 0, 0x80, 0x3f, 9, 9, 7, 9}))
	require.NoError(t, err)
	a, shape, err := f.Float32("a")
	require.NoError(t, err)
	assert.Equal(t, []float32{1}, a)
	assert.Empty(t, shape)
	b, _, err := f.Uint8("b")
	require.NoError(t, err)
	assert.Equal(t, []uint8{7}, b)
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(filepath.Join(dir, "missing.safetensors"))
	assert.ErrorIs(t, err, os.ErrNotExist)
	_, err = Open(dir)
	assert.ErrorIs(t, err, ErrInvalid, "a directory")
	empty := filepath.Join(dir, "empty.safetensors")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	_, err = Open(empty)
	require.ErrorIs(t, err, ErrInvalid)
	assert.Contains(t, err.Error(), empty)
}

// manifest is the part of a fixture's manifest.json these tests read: what
// Hugging Face's generator says it wrote.
type manifest struct {
	LogitScaleParam *float64 `json:"logit_scale_param"`
	LogitBiasParam  *float64 `json:"logit_bias_param"`
	Tensors         map[string]struct {
		DType string `json:"dtype"`
		Shape []int  `json:"shape"`
	} `json:"tensors"`
}

var fixtures = []string{"siglip2_tiny_p16", "siglip2_tiny_p16_cls", "siglip_tiny_fixres", "siglip2_odd_p14"}

// The fixtures were written by Python's safetensors; their headers must agree
// with the generator's manifest, every tensor must decode, and the model's
// logit_scale / logit_bias must equal the values the generator recorded.
func TestFixturesAgreeWithManifest(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("..", "testdata", "models", name)
			raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
			require.NoError(t, err)
			var m manifest
			require.NoError(t, json.Unmarshal(raw, &m))
			require.NotEmpty(t, m.Tensors)

			f, err := Open(filepath.Join(dir, "expected.safetensors"))
			require.NoError(t, err)
			defer f.Close()
			assert.Len(t, f.Names(), len(m.Tensors))
			for key, want := range m.Tensors {
				info, ok := f.Info(key)
				if !assert.True(t, ok, "manifest tensor %q missing", key) {
					continue
				}
				assert.Equal(t, DType(want.DType), info.DType, key)
				assert.Equal(t, want.Shape, info.Shape, key)
				n := int(info.NumElements())
				switch info.DType {
				case F32:
					v, _, err := f.Float32(key)
					require.NoError(t, err)
					assert.Len(t, v, n)
				case I64, I32:
					v, _, err := f.Int64(key)
					require.NoError(t, err)
					assert.Len(t, v, n)
				case U8, BOOL:
					v, _, err := f.Uint8(key)
					require.NoError(t, err)
					assert.Len(t, v, n)
				default:
					t.Errorf("%s: unexpected dtype %s", key, info.DType)
				}
			}

			model, err := OpenModel(dir)
			require.NoError(t, err)
			defer model.Close()
			assert.Equal(t, map[string]string{"format": "pt"}, model.Metadata())
			if m.LogitScaleParam == nil { // the classifier has no logit_scale / logit_bias
				_, ok := model.Info("logit_scale")
				assert.False(t, ok)
				return
			}
			scale, shape, err := model.Float32("logit_scale")
			require.NoError(t, err)
			assert.Equal(t, []int{1}, shape)
			assert.Equal(t, []float32{float32(*m.LogitScaleParam)}, scale)
			bias, _, err := model.Float32("logit_bias")
			require.NoError(t, err)
			assert.Equal(t, []float32{float32(*m.LogitBiasParam)}, bias)
		})
	}
}

// A sharded checkpoint written the way save_pretrained does must read back
// like the single file it was split from.
func TestIndex(t *testing.T) {
	dir := t.TempDir()
	a := Float32Tensor("layer.0.weight", []int{2, 2}, []float32{1, 2, 3, 4})
	b := BFloat16Tensor("layer.1.weight", []int{2}, []float32{5, 6})
	c := Int64Tensor("ids", []int{1}, []int64{9})
	require.NoError(t, WriteFile(filepath.Join(dir, "model-00001-of-00002.safetensors"), []Tensor{a, c}, map[string]string{"format": "pt"}))
	require.NoError(t, WriteFile(filepath.Join(dir, "model-00002-of-00002.safetensors"), []Tensor{b}, map[string]string{"format": "pt"}))
	writeIndex := func(weightMap map[string]string) {
		doc := map[string]any{"metadata": map[string]any{"total_size": 36}, "weight_map": weightMap}
		raw, err := json.Marshal(doc)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, ModelIndexFile), raw, 0o644))
	}
	writeIndex(map[string]string{
		"layer.0.weight": "model-00001-of-00002.safetensors",
		"ids":            "model-00001-of-00002.safetensors",
		"layer.1.weight": "model-00002-of-00002.safetensors",
	})
	r, err := OpenModel(dir)
	require.NoError(t, err)
	ix, ok := r.(*Index)
	require.True(t, ok, "OpenModel must pick the index when model.safetensors is absent")
	assert.Equal(t, []string{"ids", "layer.0.weight", "layer.1.weight"}, ix.Names())
	assert.Len(t, ix.Shards(), 2)
	assert.Equal(t, map[string]string{"total_size": "36"}, ix.Metadata())
	v, shape, err := ix.Float32("layer.1.weight")
	require.NoError(t, err)
	assert.Equal(t, []float32{5, 6}, v)
	assert.Equal(t, []int{2}, shape)
	info, ok := ix.Info("layer.1.weight")
	require.True(t, ok)
	assert.Equal(t, filepath.Join(dir, "model-00002-of-00002.safetensors"), info.File)
	ids, _, err := ix.Int64("ids")
	require.NoError(t, err)
	assert.Equal(t, []int64{9}, ids)
	ids32, _, err := ix.Int32("ids")
	require.NoError(t, err)
	assert.Equal(t, []int32{9}, ids32)
	_, _, err = ix.Uint8("ids")
	assert.ErrorIs(t, err, ErrDType)
	raw, err := ix.Bytes("layer.0.weight")
	require.NoError(t, err)
	assert.Len(t, raw, 16)
	_, err = ix.Bytes("nope")
	assert.ErrorIs(t, err, ErrNotFound)
	require.NoError(t, ix.Close())

	bad := []struct {
		name string
		wm   map[string]string
		want string
	}{
		{"tensor not in shard", map[string]string{"layer.9.weight": "model-00001-of-00002.safetensors"}, `"layer.9.weight"`},
		{"missing shard", map[string]string{"ids": "model-00003-of-00003.safetensors"}, "model-00003-of-00003.safetensors"},
		{"escaping path", map[string]string{"ids": "../model-00001-of-00002.safetensors"}, "not a file inside"},
		{"empty", map[string]string{}, "weight_map"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			writeIndex(c.wm)
			_, err := OpenIndex(filepath.Join(dir, ModelIndexFile))
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, ModelIndexFile), []byte("{"), 0o644))
	_, err = OpenIndex(filepath.Join(dir, ModelIndexFile))
	assert.ErrorContains(t, err, "JSON")

	_, err = OpenModel(t.TempDir())
	assert.ErrorContains(t, err, "neither")
}

// FuzzParse feeds arbitrary bytes to Parse (which Open uses after mapping).
// Whatever parses must be readable without panics, every tensor's bytes must
// have the declared length, and writing it back must give a file that parses
// to the same tensors.
func FuzzParse(f *testing.F) {
	var buf bytes.Buffer
	_ = Write(&buf, []Tensor{
		Float32Tensor("a", []int{2}, []float32{1, 2}),
		Int64Tensor("b", []int{1}, []int64{3}),
		{Name: "c", DType: BF16, Shape: []int{1, 1}, Data: []byte{0x80, 0x3f}},
	}, map[string]string{"k": "v"})
	f.Add(buf.Bytes())
	f.Add(rawFile(`{"a":{"dtype":"F16","shape":[],"data_offsets":[0,2]}}`, []byte{0, 0x3c}))
	f.Add(rawFile(`{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)))
	f.Add(rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, make([]byte, 12)))
	f.Add([]byte{})
	f.Add(rawFile(`{}`, nil))
	if model, err := os.ReadFile(filepath.Join("..", "testdata", "models", "siglip2_tiny_p16", "model.safetensors")); err == nil {
		n := binary.LittleEndian.Uint64(model)
		f.Add(model[:8+n]) // header only: every tensor out of range
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		var tensors []Tensor
		for _, name := range file.Names() {
			info, ok := file.Info(name)
			if !ok {
				t.Fatalf("Names lists %q but Info does not know it", name)
			}
			raw, err := file.Bytes(name)
			if err != nil || int64(len(raw)) != info.ByteLen() || info.ByteLen() != info.NumElements()*int64(info.DType.Size()) {
				t.Fatalf("%q: %d bytes, info %+v, err %v", name, len(raw), info, err)
			}
			_, _, _ = file.Float32(name)
			_, _, _ = file.Int64(name)
			_, _, _ = file.Int32(name)
			_, _, _ = file.Uint8(name)
			tensors = append(tensors, Tensor{Name: name, DType: info.DType, Shape: info.Shape, Data: raw})
		}
		var out bytes.Buffer
		if err := Write(&out, tensors, file.Metadata()); err != nil {
			t.Fatalf("re-write of a valid file failed: %v", err)
		}
		again, err := Parse(out.Bytes())
		if err != nil {
			t.Fatalf("re-written file does not parse: %v", err)
		}
		if got, want := strings.Join(again.Names(), "\x00"), strings.Join(file.Names(), "\x00"); got != want {
			t.Fatalf("names changed: %q -> %q", want, got)
		}
		for _, tt := range tensors {
			raw, _ := again.Bytes(tt.Name)
			info, _ := again.Info(tt.Name)
			if !bytes.Equal(raw, tt.Data) || info.DType != tt.DType || fmt.Sprint(info.Shape) != fmt.Sprint(tt.Shape) {
				t.Fatalf("%q changed in the round trip", tt.Name)
			}
		}
	})
}
