// LayerNorm over the last dimension (torch.nn.LayerNorm):
//   y = (x - mean) / sqrt(var + eps) * gamma + beta, var biased,
// computed in two passes in f32 (the mean, then the mean of (x - mean)²), which
// keeps the variance accurate when |mean| is large against the spread.
// One workgroup per row: each invocation sums a strided part of the row and a
// tree reduction in workgroup memory combines the parts. The variant for GPUs.
//
// Loop trips per invocation (lavapipe's limit is 65535 in all): 3·⌈D/WG⌉ +
// 2·log2(WG), 34 at D = 1536, WG = 256.
//
// Bindings: 0 x [rows, D] (read) · 1 gamma [D] · 2 beta [D] ·
//           3 y [rows, D] (read_write) · 4 params {rows, d, eps} (uniform)
// Workgroup: WG invocations, one workgroup per row; the grid is rows
//            workgroups folded into x·y when rows exceed 65535.
// Overrides: WG (power of two, default 256).
override WG: u32 = 256u;

struct Params { rows: u32, d: u32, eps: f32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> beta: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

var<workgroup> red: array<f32, WG>;

fn sum_all(lid: u32, v: f32) -> f32 {
	red[lid] = v;
	workgroupBarrier();
	for (var s = WG / 2u; s > 0u; s = s / 2u) {
		if (lid < s) {
			red[lid] = red[lid] + red[lid + s];
		}
		workgroupBarrier();
	}
	let total = red[0];
	workgroupBarrier();
	return total;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
	let row = wid.x + wid.y * nwg.x;
	if (row >= p.rows) {
		return;
	}
	let base = row * p.d;
	var s = 0.0;
	for (var i = lid; i < p.d; i = i + WG) {
		s = s + x[base + i];
	}
	let mean = sum_all(lid, s) / f32(p.d);
	var q = 0.0;
	for (var i = lid; i < p.d; i = i + WG) {
		let c = x[base + i] - mean;
		q = q + c * c;
	}
	let inv = inverseSqrt(sum_all(lid, q) / f32(p.d) + p.eps);
	for (var i = lid; i < p.d; i = i + WG) {
		y[base + i] = (x[base + i] - mean) * inv * gamma[i] + beta[i];
	}
}
