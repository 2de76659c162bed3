package gpuexec

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/gosig/gosig/gpu"
	"github.com/gosig/gosig/graph"
)

// The tuned Linear kernels, y = act(x·wᵀ + bias) + residual (see
// linear_naive.go for the reference kernel and the epilogue flags):
//
//   - reg (CPU adapters): shaders/linear_reg_TMxTN.wgsl, each invocation a
//     register block of y written out unrolled (linear_gen_test.go generates
//     the files). On lavapipe a load costs ~100 instructions per SIMD vector
//     of lanes and a multiply-add one, so the block is large (32×24); a
//     second, narrow block serves the few-row layers (pooling heads, a short
//     batch). It needs K % 4 == 0 (every SigLIP layer has it) and hands
//     other K to the tiled kernel.
//   - reg_tex (CPU adapters, the default where the adapter has read-only
//     storage textures): reg's tiling with both operands read through
//     textures, which lavapipe loads far more cheaply (linear_tex.go).
//   - tiled (GPUs): shaders/linear_tiled.wgsl, the textbook shared-memory
//     tiling with its tile sizes as override constants.
//
// Both read f32 or packed f16 weights (Options.F16Weights) and split the
// rows of x, y and residual into chunks that fit the adapter's storage
// binding size. GOSIG_KERNELS=linear=NAME (or Options.Kernels) overrides the
// automatic choice.
func init() {
	register(Kernel{Op: graph.OpLinear, Name: "reg", Target: ForCPU, Priority: 10, F16Weights: true, Build: linearReg})
	register(Kernel{Op: graph.OpLinear, Name: "tiled", Target: ForGPU, Priority: 10, F16Weights: true, Build: linearTiled})
}

// regTile is the block of y one invocation of the reg (or, with tex, the
// reg_tex) kernel computes.
type regTile struct {
	tm, tn int
	tex    bool
}

// shader names the generated WGSL file of the tile.
func (t regTile) shader() string {
	if t.tex {
		return fmt.Sprintf("linear_regtex_%dx%d.wgsl", t.tm, t.tn)
	}
	return fmt.Sprintf("linear_reg_%dx%d.wgsl", t.tm, t.tn)
}

// linearRegTiles are the generated tiles: 32×24 for most layers and 8×32
// for layers of at most linearSmallM rows, where a taller tile would mostly
// compute clamped copies of the last row. On lavapipe (2 cores, 256-bit,
// LLVM 15) at SigLIP2-base's shapes 32×24 ran 20–30% faster than 16×16 and
// a little faster than 24×24 (register blocks from 8×32 to 32×24 were
// measured, same-run, by GPU timestamps and by CPU time). The price is
// compile time: lavapipe compiles a pipeline on its first dispatch, 32×24
// in about 13 s on an idle 2-core machine (16×16: 3 s), once per weight
// precision; Mesa's on-disk shader cache keeps the result for later runs.
var linearRegTiles = []regTile{{32, 24, false}, {8, 32, false}}

// linearRegWG is the reg kernel's workgroup size: one SIMD vector of lanes on
// lavapipe at 256 bits.
const linearRegWG = 8

// linearSmallM is the row count up to which the reg kernel uses its narrow
// tile.
const linearSmallM = 8

// linearChunkAlign is the row granularity of chunks: a multiple of every
// tile height, and 64·4 bytes keeps every chunk's offset a multiple of 256,
// the largest storage offset alignment WebGPU allows adapters to ask.
const linearChunkAlign = 64

// linearOperands are a Linear node's tensors and sizes.
type linearOperands struct {
	m, k, n                int
	x, w, bias, resid, out Tensor
	flags                  uint32
}

func newLinearOperands(n *graph.Node, in []Tensor, out Tensor) linearOperands {
	m, k, nOut := LinearDims(in)
	return linearOperands{m: m, k: k, n: nOut, x: in[0], w: in[1], bias: in[2], resid: in[3], out: out, flags: LinearFlags(n, in)}
}

// chunks calls f for consecutive row ranges [r0, r0+rows) of x whose x, y
// and residual bytes each fit one storage binding of pr's device.
func (o linearOperands) chunks(pr *Program, f func(r0, rows int) error) error {
	maxB := pr.MaxBinding()
	if o.w.Bytes > maxB {
		return fmt.Errorf("w %v takes %d MiB, over the adapter's %d MiB storage binding: use fewer outputs (N)", o.w.Shape, o.w.Bytes>>20, maxB>>20)
	}
	return o.rowChunks(pr, uint64(max(o.k, o.n))*4, 0, f)
}

// rowChunks calls f for consecutive row ranges [r0, r0+rows) of at most
// maxRows rows (0: any number) whose bytes, perRow a row, fit one storage
// binding of pr's device; chunks are multiples of linearChunkAlign rows.
func (o linearOperands) rowChunks(pr *Program, perRow uint64, maxRows int, f func(r0, rows int) error) error {
	maxB := pr.MaxBinding()
	rows := o.m
	if uint64(o.m)*perRow > maxB || maxRows > 0 && o.m > maxRows {
		rows = int(maxB / perRow)
		if maxRows > 0 {
			rows = min(rows, maxRows)
		}
		rows = rows / linearChunkAlign * linearChunkAlign
		if rows == 0 {
			return fmt.Errorf("%d rows of K=%d, N=%d: %d rows do not fit the adapter's %d MiB storage binding and %d-row limit", o.m, o.k, o.n, linearChunkAlign, maxB>>20, maxRows)
		}
	}
	for r0 := 0; r0 < o.m; r0 += rows {
		if err := f(r0, min(rows, o.m-r0)); err != nil {
			return err
		}
	}
	return nil
}

// rows returns the binding of rows [r0, r0+n) of t, a row-major matrix
// with the given row length.
func rowsOf(t Tensor, rowLen, r0, n int) gpu.Binding {
	return gpu.Binding{Buffer: t.Buffer, Offset: t.Offset + uint64(r0*rowLen)*4, Size: uint64(n*rowLen) * 4}
}

// bindings returns the seven bindings both tuned shaders declare, for rows
// [r0, r0+rows): x, w (f32), w (f16), bias, residual, y; absent or unused
// slots get x's range.
func (o linearOperands) bindings(r0, rows int) []gpu.Binding {
	x := rowsOf(o.x, o.k, r0, rows)
	w32, w16 := x, x
	if o.w.F16 {
		w16 = o.w.Binding()
	} else {
		w32 = o.w.Binding()
	}
	bias, resid := x, x
	if o.bias.Valid() {
		bias = o.bias.Binding()
	}
	if o.resid.Valid() {
		resid = rowsOf(o.resid, o.n, r0, rows)
	}
	return []gpu.Binding{x, w32, w16, bias, resid, rowsOf(o.out, o.n, r0, rows)}
}

func linearReg(pr *Program, n *graph.Node, in []Tensor, out Tensor) error {
	o := newLinearOperands(n, in, out)
	if o.k%4 != 0 {
		// The vec4 rows need K % 4 == 0 (every SigLIP layer has it); the
		// tiled kernel reads any K.
		return linearTiled(pr, n, in, out)
	}
	tile := linearRegTiles[0]
	if o.m <= linearSmallM {
		tile = linearRegTiles[1]
	}
	consts := map[string]float64{"WG": linearRegWG, "F16": b2f(o.w.F16)}
	cblocks := ceilDiv(o.n, linearRegWG*tile.tn)
	return o.chunks(pr, func(r0, rows int) error {
		total := ceilDiv(rows, tile.tm) * cblocks
		par := new(gpu.Params).U32(u32(rows)).U32(u32(o.k)).U32(u32(o.n)).U32(o.flags).U32(u32(cblocks)).U32(u32(total))
		return pr.Dispatch(Shader{Name: tile.shader(), Constants: consts}, par, total, o.bindings(r0, rows)...)
	})
}

// linearTiledConfig is the tiled kernel's blocking: a BM×BN block of y per
// workgroup, BK columns of k staged at a time, TM×TN outputs per invocation.
type linearTiledConfig struct{ bm, bn, bk, tm, tn int }

// constants returns the shader's override values.
func (c linearTiledConfig) constants(f16 bool) map[string]float64 {
	return map[string]float64{
		"BM": float64(c.bm), "BN": float64(c.bn), "BK": float64(c.bk), "TM": float64(c.tm), "TN": float64(c.tn),
		"WX": float64(c.bn / c.tn), "WY": float64(c.bm / c.tm),
		"XS": float64(c.bk * (c.bm + 1)), "WS": float64(c.bk * (c.bn + 1)), "TMN": float64(c.tm * c.tn),
		"F16": b2f(f16),
	}
}

// linearTiledDefault is 64×64 blocks of 4×4 micro-tiles (256 invocations)
// staging 16 k at a time: 8.3 KiB of workgroup memory, within every
// adapter's 16 KiB minimum.
var linearTiledDefault = linearTiledConfig{bm: 64, bn: 64, bk: 16, tm: 4, tn: 4}

func linearTiled(pr *Program, n *graph.Node, in []Tensor, out Tensor) error {
	o := newLinearOperands(n, in, out)
	c := linearTiledDefault
	consts := c.constants(o.w.F16)
	return o.chunks(pr, func(r0, rows int) error {
		gx, gy := ceilDiv(o.n, c.bn), ceilDiv(rows, c.bm)
		if lim := int(pr.Device().Limits().MaxComputeWorkgroupsPerDimension); gx > lim || gy > lim {
			return fmt.Errorf("a %d×%d grid of %d×%d blocks exceeds the adapter's %d workgroups per dimension", gy, gx, c.bm, c.bn, lim)
		}
		par := new(gpu.Params).U32(u32(rows)).U32(u32(o.k)).U32(u32(o.n)).U32(o.flags)
		return pr.DispatchGrid(Shader{Name: "linear_tiled.wgsl", Constants: consts}, par, u32(gx), u32(gy), 1, o.bindings(r0, rows)...)
	})
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// LinearCase is a kernel benchmark of one Linear layer with bias, x [m, k]
// and w [n, k], on random normal data, for BenchKernel (gosig bench kernels).
func LinearCase(m, k, n int) KernelCase {
	return KernelCase{Op: "linear", Shape: fmt.Sprintf("%dx%dx%d", m, k, n), FLOPs: 2 * float64(m) * float64(k) * float64(n),
		build: func(b *graph.Builder) (map[string]graph.Value, mapWeights) {
			rng := rand.New(rand.NewPCG(uint64(m), uint64(k*n)))
			rnd := func(shape ...int) graph.Value {
				v := make([]float32, graph.Elems(shape))
				for i := range v {
					v[i] = float32(rng.NormFloat64())
				}
				return graph.F32Value(v, shape...)
			}
			x := b.Input("x", graph.F32, m, k)
			b.Output("y", b.Linear(x, b.Weight("w", n, k), b.Weight("b", n)))
			return map[string]graph.Value{"x": rnd(m, k)}, mapWeights{"w": rnd(n, k), "b": rnd(n)}
		}}
}

// BenchLinear times one Linear shape on dev with the given kernel choice
// ("" automatic, or e.g. "linear=reg") and weight precision: reps
// evaluations per submit, the median over rounds. The timing has the
// variant that ran, milliseconds per evaluation and GFLOP/s (2·M·K·N).
func BenchLinear(ctx context.Context, dev *gpu.Device, m, k, n int, kernels string, f16 bool, reps, rounds int) (KernelTiming, error) {
	return BenchKernel(ctx, dev, LinearCase(m, k, n), Options{Kernels: kernels, F16Weights: f16}, reps, rounds)
}
