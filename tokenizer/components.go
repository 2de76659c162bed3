package tokenizer

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// This file holds the normalizers, pre-tokenizers and decoders of a Hugging
// Face tokenizer.json. Where transformers.js implements a field, gosig does
// what it does (it is the reference the tests compare with); where it ignores
// a field that changes the result (Split behaviours other than Isolated and
// Removed, Metaspace's split), gosig follows Hugging Face tokenizers.

type normalizer interface {
	normalize(s string) string
}

type pattern struct {
	literal string
	re      *regexp.Regexp
}

type jsonPattern struct {
	String *string `json:"String"`
	Regex  *string `json:"Regex"`
}

func (p jsonPattern) compile() (pattern, error) {
	switch {
	case p.String != nil:
		return pattern{literal: *p.String}, nil
	case p.Regex != nil:
		re, err := regexp.Compile(*p.Regex)
		if err != nil {
			return pattern{}, fmt.Errorf("regex %q is not supported by Go's RE2 syntax: %w", *p.Regex, err)
		}
		return pattern{re: re}, nil
	}
	return pattern{}, fmt.Errorf("pattern has neither String nor Regex")
}

// matches returns the [start, end) byte ranges of non-overlapping matches.
func (p pattern) matches(s string) [][]int {
	if p.re != nil {
		return p.re.FindAllStringIndex(s, -1)
	}
	if p.literal == "" {
		return nil
	}
	var out [][]int
	for i := 0; ; {
		j := strings.Index(s[i:], p.literal)
		if j < 0 {
			return out
		}
		out = append(out, []int{i + j, i + j + len(p.literal)})
		i += j + len(p.literal)
	}
}

func (p pattern) replaceAll(s, with string) string {
	if p.re != nil {
		return p.re.ReplaceAllLiteralString(s, with)
	}
	if p.literal == "" {
		return s
	}
	return strings.ReplaceAll(s, p.literal, with)
}

type replaceNorm replaceRule

// replaceRule is the pattern and content of a Replace normalizer or decoder.
type replaceRule struct {
	pat     pattern
	content string
}

func (n replaceNorm) normalize(s string) string { return n.pat.replaceAll(s, n.content) }

type lowercaseNorm struct{}

func (lowercaseNorm) normalize(s string) string { return jsLower(s) }

type unicodeNorm struct{ form norm.Form }

func (n unicodeNorm) normalize(s string) string { return n.form.String(s) }

type stripNorm struct{ left, right bool }

func (n stripNorm) normalize(s string) string {
	if n.left {
		s = strings.TrimLeftFunc(s, isJSSpace)
	}
	if n.right {
		s = strings.TrimRightFunc(s, isJSSpace)
	}
	return s
}

type stripAccentsNorm struct{}

func (stripAccentsNorm) normalize(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.Is(unicode.M, r) {
			return -1
		}
		return r
	}, s)
}

type prependNorm struct{ prefix string }

func (n prependNorm) normalize(s string) string { return n.prefix + s }

type seqNorm []normalizer

func (n seqNorm) normalize(s string) string {
	for _, x := range n {
		s = x.normalize(s)
	}
	return s
}

type jsonComponent struct {
	Type string `json:"type"`
	// Normalizers
	Normalizers []json.RawMessage `json:"normalizers"`
	Pattern     *jsonPattern      `json:"pattern"`
	Content     *string           `json:"content"`
	StripLeft   bool              `json:"strip_left"`
	StripRight  bool              `json:"strip_right"`
	Prepend     string            `json:"prepend"`
	Charsmap    string            `json:"precompiled_charsmap"`
	// Pre-tokenizers
	Pretokenizers  []json.RawMessage `json:"pretokenizers"`
	Behavior       string            `json:"behavior"`
	Invert         bool              `json:"invert"`
	Replacement    string            `json:"replacement"`
	AddPrefixSpace *bool             `json:"add_prefix_space"`
	PrependScheme  string            `json:"prepend_scheme"`
	Split          *bool             `json:"split"`
	// Decoders
	Decoders []json.RawMessage `json:"decoders"`
	Start    int               `json:"start"`
	Stop     int               `json:"stop"`
}

// replacement reads a Replace component's pattern and content.
func (c *jsonComponent) replacement(what string) (replaceRule, error) {
	if c.Pattern == nil || c.Content == nil {
		return replaceRule{}, fmt.Errorf("%s Replace needs pattern and content", what)
	}
	p, err := c.Pattern.compile()
	if err != nil {
		return replaceRule{}, fmt.Errorf("%s Replace: %w", what, err)
	}
	return replaceRule{p, *c.Content}, nil
}

func parseComponent(raw json.RawMessage, what string) (*jsonComponent, error) {
	if jsonNull(raw) {
		return nil, nil
	}
	var c jsonComponent
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return &c, nil
}

// parseSeq parses the items of a Sequence component, dropping null ones.
func parseSeq[T comparable](raws []json.RawMessage, parse func(json.RawMessage) (T, error)) ([]T, error) {
	var out []T
	var zero T
	for i, r := range raws {
		x, err := parse(r)
		if err != nil {
			return nil, fmt.Errorf("item %d of Sequence: %w", i, err)
		}
		if x != zero {
			out = append(out, x)
		}
	}
	return out, nil
}

func parseNormalizer(raw json.RawMessage) (normalizer, error) {
	c, err := parseComponent(raw, "normalizer")
	if c == nil || err != nil {
		return nil, err
	}
	switch c.Type {
	case "Sequence":
		seq, err := parseSeq(c.Normalizers, parseNormalizer)
		return seqNorm(seq), err
	case "Replace":
		p, err := c.replacement("normalizer")
		return replaceNorm(p), err
	case "Lowercase":
		return lowercaseNorm{}, nil
	case "NFC":
		return unicodeNorm{norm.NFC}, nil
	case "NFD":
		return unicodeNorm{norm.NFD}, nil
	case "NFKC":
		return unicodeNorm{norm.NFKC}, nil
	case "NFKD":
		return unicodeNorm{norm.NFKD}, nil
	case "Strip":
		return stripNorm{c.StripLeft, c.StripRight}, nil
	case "StripAccents":
		return stripAccentsNorm{}, nil
	case "Prepend":
		return prependNorm{c.Prepend}, nil
	case "Precompiled":
		blob, err := base64.StdEncoding.DecodeString(c.Charsmap)
		if err != nil {
			return nil, fmt.Errorf("normalizer Precompiled: precompiled_charsmap is not base64: %w", err)
		}
		if len(blob) == 0 {
			return seqNorm(nil), nil
		}
		return nil, fmt.Errorf("normalizer Precompiled with a non-empty charsmap is not supported in tokenizer.json; load the checkpoint's SentencePiece .model instead")
	}
	return nil, fmt.Errorf("normalizer type %q is not supported (supported: Sequence, Replace, Lowercase, NFC, NFD, NFKC, NFKD, Strip, StripAccents, Prepend)", c.Type)
}

// preTokenizer splits a normalized section into words. sectionIndex is the
// section's position among the added-token splits (Metaspace's "first").
type preTokenizer interface {
	split(dst []string, s string, sectionIndex int) []string
}

type splitBehavior int

const (
	splitIsolated splitBehavior = iota
	splitRemoved
	splitMergedWithPrevious
	splitMergedWithNext
	splitContiguous
)

type splitPre struct {
	pat      pattern
	behavior splitBehavior
	invert   bool
}

func (p splitPre) split(dst []string, s string, _ int) []string {
	ms := p.pat.matches(s)
	if p.invert {
		// transformers.js keeps only the matches.
		for _, m := range ms {
			if m[1] > m[0] {
				dst = append(dst, s[m[0]:m[1]])
			}
		}
		return dst
	}
	// Pieces alternate between text and delimiters; merge per behaviour.
	type piece struct {
		s     string
		delim bool
	}
	var ps []piece
	prev := 0
	for _, m := range ms {
		if m[0] > prev {
			ps = append(ps, piece{s[prev:m[0]], false})
		}
		if m[1] > m[0] {
			ps = append(ps, piece{s[m[0]:m[1]], true})
		}
		prev = m[1]
	}
	if prev < len(s) {
		ps = append(ps, piece{s[prev:], false})
	}
	switch p.behavior {
	case splitIsolated:
		for _, x := range ps {
			dst = append(dst, x.s)
		}
	case splitRemoved:
		for _, x := range ps {
			if !x.delim {
				dst = append(dst, x.s)
			}
		}
	case splitMergedWithPrevious:
		// A delimiter joins the piece before it unless that piece was a
		// delimiter too (Hugging Face's rule).
		start, prevDelim := len(dst), false
		for _, x := range ps {
			if x.delim && !prevDelim && len(dst) > start {
				dst[len(dst)-1] += x.s
			} else {
				dst = append(dst, x.s)
			}
			prevDelim = x.delim
		}
	case splitMergedWithNext:
		// The mirror image: a delimiter joins the piece after it unless
		// that piece is a delimiter too.
		var rev []string
		nextDelim := false
		for i := len(ps) - 1; i >= 0; i-- {
			x := ps[i]
			if x.delim && !nextDelim && len(rev) > 0 {
				rev[len(rev)-1] = x.s + rev[len(rev)-1]
			} else {
				rev = append(rev, x.s)
			}
			nextDelim = x.delim
		}
		for i := len(rev) - 1; i >= 0; i-- {
			dst = append(dst, rev[i])
		}
	case splitContiguous:
		for i, x := range ps {
			if i > 0 && x.delim && ps[i-1].delim {
				dst[len(dst)-1] += x.s
			} else {
				dst = append(dst, x.s)
			}
		}
	}
	return dst
}

type metaspacePre struct {
	replacement string
	prepend     string // "always", "first" or "never"
	splitWords  bool
}

func (p metaspacePre) split(dst []string, s string, sectionIndex int) []string {
	s = strings.ReplaceAll(s, " ", p.replacement)
	if !strings.HasPrefix(s, p.replacement) && (p.prepend == "always" || (p.prepend == "first" && sectionIndex == 0)) {
		s = p.replacement + s
	}
	if !p.splitWords {
		return append(dst, s)
	}
	// Each word starts at a replacement character (MergedWithNext).
	start := 0
	for i := len(p.replacement); i <= len(s)-len(p.replacement); {
		if strings.HasPrefix(s[i:], p.replacement) {
			if i > start {
				dst = append(dst, s[start:i])
			}
			start = i
			i += len(p.replacement)
			continue
		}
		_, n := utf8.DecodeRuneInString(s[i:])
		i += n
	}
	return append(dst, s[start:])
}

type seqPre []preTokenizer

func (p seqPre) split(dst []string, s string, sectionIndex int) []string {
	words := []string{s}
	for _, x := range p {
		var next []string
		for _, w := range words {
			next = x.split(next, w, sectionIndex)
		}
		words = next
	}
	return append(dst, words...)
}

func parsePreTokenizer(raw json.RawMessage) (preTokenizer, error) {
	c, err := parseComponent(raw, "pre_tokenizer")
	if c == nil || err != nil {
		return nil, err
	}
	switch c.Type {
	case "Sequence":
		seq, err := parseSeq(c.Pretokenizers, parsePreTokenizer)
		return seqPre(seq), err
	case "Split":
		if c.Pattern == nil {
			return nil, fmt.Errorf("pre_tokenizer Split has no pattern")
		}
		pat, err := c.Pattern.compile()
		if err != nil {
			return nil, fmt.Errorf("pre_tokenizer Split: %w", err)
		}
		b := map[string]splitBehavior{
			"Isolated": splitIsolated, "Removed": splitRemoved, "MergedWithPrevious": splitMergedWithPrevious,
			"MergedWithNext": splitMergedWithNext, "Contiguous": splitContiguous, "": splitIsolated,
		}
		beh, ok := b[c.Behavior]
		if !ok {
			return nil, fmt.Errorf("pre_tokenizer Split: unknown behavior %q", c.Behavior)
		}
		return splitPre{pat, beh, c.Invert}, nil
	case "Metaspace":
		rep := c.Replacement
		if rep == "" {
			rep = spaceSymbol
		}
		scheme := c.PrependScheme
		if scheme == "" {
			scheme = "always"
		}
		if c.AddPrefixSpace != nil && !*c.AddPrefixSpace {
			scheme = "never"
		}
		switch scheme {
		case "always", "first", "never":
		default:
			return nil, fmt.Errorf("pre_tokenizer Metaspace: unknown prepend_scheme %q", scheme)
		}
		return metaspacePre{replacement: rep, prepend: scheme, splitWords: c.Split != nil && *c.Split}, nil
	}
	return nil, fmt.Errorf("pre_tokenizer type %q is not supported (supported: null, Split, Metaspace, Sequence)", c.Type)
}

// decoder turns a list of token strings into fewer, fused strings.
type decoder interface {
	decode(tokens []string) []string
}

type replaceDec replaceRule

func (d replaceDec) decode(ts []string) []string {
	for i, t := range ts {
		ts[i] = d.pat.replaceAll(t, d.content)
	}
	return ts
}

type byteFallbackDec struct{}

// decode joins runs of <0xXX> tokens into their bytes, decoded as UTF-8 with
// each maximal invalid subsequence replaced by U+FFFD (what both
// TextDecoder and Rust's from_utf8_lossy do). TextDecoder also drops a
// byte-order mark that starts a run; gosig keeps it, as Hugging Face
// tokenizers does, so that text round-trips.
func (byteFallbackDec) decode(ts []string) []string {
	var out []string
	var pending []byte
	flush := func() {
		if len(pending) > 0 {
			out = append(out, decodeLossy(pending))
			pending = pending[:0]
		}
	}
	for _, t := range ts {
		if b, ok := byteToken(t); ok {
			pending = append(pending, b)
			continue
		}
		flush()
		out = append(out, t)
	}
	flush()
	return out
}

// byteToken parses "<0xXX>".
func byteToken(t string) (byte, bool) {
	if len(t) != 6 || !strings.HasPrefix(t, "<0x") || t[5] != '>' {
		return 0, false
	}
	v, err := strconv.ParseUint(t[3:5], 16, 8)
	return byte(v), err == nil
}

type fuseDec struct{}

func (fuseDec) decode(ts []string) []string { return []string{strings.Join(ts, "")} }

type stripDec struct {
	content     string
	start, stop int
}

func (d stripDec) decode(ts []string) []string {
	for i, t := range ts {
		for k := 0; k < d.start && strings.HasPrefix(t, d.content); k++ {
			t = t[len(d.content):]
		}
		for k := 0; k < d.stop && strings.HasSuffix(t, d.content); k++ {
			t = t[:len(t)-len(d.content)]
		}
		ts[i] = t
	}
	return ts
}

type metaspaceDec struct {
	replacement string
	stripFirst  bool
}

func (d metaspaceDec) decode(ts []string) []string {
	for i, t := range ts {
		t = strings.ReplaceAll(t, d.replacement, " ")
		if d.stripFirst && i == 0 {
			t = strings.TrimPrefix(t, " ")
		}
		ts[i] = t
	}
	return ts
}

type seqDec []decoder

func (d seqDec) decode(ts []string) []string {
	for _, x := range d {
		ts = x.decode(ts)
	}
	return ts
}

func parseDecoder(raw json.RawMessage) (decoder, error) {
	c, err := parseComponent(raw, "decoder")
	if c == nil || err != nil {
		return nil, err
	}
	switch c.Type {
	case "Sequence":
		seq, err := parseSeq(c.Decoders, parseDecoder)
		return seqDec(seq), err
	case "Replace":
		p, err := c.replacement("decoder")
		return replaceDec(p), err
	case "ByteFallback":
		return byteFallbackDec{}, nil
	case "Fuse":
		return fuseDec{}, nil
	case "Strip":
		content := ""
		if c.Content != nil {
			content = *c.Content
		}
		return stripDec{content, c.Start, c.Stop}, nil
	case "Metaspace":
		rep := c.Replacement
		if rep == "" {
			rep = spaceSymbol
		}
		strip := c.PrependScheme != "never"
		if c.AddPrefixSpace != nil {
			strip = *c.AddPrefixSpace
		}
		return metaspaceDec{rep, strip}, nil
	}
	return nil, fmt.Errorf("decoder type %q is not supported (supported: Sequence, Replace, ByteFallback, Fuse, Strip, Metaspace)", c.Type)
}

// isJSSpace is JavaScript's WhiteSpace and LineTerminator set (String.trim).
func isJSSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

// isPySpace is Python's str.isspace, which str.strip uses.
func isPySpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', 0x1c, 0x1d, 0x1e, 0x1f, ' ', 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

// decodeLossy decodes UTF-8, replacing each maximal subpart of an invalid
// sequence with one U+FFFD (the WHATWG / Unicode "best practice" rule).
func decodeLossy(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || n > 1 {
			sb.Write(b[i : i+n])
			i += n
			continue
		}
		// Skip the longest prefix of a well-formed sequence, at least 1 byte.
		need, lo, hi := 0, byte(0x80), byte(0xbf)
		switch c := b[i]; {
		case c >= 0xc2 && c <= 0xdf:
			need = 1
		case c == 0xe0:
			need, lo = 2, 0xa0
		case c >= 0xe1 && c <= 0xec, c == 0xee, c == 0xef:
			need = 2
		case c == 0xed:
			need, hi = 2, 0x9f
		case c == 0xf0:
			need, lo = 3, 0x90
		case c >= 0xf1 && c <= 0xf3:
			need = 3
		case c == 0xf4:
			need, hi = 3, 0x8f
		}
		j := i + 1
		for k := 0; k < need && j < len(b); k++ {
			if b[j] < lo || b[j] > hi {
				break
			}
			lo, hi = 0x80, 0xbf
			j++
		}
		sb.WriteRune(utf8.RuneError)
		i = j
	}
	return sb.String()
}
