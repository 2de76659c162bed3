package gpuexec

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/gosig/gosig/gpu"
	"github.com/gosig/gosig/graph"
)

// Target says which class of adapter a kernel variant is written for.
type Target uint8

// Targets. On lavapipe (a CPU adapter) workgroup memory and barriers are
// slow and long per-invocation loops over private arrays are fast; GPUs want
// workgroup-memory tiles.
const (
	Anywhere Target = iota // no preference
	ForCPU                 // CPU adapters: lavapipe, SwiftShader, WARP
	ForGPU                 // discrete, integrated and other GPUs
)

// Kernel is one GPU implementation (variant) of one graph op. Variants
// register themselves from an init function in their own file:
//
//	func init() {
//		register(Kernel{Op: graph.OpLinear, Name: "tiled", Target: ForCPU, Priority: 10, Build: buildTiled})
//	}
//
// For each node the executor picks, among the variants of its op whose
// Supports accepts it, the one suited to the adapter (Target), then the
// highest Priority. GOSIG_KERNELS or Options.Kernels override the choice.
type Kernel struct {
	Op   graph.Op
	Name string // unique per op; GOSIG_KERNELS names it ("attention=tiled")
	// Target is the adapter class the variant is tuned for.
	Target Target
	// Priority breaks ties among equally suited variants: higher wins.
	Priority int
	// F16Weights says that Build accepts a Linear's w (input 1) stored as
	// packed f16 when it is a weight and Options.F16Weights is set. Kernels
	// without it always get f32.
	F16Weights bool
	// WeightTexture says that Build takes a Linear's w (input 1) as a
	// texture (Tensor.Texture, laid out by linearTexWeight) instead of a
	// buffer. Such a kernel's Supports must refuse a w that is not a weight.
	WeightTexture bool
	// Supports reports whether the variant can compute node n, whose
	// inputs are in (graph order; nil for an absent optional input), on dev;
	// nil means every node of the op. Variants whose loops grow with the
	// shapes refuse, on CPU adapters, shapes past lavapipe's loop limit
	// (see withinLoopLimit).
	Supports func(n *graph.Node, in []*graph.Node, dev *gpu.Device) bool
	// Build records the dispatches that compute n into pr. in holds n's
	// inputs in graph order (an absent optional input is the zero Tensor);
	// out is where the result goes.
	Build func(pr *Program, n *graph.Node, in []Tensor, out Tensor) error
}

// registry holds every variant, registered at init and read-only after.
var registry = map[graph.Op][]Kernel{}

func register(k Kernel) {
	for _, o := range registry[k.Op] {
		if o.Name == k.Name {
			panic(fmt.Sprintf("gpuexec: kernel %s/%s registered twice", k.Op, k.Name))
		}
	}
	registry[k.Op] = append(registry[k.Op], k)
}

// Variants lists the registered variant names of op, for --help texts and
// error messages.
func Variants(op graph.Op) []string {
	var names []string
	for _, k := range registry[op] {
		names = append(names, k.Name)
	}
	sort.Strings(names)
	return names
}

// selection is a parsed kernel choice: an adapter class to tune for and
// per-op variant names.
type selection struct {
	class gpu.AdapterType // the class whose variants are preferred
	byOp  map[graph.Op]string
}

// parseSelection reads a kernel choice such as "cpu", "gpu",
// "attention=reg,linear=naive" or "gpu,layernorm=rows". Op names are
// case-insensitive.
func parseSelection(spec string, class gpu.AdapterType) (selection, error) {
	sel := selection{class: class, byOp: map[graph.Op]string{}}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		op, variant, ok := strings.Cut(item, "=")
		if !ok {
			switch strings.ToLower(item) {
			case "cpu":
				sel.class = gpu.CPU
			case "gpu":
				sel.class = gpu.Discrete
			default:
				return sel, fmt.Errorf("gpuexec: kernel choice %q: use cpu, gpu or op=variant (e.g. attention=tiled)", item)
			}
			continue
		}
		o, found := opByName(op)
		if !found {
			return sel, fmt.Errorf("gpuexec: kernel choice %q: unknown op %q", item, op)
		}
		if !slices.Contains(Variants(o), variant) {
			return sel, fmt.Errorf("gpuexec: kernel choice %q: %s has variants %s", item, o, strings.Join(Variants(o), ", "))
		}
		sel.byOp[o] = variant
	}
	return sel, nil
}

func opByName(name string) (graph.Op, bool) {
	for op := range registry {
		if strings.EqualFold(op.String(), name) {
			return op, true
		}
	}
	return 0, false
}

// UnsupportedError is the error of a run whose kernel choice (GOSIG_KERNELS
// or Options.Kernels) names, for a node, a variant that cannot run the
// node's shape on the adapter (a tile it does not have, a loop past
// lavapipe's limit). Benchmarks that time every variant skip such pairs.
type UnsupportedError struct {
	Node    string // the node's name
	Kernel  string // op/variant
	Shape   []int  // the node's output shape
	Adapter string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("gpuexec: %s: kernel %s (chosen by GOSIG_KERNELS or Options.Kernels) does not support %v on %s", e.Node, e.Kernel, e.Shape, e.Adapter)
}

// kernelSpec returns the choice from the option, else $GOSIG_KERNELS.
func kernelSpec(opt string) string {
	if opt != "" {
		return opt
	}
	return os.Getenv("GOSIG_KERNELS")
}

// choose picks the variant for node n, whose inputs are in.
func (s selection) choose(n *graph.Node, in []*graph.Node, dev *gpu.Device) (*Kernel, error) {
	ks := registry[n.Op]
	if want, ok := s.byOp[n.Op]; ok {
		for i := range ks {
			if ks[i].Name == want {
				if ks[i].Supports != nil && !ks[i].Supports(n, in, dev) {
					return nil, &UnsupportedError{Node: n.Name, Kernel: n.Op.String() + "/" + want, Shape: n.Shape, Adapter: dev.Info().Name}
				}
				return &ks[i], nil
			}
		}
	}
	suit := func(t Target) int {
		switch {
		case t == Anywhere:
			return 1
		case (t == ForCPU) == (s.class == gpu.CPU):
			return 2
		}
		return 0
	}
	var best *Kernel
	for i := range ks {
		k := &ks[i]
		if k.Supports != nil && !k.Supports(n, in, dev) {
			continue
		}
		if best == nil || suit(k.Target) > suit(best.Target) ||
			suit(k.Target) == suit(best.Target) && k.Priority > best.Priority {
			best = k
		}
	}
	if best == nil {
		return nil, fmt.Errorf("gpuexec: %s: no GPU kernel for %s %v (variants: %s)", n.Name, n.Op, n.Shape, strings.Join(Variants(n.Op), ", "))
	}
	return best, nil
}

// Tensor is a node's data on the device: a range of a buffer and the
// node's shape. A weight stored as f16 (Options.F16Weights, Linear's w only)
// has F16 set and holds two values per 32-bit word, low half first, to be
// read with unpack2x16float. A Linear's w given to a kernel with
// WeightTexture is a texture instead (Texture set, Buffer nil).
type Tensor struct {
	Buffer  *gpu.Buffer
	Offset  uint64
	Bytes   uint64
	Shape   []int
	F16     bool
	Texture *gpu.Texture
}

// Valid reports whether t is present (absent optional inputs are not).
func (t Tensor) Valid() bool { return t.Buffer != nil }

// Elems returns the number of elements of t's shape.
func (t Tensor) Elems() int { return graph.Elems(t.Shape) }

// Binding returns t's buffer range for a bind group.
func (t Tensor) Binding() gpu.Binding {
	return gpu.Binding{Buffer: t.Buffer, Offset: t.Offset, Size: t.Bytes}
}

// Or returns t's binding, or fallback's when t is absent: kernels bind some
// buffer to an optional input's slot and tell the shader it is absent.
func (t Tensor) Or(fallback Tensor) gpu.Binding {
	if t.Valid() {
		return t.Binding()
	}
	return fallback.Binding()
}
