package tokenizer

import (
	"os"
	"path/filepath"
	"strings"
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

// tinySPM is a 13-piece SentencePiece BPE model with every piece type, byte
// fallback and a dummy prefix, written by sentencepiece_model_pb2.
const tinySPM = "\x0a\x0e\x0a\x05<pad>\x15\x00\x00\x00\x00\x18\x03\x0a\x0e\x0a\x05<eos>\x15\x00\x00\x00\x00\x18\x03\x0a\x0e\x0a\x05<bos>\x15\x00\x00\x00\x00\x18\x03\x0a\x0e\x0a\x05<unk>\x15\x00\x00\x00\x00\x18\x02" +
	"\x0a\x0f\x0a\x06<0x41>\x15\x00\x00\x00\x00\x18\x06\x0a\x0f\x0a\x06<0xE2>\x15\x00\x00\x00\x00\x18\x06\x0a\x0c\x0a\x03\xe2\x96\x81\x15\x00\x00\x80\xbf\x18\x01" +
	"\x0a\x0a\x0a\x01a\x15\x00\x00\x00\xc0\x18\x01\x0a\x0a\x0a\x01b\x15\x00\x00\x40\xc0\x18\x01\x0a\x0b\x0a\x02ab\x15\x00\x00\xc0\xbf\x18\x01" +
	"\x0a\x0d\x0a\x04\xe2\x96\x81a\x15\x9a\x99\x99\xbf\x18\x01\x0a\x0d\x0a\x04<ud>\x15\x00\x00\x00\x00\x18\x04\x0a\x0c\x0a\x03xyz\x15\x00\x00\x00\x00\x18\x05" +
	"\x12\x11\x18\x02\x98\x02\x01\xc0\x02\x03\xc8\x02\x02\xd0\x02\x01\xd8\x02\x00\x1a\x0c\x0a\x08identity\x18\x01"

// FuzzSentencePieceModel feeds arbitrary bytes to the protobuf reader and
// the model built from whatever it accepts.
func FuzzSentencePieceModel(f *testing.F) {
	for _, p := range []string{"../models/siglip2_odd_p14/tokenizer.model", "../models/siglip_tiny_fixres/spiece.model"} {
		b, err := os.ReadFile(filepath.Join(tdir, p))
		if err != nil {
			f.Fatal(err)
		}
		// Whole models (9-16 KB) slow Go's fuzzing engine to a crawl; their
		// first pieces and specs are seeds enough.
		f.Add(b[:600])
	}
	f.Add([]byte(tinySPM))
	f.Add([]byte(strings.Replace(tinySPM, "\x12\x11\x18\x02", "\x12\x11\x18\x01", 1))) // Unigram
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
// The seeds are tiny files using every supported component: whole 15 KB
// files would slow Go's fuzzing engine to a crawl.
func FuzzTokenizerJSON(f *testing.F) {
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]},"added_tokens":[]}`))
	f.Add([]byte(`{"added_tokens":[{"id":0,"content":"<unk>","special":true},{"id":5,"content":"<m>","lstrip":true,"rstrip":true}],
"normalizer":{"type":"Sequence","normalizers":[{"type":"NFKC"},{"type":"Lowercase"},{"type":"Prepend","prepend":"▁"},
{"type":"Replace","pattern":{"String":" "},"content":"▁"},{"type":"Strip","strip_left":true,"strip_right":false}]},
"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"[0-9]"},"behavior":"MergedWithNext"},
{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":true}]},
"post_processor":{"type":"TemplateProcessing","single":[{"Sequence":{"id":"A"}},{"SpecialToken":{"id":"<unk>"}}]},
"decoder":{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},{"type":"ByteFallback"},
{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]},
"model":{"type":"BPE","unk_token":"<unk>","byte_fallback":true,"fuse_unk":true,
"vocab":{"<unk>":0,"▁":1,"a":2,"b":3,"▁a":4,"<m>":5,"<0x41>":6,"1":7},"merges":[["▁","a"],["a","b"]]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := newFromJSON(data, &configs{})
		if err != nil {
			return
		}
		for _, s := range []string{"ab ab", "\xff<m> A1b"} {
			ids := tok.Encode(s)
			_ = tok.Decode(ids, false)
		}
	})
}
