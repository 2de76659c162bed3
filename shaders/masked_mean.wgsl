// Mean over the valid positions of each sequence (Hugging Face's masked mean
// for Siglip2ForImageClassification): y[b, c] = Σ_s x[b,s,c]·m[b,s] / Σ_s m[b,s]
// for x [B, S, D] and mask [B, S]. One invocation per output element, summing
// in f32 over the sequence.
//
// Loop trips per invocation (lavapipe's limit is 65535 in all): S, 4096 at
// the longest sequence gosig runs.
//
// Bindings: 0 x [B, S, D] (read) · 1 mask [B, S] (read) · 2 y [B, D]
//           (read_write) · 3 params {batch, s, d} (uniform)
// Workgroup: WG invocations, one output element each; the grid is
//            ceil(B·D / WG) workgroups folded into x·y when above 65535.
// Overrides: WG (default 64).
override WG: u32 = 64u;

struct Params { batch: u32, s: u32, d: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> mask: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
	let i = (wid.x + wid.y * nwg.x) * WG + lid;
	if (i >= p.batch * p.d) {
		return;
	}
	let b = i / p.d;
	let c = i % p.d;
	var acc = 0.0;
	var count = 0.0;
	for (var t = 0u; t < p.s; t = t + 1u) {
		let m = mask[b * p.s + t];
		acc = acc + x[(b * p.s + t) * p.d + c] * m;
		count = count + m;
	}
	y[i] = acc / count;
}
