package tokenizer

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

var (
	fuzzOnce sync.Once
	fuzzToks []*Tokenizer
)

// fuzzTokenizers are the committed small tokenizers of every kind, plus the
// fetched 256k Gemma one when `make testdata` has run.
func fuzzTokenizers(t testing.TB) []*Tokenizer {
	fuzzOnce.Do(func() {
		for _, p := range []string{"small_bytefallback", "small_metaspace", "../models/siglip2_tiny_p16",
			"../models/siglip_tiny_fixres", "nfkc_unigram.model", "nfkc_bpe.model"} {
			tok, err := Load(filepath.Join(tdir, p))
			if err != nil {
				t.Fatalf("load %s: %v", p, err)
			}
			fuzzToks = append(fuzzToks, tok, tok.WithLowercase(true))
		}
		if _, err := os.Stat(filepath.Join(cacheDir, "siglip2", "tokenizer.json")); err == nil {
			fuzzToks = append(fuzzToks, fetched(t, "siglip2"))
		}
	})
	return fuzzToks
}

// FuzzEncode feeds arbitrary bytes, invalid UTF-8 included, to every kind of
// tokenizer: no panic, the same ids twice, ids inside the vocabulary, rows of
// the asked length, and Decode survives the ids.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", "a photo of a cat", "<eos><pad>", "\xff\xfe\xe2\x82", "ΑΣ İ ﬁ", "▁▁ \t\n", "e\u0301\u200d👩‍👩‍👧"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := string(data)
		for i, tok := range fuzzTokenizers(t) {
			a, b := tok.Encode(s), tok.Encode(s)
			if !equalIDs(a, b) {
				t.Fatalf("tokenizer %d: %q encodes to %v, then %v", i, s, a, b)
			}
			for _, id := range a {
				if id < 0 || id >= tok.VocabSize() {
					t.Fatalf("tokenizer %d: %q gives id %d outside [0, %d)", i, s, id, tok.VocabSize())
				}
			}
			pad := tok.PadID() >= 0
			rows, err := tok.EncodeBatch([]string{s}, PadOptions{MaxLength: 8, Pad: pad})
			if err != nil || len(rows[0]) > 8 || (pad && len(rows[0]) != 8) {
				t.Fatalf("tokenizer %d: EncodeBatch(%q) = %v, %v", i, s, rows, err)
			}
			_ = tok.Decode(a, false)
			_ = tok.Decode(append(a, -1, 1<<30), true)
		}
	})
}

// FuzzSentencePieceModel feeds arbitrary bytes to the protobuf reader and
// the model built from whatever it accepts.
func FuzzSentencePieceModel(f *testing.F) {
	for _, p := range []string{"../models/siglip2_odd_p14/tokenizer.model", "../models/siglip_tiny_fixres/spiece.model"} {
		b, err := os.ReadFile(filepath.Join(tdir, p))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte{0x0a, 0x05, 0x0a, 0x01, 'a', 0x18, 0x02})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parseSPMModel(data)
		if err != nil {
			return
		}
		m, err := newSPMModel(p)
		if err != nil {
			return
		}
		for _, s := range []string{"a photo of a cat", string(data[:min(len(data), 64)])} {
			ids := m.encode(nil, s)
			for _, id := range ids {
				if id < 0 || int(id) >= len(p.pieces) {
					t.Fatalf("id %d outside [0, %d)", id, len(p.pieces))
				}
			}
			_ = m.decode(ids)
		}
	})
}

// FuzzTokenizerJSON feeds arbitrary bytes to the tokenizer.json reader.
func FuzzTokenizerJSON(f *testing.F) {
	for _, p := range []string{"small_bytefallback/tokenizer.json", "small_metaspace/tokenizer.json"} {
		b, err := os.ReadFile(filepath.Join(tdir, p))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]},"added_tokens":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := newFromJSON(data, &configs{})
		if err != nil {
			return
		}
		for _, s := range []string{"ab ab", "\xff<s>"} {
			ids := tok.Encode(s)
			_ = tok.Decode(ids, false)
		}
	})
}
