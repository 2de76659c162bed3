package gpuexec

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gosig/gosig/gpu"
	"github.com/gosig/gosig/graph"
)

// Attention/flash_tex (CPU adapters with read-only storage textures, the
// default there for query sets of 4 or more with heads of 64, 72 or 96):
// attention in one dispatch that never stores the weights. Each invocation
// owns 16 queries (8 at Dh 96) of one (b, h), holds their q rows and whole
// output rows in registers, and walks the keys 4 at a time with an online
// softmax (attention_flash_tex_*.wgsl), reading q, k, v and the mask
// through one read-only storage texture, copied in as mm_tex copies its
// operands. mm and mm_tex spend most of their time storing the Sq·Sk·H
// weights (lavapipe stores one SIMD lane at a time); flash_tex loads each
// k and v texel once per 16 queries and stores only the output.
//
// The tile was chosen on this project's 2-core lavapipe at 512-bit vectors
// (GPU timestamps, medians of 5 rounds, SigLIP2-base): 16 queries × 4 keys
// with q held for the whole loop 5.0–6.0 ms; 16×8 6.8–8.0, 24×4 5.5–5.7
// (compile 31 s), 32×4 5.6–6.7, 8×4 6.8–8.1, 16×2 5.6–6.0; loading q in
// the key loop instead (8×16 as mm's tiles) 10.5–11.1 ms; workgroups of 8
// lanes instead of 16 about twice as slow. Same-run medians against mm_tex
// (bench kernels --variants): SigLIP2-base (256 tokens, 12 heads of 64)
// 6.7 and 6.1 ms against 12.9 (mm 16.4–17.7), other_share 0.10–0.12;
// so400m (729 tokens, 16 heads of 72) 82.6 against 193.9 (mm 234.8); heads
// of 96 (giant, 256 tokens) 12.3–14.1 against 24.2–27.9. Vision tower
// SigLIP2-base at 256 patches 1282 and 1257 ms per image against 1371 and
// 1308 before (alternating runs). Lavapipe's first compile of a kernel
// takes about 15 s at Dh 64, 19 s at 72 and 10 s at 96 (Mesa's shader
// cache keeps it); 16 queries at Dh 96 ran about 20% faster but compiled
// in 31 s. The pooling head's single probe keeps mm_tex, whose one-row
// tiles read k and v once per query.
func init() {
	register(Kernel{Op: graph.OpAttention, Name: "flash_tex", Target: ForCPU, Priority: flashTexPriority, Supports: attentionFlashTexSupports, Build: attentionFlashTex})
}

// flashTexPriority puts flash_tex above mm_tex (15) and mm (10).
const flashTexPriority = 20

// flashTile is the work of one flash_tex invocation: qt queries, keys in
// blocks of kb, heads of dh4 texels (4·dh4 = Dh, a constant of the shader
// so that the output rows are unrolled).
type flashTile struct{ qt, kb, dh4 int }

// shader is the file name of the tile's kernel.
func (t flashTile) shader() string {
	return fmt.Sprintf("attention_flash_tex_q%d_k%d_d%d.wgsl", t.qt, t.kb, 4*t.dh4)
}

// trips is the loop iterations of an invocation: one per block of keys
// (the head dimension is unrolled).
func (t flashTile) trips(sk int) int { return ceilDiv(sk, t.kb) }

// flashTiles are the generated tiles, one per head size SigLIP's models use
// (64: base and large, 72: so400m, 96: giant): 16 queries, 8 at Dh 96 to
// bound the compile time, over blocks of 4 keys.
var flashTiles = []flashTile{{16, 4, 16}, {16, 4, 18}, {8, 4, 24}}

// flashTileFor returns the tile for heads of dh, false when none is
// generated.
func flashTileFor(dh int) (flashTile, bool) {
	for _, t := range flashTiles {
		if 4*t.dh4 == dh {
			return t, true
		}
	}
	return flashTile{}, false
}

// flashHeadSizes lists the head sizes flash_tex has kernels for.
func flashHeadSizes() string {
	var s []string
	for _, t := range flashTiles {
		s = append(s, strconv.Itoa(4*t.dh4))
	}
	return strings.Join(s, ", ")
}

// flashTexLayout is where q, k, v and then the mask lie in the texture, in
// rows, and the mask's size in texels.
type flashTexLayout struct {
	attnQKV
	mRow, rows, mTexels int
}

// newFlashTexLayout places q, k, v and the mask one after another.
func newFlashTexLayout(a attnDims) flashTexLayout {
	l := flashTexLayout{attnQKV: newAttnQKV(a), mTexels: ceilDiv(a.batch*a.sk, 4)}
	l.mRow = l.end
	l.rows = l.mRow + ceilDiv(l.mTexels, attnTexWidth)
	return l
}

// attentionFlashTexSupports accepts heads of a generated size, query sets
// of attnShortQ or more (the pooling head's probe keeps mm_tex), an output
// that fits one binding, operands that fit the texture's rows and loops
// within lavapipe's limit.
func attentionFlashTexSupports(n *graph.Node, in []*graph.Node, dev *gpu.Device) bool {
	a := attnNodeDims(n, in)
	t, ok := flashTileFor(a.dh)
	if !ok || a.sq < attnShortQ || !dev.HasStorageTextureRead() {
		return false
	}
	outBytes := uint64(a.batch) * uint64(a.sq*a.heads*a.dh) * 4
	return outBytes <= dev.Limits().MaxStorageBufferBindingSize &&
		newFlashTexLayout(a).rows <= int(dev.Limits().MaxTextureDimension2D) &&
		withinLoopLimit(dev, t.trips(a.sk))
}

// attentionFlashTex records the copies of q, k, v and the mask into the
// texture and one dispatch.
func attentionFlashTex(pr *Program, n *graph.Node, in []Tensor, out Tensor) error {
	q, k, v, mask := in[0], in[1], in[2], in[3]
	a := attnShape(n, q, k)
	t, ok := flashTileFor(a.dh)
	if !ok {
		return fmt.Errorf("flash_tex has no kernel for heads of %d (only %s): use attention=mm_tex", a.dh, flashHeadSizes())
	}
	tl := newFlashTexLayout(a)
	tex, err := tl.copyIn(pr, tl.rows, "q, k, v and the mask", q, k, v)
	if err != nil {
		return err
	}
	if mask.Valid() {
		// The mask is copied in whole texels: its last may run past it,
		// into the padding of its 256-byte aligned slot.
		if end := mask.Offset + uint64(tl.mTexels)*16; end > mask.Buffer.Size() {
			return fmt.Errorf("the mask's last texel ends at byte %d of its buffer of %d: use attention=mm_tex", end, mask.Buffer.Size())
		}
		pr.CopyToTextureRow(mask, tex, tl.mRow, tl.mTexels)
	}

	wg := linearTexLanes(pr.Device())
	hidden4 := a.heads * a.dh / 4
	qgroups := ceilDiv(a.sq, t.qt)
	total := a.batch * a.heads * qgroups
	par := new(gpu.Params).U32(u32(a.sq)).U32(u32(a.sk)).U32(u32(hidden4)).U32(u32(a.qBatchStride() / 4)).
		U32(u32(a.sk * hidden4)).U32(u32(a.sq * hidden4)).U32(u32(a.heads)).U32(u32(qgroups)).
		U32(u32(total)).U32(hasFlag(mask)).F32(float32(1 / math.Sqrt(float64(a.dh)))).U32(0).
		U32(u32(tl.kRow * attnTexWidth)).U32(u32(tl.vRow * attnTexWidth)).U32(u32(tl.mRow * attnTexWidth))
	s := Shader{Name: t.shader(), Constants: map[string]float64{"WG": float64(wg)}}
	return pr.Dispatch(s, par, ceilDiv(total, wg), gpu.Binding{Texture: tex}, out.Binding())
}
