// Softmax over the last dimension with an optional key mask, as Hugging Face
// masks attention: y = softmax(x + m) where m is the float32 minimum at
// positions whose mask is 0 (a fully masked row stays finite and comes out
// uniform). x is [B, .., N]; the mask [B, N] is broadcast over the middle
// dimensions. One invocation per row, three passes (max, sum, write) in f32.
//
// Loop trips per invocation (lavapipe ends an invocation's loops after 65535
// iterations in all; see package shaders): 3·N, 12288 at N = 4096; the
// executor refuses N past 21845 on CPU adapters.
//
// Bindings: 0 x [rows, N] (read) · 1 mask [B, N] (read; any buffer when
//           has_mask is 0) · 2 y [rows, N] (read_write) ·
//           3 params {rows, n, rows_per_batch, has_mask} (uniform)
// Workgroup: WG invocations, one row each; the grid is ceil(rows / WG)
//            workgroups folded into x·y when above 65535.
// Overrides: WG (default 64).
override WG: u32 = 64u;

const F32_MIN: f32 = -3.4028234663852886e38;

struct Params { rows: u32, n: u32, rows_per_batch: u32, has_mask: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> mask: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

fn score(base: u32, mbase: u32, j: u32) -> f32 {
	var s = x[base + j];
	if (p.has_mask != 0u && mask[mbase + j] == 0.0) {
		s = s + F32_MIN;
	}
	return s;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
	let row = (wid.x + wid.y * nwg.x) * WG + lid;
	if (row >= p.rows) {
		return;
	}
	let base = row * p.n;
	let mbase = (row / p.rows_per_batch) * p.n;
	var mx = F32_MIN;
	for (var j = 0u; j < p.n; j = j + 1u) {
		mx = max(mx, score(base, mbase, j));
	}
	var sum = 0.0;
	for (var j = 0u; j < p.n; j = j + 1u) {
		let e = exp(score(base, mbase, j) - mx);
		y[base + j] = e;
		sum = sum + e;
	}
	let inv = 1.0 / sum;
	for (var j = 0u; j < p.n; j = j + 1u) {
		y[base + j] = y[base + j] * inv;
	}
}
