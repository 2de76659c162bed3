// Linear layer, Hugging Face nn.Linear with gosig's fused epilogue:
//   y = act(x·wᵀ + bias) + residual
// x [M, K], w [N, K] (the checkpoint's [out, in] layout), bias [N] and
// residual [M, N] optional, act none or GELU-tanh. A simple, correct kernel
// that the tuned Linear kernels are checked and timed against: each
// invocation computes a TM×TN block of y in private registers, reading x and
// w straight from storage, accumulating in f32 in k order.
//
// Bindings: 0 x (read) · 1 w (read) · 2 bias (read; any buffer when absent) ·
//           3 residual (read; any buffer when absent) · 4 y [M, N] (read_write) ·
//           5 params {m, k, n, flags} (uniform; flags: 1 bias, 2 GELU-tanh,
//           4 residual)
// Workgroup: WG invocations, each one TM×TN block; the grid is
//            ceil(ceil(M/TM)·ceil(N/TN) / WG) folded into x·y when above 65535.
// Overrides: TM, TN (block rows and columns, default 4 × 4), WG (default 64).
override WG: u32 = 64u;
override TM: u32 = 4u;
override TN: u32 = 4u;

struct Params { m: u32, k: u32, n: u32, flags: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> residual: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

fn gelu_tanh(v: f32) -> f32 {
	let t = clamp(0.7978845608028654 * (v + 0.044715 * v * v * v), -15.0, 15.0);
	return 0.5 * v * (1.0 + tanh(t));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
	let t = (wid.x + wid.y * nwg.x) * WG + lid;
	let ntn = (p.n + TN - 1u) / TN;
	let ntm = (p.m + TM - 1u) / TM;
	if (t >= ntn * ntm) {
		return;
	}
	let n0 = (t % ntn) * TN;
	let m0 = (t / ntn) * TM;
	// Rows past the edge read row m0 / n0 again (always valid) and are not
	// written, so the inner loop needs no bounds checks.
	var xrow = array<u32, TM>();
	var wrow = array<u32, TN>();
	for (var i = 0u; i < TM; i = i + 1u) {
		xrow[i] = select(m0, m0 + i, m0 + i < p.m) * p.k;
	}
	for (var j = 0u; j < TN; j = j + 1u) {
		wrow[j] = select(n0, n0 + j, n0 + j < p.n) * p.k;
	}
	var acc = array<array<f32, TN>, TM>();
	for (var kk = 0u; kk < p.k; kk = kk + 1u) {
		var xv: array<f32, TM>;
		for (var i = 0u; i < TM; i = i + 1u) {
			xv[i] = x[xrow[i] + kk];
		}
		for (var j = 0u; j < TN; j = j + 1u) {
			let wv = w[wrow[j] + kk];
			for (var i = 0u; i < TM; i = i + 1u) {
				acc[i][j] = acc[i][j] + xv[i] * wv;
			}
		}
	}
	for (var i = 0u; i < TM; i = i + 1u) {
		let r = m0 + i;
		if (r >= p.m) {
			break;
		}
		for (var j = 0u; j < TN; j = j + 1u) {
			let c = n0 + j;
			if (c >= p.n) {
				break;
			}
			var o = acc[i][j];
			if ((p.flags & 1u) != 0u) {
				o = o + bias[c];
			}
			if ((p.flags & 2u) != 0u) {
				o = gelu_tanh(o);
			}
			if ((p.flags & 4u) != 0u) {
				o = o + residual[r * p.n + c];
			}
			y[r * p.n + c] = o;
		}
	}
}
