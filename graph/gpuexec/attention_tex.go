package gpuexec

import (
	"fmt"
	"math"

	"github.com/gosig/gosig/gpu"
	"github.com/gosig/gosig/graph"
)

// Attention/mm_tex (CPU adapters with read-only storage textures, the
// default there where flash_tex has no kernel: the pooling head's probe
// and heads other than 64, 72 and 96): mm's three dispatches per chunk of batch·heads, with
// every operand the kernels read taken from one read-only storage texture
// instead of storage buffers (on lavapipe a storage-buffer access is a
// loop over the SIMD lanes with branches per lane; see gpu.Texture). q, k
// and v are copied, flat, into the texture before the first dispatch; the
// scores kernel (attention_scores_tex_*.wgsl) reads q and k from it; after
// the row scale the chunk's weights and softmax factors are copied into it
// too, and the product kernel (attention_pv_tex_*.wgsl) reads w, the
// factors and v from it and touches no storage buffer but its output.
// Workgroups are one SIMD vector of lanes (linearTexLanes: 16 at lavapipe's
// 512-bit vectors); mm's 8 lanes ran 20–27% slower with textures at 512 bits.
//
// Measured on this project's 2-core lavapipe at 512-bit vectors (wall time
// of 4 evaluations per submit, copies included, same-run medians of 9):
// SigLIP2-base (256 queries and keys, 12 heads of 64) 15.5 ms against mm's
// 17.8; so400m (729, 16 heads of 72) 176 against 177; so400m's pooling
// probe (1 query over 729 keys) 3.3 against 4.1. What is left is the
// scores kernel's stores of the weights (Sq·Sk·H floats): lavapipe stores
// to a buffer (or a storage texture, measured alike) one lane at a time,
// and without those stores the scores kernel ran in 3.7 ms of its 9 at
// SigLIP2-base. flash_tex, which never materialises the weights, removes
// them.
func init() {
	register(Kernel{Op: graph.OpAttention, Name: "mm_tex", Target: ForCPU, Priority: 15, Supports: attentionMMTexSupports, Build: attentionMMTex})
}

// attnTexWidth is the width in texels of mm_tex's texture: rows of 64 KiB,
// a multiple of the 256 bytes buffer-to-texture copies need.
const attnTexWidth = 4096

// texTiles returns tiles with tex set.
func texTiles(ts []attnTile) []attnTile {
	out := make([]attnTile, len(ts))
	for i, t := range ts {
		t.tex = true
		out[i] = t
	}
	return out
}

// attnQKV is where q, k and v of the whole batch lie in the texture the
// texture-reading attention kernels share (mm_tex, flash_tex): q from row
// 0, then k, then v, each from the start of a row. The texture is shared
// with the program's other texture users (SharedTexture): its contents
// only live from the copies to the dispatches that read them.
type attnQKV struct {
	kRow, vRow, end   int // end: the first row after v
	qTexels, kvTexels int
}

func newAttnQKV(a attnDims) attnQKV {
	h4 := a.heads * a.dh / 4
	l := attnQKV{qTexels: a.qBatch * a.sq * h4, kvTexels: a.batch * a.sk * h4}
	l.kRow = ceilDiv(l.qTexels, attnTexWidth)
	l.vRow = l.kRow + ceilDiv(l.kvTexels, attnTexWidth)
	l.end = l.vRow + ceilDiv(l.kvTexels, attnTexWidth)
	return l
}

// copyIn takes the program's attention texture, rows rows high (the
// caller's operands follow q, k and v), and records the copies of q, k and
// v into it. what names the operands for the error when the adapter's
// textures are too small.
func (l attnQKV) copyIn(pr *Program, rows int, what string, q, k, v Tensor) (*gpu.Texture, error) {
	if rows > pr.MaxTexture() {
		return nil, fmt.Errorf("%s need a texture of %d rows of %d texels; the adapter allows %d rows: run smaller batches or attention=mm", what, rows, attnTexWidth, pr.MaxTexture())
	}
	tex, err := pr.SharedTexture("attention operands", gpu.RGBA32Float, attnTexWidth, rows)
	if err != nil {
		return nil, err
	}
	pr.CopyToTextureRow(q, tex, 0, l.qTexels)
	pr.CopyToTextureRow(k, tex, l.kRow, l.kvTexels)
	pr.CopyToTextureRow(v, tex, l.vRow, l.kvTexels)
	return tex, nil
}

// attnTexLayout is where mm_tex's operands lie in its texture, in rows: q,
// k and v of the whole batch, then the weights and the statistics of the
// largest chunk.
type attnTexLayout struct {
	attnQKV
	wRow, sRow, rows int
}

// newAttnTexLayout places q, k, v, then the weights and statistics of
// chunks of up to largest (b, h) pairs.
func newAttnTexLayout(a attnDims, l mmLayout, largest int) attnTexLayout {
	t := attnTexLayout{attnQKV: newAttnQKV(a)}
	t.wRow = t.end
	t.sRow = t.wRow + ceilDiv(wTexels(l, largest), attnTexWidth)
	t.rows = t.sRow + ceilDiv(sTexels(l, largest), attnTexWidth)
	return t
}

// wTexels and sTexels are the texels of the weights and of the statistics
// of nbh (b, h) pairs.
func wTexels(l mmLayout, nbh int) int { return int(uint64(nbh) * l.wBytesPerBH / 16) }
func sTexels(l mmLayout, nbh int) int { return int((uint64(nbh)*l.sBytesPerBH + 15) / 16) }

// mmTexChunks plans mm_tex's chunks as mm does: the weights of a chunk
// within one storage binding (and attnScratchCap), out bound whole when it
// fits, else by batch ranges. q, k and v are not bound, so they add no
// limit. It returns the chunks, the (b, h) pairs of the largest and
// whether out is bound whole.
func mmTexChunks(a attnDims, l mmLayout, maxBind uint64) (chunks []attnChunk, largest int, whole bool, err error) {
	maxBH := int(min(maxBind, attnScratchCap) / l.wBytesPerBH)
	if maxBH == 0 {
		return nil, 0, false, fmt.Errorf("the scores of one head, %d×%d floats, exceed the adapter's %d MiB storage binding", a.sq, a.skp(), maxBind>>20)
	}
	oPer := uint64(a.sq * a.heads * a.dh * 4)
	whole = uint64(a.batch)*oPer <= maxBind
	maxB := a.batch
	if !whole {
		maxB = int(maxBind / oPer)
		if maxB == 0 {
			return nil, 0, false, fmt.Errorf("one sequence of the output (%d×%d floats) exceeds the adapter's %d MiB storage binding", a.sq, a.heads*a.dh, maxBind>>20)
		}
	}
	chunks = attnChunks(a.batch, a.heads, maxBH, maxB)
	for _, c := range chunks {
		largest = max(largest, c.nb*c.nh)
	}
	return chunks, largest, whole, nil
}

// mmTexLayout is mm's layout with mm_tex's shaders.
func mmTexLayout(a attnDims) mmLayout {
	l := newMMLayout(a)
	l.scores.tex, l.pv.tex = true, true
	return l
}

// attentionMMTexSupports accepts what mm does on adapters with read-only
// storage textures when the operands fit the texture's rows (at
// SigLIP2-base 3·12 rows of q, k and v, 48 + 6 of the weights and
// statistics; lavapipe allows 16384).
func attentionMMTexSupports(n *graph.Node, in []*graph.Node, dev *gpu.Device) bool {
	a := attnNodeDims(n, in)
	if a.dh%4 != 0 || !dev.HasStorageTextureRead() {
		return false
	}
	l := mmTexLayout(a)
	_, largest, _, err := mmTexChunks(a, l, dev.Limits().MaxStorageBufferBindingSize)
	if err != nil {
		return false
	}
	tl := newAttnTexLayout(a, l, largest)
	return tl.rows <= int(dev.Limits().MaxTextureDimension2D) && withinLoopLimit(dev, l.trips(a))
}

// attentionMMTex records mm_tex: the copies of q, k and v into the
// texture, then per chunk of batch·heads the scores and row scale
// dispatches, the copies of the weights and statistics into the texture,
// and the product dispatch.
func attentionMMTex(pr *Program, n *graph.Node, in []Tensor, out Tensor) error {
	q, k, v, mask := in[0], in[1], in[2], in[3]
	a := attnShape(n, q, k)
	l := mmTexLayout(a)
	chunks, largest, whole, err := mmTexChunks(a, l, pr.MaxBinding())
	if err != nil {
		return err
	}
	tl := newAttnTexLayout(a, l, largest)
	tex, err := tl.copyIn(pr, tl.rows, "q, k, v and the weights", q, k, v)
	if err != nil {
		return err
	}

	wBytes := uint64(largest) * l.wBytesPerBH
	sOff := (wBytes + attnStatsAlign - 1) / attnStatsAlign * attnStatsAlign
	scratch, err := pr.SharedScratch("attention weights", sOff+uint64(sTexels(l, largest))*16)
	if err != nil {
		return err
	}

	wg := linearTexLanes(pr.Device())
	hidden4 := a.heads * a.dh / 4
	dh4 := a.dh / 4
	scale := float32(1 / math.Sqrt(float64(a.dh)))
	skp4 := l.skp / 4
	qStride4 := a.qBatchStride() / 4
	oPer := uint64(a.sq * hidden4 * 16)
	scWR, scWC := lanesOf(wg, ceilDiv(a.sq, l.scores.tm), ceilDiv(a.sk, l.scores.tn))
	pvWR, pvWC := lanesOf(wg, ceilDiv(a.sq, l.pv.tm), ceilDiv(dh4, l.pv.tn/4))
	scRT, scCT := ceilDiv(a.sq, l.scores.tm*scWR), ceilDiv(a.sk, l.scores.tn*scWC)
	pvRT, pvCT := ceilDiv(a.sq, l.pv.tm*pvWR), ceilDiv(dh4, l.pv.tn/4*pvWC)
	scShader := Shader{Name: l.scores.scoresShader(), Constants: map[string]float64{"WG": float64(wg)}}
	pvShader := Shader{Name: l.pv.pvShader(), Constants: map[string]float64{"WG": float64(wg)}}
	rsShader := Shader{Name: "attention_rowscale.wgsl", Constants: map[string]float64{"WG": wg1D}}
	texB := gpu.Binding{Texture: tex}

	for _, c := range chunks {
		nbh := c.nb * c.nh
		ob, oboff := out.Binding(), c.b0
		if !whole {
			if ob, err = batchRange(pr, out, c.b0, c.nb, oPer); err != nil {
				return err
			}
			oboff = 0
		}
		wb := gpu.Binding{Buffer: scratch.Buffer, Offset: 0, Size: uint64(nbh) * l.wBytesPerBH}
		sb := gpu.Binding{Buffer: scratch.Buffer, Offset: sOff, Size: uint64(nbh) * l.sBytesPerBH}

		total := nbh * scRT * scCT
		par := new(gpu.Params).U32(u32(a.sq)).U32(u32(a.sk)).U32(u32(skp4)).U32(u32(l.nt)).
			U32(u32(hidden4)).U32(u32(qStride4)).U32(u32(a.sk * hidden4)).U32(u32(c.nh)).
			U32(u32(c.h0)).U32(u32(c.b0)).U32(u32(c.b0)).U32(hasFlag(mask)).
			F32(scale).U32(u32(scRT)).U32(u32(scCT)).U32(u32(total)).
			U32(u32(dh4)).U32(u32(scWC)).U32(0).U32(u32(tl.kRow * attnTexWidth))
		if err := pr.Dispatch(scShader, par, total, texB, mask.Or(q), wb, sb); err != nil {
			return err
		}

		rows := nbh * a.sq
		par = new(gpu.Params).U32(u32(rows)).U32(u32(l.nt))
		if err := pr.Dispatch(rsShader, par, ceilDiv(rows, wg1D), sb); err != nil {
			return err
		}
		pr.CopyToTextureRow(Tensor{Buffer: scratch.Buffer}, tex, tl.wRow, wTexels(l, nbh))
		pr.CopyToTextureRow(Tensor{Buffer: scratch.Buffer, Offset: sOff}, tex, tl.sRow, sTexels(l, nbh))

		total = nbh * pvRT * pvCT
		par = new(gpu.Params).U32(u32(a.sq)).U32(u32(a.sk)).U32(u32(skp4)).U32(u32(l.nt)).
			U32(u32(hidden4)).U32(u32(a.sk * hidden4)).U32(u32(a.sq * hidden4)).U32(u32(c.nh)).
			U32(u32(c.h0)).U32(u32(oboff)).U32(u32(pvRT)).U32(u32(pvCT)).
			U32(u32(total)).U32(u32(dh4)).U32(u32(pvWC)).U32(u32(tl.vRow * attnTexWidth)).
			U32(u32(tl.wRow * attnTexWidth)).U32(u32(tl.sRow * attnTexWidth)).U32(u32(c.b0))
		if err := pr.Dispatch(pvShader, par, total, texB, ob); err != nil {
			return err
		}
	}
	return nil
}
