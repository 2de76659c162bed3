package pipeline

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sampleBatch(lo, n, dim int) ([]Input, [][]float32) {
	var ins []Input
	var embs [][]float32
	for i := lo; i < lo+n; i++ {
		switch i % 3 {
		case 0:
			ins = append(ins, ImageInput(filepath.Join("photos", "p"+string(rune('a'+i%26))+strings.Repeat("x", i)+".jpg")))
		case 1:
			ins = append(ins, TextInput("a <photo> & \"quote\" "+strings.Repeat("é", i)))
		default:
			ins = append(ins, IDsInput([]int{2, i, 1}))
		}
		e := make([]float32, dim)
		for j := range e {
			// Values whose decimal forms are long: they must round-trip.
			e[j] = float32(math.Sin(float64(i*dim+j))) / 3
		}
		embs = append(embs, e)
	}
	return ins, embs
}

// readJSONL parses every line of a JSONL output as a Record.
func readJSONL(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "line %q", sc.Text())
		out = append(out, m)
	}
	return out
}

// TestJSONLResume: records read back with their embeddings bit for bit; a
// resumed output knows its inputs, drops a line cut short, and appends.
func TestJSONLResume(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	o, done, err := OpenOutput(path, false)
	require.NoError(t, err)
	assert.Empty(t, done)
	ins, embs := sampleBatch(0, 6, 5)
	require.NoError(t, o.Write(ins[:4], embs[:4]))
	require.NoError(t, o.Close())

	_, _, err = OpenOutput(path, false)
	require.ErrorIs(t, err, ErrExists)

	// A kill in the middle of a write leaves a line without its newline.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"input":"photos/half.jpg","kind":"image","embedding":[0.12`)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	o, done, err = OpenOutput(path, true)
	require.NoError(t, err)
	require.Len(t, done, 4)
	for _, in := range ins[:4] {
		assert.True(t, done[in.Key()], in.String())
	}
	require.NoError(t, o.Write(ins[4:], embs[4:]))
	require.NoError(t, o.Close())

	recs := readJSONL(t, path)
	require.Len(t, recs, 6)
	for i, r := range recs {
		assert.Equal(t, string(ins[i].Kind), r["kind"])
		got := r["embedding"].([]any)
		require.Len(t, got, 5)
		for j, v := range got {
			assert.Equal(t, embs[i][j], float32(v.(float64)), "record %d value %d", i, j)
		}
	}
	assert.Equal(t, ins[0].Path, recs[0]["input"])
	assert.Equal(t, ins[1].Text, recs[1]["input"])
	assert.Equal(t, []any{2.0, 2.0, 1.0}, recs[2]["input"])
}

// TestJSONLResumeRefusesForeignFile: a finished line that is not a record
// is an error naming the line, not silently dropped.
func TestJSONLResumeRefusesForeignFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	require.NoError(t, os.WriteFile(path, []byte("{\"input\":\"a.jpg\",\"kind\":\"image\"}\nhello\n"), 0o644))
	_, _, err := OpenOutput(path, true)
	require.ErrorContains(t, err, "line 2 is not a record")
}

// readNPY parses a 2-D <f4 .npy file following the format's definition
// (magic, version 1.0, little-endian header length, a Python dict literal,
// 64-byte alignment), independently of the writer.
func readNPY(t *testing.T, path string) (rows, dim int, data []float32) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "\x93NUMPY\x01\x00", string(b[:8]))
	hl := int(binary.LittleEndian.Uint16(b[8:]))
	require.Zero(t, (10+hl)%64, "header not 64-byte aligned")
	dict := string(b[10 : 10+hl])
	require.True(t, strings.HasSuffix(dict, "\n"))
	require.Contains(t, dict, "'descr': '<f4'")
	require.Contains(t, dict, "'fortran_order': False")
	i := strings.Index(dict, "'shape': (")
	require.GreaterOrEqual(t, i, 0, "header %q", dict)
	_, err = fmt.Sscanf(dict[i+len("'shape': ("):], "%d, %d)", &rows, &dim)
	require.NoError(t, err, "header %q", dict)
	body := b[10+hl:]
	require.Len(t, body, 4*rows*dim)
	data = make([]float32, rows*dim)
	for i := range data {
		data[i] = math.Float32frombits(binary.LittleEndian.Uint32(body[4*i:]))
	}
	return rows, dim, data
}

// TestNPYResume: the .npy is a valid array after every batch; a kill that
// leaves a partial row and rows without index lines is cut back to the
// complete rows on resume, and the run continues.
func TestNPYResume(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "emb.npy")
	o, _, err := OpenOutput(path, false)
	require.NoError(t, err)
	ins, embs := sampleBatch(0, 9, 7)
	require.NoError(t, o.Write(ins[:3], embs[:3]))
	rows, dim, _ := readNPY(t, path) // readable while the run goes on
	assert.Equal(t, [2]int{3, 7}, [2]int{rows, dim})
	require.NoError(t, o.Write(ins[3:5], embs[3:5]))
	require.NoError(t, o.Close())

	_, _, err = OpenOutput(path, false)
	require.ErrorIs(t, err, ErrExists)

	// Killed after writing one more row and a half, but before their index
	// lines: resume keeps 5 rows.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write(make([]byte, 4*7+10))
	require.NoError(t, err)
	require.NoError(t, f.Close())

	o, done, err := OpenOutput(path, true)
	require.NoError(t, err)
	assert.Len(t, done, 5)
	require.NoError(t, o.Write(ins[5:], embs[5:]))
	require.NoError(t, o.Close())

	rows, dim, data := readNPY(t, path)
	require.Equal(t, [2]int{9, 7}, [2]int{rows, dim})
	for i := range 9 {
		assert.Equal(t, embs[i], data[i*7:(i+1)*7], "row %d", i)
	}
	idx := readJSONL(t, IndexPath(path))
	require.Len(t, idx, 9)
	for i, r := range idx {
		assert.Equal(t, string(ins[i].Kind), r["kind"], "index line %d", i)
		assert.NotContains(t, r, "embedding")
	}
	assert.Equal(t, filepath.Join(dir, "emb.index.jsonl"), IndexPath(path))
}

// TestNPYResumeMoreIndexThanRows: index lines for rows that never made it
// (only possible if the file was edited) are dropped with those rows.
func TestNPYResumeMoreIndexThanRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "emb.npy")
	o, _, err := OpenOutput(path, false)
	require.NoError(t, err)
	ins, embs := sampleBatch(0, 4, 3)
	require.NoError(t, o.Write(ins, embs))
	require.NoError(t, o.Close())
	st, err := os.Stat(path)
	require.NoError(t, err)
	// Cut the last row and one byte of the one before: 2 whole rows are
	// left, and the index still names 4.
	require.NoError(t, os.Truncate(path, st.Size()-4*3-1))
	o, done, err := OpenOutput(path, true)
	require.NoError(t, err)
	require.NoError(t, o.Close())
	assert.Len(t, done, 2)
	rows, _, _ := readNPY(t, path)
	assert.Equal(t, 2, rows)
	assert.Len(t, readJSONL(t, IndexPath(path)), 2)
}

// TestNPYHeaderRefusals: other dtypes, orders and shapes are refused.
func TestNPYHeaderRefusals(t *testing.T) {
	for name, dict := range map[string]string{
		"f8":      "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }",
		"fortran": "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
		"1-D":     "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }",
	} {
		path := filepath.Join(t.TempDir(), "x.npy")
		h := npyHeader(0, 0)
		copy(h[10:], dict+strings.Repeat(" ", 118-1-len(dict)))
		require.NoError(t, os.WriteFile(path, h, 0o644))
		_, _, err := OpenOutput(path, true)
		assert.Error(t, err, name)
	}
}

// FuzzResumeJSONL: whatever an output file holds, resuming it either
// fails with an error or leaves a file of whole records that it counted.
func FuzzResumeJSONL(f *testing.F) {
	f.Add([]byte("{\"input\":\"a.jpg\",\"kind\":\"image\",\"embedding\":[1]}\n{\"inp"))
	f.Add([]byte("{\"input\":[1,2],\"kind\":\"text\"}\n{\"input\":\"t\",\"kind\":\"text\"}\n"))
	f.Add([]byte("{\"input\":3,\"kind\":\"image\"}\n"))
	f.Add([]byte("\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "out.jsonl")
		require.NoError(t, os.WriteFile(path, data, 0o644))
		o, done, err := OpenOutput(path, true)
		if err != nil {
			return
		}
		require.NoError(t, o.Close())
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		require.True(t, bytes.HasPrefix(data, b))
		lines := bytes.Count(b, []byte("\n"))
		require.LessOrEqual(t, len(done), lines)
		if len(b) > 0 {
			require.Equal(t, byte('\n'), b[len(b)-1])
		}
	})
}

// FuzzNPYHeader: the header parser never panics and accepts only what it
// can write back in place.
func FuzzNPYHeader(f *testing.F) {
	f.Add(npyHeader(3, 768))
	f.Add(npyHeader(0, 0))
	f.Add([]byte("\x93NUMPY\x02\x00\x10\x00\x00\x00{'shape': (1, 2)}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "x.npy")
		require.NoError(t, os.WriteFile(path, data, 0o644))
		fh, err := os.Open(path)
		require.NoError(t, err)
		defer fh.Close()
		size, rows, dim, err := parseNPYHeader(fh)
		if err != nil {
			return
		}
		require.GreaterOrEqual(t, rows, 0)
		require.GreaterOrEqual(t, dim, 0)
		require.LessOrEqual(t, size, int64(len(data)))
	})
}
