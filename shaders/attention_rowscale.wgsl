// Attention row scale for CPU adapters (lavapipe), the second of the three
// dispatches of attention computed as matrix products (see
// attention_scores_*.wgsl, attention_pv_*.wgsl). Each row of st holds, per
// block of keys, the block's maximum score M and the sum L of exp(s - M)
// over its keys; this kernel replaces each M by the block's factor
//   f = exp(M - max M) / Σ_blocks L·exp(M - max M)
// so that w·f, w = exp(s - M), is the row's softmax. A fully masked row
// (every score the float32 minimum) comes out uniform, as in Hugging Face.
// One invocation per row, three passes over the row's nt blocks in f32.
//
// Loop trips per invocation (lavapipe ends an invocation's loops after 65535
// iterations in all): 3·nt, 768 at Sk = 4096 with blocks of 16 keys.
//
// Bindings: 0 st [rows, nt] (M, L) pairs (read_write) ·
//           1 params {rows, nt} (uniform)
// Workgroup: WG invocations, one row each; the grid is ceil(rows / WG)
//            workgroups folded into x·y when above 65535.
// Overrides: WG (default 64).
override WG: u32 = 64u;

struct Params { rows: u32, nt: u32 }

@group(0) @binding(0) var<storage, read_write> st: array<vec2<f32>>;
@group(0) @binding(1) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
	let row = (wid.x + wid.y * nwg.x) * WG + lid;
	if (row >= p.rows) {
		return;
	}
	let base = row * p.nt;
	var mx = st[base].x;
	for (var t = 1u; t < p.nt; t = t + 1u) {
		mx = max(mx, st[base + t].x);
	}
	var l = 0.0;
	for (var t = 0u; t < p.nt; t = t + 1u) {
		let s = st[base + t];
		l = l + s.y * exp(s.x - mx);
	}
	let inv = 1.0 / l;
	for (var t = 0u; t < p.nt; t = t + 1u) {
		let s = st[base + t];
		st[base + t] = vec2<f32>(exp(s.x - mx) * inv, s.y);
	}
}
