// LayerNorm over the last dimension (torch.nn.LayerNorm):
//   y = (x - mean) / sqrt(var + eps) * gamma + beta, var biased,
// computed in two passes in f32 (the mean, then the mean of (x - mean)²).
// D must be a multiple of 16 (SigLIP's 768, 1152, 1536 are): rows are read
// as vec4, four per loop iteration. Each of the four lanes of the vec4
// accumulator sums blocks of four elements, so rounding grows with D/16 + 4
// terms rather than D (residual streams have large means).
// One invocation per row, no workgroup memory: the variant for CPU adapters
// (lavapipe), where workgroup memory and barriers are slow and every
// storage access costs a loop over the SIMD lanes, a vec4 barely more than
// a scalar.
//
// Loop trips per invocation (lavapipe ends an invocation's loops after 65535
// iterations in all; see package shaders): 3·D/16, 288 at D = 1536.
//
// Bindings: 0 x [rows, D] as vec4 (read) · 1 gamma [D] as vec4 ·
//           2 beta [D] as vec4 · 3 y [rows, D] as vec4 (read_write) ·
//           4 params {rows, d4 = D/4, eps} (uniform)
// Workgroup: WG invocations, one row each; the grid is ceil(rows / WG)
//            workgroups folded into x·y when above 65535.
// Overrides: WG (default 8).
override WG: u32 = 8u;

struct Params { rows: u32, d4: u32, eps: f32 }

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> gamma: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> beta: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> p: Params;

fn hsum(v: vec4<f32>) -> f32 {
	return (v.x + v.y) + (v.z + v.w);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
	let row = (wid.x + wid.y * nwg.x) * WG + lid;
	if (row >= p.rows) {
		return;
	}
	let base = row * p.d4;
	var s = vec4<f32>(0.0);
	for (var i = base; i < base + p.d4; i = i + 4u) {
		s = s + ((x[i] + x[i + 1u]) + (x[i + 2u] + x[i + 3u]));
	}
	let n = f32(p.d4 * 4u);
	let mean = hsum(s) / n;
	var q = vec4<f32>(0.0);
	for (var i = base; i < base + p.d4; i = i + 4u) {
		let c0 = x[i] - mean;
		let c1 = x[i + 1u] - mean;
		let c2 = x[i + 2u] - mean;
		let c3 = x[i + 3u] - mean;
		q = q + ((c0 * c0 + c1 * c1) + (c2 * c2 + c3 * c3));
	}
	let inv = inverseSqrt(hsum(q) / n + p.eps);
	for (var i = 0u; i < p.d4; i = i + 4u) {
		y[base + i] = (x[base + i] - mean) * inv * gamma[i] + beta[i];
		y[base + i + 1u] = (x[base + i + 1u] - mean) * inv * gamma[i + 1u] + beta[i + 1u];
		y[base + i + 2u] = (x[base + i + 2u] - mean) * inv * gamma[i + 2u] + beta[i + 2u];
		y[base + i + 3u] = (x[base + i + 3u] - mean) * inv * gamma[i + 3u] + beta[i + 3u];
	}
}
