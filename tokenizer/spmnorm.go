package tokenizer

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf8"
)

// charsMap is SentencePiece's precompiled normalization rule set: a
// darts-clone double-array trie mapping UTF-8 byte sequences to offsets of
// NUL-terminated replacement strings. The blob layout is
// <uint32 trie size in bytes><trie units (uint32 each)><replacement strings>.
type charsMap struct {
	units      []uint32
	normalized []byte
}

func parseCharsMap(blob []byte) (*charsMap, error) {
	if len(blob) <= 4 {
		return nil, fmt.Errorf("precompiled_charsmap is %d bytes, too short for its header", len(blob))
	}
	n := binary.LittleEndian.Uint32(blob)
	if uint64(n) >= uint64(len(blob)) || n%4 != 0 {
		return nil, fmt.Errorf("precompiled_charsmap trie size %d does not fit its %d-byte blob", n, len(blob))
	}
	trie := blob[4 : 4+n]
	cm := &charsMap{units: make([]uint32, n/4), normalized: blob[4+n:]}
	for i := range cm.units {
		cm.units[i] = binary.LittleEndian.Uint32(trie[4*i:])
	}
	if len(cm.units) == 0 {
		return nil, fmt.Errorf("precompiled_charsmap has an empty trie")
	}
	return cm, nil
}

// Darts-clone unit accessors.
func dartsHasLeaf(u uint32) bool  { return (u>>8)&1 == 1 }
func dartsValue(u uint32) uint32  { return u & (1<<31 - 1) }
func dartsLabel(u uint32) uint32  { return u & (1<<31 | 0xff) }
func dartsOffset(u uint32) uint32 { return (u >> 10) << ((u & (1 << 9)) >> 6) }

// longestPrefix returns the length of the longest key that prefixes s and its
// replacement, or 0 when none does.
func (cm *charsMap) longestPrefix(s string) (int, string) {
	units := cm.units
	pos := dartsOffset(units[0])
	bestLen, bestVal := 0, uint32(0)
	for i := 0; i < len(s); i++ {
		c := uint32(s[i])
		pos ^= c
		if int(pos) >= len(units) {
			break
		}
		u := units[pos]
		if dartsLabel(u) != c {
			break
		}
		pos ^= dartsOffset(u)
		if int(pos) >= len(units) {
			break
		}
		if dartsHasLeaf(u) {
			bestLen, bestVal = i+1, dartsValue(units[pos])
		}
	}
	if bestLen == 0 {
		return 0, ""
	}
	if int(bestVal) >= len(cm.normalized) {
		// A corrupt blob: treat the rule as absent rather than read past it.
		return 0, ""
	}
	rest := cm.normalized[bestVal:]
	if end := indexByte(rest, 0); end >= 0 {
		rest = rest[:end]
	}
	return bestLen, string(rest)
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// byteTrie is a small trie over byte strings used for leftmost-longest
// matching of user-defined symbols and added tokens.
type byteTrie struct {
	nodes []trieNode
}

type trieNode struct {
	next map[byte]int32
	end  int32 // index of the key ending here, or -1
}

func newByteTrie() *byteTrie {
	return &byteTrie{nodes: []trieNode{{end: -1}}}
}

func (t *byteTrie) add(key string, val int32) {
	n := int32(0)
	for i := 0; i < len(key); i++ {
		nx, ok := t.nodes[n].next[key[i]]
		if !ok {
			if t.nodes[n].next == nil {
				t.nodes[n].next = map[byte]int32{}
			}
			nx = int32(len(t.nodes))
			t.nodes[n].next[key[i]] = nx
			t.nodes = append(t.nodes, trieNode{end: -1})
		}
		n = nx
	}
	t.nodes[n].end = val
}

// longest returns the length and value of the longest key prefixing s, or
// (0, -1).
func (t *byteTrie) longest(s string) (int, int32) {
	n, bestLen, bestVal := int32(0), 0, int32(-1)
	for i := 0; i < len(s); i++ {
		nx, ok := t.nodes[n].next[s[i]]
		if !ok {
			break
		}
		n = nx
		if t.nodes[n].end >= 0 {
			bestLen, bestVal = i+1, t.nodes[n].end
		}
	}
	return bestLen, bestVal
}

const spaceSymbol = "\u2581"

// spmNormalize is SentencePiece's Normalizer::Normalize: user-defined symbols
// pass unchanged, the precompiled charsmap (if any) rewrites the rest,
// malformed UTF-8 becomes U+FFFD one byte at a time, and whitespace is
// trimmed, collapsed, escaped to U+2581 and prefixed as the spec says.
func (m *spmModel) normalize(input string) string {
	if input == "" {
		return ""
	}
	prefix := func(s string) (string, int) {
		if m.userTrie != nil {
			if n, _ := m.userTrie.longest(s); n > 0 {
				return s[:n], n
			}
		}
		if m.charsmap != nil {
			if n, rep := m.charsmap.longestPrefix(s); n > 0 {
				return rep, n
			}
		}
		r, n := utf8.DecodeRuneInString(s)
		if r == utf8.RuneError && n <= 1 {
			return "\uFFFD", 1
		}
		return s[:n], n
	}
	p := m.proto
	if p.removeExtra {
		for input != "" {
			rep, n := prefix(input)
			if rep != " " {
				break
			}
			input = input[n:]
		}
	}
	if input == "" {
		return ""
	}
	var b strings.Builder
	b.Grow(len(input) * 3)
	addWS := func() {
		if p.escapeWS {
			b.WriteString(spaceSymbol)
		} else {
			b.WriteByte(' ')
		}
	}
	if !p.wsAsSuffix && p.dummyPrefix {
		addWS()
	}
	prevSpace := p.removeExtra
	for input != "" {
		sp, n := prefix(input)
		for prevSpace && strings.HasPrefix(sp, " ") {
			sp = sp[1:]
		}
		if sp != "" {
			for i := 0; i < len(sp); i++ {
				if p.escapeWS && sp[i] == ' ' {
					b.WriteString(spaceSymbol)
				} else {
					b.WriteByte(sp[i])
				}
			}
			prevSpace = strings.HasSuffix(sp, " ")
		}
		input = input[n:]
		if !p.removeExtra {
			prevSpace = false
		}
	}
	out := b.String()
	if p.removeExtra {
		space := " "
		if p.escapeWS {
			space = spaceSymbol
		}
		for strings.HasSuffix(out, space) {
			out = out[:len(out)-len(space)]
		}
	}
	if p.wsAsSuffix && p.dummyPrefix {
		if p.escapeWS {
			out += spaceSymbol
		} else {
			out += " "
		}
	}
	return out
}
