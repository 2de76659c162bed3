// GELU with the tanh approximation (torch gelu(approximate="tanh"),
// gelu_pytorch_tanh): y = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
// The tanh argument is clamped to ±15, where tanh is ±1 in f32, because some
// drivers compute tanh through exp and return NaN for large arguments.
//
// Bindings: 0 x [n] (read) · 1 y [n] (read_write) · 2 params {n} (uniform)
// Workgroup: WG invocations, one element each; the grid is ceil(n / WG)
//            workgroups folded into x·y when above 65535.
// Overrides: WG (default 256).
override WG: u32 = 256u;

struct Params { n: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

fn gelu_tanh(v: f32) -> f32 {
	let t = clamp(0.7978845608028654 * (v + 0.044715 * v * v * v), -15.0, 15.0);
	return 0.5 * v * (1.0 + tanh(t));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
	let i = (wid.x + wid.y * nwg.x) * WG + lid;
	if (i < p.n) {
		y[i] = gelu_tanh(x[i]);
	}
}
