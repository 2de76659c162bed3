package tokenizer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosig/gosig/safetensors"
)

// The Gemma tokenizer.json (256k vocabulary) is fetched by `make testdata`
// into this git-ignored folder, with its SigLIP 2 variant beside it.
const cacheDir = "../testdata/cache/tokenizer"

var (
	fetchedOnce sync.Map // dir -> *Tokenizer
)

// fetched loads a tokenizer from the testdata cache. Without the cache the
// test fails when GOSIG_REQUIRE_TESTDATA=1 (make test, CI) and skips
// otherwise.
func fetched(t testing.TB, name string) *Tokenizer {
	t.Helper()
	dir := filepath.Join(cacheDir, name)
	if _, err := os.Stat(filepath.Join(dir, "tokenizer.json")); err != nil {
		if os.Getenv("GOSIG_REQUIRE_TESTDATA") == "1" {
			t.Fatalf("%s/tokenizer.json is missing (GOSIG_REQUIRE_TESTDATA=1): run `make testdata`", dir)
		}
		t.Skipf("%s/tokenizer.json is missing: run `make testdata` to fetch the Gemma tokenizer", dir)
	}
	if tok, ok := fetchedOnce.Load(dir); ok {
		return tok.(*Tokenizer)
	}
	tok, err := Load(dir)
	require.NoError(t, err)
	fetchedOnce.Store(dir, tok)
	return tok
}

// TestTransformersJS compares every id of every corpus string with
// transformers.js 3.7.2 (@lenml/tokenizers, tools/tokref/tokref.mjs): Gemma's
// tokenizer.json as shipped (BOS first), its SigLIP 2 variant (EOS last), and
// the SigLIP 2 variant on text lowercased by JavaScript's toLowerCase.
func TestTransformersJS(t *testing.T) {
	corpus := readJSONL[string](t, "corpus.jsonl")
	require.GreaterOrEqual(t, len(corpus), 1000)
	cases := []struct {
		dir, expected string
		lower         bool
	}{
		{"gemma", "gemma.expected.jsonl", false},
		{"siglip2", "siglip2.expected.jsonl", false},
		{"siglip2", "siglip2_lower.expected.jsonl", true},
	}
	for _, c := range cases {
		t.Run(c.expected, func(t *testing.T) {
			tok := fetched(t, c.dir).WithLowercase(c.lower)
			want := readJSONL[[]int](t, c.expected)
			require.Len(t, want, len(corpus))
			bad := 0
			for i, s := range corpus {
				got := tok.Encode(s)
				if !equalIDs(got, want[i]) {
					bad++
					if bad <= 5 {
						t.Errorf("corpus line %d %q:\n got %v\nwant %v", i+1, s, got, want[i])
					}
				}
			}
			require.Zero(t, bad, "%d of %d strings differ from transformers.js", bad, len(corpus))
		})
	}
}

// modelsDir holds the Hugging Face fixtures and the shapes checkpoint
// (testdata/README.md, models/).
const modelsDir = "../testdata/models"

// TestFixtures checks the padded ids transformers' GemmaTokenizer (SigLIP 2
// fixtures, SentencePiece BPE) and SiglipTokenizer (SigLIP fixture,
// SentencePiece Unigram) produced for each manifest's text_inputs: the
// inputs.input_ids of the fixture's expected.safetensors, every id.
func TestFixtures(t *testing.T) {
	for _, name := range []string{"siglip2_tiny_p16", "siglip2_odd_p14", "siglip_tiny_fixres"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(modelsDir, name)
			var manifest struct {
				TextInputs []string `json:"text_inputs"`
				TextLen    int      `json:"text_len"`
			}
			b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(b, &manifest))
			st, err := safetensors.Open(filepath.Join(dir, "expected.safetensors"))
			require.NoError(t, err)
			defer st.Close()
			flat, shape, err := st.Int64("inputs.input_ids")
			require.NoError(t, err)
			require.Equal(t, []int{len(manifest.TextInputs), manifest.TextLen}, shape)

			tok, err := Load(dir)
			require.NoError(t, err)
			got, err := tok.EncodeBatch(manifest.TextInputs, PadOptions{MaxLength: manifest.TextLen, Pad: true})
			require.NoError(t, err)
			for i, row := range got {
				want := flat[i*manifest.TextLen : (i+1)*manifest.TextLen]
				assert.True(t, equalIDs64(row, want), "text %d %q:\n got %v\nwant %v", i, manifest.TextInputs[i], row, want)
			}
		})
	}
}

func equalIDs64(a []int, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if int64(a[i]) != b[i] {
			return false
		}
	}
	return true
}

// TestShapesCheckpoint checks the example of the shapes checkpoint's model
// card: `this is a photo of a red circle.` padded to 64.
func TestShapesCheckpoint(t *testing.T) {
	tok, err := Load(filepath.Join(modelsDir, "shapes-siglip2"))
	require.NoError(t, err)
	want := []int{276, 275, 260, 272, 264, 260, 322, 297, 503, 1}
	for len(want) < 64 {
		want = append(want, 0)
	}
	got, err := tok.EncodeBatch([]string{"this is a photo of a red circle."}, PadOptions{MaxLength: 64, Pad: true})
	require.NoError(t, err)
	assert.Equal(t, [][]int{want}, got)
	assert.Equal(t, 0, tok.PadID())
	assert.Equal(t, 1, tok.EOSID())
	assert.Equal(t, 512, tok.VocabSize())
	assert.Equal(t, 64, tok.MaxLength())
}

// TestSiglip2Conventions pins SigLIP 2's conventions on the fetched
// tokenizer.json: no BOS, EOS last, pad id 0, right padding, truncation that
// keeps EOS.
func TestSiglip2Conventions(t *testing.T) {
	tok := fetched(t, "siglip2")
	assert.Equal(t, 0, tok.PadID())
	assert.Equal(t, 1, tok.EOSID())
	assert.Equal(t, 256000, tok.VocabSize())
	assert.Equal(t, 64, tok.MaxLength())
	assert.Equal(t, []int{1}, tok.Encode(""))

	long := strings.Repeat("a photo of a cat ", 40)
	ids := tok.Encode(long)
	require.Greater(t, len(ids), 64)
	rows, err := tok.EncodeBatch([]string{long, "a photo of a cat", ""}, PadOptions{MaxLength: 64, Pad: true})
	require.NoError(t, err)
	assert.Equal(t, append(append([]int{}, ids[:63]...), 1), rows[0], "truncation keeps EOS last")
	short := tok.Encode("a photo of a cat")
	assert.Equal(t, short, rows[1][:len(short)])
	for _, id := range rows[1][len(short):] {
		assert.Equal(t, 0, id)
	}
	assert.Equal(t, 1, rows[2][0])
	for _, r := range rows {
		assert.Len(t, r, 64)
	}

	_, err = tok.EncodeBatch([]string{"x"}, PadOptions{Pad: true})
	assert.Error(t, err, "padding without a length")
	_, err = tok.EncodeBatch([]string{"x"}, PadOptions{MaxLength: -1})
	assert.Error(t, err)
	unpadded, err := tok.EncodeBatch([]string{"a photo of a cat"}, PadOptions{MaxLength: 64})
	require.NoError(t, err)
	assert.Equal(t, [][]int{short}, unpadded)
}

// TestDecodeRoundTrip decodes the ids of every corpus string back to the
// string (without the EOS the post-processor appends; special-token
// look-alikes in the text come back as written). Strings with a literal
// U+2581 are left out: SentencePiece-style tokenizers decode it as a space.
func TestDecodeRoundTrip(t *testing.T) {
	corpus := readJSONL[string](t, "corpus.jsonl")
	check := func(t *testing.T, tok *Tokenizer) {
		n := 0
		for i, s := range corpus {
			if strings.Contains(s, spaceSymbol) {
				continue
			}
			ids := tok.Encode(s)
			require.Equal(t, tok.EOSID(), ids[len(ids)-1])
			require.Equal(t, s, tok.Decode(ids[:len(ids)-1], false), "corpus line %d", i+1)
			require.Equal(t, s+"<eos>", tok.Decode(ids, false), "corpus line %d", i+1)
			n++
		}
		require.Greater(t, n, 1000)
	}
	t.Run("gemma-json", func(t *testing.T) { check(t, fetched(t, "siglip2")) })
	t.Run("gemma-spm", func(t *testing.T) {
		tok, err := Load(filepath.Join(modelsDir, "siglip2_tiny_p16"))
		require.NoError(t, err)
		require.True(t, tok.Lowercase(), "on by default for a siglip2 checkpoint")
		check(t, tok.WithLowercase(false))
	})
	t.Run("siglip", func(t *testing.T) {
		tok, err := Load(filepath.Join(modelsDir, "siglip_tiny_fixres"))
		require.NoError(t, err)
		for _, s := range []string{"a photo of a cat", "two dogs playing in the snow 2024", "the quick brown fox"} {
			assert.Equal(t, s, tok.Decode(tok.Encode(s), true))
		}
		assert.Equal(t, "a red circle on a blue background", tok.Decode(tok.Encode("A Red Circle on a BLUE background."), true))
		// As SiglipTokenizer.convert_tokens_to_string: " " + text + "</s>", stripped.
		assert.Equal(t, "a photo of a cat</s>", tok.Decode(tok.Encode("a photo of a cat"), false))
	})
}

// TestTransformersJSSmall runs without fetched files: two small BPE
// tokenizer.json files (tools/tokref/make_small.mjs) that use what Gemma's
// does not (Prepend, NFKC, Lowercase and Strip normalizers, Split and
// Metaspace pre-tokenizers, ["a","b"] merges, <unk> fusion without byte
// fallback, lstrip/rstrip added tokens, Strip and Metaspace decoders) are
// compared with transformers.js on every corpus string: ids, and the decoded
// text with and without skip_special_tokens.
func TestTransformersJSSmall(t *testing.T) {
	corpus := readJSONL[string](t, "corpus.jsonl")
	type expected struct {
		IDs  []int  `json:"ids"`
		Text string `json:"text"`
		Skip string `json:"skip"`
	}
	for _, name := range []string{"small_bytefallback", "small_metaspace"} {
		t.Run(name, func(t *testing.T) {
			tok, err := Load(filepath.Join(tdir, name))
			require.NoError(t, err)
			want := readJSONL[expected](t, name+".expected.jsonl")
			require.Len(t, want, len(corpus))
			bad := 0
			for i, s := range corpus {
				w := want[i]
				got := tok.Encode(s)
				text, skip := tok.Decode(w.IDs, false), tok.Decode(w.IDs, true)
				// transformers.js's TextDecoder drops a byte-order mark that
				// starts a run of byte tokens; gosig keeps it (as Hugging
				// Face does), so U+FEFF is left out of the comparison.
				noBOM := func(s string) string { return strings.ReplaceAll(s, "\ufeff", "") }
				if !equalIDs(got, w.IDs) || noBOM(text) != noBOM(w.Text) || noBOM(skip) != noBOM(w.Skip) {
					bad++
					if bad <= 5 {
						t.Errorf("corpus line %d %q:\n got %v %q %q\nwant %v %q %q", i+1, s, got, text, skip, w.IDs, w.Text, w.Skip)
					}
				}
			}
			require.Zero(t, bad, "%d of %d strings differ from transformers.js", bad, len(corpus))
		})
	}
}

func TestLoad(t *testing.T) {
	copyFiles := func(t *testing.T, from string, names ...string) string {
		dir := t.TempDir()
		for _, n := range names {
			b, err := os.ReadFile(filepath.Join(from, n))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, n), b, 0o644))
		}
		return dir
	}
	fixres := filepath.Join(modelsDir, "siglip_tiny_fixres")

	// A SiglipTokenizer folder uses spiece.model even beside a tokenizer.json.
	dir := copyFiles(t, fixres, "spiece.model", "tokenizer_config.json", "special_tokens_map.json")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte("{not json"), 0o644))
	tok, err := Load(dir)
	require.NoError(t, err)
	assert.Equal(t, []int{533, 555, 22, 533, 247, 1}, tok.Encode("A photo of a cat!"))
	assert.Equal(t, 1, tok.PadID(), "SiglipTokenizer pads with </s>")
	assert.True(t, tok.Lowercase())

	// A bare .model: roles from trainer_spec, no config needed.
	tok, err = Load(filepath.Join(tdir, "nfkc_bpe.model"))
	require.NoError(t, err)
	assert.Equal(t, 1, tok.BOSID())
	assert.Equal(t, 2, tok.EOSID())
	assert.Equal(t, -1, tok.PadID())
	ids := tok.Encode("a photo")
	assert.Equal(t, 1, ids[0], "GemmaTokenizer conventions add BOS by default")
	_, err = tok.EncodeBatch([]string{"x"}, PadOptions{MaxLength: 4, Pad: true})
	assert.ErrorContains(t, err, "no pad token")

	// Errors name what is wrong.
	_, err = Load(t.TempDir())
	assert.ErrorContains(t, err, "no tokenizer.json, tokenizer.model or spiece.model")
	_, err = Load(filepath.Join(t.TempDir(), "missing.json"))
	assert.Error(t, err)
	bad := filepath.Join(t.TempDir(), "tokenizer.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"model":{"type":"WordPiece","vocab":{}}}`), 0o644))
	_, err = Load(bad)
	assert.ErrorContains(t, err, "WordPiece")
	assert.ErrorContains(t, err, bad)
	cfgDir := copyFiles(t, fixres, "spiece.model")
	require.NoError(t, os.WriteFile(filepath.Join(cfgDir, "tokenizer_config.json"), []byte(`{"add_eos_token":"yes"}`), 0o644))
	_, err = Load(cfgDir)
	assert.ErrorContains(t, err, "add_eos_token")
	truncated := filepath.Join(t.TempDir(), "tokenizer.model")
	b, err := os.ReadFile(filepath.Join(fixres, "spiece.model"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(truncated, b[:len(b)/3], 0o644))
	_, err = Load(truncated)
	assert.Error(t, err)
}

// TestConcurrentEncode encodes the corpus from several goroutines at once
// (run it with -race): the ids must not depend on who filled the caches.
func TestConcurrentEncode(t *testing.T) {
	corpus := readJSONL[string](t, "corpus.jsonl")[:300]
	tok, err := Load(filepath.Join(tdir, "small_bytefallback"))
	require.NoError(t, err)
	want := readJSONL[struct {
		IDs []int `json:"ids"`
	}](t, "small_bytefallback.expected.jsonl")
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range corpus {
				k := (i + g*97) % len(corpus)
				if got := tok.Encode(corpus[k]); !equalIDs(got, want[k].IDs) {
					errs <- fmt.Sprintf("line %d: got %v want %v", k+1, got, want[k].IDs)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
