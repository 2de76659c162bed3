package graph

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// ArenaAlign is the byte alignment of every tensor in a plan's arena. 256 is
// the largest minStorageBufferOffsetAlignment WebGPU allows, so GPU executors
// can bind any slot at its offset.
const ArenaAlign = 256

// Slot is where a tensor lives in the plan's arena.
type Slot struct {
	Offset int64 // bytes from the arena's start, a multiple of ArenaAlign
	Bytes  int64 // 4 × elements
}

// Plan is a Graph made ready to run: ops fused, dead nodes dropped, nodes in
// execution order, and every intermediate tensor given a place in one arena
// that is reused once a tensor's last reader has run.
//
// A plan is immutable and may be shared by goroutines; executors cache their
// per-plan resources keyed by the *Plan.
type Plan struct {
	// Graph is the graph the plan was made from (unchanged).
	Graph *Graph
	// Nodes holds the plan's copy of every node, indexed by ID. A Linear may
	// carry a fused activation and residual; the nodes folded into it stay in
	// the slice but no step computes them and no input refers to them.
	Nodes []*Node
	// Steps lists the IDs of the nodes to compute, in order: no Input,
	// Weight, Reshape or folded node.
	Steps []int
	// Storage maps each node ID to the ID whose data it is: itself, or, for a
	// Reshape, the tensor it views.
	Storage []int
	// Slots gives the arena place of every node that owns storage and lives
	// in the arena: live Inputs and computed steps. Others have Bytes 0.
	Slots []Slot
	// ArenaBytes is the arena's size: the peak memory of intermediate
	// tensors and inputs, weights excluded.
	ArenaBytes int64
	// Outputs are the graph's outputs, their IDs pointing at the nodes that
	// compute them after fusion.
	Outputs []Output
	// Fused counts the ops folded into a Linear.
	Fused int
}

// Node returns the plan's node with the given ID.
func (p *Plan) Node(id int) *Node { return p.Nodes[id] }

// SlotOf returns the arena slot holding node id's data (following Reshape
// views).
func (p *Plan) SlotOf(id int) Slot { return p.Slots[p.Storage[id]] }

// LiveInputs returns the Input nodes that some step reads.
func (p *Plan) LiveInputs() []*Node {
	var in []*Node
	for _, n := range p.Nodes {
		if n.Op == OpInput && p.Slots[n.ID].Bytes > 0 {
			in = append(in, n)
		}
	}
	return in
}

// Weights returns the Weight nodes that some step reads or that are outputs.
func (p *Plan) Weights() []*Node {
	used := make([]bool, len(p.Nodes))
	for _, o := range p.Outputs {
		used[p.Storage[o.ID]] = true
	}
	for _, id := range p.Steps {
		for _, in := range p.Nodes[id].Inputs {
			if in != None {
				used[p.Storage[in]] = true
			}
		}
	}
	var w []*Node
	for _, n := range p.Nodes {
		if n.Op == OpWeight && used[n.ID] {
			w = append(w, n)
		}
	}
	return w
}

// String prints the steps with their slots, for debugging.
func (p *Plan) String() string {
	var sb strings.Builder
	for _, id := range p.Steps {
		n := p.Nodes[id]
		s := p.Slots[id]
		extra := ""
		if n.Op == OpLinear && (n.Act != ActNone || n.Input(3) != None) {
			extra = fmt.Sprintf(" act=%s residual=%v", n.Act, n.Input(3) != None)
		}
		fmt.Fprintf(&sb, "%s%s  @%d+%d\n", n, extra, s.Offset, s.Bytes)
	}
	fmt.Fprintf(&sb, "arena %d bytes, %d steps, %d fused\n", p.ArenaBytes, len(p.Steps), p.Fused)
	return sb.String()
}

// NewPlan fuses, orders and lays out g.
//
// Fusion folds into a Linear a GELUTanh that is the Linear's only reader,
// then an Add of a same-shaped tensor that is the Linear's only reader (the
// residual connection), provided the Linear is not itself an output. The
// result is computed in the same order as unfused: act(x·wᵀ + b) + residual.
func NewPlan(g *Graph) (*Plan, error) {
	n := len(g.Nodes)
	p := &Plan{Graph: g, Nodes: make([]*Node, n), Storage: make([]int, n), Slots: make([]Slot, n)}
	for i, nd := range g.Nodes {
		c := *nd
		c.Inputs = slices.Clone(nd.Inputs)
		c.Shape = slices.Clone(nd.Shape)
		p.Nodes[i] = &c
	}

	isOutput := make([]bool, n)
	for _, o := range g.Outputs {
		isOutput[o.ID] = true
	}
	readers := make([]int, n)
	for _, nd := range p.Nodes {
		for _, in := range nd.Inputs {
			if in != None {
				readers[in]++
			}
		}
	}
	// replace[id] is the node that now stands for id; pos[id] is where a
	// node runs (a Linear that absorbed an Add runs where the Add was).
	replace := make([]int, n)
	pos := make([]int, n)
	for i := range replace {
		replace[i], pos[i] = i, i
	}
	folded := make([]bool, n)
	fusable := func(id int) bool {
		nd := p.Nodes[id]
		return nd.Op == OpLinear && readers[id] == 1 && !isOutput[id] && nd.Input(3) == None
	}
	for _, nd := range p.Nodes {
		for i, in := range nd.Inputs {
			if in != None {
				nd.Inputs[i] = replace[in]
			}
		}
		switch nd.Op {
		case OpGELUTanh:
			x := nd.Inputs[0]
			if fusable(x) && p.Nodes[x].Act == ActNone {
				p.Nodes[x].Act = ActGELUTanh
				replace[nd.ID], readers[x], isOutput[x] = x, readers[nd.ID], isOutput[nd.ID]
				folded[nd.ID] = true
				p.Fused++
			}
		case OpAdd:
			a, c := nd.Inputs[0], nd.Inputs[1]
			if a == c || !slices.Equal(p.Nodes[a].Shape, p.Nodes[c].Shape) {
				break
			}
			lin, res := -1, -1
			// Prefer the operand computed last, so the other is ready.
			if fusable(c) && (!fusable(a) || pos[c] > pos[a]) {
				lin, res = c, a
			} else if fusable(a) {
				lin, res = a, c
			}
			if lin < 0 {
				break
			}
			p.Nodes[lin].Inputs[3] = res
			replace[nd.ID], readers[lin], isOutput[lin] = lin, readers[nd.ID], isOutput[nd.ID]
			pos[lin] = pos[nd.ID]
			folded[nd.ID] = true
			p.Fused++
		}
	}
	for _, o := range g.Outputs {
		p.Outputs = append(p.Outputs, Output{Name: o.Name, ID: replace[o.ID]})
	}

	// Liveness: walk back from the outputs.
	live := make([]bool, n)
	var mark func(int)
	mark = func(id int) {
		if live[id] {
			return
		}
		live[id] = true
		for _, in := range p.Nodes[id].Inputs {
			if in != None {
				mark(in)
			}
		}
	}
	for _, o := range p.Outputs {
		mark(o.ID)
	}

	for i, nd := range p.Nodes {
		p.Storage[i] = i
		if nd.Op == OpReshape {
			p.Storage[i] = p.Storage[nd.Inputs[0]]
		}
		switch {
		case !live[i] || folded[i]:
		case nd.Op == OpInput, nd.Op == OpWeight, nd.Op == OpReshape:
		default:
			p.Steps = append(p.Steps, i)
		}
	}
	sort.SliceStable(p.Steps, func(i, j int) bool { return pos[p.Steps[i]] < pos[p.Steps[j]] })

	p.layout(live)
	return p, nil
}

// layout assigns arena slots: each tensor lives from the step that writes it
// (inputs: from before the first step) to its last reader (outputs: to the
// end), and tensors whose lifetimes do not overlap share bytes. Placement is
// greedy, largest first, at the lowest offset that fits.
func (p *Plan) layout(live []bool) {
	type interval struct {
		id         int
		first, end int
		bytes      int64
	}
	first := make([]int, len(p.Nodes))
	last := make([]int, len(p.Nodes))
	for i := range first {
		first[i], last[i] = -2, -2
	}
	for i, nd := range p.Nodes {
		if nd.Op == OpInput && live[i] {
			first[i], last[i] = -1, -1
		}
	}
	for t, id := range p.Steps {
		first[id], last[id] = t, t
		for _, in := range p.Nodes[id].Inputs {
			if in != None {
				r := p.Storage[in]
				last[r] = max(last[r], t)
			}
		}
	}
	for _, o := range p.Outputs {
		r := p.Storage[o.ID]
		last[r] = len(p.Steps)
		if first[r] == -2 { // an output that is an input or a weight
			first[r] = -1
		}
	}
	var ivs []interval
	for i, nd := range p.Nodes {
		if first[i] == -2 || nd.Op == OpWeight || p.Storage[i] != i {
			continue
		}
		ivs = append(ivs, interval{id: i, first: first[i], end: last[i], bytes: int64(nd.Elems()) * 4})
	}
	sort.SliceStable(ivs, func(i, j int) bool { return ivs[i].bytes > ivs[j].bytes })
	var placed []interval
	for _, iv := range ivs {
		var busy []Slot
		for _, q := range placed {
			if q.first <= iv.end && iv.first <= q.end {
				busy = append(busy, p.Slots[q.id])
			}
		}
		sort.Slice(busy, func(i, j int) bool { return busy[i].Offset < busy[j].Offset })
		var off int64
		for _, s := range busy {
			if off+iv.bytes <= s.Offset {
				break
			}
			off = max(off, alignUp(s.Offset+s.Bytes))
		}
		p.Slots[iv.id] = Slot{Offset: off, Bytes: iv.bytes}
		p.ArenaBytes = max(p.ArenaBytes, alignUp(off+iv.bytes))
		placed = append(placed, iv)
	}
}

func alignUp(n int64) int64 { return (n + ArenaAlign - 1) / ArenaAlign * ArenaAlign }

// PlanCache builds each plan once per key (a model caches its graphs by the
// shapes of their inputs). It is safe for concurrent use.
type PlanCache struct {
	mu    sync.Mutex
	plans map[string]*Plan
}

// Get returns the plan cached under key, or builds, plans and caches it.
func (c *PlanCache) Get(key string, build func() (*Graph, error)) (*Plan, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.plans[key]; ok {
		return p, nil
	}
	g, err := build()
	if err != nil {
		return nil, err
	}
	p, err := NewPlan(g)
	if err != nil {
		return nil, err
	}
	if c.plans == nil {
		c.plans = map[string]*Plan{}
	}
	c.plans[key] = p
	return p, nil
}

// Len returns the number of cached plans.
func (c *PlanCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.plans)
}
