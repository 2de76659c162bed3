"""spm_ref.py: Google's SentencePiece (Debian's python3-sentencepiece) as the
truth for gosig's SentencePiece code.

    python3 tools/tokref/spm_ref.py train  testdata/tokenizer
    python3 tools/tokref/spm_ref.py expect testdata/tokenizer

`train` makes two small models from the corpus whose normalizer carries a
precompiled charsmap (nmt_nfkc, nmt_nfkc_cf), which none of the fixtures has:
nfkc_unigram.model (Unigram, dummy prefix, a user-defined symbol) and
nfkc_bpe.model (BPE with byte fallback). `expect` writes, for every model listed
in MODELS, one JSON array of raw SentencePieceProcessor.encode ids per corpus
line to <name>.spm.jsonl (no BOS/EOS, no Hugging Face conventions), and
<name>.nodummy.spm.jsonl for the model with add_dummy_prefix forced off the way
transformers' SiglipTokenizer loads it.
"""

import json
import os
import sys

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as pb

MODELS = {
    "siglip2_tiny_p16": "../models/siglip2_tiny_p16/tokenizer.model",
    "siglip2_odd_p14": "../models/siglip2_odd_p14/tokenizer.model",
    "siglip_tiny_fixres": "../models/siglip_tiny_fixres/spiece.model",
    "shapes_siglip2": "../models/shapes-siglip2/tokenizer.model",
    "nfkc_unigram": "nfkc_unigram.model",
    "nfkc_bpe": "nfkc_bpe.model",
}
NODUMMY = ["siglip_tiny_fixres", "nfkc_unigram"]


def corpus(d):
    with open(os.path.join(d, "corpus.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def train(d):
    lines = [s.replace("\n", " ").replace("\r", " ") for s in corpus(d)]
    lines = [s for s in lines if s.strip()]
    text = os.path.join(d, "train.txt.tmp")
    with open(text, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    common = dict(input=text, character_coverage=0.98, num_threads=1, seed_sentencepiece_size=100000,
                  input_sentence_size=0, shuffle_input_sentence=False, minloglevel=2)
    spm.SentencePieceTrainer.train(model_prefix=os.path.join(d, "nfkc_unigram"), model_type="unigram",
                                   vocab_size=3200, normalization_rule_name="nmt_nfkc",
                                   user_defined_symbols=["<ud>", "ab"], **common)
    spm.SentencePieceTrainer.train(model_prefix=os.path.join(d, "nfkc_bpe"), model_type="bpe",
                                   vocab_size=3000, normalization_rule_name="nmt_nfkc_cf", byte_fallback=True,
                                   add_dummy_prefix=False, **common)
    os.remove(text)
    for name in ["nfkc_unigram", "nfkc_bpe"]:
        os.remove(os.path.join(d, name + ".vocab"))


def load(path, nodummy=False):
    m = pb.ModelProto()
    with open(path, "rb") as f:
        m.ParseFromString(f.read())
    if nodummy:
        m.normalizer_spec.add_dummy_prefix = False
    sp = spm.SentencePieceProcessor()
    sp.LoadFromSerializedProto(m.SerializeToString())
    return sp


def expect(d):
    texts = corpus(d)
    for name, rel in MODELS.items():
        for nodummy in [False, True] if name in NODUMMY else [False]:
            sp = load(os.path.join(d, rel), nodummy)
            out = os.path.join(d, name + (".nodummy" if nodummy else "") + ".spm.jsonl")
            with open(out, "w") as f:
                for s in texts:
                    f.write(json.dumps(sp.encode(s)) + "\n")


if __name__ == "__main__":
    {"train": train, "expect": expect}[sys.argv[1]](sys.argv[2])
