// Fused multi-head attention for CPU adapters (lavapipe):
//   out_h = softmax(q_h·k_hᵀ/√Dh + m)·v_h for every head h,
// where m is the float32 minimum at keys whose mask is 0 (Hugging Face's
// masking: a fully masked row stays finite and averages v uniformly).
// q is [Bq, Sq, H·Dh] with Bq = B or 1 (a probe broadcast over the batch, the
// MAP pooling head); k and v are [B, Sk, H·Dh]; out is [B, Sq, H·Dh].
//
// Online softmax (flash-attention style), one key at a time: each invocation
// owns QB queries, keeps their q rows and accumulators in private vec4 arrays
// and visits every key once, nothing of size Sk stored; every k and v element
// it loads serves its QB queries. Written for lavapipe,
// where every iteration of a loop the compiler cannot unroll costs as much as
// dozens of multiply-adds and private arrays stay in registers only when all
// their indices are constants: the loops over the head dimension run over
// DH4 = Dh/4 vec4s (unrolled); only the loop over keys remains. Elements are
// loaded as scalars (lavapipe's vec4 storage loads are slower than four
// scalar ones). A workgroup's invocations share one (b, h), so the key and
// value addresses are the same for all of them.
//
// Loop trips per invocation (lavapipe ends an invocation's loops after 65535
// iterations in all; see package shaders), counting every loop:
// Sk·(1 + 2·QB + 2·DH4·(1 + QB)) + 2·QB·(1 + DH4), 101 per key at Dh 64:
// past the limit from Sk ≈ 650 (Mesa happens to unroll the loops over DH4 ≤
// 18, but nothing promises it). The executor refuses such shapes on CPU
// adapters; attention_scores/pv_*.wgsl are the CPU kernels now.
//
// Bindings: 0 q (read) · 1 k (read) · 2 v (read) · 3 mask [B, Sk] (read; any
//           buffer when has_mask is 0) · 4 out (read_write) ·
//           5 params {batch, sq, sk, heads, q_batch_stride, has_mask, scale,
//           qblocks = workgroups per (b, h)}
// Workgroup: WG invocations, QB queries each, all of one (b, h); the grid is
//            B·H·ceil(Sq / (WG·QB)) workgroups folded into x·y above 65535.
// Overrides: DH4 (head dimension / 4), QB (queries per invocation),
//            QD (= QB·DH4), WG (default 16).
override WG: u32 = 16u;
override DH4: u32 = 16u;
override QB: u32 = 1u;
override QD: u32 = 16u;

const F32_MIN: f32 = -3.4028234663852886e38;

struct Params {
	batch: u32, sq: u32, sk: u32, heads: u32,
	q_batch_stride: u32, has_mask: u32, scale: f32, qblocks: u32,
}

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> mask: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

fn load4(base: u32) -> vec4<f32> {
	return vec4<f32>(k[base], k[base + 1u], k[base + 2u], k[base + 3u]);
}

fn loadv4(base: u32) -> vec4<f32> {
	return vec4<f32>(v[base], v[base + 1u], v[base + 2u], v[base + 3u]);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
	// qblocks is the number of workgroups per (b, h) here. No early return:
	// workgroups past the end (of a folded grid) recompute the last one and
	// do not write.
	let total = p.batch * p.heads * p.qblocks;
	let graw = wid.x + wid.y * nwg.x;
	let g = min(graw, total - 1u);
	let h = (g / p.qblocks) % p.heads;
	let b = g / (p.qblocks * p.heads);
	let i0 = ((g % p.qblocks) * WG + lid) * QB;
	let hidden = p.heads * DH4 * 4u;
	let kv0 = b * p.sk * hidden + h * DH4 * 4u;

	// Query qi of this invocation is i0 + qi; its q row (pre-scaled) is
	// qr[qi·DH4 .. (qi+1)·DH4), its accumulator acc[...] likewise. A query
	// past the end computes on row sq-1 and is not written.
	var qr = array<vec4<f32>, QD>();
	var acc = array<vec4<f32>, QD>();
	var m = array<f32, QB>();
	var l = array<f32, QB>();
	var s = array<f32, QB>();
	for (var qi = 0u; qi < QB; qi = qi + 1u) {
		let qbase = b * p.q_batch_stride + min(i0 + qi, p.sq - 1u) * hidden + h * DH4 * 4u;
		for (var d = 0u; d < DH4; d = d + 1u) {
			let o = qbase + 4u * d;
			qr[qi * DH4 + d] = vec4<f32>(q[o], q[o + 1u], q[o + 2u], q[o + 3u]) * p.scale;
		}
		m[qi] = F32_MIN;
		l[qi] = 0.0;
	}
	for (var j = 0u; j < p.sk; j = j + 1u) {
		let kb = kv0 + j * hidden;
		for (var qi = 0u; qi < QB; qi = qi + 1u) {
			s[qi] = 0.0;
		}
		for (var d = 0u; d < DH4; d = d + 1u) {
			let kv = load4(kb + 4u * d);
			for (var qi = 0u; qi < QB; qi = qi + 1u) {
				s[qi] = s[qi] + dot(qr[qi * DH4 + d], kv);
			}
		}
		let masked = p.has_mask != 0u && mask[b * p.sk + j] == 0.0;
		var alpha = array<f32, QB>();
		for (var qi = 0u; qi < QB; qi = qi + 1u) {
			let x = select(s[qi], s[qi] + F32_MIN, masked);
			let mn = max(m[qi], x);
			alpha[qi] = exp(m[qi] - mn);
			s[qi] = exp(x - mn);
			m[qi] = mn;
			l[qi] = l[qi] * alpha[qi] + s[qi];
		}
		for (var d = 0u; d < DH4; d = d + 1u) {
			let vv = loadv4(kb + 4u * d);
			for (var qi = 0u; qi < QB; qi = qi + 1u) {
				acc[qi * DH4 + d] = acc[qi * DH4 + d] * alpha[qi] + s[qi] * vv;
			}
		}
	}
	for (var qi = 0u; qi < QB; qi = qi + 1u) {
		if (i0 + qi < p.sq && graw < total) {
			let obase = (b * p.sq + i0 + qi) * hidden + h * DH4 * 4u;
			let inv = 1.0 / l[qi];
			for (var d = 0u; d < DH4; d = d + 1u) {
				let r = acc[qi * DH4 + d] * inv;
				out[obase + 4u * d] = r.x;
				out[obase + 4u * d + 1u] = r.y;
				out[obase + 4u * d + 2u] = r.z;
				out[obase + 4u * d + 3u] = r.w;
			}
		}
	}
}
