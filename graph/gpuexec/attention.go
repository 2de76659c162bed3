package gpuexec

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/gosig/gosig/gpu"
	"github.com/gosig/gosig/graph"
	"github.com/gosig/gosig/shaders"
)

// The kernels of Attention and AttentionProbs.
//
//   - Attention/flash_tex (CPU adapters with read-only storage textures,
//     the default there for heads of 64, 72 and 96 and 4 or more queries;
//     attention_flash.go): one dispatch, 16 queries per invocation with
//     their output rows in registers and an online softmax over the keys,
//     every operand read through a texture, no weights stored. About 2×
//     mm_tex and 2.5× mm at SigLIP2-base on lavapipe.
//   - Attention/mm_tex (attention_tex.go): mm's three dispatches reading
//     through a texture; the default on those adapters for other heads and
//     for the pooling head's single probe query.
//   - Attention/mm (CPU adapters, lavapipe): attention computed like a
//     matrix product, in three dispatches per chunk of batch·heads.
//     attention_scores_TMxTN.wgsl computes register-tiled blocks of q·kᵀ/√Dh
//     (+ mask) and stores w = exp(s - M) with each block's maximum M and sum
//     L; attention_rowscale.wgsl turns a row's (M, L) into each block's
//     softmax factor; attention_pv_TMxTN.wgsl multiplies the factored w with
//     v, register-tiled again. The weights live in a scratch buffer that all
//     attention nodes of a program share (SharedScratch), chunked over
//     batch·heads so that a chunk fits one binding. Short query sets (the
//     MAP pooling head's single probe) take one-row tiles that read k and v
//     once.
//   - Attention/tiled (GPUs): flash-style, keys and values staged in
//     workgroup memory, nothing of size Sk stored.
//   - Attention/reg (CPU, flash-style, QB queries per invocation; the default
//     before mm, kept for comparison) and Attention/scalar (any adapter and
//     head dimension, the fallback when Dh % 4 ≠ 0).
//   - AttentionProbs/rows: one workgroup per (b, h, query) row.
//
// On CPU adapters every variant refuses shapes whose loops would exceed
// lavapipe's loop limit (see withinLoopLimit); mm's loops stay within it up
// to Sk ≈ 350 000.
func init() {
	register(Kernel{Op: graph.OpAttention, Name: "mm", Target: ForCPU, Priority: 10, Supports: attentionMMSupports, Build: attentionMM})
	register(Kernel{Op: graph.OpAttention, Name: "reg", Target: ForCPU, Supports: attentionRegSupports, Build: attentionReg})
	register(Kernel{Op: graph.OpAttention, Name: "scalar", Priority: -1, Supports: attentionScalarSupports, Build: attentionScalar})
	register(Kernel{Op: graph.OpAttention, Name: "tiled", Target: ForGPU, Supports: attentionTiledSupports, Build: attentionTiled})
	register(Kernel{Op: graph.OpAttentionProbs, Name: "rows", Supports: attentionProbsSupports, Build: attentionProbs})
}

// withinLoopLimit reports whether a kernel whose invocations run at most
// trips loop iterations in all (every loop counted, nested ones by their
// inner iterations, none assumed unrolled) computes correctly on dev.
// lavapipe (Mesa's llvmpipe, gosig's CPU adapter) keeps one loop counter
// per invocation across all its loops and silently leaves every loop once
// it passes shaders.LavapipeLoopLimit; the limit is applied to every CPU
// adapter. GPUs have no such limit.
func withinLoopLimit(dev *gpu.Device, trips int) bool {
	return dev.Info().Type != gpu.CPU || trips <= shaders.LavapipeLoopLimit
}

// attnDims are the sizes of an Attention or AttentionProbs node.
type attnDims struct {
	batch, qBatch, sq, sk, heads, dh int
}

// attnDimsOf reads the sizes from q's and k's shapes.
func attnDimsOf(n *graph.Node, q, k []int) attnDims {
	return attnDims{
		batch: k[0], qBatch: q[0], sq: q[1], sk: k[1],
		heads: n.Heads, dh: k[2] / n.Heads,
	}
}

func attnShape(n *graph.Node, q, k Tensor) attnDims { return attnDimsOf(n, q.Shape, k.Shape) }

// attnNodeDims reads the sizes from the input nodes Supports gets.
func attnNodeDims(n *graph.Node, in []*graph.Node) attnDims {
	return attnDimsOf(n, in[0].Shape, in[1].Shape)
}

// qBatchStride is q's batch stride in elements: 0 when one query set is
// broadcast over the batch.
func (a attnDims) qBatchStride() int {
	if a.qBatch == 1 {
		return 0
	}
	return a.sq * a.heads * a.dh
}

// params fills the flash-style kernels' common parameter block.
func (a attnDims) params(hasMask uint32, qblocks int) *gpu.Params {
	return new(gpu.Params).U32(u32(a.batch)).U32(u32(a.sq)).U32(u32(a.sk)).U32(u32(a.heads)).
		U32(u32(a.qBatchStride())).U32(hasMask).F32(float32(1 / math.Sqrt(float64(a.dh)))).U32(u32(qblocks))
}

// attnTile is the block one invocation of a generated CPU attention kernel
// computes: tm queries × tn keys (scores) or tm queries × tn head-dimension
// columns (pv, which reads the statistics of blocks of kb keys).
// With tex the kernel reads its operands from a texture (mm_tex).
type attnTile struct {
	tm, tn, kb int
	tex        bool
}

// prefix is the part of the shader names that tells the operands' source.
func (t attnTile) prefix(kind string) string {
	if t.tex {
		return "attention_" + kind + "_tex_"
	}
	return "attention_" + kind + "_"
}

func (t attnTile) scoresShader() string {
	return fmt.Sprintf("%s%dx%d.wgsl", t.prefix("scores"), t.tm, t.tn)
}

func (t attnTile) pvShader() string {
	return fmt.Sprintf("%s%dx%d_k%d.wgsl", t.prefix("pv"), t.tm, t.tn, t.kb)
}

// The generated tiles (attention_gen_test.go writes the shaders). Query sets
// of attnShortQ rows or more take 32-row blocks: 32×16 scores and 32×16
// outputs, 512 accumulators, within 5–10% of the fastest tiles measured
// on lavapipe at SigLIP2-base (16×16 to 32×32; 32×32 outputs compiled for
// 24 s against 8 s, 16×16 ran 10–15% slower), and a multiple of 4 columns
// that fits heads of 64 and 128 exactly and 72 with one half-used block.
// Shorter query sets (the pooling head's probe) take one-row blocks, which
// read each k and v row once per query instead of computing 32 clamped
// copies of one row. Every scores tile is attnKeyBlock keys wide: the blocks
// of the per-block statistics.
var (
	attnScoresTiles = []attnTile{{tm: 32, tn: attnKeyBlock}, {tm: 1, tn: attnKeyBlock}}
	attnPVTiles     = []attnTile{{tm: 32, tn: 16, kb: attnKeyBlock}, {tm: 1, tn: 8, kb: attnKeyBlock}, {tm: 32, tn: 24, kb: attnKeyBlock}}
)

const (
	// attnKeyBlock is the keys of one scores invocation and of one block
	// of softmax statistics.
	attnKeyBlock = 16
	// attnShortQ is the query count from which the 32-row tiles are used.
	attnShortQ = 4
	// attnWG is the invocations of a workgroup of the generated kernels:
	// one SIMD vector of lavapipe at 256 bits.
	attnWG = 8
	// attnScratchCap bounds the scratch of the mm kernel's weights (the
	// larger chunks only save dispatches, of which a chunk takes three).
	attnScratchCap = 32 << 20
	// attnStatsAlign aligns the statistics inside the scratch buffer: the
	// largest storage offset alignment WebGPU lets adapters ask for.
	attnStatsAlign = 256
)

// mmLayout is how attentionMM splits its work.
type mmLayout struct {
	skp, nt     int // the weights' padded row length, blocks per row
	scores, pv  attnTile
	wBytesPerBH uint64 // weights of one (b, h)
	sBytesPerBH uint64 // statistics of one (b, h)
}

func newMMLayout(a attnDims) mmLayout {
	l := mmLayout{skp: ceilDiv(a.sk, 4) * 4, scores: attnScoresTiles[0], pv: pvTile(a.dh)}
	if a.sq < attnShortQ {
		l.scores, l.pv = attnScoresTiles[1], attnPVTiles[1]
	}
	l.nt = ceilDiv(a.sk, l.scores.tn)
	l.wBytesPerBH = uint64(a.sq) * uint64(l.skp) * 4
	l.sBytesPerBH = uint64(a.sq) * uint64(l.nt) * 8
	return l
}

// pvTile picks the output tile for long query sets: of 16 and 24 columns,
// the one that pads the head dimension least, the wider among equals (16
// for heads of 64 and 128, 24 for 72 and 96).
func pvTile(dh int) attnTile {
	best := attnPVTiles[0]
	for _, t := range []attnTile{attnPVTiles[0], attnPVTiles[2]} {
		pad := func(t attnTile) int { return ceilDiv(dh, t.tn) * t.tn }
		if pad(t) < pad(best) || pad(t) == pad(best) && t.tn > best.tn {
			best = t
		}
	}
	return best
}

// trips is the most loop iterations an invocation of mm's kernels runs:
// the scores kernel's ⌈Dh/8⌉, the row scale's 3·nt, the product's nt
// (nt = ⌈Sk/16⌉ blocks of keys).
func (l mmLayout) trips(a attnDims) int { return max(ceilDiv(a.dh/4, 2), 3*l.nt) }

func attentionMMSupports(n *graph.Node, in []*graph.Node, dev *gpu.Device) bool {
	a := attnNodeDims(n, in)
	return a.dh%4 == 0 && withinLoopLimit(dev, newMMLayout(a).trips(a))
}

// lanes splits attnWG lanes into a wr×wc grid over rows × columns of
// tiles (see lanesOf).
func lanes(rowTiles, colTiles int) (wr, wc int) { return lanesOf(attnWG, rowTiles, colTiles) }

// lanesOf splits wg lanes (a power of 2) into a wr×wc grid over rows ×
// columns of tiles: the split that needs the fewest workgroups (lanes left
// without a tile idle), the most lanes along the rows among equals.
func lanesOf(wg, rowTiles, colTiles int) (wr, wc int) {
	best := -1
	for c := 1; c <= wg; c *= 2 {
		n := ceilDiv(rowTiles, wg/c) * ceilDiv(colTiles, c)
		if best < 0 || n < best {
			best, wr, wc = n, wg/c, c
		}
	}
	return wr, wc
}

// attnChunk is a set of (b, h) pairs the mm kernels process at once:
// batches [b0, b0+nb) × heads [h0, h0+nh), with nh = H or nb = 1.
type attnChunk struct{ b0, nb, h0, nh int }

// attnChunks splits batch × heads into chunks of at most maxBH pairs and
// maxB batches.
func attnChunks(batch, heads, maxBH, maxB int) []attnChunk {
	var out []attnChunk
	if maxBH >= heads {
		nb := min(maxBH/heads, maxB)
		for b0 := 0; b0 < batch; b0 += nb {
			out = append(out, attnChunk{b0: b0, nb: min(nb, batch-b0), nh: heads})
		}
		return out
	}
	for b := range batch {
		for h0 := 0; h0 < heads; h0 += maxBH {
			out = append(out, attnChunk{b0: b, nb: 1, h0: h0, nh: min(maxBH, heads-h0)})
		}
	}
	return out
}

// batchRange binds batches [b0, b0+nb) of t, whose batches are perBatch
// bytes each.
func batchRange(pr *Program, t Tensor, b0, nb int, perBatch uint64) (gpu.Binding, error) {
	off := t.Offset + uint64(b0)*perBatch
	if align := uint64(pr.Device().Limits().MinStorageBufferOffsetAlignment); off%align != 0 {
		return gpu.Binding{}, fmt.Errorf("batch %d of %v starts at byte %d, not a multiple of the adapter's storage offset alignment %d: run smaller batches", b0, t.Shape, off, align)
	}
	return gpu.Binding{Buffer: t.Buffer, Offset: off, Size: uint64(nb) * perBatch}, nil
}

// attentionMM records attention as matrix products: per chunk of
// batch·heads, the scores, row scale and product dispatches.
func attentionMM(pr *Program, n *graph.Node, in []Tensor, out Tensor) error {
	q, k, v, mask := in[0], in[1], in[2], in[3]
	a := attnShape(n, q, k)
	l := newMMLayout(a)
	maxBind := pr.MaxBinding()
	maxBH := int(min(maxBind, attnScratchCap) / l.wBytesPerBH)
	if maxBH == 0 {
		return fmt.Errorf("the scores of one head, %d×%d floats, exceed the adapter's %d MiB storage binding", a.sq, a.skp(), maxBind>>20)
	}
	hidden := a.heads * a.dh
	qPer, kvPer, oPer := uint64(a.sq*hidden*4), uint64(a.sk*hidden*4), uint64(a.sq*hidden*4)
	// Bind q, k, v (k's shape) and out whole when they fit, else batch
	// ranges.
	whole := q.Bytes <= maxBind && k.Bytes <= maxBind && out.Bytes <= maxBind
	maxB := a.batch
	if !whole {
		maxB = int(maxBind / max(qPer, kvPer))
		if maxB == 0 {
			return fmt.Errorf("one sequence of k (%d×%d floats) exceeds the adapter's %d MiB storage binding", a.sk, hidden, maxBind>>20)
		}
	}
	chunks := attnChunks(a.batch, a.heads, maxBH, maxB)
	largest := 0
	for _, c := range chunks {
		largest = max(largest, c.nb*c.nh)
	}
	wBytes := uint64(largest) * l.wBytesPerBH
	sOff := (wBytes + attnStatsAlign - 1) / attnStatsAlign * attnStatsAlign
	scratch, err := pr.SharedScratch("attention weights", sOff+uint64(largest)*l.sBytesPerBH)
	if err != nil {
		return err
	}

	dh4 := a.dh / 4
	hidden4 := hidden / 4
	scale := float32(1 / math.Sqrt(float64(a.dh)))
	skp4 := l.skp / 4
	qStride4 := a.qBatchStride() / 4
	scWR, scWC := lanes(ceilDiv(a.sq, l.scores.tm), ceilDiv(a.sk, l.scores.tn))
	pvWR, pvWC := lanes(ceilDiv(a.sq, l.pv.tm), ceilDiv(dh4, l.pv.tn/4))
	scRT, scCT := ceilDiv(a.sq, l.scores.tm*scWR), ceilDiv(a.sk, l.scores.tn*scWC)
	pvRT, pvCT := ceilDiv(a.sq, l.pv.tm*pvWR), ceilDiv(dh4, l.pv.tn/4*pvWC)
	scShader := Shader{Name: l.scores.scoresShader(), Constants: map[string]float64{"WG": attnWG}}
	pvShader := Shader{Name: l.pv.pvShader(), Constants: map[string]float64{"WG": attnWG}}
	rsShader := Shader{Name: "attention_rowscale.wgsl", Constants: map[string]float64{"WG": wg1D}}

	for _, c := range chunks {
		nbh := c.nb * c.nh
		qb, kb, vb, ob := q.Binding(), k.Binding(), v.Binding(), out.Binding()
		boff := c.b0
		if !whole {
			boff = 0
			var err error
			if a.qBatch != 1 {
				if qb, err = batchRange(pr, q, c.b0, c.nb, qPer); err != nil {
					return err
				}
			}
			if kb, err = batchRange(pr, k, c.b0, c.nb, kvPer); err != nil {
				return err
			}
			if vb, err = batchRange(pr, v, c.b0, c.nb, kvPer); err != nil {
				return err
			}
			if ob, err = batchRange(pr, out, c.b0, c.nb, oPer); err != nil {
				return err
			}
		}
		wb := gpu.Binding{Buffer: scratch.Buffer, Offset: 0, Size: uint64(nbh) * l.wBytesPerBH}
		sb := gpu.Binding{Buffer: scratch.Buffer, Offset: sOff, Size: uint64(nbh) * l.sBytesPerBH}

		total := nbh * scRT * scCT
		par := new(gpu.Params).U32(u32(a.sq)).U32(u32(a.sk)).U32(u32(skp4)).U32(u32(l.nt)).
			U32(u32(hidden4)).U32(u32(qStride4)).U32(u32(a.sk * hidden4)).U32(u32(c.nh)).
			U32(u32(c.h0)).U32(u32(c.b0)).U32(u32(boff)).U32(hasFlag(mask)).
			F32(scale).U32(u32(scRT)).U32(u32(scCT)).U32(u32(total)).
			U32(u32(dh4)).U32(u32(scWC))
		if err := pr.Dispatch(scShader, par, total, qb, kb, mask.Or(q), wb, sb); err != nil {
			return err
		}

		rows := nbh * a.sq
		par = new(gpu.Params).U32(u32(rows)).U32(u32(l.nt))
		if err := pr.Dispatch(rsShader, par, ceilDiv(rows, wg1D), sb); err != nil {
			return err
		}

		total = nbh * pvRT * pvCT
		par = new(gpu.Params).U32(u32(a.sq)).U32(u32(a.sk)).U32(u32(skp4)).U32(u32(l.nt)).
			U32(u32(hidden4)).U32(u32(a.sk * hidden4)).U32(u32(a.sq * hidden4)).U32(u32(c.nh)).
			U32(u32(c.h0)).U32(u32(boff)).U32(u32(pvRT)).U32(u32(pvCT)).
			U32(u32(total)).U32(u32(dh4)).U32(u32(pvWC))
		if err := pr.Dispatch(pvShader, par, total, wb, sb, vb, ob); err != nil {
			return err
		}
	}
	return nil
}

// skp returns the padded key count of mm's weight rows.
func (a attnDims) skp() int { return ceilDiv(a.sk, 4) * 4 }

// attentionRegWG is the workgroup size of the CPU-adapter flash kernel.
const attentionRegWG = 16

// attentionRegPrivateFloats bounds the q rows and accumulators one
// invocation of the CPU-adapter flash kernel keeps (2·QB·Dh floats).
// Every load in a loop costs lavapipe a per-lane loop of bounds-checked
// scalar loads, so each key element should serve as many queries as
// possible; but with much more private memory than this, lavapipe 22.3
// computed wrong results and then crashed (QB=4 at Dh 72), so two queries
// per invocation is the most it gets for SigLIP's heads.
const attentionRegPrivateFloats = 320

// regQB is the queries per invocation of the reg kernel.
func regQB(a attnDims) int {
	qb := 1
	if 2*2*a.dh <= attentionRegPrivateFloats {
		qb = 2
	}
	return min(qb, a.sq)
}

// regTrips counts attention_reg.wgsl's loop iterations per invocation: per
// key the loops over its QB queries and DH4 vec4 of k and v.
func regTrips(a attnDims) int {
	qb, dh4 := regQB(a), a.dh/4
	return 2*qb*(1+dh4) + a.sk*(1+2*qb+2*dh4*(1+qb))
}

func attentionRegSupports(n *graph.Node, in []*graph.Node, dev *gpu.Device) bool {
	a := attnNodeDims(n, in)
	return a.dh%4 == 0 && withinLoopLimit(dev, regTrips(a))
}

func attentionReg(pr *Program, n *graph.Node, in []Tensor, out Tensor) error {
	a := attnShape(n, in[0], in[1])
	qb := regQB(a)
	wg := min(attentionRegWG, ceilDiv(a.sq, qb))
	groups := ceilDiv(a.sq, wg*qb)
	consts := map[string]float64{"WG": float64(wg), "DH4": float64(a.dh / 4), "QB": float64(qb), "QD": float64(qb * a.dh / 4)}
	return pr.Dispatch(Shader{Name: "attention_reg.wgsl", Constants: consts}, a.params(hasFlag(in[3]), groups),
		a.batch*a.heads*groups,
		in[0].Binding(), in[1].Binding(), in[2].Binding(), in[3].Or(in[0]), out.Binding())
}

// The blocking of attention_scalar.wgsl: QB queries per invocation, keys
// in blocks of KB, WG invocations per workgroup.
const scalarQB, scalarKB, scalarWG = 2, 16, 16

// scalarTrips counts attention_scalar.wgsl's loop iterations per
// invocation.
func scalarTrips(a attnDims) int {
	qb, kb, dh := min(scalarQB, a.sq), scalarKB, a.dh
	perBlock := 1 + kb*(1+2*qb+dh*(1+qb)) + qb*(1+2*kb+dh) + kb*(1+dh*(1+qb))
	return 2*qb*(1+dh) + ceilDiv(a.sk, kb)*perBlock
}

func attentionScalarSupports(n *graph.Node, in []*graph.Node, dev *gpu.Device) bool {
	return withinLoopLimit(dev, scalarTrips(attnNodeDims(n, in)))
}

// attentionScalar is the generic attention kernel: any head dimension.
// Each invocation owns QB queries; keys go in blocks of KB.
func attentionScalar(pr *Program, n *graph.Node, in []Tensor, out Tensor) error {
	a := attnShape(n, in[0], in[1])
	qb := min(scalarQB, a.sq)
	qblocks := ceilDiv(a.sq, qb)
	wg := min(scalarWG, qblocks)
	consts := map[string]float64{"WG": float64(wg), "DH": float64(a.dh), "QB": float64(qb), "KB": scalarKB}
	return pr.Dispatch(Shader{Name: "attention_scalar.wgsl", Constants: consts}, a.params(hasFlag(in[3]), qblocks),
		a.batch*a.heads*ceilDiv(qblocks, wg),
		in[0].Binding(), in[1].Binding(), in[2].Binding(), in[3].Or(in[0]), out.Binding())
}

// tiledWG is the workgroup size of the GPU attention kernel.
const tiledWG = 64

// tiledKeys returns the keys per workgroup-memory tile of the GPU attention
// kernel: up to 32, as many as the device's workgroup memory holds.
func tiledKeys(dh int, dev *gpu.Device) int {
	limit := int(dev.Limits().MaxComputeWorkgroupStorageSize)
	return min(32, limit/(8*dh+4))
}

// tiledTrips counts attention_tiled.wgsl's loop iterations per invocation:
// per tile of kt keys, the cooperative loads and two loops over the tile's
// keys, each over the head dimension.
func tiledTrips(a attnDims, kt int) int {
	perTile := 1 + ceilDiv(kt*a.dh, tiledWG) + ceilDiv(kt, tiledWG) + 2*kt*(1+a.dh) + a.dh
	return 2*a.dh + ceilDiv(a.sk, kt)*perTile
}

// attentionTiledSupports accepts heads whose tiles fit the device's
// workgroup memory (any head dimension up to ~500 at WebGPU's minimum), and
// on CPU adapters only shapes within the loop limit.
func attentionTiledSupports(n *graph.Node, in []*graph.Node, dev *gpu.Device) bool {
	a := attnNodeDims(n, in)
	kt := tiledKeys(a.dh, dev)
	return a.dh <= 256 && kt >= 4 && withinLoopLimit(dev, tiledTrips(a, kt))
}

func attentionTiled(pr *Program, n *graph.Node, in []Tensor, out Tensor) error {
	a := attnShape(n, in[0], in[1])
	kt := tiledKeys(a.dh, pr.Device())
	qblocks := ceilDiv(a.sq, tiledWG)
	consts := map[string]float64{"WG": tiledWG, "DH": float64(a.dh), "KT": float64(kt), "TILE": float64(kt * a.dh)}
	return pr.Dispatch(Shader{Name: "attention_tiled.wgsl", Constants: consts}, a.params(hasFlag(in[3]), qblocks),
		a.batch*a.heads*qblocks,
		in[0].Binding(), in[1].Binding(), in[2].Binding(), in[3].Or(in[0]), out.Binding())
}

// probsWG is the workgroup size of attention_probs.wgsl: the invocations
// that share one row's keys.
const probsWG = 64

// probsTrips counts attention_probs.wgsl's loop iterations per invocation:
// its share of the keys, each with a loop over the head dimension, two more
// passes over its keys and the two tree reductions.
func probsTrips(a attnDims) int {
	return ceilDiv(a.sk, probsWG)*(a.dh+3) + 2*bits.Len(probsWG-1)
}

func attentionProbsSupports(n *graph.Node, in []*graph.Node, dev *gpu.Device) bool {
	return withinLoopLimit(dev, probsTrips(attnNodeDims(n, in)))
}

func attentionProbs(pr *Program, n *graph.Node, in []Tensor, out Tensor) error {
	a := attnShape(n, in[0], in[1])
	par := new(gpu.Params).U32(u32(a.batch)).U32(u32(a.sq)).U32(u32(a.sk)).U32(u32(a.heads)).
		U32(u32(a.dh)).U32(u32(a.qBatchStride())).U32(hasFlag(in[2])).F32(float32(1 / math.Sqrt(float64(a.dh))))
	return pr.Dispatch(Shader{Name: "attention_probs.wgsl", Constants: map[string]float64{"WG": probsWG}}, par,
		a.batch*a.heads*a.sq,
		in[0].Binding(), in[1].Binding(), in[2].Or(in[0]), out.Binding())
}
