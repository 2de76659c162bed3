// Embedding lookup: y[t, :] = table[ids[t], :] for every token t of ids
// [B, S], giving [B, S, D]. A table larger than the adapter's binding limit
// is bound in row ranges, one dispatch per range: each dispatch writes the
// tokens whose id falls in [row0, row0 + rows). An id outside the vocabulary
// reads row 0 (the executor rejects such ids on the host before running).
//
// Bindings: 0 table rows [row0, row0 + rows) × D (read) · 1 ids [T] i32 (read) ·
//           2 y [T, D] (read_write) · 3 params {tokens, d, row0, rows, vocab}
// Workgroup: WG invocations, one output element each; the grid is
//            ceil(T·D / WG) workgroups folded into x·y when above 65535.
// Overrides: WG (default 256).
override WG: u32 = 256u;

struct Params { tokens: u32, d: u32, row0: u32, rows: u32, vocab: u32 }

@group(0) @binding(0) var<storage, read> table: array<f32>;
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
	let i = (wid.x + wid.y * nwg.x) * WG + lid;
	if (i >= p.tokens * p.d) {
		return;
	}
	let t = i / p.d;
	let c = i % p.d;
	var id = ids[t];
	if (id < 0 || u32(id) >= p.vocab) {
		id = 0;
	}
	let r = u32(id);
	if (r >= p.row0 && r < p.row0 + p.rows) {
		y[i] = table[(r - p.row0) * p.d + c];
	}
}
