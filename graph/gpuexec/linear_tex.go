package gpuexec

import (
	"fmt"
	"math"

	"github.com/x448/float16"

	"github.com/gosig/gosig/gpu"
	"github.com/gosig/gosig/graph"
)

// The reg_tex Linear kernel (CPU adapters): the register tiling of reg,
// with both operands read through read-only storage textures
// (shaders/linear_regtex_TMxTN.wgsl, generated with reg's by
// linear_gen_test.go). On lavapipe a storage-buffer load loops over the
// SIMD lanes with a branch per lane; a storage-texture load does not. Each
// lane owns quads of 4 adjacent columns, so that y, the bias and the
// residual move as vec4, and the bias starts the accumulators. At
// SigLIP2-base's shapes (256×768×768, 256×768×3072, 256×3072×768, f32) on
// this project's 2-core lavapipe it ran 31–34 GFLOP/s at 256-bit vectors
// against reg's 14–17, and 43–63 at 512-bit vectors (gpu sets them on
// AVX-512 CPUs), where reg stays at 15–19 (BenchmarkLinear, GPU
// timestamps, same-run medians; the process's CPU time says the same).
//
// w is uploaded once per executor as a texture (weightCache.texture, laid
// out by linearTexWeight, f32 or packed f16); x is copied into a texture
// shared by the program's Linear layers before each dispatch, which costs a
// memcpy of x (1–2% of the multiply). The kernel needs the adapter's
// read-only storage textures, K and N multiples of 4 and a w that is a
// weight; the automatic choice falls back to reg otherwise.
func init() {
	register(Kernel{Op: graph.OpLinear, Name: "reg_tex", Target: ForCPU, Priority: 20, F16Weights: true, WeightTexture: true,
		Supports: linearRegTexSupports, Build: linearRegTex})
}

// linearRegTexTiles are reg_tex's generated tiles: the same blocks as reg
// (32×24 for most layers, 8×32 up to linearSmallM rows). With texture
// operands on lavapipe, 32×24 and 32×16 ran alike at 256- and 512-bit
// vectors; 24×32, 16×32, 32×32 and 48×16 ran 5–30% slower (same-run
// medians of CPU time at 256×768×768; the wide tiles also pad N = 768 to
// a multiple of 16 lanes × 32 columns). Lavapipe compiles 32×24 in about
// 6 s on this 2-core machine (8×32: 1.3 s; reg's 32×24: 11 s), once per
// weight precision and vector width; Mesa's shader cache keeps it.
var linearRegTexTiles = []regTile{{32, 24, true}, {8, 32, true}}

// linearTexXWidth is the width in texels of x's texture: rows of 64 KiB, a
// multiple of the 256 bytes that buffer-to-texture copies need whatever K
// is, since x is copied as one flat run of texels.
const linearTexXWidth = 4096

// linearTexLanes returns reg_tex's workgroup size on dev, which is also
// the number of rows of w interleaved in its texture: the lanes of one SIMD
// vector of a CPU adapter that says (lavapipe at 512 bits: 16), else 8.
func linearTexLanes(dev *gpu.Device) int {
	if l := dev.Info().SIMDLanes(); l == 16 {
		return l
	}
	return 8
}

// linearTexWeight lays out w [n, k] (row-major) as the texels of reg_tex's
// weight texture for a workgroup of lanes invocations: row r = 4·(G·lanes +
// l) + e (quad group G, lane l, column e of the quad), padded with zeros to
// a multiple of 8 k, split into texels of 4 f32 (or, with f16, of 8 halves
// packed two per u32, low half first), texel q at (q·lanes + l, 4·G + e).
// It returns the texels' 32-bit words and the texture's size.
func linearTexWeight(w []float32, n, k int, f16 bool, lanes int) (words []uint32, width, height int) {
	k8 := (k + 7) / 8 * 8
	per := 4 // values per texel
	if f16 {
		per = 8
	}
	q := k8 / per // texels per row of w
	width, height = lanes*q, 4*ceilDiv(n, 4*lanes)
	words = make([]uint32, 4*width*height)
	for r := range n {
		row := w[r*k : (r+1)*k]
		g, l, e := r/(4*lanes), r/4%lanes, r%4
		for t := range q {
			o := 4 * ((4*g+e)*width + t*lanes + l)
			for c := range per {
				kk := t*per + c
				if kk >= k {
					break
				}
				if f16 {
					words[o+c/2] |= uint32(float16.Fromfloat32(row[kk]).Bits()) << (16 * (c % 2))
				} else {
					words[o+c] = math.Float32bits(row[kk])
				}
			}
		}
	}
	return words, width, height
}

// linearTexFits reports whether a w of k columns and n rows fits reg_tex's
// textures on a device whose textures have sides up to maxDim (f32, the
// wider of the two layouts), and whether reg_tex's loops stay within
// lavapipe's limit.
func linearTexFits(dev *gpu.Device, k, n, maxDim int) bool {
	k8 := (k + 7) / 8 * 8
	tile := linearRegTexTiles[0]
	trips := k8/8 + tile.tm + tile.tm*tile.tn
	lanes := linearTexLanes(dev)
	return lanes*k8/4 <= maxDim && 4*ceilDiv(n, 4*lanes) <= maxDim &&
		(k/4+linearTexXWidth-1)/linearTexXWidth <= maxDim && withinLoopLimit(dev, trips)
}

func linearRegTexSupports(n *graph.Node, in []*graph.Node, dev *gpu.Device) bool {
	if !dev.HasStorageTextureRead() || in[1] == nil || in[1].Op != graph.OpWeight || len(in[1].Shape) != 2 {
		return false
	}
	k, nOut := in[1].Shape[1], in[1].Shape[0]
	return k%4 == 0 && nOut%4 == 0 && linearTexFits(dev, k, nOut, int(dev.Limits().MaxTextureDimension2D))
}

// weightTexture returns node id, a weight, as reg_tex's texture.
func (pr *Program) weightTexture(id int, f16 bool) (Tensor, error) {
	p := pr.plan
	src := p.Nodes[p.Storage[id]]
	if src.Op != graph.OpWeight {
		return Tensor{}, fmt.Errorf("%s is not a weight; the kernel reads w from a texture uploaded once", src.Name)
	}
	w, err := pr.e.weights.texture(src, f16)
	if err != nil {
		return Tensor{}, err
	}
	t := w.tensor()
	t.Shape = p.Nodes[id].Shape
	return t, nil
}

func linearRegTex(pr *Program, n *graph.Node, in []Tensor, out Tensor) error {
	o := newLinearOperands(n, in, out)
	if o.w.Texture == nil || o.k%4 != 0 || o.n%4 != 0 {
		return fmt.Errorf("reg_tex needs w as a texture, K %% 4 == 0 and N %% 4 == 0, got K=%d, N=%d", o.k, o.n)
	}
	tile := linearRegTexTiles[0]
	if o.m <= linearSmallM {
		tile = linearRegTexTiles[1]
	}
	k4 := o.k / 4
	lanes := linearTexLanes(pr.Device())
	groups := ceilDiv(o.n, 4*lanes) // quad groups: 4·lanes columns
	cblocks := ceilDiv(groups, tile.tn/4)
	// Rows per chunk: y and the residual within a storage binding, x's
	// texels within a texture.
	maxRows := linearTexXWidth * pr.MaxTexture() / k4
	consts := map[string]float64{"F16": b2f(o.w.F16), "WG": float64(lanes)}
	dummy, err := linearTexDummy(pr, o.w.F16)
	if err != nil {
		return err
	}
	return o.rowChunks(pr, uint64(o.n)*4, maxRows, func(r0, rows int) error {
		texels := rows * k4
		xt, err := pr.SharedTexture("linear x", gpu.RGBA32Float, linearTexXWidth, ceilDiv(texels, linearTexXWidth))
		if err != nil {
			return err
		}
		x := o.x
		x.Offset += uint64(r0*o.k) * 4
		pr.CopyToTexture(x, xt, texels)
		total := ceilDiv(rows, tile.tm) * cblocks
		par := new(gpu.Params).U32(u32(rows)).U32(u32(k4)).U32(u32(o.n / 4)).U32(o.flags).U32(u32(cblocks)).U32(u32(total)).U32(u32(groups))
		w32, w16 := gpu.Binding{Texture: o.w.Texture}, gpu.Binding{Texture: dummy}
		if o.w.F16 {
			w32, w16 = w16, w32
		}
		y := rowsOf(o.out, o.n, r0, rows)
		bias, resid := y, y
		if o.bias.Valid() {
			bias = o.bias.Binding()
		}
		if o.resid.Valid() {
			resid = rowsOf(o.resid, o.n, r0, rows)
		}
		return pr.Dispatch(Shader{Name: tile.shader(), Constants: consts}, par, total, gpu.Binding{Texture: xt}, w32, w16, bias, resid, y)
	})
}

// linearTexDummy returns a 1×1 texture of the format reg_tex does not
// read (rgba32uint for f32 weights, rgba32float for f16), for the binding
// the shader declares but skips.
func linearTexDummy(pr *Program, f16 bool) (*gpu.Texture, error) {
	f := gpu.RGBA32Uint
	if f16 {
		f = gpu.RGBA32Float
	}
	return pr.SharedTexture("linear unused w", f, 1, 1)
}
