"""Rate-distortion and speed of the shipped LSTM codec (notebook 05; Mandogade & Morghare; Toderici et al. 2017).

On the held-out package photos: MS-SSIM and PSNR at every rate from 0.125 to 2 bpp against JPEG
(4:2:0), WebP and JPEG 2000 at matched real bpp; how much of each budget a file fills; the bits
the range coder saves against lzma and against no stage; and encode / decode throughput
(megapixels per second, median of `--repeats` runs after one warm-up) at 0.25 and 1 bpp.
Targets: MS-SSIM at 0.25 bpp above JPEG's (and, as an aim, JPEG 2000's); files fill 95-100% of
the budget; at 0.25 bpp encoding within 2x of decoding time and decoding at least 1.14
megapixels/s. Writes `results/benchmarks.json`.

    python benchmarks/codec.py [--speed-only]
"""

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from keraslstm.codec import compress, decompress, encode_progressive, load_model, real_bpp  # noqa: E402
from keraslstm.codec.evaluation import evaluate, evaluation_images, format_table  # noqa: E402
from keraslstm.codec.fileformat import HEADER_SIZE, Header, pack  # noqa: E402
from keraslstm.codec.weights import fingerprint  # noqa: E402
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


def budget_fill(model, images, bpps=(0.125, 0.25, 0.5, 1.0)):
    """{photo: {bpp: real bpp / target}} of `compress(bpp=...)`."""
    return {
        name: {b: real_bpp(compress(im, bpp=b, model=model), *im.shape[:2]) / b for b in bpps}
        for name, im in images.items()
    }


def entropy_savings(model, images, bpps=(0.25, 0.5, 1.0, 2.0)):
    """Payload bytes of whole-iteration files (bpp / 0.125 iterations) per stage, per photo."""
    rows = []
    for name, im in images.items():
        bits, _, channels = encode_progressive(model, im, reconstructions=False)
        for b in bpps:
            k = round(b / model.bpp_per_iteration)
            sizes = {}
            for stage in ("none", "lzma", "range"):
                header = Header(*im.shape[:2], channels, k, stage, model.bits, model.stride, fingerprint(model))  # fmt: skip
                tic = time.perf_counter()
                sizes[stage] = len(pack(header, bits[:k])) - HEADER_SIZE
                sizes[stage + " s"] = time.perf_counter() - tic
            rows.append(dict(photo=name, bpp=b, iterations=k, **sizes))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--speed-only", action="store_true", help="skip the rate-distortion table")
    args = parser.parse_args()
    model = load_model()
    images = evaluation_images("bundled")
    fill = budget_fill(model, images)
    for name, row in fill.items():
        print(
            f"budget filled, {name}: "
            + ", ".join(f"{b} bpp {100 * f:.1f}%" for b, f in row.items())
        )
    savings = entropy_savings(model, images)
    print(
        "| photo | bpp | iterations | none B | lzma B | range B | range vs lzma | range vs none |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in savings:
        print(f"| {r['photo']} | {r['bpp']} | {r['iterations']} | {r['none']} | {r['lzma']} | {r['range']} | "
              f"{100 * (1 - r['range'] / r['lzma']):+.1f}% | {100 * (1 - r['range'] / r['none']):+.1f}% |")  # fmt: skip
    for b in sorted({r["bpp"] for r in savings}):
        total = {s: sum(r[s] for r in savings if r["bpp"] == b) for s in ("none", "lzma", "range")}
        print(f"{b} bpp, all photos: range saves {100 * (1 - total['range'] / total['lzma']):.1f}% "
              f"against lzma, {100 * (1 - total['range'] / total['none']):.1f}% against none")  # fmt: skip
    speed = {}
    for bpp in (0.25, 1.0):
        enc, dec = throughput(model, list(images.values()), bpp, args.repeats)
        speed[f"{bpp} bpp"] = {"encode_mpix_s": round(enc, 3), "decode_mpix_s": round(dec, 3),
                               "encode_time_over_decode_time": round(dec / enc, 2)}  # fmt: skip
        print(f"{bpp} bpp: encode {enc:.3f} MP/s, decode {dec:.3f} MP/s, encode takes {dec / enc:.2f}x decode's time")  # fmt: skip
    quarter = speed["0.25 bpp"]
    print(f"speed targets at 0.25 bpp: encode within 2x of decode {'met' if quarter['encode_time_over_decode_time'] <= 2 else 'NOT met'}, "
          f"decode >= 1.14 MP/s {'met' if quarter['decode_mpix_s'] >= 1.14 else 'NOT met'}")  # fmt: skip
    report_path = results_dir(quick=False) / "benchmarks.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    codec = report.setdefault("codec", {})
    codec.update(backend=keras.backend.backend(), device=", ".join(devices()) or "CPU", throughput=speed,
                 budget_fill=fill, entropy_bytes=savings)  # fmt: skip
    if args.speed_only:
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report_path.write_text(json.dumps(report, indent=2, default=float) + "\n")
        print(f"wrote {report_path}")
        return
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

    codec.update(rate_distortion=rows, **{"target_above_jpeg_at_0.25": beats_jpeg,
                                          "aim_above_jpeg2000_at_0.25": beats_j2k})  # fmt: skip
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(report, indent=2, default=float) + "\n")
    print(f"wrote {report_path}")


if __name__ == "__main__":
    main()
