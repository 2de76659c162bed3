package tokenizer

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/gosig/gosig/internal/cputime"
)

// reportStrings reports throughput per wall second and, where measured, per
// CPU second of the whole process (tools/tokref/tokref.mjs --bench reports
// the same two for transformers.js).
func reportStrings(b *testing.B, perOp int, cpu time.Duration) {
	n := float64(b.N * perOp)
	b.ReportMetric(n/b.Elapsed().Seconds(), "strings/s")
	if cpu > 0 {
		b.ReportMetric(n/cpu.Seconds(), "strings/cpu-s")
	}
}

// BenchmarkLoadGemma measures loading Gemma's 256k-token tokenizer.json (the
// SigLIP 2 variant from `make testdata`).
func BenchmarkLoadGemma(b *testing.B) {
	fetched(b, "siglip2") // skip or fail early when it is missing
	dir := filepath.Join(cacheDir, "siglip2")
	for b.Loop() {
		if _, err := Load(dir); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeCorpus encodes the whole test corpus (1,271 strings, many
// scripts, up to 1,000 characters) with the SigLIP 2 tokenizer.json and
// reports strings/s. "warm" keeps the BPE word cache between passes, as
// transformers.js does in tools/tokref/tokref.mjs --bench; "cold" empties it
// before every pass.
func BenchmarkEncodeCorpus(b *testing.B) {
	tok := fetched(b, "siglip2")
	corpus := readJSONL[string](b, "corpus.jsonl")
	for _, mode := range []string{"warm", "cold"} {
		b.Run(mode, func(b *testing.B) {
			for _, s := range corpus {
				tok.Encode(s)
			}
			cpu0 := cputime.Process()
			for b.Loop() {
				if mode == "cold" {
					tok.bpe.cacheMu.Lock()
					clear(tok.bpe.cache)
					tok.bpe.cacheMu.Unlock()
				}
				for _, s := range corpus {
					tok.Encode(s)
				}
			}
			reportStrings(b, len(corpus), cputime.Process()-cpu0)
		})
	}
}

// BenchmarkEncodeSentencePiece encodes the corpus with the fixtures'
// SentencePiece models (BPE for SigLIP 2, Unigram for SigLIP).
func BenchmarkEncodeSentencePiece(b *testing.B) {
	corpus := readJSONL[string](b, "corpus.jsonl")
	for _, name := range []string{"siglip2_tiny_p16", "siglip_tiny_fixres"} {
		b.Run(name, func(b *testing.B) {
			tok, err := Load(filepath.Join(modelsDir, name))
			if err != nil {
				b.Fatal(err)
			}
			cpu0 := cputime.Process()
			for b.Loop() {
				for _, s := range corpus {
					tok.Encode(s)
				}
			}
			reportStrings(b, len(corpus), cputime.Process()-cpu0)
		})
	}
}
