// Fused multi-head attention for CPU adapters (lavapipe):
//   out_h = softmax(q_h·k_hᵀ/√Dh + m)·v_h for every head h,
// where m is the float32 minimum at keys whose mask is 0 (Hugging Face's
// masking: a fully masked row stays finite and averages v uniformly).
// q is [Bq, Sq, H·Dh] with Bq = B or 1 (a probe broadcast over the batch, the
// MAP pooling head); k and v are [B, Sk, H·Dh]; out is [B, Sq, H·Dh].
//
// Online softmax (flash-attention style), one key at a time: each invocation
// owns one query, keeps its q row and accumulator in private vec4 arrays and
// visits every key once, nothing of size Sk stored. Written for lavapipe,
// where every iteration of a loop the compiler cannot unroll costs as much as
// dozens of multiply-adds and private arrays stay in registers only when all
// their indices are constants: the loops over the head dimension run over
// DH4 = Dh/4 vec4s (unrolled); only the loop over keys remains. Elements are
// loaded as scalars (lavapipe's vec4 storage loads are slower than four
// scalar ones). A workgroup's invocations share one (b, h), so the key and
// value addresses are the same for all of them.
//
// Bindings: 0 q (read) · 1 k (read) · 2 v (read) · 3 mask [B, Sk] (read; any
//           buffer when has_mask is 0) · 4 out (read_write) ·
//           5 params {batch, sq, sk, heads, q_batch_stride, has_mask, scale, qblocks}
// Workgroup: WG invocations, one query each, all of one (b, h); the grid is
//            B·H·ceil(Sq / WG) workgroups folded into x·y above 65535.
// Overrides: DH4 (head dimension / 4), WG (default 16).
override WG: u32 = 16u;
override DH4: u32 = 16u;

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
	// qblocks is the number of workgroups per (b, h) here.
	let g = wid.x + wid.y * nwg.x;
	if (g >= p.batch * p.heads * p.qblocks) {
		return;
	}
	let h = (g / p.qblocks) % p.heads;
	let b = g / (p.qblocks * p.heads);
	let i = (g % p.qblocks) * WG + lid;
	let hidden = p.heads * DH4 * 4u;
	let kv0 = b * p.sk * hidden + h * DH4 * 4u;

	// A query past the end computes on row sq-1 and is not written.
	let qbase = b * p.q_batch_stride + min(i, p.sq - 1u) * hidden + h * DH4 * 4u;
	var qr = array<vec4<f32>, DH4>();
	var acc = array<vec4<f32>, DH4>();
	for (var d = 0u; d < DH4; d = d + 1u) {
		let o = qbase + 4u * d;
		qr[d] = vec4<f32>(q[o], q[o + 1u], q[o + 2u], q[o + 3u]) * p.scale;
	}
	var m = F32_MIN;
	var l = 0.0;
	for (var j = 0u; j < p.sk; j = j + 1u) {
		let kb = kv0 + j * hidden;
		var s = 0.0;
		for (var d = 0u; d < DH4; d = d + 1u) {
			s = s + dot(qr[d], load4(kb + 4u * d));
		}
		if (p.has_mask != 0u && mask[b * p.sk + j] == 0.0) {
			s = s + F32_MIN;
		}
		let mn = max(m, s);
		let alpha = exp(m - mn);
		let e = exp(s - mn);
		m = mn;
		l = l * alpha + e;
		for (var d = 0u; d < DH4; d = d + 1u) {
			acc[d] = acc[d] * alpha + e * loadv4(kb + 4u * d);
		}
	}
	if (i < p.sq) {
		let obase = (b * p.sq + i) * hidden + h * DH4 * 4u;
		let inv = 1.0 / l;
		for (var d = 0u; d < DH4; d = d + 1u) {
			let r = acc[d] * inv;
			out[obase + 4u * d] = r.x;
			out[obase + 4u * d + 1u] = r.y;
			out[obase + 4u * d + 2u] = r.z;
			out[obase + 4u * d + 3u] = r.w;
		}
	}
}
