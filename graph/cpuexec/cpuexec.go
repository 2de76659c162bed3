// Package cpuexec is the reference executor: every op of package graph in
// plain Go, written to be read and checked rather than to be fast. The GPU
// kernels are tested against it.
//
// Sums (dot products, means, variances, norms) accumulate in float64 and
// round once to float32, so the reference is at least as accurate as any
// float32 implementation it is compared with.
package cpuexec

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/gosig/gosig/graph"
)

// Executor runs plans on the CPU. It caches each weight after the first
// fetch. It is safe for concurrent use.
type Executor struct {
	src graph.Weights

	mu      sync.Mutex
	weights map[string][]float32
}

// New returns an executor that reads weights from src.
func New(src graph.Weights) *Executor {
	return &Executor{src: src, weights: map[string][]float32{}}
}

// Name returns "cpu".
func (e *Executor) Name() string { return "cpu" }

// Close drops the cached weights.
func (e *Executor) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.weights = map[string][]float32{}
	return nil
}

func (e *Executor) weight(n *graph.Node) ([]float32, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if w, ok := e.weights[n.Name]; ok {
		return w, nil
	}
	if e.src == nil {
		return nil, fmt.Errorf("cpuexec: weight %s: no weight source", n.Name)
	}
	data, shape, err := e.src.Weight(n.Name)
	if err != nil {
		return nil, fmt.Errorf("cpuexec: %w", err)
	}
	if err := graph.CheckWeight(n, data, shape); err != nil {
		return nil, fmt.Errorf("cpuexec: %w", err)
	}
	e.weights[n.Name] = data
	return data, nil
}

// Run executes p's steps one by one and returns its outputs.
func (e *Executor) Run(ctx context.Context, p *graph.Plan, inputs map[string]graph.Value) (map[string]graph.Value, error) {
	if err := graph.CheckInputs(p, inputs); err != nil {
		return nil, err
	}
	vals := make([]graph.Value, len(p.Nodes))
	get := func(id int) graph.Value {
		if id == graph.None {
			return graph.Value{}
		}
		v := vals[p.Storage[id]]
		v.Shape = p.Nodes[id].Shape // a Reshape views its source's data
		return v
	}
	for _, n := range p.LiveInputs() {
		vals[n.ID] = inputs[n.Name]
	}
	for _, n := range p.Weights() {
		w, err := e.weight(n)
		if err != nil {
			return nil, err
		}
		vals[n.ID] = graph.F32Value(w, n.Shape...)
	}
	for _, id := range p.Steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := p.Nodes[id]
		in := make([]graph.Value, len(n.Inputs))
		for i, x := range n.Inputs {
			in[i] = get(x)
		}
		out, err := compute(n, in)
		if err != nil {
			return nil, fmt.Errorf("cpuexec: %s: %w", n.Name, err)
		}
		vals[id] = graph.F32Value(out, n.Shape...)
	}
	res := make(map[string]graph.Value, len(p.Outputs))
	for _, o := range p.Outputs {
		v := get(o.ID)
		res[o.Name] = graph.Value{Shape: v.Shape, F32: clone(v.F32), I32: cloneI(v.I32)}
	}
	return res, nil
}

func clone(x []float32) []float32 {
	if x == nil {
		return nil
	}
	return append([]float32(nil), x...)
}

func cloneI(x []int32) []int32 {
	if x == nil {
		return nil
	}
	return append([]int32(nil), x...)
}

// compute evaluates one node from its input values.
func compute(n *graph.Node, in []graph.Value) ([]float32, error) {
	out := make([]float32, n.Elems())
	switch n.Op {
	case graph.OpLinear:
		linear(out, n, in[0], in[1], in[2], in[3])
	case graph.OpLayerNorm:
		layerNorm(out, in[0], in[1].F32, in[2].F32, n.Eps)
	case graph.OpGELUTanh:
		for i, x := range in[0].F32 {
			out[i] = GELUTanh(x)
		}
	case graph.OpAdd:
		a, b := in[0].F32, in[1].F32
		for i := range out {
			out[i] = a[i] + b[i%len(b)]
		}
	case graph.OpSoftmax:
		softmax(out, in[0], in[1])
	case graph.OpAttention:
		attention(out, nil, n.Heads, in[0], in[1], in[2], in[3])
	case graph.OpAttentionProbs:
		attention(nil, out, n.Heads, in[0], in[1], graph.Value{}, in[2])
	case graph.OpGather:
		return out, gather(out, n, in[0], in[1])
	case graph.OpMaskedMean:
		maskedMean(out, in[0], in[1])
	case graph.OpL2Normalize:
		l2Normalize(out, in[0])
	case graph.OpToken:
		token(out, in[0], n.Index)
	default:
		return nil, fmt.Errorf("op %s has no CPU implementation", n.Op)
	}
	return out, nil
}

// GELUTanh is torch's gelu(x, approximate="tanh"), evaluated in float64.
func GELUTanh(x float32) float32 {
	v := float64(x)
	return float32(0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v))))
}

// parallel runs fn(i) for i in [0, n) on all cores.
func parallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	var wg sync.WaitGroup
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// linear computes act(x·wᵀ + bias) + residual row by row.
func linear(out []float32, n *graph.Node, x, w, bias, residual graph.Value) {
	k := w.Shape[1]
	nOut := w.Shape[0]
	m := len(x.F32) / k
	parallel(m, func(r int) {
		xr := x.F32[r*k : (r+1)*k]
		for j := range nOut {
			wj := w.F32[j*k : (j+1)*k]
			var s float64
			for i, xv := range xr {
				s += float64(xv) * float64(wj[i])
			}
			y := float32(s)
			if bias.F32 != nil {
				y += bias.F32[j]
			}
			if n.Act == graph.ActGELUTanh {
				y = GELUTanh(y)
			}
			if residual.F32 != nil {
				y += residual.F32[r*nOut+j]
			}
			out[r*nOut+j] = y
		}
	})
}

func layerNorm(out []float32, x graph.Value, gamma, beta []float32, eps float32) {
	d := len(gamma)
	for r := 0; r < len(x.F32)/d; r++ {
		row := x.F32[r*d : (r+1)*d]
		var mean float64
		for _, v := range row {
			mean += float64(v)
		}
		mean /= float64(d)
		var variance float64
		for _, v := range row {
			dv := float64(v) - mean
			variance += dv * dv
		}
		variance /= float64(d)
		inv := 1 / math.Sqrt(variance+float64(eps))
		for i, v := range row {
			out[r*d+i] = float32((float64(v)-mean)*inv)*gamma[i] + beta[i]
		}
	}
}

// maskedScore adds the float32 minimum to a score where the mask is 0, in
// float32 arithmetic as Hugging Face does (so a fully masked row ends up
// uniform rather than NaN).
func maskedScore(s float32, valid bool) float32 {
	if valid {
		return s
	}
	return s + -math.MaxFloat32
}

// softmaxInPlace turns scores into probabilities, in float64.
func softmaxInPlace(p []float64) {
	mx := math.Inf(-1)
	for _, v := range p {
		mx = math.Max(mx, v)
	}
	var sum float64
	for i, v := range p {
		p[i] = math.Exp(v - mx)
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
}

func softmax(out []float32, x, mask graph.Value) {
	nCol := x.Shape[len(x.Shape)-1]
	rows := len(x.F32) / nCol
	perBatch := rows / x.Shape[0]
	p := make([]float64, nCol)
	for r := range rows {
		b := r / perBatch
		for j := range nCol {
			s := x.F32[r*nCol+j]
			if mask.F32 != nil {
				s = maskedScore(s, mask.F32[b*nCol+j] != 0)
			}
			p[j] = float64(s)
		}
		softmaxInPlace(p)
		for j := range nCol {
			out[r*nCol+j] = float32(p[j])
		}
	}
}

// attention computes multi-head attention into out ([B, Sq, H·Dh]) and/or
// its weights into probs ([B, H, Sq, Sk]).
func attention(out, probs []float32, heads int, q, k, v, mask graph.Value) {
	bsz, sk, hidden := k.Shape[0], k.Shape[1], k.Shape[2]
	sq := q.Shape[1]
	dh := hidden / heads
	scale := 1 / math.Sqrt(float64(dh))
	qBatch := q.Shape[0]
	parallel(bsz*heads, func(bh int) {
		b, h := bh/heads, bh%heads
		qb := b
		if qBatch == 1 {
			qb = 0
		}
		p := make([]float64, sk)
		for i := range sq {
			qi := q.F32[(qb*sq+i)*hidden+h*dh:][:dh]
			for j := range sk {
				kj := k.F32[(b*sk+j)*hidden+h*dh:][:dh]
				var s float64
				for d := range dh {
					s += float64(qi[d]) * float64(kj[d])
				}
				sc := float32(s * scale)
				if mask.F32 != nil {
					sc = maskedScore(sc, mask.F32[b*sk+j] != 0)
				}
				p[j] = float64(sc)
			}
			softmaxInPlace(p)
			if probs != nil {
				for j := range sk {
					probs[((b*heads+h)*sq+i)*sk+j] = float32(p[j])
				}
			}
			if out != nil {
				for d := range dh {
					var s float64
					for j := range sk {
						s += p[j] * float64(v.F32[(b*sk+j)*hidden+h*dh+d])
					}
					out[(b*sq+i)*hidden+h*dh+d] = float32(s)
				}
			}
		}
	})
}

func gather(out []float32, n *graph.Node, table, ids graph.Value) error {
	vocab, d := table.Shape[0], table.Shape[1]
	if err := graph.CheckIDs(n.Name, ids.I32, vocab); err != nil {
		return err
	}
	for i, id := range ids.I32 {
		copy(out[i*d:(i+1)*d], table.F32[int(id)*d:(int(id)+1)*d])
	}
	return nil
}

func maskedMean(out []float32, x, mask graph.Value) {
	bsz, s, d := x.Shape[0], x.Shape[1], x.Shape[2]
	acc := make([]float64, d)
	for b := range bsz {
		clear(acc)
		var count float64
		for t := range s {
			m := float64(mask.F32[b*s+t])
			count += m
			for i := range d {
				acc[i] += float64(x.F32[(b*s+t)*d+i]) * m
			}
		}
		for i := range d {
			out[b*d+i] = float32(acc[i] / count)
		}
	}
}

func l2Normalize(out []float32, x graph.Value) {
	d := x.Shape[len(x.Shape)-1]
	for r := 0; r < len(x.F32)/d; r++ {
		row := x.F32[r*d : (r+1)*d]
		var ss float64
		for _, v := range row {
			ss += float64(v) * float64(v)
		}
		norm := math.Sqrt(ss)
		for i, v := range row {
			out[r*d+i] = float32(float64(v) / norm)
		}
	}
}

func token(out []float32, x graph.Value, index int) {
	bsz, s, d := x.Shape[0], x.Shape[1], x.Shape[2]
	if index < 0 {
		index += s
	}
	for b := range bsz {
		copy(out[b*d:(b+1)*d], x.F32[(b*s+index)*d:][:d])
	}
}
