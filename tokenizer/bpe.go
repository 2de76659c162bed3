package tokenizer

import (
	"container/heap"
	"sync"
	"unicode/utf8"
)

// bpeModel is the "BPE" model of a Hugging Face tokenizer.json, with the
// semantics of transformers.js: a word is split into code points, the
// adjacent pair with the lowest merge rank is merged first (the leftmost one
// on ties) until no pair has a rank, and a resulting piece missing from the
// vocabulary falls back to its UTF-8 bytes (<0xXX>) or to the unknown token.
type bpeModel struct {
	// ids maps a piece to its id: the vocabulary with the added tokens
	// layered over it (transformers.js adds them to the same map).
	ids map[string]int32
	// nReal is one past the largest real id. Strings that merges mention
	// but the vocabulary lacks get symbol ids from nReal upwards; they can
	// take part in merges but are never emitted.
	nReal  int32
	extra  map[string]int32
	merges map[uint64]bpeMerge

	unkID        int32 // -1 when the model has no unknown token
	byteFallback bool
	byteIDs      [256]int32
	fuseUnk      bool
	ignoreMerges bool

	cacheMu sync.RWMutex
	cache   map[string][]int32
}

type bpeMerge struct {
	rank int32
	out  int32 // symbol id of the merged piece
}

// Words at least this long (in UTF-16 units, as transformers.js counts) are
// not cached; the cache is emptied when it reaches bpeCacheCap entries.
const (
	bpeCacheMaxWord = 256
	bpeCacheCap     = 1 << 16
)

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// symbolID returns the id under which s takes part in merges, creating an
// extra (never emitted) id when s is not in the vocabulary.
func (m *bpeModel) symbolID(s string) int32 {
	if id, ok := m.ids[s]; ok {
		return id
	}
	if id, ok := m.extra[s]; ok {
		return id
	}
	id := m.nReal + int32(len(m.extra))
	m.extra[s] = id
	return id
}

// lookupSymbol is symbolID without creating ids; -1 means "takes part in no
// merge".
func (m *bpeModel) lookupSymbol(s string) int32 {
	if id, ok := m.ids[s]; ok {
		return id
	}
	if id, ok := m.extra[s]; ok {
		return id
	}
	return -1
}

type bpeSym struct {
	id         int32
	start, end int // byte range in the word
	prev, next int
}

type bpeCand struct {
	rank        int32
	pos         int // index of the left symbol: the tie-breaker
	left, right int32
	out         int32
}

type bpeQueue []bpeCand

func (q bpeQueue) Len() int { return len(q) }
func (q bpeQueue) Less(i, j int) bool {
	if q[i].rank != q[j].rank {
		return q[i].rank < q[j].rank
	}
	return q[i].pos < q[j].pos
}
func (q bpeQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *bpeQueue) Push(x any)   { *q = append(*q, x.(bpeCand)) }
func (q *bpeQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// encodeWord appends the ids of one pre-tokenized word to dst. Unknown runs
// are fused by the caller over a whole section, as transformers.js does.
func (m *bpeModel) encodeWord(dst []int32, word string) []int32 {
	if word == "" {
		return dst
	}
	if m.ignoreMerges {
		if id, ok := m.ids[word]; ok {
			return append(dst, id)
		}
	}
	cacheable := utf16Len(word) < bpeCacheMaxWord
	if cacheable {
		m.cacheMu.RLock()
		ids, ok := m.cache[word]
		m.cacheMu.RUnlock()
		if ok {
			return append(dst, ids...)
		}
	}
	start := len(dst)
	dst = m.merge(dst, word)
	if cacheable {
		ids := append([]int32(nil), dst[start:]...)
		m.cacheMu.Lock()
		if len(m.cache) >= bpeCacheCap {
			clear(m.cache)
		}
		m.cache[word] = ids
		m.cacheMu.Unlock()
	}
	return dst
}

// merge runs the merges over word and appends the resulting ids.
func (m *bpeModel) merge(dst []int32, word string) []int32 {
	syms := make([]bpeSym, 0, len(word))
	for i := 0; i < len(word); {
		_, n := utf8.DecodeRuneInString(word[i:])
		syms = append(syms, bpeSym{id: m.lookupSymbol(word[i : i+n]), start: i, end: i + n, prev: len(syms) - 1, next: len(syms) + 1})
		i += n
	}
	syms[len(syms)-1].next = -1

	var q bpeQueue
	push := func(l int) {
		if l < 0 {
			return
		}
		r := syms[l].next
		if r < 0 || syms[l].id < 0 || syms[r].id < 0 {
			return
		}
		if mg, ok := m.merges[pairKey(syms[l].id, syms[r].id)]; ok {
			heap.Push(&q, bpeCand{rank: mg.rank, pos: l, left: syms[l].id, right: syms[r].id, out: mg.out})
		}
	}
	if len(syms) > 1 {
		q = make(bpeQueue, 0, len(syms))
		for i := range syms[:len(syms)-1] {
			push(i)
		}
	}
	for q.Len() > 0 {
		c := heap.Pop(&q).(bpeCand)
		l := &syms[c.pos]
		// Stale candidates: the left symbol was merged away or changed, or
		// its right neighbour is not the one this candidate saw.
		if l.id != c.left || l.next < 0 || syms[l.next].id != c.right || l.end == l.start {
			continue
		}
		r := &syms[l.next]
		l.id = c.out
		l.end = r.end
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = c.pos
		}
		r.id, r.end = -1, r.start
		push(l.prev)
		push(c.pos)
	}

	for i := 0; i >= 0; i = syms[i].next {
		s := &syms[i]
		if s.id >= 0 && s.id < m.nReal {
			dst = append(dst, s.id)
			continue
		}
		dst = m.fallback(dst, word[s.start:s.end])
	}
	return dst
}

// fallback emits a piece missing from the vocabulary: its bytes as <0xXX>
// tokens when the model has byte fallback and all of them exist, else the
// unknown token.
func (m *bpeModel) fallback(dst []int32, piece string) []int32 {
	if m.byteFallback {
		ok := true
		for i := 0; i < len(piece); i++ {
			if m.byteIDs[piece[i]] < 0 {
				ok = false
				break
			}
		}
		if ok {
			for i := 0; i < len(piece); i++ {
				dst = append(dst, m.byteIDs[piece[i]])
			}
			return dst
		}
	}
	if m.unkID >= 0 {
		dst = append(dst, m.unkID)
	}
	return dst
}

// fuseUnknown collapses runs of the unknown id in dst[from:] into one.
func fuseUnknown(dst []int32, from int, unk int32) []int32 {
	w := from
	for i := from; i < len(dst); i++ {
		if dst[i] == unk && w > from && dst[w-1] == unk {
			continue
		}
		dst[w] = dst[i]
		w++
	}
	return dst[:w]
}

// utf16Len is the length of s in UTF-16 code units (JavaScript's .length).
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}
