package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosig/gosig/siglip2"
)

// tolEmbed: the command and the library embed the same inputs on the same
// executor (the command's batches may group them differently); the CPU
// executor computes each row on its own, so they agree to float32
// rounding.
const tolEmbed = 1e-6

// embedRecord is one JSONL line as a reader of gosig's output would parse
// it.
type embedRecord struct {
	Input     json.RawMessage `json:"input"`
	Kind      string          `json:"kind"`
	Embedding []float32       `json:"embedding"`
}

func (r embedRecord) key() string { return r.Kind + " " + string(r.Input) }

func parseEmbedJSONL(t *testing.T, data string) []embedRecord {
	t.Helper()
	var out []embedRecord
	sc := bufio.NewScanner(strings.NewReader(data))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var r embedRecord
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), "line %q", sc.Text())
		out = append(out, r)
	}
	return out
}

func quoted(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

func assertEmbedding(t *testing.T, want, got []float32, what string) {
	t.Helper()
	require.Len(t, got, len(want), what)
	for i := range want {
		if math.Abs(float64(want[i]-got[i])) > tolEmbed {
			assert.InDelta(t, want[i], got[i], tolEmbed, "%s [%d]", what, i)
			return
		}
	}
}

// TestEmbedMatchesLibrary: gosig embed writes, for images, texts and token
// ids, the embeddings EmbedImages and EmbedTexts give, in the documented
// order (images, texts, ids).
func TestEmbedMatchesLibrary(t *testing.T) {
	samples := filepath.Join(shapesModel, "samples")
	paths := sampleImages(t, samples, "red_circle.png", "orange_cross.jpg", "blue_square.png")
	texts := []string{"a red circle", "this is a photo of a blue square."}
	m, err := siglip2.Load(shapesModel, siglip2.Options{Device: "cpu"})
	require.NoError(t, err)
	defer m.Close()
	ctx := context.Background()
	wantImg, err := m.EmbedImages(ctx, loadImages(t, m, paths))
	require.NoError(t, err)
	wantTxt, err := m.EmbedTexts(ctx, texts)
	require.NoError(t, err)
	ids, err := m.Tokenize(texts[:1])
	require.NoError(t, err)
	idArg := strings.Trim(strings.Join(strings.Fields(fmt.Sprint(ids[0])), ","), "[]")

	stdout, stderr, code := gosig(t, "embed", "--model", shapesModel, "--device", "cpu", "--quiet", "--batch", "2",
		"--image", paths[0], "--text", texts[0], "--text", texts[1], "--input-ids", idArg, paths[1], paths[2])
	require.Equal(t, exitOK, code, stderr)
	assert.Empty(t, stderr, "--quiet")
	recs := parseEmbedJSONL(t, stdout)
	require.Len(t, recs, 6)
	for i, p := range paths {
		assert.Equal(t, "image", recs[i].Kind)
		assert.JSONEq(t, string(quoted(p)), string(recs[i].Input))
		assertEmbedding(t, wantImg[i], recs[i].Embedding, p)
	}
	for i, text := range texts {
		r := recs[3+i]
		assert.Equal(t, "text", r.Kind)
		assert.JSONEq(t, string(quoted(text)), string(r.Input))
		assertEmbedding(t, wantTxt[i], r.Embedding, text)
	}
	// The ids of texts[0], given as they are, embed as texts[0] does.
	assert.Equal(t, "text", recs[5].Kind)
	assert.JSONEq(t, "["+idArg+"]", string(recs[5].Input))
	assertEmbedding(t, wantTxt[0], recs[5].Embedding, "ids")
}

// readNPYFile parses a .npy as NumPy's format 1.0 defines it: magic,
// version, a little-endian header length, a Python dict literal padded to a
// 64-byte boundary, then the data.
func readNPYFile(t *testing.T, path string) (rows, dim int, data []float32) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(b), "\x93NUMPY\x01\x00"), "magic")
	n := int(binary.LittleEndian.Uint16(b[8:10]))
	require.Zero(t, (10+n)%64)
	hdr := string(b[10 : 10+n])
	m := regexp.MustCompile(`^\{'descr': '<f4', 'fortran_order': False, 'shape': \((\d+), (\d+)\), \} *\n$`).FindStringSubmatch(hdr)
	require.NotNil(t, m, "header %q", hdr)
	rows, _ = strconv.Atoi(m[1])
	dim, _ = strconv.Atoi(m[2])
	body := b[10+n:]
	require.Len(t, body, 4*rows*dim)
	for i := 0; i < len(body); i += 4 {
		data = append(data, math.Float32frombits(binary.LittleEndian.Uint32(body[i:])))
	}
	return rows, dim, data
}

// TestEmbedNPY: --out x.npy writes a float32 [N, D] array whose rows are the
// JSONL run's embeddings, and an index naming each row's input.
func TestEmbedNPY(t *testing.T) {
	dir := t.TempDir()
	samples := filepath.Join(shapesModel, "samples")
	args := []string{"embed", "--model", shapesModel, "--device", "cpu", "--quiet", "--text", "a red circle",
		filepath.Join(samples, "red_*"), filepath.Join(samples, "*.jpg")}
	stdout, stderr, code := gosig(t, args...)
	require.Equal(t, exitOK, code, stderr)
	want := parseEmbedJSONL(t, stdout)
	require.Len(t, want, 5, "4 samples and a text")

	out := filepath.Join(dir, "emb.npy")
	_, stderr, code = gosig(t, append(args, "--out", out)...)
	require.Equal(t, exitOK, code, stderr)
	rows, dim, data := readNPYFile(t, out)
	require.Equal(t, [2]int{5, 128}, [2]int{rows, dim})
	idx, err := os.ReadFile(filepath.Join(dir, "emb.index.jsonl"))
	require.NoError(t, err)
	index := parseEmbedJSONL(t, string(idx))
	require.Len(t, index, rows)
	for i, r := range want {
		assert.Equal(t, r.key(), index[i].key())
		assert.Nil(t, index[i].Embedding)
		assert.Equal(t, r.Embedding, data[i*dim:(i+1)*dim], "row %d is %s", i, r.Input)
	}

	// Running again over the same output without --resume is refused.
	_, stderr, code = gosig(t, append(args, "--out", out)...)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "pass --resume")
	// With --resume, nothing is left to do and the file is unchanged.
	_, stderr, code = gosig(t, append(args, "--out", out, "--resume")...)
	require.Equal(t, exitOK, code, stderr)
	rows2, _, data2 := readNPYFile(t, out)
	assert.Equal(t, rows, rows2)
	assert.Equal(t, data, data2)
}

// writePNG writes a w×h image of one colour with a square of another.
func writePNG(t *testing.T, path string, w, h int, bg, fg color.NRGBA) {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := bg
			if x > w/4 && x < 3*w/4 && y > h/4 && y < 3*h/4 {
				c = fg
			}
			img.SetNRGBA(x, y, c)
		}
	}
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, png.Encode(f, img))
	require.NoError(t, f.Close())
}

// TestEmbedPartial: an unreadable image among good ones is reported (one
// line naming it), the others are written, the summary counts them and
// the exit status is 3.
func TestEmbedPartial(t *testing.T) {
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "a.png"), 64, 48, color.NRGBA{200, 30, 30, 255}, color.NRGBA{0, 0, 200, 255})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.jpg"), []byte("\xff\xd8\xff\xe0 truncated jpeg"), 0o644))
	writePNG(t, filepath.Join(dir, "c.png"), 40, 90, color.NRGBA{250, 250, 0, 255}, color.NRGBA{0, 0, 0, 255})
	out := filepath.Join(dir, "out.jsonl")
	_, stderr, code := gosig(t, "embed", "--model", shapesModel, "--device", "cpu", "--out", out, dir, filepath.Join(dir, "*.webp"))
	assert.Equal(t, exitPartial, code, stderr)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	recs := parseEmbedJSONL(t, string(data))
	require.Len(t, recs, 2)
	assert.JSONEq(t, string(quoted(filepath.Join(dir, "a.png"))), string(recs[0].Input))
	assert.JSONEq(t, string(quoted(filepath.Join(dir, "c.png"))), string(recs[1].Input))
	assert.Contains(t, stderr, "gosig: skip "+filepath.Join(dir, "b.jpg")+": ")
	assert.Contains(t, stderr, "*.webp: no file matches")
	assert.Contains(t, stderr, "2 done (2 images, 0 texts), 1 failed")
	assert.Contains(t, stderr, "gpu busy")
}

// TestEmbedUsage: mistakes in how embed is called exit with status 2 and
// say what to do; a model without the tower an input needs fails before
// any work.
func TestEmbedUsage(t *testing.T) {
	img := filepath.Join(shapesModel, "samples", "red_circle.png")
	runCases(t, []cliCase{
		{"nothing", []string{"embed", "--model", shapesModel}, exitUsage, "nothing to embed"},
		{"resume to stdout", []string{"embed", "--model", shapesModel, "--resume", img}, exitUsage, "--resume needs --out"},
		{"bad ids", []string{"embed", "--model", shapesModel, "--input-ids", "1,x"}, exitUsage, "comma-separated token ids"},
		{"bad batch", []string{"embed", "--model", shapesModel, "--batch", "0", img}, exitUsage, "--batch must be positive"},
		{"missing texts file", []string{"embed", "--model", shapesModel, "--texts-file", "/no/such/file.txt"}, exitUsage, "/no/such/file.txt"},
		{"texts without a text tower", []string{"embed", "--model", clsModel, "--device", "cpu", "--text", "a cat"}, exitFailure, `text "a cat": this model takes no texts`},
	})
}

// TestHelpHasExamples: every command this file set adds explains itself
// with an example.
func TestHelpHasExamples(t *testing.T) {
	for _, args := range [][]string{{"classify"}, {"embed"}, {"bench", "vision"}} {
		stdout, stderr, code := gosig(t, append(args, "--help")...)
		require.Equal(t, exitOK, code, stderr)
		assert.Contains(t, stdout, "Examples:", args)
		assert.Contains(t, stdout, "gosig "+strings.Join(args, " "), args)
	}
}
