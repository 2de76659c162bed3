package gpuexec

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/gosig/gosig/gpu"
	"github.com/gosig/gosig/graph"
	"github.com/gosig/gosig/internal/cputime"
)

// KernelCase is one kernel benchmark: a graph of a single op on random data
// at a model's shapes.
type KernelCase struct {
	Op    string  // linear, attention, layernorm, gelu
	Shape string  // linear: MxKxN; attention: SqxSkxHidden; others: rowsxD
	Heads int     // attention only
	GELU  bool    // linear only: GELU-tanh follows, fused into the kernel by the planner (fc1)
	FLOPs float64 // floating-point operations of one evaluation (nominal for element-wise ops)
	// PerLayer is how many times an encoder layer runs the case: 4 for the
	// hidden×hidden projections, 2 for the LayerNorm, 0 for what a layer
	// does not run as timed (the standalone GELU, fused into fc1).
	PerLayer int
	build    func(b *graph.Builder) (inputs map[string]graph.Value, weights mapWeights)
}

// LayerCases returns the kernels of one transformer encoder layer at
// sequence length seq (SigLIP2-base: seq 256, hidden 768, 12 heads, MLP
// 3072) as the layer runs them: the four attention projections, fc1 with
// its GELU-tanh (one fused kernel, as the planner emits it), fc2, the
// attention and a LayerNorm; and, for information, the GELU alone (what
// the fusion saves; no layer runs it).
func LayerCases(seq, hidden, heads, mlp int) []KernelCase {
	rng := rand.New(rand.NewPCG(1, 1))
	rnd := func(shape ...int) graph.Value {
		x := make([]float32, graph.Elems(shape))
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return graph.F32Value(x, shape...)
	}
	linear := func(m, k, n int, gelu bool, perLayer int) KernelCase {
		return KernelCase{Op: "linear", Shape: fmt.Sprintf("%dx%dx%d", m, k, n), GELU: gelu, FLOPs: 2 * float64(m*k*n), PerLayer: perLayer,
			build: func(b *graph.Builder) (map[string]graph.Value, mapWeights) {
				x := b.Input("x", graph.F32, m, k)
				y := b.Linear(x, b.Weight("w", n, k), b.Weight("b", n))
				if gelu {
					y = b.GELUTanh(y)
				}
				b.Output("y", y)
				return map[string]graph.Value{"x": rnd(m, k)}, mapWeights{"w": rnd(n, k), "b": rnd(n)}
			}}
	}
	return []KernelCase{
		linear(seq, hidden, hidden, false, 4),
		linear(seq, hidden, mlp, true, 1),
		linear(seq, mlp, hidden, false, 1),
		{Op: "attention", Shape: fmt.Sprintf("%dx%dx%d", seq, seq, hidden), Heads: heads, FLOPs: 4 * float64(seq*seq*hidden), PerLayer: 1,
			build: func(b *graph.Builder) (map[string]graph.Value, mapWeights) {
				q := b.Input("q", graph.F32, 1, seq, hidden)
				k := b.Input("k", graph.F32, 1, seq, hidden)
				v := b.Input("v", graph.F32, 1, seq, hidden)
				b.Output("o", b.Attention(q, k, v, graph.Tensor{}, heads))
				return map[string]graph.Value{"q": rnd(1, seq, hidden), "k": rnd(1, seq, hidden), "v": rnd(1, seq, hidden)}, nil
			}},
		{Op: "layernorm", Shape: fmt.Sprintf("%dx%d", seq, hidden), FLOPs: 8 * float64(seq*hidden), PerLayer: 2,
			build: func(b *graph.Builder) (map[string]graph.Value, mapWeights) {
				x := b.Input("x", graph.F32, seq, hidden)
				b.Output("y", b.LayerNorm(x, b.Weight("g", hidden), b.Weight("b", hidden), 1e-6))
				return map[string]graph.Value{"x": rnd(seq, hidden)}, mapWeights{"g": rnd(hidden), "b": rnd(hidden)}
			}},
		{Op: "gelu", Shape: fmt.Sprintf("%dx%d", seq, mlp), FLOPs: 10 * float64(seq*mlp),
			build: func(b *graph.Builder) (map[string]graph.Value, mapWeights) {
				x := b.Input("x", graph.F32, seq, mlp)
				b.Output("y", b.GELUTanh(x))
				return map[string]graph.Value{"x": rnd(seq, mlp)}, nil
			}},
	}
}

// KernelTiming is the measured time of a KernelCase.
type KernelTiming struct {
	Op    string `json:"op"`
	Shape string `json:"shape"`
	Heads int    `json:"heads,omitempty"`
	GELU  bool   `json:"gelu,omitempty"` // linear: with the fused GELU-tanh epilogue
	// PerLayer is how many times a layer runs the kernel (0: information
	// only, left out of the layer sum).
	PerLayer int     `json:"per_layer"`
	Kernel   string  `json:"kernel"` // the variant that ran
	Ms       float64 `json:"ms"`     // median time of one evaluation
	GFLOPs   float64 `json:"gflops"`
	Method   string  `json:"method"` // "timestamps" or "wall"
	Adapter  string  `json:"adapter"`
	// CPUMs is the CPU time of the whole process (every thread, user and
	// system) per evaluation, the median over rounds, where the OS reports
	// it (0 elsewhere). On a CPU adapter, whose worker threads run in this
	// process, FLOPs ÷ CPUMs × cores is the rate an otherwise idle machine
	// would reach, and it is steadier than the times when other processes
	// share the cores.
	CPUMs float64 `json:"cpu_ms,omitempty"`
}

// BenchKernel times case c on dev with the kernel choice of opts (Device and
// Timestamps are set by BenchKernel). Each round records reps evaluations in
// one submit; with timestamp queries a round's time is the median of its
// evaluations' GPU time, without them the submit's wall time over reps; the
// result is the median over rounds.
func BenchKernel(ctx context.Context, dev *gpu.Device, c KernelCase, opts Options, reps, rounds int) (KernelTiming, error) {
	b := graph.NewBuilder()
	inputs, weights := c.build(b)
	g, err := b.Build()
	if err != nil {
		return KernelTiming{}, err
	}
	p, err := graph.NewPlan(g)
	if err != nil {
		return KernelTiming{}, err
	}
	opts.Device = dev
	opts.Timestamps = dev.HasTimestamps()
	e, err := New(weights, opts)
	if err != nil {
		return KernelTiming{}, err
	}
	defer e.Close()
	// Warm up: compile, upload, first run.
	if _, err := e.Run(ctx, p, inputs); err != nil {
		return KernelTiming{}, err
	}
	kernels, err := e.Kernels(p)
	if err != nil {
		return KernelTiming{}, err
	}
	t := KernelTiming{Op: c.Op, Shape: c.Shape, Heads: c.Heads, GELU: c.GELU, PerLayer: c.PerLayer, Kernel: kernels[p.Steps[0]], Adapter: dev.Info().Name, Method: "wall"}
	if opts.Timestamps {
		t.Method = "timestamps"
	}
	var times, cpu []float64
	for range max(rounds, 1) {
		c0 := cputime.Process()
		d, err := e.repeat(ctx, p, max(reps, 1))
		if err != nil {
			return KernelTiming{}, err
		}
		times = append(times, d.Seconds())
		cpu = append(cpu, (cputime.Process()-c0).Seconds()/float64(max(reps, 1)))
	}
	t.Ms = median(times) * 1e3
	t.CPUMs = median(cpu) * 1e3
	t.GFLOPs = c.FLOPs / (t.Ms * 1e-3) / 1e9
	return t, nil
}

// LayerSummary is one encoder layer's time as the layer runs its kernels:
// the Linear layers (fc1 with its fused GELU) against attention and the
// two LayerNorms, the ratio gosig's CPU kernels are tuned for.
type LayerSummary struct {
	Op          string  `json:"op"`    // "layer"
	Shape       string  `json:"shape"` // seq x hidden x mlp
	Ms          float64 `json:"ms"`
	GFLOPs      float64 `json:"gflops"`
	MatmulMs    float64 `json:"matmul_ms"`    // 4 projections, fc1 (+GELU), fc2
	AttentionMs float64 `json:"attention_ms"` // the attention kernel
	LayerNormMs float64 `json:"layernorm_ms"` // both LayerNorms
	OtherMs     float64 `json:"other_ms"`     // attention + 2 LayerNorms
	OtherShare  float64 `json:"other_share"`  // other_ms / matmul_ms
	CPUMs       float64 `json:"cpu_ms,omitempty"`
	Adapter     string  `json:"adapter"`
}

// SummarizeLayer adds up the timings of cases (timings[i] of cases[i], as
// LayerCases returns them) by how often a layer runs each (PerLayer);
// cases a layer does not run are left out.
func SummarizeLayer(shape string, cases []KernelCase, timings []KernelTiming) LayerSummary {
	s := LayerSummary{Op: "layer", Shape: shape}
	var flops float64
	for i, c := range cases {
		t := timings[i]
		n := float64(c.PerLayer)
		s.Adapter = t.Adapter
		switch c.Op {
		case "linear":
			s.MatmulMs += n * t.Ms
		case "attention":
			s.AttentionMs += n * t.Ms
		case "layernorm":
			s.LayerNormMs += n * t.Ms
		default:
			if n != 0 {
				s.OtherMs += n * t.Ms
			}
		}
		s.CPUMs += n * t.CPUMs
		flops += n * c.FLOPs
	}
	s.OtherMs += s.AttentionMs + s.LayerNormMs
	s.Ms = s.MatmulMs + s.OtherMs
	if s.Ms > 0 {
		s.GFLOPs = flops / (s.Ms * 1e-3) / 1e9
	}
	if s.MatmulMs > 0 {
		s.OtherShare = s.OtherMs / s.MatmulMs
	}
	return s
}

// repeat records p's dispatches reps times in one submit and returns the
// time of one evaluation: the median over evaluations of their GPU time
// with timestamps, else the submit's wall time divided by reps.
func (e *Executor) repeat(ctx context.Context, p *graph.Plan, reps int) (time.Duration, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	pr, err := e.program(p)
	if err != nil {
		return 0, err
	}
	r := e.dev.NewRecorder("bench")
	r.Time(e.opts.Timestamps)
	for range reps {
		for i := range pr.steps {
			pr.steps[i].record(r)
		}
	}
	start := time.Now()
	res, err := r.Submit(ctx)
	wall := time.Since(start)
	if err != nil {
		return 0, err
	}
	e.stats.Submits++
	e.stats.Dispatches += int64(res.Dispatches)
	if res.Timings == nil {
		return wall / time.Duration(reps), nil
	}
	per := 0 // dispatches per evaluation; copies are not timed
	for _, d := range pr.steps {
		if d.copy == nil {
			per++
		}
	}
	evals := make([]float64, reps)
	for i, tm := range res.Timings {
		evals[i/per] += tm.Duration.Seconds()
	}
	return time.Duration(median(evals) * 1e9), nil
}

// mapWeights is the package's short name for graph.MapWeights.
type mapWeights = graph.MapWeights

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
