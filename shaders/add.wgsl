// Element-wise sum with broadcasting of the second operand over leading
// dimensions: y[i] = a[i] + b[i mod nb], where b's shape equals a's trailing
// dimensions (position embeddings [S, D] added to every sequence of [B, S, D]),
// or nb = n for same-shaped operands.
//
// Bindings: 0 a [n] (read) · 1 b [nb] (read) · 2 y [n] (read_write) ·
//           3 params {n, nb} (uniform)
// Workgroup: WG invocations, one element each; the grid is ceil(n / WG)
//            workgroups folded into x·y when above 65535.
// Overrides: WG (default 256).
override WG: u32 = 256u;

struct Params { n: u32, nb: u32 }

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
	let i = (wid.x + wid.y * nwg.x) * WG + lid;
	if (i < p.n) {
		y[i] = a[i] + b[i % p.nb];
	}
}
