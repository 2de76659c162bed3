// derive.mjs makes the SigLIP 2 variant of Gemma's tokenizer.json: the same
// vocabulary and merges, with the post-processor that
// GemmaTokenizerFast(add_bos_token=False, add_eos_token=True) writes (no <bos>,
// <eos> appended), and a tokenizer_config.json to match.
//
//   node tools/tokref/derive.mjs GEMMA_DIR SIGLIP2_DIR
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

const [src, dst] = process.argv.slice(2);
if (!src || !dst) {
  console.error("usage: node derive.mjs GEMMA_DIR SIGLIP2_DIR");
  process.exit(2);
}
const tok = JSON.parse(readFileSync(join(src, "tokenizer.json"), "utf8"));
const cfg = JSON.parse(readFileSync(join(src, "tokenizer_config.json"), "utf8"));

const eos = tok.added_tokens.find((t) => t.content === "<eos>");
if (!eos) throw new Error(`${src}/tokenizer.json has no <eos> added token`);
// The template GemmaTokenizerFast.update_post_processor builds:
// single "$A:0 <eos>:0", pair "$A:0 <eos>:0 $B:1 <eos>:1".
tok.post_processor = {
  type: "TemplateProcessing",
  single: [
    { Sequence: { id: "A", type_id: 0 } },
    { SpecialToken: { id: "<eos>", type_id: 0 } },
  ],
  pair: [
    { Sequence: { id: "A", type_id: 0 } },
    { SpecialToken: { id: "<eos>", type_id: 0 } },
    { Sequence: { id: "B", type_id: 1 } },
    { SpecialToken: { id: "<eos>", type_id: 1 } },
  ],
  special_tokens: { "<eos>": { id: "<eos>", ids: [eos.id], tokens: ["<eos>"] } },
};
cfg.add_bos_token = false;
cfg.add_eos_token = true;
cfg.model_max_length = 64;
cfg.padding_side = "right";
delete cfg.chat_template;

mkdirSync(dst, { recursive: true });
writeFileSync(join(dst, "tokenizer.json"), JSON.stringify(tok));
writeFileSync(join(dst, "tokenizer_config.json"), JSON.stringify(cfg, null, 2) + "\n");
