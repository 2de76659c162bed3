// LayerNorm over the last dimension (torch.nn.LayerNorm):
//   y = (x - mean) / sqrt(var + eps) * gamma + beta, var biased,
// computed in two passes in f32 (the mean, then the mean of (x - mean)²).
// Sums run in blocks of 16 elements whose sums are then added, so rounding
// grows with 16 + D/16 terms rather than D (residual streams have large means).
// One invocation per row, no workgroup memory: the variant for CPU adapters
// (lavapipe), where workgroup memory and barriers are slow and long loops in
// one invocation are fast.
//
// Loop trips per invocation (lavapipe ends an invocation's loops after 65535
// iterations in all; see package shaders): 2·(⌈D/16⌉ + D) + D, 4800 at
// D = 1536.
//
// Bindings: 0 x [rows, D] (read) · 1 gamma [D] · 2 beta [D] ·
//           3 y [rows, D] (read_write) · 4 params {rows, d, eps} (uniform)
// Workgroup: WG invocations, one row each; the grid is ceil(rows / WG).
// Overrides: WG (default 64).
override WG: u32 = 64u;

struct Params { rows: u32, d: u32, eps: f32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> beta: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
	let row = (wid.x + wid.y * nwg.x) * WG + lid;
	if (row >= p.rows) {
		return;
	}
	let base = row * p.d;
	var s = 0.0;
	for (var i0 = 0u; i0 < p.d; i0 = i0 + 16u) {
		var b = 0.0;
		for (var i = i0; i < min(i0 + 16u, p.d); i = i + 1u) {
			b = b + x[base + i];
		}
		s = s + b;
	}
	let mean = s / f32(p.d);
	var q = 0.0;
	for (var i0 = 0u; i0 < p.d; i0 = i0 + 16u) {
		var b = 0.0;
		for (var i = i0; i < min(i0 + 16u, p.d); i = i + 1u) {
			let c = x[base + i] - mean;
			b = b + c * c;
		}
		q = q + b;
	}
	let inv = inverseSqrt(q / f32(p.d) + p.eps);
	for (var i = 0u; i < p.d; i = i + 1u) {
		y[base + i] = (x[base + i] - mean) * inv * gamma[i] + beta[i];
	}
}
