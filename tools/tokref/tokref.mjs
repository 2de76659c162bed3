// tokref.mjs encodes every string of a corpus with transformers.js's tokenizer
// code (the @lenml/tokenizers fork, pinned in package.json) and prints one JSON
// array of ids per line: the truth gosig's tokenizer tests compare against.
//
//   node tools/tokref/tokref.mjs DIR CORPUS [--lower] [--decode] > expected.jsonl
//   node tools/tokref/tokref.mjs DIR CORPUS --bench SECONDS
//
// DIR holds tokenizer.json and tokenizer_config.json. --lower lowercases each
// string with String.prototype.toLowerCase first (what gosig's Lowercase option
// must reproduce). --decode prints {"ids", "text", "skip"} objects instead,
// with the ids decoded as they are and with skip_special_tokens. --bench
// prints encode throughput instead of ids.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TokenizerLoader } from "@lenml/tokenizers";

const args = process.argv.slice(2);
const [dir, corpusPath] = args;
if (!dir || !corpusPath) {
  console.error("usage: node tokref.mjs DIR CORPUS [--lower] [--bench SECONDS]");
  process.exit(2);
}
const lower = args.includes("--lower");
const decode = args.includes("--decode");
const benchAt = args.indexOf("--bench");

let t0 = performance.now();
const tokenizer = TokenizerLoader.fromPreTrained({
  tokenizerJSON: JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8")),
  tokenizerConfig: JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8")),
});
const loadMs = performance.now() - t0;

const corpus = readFileSync(corpusPath, "utf8")
  .split("\n")
  .filter((l) => l.length > 0)
  .map((l) => JSON.parse(l))
  .map((s) => (lower ? s.toLowerCase() : s));

if (benchAt < 0) {
  const out = corpus.map((s) => {
    const ids = tokenizer.encode(s);
    if (!decode) return JSON.stringify(ids);
    return JSON.stringify({
      ids,
      text: tokenizer.decode(ids),
      skip: tokenizer.decode(ids, { skip_special_tokens: true }),
    });
  });
  process.stdout.write(out.join("\n") + "\n");
} else {
  const seconds = Number(args[benchAt + 1] ?? "10");
  // Warm up once (fills the BPE cache as gosig's benchmark also does).
  for (const s of corpus) tokenizer.encode(s);
  let n = 0;
  const cpu0 = process.cpuUsage();
  t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    for (const s of corpus) tokenizer.encode(s);
    n += corpus.length;
  }
  const el = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  console.log(JSON.stringify({
    load_ms: Math.round(loadMs), strings: n, seconds: el,
    strings_per_s: Math.round(n / el), strings_per_cpu_s: Math.round(n / cpuS),
  }));
}
