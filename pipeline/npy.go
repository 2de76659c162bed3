package pipeline

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
)

// The .npy output is NumPy's format 1.0: a header naming dtype '<f4',
// C order and the shape (rows, dim), then the rows. The header has a fixed
// size with room for any row count, so that it is rewritten in place after
// every batch: the file is a valid array at all times (np.load reads it
// while a run goes on), and a killed run leaves at worst a partial last row,
// which resuming cuts off.
const (
	npyMagic     = "\x93NUMPY"
	npyHeaderLen = 128 // preamble + dict + padding; a multiple of 64 as NumPy asks
)

// npyHeader returns the fixed-size header for a float32 array of shape
// (rows, dim).
func npyHeader(rows, dim int) []byte {
	dict := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", rows, dim)
	h := make([]byte, npyHeaderLen)
	copy(h, npyMagic)
	h[6], h[7] = 1, 0
	binary.LittleEndian.PutUint16(h[8:], npyHeaderLen-10)
	n := copy(h[10:], dict)
	for i := 10 + n; i < npyHeaderLen-1; i++ {
		h[i] = ' '
	}
	h[npyHeaderLen-1] = '\n'
	return h
}

var (
	npyDescr = regexp.MustCompile(`'descr'\s*:\s*'([^']*)'`)
	npyOrder = regexp.MustCompile(`'fortran_order'\s*:\s*(True|False)`)
	npyShape = regexp.MustCompile(`'shape'\s*:\s*\(\s*(\d+)\s*,\s*(\d+)\s*,?\s*\)`)
)

// parseNPYHeader reads the header of a 2-D little-endian float32 .npy file
// and returns its size in bytes and the shape it declares.
func parseNPYHeader(f *os.File) (size int64, rows, dim int, err error) {
	pre := make([]byte, 12)
	if _, err := io.ReadFull(f, pre[:10]); err != nil {
		return 0, 0, 0, fmt.Errorf("not a .npy file: %w", err)
	}
	if string(pre[:6]) != npyMagic {
		return 0, 0, 0, errors.New("not a .npy file (no \\x93NUMPY magic)")
	}
	var dictLen, start int64
	switch pre[6] {
	case 1:
		dictLen, start = int64(binary.LittleEndian.Uint16(pre[8:])), 10
	case 2, 3:
		if _, err := io.ReadFull(f, pre[10:12]); err != nil {
			return 0, 0, 0, fmt.Errorf("truncated .npy header: %w", err)
		}
		dictLen, start = int64(binary.LittleEndian.Uint32(pre[8:])), 12
	default:
		return 0, 0, 0, fmt.Errorf(".npy format version %d.%d is not supported", pre[6], pre[7])
	}
	if dictLen > 1<<16 {
		return 0, 0, 0, fmt.Errorf(".npy header of %d bytes is implausibly large", dictLen)
	}
	dict := make([]byte, dictLen)
	if _, err := io.ReadFull(f, dict); err != nil {
		return 0, 0, 0, fmt.Errorf("truncated .npy header: %w", err)
	}
	d, o, s := npyDescr.FindSubmatch(dict), npyOrder.FindSubmatch(dict), npyShape.FindSubmatch(dict)
	switch {
	case d == nil || o == nil || s == nil:
		return 0, 0, 0, fmt.Errorf(".npy header %q lacks descr, fortran_order or a 2-D shape", dict)
	case string(d[1]) != "<f4":
		return 0, 0, 0, fmt.Errorf(".npy dtype %s, want <f4 (little-endian float32)", d[1])
	case string(o[1]) != "False":
		return 0, 0, 0, errors.New(".npy array is in Fortran order, want C order")
	}
	rows, err1 := strconv.Atoi(string(s[1]))
	dim, err2 := strconv.Atoi(string(s[2]))
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, 0, fmt.Errorf(".npy shape: %w", err)
	}
	return start + dictLen, rows, dim, nil
}

// npyOutput writes rows to a .npy file and their inputs to its index.
type npyOutput struct {
	f, idx *os.File
	hdr    int64 // header size
	rows   int
	dim    int // 0 until the first row
	jsonl  jsonlOutput
}

// openNPY creates or continues a .npy output and its index; see OpenOutput.
func openNPY(path string) (Output, map[string]bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("output: %w", err)
	}
	idx, err := os.OpenFile(IndexPath(path), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("output: %w", err)
	}
	o := &npyOutput{f: f, idx: idx, hdr: npyHeaderLen}
	o.jsonl = jsonlOutput{w: idx}
	done, err := o.resume()
	if err != nil {
		f.Close()
		idx.Close()
		return nil, nil, fmt.Errorf("resume %s: %w", path, err)
	}
	keys := make(map[string]bool, len(done))
	for _, in := range done {
		keys[in.Key()] = true
	}
	return o, keys, nil
}

// resume keeps the rows that are complete in both files, cuts the rest, and
// returns their inputs. An empty file starts afresh.
func (o *npyOutput) resume() ([]Input, error) {
	st, err := o.f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() == 0 {
		if err := cutAt(o.idx, 0); err != nil { // an index without rows is stale
			return nil, err
		}
		if err := o.writeHeader(); err != nil {
			return nil, err
		}
		_, err := o.f.Seek(o.hdr, io.SeekStart)
		return nil, err
	}
	hdr, _, dim, err := parseNPYHeader(o.f)
	if err != nil {
		return nil, err
	}
	o.hdr, o.dim = hdr, dim
	rows := 0
	if dim > 0 {
		rows = int((st.Size() - hdr) / int64(4*dim))
	}
	done, end, err := readIndex(o.idx, rows)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", o.idx.Name(), err)
	}
	o.rows = len(done)
	if err := cutAt(o.idx, end); err != nil {
		return nil, err
	}
	if err := cutAt(o.f, hdr+int64(o.rows)*int64(4*dim)); err != nil {
		return nil, err
	}
	return done, o.writeHeader()
}

// writeHeader rewrites the header in place with the current shape.
func (o *npyOutput) writeHeader() error {
	h := npyHeader(o.rows, o.dim)
	if int64(len(h)) != o.hdr {
		return fmt.Errorf("%s has a %d-byte header, not gosig's %d: it was not written by gosig embed", o.f.Name(), o.hdr, len(h))
	}
	_, err := o.f.WriteAt(h, 0)
	return err
}

func (o *npyOutput) Write(inputs []Input, embs [][]float32) error {
	if len(embs) == 0 {
		return nil
	}
	if o.dim == 0 {
		o.dim = len(embs[0])
	}
	buf := make([]byte, 0, 4*o.dim*len(embs))
	for i, e := range embs {
		if len(e) != o.dim {
			return fmt.Errorf("%s: embedding of %d values, but the rows of %s have %d", inputs[i], len(e), o.f.Name(), o.dim)
		}
		for _, v := range e {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
	}
	// Rows, then their index lines, then the header: a kill between any two
	// leaves rows that resume recognises as complete or cuts off.
	if _, err := o.f.Write(buf); err != nil {
		return fmt.Errorf("write %s: %w", o.f.Name(), err)
	}
	if err := o.jsonl.Write(inputs, make([][]float32, len(inputs))); err != nil {
		return fmt.Errorf("write index %s: %w", o.idx.Name(), err)
	}
	o.rows += len(embs)
	return o.writeHeader()
}

func (o *npyOutput) Close() error {
	return errors.Join(o.writeHeader(), o.f.Close(), o.idx.Close())
}
