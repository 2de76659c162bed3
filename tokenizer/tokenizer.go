package tokenizer

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"
)

// flavor says which reference a Tokenizer reproduces.
type flavor int

const (
	// flavorJSON: a Hugging Face tokenizer.json, as transformers.js
	// (and GemmaTokenizerFast) encode it.
	flavorJSON flavor = iota
	// flavorSPM: a SentencePiece model under transformers' slow
	// GemmaTokenizer conventions: added tokens split off, the rest
	// through SentencePiece, BOS/EOS as add_bos_token/add_eos_token say.
	flavorSPM
	// flavorSiglip: a SentencePiece model under transformers'
	// SiglipTokenizer conventions (SigLIP v1): lowercase, ASCII
	// punctuation removed, whitespace collapsed, "</s>" appended.
	flavorSiglip
)

// Tokenizer turns text into token ids and back. It is safe for concurrent
// use. Build one with Load.
type Tokenizer struct {
	flavor flavor
	source string // the file the vocabulary came from, for messages

	// tokenizer.json pipeline.
	normalizer  normalizer
	pre         preTokenizer
	bpe         *bpeModel
	decoder     decoder
	normAdded   *addedMatcher // added tokens with normalized=true
	cleanSpaces bool          // clean_up_tokenization_spaces on decode

	// SentencePiece pipeline.
	spm      *spmModel
	unkLen   int   // SiglipTokenizer: how many ids "<unk>" encodes to
	spaceID  int32 // SiglipTokenizer: id of the "▁" piece, or -1
	eosIfNot bool  // SiglipTokenizer: append EOS only if not already last

	added   *addedMatcher
	prefix  []int32 // special ids before a single sequence
	suffix  []int32 // and after it
	vocab   []string
	special map[int32]bool // ids Decode drops when asked to skip special tokens

	bosID, eosID, padID, unkID int
	maxLength                  int
	lower                      bool
}

// Encode returns the ids of text with the checkpoint's special tokens added
// (for SigLIP 2, the text's ids followed by EOS), without truncation or
// padding. Invalid UTF-8 is read as U+FFFD, one per bad byte.
func (t *Tokenizer) Encode(text string) []int {
	return t.encode(text, -1)
}

// PadOptions says how EncodeBatch shapes each row.
type PadOptions struct {
	// MaxLength truncates each row to at most this many ids, keeping the
	// special tokens the post-processor adds (SigLIP's EOS stays last), as
	// Hugging Face's truncation=True does. 0 means no limit.
	MaxLength int
	// Pad right-pads every row to MaxLength with PadID (what SigLIP's text
	// tower expects: padding="max_length"). It needs MaxLength > 0.
	Pad bool
}

// EncodeBatch encodes each text as Encode does, then truncates and pads as
// opts say. It fails only on options that cannot be honoured.
func (t *Tokenizer) EncodeBatch(texts []string, opts PadOptions) ([][]int, error) {
	if opts.MaxLength < 0 {
		return nil, fmt.Errorf("max length %d is negative", opts.MaxLength)
	}
	if opts.Pad && opts.MaxLength == 0 {
		return nil, errors.New("padding needs a max length > 0")
	}
	if n := len(t.prefix) + len(t.suffix); opts.MaxLength > 0 && opts.MaxLength < n {
		return nil, fmt.Errorf("max length %d cannot hold the %d special tokens every sequence gets", opts.MaxLength, n)
	}
	if opts.Pad && t.padID < 0 {
		return nil, fmt.Errorf("%s defines no pad token, so it cannot pad", t.source)
	}
	out := make([][]int, len(texts))
	for i, s := range texts {
		limit := -1
		if opts.MaxLength > 0 {
			limit = opts.MaxLength - len(t.prefix) - len(t.suffix)
		}
		ids := t.encode(s, limit)
		if opts.Pad {
			for len(ids) < opts.MaxLength {
				ids = append(ids, t.padID)
			}
		}
		out[i] = ids
	}
	return out, nil
}

// encodeScratch is the pooled working memory of one encode call.
type encodeScratch struct {
	ids   []int32
	words []string
	secs  []section
}

var encodeScratchPool = sync.Pool{New: func() any { return new(encodeScratch) }}

// encode returns the ids of text with special tokens; limit >= 0 truncates
// the text's own ids to that many first.
func (t *Tokenizer) encode(text string, limit int) []int {
	if !utf8.ValidString(text) {
		text = string([]rune(text))
	}
	if t.lower {
		text = jsLower(text)
	}
	sc := encodeScratchPool.Get().(*encodeScratch)
	defer func() {
		// Drop the references into text before pooling the buffers.
		clear(sc.secs[:cap(sc.secs)])
		clear(sc.words[:cap(sc.words)])
		encodeScratchPool.Put(sc)
	}()
	var body []int32
	switch t.flavor {
	case flavorJSON:
		body = t.encodeJSON(sc, text)
	case flavorSPM:
		body = t.encodeSPM(sc, text)
	case flavorSiglip:
		body = t.encodeSiglip(sc, text)
	}
	sc.ids = body
	if limit >= 0 && len(body) > limit {
		body = body[:limit]
	}
	suffix := t.suffix
	if t.eosIfNot && len(body) > 0 && len(suffix) == 1 && body[len(body)-1] == suffix[0] {
		suffix = nil
	}
	out := make([]int, 0, len(t.prefix)+len(body)+len(suffix))
	for _, part := range [][]int32{t.prefix, body, suffix} {
		for _, id := range part {
			out = append(out, int(id))
		}
	}
	return out
}

func (t *Tokenizer) encodeJSON(sc *encodeScratch, text string) []int32 {
	ids, words := sc.ids[:0], sc.words[:0]
	sc.secs = t.added.split(sc.secs[:0], text)
	for idx, sec := range sc.secs {
		if sec.tok >= 0 {
			ids = append(ids, t.added.tokens[sec.tok].id)
			continue
		}
		s := sec.text
		if s == "" {
			continue
		}
		if t.normalizer != nil {
			s = t.normalizer.normalize(s)
		}
		if s == "" {
			continue
		}
		start := len(ids)
		for _, sub := range t.normAdded.split(nil, s) {
			if sub.tok >= 0 {
				ids = append(ids, t.normAdded.tokens[sub.tok].id)
				continue
			}
			words = words[:0]
			if t.pre != nil {
				words = t.pre.split(words, sub.text, idx)
			} else {
				words = append(words, sub.text)
			}
			for _, w := range words {
				ids = t.bpe.encodeWord(ids, w)
			}
		}
		if t.bpe.fuseUnk && t.bpe.unkID >= 0 {
			ids = fuseUnknown(ids, start, t.bpe.unkID)
		}
	}
	sc.words = words
	return ids
}

func (t *Tokenizer) encodeSPM(sc *encodeScratch, text string) []int32 {
	ids := sc.ids[:0]
	sc.secs = t.added.split(sc.secs[:0], text)
	for _, sec := range sc.secs {
		if sec.tok >= 0 {
			ids = append(ids, t.added.tokens[sec.tok].id)
		} else if sec.text != "" {
			ids = t.spm.encode(ids, sec.text)
		}
	}
	return ids
}

// pyPunctuation is Python's string.punctuation.
const pyPunctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

// canonicalize is SiglipTokenizer.canonicalize_text: drop ASCII
// punctuation, collapse whitespace runs to one space, strip.
func canonicalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	inSpace := false
	for _, r := range s {
		if r < 0x80 && strings.ContainsRune(pyPunctuation, r) {
			continue
		}
		if isPySpace(r) {
			if !inSpace {
				b.WriteByte(' ')
			}
			inSpace = true
			continue
		}
		inSpace = false
		b.WriteRune(r)
	}
	return strings.Trim(b.String(), " ")
}

func (t *Tokenizer) encodeSiglip(sc *encodeScratch, text string) []int32 {
	text = spaceSymbol + strings.ReplaceAll(text, spaceSymbol, " ")
	ids := sc.ids[:0]
	loneSpace, dropSpace := false, false
	sc.secs = t.added.split(sc.secs[:0], text)
	for i, sec := range sc.secs {
		if sec.tok >= 0 {
			tok := &t.added.tokens[sec.tok]
			// SiglipTokenizer.tokenize drops a lone leading "▁" that a
			// special token follows.
			if loneSpace && len(ids) == 1 && tok.special {
				dropSpace = true
			}
			ids = append(ids, tok.id)
			continue
		}
		if sec.text == "" {
			continue
		}
		piece := t.spm.encode(nil, "<unk>"+canonicalize(sec.text))
		if len(piece) >= t.unkLen {
			piece = piece[t.unkLen:]
		}
		loneSpace = i == 0 && len(piece) == 1 && piece[0] == t.spaceID
		ids = append(ids, piece...)
	}
	if dropSpace {
		copy(ids, ids[1:])
		ids = ids[:len(ids)-1]
	}
	return ids
}

// Decode turns ids back into text. skipSpecial drops special tokens (EOS,
// padding) the way Hugging Face's skip_special_tokens does. Ids outside the
// vocabulary decode as nothing.
func (t *Tokenizer) Decode(ids []int, skipSpecial bool) string {
	switch t.flavor {
	case flavorJSON:
		return t.decodeJSON(ids, skipSpecial)
	default:
		return t.decodeSPM(ids, skipSpecial)
	}
}

func (t *Tokenizer) decodeJSON(ids []int, skipSpecial bool) string {
	toks := make([]string, 0, len(ids))
	for _, id := range ids {
		if skipSpecial && t.special[int32(id)] {
			continue
		}
		if id >= 0 && id < len(t.vocab) && t.vocab[id] != "" {
			toks = append(toks, t.vocab[id])
		} else if t.unkID >= 0 {
			toks = append(toks, t.vocab[t.unkID])
		}
	}
	var s string
	if t.decoder != nil {
		s = strings.Join(t.decoder.decode(toks), "")
	} else {
		s = strings.Join(toks, " ")
	}
	if t.cleanSpaces {
		s = cleanUpTokenization(s)
	}
	return s
}

// cleanUpTokenization removes the spaces English tokenizers leave before
// punctuation and contractions (clean_up_tokenization_spaces).
func cleanUpTokenization(s string) string {
	return strings.NewReplacer(" .", ".", " ?", "?", " !", "!", " ,", ",", " ' ", "'",
		" n't", "n't", " 'm", "'m", " 's", "'s", " 've", "'ve", " 're", "'re").Replace(s)
}

// decodeSPM follows the slow tokenizers: added tokens come out as their
// content, runs of other ids through SentencePiece's DecodeIds.
func (t *Tokenizer) decodeSPM(ids []int, skipSpecial bool) string {
	var b strings.Builder
	var run []int32
	flush := func() {
		b.WriteString(t.spm.decode(run))
		run = run[:0]
	}
	prevSpecial := false
	for _, id := range ids {
		if skipSpecial && t.special[int32(id)] {
			continue
		}
		if content, ok := t.addedContent(int32(id)); ok {
			// SiglipTokenizer.convert_tokens_to_string puts a space before
			// the text that precedes a special token (then strips the
			// result); GemmaTokenizer just concatenates.
			if t.flavor == flavorSiglip && !prevSpecial {
				b.WriteByte(' ')
			}
			flush()
			b.WriteString(content)
			prevSpecial = true
			continue
		}
		prevSpecial = false
		run = append(run, int32(id))
	}
	flush()
	s := strings.ReplaceAll(b.String(), spaceSymbol, " ")
	if t.flavor == flavorSiglip {
		s = strings.TrimFunc(s, isPySpace)
	}
	return s
}

func (t *Tokenizer) addedContent(id int32) (string, bool) {
	if t.added == nil {
		return "", false
	}
	for _, a := range t.added.tokens {
		if a.id == id {
			return a.content, true
		}
	}
	return "", false
}

// decode is SentencePieceProcessor::DecodeIds: pieces joined with U+2581 as
// space, byte pieces reassembled into UTF-8, control pieces dropped, unknown
// pieces as " ⁇ ", and the dummy-prefix space removed from the front.
func (m *spmModel) decode(ids []int32) string {
	var b strings.Builder
	var bytes []byte
	flushBytes := func() {
		if len(bytes) > 0 {
			b.WriteString(decodeLossy(bytes))
			bytes = bytes[:0]
		}
	}
	for _, id := range ids {
		if id < 0 || int(id) >= len(m.proto.pieces) {
			continue
		}
		p := &m.proto.pieces[id]
		switch p.typ {
		case pieceByte:
			if v, ok := byteToken(p.piece); ok {
				bytes = append(bytes, v)
			}
			continue
		case pieceControl:
			continue
		}
		flushBytes()
		if p.typ == pieceUnknown {
			b.WriteString(" \u2047 ")
		} else {
			b.WriteString(p.piece)
		}
	}
	flushBytes()
	s := strings.ReplaceAll(b.String(), spaceSymbol, " ")
	if m.proto.dummyPrefix && !m.proto.wsAsSuffix {
		s = strings.TrimPrefix(s, " ")
	}
	return s
}

// PadID is the id used to pad rows (0 for SigLIP 2, 1 for SigLIP), or -1.
func (t *Tokenizer) PadID() int { return t.padID }

// EOSID is the end-of-sequence id, or -1.
func (t *Tokenizer) EOSID() int { return t.eosID }

// BOSID is the beginning-of-sequence id, or -1.
func (t *Tokenizer) BOSID() int { return t.bosID }

// VocabSize is the number of ids the tokenizer can produce (one past the
// largest id).
func (t *Tokenizer) VocabSize() int { return len(t.vocab) }

// MaxLength is the checkpoint's model_max_length (64 for SigLIP and
// SigLIP 2), or 0 when it declares none.
func (t *Tokenizer) MaxLength() int { return t.maxLength }

// Lowercase reports whether text is lowercased before tokenizing.
func (t *Tokenizer) Lowercase() bool { return t.lower }

// WithLowercase returns a Tokenizer sharing t's vocabulary that lowercases
// text before tokenizing when on is true. SigLIP 2 was trained on lowercased
// text, so Load turns this on for siglip2 checkpoints; its Hugging Face
// tokenizer does not lowercase, so turn it off to match that instead.
// Lowercasing is Unicode's full mapping (as JavaScript and Python do it) over
// the whole text, special-token look-alikes included.
func (t *Tokenizer) WithLowercase(on bool) *Tokenizer {
	c := *t
	c.lower = on
	return &c
}
