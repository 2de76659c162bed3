// Package gpuexec runs graph plans on a WebGPU device with the WGSL kernels
// of package shaders. It implements graph.Executor.
//
// Each plan is compiled once into a Program: one arena buffer laid out as
// the plan's slots say, the plan's weights (uploaded once per executor and
// shared by all plans, optionally as f16), one uniform buffer holding every
// kernel's parameters, and a bind group per dispatch. A Run then writes the
// inputs with queue writes, records every dispatch into one command encoder,
// submits once and reads back only the outputs.
//
// Each op has one or more kernel variants (see Kernel); the executor picks
// the one suited to the adapter class (CPU adapters such as lavapipe, or
// GPUs). GOSIG_KERNELS or Options.Kernels override the choice, e.g.
// GOSIG_KERNELS=gpu or GOSIG_KERNELS=attention=reg,layernorm=wg.
package gpuexec

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gosig/gosig/gpu"
	"github.com/gosig/gosig/graph"
)

// Options configure an Executor.
type Options struct {
	// Device runs the kernels; nil opens one with GPU (the executor then
	// closes it in Close).
	Device *gpu.Device
	// GPU chooses the backend and adapter when Device is nil.
	GPU gpu.Options
	// F16Weights stores the weights of Linear layers as f16, halving their
	// memory, where the chosen Linear kernel reads f16 (Kernel.F16Weights).
	F16Weights bool
	// Kernels overrides the kernel choice: "cpu" or "gpu" (tune for that
	// adapter class) and/or op=variant items, comma-separated; empty means
	// $GOSIG_KERNELS, then automatic.
	Kernels string
	// Timestamps times every dispatch with GPU timestamp queries, where the
	// adapter has them (see Timings). It costs a compute pass per dispatch.
	Timestamps bool

	// maxBinding, when set, lowers the storage binding size kernels plan
	// for, so that tests reach the chunked paths with small tensors.
	maxBinding uint64
	// maxTexture, when set, lowers the texture side kernels plan for, for
	// the same reason.
	maxTexture int
}

// Stats count what the executor has done since it was created.
type Stats struct {
	Runs        int64 // Run calls that submitted
	Submits     int64 // queue submits (one per Run)
	Dispatches  int64 // kernel dispatches submitted
	Programs    int   // plans compiled and cached
	WeightBytes int64 // bytes of weights on the device
	InputBytes  int64 // bytes written for inputs
	OutputBytes int64 // bytes read back
}

// Executor runs plans on one device. Runs are serialised (a plan's arena is
// shared by its runs); the executor is safe for concurrent use.
type Executor struct {
	dev     *gpu.Device
	ownsDev bool
	opts    Options
	sel     selection
	weights *weightCache

	mu       sync.Mutex
	closed   bool
	programs map[*graph.Plan]*Program
	stats    Stats
	timings  []gpu.Timing
}

// New returns an executor that reads weights from src (which may be nil
// for graphs without weights).
func New(src graph.Weights, opts Options) (*Executor, error) {
	dev, owns := opts.Device, false
	if dev == nil {
		var err error
		if dev, err = gpu.Open(opts.GPU); err != nil {
			return nil, err
		}
		owns = true
	}
	sel, err := parseSelection(kernelSpec(opts.Kernels), dev.Info().Type)
	if err != nil {
		if owns {
			dev.Close()
		}
		return nil, err
	}
	return &Executor{
		dev:      dev,
		ownsDev:  owns,
		opts:     opts,
		sel:      sel,
		weights:  &weightCache{dev: dev, src: src, bufs: map[weightKey]*weight{}},
		programs: map[*graph.Plan]*Program{},
	}, nil
}

// Name returns "gpu: " and the adapter's name.
func (e *Executor) Name() string { return "gpu: " + e.dev.Info().Name }

// Device returns the device the executor runs on.
func (e *Executor) Device() *gpu.Device { return e.dev }

// Stats returns the executor's counters.
func (e *Executor) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.stats
	s.Programs = len(e.programs)
	e.weights.mu.Lock()
	s.WeightBytes = e.weights.bytes
	e.weights.mu.Unlock()
	return s
}

// Timings returns the per-dispatch GPU times of the last Run, when
// Options.Timestamps is set and the adapter has timestamp queries. Labels
// read "node name [Op/variant]".
func (e *Executor) Timings() []gpu.Timing {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]gpu.Timing(nil), e.timings...)
}

// Kernels returns the variant chosen for each step of p, by node ID,
// compiling p if needed.
func (e *Executor) Kernels(p *graph.Plan) (map[int]string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	pr, err := e.program(p)
	if err != nil {
		return nil, err
	}
	out := map[int]string{}
	for id, k := range pr.kernel {
		out[id] = k.Name
	}
	return out, nil
}

// program returns p's compiled program, building it on first use; e.mu is
// held.
func (e *Executor) program(p *graph.Plan) (*Program, error) {
	if e.closed {
		return nil, fmt.Errorf("gpuexec: executor is closed")
	}
	if pr, ok := e.programs[p]; ok {
		return pr, nil
	}
	pr, err := e.build(p)
	if err != nil {
		return nil, err
	}
	e.programs[p] = pr
	return pr, nil
}

// Forget releases the device resources compiled for p (its arena, bind
// groups, parameters), keeping the shared weights. A later Run of p compiles
// it again.
func (e *Executor) Forget(p *graph.Plan) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if pr, ok := e.programs[p]; ok {
		pr.release()
		delete(e.programs, p)
	}
}

// Run executes p: inputs are written to the arena, every step is recorded
// into one command encoder, submitted once, and the outputs are read back.
func (e *Executor) Run(ctx context.Context, p *graph.Plan, inputs map[string]graph.Value) (map[string]graph.Value, error) {
	if err := graph.CheckInputs(p, inputs); err != nil {
		return nil, err
	}
	if err := checkGatherIDs(p, inputs); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	pr, err := e.program(p)
	if err != nil {
		return nil, err
	}
	var inBytes int64
	for _, n := range p.LiveInputs() {
		v := inputs[n.Name]
		var raw []byte
		if n.DType == graph.I32 {
			raw = gpu.Bytes(v.I32)
		} else {
			raw = gpu.Bytes(v.F32)
		}
		if err := e.dev.Write(pr.arena, uint64(p.Slots[n.ID].Offset), raw); err != nil {
			return nil, fmt.Errorf("gpuexec: input %q: %w", n.Name, err)
		}
		inBytes += int64(len(raw))
	}
	r := e.dev.NewRecorder("run")
	r.Time(e.opts.Timestamps)
	for i := range pr.steps {
		pr.steps[i].record(r)
	}
	type read struct {
		out graph.Output
		rb  *gpu.Readback
	}
	var reads []read
	var outBytes int64
	for _, o := range p.Outputs {
		t, err := pr.tensor(o.ID, false)
		if err != nil {
			return nil, err
		}
		reads = append(reads, read{o, r.Readback(t.Buffer, t.Offset, uint64(4*t.Elems()))})
		outBytes += int64(4 * t.Elems())
	}
	res, err := r.Submit(ctx)
	if err != nil {
		return nil, fmt.Errorf("gpuexec: %w", err)
	}
	e.stats.Runs++
	e.stats.Submits++
	e.stats.Dispatches += int64(res.Dispatches)
	e.stats.InputBytes += inBytes
	e.stats.OutputBytes += outBytes
	e.timings = res.Timings

	out := make(map[string]graph.Value, len(reads))
	for _, rd := range reads {
		n := p.Nodes[rd.out.ID]
		v := graph.Value{Shape: append([]int(nil), n.Shape...)}
		if n.DType == graph.I32 {
			v.I32 = gpu.Int32s(rd.rb.Bytes())
		} else {
			v.F32 = rd.rb.Float32s()
		}
		out[rd.out.Name] = v
	}
	return out, nil
}

// checkGatherIDs rejects token ids outside a Gather's table before anything
// runs: the kernel would clamp them to row 0.
func checkGatherIDs(p *graph.Plan, inputs map[string]graph.Value) error {
	for _, id := range p.Steps {
		n := p.Nodes[id]
		if n.Op != graph.OpGather {
			continue
		}
		src := p.Nodes[p.Storage[n.Inputs[1]]]
		if src.Op != graph.OpInput {
			continue
		}
		vocab := p.Nodes[n.Inputs[0]].Shape[0]
		if err := graph.CheckIDs(src.Name, inputs[src.Name].I32, vocab); err != nil {
			return err
		}
	}
	return nil
}

// Close releases every program and weight, and the device if the executor
// opened it.
func (e *Executor) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	for _, pr := range e.programs {
		pr.release()
	}
	e.programs = nil
	e.weights.release()
	if e.ownsDev {
		return e.dev.Close()
	}
	return nil
}

// Summary adds up timings by shader, for benchmarks and `gosig bench`.
func Summary(ts []gpu.Timing) map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, t := range ts {
		out[t.Shader] += t.Duration
	}
	return out
}
