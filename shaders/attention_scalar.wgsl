// Fused multi-head attention (generic: any head dimension), softmax(q_h·k_hᵀ/√Dh + m)·v_h per head h, where
// m is the float32 minimum at keys whose mask is 0 (Hugging Face's masking: a
// fully masked row stays finite and averages v uniformly).
// q is [Bq, Sq, H·Dh] with Bq = B or 1 (a probe broadcast over the batch, the
// MAP pooling head); k and v are [B, Sk, H·Dh]; the result is [B, Sq, H·Dh].
//
// Online softmax (flash-attention style): keys are visited in blocks of KB;
// each block's scores are computed, the running maximum and sum are rescaled
// once per block, and the block's values are accumulated. Nothing of size Sk
// is stored. Each invocation owns QB queries of one head and keeps their
// q rows, accumulators and block scores in private memory, so every k and v
// element it loads serves QB queries. No workgroup memory: the variant for
// CPU adapters (lavapipe), where private arrays are cheap and workgroup
// memory and barriers are slow.
//
// Loop trips per invocation (lavapipe ends an invocation's loops after 65535
// iterations in all; see package shaders): per block of KB keys
// 1 + KB·(1 + 2·QB + DH·(1 + QB)) + QB·(1 + 2·KB + DH) + KB·(1 + DH·(1 + QB)),
// ~6400 per 16 keys at Dh 64, past the limit from Sk ≈ 160 (counting no loop
// as unrolled; measured wrong at Sk = 1024, Dh = 72). The executor
// refuses such shapes on CPU adapters.
//
// Bindings: 0 q (read) · 1 k (read) · 2 v (read) · 3 mask [B, Sk] (read; any
//           buffer when has_mask is 0) · 4 out [B, Sq, H·Dh] (read_write) ·
//           5 params {batch, sq, sk, heads, q_batch_stride, has_mask, scale, qblocks}
// Workgroup: WG invocations, each one block of QB queries; a workgroup's
//            blocks share one (b, h); the grid is B·H·ceil(qblocks / WG)
//            workgroups folded into x·y when above 65535.
// Overrides: DH (head dimension), QB (queries per invocation), KB (keys per
//            block), WG (default 64).
override WG: u32 = 64u;
override DH: u32 = 64u;
override QB: u32 = 2u;
override KB: u32 = 16u;

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

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
	// A workgroup owns WG query blocks of one (b, h), so that every k, v and
	// mask address below is the same for all its invocations: lavapipe then
	// loads it once for all lanes instead of gathering lane by lane.
	let groups = (p.qblocks + WG - 1u) / WG;
	let g = wid.x + wid.y * nwg.x;
	if (g >= p.batch * p.heads * groups) {
		return;
	}
	let h = (g / groups) % p.heads;
	let b = g / (groups * p.heads);
	let qblk = (g % groups) * WG + lid;
	let hidden = p.heads * DH;
	let kv0 = b * p.sk * hidden + h * DH;

	var qr = array<array<f32, DH>, QB>();
	var acc = array<array<f32, DH>, QB>();
	var m = array<f32, QB>();
	var l = array<f32, QB>();
	var sc = array<array<f32, KB>, QB>();
	for (var qi = 0u; qi < QB; qi = qi + 1u) {
		m[qi] = F32_MIN;
		// Queries past the end compute on row sq-1 and are not written.
		let i = min(qblk * QB + qi, p.sq - 1u);
		let qbase = b * p.q_batch_stride + i * hidden + h * DH;
		for (var d = 0u; d < DH; d = d + 1u) {
			qr[qi][d] = q[qbase + d] * p.scale;
		}
	}
	for (var j0 = 0u; j0 < p.sk; j0 = j0 + KB) {
		// Scores of this block of keys; keys past the end repeat key sk-1
		// and are excluded below.
		for (var jj = 0u; jj < KB; jj = jj + 1u) {
			let j = min(j0 + jj, p.sk - 1u);
			let kbase = kv0 + j * hidden;
			var s = array<f32, QB>();
			for (var qi = 0u; qi < QB; qi = qi + 1u) {
				s[qi] = 0.0;
			}
			for (var d = 0u; d < DH; d = d + 1u) {
				let kv = k[kbase + d];
				for (var qi = 0u; qi < QB; qi = qi + 1u) {
					s[qi] = s[qi] + qr[qi][d] * kv;
				}
			}
			var add = 0.0;
			if (p.has_mask != 0u && mask[b * p.sk + j] == 0.0) {
				add = F32_MIN;
			}
			for (var qi = 0u; qi < QB; qi = qi + 1u) {
				sc[qi][jj] = s[qi] + add;
			}
		}
		let kn = min(KB, p.sk - j0);
		// Rescale the running state to the new maximum; turn scores into
		// unnormalised probabilities (0 for keys past the end).
		for (var qi = 0u; qi < QB; qi = qi + 1u) {
			var bm = m[qi];
			for (var jj = 0u; jj < KB; jj = jj + 1u) {
				bm = select(bm, max(bm, sc[qi][jj]), jj < kn);
			}
			let alpha = exp(m[qi] - bm);
			m[qi] = bm;
			var sum = l[qi] * alpha;
			for (var jj = 0u; jj < KB; jj = jj + 1u) {
				let e = select(0.0, exp(sc[qi][jj] - bm), jj < kn);
				sc[qi][jj] = e;
				sum = sum + e;
			}
			l[qi] = sum;
			for (var d = 0u; d < DH; d = d + 1u) {
				acc[qi][d] = acc[qi][d] * alpha;
			}
		}
		// Accumulate the block's values.
		for (var jj = 0u; jj < KB; jj = jj + 1u) {
			let vbase = kv0 + min(j0 + jj, p.sk - 1u) * hidden;
			for (var d = 0u; d < DH; d = d + 1u) {
				let vv = v[vbase + d];
				for (var qi = 0u; qi < QB; qi = qi + 1u) {
					acc[qi][d] = acc[qi][d] + sc[qi][jj] * vv;
				}
			}
		}
	}
	for (var qi = 0u; qi < QB; qi = qi + 1u) {
		let i = qblk * QB + qi;
		if (i < p.sq) {
			let obase = (b * p.sq + i) * hidden + h * DH;
			let inv = 1.0 / l[qi];
			for (var d = 0u; d < DH; d = d + 1u) {
				out[obase + d] = acc[qi][d] * inv;
			}
		}
	}
}
