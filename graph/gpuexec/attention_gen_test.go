package gpuexec

import (
	"flag"
	"fmt"
	"strings"
	"testing"
)

// The CPU attention kernels (shaders/attention_scores_*.wgsl and
// shaders/attention_pv_*.wgsl) are register-tiled matrix products written
// out unrolled, as the CPU Linear kernels are: lavapipe keeps a tile in
// registers only when every index into it is a constant. This file
// generates them; TestAttentionShadersGenerated keeps the committed files
// equal to the generator's output.

var updateAttentionShaders = flag.Bool("update-attention-shaders", false,
	"rewrite shaders/attention_scores_*.wgsl, attention_pv_*.wgsl and attention_flash_*.wgsl from their generators (attention_gen_test.go, attention_flash_gen_test.go)")

func TestAttentionShadersGenerated(t *testing.T) {
	files := map[string]string{}
	for _, tile := range append(attnScoresTiles, texTiles(attnScoresTiles)...) {
		files[tile.scoresShader()] = attentionScoresShader(tile)
	}
	for _, tile := range append(attnPVTiles, texTiles(attnPVTiles)...) {
		files[tile.pvShader()] = attentionPVShader(tile)
	}
	for _, tile := range flashTiles {
		files[tile.shader()] = attentionFlashShader(tile)
	}
	checkGenerated(t, files, *updateAttentionShaders, "go test ./graph/gpuexec -run TestAttentionShadersGenerated -update-attention-shaders")
}

// attentionScoresShader returns the WGSL of the first half of CPU attention:
// scores of a tile.tm × tile.tn block (queries × keys) per invocation,
// turned into unnormalised weights with per-block statistics.
func attentionScoresShader(tile attnTile) string {
	tm, tn := tile.tm, tile.tn
	var b strings.Builder
	w := func(f string, a ...any) { fmt.Fprintf(&b, f, a...) }
	ld := func(arr, idx string) string { return arr + "[" + idx + "]" }
	qBase, kBase := "", ""
	if tile.tex {
		w(scoresTexDoc, tm, tn, tm*tn)
		ld = func(_, idx string) string { return "ld(" + idx + ")" }
		qBase, kBase = "p.q0 + ", "p.k0 + "
	} else {
		w(scoresBufferDoc, tm, tn, tm*tn)
	}
	w(`@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
	let g = wid.x + wid.y * nwg.x;
	if (g >= p.total) {
		return;
	}
	let per = p.rtiles * p.ctiles;
	let bh = g / per;
	let t = g %% per;
	let m0 = ((t / p.ctiles) * (WG / p.wc) + lid / p.wc) * TM;
	let n0 = ((t %% p.ctiles) * p.wc + lid %% p.wc) * TN;
	if (m0 >= p.sq || n0 >= p.sk) {
		return;
	}
	let bb = bh / p.nh + p.boff;
	let h = p.h0 + bh %% p.nh;
	let dh4 = p.dh4;
	let qb = %[1]sbb * p.q_bstride4 + h * dh4;
	let kb = %[2]sbb * p.kv_bstride4 + h * dh4;
	// Row starts in vec4 units, clamped to the last query and key.
`, qBase, kBase)
	for i := range tm {
		w("\tlet r%d = qb + min(m0 + %du, p.sq - 1u) * p.hidden4;\n", i, i)
	}
	for j := range tn {
		w("\tlet c%d = kb + min(n0 + %du, p.sk - 1u) * p.hidden4;\n", j, j)
	}
	for i := range tm {
		for j := range tn {
			w("\tvar a%d_%d = 0.0;\n", i, j)
		}
	}
	w(`	// Two vec4 steps of the head dimension per iteration; when dh4 is odd
	// the last iteration's second step re-reads step dh4-1 and weighs it by
	// zero.
	for (var d = 0u; d < dh4; d = d + 2u) {
		let d1 = min(d + 1u, dh4 - 1u);
		let s1 = select(0.0, 1.0, d + 1u < dh4);
`)
	for j := range tn {
		w("\t\tlet u%d = %s;\n\t\tlet v%d = %s * s1;\n", j, ld("k", fmt.Sprintf("c%d + d", j)), j, ld("k", fmt.Sprintf("c%d + d1", j)))
	}
	for i := range tm {
		w("\t\tlet xa%d = %s;\n\t\tlet xb%d = %s;\n", i, ld("q", fmt.Sprintf("r%d + d", i)), i, ld("q", fmt.Sprintf("r%d + d1", i)))
		for j := range tn {
			w("\t\ta%d_%d = a%d_%d + d2(xa%d, u%d, xb%d, v%d);\n", i, j, i, j, i, j, i, j)
		}
	}
	w(`	}
	// The mask's addend and validity of each key of the block.
	let mb = (bh / p.nh + p.b0) * p.sk;
`)
	for j := range tn {
		w("\tlet ma%d = select(0.0, F32_MIN, p.has_mask != 0u && mask[mb + min(n0 + %du, p.sk - 1u)] == 0.0);\n", j, j)
		w("\tlet ok%d = n0 + %du < p.sk;\n", j, j)
	}
	w("\tlet wcol = n0 / 4u;\n\tlet blk = n0 / TN;\n")
	for i := range tm {
		w("\tif (m0 + %du < p.sq) {\n", i)
		w("\t\tlet row = bh * p.sq + m0 + %du;\n", i)
		for j := range tn {
			w("\t\tlet s%d = a%d_%d * p.scale + ma%d;\n", j, i, j, j)
		}
		w("\t\tvar mx = s0;\n")
		for j := 1; j < tn; j++ {
			w("\t\tmx = select(mx, max(mx, s%d), ok%d);\n", j, j)
		}
		for j := range tn {
			w("\t\tlet e%d = select(0.0, exp(s%d - mx), ok%d);\n", j, j, j)
		}
		for q := 0; q < tn/4; q++ {
			w("\t\tif (wcol + %du < p.skp4) {\n\t\t\tw[row * p.skp4 + wcol + %du] = vec4<f32>(e%d, e%d, e%d, e%d);\n\t\t}\n",
				q, q, 4*q, 4*q+1, 4*q+2, 4*q+3)
		}
		var sum []string
		for j := range tn {
			sum = append(sum, fmt.Sprintf("e%d", j))
		}
		w("\t\tst[row * p.nt + blk] = vec2<f32>(mx, %s);\n", strings.Join(sum, " + "))
		w("\t}\n")
	}
	w("}\n")
	return b.String()
}

// attentionPVShader returns the WGSL of the last part of CPU attention: a
// tile.tm × tile.tn block (queries × head-dimension columns) of
// out = (w·f)·v per invocation.
func attentionPVShader(tile attnTile) string {
	tm, tn := tile.tm, tile.tn
	tn4 := tn / 4
	kb := tile.kb
	steps := kb / 4
	var b strings.Builder
	w := func(f string, a ...any) { fmt.Fprintf(&b, f, a...) }
	ld := func(arr, idx string) string { return arr + "[" + idx + "]" }
	vb := "bb * p.kv_bstride4 + h * dh4"
	ldW := func(idx string) string { return "w[" + idx + "]" }
	ldF := func(idx string) string { return "st[" + idx + "].x" }
	if tile.tex {
		ldW = func(idx string) string { return "ld(p.w0 + " + idx + ")" }
		ldF = func(idx string) string { return "ldf(" + idx + ")" }
		w(pvTexDoc, tm, tn, tm*tn4, tn4, kb, steps)
		ld = func(_, idx string) string { return "ld(" + idx + ")" }
		vb = "p.v0 + (bh / p.nh + p.vboff) * p.kv_bstride4 + h * dh4"
	} else {
		w(pvBufferDoc, tm, tn, tm*tn4, tn4, kb, steps)
	}
	w(`@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
	let g = wid.x + wid.y * nwg.x;
	if (g >= p.total) {
		return;
	}
	let per = p.rtiles * p.ctiles;
	let bh = g / per;
	let t = g %% per;
	let m0 = ((t / p.ctiles) * (WG / p.wc) + lid / p.wc) * TM;
	let n0 = ((t %% p.ctiles) * p.wc + lid %% p.wc) * TN4;
	let dh4 = p.dh4;
	if (m0 >= p.sq || n0 >= dh4) {
		return;
	}
	let bb = bh / p.nh + p.boff;
	let h = p.h0 + bh %% p.nh;
	let vb = %s;
	// Rows of w and st, clamped to the last query; columns of v in vec4,
	// clamped to the head's last.
`, vb)
	for i := range tm {
		w("\tlet e%d = bh * p.sq + min(m0 + %du, p.sq - 1u);\n", i, i)
		w("\tlet w%d = e%d * p.skp4;\n\tlet fr%d = e%d * p.nt;\n", i, i, i, i)
	}
	for q := range tn4 {
		w("\tlet c%d = vb + min(n0 + %du, dh4 - 1u);\n", q, q)
	}
	for i := range tm {
		for q := range tn4 {
			w("\tvar a%d_%d = vec4<f32>(0.0);\n", i, q)
		}
	}
	w(`	// One block of %d keys per iteration, in %d steps of 4 keys.
	for (var blk = 0u; blk < p.nt; blk = blk + 1u) {
`, kb, steps)
	for i := range tm {
		w("\t\tlet g%d = %s;\n", i, ldF(fmt.Sprintf("fr%d + blk", i)))
	}
	for s := range steps {
		w("\t\t{\n")
		w("\t\t\tlet j4 = blk * KB4 + %du;\n", s)
		w("\t\t\tlet jw = min(j4, p.skp4 - 1u);\n")
		w("\t\t\tlet on = select(0.0, 1.0, j4 < p.skp4);\n")
		for k := range 4 {
			w("\t\t\tlet j%d = min(4u * j4 + %du, p.sk - 1u) * p.hidden4;\n", k, k)
		}
		for k := range 4 {
			for q := range tn4 {
				w("\t\t\tlet v%d_%d = %s;\n", k, q, ld("v", fmt.Sprintf("c%d + j%d", q, k)))
			}
		}
		for i := range tm {
			w("\t\t\tlet x%d = %s * (g%d * on);\n", i, ldW(fmt.Sprintf("w%d + jw", i)), i)
			for q := range tn4 {
				w("\t\t\ta%[1]d_%[2]d = a%[1]d_%[2]d + x%[1]d.x * v0_%[2]d + x%[1]d.y * v1_%[2]d + x%[1]d.z * v2_%[2]d + x%[1]d.w * v3_%[2]d;\n", i, q)
			}
		}
		w("\t\t}\n")
	}
	w("\t}\n\tlet ob = bb * p.o_bstride4 + h * dh4 + n0;\n")
	for i := range tm {
		w("\tif (m0 + %du < p.sq) {\n\t\tlet o = ob + (m0 + %du) * p.hidden4;\n", i, i)
		for q := range tn4 {
			if q == 0 {
				w("\t\tout[o] = a%d_0;\n", i)
				continue
			}
			w("\t\tif (n0 + %du < dh4) {\n\t\t\tout[o + %du] = a%d_%d;\n\t\t}\n", q, q, i, q)
		}
		w("\t}\n")
	}
	w("}\n")
	return b.String()
}

// scoresBufferDoc is the head of attention_scores_TMxTN.wgsl, up to main:
// the doc comment and declarations (format arguments TM, TN, TM·TN).
const scoresBufferDoc = `// Attention scores for CPU adapters (lavapipe), the first of the three
// dispatches of attention computed as matrix products (see
// attention_pv_*.wgsl and attention_rowscale.wgsl). For each (b, h) of a
// chunk of batch·heads, query i and key j:
//   s = q_h[i]·k_h[j] / √Dh + m[j],   m[j] = float32 min where mask[b, j] is 0
// (Hugging Face's masking), and per block of %[2]d keys (one invocation's
// columns) with max M and sum L of exp(s - M) over the block's keys:
//   w[bh, i, j] = exp(s - M)   (0 for the padding keys Sk ≤ j < Skp)
//   st[bh, i, block] = (M, L)
// attention_rowscale.wgsl then turns the (M, L) of a row into each block's
// factor exp(M - max M) / Σ L·exp(M - max M), and attention_pv_*.wgsl
// multiplies the factored weights with v.
// q is [Bq, Sq, H·Dh] with Bq = B or 1 (a probe broadcast over the batch,
// the MAP pooling head: q_bstride4 = 0), k [B, Sk, H·Dh]; Dh %% 4 = 0.
// GENERATED by graph/gpuexec/attention_gen_test.go; do not edit (go test
// ./graph/gpuexec -run TestAttentionShadersGenerated -update-attention-shaders).
//
// A CPU adapter runs a workgroup's invocations as the lanes of SIMD
// registers and pays for every storage load with a loop over the lanes, so
// each invocation computes a %[1]d×%[2]d block of scores in %[3]d scalar
// accumulators, unrolled: per two vec4 steps of the head dimension it loads
// %[1]d×2 vec4 of q and %[2]d×2 vec4 of k for %[3]d×8 multiply-adds. No
// workgroup memory, no barriers. Rows and keys past the edge are read
// clamped and not written.
//
// Loop trips per invocation (lavapipe ends an invocation's loops after
// 65535 iterations in all): ⌈Dh/8⌉, 16 at Dh = 128, whatever Sq and Sk.
//
// Bindings: 0 q as vec4 (read) · 1 k as vec4 (read) · 2 mask [B, Sk] (read;
//           any buffer when has_mask is 0) · 3 w [bh, Sq, Skp] as vec4
//           (read_write) · 4 st [bh, Sq, nt] (M, L) pairs (read_write) ·
//           5 params {sq, sk, skp4 = Skp/4, nt = ⌈Sk/%[2]d⌉, hidden4 = H·Dh/4,
//           q_bstride4, kv_bstride4 (batch strides of q and k in vec4), nh
//           (heads in the chunk), h0 (its first head), b0 (its first batch,
//           for the mask), boff (added to the chunk-relative batch to index
//           q and k: b0 when they are bound whole, 0 when bound from b0),
//           has_mask, scale, rtiles, ctiles, total, dh4 = Dh/4, wc (lanes
//           side by side in keys, dividing WG)}
// Workgroup: WG invocations as a (WG/wc)×wc grid over a block of rows ×
//            keys; workgroup g covers bh = g / (rtiles·ctiles) of the chunk
//            (b = b0 + bh / nh, h = h0 + bh %% nh) and tile g %% (rtiles·ctiles)
//            of its rows × keys; total = nbh·rtiles·ctiles workgroups,
//            folded into x·y above 65535.
// Overrides: WG (default 8: one SIMD vector of lavapipe at 256 bits).
// The head dimension and the lane grid are parameters, not overrides, so
// that one compiled pipeline (lavapipe takes seconds per compile) serves
// every model.
override WG: u32 = 8u;

const TM: u32 = %[1]du;
const TN: u32 = %[2]du;
const F32_MIN: f32 = -3.4028234663852886e38;

struct Params {
	sq: u32, sk: u32, skp4: u32, nt: u32,
	hidden4: u32, q_bstride4: u32, kv_bstride4: u32, nh: u32,
	h0: u32, b0: u32, boff: u32, has_mask: u32,
	scale: f32, rtiles: u32, ctiles: u32, total: u32,
	dh4: u32, wc: u32,
}

@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> mask: array<f32>;
@group(0) @binding(3) var<storage, read_write> w: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> st: array<vec2<f32>>;
@group(0) @binding(5) var<uniform> p: Params;

// d2 is the dot product of (a, c) with (b, d).
fn d2(a: vec4<f32>, b: vec4<f32>, c: vec4<f32>, d: vec4<f32>) -> f32 {
	return a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w + c.x * d.x + c.y * d.y + c.z * d.z + c.w * d.w;
}

`

// pvBufferDoc is the head of attention_pv_TMxTN_kKB.wgsl, up to main: the
// doc comment and declarations (format arguments TM, TN, TM·TN/4, TN/4, KB,
// KB/4).
const pvBufferDoc = `// Attention output for CPU adapters (lavapipe), the last of the three
// dispatches of attention computed as matrix products: for each (b, h) of a
// chunk of batch·heads and query i,
//   out[b, i, h·Dh + c] = Σ_j w[bh, i, j] · f[bh, i, j / %[5]d] · v[b, j, h·Dh + c]
// where w holds exp(s - M) per block of %[5]d keys and f each block's factor
// exp(M - max M) / Σ L·exp(M - max M), left in st[..].x by
// attention_rowscale.wgsl: so out = softmax(q·kᵀ/√Dh + m)·v.
// v is [B, Sk, H·Dh], out [B, Sq, H·Dh]; Dh %% 4 = 0.
// GENERATED by graph/gpuexec/attention_gen_test.go; do not edit (go test
// ./graph/gpuexec -run TestAttentionShadersGenerated -update-attention-shaders).
//
// Each invocation computes a %[1]d×%[2]d block of out (rows m0.., in %[3]d vec4 accumulators, unrolled: per block of %[5]d keys it loads
// %[1]d factors, then per 4 keys %[1]d vec4 of w and 4×%[4]d vec4 of v for
// %[1]d×%[2]d×4 multiply-adds. No workgroup memory, no barriers. Rows and
// columns past the edge are read clamped and not written; keys past Skp
// are read clamped and weighed by zero.
//
// Loop trips per invocation (lavapipe ends an invocation's loops after
// 65535 iterations in all): nt = ⌈Sk/%[5]d⌉, 256 at Sk = 4096.
//
// Bindings: 0 w [bh, Sq, Skp] as vec4 (read) · 1 st [bh, Sq, nt] with the
//           factor in .x (read) · 2 v as vec4 (read) · 3 out as vec4
//           (read_write) · 4 params {sq, sk, skp4, nt, hidden4, kv_bstride4,
//           o_bstride4 (batch strides of v and out in vec4), nh, h0, boff
//           (added to the chunk-relative batch to index v and out), rtiles,
//           ctiles, total, dh4 = Dh/4, wc (lanes side by side in columns,
//           dividing WG)}
// Workgroup: WG invocations as a (WG/wc)×wc grid over a block of rows ×
//            columns; workgroup g covers bh = g / (rtiles·ctiles) of the
//            chunk and tile g %% (rtiles·ctiles) of its rows × columns; total
//            = nbh·rtiles·ctiles workgroups, folded into x·y above 65535.
// Overrides: WG (default 8). The head dimension and the lane grid are
// parameters, so that one compiled pipeline serves every model.
override WG: u32 = 8u;

const TM: u32 = %[1]du;
const TN4: u32 = %[4]du;
const KB4: u32 = %[6]du;

struct Params {
	sq: u32, sk: u32, skp4: u32, nt: u32,
	hidden4: u32, kv_bstride4: u32, o_bstride4: u32, nh: u32,
	h0: u32, boff: u32, rtiles: u32, ctiles: u32,
	total: u32, dh4: u32, wc: u32,
}

@group(0) @binding(0) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> st: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> p: Params;

`

// scoresTexDoc is the head of attention_scores_tex_TMxTN.wgsl (mm_tex), up
// to main (format arguments TM, TN, TM·TN).
const scoresTexDoc = `// Attention scores for CPU adapters (lavapipe) reading q and k through a
// read-only storage texture: attention_scores_%[1]dx%[2]d.wgsl's computation,
// the first of mm_tex's three dispatches (see attention_pv_tex_*.wgsl and
// attention_rowscale.wgsl). For each (b, h) of a chunk of batch·heads,
// query i and key j:
//   s = q_h[i]·k_h[j] / √Dh + m[j],   m[j] = float32 min where mask[b, j] is 0
// (Hugging Face's masking), and per block of %[2]d keys (one invocation's
// columns) with max M and sum L of exp(s - M) over the block's keys:
//   w[bh, i, j] = exp(s - M)   (0 for the padding keys Sk ≤ j < Skp)
//   st[bh, i, block] = (M, L)
// q is [Bq, Sq, H·Dh] with Bq = B or 1 (a probe broadcast over the batch,
// the MAP pooling head: q_bstride4 = 0), k [B, Sk, H·Dh]; Dh %% 4 = 0.
// GENERATED by graph/gpuexec/attention_gen_test.go; do not edit (go test
// ./graph/gpuexec -run TestAttentionShadersGenerated -update-attention-shaders).
//
// q and k are copied, flat, into one texture of XW texels (4 f32) per row
// before the dispatch: texel t of the texture (t = q0 + the vec4 index into
// q, or k0 + the index into k) is at (t %% XW, t / XW). On lavapipe a
// storage-buffer load is a loop over the SIMD lanes with a branch per lane;
// a read-only storage texture load is not, and costs about a third. Each
// invocation computes a %[1]d×%[2]d block of scores in %[3]d scalar
// accumulators, unrolled: per two vec4 steps of the head dimension it loads
// %[1]d×2 texels of q and %[2]d×2 of k for %[3]d×8 multiply-adds. No
// workgroup memory, no barriers. Rows and keys past the edge are read
// clamped and not written.
//
// Loop trips per invocation (lavapipe ends an invocation's loops after
// 65535 iterations in all): ⌈Dh/8⌉, 16 at Dh = 128, whatever Sq and Sk.
//
// Bindings: 0 q and k (rgba32float texture) · 1 mask [B, Sk] (read; any
//           buffer when has_mask is 0) · 2 w [bh, Sq, Skp] as vec4
//           (read_write) · 3 st [bh, Sq, nt] (M, L) pairs (read_write) ·
//           4 params {sq, sk, skp4 = Skp/4, nt = ⌈Sk/%[2]d⌉, hidden4 = H·Dh/4,
//           q_bstride4, kv_bstride4 (batch strides of q and k in vec4), nh
//           (heads in the chunk), h0 (its first head), b0 (its first batch,
//           for the mask), boff (0: q and k are copied whole), has_mask,
//           scale, rtiles, ctiles, total, dh4 = Dh/4, wc (lanes side by side
//           in keys, dividing WG), q0, k0 (texel offsets of q and k)}
// Workgroup: WG invocations as a (WG/wc)×wc grid over a block of rows ×
//            keys; workgroup g covers bh = g / (rtiles·ctiles) of the chunk
//            (b = b0 + bh / nh, h = h0 + bh %% nh) and tile g %% (rtiles·ctiles)
//            of its rows × keys; total = nbh·rtiles·ctiles workgroups,
//            folded into x·y above 65535.
// Overrides: WG (default 8: one SIMD vector of lavapipe at 256 bits).
// The head dimension and the lane grid are parameters, not overrides, so
// that one compiled pipeline (lavapipe takes seconds per compile) serves
// every model.
override WG: u32 = 8u;

const TM: u32 = %[1]du;
const TN: u32 = %[2]du;
const F32_MIN: f32 = -3.4028234663852886e38;
// XW is the width of the texture in texels, 2^XWS.
const XW: u32 = 4096u;
const XWS: u32 = 12u;

struct Params {
	sq: u32, sk: u32, skp4: u32, nt: u32,
	hidden4: u32, q_bstride4: u32, kv_bstride4: u32, nh: u32,
	h0: u32, b0: u32, boff: u32, has_mask: u32,
	scale: f32, rtiles: u32, ctiles: u32, total: u32,
	dh4: u32, wc: u32, q0: u32, k0: u32,
}

@group(0) @binding(0) var xt: texture_storage_2d<rgba32float, read>;
@group(0) @binding(1) var<storage, read> mask: array<f32>;
@group(0) @binding(2) var<storage, read_write> w: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> st: array<vec2<f32>>;
@group(0) @binding(4) var<uniform> p: Params;

// ld returns texel t of the flat texture.
fn ld(t: u32) -> vec4<f32> {
	return textureLoad(xt, vec2<i32>(i32(t & (XW - 1u)), i32(t >> XWS)));
}

// d2 is the dot product of (a, c) with (b, d).
fn d2(a: vec4<f32>, b: vec4<f32>, c: vec4<f32>, d: vec4<f32>) -> f32 {
	return a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w + c.x * d.x + c.y * d.y + c.z * d.z + c.w * d.w;
}

`

// pvTexDoc is the head of attention_pv_tex_TMxTN_kKB.wgsl (mm_tex), up to
// main (format arguments TM, TN, TM·TN/4, TN/4, KB, KB/4).
const pvTexDoc = `// Attention output for CPU adapters (lavapipe) reading v, the weights and
// their factors through a read-only storage texture: attention_pv_%[1]dx%[2]d_k%[5]d.wgsl's
// computation, the last of mm_tex's three dispatches: for each (b, h) of a
// chunk of batch·heads and query i,
//   out[b, i, h·Dh + c] = Σ_j w[bh, i, j] · f[bh, i, j / %[5]d] · v[b, j, h·Dh + c]
// where w holds exp(s - M) per block of %[5]d keys and f each block's factor
// exp(M - max M) / Σ L·exp(M - max M), left in st[..].x by
// attention_rowscale.wgsl: so out = softmax(q·kᵀ/√Dh + m)·v.
// v is [B, Sk, H·Dh], out [B, Sq, H·Dh]; Dh %% 4 = 0.
// GENERATED by graph/gpuexec/attention_gen_test.go; do not edit (go test
// ./graph/gpuexec -run TestAttentionShadersGenerated -update-attention-shaders).
//
// v is copied, flat, into a texture of XW texels per row before the first
// dispatch (texel v0 + t holds vec4 t of v, at ((v0 + t) %% XW, (v0 + t) / XW)),
// the chunk's weights w and statistics st after the row scale (texel w0 + t
// holds vec4 t of w, texel s0 + t pairs 2t and 2t + 1 of st). Each invocation computes a %[1]d×%[2]d block of out (rows m0..,
// in %[3]d vec4 accumulators, unrolled: per block of %[5]d keys it loads %[1]d
// factors, then per 4 keys %[1]d texels of w and 4×%[4]d of v for
// %[1]d×%[2]d×4 multiply-adds. No workgroup memory, no barriers. Rows and
// columns past the edge are read clamped and not written; keys past Skp are
// read clamped and weighed by zero.
//
// Loop trips per invocation (lavapipe ends an invocation's loops after
// 65535 iterations in all): nt = ⌈Sk/%[5]d⌉, 256 at Sk = 4096.
//
// Bindings: 0 v, w and st (rgba32float texture) · 1 out as vec4
//           (read_write) · 2 params {sq, sk, skp4, nt, hidden4, kv_bstride4,
//           o_bstride4 (batch strides of v and out in vec4), nh, h0, boff
//           (added to the chunk-relative batch to index out), rtiles,
//           ctiles, total, dh4 = Dh/4, wc (lanes side by side in columns,
//           dividing WG), v0, w0, s0 (texel offsets of v, w and st), vboff
//           (the chunk's first batch, to index v)}
// Workgroup: WG invocations as a (WG/wc)×wc grid over a block of rows ×
//            columns; workgroup g covers bh = g / (rtiles·ctiles) of the
//            chunk and tile g %% (rtiles·ctiles) of its rows × columns; total
//            = nbh·rtiles·ctiles workgroups, folded into x·y above 65535.
// Overrides: WG (default 8). The head dimension and the lane grid are
// parameters, so that one compiled pipeline serves every model.
override WG: u32 = 8u;

const TM: u32 = %[1]du;
const TN4: u32 = %[4]du;
const KB4: u32 = %[6]du;
// XW is the width of the texture in texels, 2^XWS.
const XW: u32 = 4096u;
const XWS: u32 = 12u;

struct Params {
	sq: u32, sk: u32, skp4: u32, nt: u32,
	hidden4: u32, kv_bstride4: u32, o_bstride4: u32, nh: u32,
	h0: u32, boff: u32, rtiles: u32, ctiles: u32,
	total: u32, dh4: u32, wc: u32, v0: u32,
	w0: u32, s0: u32, vboff: u32,
}

@group(0) @binding(0) var xt: texture_storage_2d<rgba32float, read>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: Params;

// ld returns texel t of the flat texture.
fn ld(t: u32) -> vec4<f32> {
	return textureLoad(xt, vec2<i32>(i32(t & (XW - 1u)), i32(t >> XWS)));
}

// ldf returns the factor of st pair i, two pairs per texel.
fn ldf(i: u32) -> f32 {
	let t = ld(p.s0 + i / 2u);
	return select(t.x, t.z, (i & 1u) == 1u);
}

`
