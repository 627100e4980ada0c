"""Rate-distortion and speed of the shipped LSTM codec (notebook 05; Mandogade & Morghare; Toderici et al. 2017).

On the held-out package photos: MS-SSIM and PSNR at every rate from 0.125 to 2 bpp against JPEG
(4:2:0), WebP and JPEG 2000 at matched real bpp, and encode / decode throughput (megapixels per
second, median of `--repeats` runs after one warm-up) at 0.25 and 1 bpp. Targets: MS-SSIM at
0.25 bpp above JPEG's (and, as an aim, JPEG 2000's). Writes `results/benchmarks.json`.

    python benchmarks/codec.py
"""

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from keraslstm.codec import compress, decompress, load_model  # noqa: E402
from keraslstm.codec.evaluation import evaluate, evaluation_images, format_table  # noqa: E402
from keraslstm.config import devices  # noqa: E402
from keraslstm.results import results_dir  # noqa: E402


def throughput(model, images, bpp, repeats):
    """Median megapixels per second of compress and of decompress over the images."""
    pixels = sum(im.shape[0] * im.shape[1] for im in images) / 1e6
    files = [compress(im, bpp=bpp, model=model) for im in images]  # warm-up
    [decompress(f, model=model) for f in files]
    encode, decode = [], []
    for _ in range(repeats):
        tic = time.perf_counter()
        files = [compress(im, bpp=bpp, model=model) for im in images]
        encode.append(time.perf_counter() - tic)
        tic = time.perf_counter()
        [decompress(f, model=model) for f in files]
        decode.append(time.perf_counter() - tic)
    return pixels / statistics.median(encode), pixels / statistics.median(decode)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    model = load_model()
    images = evaluation_images("bundled")
    rows = evaluate(images, model=model)
    print(format_table(rows))

    def ms_ssim(codec, target):
        found = [
            r
            for r in rows
            if r["codec"] == codec and r["target_bpp"] == target and r["images"] == r["of"]
        ]
        return found[0]["ms_ssim"] if found else None

    ours, jpeg, j2k = ms_ssim("LSTM codec", 0.25), ms_ssim("JPEG", 0.25), ms_ssim("JPEG 2000", 0.25)
    beats_jpeg = ours is not None and (jpeg is None or ours > jpeg)
    beats_j2k = ours is not None and j2k is not None and ours > j2k
    print(f"0.25 bpp MS-SSIM: ours {ours}, JPEG {jpeg}, JPEG 2000 {j2k}")
    print(
        f"target (above JPEG at 0.25 bpp): {'met' if beats_jpeg else 'NOT met'}; aim (above JPEG 2000): {'met' if beats_j2k else 'not met'}"
    )

    speed = {}
    for bpp in (0.25, 1.0):
        enc, dec = throughput(model, list(images.values()), bpp, args.repeats)
        speed[f"{bpp} bpp"] = {"encode_mpix_s": round(enc, 3), "decode_mpix_s": round(dec, 3)}
        print(f"{bpp} bpp: encode {enc:.3f} MP/s, decode {dec:.3f} MP/s")

    out = results_dir(quick=False) / "benchmarks.json"
    report = json.loads(out.read_text()) if out.exists() else {}
    report["codec"] = {
        "backend": keras.backend.backend(),
        "device": ", ".join(devices()) or "CPU",
        "rate_distortion": rows,
        "target_above_jpeg_at_0.25": beats_jpeg,
        "aim_above_jpeg2000_at_0.25": beats_j2k,
        "throughput": speed,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=float) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
