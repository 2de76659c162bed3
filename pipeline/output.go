package pipeline

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Record is one embedding as the JSONL output holds it, one per line:
// {"input": ..., "kind": "image"|"text", "embedding": [...]}.
type Record struct {
	// Input is the image path, the text, or the token ids (Input.Value).
	Input any `json:"input"`
	// Kind is "image" or "text".
	Kind Kind `json:"kind"`
	// Embedding is the L2-normalised embedding; float32 values are written
	// in their shortest exact decimal form, so they read back bit for bit.
	Embedding []float32 `json:"embedding,omitempty"`
}

// record is Record as read back, with the input still raw.
type record struct {
	Input json.RawMessage `json:"input"`
	Kind  Kind            `json:"kind"`
}

// input rebuilds the Input a record was written from.
func (r record) input() (Input, error) {
	var in Input
	switch r.Kind {
	case KindImage:
		in.Kind = KindImage
		err := json.Unmarshal(r.Input, &in.Path)
		return in, err
	case KindText:
		in.Kind = KindText
		if bytes.HasPrefix(bytes.TrimSpace(r.Input), []byte("[")) {
			in.IDs = []int{}
			err := json.Unmarshal(r.Input, &in.IDs)
			return in, err
		}
		err := json.Unmarshal(r.Input, &in.Text)
		return in, err
	}
	return in, fmt.Errorf("kind %q is neither image nor text", r.Kind)
}

// Output receives embeddings batch by batch and makes each batch durable
// (written to the file, not held in a buffer) before Write returns, so that
// a killed run keeps everything written.
type Output interface {
	// Write appends the embeddings of inputs, in order.
	Write(inputs []Input, embeddings [][]float32) error
	// Close finishes the output.
	Close() error
}

// ErrExists is returned by OpenOutput when the output exists and resume was
// not asked for.
var ErrExists = errors.New("exists")

// IsNPY reports whether path names a .npy output.
func IsNPY(path string) bool { return strings.EqualFold(filepath.Ext(path), ".npy") }

// IndexPath is the index file that goes with a .npy output: the inputs in
// row order, one JSON object per line ({"input": ..., "kind": ...}; line i
// names row i).
// For out.npy it is out.index.jsonl.
func IndexPath(npyPath string) string {
	return strings.TrimSuffix(npyPath, filepath.Ext(npyPath)) + ".index.jsonl"
}

// OpenOutput creates the output file path: a .npy of float32 rows plus its
// index (see IndexPath) when path ends in .npy, JSON lines otherwise. With
// resume an existing output is continued: its inputs' keys (Input.Key) are
// returned so that the caller skips them, and a tail cut short by a kill (a
// last line without its newline, a partial .npy row, rows without an index
// line) is cut off first. Without resume an existing output is an error
// wrapping ErrExists, so that a finished run is never overwritten by
// mistake.
func OpenOutput(path string, resume bool) (Output, map[string]bool, error) {
	if !resume {
		for _, p := range outputFiles(path) {
			if _, err := os.Stat(p); err == nil {
				return nil, nil, fmt.Errorf("output %s: %w (pass --resume to continue it, or remove it)", p, ErrExists)
			}
		}
	}
	if IsNPY(path) {
		return openNPY(path)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("output: %w", err)
	}
	done, end, err := readIndex(f, -1)
	if err == nil {
		err = cutAt(f, end)
	}
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("resume %s: %w", path, err)
	}
	keys := make(map[string]bool, len(done))
	for _, in := range done {
		keys[in.Key()] = true
	}
	return &jsonlOutput{w: f, c: f}, keys, nil
}

func outputFiles(path string) []string {
	if IsNPY(path) {
		return []string{path, IndexPath(path)}
	}
	return []string{path}
}

// NewJSONL returns an Output writing JSON lines to w (standard output, say).
func NewJSONL(w io.Writer) Output { return &jsonlOutput{w: w} }

type jsonlOutput struct {
	w   io.Writer
	c   io.Closer // nil for a writer the caller owns
	buf bytes.Buffer
}

func (o *jsonlOutput) Write(inputs []Input, embs [][]float32) error {
	o.buf.Reset()
	enc := json.NewEncoder(&o.buf)
	enc.SetEscapeHTML(false)
	for i, in := range inputs {
		if err := enc.Encode(Record{Input: in.Value(), Kind: in.Kind, Embedding: embs[i]}); err != nil {
			return fmt.Errorf("encode %s: %w", in, err)
		}
	}
	if _, err := o.w.Write(o.buf.Bytes()); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

func (o *jsonlOutput) Close() error {
	if o.c == nil {
		return nil
	}
	return o.c.Close()
}

// readIndex reads the records of a JSON-lines file from the start, up to
// limit records (all when limit < 0). It returns their inputs and the offset
// just past the last one read; an unfinished last line (no newline) is not
// counted. A finished line that is not a record is an error naming it.
func readIndex(f *os.File, limit int) ([]Input, int64, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, 0, err
	}
	r := bufio.NewReaderSize(f, 1<<20)
	var ins []Input
	var off int64
	for line := 1; limit < 0 || len(ins) < limit; line++ {
		b, err := r.ReadBytes('\n')
		if err == io.EOF {
			break // a tail without its newline was cut short
		}
		if err != nil {
			return nil, 0, err
		}
		var rec record
		if err := json.Unmarshal(b, &rec); err != nil {
			return nil, 0, fmt.Errorf("line %d is not a record written by gosig embed: %v", line, err)
		}
		in, err := rec.input()
		if err != nil {
			return nil, 0, fmt.Errorf("line %d: %v", line, err)
		}
		ins = append(ins, in)
		off += int64(len(b))
	}
	return ins, off, nil
}

// cutAt truncates f to size and moves its offset there.
func cutAt(f *os.File, size int64) error {
	if err := f.Truncate(size); err != nil {
		return err
	}
	_, err := f.Seek(size, io.SeekStart)
	return err
}
