package tokenizer

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const tdir = "../testdata/tokenizer"

// readJSONL decodes one JSON value per line of a testdata file.
func readJSONL[T any](t testing.TB, name string) []T {
	t.Helper()
	f, err := os.Open(filepath.Join(tdir, name))
	require.NoError(t, err)
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var v T
		require.NoError(t, json.Unmarshal(sc.Bytes(), &v), "%s line %d", name, len(out)+1)
		out = append(out, v)
	}
	require.NoError(t, sc.Err())
	return out
}

func loadSPMForTest(t testing.TB, rel string, noDummy bool) *spmModel {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(tdir, rel))
	require.NoError(t, err)
	p, err := parseSPMModel(b)
	require.NoError(t, err)
	if noDummy {
		p.dummyPrefix = false
	}
	m, err := newSPMModel(p)
	require.NoError(t, err)
	return m
}

// TestSentencePieceCore compares the SentencePiece encoder with Google's
// sentencepiece 0.1.97 (tools/tokref/spm_ref.py) on every corpus string, id
// for id: BPE with byte fallback, Unigram with and without the dummy prefix,
// and models whose normalizer is a precompiled nmt_nfkc / nmt_nfkc_cf charsmap.
func TestSentencePieceCore(t *testing.T) {
	corpus := readJSONL[string](t, "corpus.jsonl")
	cases := []struct {
		model, expected string
		noDummy         bool
	}{
		{"../models/siglip2_tiny_p16/tokenizer.model", "siglip2_tiny_p16.spm.jsonl", false},
		{"../models/siglip2_odd_p14/tokenizer.model", "siglip2_odd_p14.spm.jsonl", false},
		{"../models/shapes-siglip2/tokenizer.model", "shapes_siglip2.spm.jsonl", false},
		{"../models/siglip_tiny_fixres/spiece.model", "siglip_tiny_fixres.spm.jsonl", false},
		{"../models/siglip_tiny_fixres/spiece.model", "siglip_tiny_fixres.nodummy.spm.jsonl", true},
		{"nfkc_unigram.model", "nfkc_unigram.spm.jsonl", false},
		{"nfkc_unigram.model", "nfkc_unigram.nodummy.spm.jsonl", true},
		{"nfkc_bpe.model", "nfkc_bpe.spm.jsonl", false},
	}
	for _, c := range cases {
		t.Run(c.expected, func(t *testing.T) {
			m := loadSPMForTest(t, c.model, c.noDummy)
			want := readJSONL[[]int32](t, c.expected)
			require.Len(t, want, len(corpus))
			bad := 0
			for i, s := range corpus {
				got := m.encode(nil, s)
				if len(want[i]) == 0 {
					want[i] = nil
				}
				if !equalIDs(got, want[i]) {
					bad++
					if bad <= 5 {
						t.Errorf("corpus line %d %q:\n got %v\nwant %v", i+1, s, got, want[i])
					}
				}
			}
			require.Zero(t, bad, "%d of %d strings differ", bad, len(corpus))
		})
	}
}

func equalIDs[A, B ~int32 | ~int](a []A, b []B) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if int(a[i]) != int(b[i]) {
			return false
		}
	}
	return true
}

// TestTinySentencePiece pins the hand-checkable behaviour of a 13-piece
// model: merges by score, user-defined symbols kept whole, UNUSED pieces
// never emitted, byte fallback for characters without a piece, and errors
// (not panics) for truncated files.
func TestTinySentencePiece(t *testing.T) {
	p, err := parseSPMModel([]byte(tinySPM))
	require.NoError(t, err)
	require.Len(t, p.pieces, 13)
	assert.Equal(t, spmBPE, p.modelType)
	assert.Equal(t, []int{3, 2, 1, 0}, []int{p.unkID, p.bosID, p.eosID, p.padID})
	m, err := newSPMModel(p)
	require.NoError(t, err)
	// "▁ab": "▁a" (-1.2) outscores "ab" (-1.5), so ▁a b. "<ud>" stays
	// whole; "A" has no piece but has the byte piece <0x41>; "é" (C3 A9)
	// has neither, so each of its bytes becomes <unk> (not fused: byte
	// fallback is on).
	assert.Equal(t, []int32{10, 8}, m.encode(nil, "ab"))
	assert.Equal(t, []int32{10, 8, 6, 11, 6, 4}, m.encode(nil, "ab <ud> A"))
	assert.Equal(t, []int32{10, 8, 6, 3, 3}, m.encode(nil, "ab é"))
	assert.Equal(t, "ab <ud> A", m.decode(m.encode(nil, "ab <ud> A")))

	for n := 1; n < len(tinySPM); n += 7 {
		if p, err := parseSPMModel([]byte(tinySPM[:n])); err == nil {
			_, _ = newSPMModel(p) // may fail; must not panic
		}
	}
	_, err = parseSPMModel([]byte(tinySPM[:20]))
	assert.Error(t, err, "cut inside a piece")
}
