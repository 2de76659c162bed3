// Divides each row by its Euclidean norm over the last dimension, with no
// epsilon (as Hugging Face normalises SigLIP embeddings):
// y[r, :] = x[r, :] / ‖x[r, :]‖₂. One invocation per row, two passes in f32.
//
// Loop trips per invocation (lavapipe's limit is 65535 in all): 2·D, 3072 at
// D = 1536.
//
// Bindings: 0 x [rows, D] (read) · 1 y [rows, D] (read_write) ·
//           2 params {rows, d} (uniform)
// Workgroup: WG invocations, one row each; the grid is ceil(rows / WG)
//            workgroups folded into x·y when above 65535.
// Overrides: WG (default 64).
override WG: u32 = 64u;

struct Params { rows: u32, d: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
	let row = (wid.x + wid.y * nwg.x) * WG + lid;
	if (row >= p.rows) {
		return;
	}
	let base = row * p.d;
	var ss = 0.0;
	for (var i = 0u; i < p.d; i = i + 1u) {
		let v = x[base + i];
		ss = ss + v * v;
	}
	let inv = 1.0 / sqrt(ss);
	for (var i = 0u; i < p.d; i = i + 1u) {
		y[base + i] = x[base + i] * inv;
	}
}
