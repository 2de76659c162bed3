package tokenizer

import (
	"container/heap"
	"fmt"
	"math"
)

// spmModel encodes text the way Google's SentencePieceProcessor::Encode does
// (sentencepiece 0.1.9x/0.2): normalize, then BPE by piece score or Unigram by
// Viterbi, then byte fallback for unknown pieces and fusion of unknown runs.
type spmModel struct {
	proto    *spmModelProto
	pieces   map[string]int32 // NORMAL, USER_DEFINED and UNUSED pieces
	reserved map[string]int32 // CONTROL, UNKNOWN and BYTE pieces
	userTrie *byteTrie        // user-defined symbols, matched whole
	charsmap *charsMap
	byteIDs  [256]int32 // id of <0xXX>, or -1
	unkID    int32
	maxLen   int // longest piece in bytes
	minScore float32
	maxScore float32
}

func newSPMModel(p *spmModelProto) (*spmModel, error) {
	switch p.modelType {
	case spmUnigram, spmBPE:
	case spmWord, spmChar:
		return nil, fmt.Errorf("SentencePiece model_type %d (WORD/CHAR) is not supported; gosig handles UNIGRAM (1) and BPE (2)", p.modelType)
	default:
		return nil, fmt.Errorf("unknown SentencePiece model_type %d", p.modelType)
	}
	if len(p.pieces) == 0 {
		return nil, fmt.Errorf("the model has no pieces")
	}
	m := &spmModel{
		proto:    p,
		pieces:   make(map[string]int32, len(p.pieces)),
		reserved: map[string]int32{},
		unkID:    -1,
		minScore: math.MaxFloat32,
		// SentencePiece starts from FLT_MIN, the smallest normal float32.
		maxScore: math.Float32frombits(0x00800000),
	}
	for i := range m.byteIDs {
		m.byteIDs[i] = -1
	}
	for i, sp := range p.pieces {
		if sp.piece == "" {
			return nil, fmt.Errorf("piece %d is empty", i)
		}
		dst := m.reserved
		switch sp.typ {
		case pieceNormal, pieceUserDefined, pieceUnused:
			dst = m.pieces
		case pieceUnknown, pieceControl, pieceByte:
		default:
			return nil, fmt.Errorf("piece %d %q has unknown type %d", i, sp.piece, sp.typ)
		}
		if _, dup := dst[sp.piece]; dup {
			return nil, fmt.Errorf("piece %q appears twice (second at id %d)", sp.piece, i)
		}
		dst[sp.piece] = int32(i)
		m.maxLen = max(m.maxLen, len(sp.piece))
		switch sp.typ {
		case pieceUserDefined:
			if m.userTrie == nil {
				m.userTrie = newByteTrie()
			}
			m.userTrie.add(sp.piece, int32(i))
		case pieceUnknown:
			m.unkID = int32(i)
		case pieceByte:
			if !p.byteFall {
				return nil, fmt.Errorf("piece %d %q is a BYTE piece but trainer_spec.byte_fallback is false", i, sp.piece)
			}
			if b, ok := byteToken(sp.piece); ok {
				m.byteIDs[b] = int32(i)
			}
		case pieceNormal:
			m.minScore = min(m.minScore, sp.score)
			m.maxScore = max(m.maxScore, sp.score)
		}
	}
	if m.unkID < 0 {
		return nil, fmt.Errorf("the model has no UNKNOWN piece")
	}
	if len(p.charsmap) > 0 {
		cm, err := parseCharsMap(p.charsmap)
		if err != nil {
			return nil, fmt.Errorf("normalizer_spec %q: %w", p.normName, err)
		}
		m.charsmap = cm
	}
	return m, nil
}

// pieceToID is ModelInterface::PieceToId: reserved pieces first, then the
// others, else the unknown id.
func (m *spmModel) pieceToID(s string) int32 {
	if id, ok := m.reserved[s]; ok {
		return id
	}
	if id, ok := m.pieces[s]; ok {
		return id
	}
	return m.unkID
}

// encode returns SentencePieceProcessor::Encode's ids for text, appended to dst.
func (m *spmModel) encode(dst []int32, text string) []int32 {
	norm := m.normalize(text)
	if norm == "" {
		return dst
	}
	var pieces []spmResult
	if m.proto.modelType == spmBPE {
		pieces = m.encodeBPE(norm)
	} else {
		pieces = m.encodeUnigram(norm)
	}
	prevUnk := false
	for _, p := range pieces {
		isUnk := p.id == m.unkID
		if isUnk && m.proto.byteFall {
			for i := 0; i < len(p.piece); i++ {
				id := m.byteIDs[p.piece[i]]
				if id < 0 {
					id = m.unkID
				}
				dst = append(dst, id)
			}
			prevUnk = false
			continue
		}
		if isUnk && prevUnk {
			// SentencePiece fuses consecutive unknown pieces into one.
			continue
		}
		dst = append(dst, p.id)
		prevUnk = isUnk
	}
	return dst
}

type spmResult struct {
	piece string
	id    int32
}

// oneCharLen is SentencePiece's OneCharLen: the UTF-8 length implied by the
// lead byte (the text is already valid UTF-8 after normalization).
func oneCharLen(s string) int {
	n := int("\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x02\x02\x03\x04"[s[0]>>4])
	return min(n, len(s))
}

type spmSymbol struct {
	start, end int // byte range in the normalized string; end == start once merged away
	prev, next int
	freeze     bool
}

type spmPair struct {
	left, right int
	score       float32
	size        int
}

// spmAgenda orders pairs by score (high first), then by left position.
type spmAgenda []spmPair

func (a spmAgenda) Len() int { return len(a) }
func (a spmAgenda) Less(i, j int) bool {
	if a[i].score != a[j].score {
		return a[i].score > a[j].score
	}
	return a[i].left < a[j].left
}
func (a spmAgenda) Swap(i, j int) { a[i], a[j] = a[j], a[i] }
func (a *spmAgenda) Push(x any)   { *a = append(*a, x.(spmPair)) }
func (a *spmAgenda) Pop() any {
	old := *a
	x := old[len(old)-1]
	*a = old[:len(old)-1]
	return x
}

// encodeBPE is bpe::Model::Encode: start from characters (user-defined
// symbols whole and frozen), repeatedly merge the adjacent pair whose
// concatenation is the highest-scoring piece (leftmost on ties), then split
// UNUSED pieces back into the pieces they were merged from.
func (m *spmModel) encodeBPE(norm string) []spmResult {
	syms := make([]spmSymbol, 0, len(norm))
	for i := 0; i < len(norm); {
		n, freeze := 0, false
		if m.userTrie != nil {
			n, _ = m.userTrie.longest(norm[i:])
			freeze = n > 0
		}
		if n == 0 {
			n = oneCharLen(norm[i:])
		}
		syms = append(syms, spmSymbol{start: i, end: i + n, prev: len(syms) - 1, next: len(syms) + 1, freeze: freeze})
		i += n
	}
	syms[len(syms)-1].next = -1

	var revMerge map[string][2]string
	agenda := make(spmAgenda, 0, len(syms))
	add := func(l, r int) {
		if l < 0 || r < 0 || syms[l].freeze || syms[r].freeze {
			return
		}
		piece := norm[syms[l].start:syms[r].end]
		id, ok := m.pieces[piece]
		if !ok {
			return
		}
		heap.Push(&agenda, spmPair{left: l, right: r, score: m.proto.pieces[id].score, size: len(piece)})
		if m.proto.pieces[id].typ == pieceUnused {
			if revMerge == nil {
				revMerge = map[string][2]string{}
			}
			revMerge[piece] = [2]string{norm[syms[l].start:syms[l].end], norm[syms[r].start:syms[r].end]}
		}
	}
	for i := 1; i < len(syms); i++ {
		add(i-1, i)
	}
	for agenda.Len() > 0 {
		top := heap.Pop(&agenda).(spmPair)
		l, r := &syms[top.left], &syms[top.right]
		if l.end == l.start || r.end == r.start || (l.end-l.start)+(r.end-r.start) != top.size {
			continue
		}
		l.end = r.end
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = top.left
		}
		r.end = r.start
		add(l.prev, top.left)
		add(top.left, l.next)
	}

	out := make([]spmResult, 0, len(syms))
	var resegment func(w string)
	resegment = func(w string) {
		id := m.pieceToID(w)
		if id == m.unkID || m.proto.pieces[id].typ != pieceUnused {
			out = append(out, spmResult{w, id})
			return
		}
		p, ok := revMerge[w]
		if !ok {
			out = append(out, spmResult{w, id})
			return
		}
		resegment(p[0])
		resegment(p[1])
	}
	for i := 0; i >= 0; i = syms[i].next {
		resegment(norm[syms[i].start:syms[i].end])
	}
	return out
}

// encodeUnigram is unigram::Model::EncodeOptimized: a Viterbi pass over the
// normalized bytes in float32, where every piece ending at a position is
// scored in order of start then length, and a character no piece covers
// becomes an unknown node scored min_score - 10.
func (m *spmModel) encodeUnigram(norm string) []spmResult {
	type best struct {
		score  float32
		start  int
		id     int32
		filled bool
	}
	n := len(norm)
	ends := make([]best, n+1)
	ends[0].filled = true
	unkScore := m.minScore - 10
	for start := 0; start < n; {
		base := ends[start].score
		mblen := oneCharLen(norm[start:])
		single := false
		for l := 1; l <= m.maxLen && start+l <= n; l++ {
			id, ok := m.pieces[norm[start:start+l]]
			if !ok {
				continue
			}
			p := &m.proto.pieces[id]
			if p.typ == pieceUnused {
				continue
			}
			// SentencePiece's score here is a double (the user-defined
			// bonus subtracts the double 0.1), so the candidate is summed
			// and compared in float64 and only stored as float32.
			score := float64(p.score)
			if p.typ == pieceUserDefined {
				score = float64(float32(l)*m.maxScore) - 0.1
			}
			cand := score + float64(base)
			t := &ends[start+l]
			if !t.filled || cand > float64(t.score) {
				*t = best{score: float32(cand), start: start, id: id, filled: true}
			}
			if l == mblen {
				single = true
			}
		}
		if !single {
			t := &ends[start+mblen]
			cand := unkScore + base
			if !t.filled || cand > t.score {
				*t = best{score: cand, start: start, id: m.unkID, filled: true}
			}
		}
		start += mblen
	}
	var rev []spmResult
	for end := n; end > 0; {
		b := ends[end]
		if !b.filled {
			// Unreachable: every character has at least an unknown node.
			break
		}
		rev = append(rev, spmResult{norm[b.start:end], b.id})
		end = b.start
	}
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return rev
}
