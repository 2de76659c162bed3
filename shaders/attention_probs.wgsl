// The weights of multi-head attention, softmax(q_h·k_hᵀ/√Dh + m) per head,
// where m is the float32 minimum at keys whose mask is 0 (Hugging Face's
// masking: a fully masked row stays finite and comes out uniform).
// q is [Bq, Sq, H·Dh] with Bq = B or 1 (one query set broadcast over the
// batch); k is [B, Sk, H·Dh]; the result is [B, H, Sq, Sk].
// One workgroup per (b, h, query) row: its invocations stride over the keys,
// write their scores to the output row and keep their maximum; a tree
// reduction in workgroup memory gives the row's maximum, the invocations
// exponentiate their keys and sum, a second reduction gives the sum, and
// each invocation normalises its keys (f32 throughout).
//
// Loop trips per invocation (lavapipe ends an invocation's loops after 65535
// iterations in all): ⌈Sk/WG⌉·(Dh + 3) + 2·log2(WG), 8460 at Sk = 4096,
// Dh = 128, WG = 64.
//
// Bindings: 0 q (read) · 1 k (read) · 2 mask [B, Sk] (read; any buffer when
//           has_mask is 0) · 3 probs [B, H, Sq, Sk] (read_write) ·
//           4 params {batch, sq, sk, heads, dh, q_batch_stride, has_mask, scale}
// Workgroup: WG invocations, one row per workgroup; the grid is B·H·Sq
//            workgroups folded into x·y when above 65535.
// Overrides: WG (power of two, default 64).
override WG: u32 = 64u;

const F32_MIN: f32 = -3.4028234663852886e38;

struct Params {
	batch: u32, sq: u32, sk: u32, heads: u32,
	dh: u32, q_batch_stride: u32, has_mask: u32, scale: f32,
}

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<f32>;
@group(0) @binding(3) var<storage, read_write> probs: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

var<workgroup> red: array<f32, WG>;

fn max_all(lid: u32, v: f32) -> f32 {
	red[lid] = v;
	workgroupBarrier();
	for (var s = WG / 2u; s > 0u; s = s / 2u) {
		if (lid < s) {
			red[lid] = max(red[lid], red[lid + s]);
		}
		workgroupBarrier();
	}
	let r = red[0];
	workgroupBarrier();
	return r;
}

fn sum_all(lid: u32, v: f32) -> f32 {
	red[lid] = v;
	workgroupBarrier();
	for (var s = WG / 2u; s > 0u; s = s / 2u) {
		if (lid < s) {
			red[lid] = red[lid] + red[lid + s];
		}
		workgroupBarrier();
	}
	let r = red[0];
	workgroupBarrier();
	return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
	let t = wid.x + wid.y * nwg.x;
	if (t >= p.batch * p.heads * p.sq) {
		return;
	}
	let i = t % p.sq;
	let h = (t / p.sq) % p.heads;
	let b = t / (p.sq * p.heads);
	let hidden = p.heads * p.dh;
	let qbase = b * p.q_batch_stride + i * hidden + h * p.dh;
	let out = t * p.sk;
	var mx = F32_MIN;
	for (var j = lid; j < p.sk; j = j + WG) {
		let kbase = (b * p.sk + j) * hidden + h * p.dh;
		var s = 0.0;
		for (var d = 0u; d < p.dh; d = d + 1u) {
			s = s + q[qbase + d] * k[kbase + d];
		}
		s = s * p.scale;
		if (p.has_mask != 0u && mask[b * p.sk + j] == 0.0) {
			s = s + F32_MIN;
		}
		probs[out + j] = s;
		mx = max(mx, s);
	}
	mx = max_all(lid, mx);
	var sum = 0.0;
	for (var j = lid; j < p.sk; j = j + WG) {
		let e = exp(probs[out + j] - mx);
		probs[out + j] = e;
		sum = sum + e;
	}
	let inv = 1.0 / sum_all(lid, sum);
	for (var j = lid; j < p.sk; j = j + WG) {
		probs[out + j] = probs[out + j] * inv;
	}
}
