// GELU with the tanh approximation (torch gelu(approximate="tanh"),
// gelu_pytorch_tanh), four elements per invocation:
// y = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), as gelu.wgsl (tanh
// argument clamped to ±15). n must be a multiple of 4: one vec4 load and
// store per invocation, which on CPU adapters (every storage access a loop
// over the SIMD lanes) costs little more than a scalar one. Usually the
// planner fuses GELU into the Linear before it; this kernel runs when it
// cannot.
//
// Bindings: 0 x [n] as vec4 (read) · 1 y [n] as vec4 (read_write) ·
//           2 params {n4 = n/4} (uniform)
// Workgroup: WG invocations, one vec4 each; the grid is ceil(n4 / WG)
//            workgroups folded into x·y when above 65535.
// Overrides: WG (default 256).
override WG: u32 = 256u;

struct Params { n4: u32 }

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> y: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: Params;

fn gelu_tanh(v: vec4<f32>) -> vec4<f32> {
	let t = clamp(0.7978845608028654 * (v + 0.044715 * v * v * v), vec4<f32>(-15.0), vec4<f32>(15.0));
	return 0.5 * v * (1.0 + tanh(t));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
	let i = (wid.x + wid.y * nwg.x) * WG + lid;
	if (i < p.n4) {
		y[i] = gelu_tanh(x[i]);
	}
}
