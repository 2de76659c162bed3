// Linear layer for GPUs (discrete and integrated), with Hugging Face
// nn.Linear's weight layout and gosig's fused epilogue:
//   y = act(x·wᵀ + bias) + residual
// x [M, K], w [N, K] ([out, in]), bias [N] and residual [M, N] optional,
// act none or GELU-tanh. Any M, K, N.
//
// The textbook shared-memory tiling: a workgroup of WX×WY invocations owns a
// BM×BN block of y. For each slice of BK columns of k it stages the BM×BK
// slice of x and the BN×BK slice of w in workgroup memory (each invocation
// loads a few elements, consecutive invocations consecutive k, so global
// reads coalesce; zero past the edges), then every invocation accumulates a
// TM×TN micro-tile in registers from the staged slices. The micro-tile is
// strided (rows lid.y + i·WY, columns lid.x + j·WX) so that neighbouring
// invocations read neighbouring words of workgroup memory and write
// neighbouring words of y. Accumulation in f32, in k order per output.
// Correct but slow on CPU adapters (workgroup memory and barriers are
// emulated there); see linear_reg_*.wgsl for those.
//
// Bindings: 0 x (read) · 1 w, f32 weights (read; any buffer when F16) ·
//           2 w as packed f16, two halves per u32, low half first (read; any
//           buffer unless F16) · 3 bias (read; any buffer when absent) ·
//           4 residual (read; any buffer when absent) · 5 y [M, N] (read_write) ·
//           6 params {m, k, n, flags (1 bias, 2 GELU-tanh, 4 residual)}
// Workgroup: WX×WY invocations; the grid is ceil(N/BN) × ceil(M/BM).
// Overrides: BM, BN (block of y, default 64×64), BK (k per stage, default 16),
//            TM, TN (micro-tile, default 4×4), and the derived sizes the
//            compiler needs as constants: WX = BN/TN, WY = BM/TM,
//            XS = BK·(BM+1), WS = BK·(BN+1) (staged slices, one word of
//            padding per k row against bank conflicts), TMN = TM·TN;
//            F16 (read w from binding 2).
override BM: u32 = 64u;
override BN: u32 = 64u;
override BK: u32 = 16u;
override TM: u32 = 4u;
override TN: u32 = 4u;
override WX: u32 = 16u;
override WY: u32 = 16u;
override XS: u32 = 1040u;
override WS: u32 = 1040u;
override TMN: u32 = 16u;
override F16: bool = false;

struct Params { m: u32, k: u32, n: u32, flags: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> wh: array<u32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> residual: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

// xs[kk·(BM+1) + mm] = x[m0 + mm, k0 + kk]; ws likewise for w.
var<workgroup> xs: array<f32, XS>;
var<workgroup> ws: array<f32, WS>;

fn gelu_tanh(v: f32) -> f32 {
	let t = clamp(0.7978845608028654 * (v + 0.044715 * v * v * v), -15.0, 15.0);
	return 0.5 * v * (1.0 + tanh(t));
}

// loadW returns w's element i (row-major [N, K]) from the f32 or the packed
// f16 binding.
fn loadW(i: u32) -> f32 {
	if (F16) {
		return unpack2x16float(wh[i >> 1u])[i & 1u];
	}
	return w[i];
}

@compute @workgroup_size(WX, WY)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
	let n0 = wid.x * BN;
	let m0 = wid.y * BM;
	let ldx = BM + 1u;
	let ldw = BN + 1u;
	var acc = array<f32, TMN>();
	var a = array<f32, TM>();
	var b = array<f32, TN>();
	for (var k0 = 0u; k0 < p.k; k0 = k0 + BK) {
		for (var e = li; e < BM * BK; e = e + WX * WY) {
			let mm = e / BK;
			let kk = e % BK;
			let r = m0 + mm;
			let c = k0 + kk;
			var v = 0.0;
			if (r < p.m && c < p.k) {
				v = x[r * p.k + c];
			}
			xs[kk * ldx + mm] = v;
		}
		for (var e = li; e < BN * BK; e = e + WX * WY) {
			let nn = e / BK;
			let kk = e % BK;
			let r = n0 + nn;
			let c = k0 + kk;
			var v = 0.0;
			if (r < p.n && c < p.k) {
				v = loadW(r * p.k + c);
			}
			ws[kk * ldw + nn] = v;
		}
		workgroupBarrier();
		for (var kk = 0u; kk < BK; kk = kk + 1u) {
			for (var i = 0u; i < TM; i = i + 1u) {
				a[i] = xs[kk * ldx + lid.y + i * WY];
			}
			for (var j = 0u; j < TN; j = j + 1u) {
				b[j] = ws[kk * ldw + lid.x + j * WX];
			}
			for (var i = 0u; i < TM; i = i + 1u) {
				for (var j = 0u; j < TN; j = j + 1u) {
					acc[i * TN + j] = fma(a[i], b[j], acc[i * TN + j]);
				}
			}
		}
		workgroupBarrier();
	}
	for (var i = 0u; i < TM; i = i + 1u) {
		let r = m0 + lid.y + i * WY;
		for (var j = 0u; j < TN; j = j + 1u) {
			let c = n0 + lid.x + j * WX;
			if (r < p.m && c < p.n) {
				var o = acc[i * TN + j];
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
}
