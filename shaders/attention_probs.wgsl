// The weights of multi-head attention, softmax(q_h·k_hᵀ/√Dh + m) per head,
// where m is the float32 minimum at keys whose mask is 0 (Hugging Face's
// masking: a fully masked row stays finite and comes out uniform).
// q is [Bq, Sq, H·Dh] with Bq = B or 1 (one query set broadcast over the
// batch); k is [B, Sk, H·Dh]; the result is [B, H, Sq, Sk].
// One invocation per (b, h, query): scores are written to the output row,
// then exponentiated and normalised in place (three passes, f32).
//
// Bindings: 0 q (read) · 1 k (read) · 2 mask [B, Sk] (read; any buffer when
//           has_mask is 0) · 3 probs [B, H, Sq, Sk] (read_write) ·
//           4 params {batch, sq, sk, heads, dh, q_batch_stride, has_mask, scale}
// Workgroup: WG invocations, one query row each; the grid is
//            ceil(B·H·Sq / WG) workgroups folded into x·y when above 65535.
// Overrides: WG (default 64).
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

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
	let t = (wid.x + wid.y * nwg.x) * WG + lid;
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
	for (var j = 0u; j < p.sk; j = j + 1u) {
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
	var sum = 0.0;
	for (var j = 0u; j < p.sk; j = j + 1u) {
		let e = exp(probs[out + j] - mx);
		probs[out + j] = e;
		sum = sum + e;
	}
	let inv = 1.0 / sum;
	for (var j = 0u; j < p.sk; j = j + 1u) {
		probs[out + j] = probs[out + j] * inv;
	}
}
