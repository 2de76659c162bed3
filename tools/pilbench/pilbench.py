"""Times what Hugging Face's Siglip2ImageProcessor does to a JPEG, with PIL
and numpy as it uses them (transformers itself is not installable on the
development machine): decode, convert("RGB"), NaFlex target size, PIL
BILINEAR resize, rescale and normalise in float32, patchify, pad to the
budget. One thread; prints ms per image. Compare with
`go test -run '^$' -bench DecodeNaFlex256 ./preprocess` on the same files.

    apt-get install python3-pil python3-numpy   # Debian's PIL, built on libjpeg-turbo
    /usr/bin/python3 tools/pilbench/pilbench.py [--patches 256] [--rounds 5] FILE.jpg...
"""
import argparse
import math
import statistics
import time

import numpy as np
from PIL import Image


def target_size(h, w, patch, budget, eps=1e-5):
    # transformers' get_image_size_for_max_num_patches
    def scaled(scale, size):
        return max(patch, int(math.ceil(size * scale / patch)) * patch)

    lo, hi = eps / 10, 100.0
    while hi - lo >= eps:
        mid = (lo + hi) / 2
        th, tw = scaled(mid, h), scaled(mid, w)
        if (th // patch) * (tw // patch) <= budget:
            lo = mid
        else:
            hi = mid
    return scaled(lo, h), scaled(lo, w)


def process(path, patch, budget):
    img = Image.open(path).convert("RGB")
    th, tw = target_size(img.height, img.width, patch, budget)
    img = img.resize((tw, th), Image.BILINEAR)
    x = np.asarray(img, dtype=np.float32) * np.float32(1 / 255)
    x = (x - 0.5) / 0.5
    gh, gw = th // patch, tw // patch
    p = x.reshape(gh, patch, gw, patch, 3).transpose(0, 2, 1, 3, 4).reshape(gh * gw, -1)
    out = np.zeros((budget, p.shape[1]), np.float32)
    out[: len(p)] = p
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--patches", type=int, default=256)
    ap.add_argument("--patch", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    per = []
    for _ in range(a.rounds):
        t0, c0 = time.perf_counter(), time.process_time()
        for f in a.files:
            process(f, a.patch, a.patches)
        per.append(((time.perf_counter() - t0) * 1e3 / len(a.files), (time.process_time() - c0) * 1e3 / len(a.files)))
    print("PIL %s: %.2f ms/image wall, %.2f cpu-ms/image (median of %d rounds over %d files)" % (
        Image.__version__, statistics.median(p[0] for p in per), statistics.median(p[1] for p in per), a.rounds, len(a.files)))


if __name__ == "__main__":
    main()
