"""fixture_ids.py copies the token ids of the Hugging Face fixtures into JSON.

Each fixture's expected.safetensors holds `inputs.input_ids` (int64) that
transformers' GemmaTokenizer / SiglipTokenizer produced for the manifest's
`text_inputs`; gosig's tokenizer tests compare against this JSON so that they
need neither /work/shared nor a safetensors reader.

    python3 tools/tokref/fixture_ids.py /work/shared > testdata/tokenizer/fixtures.json
"""

import json
import struct
import sys


def read_int64(path, name):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        info = header[name]
        assert info["dtype"] == "I64", info
        begin, end = info["data_offsets"]
        f.seek(8 + n + begin)
        raw = f.read(end - begin)
    vals = list(struct.unpack("<%dq" % (len(raw) // 8), raw))
    rows, cols = info["shape"]
    return [vals[r * cols:(r + 1) * cols] for r in range(rows)]


def main(shared):
    out = {}
    for name in ["siglip2_tiny_p16", "siglip2_odd_p14", "siglip_tiny_fixres"]:
        d = f"{shared}/fixtures/{name}"
        manifest = json.load(open(f"{d}/manifest.json"))
        out[name] = {
            "texts": manifest["text_inputs"],
            "max_length": manifest["text_len"],
            "tokenizer_note": manifest["tokenizer_note"],
            "input_ids": read_int64(f"{d}/expected.safetensors", "inputs.input_ids"),
        }
    json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
