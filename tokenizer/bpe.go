package tokenizer

import (
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
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
	merges mergeTable

	unkID        int32 // -1 when the model has no unknown token
	byteFallback bool
	byteIDs      [256]int32
	fuseUnk      bool
	ignoreMerges bool

	cacheMu sync.RWMutex
	cache   map[string][]int32

	// runeSym caches the symbol id of each BMP character, filled on first
	// use: 0 means not looked up yet, else the id + 2 (so -1, "no
	// symbol", is stored as 1).
	runeSym []atomic.Int32
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

// charSymbol is lookupSymbol for the single character r (spelled s).
func (m *bpeModel) charSymbol(r rune, s string) int32 {
	if int(r) >= len(m.runeSym) {
		return m.lookupSymbol(s)
	}
	if v := m.runeSym[r].Load(); v != 0 {
		return v - 2
	}
	id := m.lookupSymbol(s)
	m.runeSym[r].Store(id + 2)
	return id
}

type bpeSym struct {
	id         int32
	start, end int32 // byte range in the word
	prev, next int32
}

type bpeCand struct {
	rank        int32
	pos         int32 // index of the left symbol: the tie-breaker
	left, right int32
	out         int32
}

// bpeScratch is the per-call working memory of merge, pooled because a
// long word needs tens of kilobytes of it.
type bpeScratch struct {
	syms []bpeSym
	q    bpeQueue
}

var bpeScratchPool = sync.Pool{New: func() any { return new(bpeScratch) }}

// bpeQueue is a binary min-heap of candidates by (rank, pos), written out
// rather than through container/heap to keep its calls inlined.
type bpeQueue []bpeCand

func (c bpeCand) before(o bpeCand) bool {
	return c.rank < o.rank || (c.rank == o.rank && c.pos < o.pos)
}

func (q *bpeQueue) push(c bpeCand) {
	h := append(*q, c)
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !h[i].before(h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	*q = h
}

func (q *bpeQueue) pop() bpeCand {
	h := *q
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h[r].before(h[l]) {
			m = r
		}
		if !h[m].before(h[i]) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*q = h
	return top
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
	if len(word) >= 1<<31-1 {
		return m.fallback(dst, word) // beyond int32 offsets; no real text is
	}
	sc := bpeScratchPool.Get().(*bpeScratch)
	defer bpeScratchPool.Put(sc)
	syms := sc.syms[:0]
	for i := 0; i < len(word); {
		r, n := utf8.DecodeRuneInString(word[i:])
		k := int32(len(syms))
		syms = append(syms, bpeSym{id: m.charSymbol(r, word[i:i+n]), start: int32(i), end: int32(i + n), prev: k - 1, next: k + 1})
		i += n
	}
	syms[len(syms)-1].next = -1
	sc.syms = syms

	q := sc.q[:0]
	push := func(l int32) {
		if l < 0 {
			return
		}
		r := syms[l].next
		if r < 0 || syms[l].id < 0 || syms[r].id < 0 {
			return
		}
		if mg, ok := m.merges.get(pairKey(syms[l].id, syms[r].id)); ok {
			q.push(bpeCand{rank: mg.rank, pos: l, left: syms[l].id, right: syms[r].id, out: mg.out})
		}
	}
	for i := range int32(len(syms) - 1) {
		push(i)
	}
	for len(q) > 0 {
		c := q.pop()
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
	sc.q = q

	for i := int32(0); i >= 0; i = syms[i].next {
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

// buildMerges fills the merge table from the rules in rank order. Looking up
// the three pieces of 580k rules is most of loading a 256k vocabulary, so it
// runs on all cores; symbols missing from the vocabulary get extra ids after.
func (m *bpeModel) buildMerges(pairs []mergePair) {
	type resolved struct{ a, b, out int32 }
	res := make([]resolved, len(pairs))
	workers := min(runtime.GOMAXPROCS(0), 8)
	chunk := (len(pairs) + workers - 1) / max(workers, 1)
	var wg sync.WaitGroup
	for lo := 0; lo < len(pairs); lo += chunk {
		hi := min(lo+chunk, len(pairs))
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			get := func(s string) int32 {
				if id, ok := m.ids[s]; ok {
					return id
				}
				return -1
			}
			for i := lo; i < hi; i++ {
				p := pairs[i]
				if p.a == "" || p.b == "" {
					res[i] = resolved{-2, -2, -2}
					continue
				}
				buf = append(append(buf[:0], p.a...), p.b...)
				out, ok := m.ids[string(buf)]
				if !ok {
					out = -1
				}
				res[i] = resolved{get(p.a), get(p.b), out}
			}
		}()
	}
	wg.Wait()
	m.merges = newMergeTable(len(pairs))
	for i, r := range res {
		if r.a == -2 {
			continue
		}
		p := pairs[i]
		if r.a < 0 {
			r.a = m.symbolID(strings.Clone(p.a))
		}
		if r.b < 0 {
			r.b = m.symbolID(strings.Clone(p.b))
		}
		if r.out < 0 {
			r.out = m.symbolID(p.a + p.b)
		}
		// A repeated rule keeps its last rank, as a JavaScript Map does.
		m.merges.put(pairKey(r.a, r.b), bpeMerge{rank: int32(i), out: r.out})
	}
}

// mergeTable is an open-addressing hash table from a symbol pair to its
// merge: one flat array of entries (key and merge side by side, so a lookup
// touches one cache line), at most 5/8 full, probed linearly. Built once and
// then only read, it loads and looks up several times faster than a Go map
// of the same 580k entries.
type mergeTable struct {
	slots []mergeSlot
	shift uint
}

type mergeSlot struct {
	key uint64 // emptyPair marks a free slot
	m   bpeMerge
}

const emptyPair = ^uint64(0) // ids are < 2^31, so no pair has this key

func newMergeTable(n int) mergeTable {
	size, shift := 8, uint(61)
	for size*5 < n*8 {
		size <<= 1
		shift--
	}
	t := mergeTable{slots: make([]mergeSlot, size), shift: shift}
	for i := range t.slots {
		t.slots[i].key = emptyPair
	}
	return t
}

func (t *mergeTable) slot(k uint64) int {
	return int((k * 0x9e3779b97f4a7c15) >> t.shift)
}

// put inserts or replaces k's merge.
func (t *mergeTable) put(k uint64, v bpeMerge) {
	mask := len(t.slots) - 1
	for i := t.slot(k); ; i = (i + 1) & mask {
		if s := &t.slots[i]; s.key == emptyPair || s.key == k {
			s.key, s.m = k, v
			return
		}
	}
}

func (t *mergeTable) get(k uint64) (bpeMerge, bool) {
	if len(t.slots) == 0 {
		return bpeMerge{}, false
	}
	mask := len(t.slots) - 1
	for i := t.slot(k); ; i = (i + 1) & mask {
		switch s := &t.slots[i]; s.key {
		case k:
			return s.m, true
		case emptyPair:
			return bpeMerge{}, false
		}
	}
}
