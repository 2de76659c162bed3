// gen_corpus.mjs writes gosig's tokenizer test corpus: the hand-written cases in
// handwritten.jsonl followed by strings drawn from a seeded generator, one JSON
// string per line. The output is deterministic: same script, same corpus.
//
//   node tools/tokref/gen_corpus.mjs > testdata/tokenizer/corpus.jsonl
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

// mulberry32: a small seeded PRNG, so the corpus never changes between runs.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(20250101);
const int = (n) => Math.floor(rand() * n);
const pick = (xs) => xs[int(xs.length)];

// Words per language or script; sentences are drawn from these.
const words = {
  en: "a photo of the cat dog red blue circle square on in with and two three playing snow beach city night old young man woman child running bicycle mountain river tree flower car bus train airplane painting drawing sketch close-up blurry bright dark small large happy sad it's don't I'm we'll they've".split(" "),
  de: "ein Foto der Katze Hund Straße groß klein schön Mädchen Größe über Brücke Fluss Bäume weiß Schnee Fußball".split(" "),
  fr: "une photo du chat chien rouge bleu été hiver garçon fête château forêt œuvre naïve là où déjà très".split(" "),
  es: "una foto del gato perro rojo azul niño año mañana corazón señor pequeño grande ¿qué? ¡hola!".split(" "),
  pt: "uma foto do gato cão vermelho azul coração ação pão irmã avó São Paulo".split(" "),
  it: "una foto del gatto cane rosso blu perché città caffè più".split(" "),
  nl: "een foto van de kat hond rood blauw ijsje fiets".split(" "),
  pl: "zdjęcie kota psa czerwony niebieski żółty źródło łódź gęś".split(" "),
  tr: "bir kedi fotoğrafı köpek kırmızı mavi İstanbul ığdır şehir çocuk üzüm ÇİÇEK".split(" "),
  ru: "фотография кошки собака красный синий круг Москва ёлка ЮЛЯ объём".split(" "),
  uk: "фото кота собака червоний синій їжак ґанок".split(" "),
  el: "φωτογραφία μιας γάτας σκύλος κόκκινος μπλε ΟΔΥΣΣΕΥΣ Σίσυφος ΣΟΦΟΣ λόγος ΑΣ".split(" "),
  ar: "صورة قطة كلب أحمر أزرق دائرة مدينة الكتاب مُحَمَّد".split(" "),
  he: "תמונה של חתול כלב אדום כחול עיגול שָׁלוֹם".split(" "),
  fa: "عکس یک گربه سگ قرمز آبی".split(" "),
  hi: "एक बिल्ली की तस्वीर कुत्ता लाल नीला गोला नमस्ते क्षत्रिय".split(" "),
  bn: "একটি বিড়ালের ছবি কুকুর লাল নীল".split(" "),
  ta: "ஒரு பூனையின் புகைப்படம் நாய் சிவப்பு நீலம்".split(" "),
  te: "పిల్లి యొక్క ఫోటో కుక్క ఎరుపు".split(" "),
  th: "ภาพถ่ายของแมว สุนัข สีแดง สีน้ำเงิน วงกลม".split(" "),
  vi: "một bức ảnh con mèo chó màu đỏ xanh dương Tiếng Việt".split(" "),
  ko: "고양이 사진 강아지 빨간 파란 원 서울 한국어".split(" "),
  ja: "猫の写真 犬 赤い 青い 円 東京 ひらがな カタカナ ｶﾀｶﾅ".split(" "),
  zh: "一只猫的照片 狗 红色 蓝色 圆圈 北京 繁體中文 简体".split(" "),
  hy: "կատվի լուսանկար շուն կարմիր".split(" "),
  ka: "კატის ფოტო ძაღლი წითელი".split(" "),
  am: "የድመት ፎቶ ውሻ ቀይ".split(" "),
  sw: "picha ya paka mbwa nyekundu bluu".split(" "),
  yo: "àwòrán ológbò ajá pupa".split(" "),
  km: "រូបថតឆ្មា ឆ្កែ ក្រហម".split(" "),
  my: "ကြောင်ဓာတ်ပုံ ခွေး".split(" "),
  si: "පූසාගේ ඡායාරූපය බල්ලා".split(" "),
};
const langs = Object.keys(words);

// Pieces that stress the tokenizer: added tokens and their look-alikes, emoji and
// ZWJ sequences, combining marks, controls, odd whitespace.
const specials = [
  "<eos>", "<pad>", "<bos>", "<unk>", "<mask>", "<start_of_turn>", "<end_of_turn>",
  "<unused0>", "<unused42>", "<unused98>", "<unused99>", "[@BOS@]", "<2mass>",
  "<table>", "</td>", "<h1>", "</s>", "<s>", "<code>", "<0x41>", "<0xE2>",
  "< eos>", "<eos", "eos>", "<EOS>", "<<eos>>", "▁", "▁▁", "▁▁▁▁",
];
const emoji = [
  "😀", "🐱", "🐶", "🔴", "🟦", "❤️", "👍🏽", "👨‍👩‍👧‍👦", "👩🏾‍💻", "🏳️‍🌈", "🇯🇵", "🇺🇳",
  "1️⃣", "#️⃣", "🧑‍🤝‍🧑", "😶‍🌫️", "🫠", "🪿", "☺", "✌︎", "⚽",
];
const marks = ["\u0301", "\u0300", "\u0308", "\u0323", "\u0332", "\u20dd", "\u0489", "\u05b8", "\u093c", "\u0e31"];
const controls = [
  "\u0000", "\u0001", "\u0007", "\u0008", "\u000b", "\u000c", "\u001b", "\u007f", "\u0085",
  "\u00ad", "\u200b", "\u200c", "\u200d", "\u200e", "\u2028", "\u2029", "\u2060", "\ufeff",
  "\ufffd", "\ufff9", "\u{e0041}", "\u{f0000}",
];
const spaces = [" ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\n\n\n", "\r\n", " \n ",
  "\u00a0", "\u3000", "\u2003", "\u202f", "          ", " \t \n"];
// Code point ranges to draw random characters from.
const blocks = [
  [0x20, 0x7e], [0xa0, 0x17f], [0x370, 0x3ff], [0x400, 0x4ff], [0x530, 0x58f],
  [0x590, 0x5ff], [0x600, 0x6ff], [0x900, 0x97f], [0xe00, 0xe7f], [0x10a0, 0x10ff],
  [0x1100, 0x11ff], [0x1e00, 0x1eff], [0x2000, 0x206f], [0x2100, 0x214f], [0x2190, 0x21ff],
  [0x2200, 0x22ff], [0x2500, 0x257f], [0x3040, 0x30ff], [0x4e00, 0x9fff], [0xac00, 0xd7a3],
  [0xff00, 0xffef], [0x1d400, 0x1d7ff], [0x1f300, 0x1faff], [0x20000, 0x2a6df],
];

function randomChar() {
  const [lo, hi] = pick(blocks);
  return String.fromCodePoint(lo + int(hi - lo + 1));
}

function sentence(lang, n) {
  const ws = words[lang];
  const out = [];
  for (let i = 0; i < n; i++) out.push(pick(ws));
  let s = out.join(pick([" ", " ", " ", "  ", "\t", ", "]));
  switch (int(6)) {
    case 0: s = s.toUpperCase(); break;
    case 1: s = s[0].toUpperCase() + s.slice(1) + "."; break;
    case 2: s = s + pick(["?", "!", "...", "…", "。", "؟"]); break;
  }
  return s;
}

function decorate(s) {
  // Insert a random stressor at a random code point boundary.
  const cps = Array.from(s);
  const at = int(cps.length + 1);
  const kind = int(5);
  const ins = [pick(specials), pick(emoji), pick(marks), pick(controls), pick(spaces)][kind];
  cps.splice(at, 0, ins);
  return cps.join("");
}

function fixedLength(n, make) {
  let s = "";
  while (Array.from(s).length < n) s += make();
  return Array.from(s).slice(0, n).join("");
}

const gen = [];
// 1. Sentences in every language, plain and decorated.
for (let i = 0; i < 400; i++) {
  let s = sentence(langs[i % langs.length], 1 + int(12));
  const d = int(4);
  for (let k = 0; k < d; k++) s = decorate(s);
  gen.push(s);
}
// 2. Mixed-language sentences.
for (let i = 0; i < 120; i++) {
  const parts = [];
  for (let k = 0, n = 2 + int(4); k < n; k++) parts.push(sentence(pick(langs), 1 + int(4)));
  gen.push(parts.join(pick([" ", "", "\n", " / "])));
}
// 3. Random characters from many Unicode blocks.
for (let i = 0; i < 150; i++) {
  let s = "";
  for (let k = 0, n = 1 + int(30); k < n; k++) s += int(5) === 0 ? " " : randomChar();
  gen.push(s);
}
// 4. Whitespace runs and controls around words.
for (let i = 0; i < 80; i++) {
  let s = "";
  for (let k = 0, n = 1 + int(8); k < n; k++) {
    s += pick([pick(spaces), pick(spaces).repeat(1 + int(6)), pick(controls), pick(words.en)]);
  }
  gen.push(s);
}
// 5. Special-token look-alikes glued to text.
for (let i = 0; i < 100; i++) {
  let s = "";
  for (let k = 0, n = 1 + int(6); k < n; k++) {
    s += pick([pick(specials), pick(specials), pick(words.en), " ", pick(emoji)]);
  }
  gen.push(s);
}
// 6. Emoji strings, ZWJ sequences and combining-mark stacks.
for (let i = 0; i < 80; i++) {
  let s = "";
  for (let k = 0, n = 1 + int(10); k < n; k++) {
    s += pick([pick(emoji), pick(emoji) + "\u200d" + pick(emoji), "e" + pick(marks).repeat(1 + int(5)), " "]);
  }
  gen.push(s);
}
// 7. Prompts as the models see them.
for (let i = 0; i < 60; i++) {
  const label = sentence(pick(langs), 1 + int(3));
  gen.push(pick(["a photo of a {}.", "This is a photo of {}.", "{}", "an image of {}", "a blurry photo of the {}."]).replace("{}", label));
}
// 8. Exactly 300-code-point strings of several kinds, and a few longer ones.
for (let i = 0; i < 40; i++) {
  const lang = langs[i % langs.length];
  gen.push(fixedLength(300, () => sentence(lang, 3) + " "));
}
for (let i = 0; i < 20; i++) gen.push(fixedLength(300, randomChar));
for (let i = 0; i < 10; i++) gen.push(fixedLength(300, () => pick(emoji)));
gen.push("a".repeat(300), " ".repeat(300), "\n".repeat(300), "ab".repeat(150), "▁".repeat(300));
gen.push(fixedLength(300, () => pick(specials)), fixedLength(1000, () => sentence("en", 5) + ". "));

const hand = readFileSync(join(here, "handwritten.jsonl"), "utf8")
  .split("\n")
  .filter((l) => l.length > 0)
  .map((l) => JSON.parse(l));

for (const s of [...hand, ...gen]) process.stdout.write(JSON.stringify(s) + "\n");
