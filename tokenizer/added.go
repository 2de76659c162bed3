package tokenizer

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// addedToken is a token matched in the text before the model sees it.
type addedToken struct {
	content    string
	id         int32
	special    bool
	lstrip     bool // eat whitespace on its left
	rstrip     bool // eat whitespace on its right
	normalized bool // matched in normalized text rather than raw text
	singleWord bool // matched only when not inside a word
}

// addedMatcher finds added tokens leftmost-longest, the way both
// transformers.js's DictionarySplitter and Hugging Face's tries do.
type addedMatcher struct {
	tokens []addedToken
	trie   *byteTrie
	first  [256]bool // bytes that can start a token
	space  func(rune) bool
}

func newAddedMatcher(tokens []addedToken, space func(rune) bool) *addedMatcher {
	if len(tokens) == 0 {
		return nil
	}
	m := &addedMatcher{tokens: tokens, trie: newByteTrie(), space: space}
	for i, t := range tokens {
		if t.content == "" {
			continue
		}
		m.trie.add(t.content, int32(i))
		m.first[t.content[0]] = true
	}
	return m
}

// section is a run of text, or an added token when tok >= 0.
type section struct {
	text string
	tok  int32 // index into addedMatcher.tokens, or -1
}

// split appends to out the text and added-token sections of s, with the
// tokens' lstrip/rstrip applied to their neighbours.
func (m *addedMatcher) split(out []section, s string) []section {
	if m == nil {
		return append(out, section{s, -1})
	}
	first := len(out)
	start := 0
	for i := 0; i < len(s); {
		if !m.first[s[i]] {
			i++
			continue
		}
		n, idx := m.trie.longest(s[i:])
		if n == 0 || (m.tokens[idx].singleWord && !m.singleWordAt(s, i, i+n)) {
			i++
			continue
		}
		if i > start {
			out = append(out, section{s[start:i], -1})
		}
		out = append(out, section{s[i : i+n], idx})
		i += n
		start = i
	}
	if start < len(s) {
		out = append(out, section{s[start:], -1})
	}
	for i := first; i < len(out); i++ {
		sec := out[i]
		if sec.tok < 0 {
			continue
		}
		t := &m.tokens[sec.tok]
		if t.lstrip && i > first && out[i-1].tok < 0 {
			out[i-1].text = strings.TrimRightFunc(out[i-1].text, m.space)
		}
		if t.rstrip && i+1 < len(out) && out[i+1].tok < 0 {
			out[i+1].text = strings.TrimLeftFunc(out[i+1].text, m.space)
		}
	}
	return out
}

// singleWordAt reports whether s[i:j] is not glued to word characters.
func (m *addedMatcher) singleWordAt(s string, i, j int) bool {
	isWord := func(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }
	if i > 0 {
		r, _ := utf8.DecodeLastRuneInString(s[:i])
		if isWord(r) {
			return false
		}
	}
	if j < len(s) {
		r, _ := utf8.DecodeRuneInString(s[j:])
		if isWord(r) {
			return false
		}
	}
	return true
}
