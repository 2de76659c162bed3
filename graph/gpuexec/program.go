package gpuexec

import (
	"fmt"

	"github.com/gosig/gosig/gpu"
	"github.com/gosig/gosig/graph"
	"github.com/gosig/gosig/shaders"
)

// Program is a plan compiled for the device: the arena buffer laid out as
// the plan says, the weights it reads, and the list of dispatches with their
// bind groups and parameters, all created once and replayed by every Run.
// Kernels add their dispatches to it while the program is built.
type Program struct {
	e     *Executor
	plan  *graph.Plan
	arena *gpu.Buffer

	pack     *gpu.UniformPack
	uniforms *gpu.Buffer
	scratch  []*gpu.Buffer
	shared   []*gpu.Buffer // SharedScratch buffers, also in scratch
	textures []*gpu.Texture
	steps    []dispatch
	// kernel names the variant chosen for each step node, for timings.
	kernel map[int]*Kernel
	// node is the graph node being built, for labels.
	node *graph.Node
}

// dispatch is one recorded kernel launch, or a copy of a buffer range
// into a texture (copy set, no pipeline) that the launches after it read.
type dispatch struct {
	label    string
	pipeline *gpu.Pipeline
	bindings []gpu.Binding
	params   *gpu.Binding // last binding, filled when the uniforms are uploaded
	group    *gpu.BindGroup
	x, y, z  uint32
	copy     *textureCopy
}

// textureCopy is a buffer-to-texture copy step (gpu.Recorder.CopyToTexture).
type textureCopy struct {
	src    *gpu.Buffer
	srcOff uint64
	dst    *gpu.Texture
	y      int // the first texture row filled
	texels int
}

// record adds the step to r.
func (d *dispatch) record(r *gpu.Recorder) {
	if c := d.copy; c != nil {
		r.CopyToTexture(c.src, c.srcOff, c.dst, c.y, c.texels)
		return
	}
	r.Dispatch(d.label, d.pipeline, d.group, d.x, d.y, d.z)
}

// CopyToTexture records a copy of texels texels (16 bytes each) of t's
// buffer, from t.Offset on, into the first texels of tex, row after row,
// before the dispatches recorded after it.
func (pr *Program) CopyToTexture(t Tensor, tex *gpu.Texture, texels int) {
	pr.CopyToTextureRow(t, tex, 0, texels)
}

// CopyToTextureRow is CopyToTexture into tex's rows from row y on, so that
// one texture can hold several operands one after another.
func (pr *Program) CopyToTextureRow(t Tensor, tex *gpu.Texture, y, texels int) {
	pr.steps = append(pr.steps, dispatch{label: pr.label(), copy: &textureCopy{src: t.Buffer, srcOff: t.Offset, dst: tex, y: y, texels: texels}})
}

// SharedTexture returns a texture of the given format and width with at
// least the given height, which other kernels of the program may use too
// (like SharedScratch): its contents are defined only from the copy that
// fills it to the last dispatch that reads it. The first large enough is
// reused, else a new one is made.
func (pr *Program) SharedTexture(label string, f gpu.TextureFormat, width, height int) (*gpu.Texture, error) {
	for _, t := range pr.textures {
		if t.Format() == f && t.Width() == width && t.Height() >= height {
			return t, nil
		}
	}
	t, err := pr.e.dev.NewTexture(label, f, width, height)
	if err != nil {
		return nil, err
	}
	pr.textures = append(pr.textures, t)
	return t, nil
}

// MaxTexture returns the largest side of a 2D texture kernels may use.
func (pr *Program) MaxTexture() int {
	m := int(pr.e.dev.Limits().MaxTextureDimension2D)
	if pr.e.opts.maxTexture > 0 {
		m = min(m, pr.e.opts.maxTexture)
	}
	return m
}

// Device returns the device the program runs on.
func (pr *Program) Device() *gpu.Device { return pr.e.dev }

// MaxBinding returns the largest storage buffer range one binding may
// cover; kernels split larger tensors.
func (pr *Program) MaxBinding() uint64 {
	m := pr.e.dev.Limits().MaxStorageBufferBindingSize
	if pr.e.opts.maxBinding > 0 {
		m = min(m, pr.e.opts.maxBinding)
	}
	return m
}

// Shader names a WGSL file of package shaders and the values of its
// override constants.
type Shader struct {
	Name      string
	Constants map[string]float64
}

// Pipeline returns the compiled pipeline of a shader (cached by the device).
func (pr *Program) Pipeline(s Shader) (*gpu.Pipeline, error) {
	src, err := shaders.Source(s.Name)
	if err != nil {
		return nil, err
	}
	return pr.e.dev.Pipeline(gpu.Shader{Name: s.Name, Source: src, Constants: s.Constants})
}

// Dispatch records a launch of workgroups workgroups of shader s, folded
// into a grid of at most 65535 in x (the shader computes its workgroup
// index as wid.x + wid.y·num_workgroups.x and skips indices past the end).
// bindings are the shader's storage bindings in order; params, if not nil,
// is bound as its last binding, a uniform.
func (pr *Program) Dispatch(s Shader, params *gpu.Params, workgroups int, bindings ...gpu.Binding) error {
	x, y := fold(workgroups, int(pr.e.dev.Limits().MaxComputeWorkgroupsPerDimension))
	return pr.DispatchGrid(s, params, x, y, 1, bindings...)
}

// fold spreads n workgroups over x·y ≥ n with x ≤ max.
func fold(n, max int) (x, y uint32) {
	if n <= max {
		return uint32(max1(n)), 1
	}
	yy := (n + max - 1) / max
	xx := (n + yy - 1) / yy
	return uint32(xx), uint32(yy)
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

// DispatchGrid records a launch on an explicit x·y·z grid of workgroups.
func (pr *Program) DispatchGrid(s Shader, params *gpu.Params, x, y, z uint32, bindings ...gpu.Binding) error {
	p, err := pr.Pipeline(s)
	if err != nil {
		return err
	}
	d := dispatch{pipeline: p, bindings: bindings, x: x, y: y, z: z, label: pr.label()}
	if params != nil {
		d.params = pr.pack.Add(params)
	}
	pr.steps = append(pr.steps, d)
	return nil
}

func (pr *Program) label() string {
	if pr.node == nil {
		return ""
	}
	k := pr.kernel[pr.node.ID]
	return fmt.Sprintf("%s [%s/%s]", pr.node.Name, pr.node.Op, k.Name)
}

// Scratch returns a zeroed storage buffer of the given size that lives as
// long as the program, for kernels that need temporary space.
func (pr *Program) Scratch(label string, bytes uint64) (Tensor, error) {
	b, err := pr.e.dev.NewBuffer(label, bytes, gpu.Storage)
	if err != nil {
		return Tensor{}, err
	}
	pr.scratch = append(pr.scratch, b)
	return Tensor{Buffer: b, Bytes: b.Size(), Shape: []int{int(bytes / 4)}}, nil
}

// SharedScratch returns a storage buffer of at least the given size that
// other kernels of the program may use too: its contents are defined only
// between the dispatches of the kernel that writes them. Dispatches run in
// order, so kernels that need large temporaries only while they run (the
// attention scores of every layer) share one buffer instead of holding one
// each: the first large enough is reused, else a new one is made.
func (pr *Program) SharedScratch(label string, bytes uint64) (Tensor, error) {
	for _, b := range pr.shared {
		if b.Size() >= bytes {
			return Tensor{Buffer: b, Bytes: b.Size(), Shape: []int{int(b.Size() / 4)}}, nil
		}
	}
	t, err := pr.Scratch(label, bytes)
	if err != nil {
		return Tensor{}, err
	}
	pr.shared = append(pr.shared, t.Buffer)
	return t, nil
}

// build compiles plan p: arena, weights, kernel choice and dispatches.
func (e *Executor) build(p *graph.Plan) (_ *Program, err error) {
	pr := &Program{e: e, plan: p, pack: e.dev.NewUniformPack(), kernel: map[int]*Kernel{}}
	defer func() {
		if err != nil {
			pr.release()
		}
	}()
	if uint64(p.ArenaBytes) > e.dev.Limits().MaxBufferSize {
		return nil, fmt.Errorf("gpuexec: the plan needs %d MiB of activations in one buffer; the adapter allows %d MiB: run smaller batches",
			p.ArenaBytes>>20, e.dev.Limits().MaxBufferSize>>20)
	}
	if pr.arena, err = e.dev.NewBuffer("arena", uint64(max(p.ArenaBytes, 4)), gpu.Storage); err != nil {
		return nil, err
	}
	for _, id := range p.Steps {
		n := p.Nodes[id]
		k, err := e.sel.choose(n, inputNodes(p, n), e.dev)
		if err != nil {
			return nil, err
		}
		pr.kernel[id] = k
		in := make([]Tensor, len(n.Inputs))
		for i, x := range n.Inputs {
			if x == graph.None {
				continue
			}
			f16 := n.Op == graph.OpLinear && i == 1 && k.F16Weights && e.opts.F16Weights
			if n.Op == graph.OpLinear && i == 1 && k.WeightTexture {
				in[i], err = pr.weightTexture(x, f16)
			} else {
				in[i], err = pr.tensor(x, f16)
			}
			if err != nil {
				return nil, fmt.Errorf("gpuexec: %s: %w", n.Name, err)
			}
		}
		out, err := pr.tensor(id, false)
		if err != nil {
			return nil, err
		}
		pr.node = n
		if err := k.Build(pr, n, in, out); err != nil {
			return nil, fmt.Errorf("gpuexec: %s (%s/%s): %w", n.Name, n.Op, k.Name, err)
		}
		pr.node = nil
	}
	if pr.uniforms, err = pr.pack.Upload(e.dev, "params"); err != nil {
		return nil, err
	}
	for i := range pr.steps {
		d := &pr.steps[i]
		if d.copy != nil {
			continue
		}
		bs := d.bindings
		if d.params != nil {
			bs = append(bs[:len(bs):len(bs)], *d.params)
		}
		if d.group, err = d.pipeline.BindGroup(bs...); err != nil {
			return nil, fmt.Errorf("gpuexec: %s: %w", d.label, err)
		}
	}
	return pr, nil
}

// inputNodes returns the nodes of n's inputs in graph order, nil for an
// absent optional input.
func inputNodes(p *graph.Plan, n *graph.Node) []*graph.Node {
	in := make([]*graph.Node, len(n.Inputs))
	for i, x := range n.Inputs {
		if x != graph.None {
			in[i] = p.Nodes[x]
		}
	}
	return in
}

// tensor returns where node id's data lives: a weight buffer (uploaded on
// first use), or its arena slot.
func (pr *Program) tensor(id int, f16 bool) (Tensor, error) {
	p := pr.plan
	n := p.Nodes[id]
	src := p.Nodes[p.Storage[id]]
	if src.Op == graph.OpWeight {
		w, err := pr.e.weights.get(src, f16)
		if err != nil {
			return Tensor{}, err
		}
		t := w.tensor()
		t.Shape = n.Shape
		return t, nil
	}
	s := p.SlotOf(id)
	return Tensor{Buffer: pr.arena, Offset: uint64(s.Offset), Bytes: uint64(s.Bytes), Shape: n.Shape}, nil
}

func (pr *Program) release() {
	for _, d := range pr.steps {
		if d.group != nil {
			d.group.Release()
		}
	}
	for _, b := range pr.scratch {
		b.Release()
	}
	for _, t := range pr.textures {
		t.Release()
	}
	if pr.uniforms != nil {
		pr.uniforms.Release()
	}
	if pr.arena != nil {
		pr.arena.Release()
	}
}
