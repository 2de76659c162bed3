// One position of every sequence: y[b, :] = x[b, index, :] for x [B, S, D]
// (the SigLIP text pooler takes the last token, the MAP head's output the
// first). The executor resolves a negative index before the dispatch.
//
// Bindings: 0 x [B, S, D] (read) · 1 y [B, D] (read_write) ·
//           2 params {batch, s, d, index} (uniform)
// Workgroup: WG invocations, one output element each; the grid is
//            ceil(B·D / WG) workgroups folded into x·y when above 65535.
// Overrides: WG (default 256).
override WG: u32 = 256u;

struct Params { batch: u32, s: u32, d: u32, index: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
	let i = (wid.x + wid.y * nwg.x) * WG + lid;
	if (i >= p.batch * p.d) {
		return;
	}
	let b = i / p.d;
	let c = i % p.d;
	y[i] = x[(b * p.s + p.index) * p.d + c];
}
