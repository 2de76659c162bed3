// make_small.mjs writes two small BPE tokenizer.json files for gosig's tests,
// each exercising tokenizer.json features the 256k Gemma file does not use
// (normalizers Prepend, NFKC, Lowercase, Strip; Split and Metaspace
// pre-tokenizers; merges as ["a", "b"] pairs; no byte fallback; lstrip/rstrip
// added tokens; Strip and Metaspace decoders). The merges are learned by a
// plain BPE over the hand-written corpus, so the output is deterministic.
//
//   node tools/tokref/make_small.mjs testdata/tokenizer
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) {
  console.error("usage: node make_small.mjs OUTDIR");
  process.exit(2);
}
const SP = "\u2581";
const text = readFileSync(join(here, "handwritten.jsonl"), "utf8")
  .split("\n").filter((l) => l).map((l) => JSON.parse(l)).join(" ").toLowerCase();

// Learn nMerges merges over words that start with SP.
function learn(nMerges) {
  const counts = new Map();
  for (const w of text.split(/\s+/).filter((w) => w)) {
    const k = SP + w;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  let words = [...counts].map(([w, c]) => [Array.from(w), c]);
  const merges = [];
  for (let m = 0; m < nMerges; m++) {
    const pairs = new Map();
    for (const [syms, c] of words) {
      for (let i = 0; i + 1 < syms.length; i++) {
        const k = syms[i] + "\u0000" + syms[i + 1];
        pairs.set(k, (pairs.get(k) ?? 0) + c);
      }
    }
    let best = null;
    for (const [k, c] of pairs) {
      if (best === null || c > best[1] || (c === best[1] && k < best[0])) best = [k, c];
    }
    if (best === null || best[1] < 2) break;
    const [a, b] = best[0].split("\u0000");
    merges.push([a, b]);
    words = words.map(([syms, c]) => {
      const n = [];
      for (let i = 0; i < syms.length; i++) {
        if (i + 1 < syms.length && syms[i] === a && syms[i + 1] === b) {
          n.push(a + b);
          i++;
        } else n.push(syms[i]);
      }
      return [n, c];
    });
  }
  return merges;
}

function vocabulary(specials, merges, bytes) {
  const vocab = {};
  let id = 0;
  for (const s of specials) vocab[s] = id++;
  if (bytes) for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`] = id++;
  const chars = new Set(Array.from(SP + "abcdefghijklmnopqrstuvwxyz0123456789.,!?'\"-:;()éèàüöäçñ"));
  for (const ch of Array.from(text)) if (chars.size < 160 && !/\s/u.test(ch)) chars.add(ch);
  for (const ch of [...chars].sort()) if (!(ch in vocab)) vocab[ch] = id++;
  for (const [a, b] of merges) if (!((a + b) in vocab)) vocab[a + b] = id++;
  return vocab;
}

const added = (id, content, o = {}) => ({
  id, content, single_word: false, lstrip: !!o.lstrip, rstrip: !!o.rstrip, normalized: false, special: !!o.special,
});

// A: Llama-like. Prepend + Replace, byte fallback, "a b" merges, lstrip/rstrip tokens.
{
  const merges = learn(400);
  const vocab = vocabulary(["<unk>", "<s>", "</s>", "<mask>", "[SEP]"], merges, true);
  const tok = {
    version: "1.0", truncation: null, padding: null,
    added_tokens: [
      added(0, "<unk>", { special: true }), added(1, "<s>", { special: true }), added(2, "</s>", { special: true }),
      added(3, "<mask>", { lstrip: true, rstrip: true }), added(4, "[SEP]", { special: true, rstrip: true }),
    ],
    normalizer: { type: "Sequence", normalizers: [
      { type: "Prepend", prepend: SP }, { type: "Replace", pattern: { String: " " }, content: SP },
    ] },
    pre_tokenizer: null,
    post_processor: { type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "</s>", type_id: 0 } }],
      pair: [{ Sequence: { id: "A", type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } }],
      special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] }, "</s>": { id: "</s>", ids: [2], tokens: ["</s>"] } } },
    decoder: { type: "Sequence", decoders: [
      { type: "Replace", pattern: { String: SP }, content: " " }, { type: "ByteFallback" }, { type: "Fuse" },
      { type: "Strip", content: " ", start: 1, stop: 0 },
    ] },
    model: { type: "BPE", dropout: null, unk_token: "<unk>", continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab, merges: merges.map(([a, b]) => `${a} ${b}`) },
  };
  mkdirSync(join(out, "small_bytefallback"), { recursive: true });
  writeFileSync(join(out, "small_bytefallback", "tokenizer.json"), JSON.stringify(tok, null, 1) + "\n");
  writeFileSync(join(out, "small_bytefallback", "tokenizer_config.json"), JSON.stringify({
    bos_token: "<s>", eos_token: "</s>", unk_token: "<unk>", clean_up_tokenization_spaces: false, model_max_length: 32,
  }, null, 1) + "\n");
}

// B: NFKC + Lowercase + Strip, Split and Metaspace pre-tokenizers, [a, b]
// merges, no byte fallback (unknown characters fuse into one <unk>).
{
  const merges = learn(300);
  const vocab = vocabulary(["<unk>", "<pad>", "</s>", "<sep>"], merges, false);
  const tok = {
    version: "1.0", truncation: null, padding: null,
    added_tokens: [
      added(0, "<unk>", { special: true }), added(1, "<pad>", { special: true }), added(2, "</s>", { special: true }),
      added(3, "<sep>", {}),
    ],
    normalizer: { type: "Sequence", normalizers: [
      { type: "NFKC" }, { type: "Lowercase" }, { type: "Strip", strip_left: true, strip_right: true },
    ] },
    pre_tokenizer: { type: "Sequence", pretokenizers: [
      // A String pattern with "Removed" keeps the delimiter in transformers.js
      // (it wraps the pattern in a capture group); a Regex one removes it, as
      // Hugging Face does for both.
      { type: "Split", pattern: { Regex: "-" }, behavior: "Removed", invert: false },
      { type: "Split", pattern: { Regex: "[0-9]" }, behavior: "Isolated", invert: false },
      { type: "Metaspace", replacement: SP, add_prefix_space: true, prepend_scheme: "first" },
    ] },
    post_processor: { type: "TemplateProcessing",
      single: [{ Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "</s>", type_id: 0 } }],
      pair: [{ Sequence: { id: "A", type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } }],
      special_tokens: { "</s>": { id: "</s>", ids: [2], tokens: ["</s>"] } } },
    decoder: { type: "Metaspace", replacement: SP, add_prefix_space: true, prepend_scheme: "first" },
    model: { type: "BPE", dropout: null, unk_token: "<unk>", continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: true, byte_fallback: false, vocab, merges },
  };
  mkdirSync(join(out, "small_metaspace"), { recursive: true });
  writeFileSync(join(out, "small_metaspace", "tokenizer.json"), JSON.stringify(tok, null, 1) + "\n");
  writeFileSync(join(out, "small_metaspace", "tokenizer_config.json"), JSON.stringify({
    eos_token: "</s>", unk_token: "<unk>", pad_token: "<pad>", clean_up_tokenization_spaces: true, model_max_length: 16,
  }, null, 1) + "\n");
}
