// Fused multi-head attention, softmax(q_h·k_hᵀ/√Dh + m)·v_h per head h, where
// m is the float32 minimum at keys whose mask is 0 (Hugging Face's masking: a
// fully masked row stays finite and averages v uniformly).
// q is [Bq, Sq, H·Dh] with Bq = B or 1 (a probe broadcast over the batch, the
// MAP pooling head); k and v are [B, Sk, H·Dh]; the result is [B, Sq, H·Dh].
//
// Online softmax (flash-attention style) with workgroup-memory tiles: a
// workgroup owns WG queries of one (b, h), one per invocation; it loads KT
// keys and values at a time into workgroup memory, cooperatively, and every
// invocation scores its query against the tile, rescales its running maximum,
// sum and accumulator once per tile, and accumulates the tile's values.
// The variant for GPUs.
//
// Loop trips per invocation (lavapipe ends an invocation's loops after 65535
// iterations in all; see package shaders): per tile of KT keys
// 1 + ⌈KT·DH/WG⌉ + ⌈KT/WG⌉ + 2·KT·(1 + DH) + DH, ~4260 per 32 keys at Dh 64:
// past the limit from Sk ≈ 490 (counting no loop as unrolled; measured wrong
// at Sk = 1024, Dh = 72). GPUs have no such limit; the executor
// refuses such shapes on CPU adapters.
//
// Bindings: 0 q (read) · 1 k (read) · 2 v (read) · 3 mask [B, Sk] (read; any
//           buffer when has_mask is 0) · 4 out [B, Sq, H·Dh] (read_write) ·
//           5 params {batch, sq, sk, heads, q_batch_stride, has_mask, scale, qblocks}
// Workgroup: WG invocations, one query each; the grid is B·H·qblocks
//            workgroups (qblocks = ceil(Sq / WG)) folded into x·y when above 65535.
// Overrides: DH (head dimension), KT (keys per tile), TILE (= KT·DH),
//            WG (default 64).
override WG: u32 = 64u;
override DH: u32 = 64u;
override KT: u32 = 32u;
override TILE: u32 = 2048u;

const F32_MIN: f32 = -3.4028234663852886e38;

struct Params {
	batch: u32, sq: u32, sk: u32, heads: u32,
	q_batch_stride: u32, has_mask: u32, scale: f32, qblocks: u32,
}

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> mask: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

var<workgroup> kt: array<f32, TILE>;
var<workgroup> vt: array<f32, TILE>;
var<workgroup> kmask: array<f32, KT>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
	let g = wid.x + wid.y * nwg.x;
	if (g >= p.batch * p.heads * p.qblocks) {
		return;
	}
	let qblk = g % p.qblocks;
	let h = (g / p.qblocks) % p.heads;
	let b = g / (p.qblocks * p.heads);
	let hidden = p.heads * DH;
	let i = qblk * WG + lid;
	let live = i < p.sq;

	var qr = array<f32, DH>();
	var acc = array<f32, DH>();
	var sc = array<f32, KT>();
	var m = F32_MIN;
	var l = 0.0;
	if (live) {
		let qbase = b * p.q_batch_stride + i * hidden + h * DH;
		for (var d = 0u; d < DH; d = d + 1u) {
			qr[d] = q[qbase + d] * p.scale;
		}
	}
	for (var j0 = 0u; j0 < p.sk; j0 = j0 + KT) {
		let kn = min(KT, p.sk - j0);
		for (var e = lid; e < kn * DH; e = e + WG) {
			let src = (b * p.sk + j0 + e / DH) * hidden + h * DH + e % DH;
			kt[e] = k[src];
			vt[e] = v[src];
		}
		for (var e = lid; e < kn; e = e + WG) {
			var valid = 1.0;
			if (p.has_mask != 0u) {
				valid = mask[b * p.sk + j0 + e];
			}
			kmask[e] = valid;
		}
		workgroupBarrier();
		var bm = m;
		for (var jj = 0u; jj < kn; jj = jj + 1u) {
			var s = 0.0;
			for (var d = 0u; d < DH; d = d + 1u) {
				s = s + qr[d] * kt[jj * DH + d];
			}
			if (kmask[jj] == 0.0) {
				s = s + F32_MIN;
			}
			sc[jj] = s;
			bm = max(bm, s);
		}
		let alpha = exp(m - bm);
		m = bm;
		l = l * alpha;
		for (var d = 0u; d < DH; d = d + 1u) {
			acc[d] = acc[d] * alpha;
		}
		for (var jj = 0u; jj < kn; jj = jj + 1u) {
			let e = exp(sc[jj] - bm);
			l = l + e;
			for (var d = 0u; d < DH; d = d + 1u) {
				acc[d] = acc[d] + e * vt[jj * DH + d];
			}
		}
		workgroupBarrier();
	}
	if (live) {
		let obase = (b * p.sq + i) * hidden + h * DH;
		let inv = 1.0 / l;
		for (var d = 0u; d < DH; d = d + 1u) {
			out[obase + d] = acc[d] * inv;
		}
	}
}
