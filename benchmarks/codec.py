"""Rate-distortion and speed of the shipped LSTM codec (notebook 05; Mandogade & Morghare; Toderici et al. 2017).

On the held-out package photos: MS-SSIM and PSNR per photo at target rates from 0.125 to 2 bpp
against JPEG (4:2:0, optimized), WebP, JPEG 2000, AVIF and JPEG XL at their real file sizes,
summarised per codec pair by BD-rate (per photo and mean), and encode / decode throughput
(megapixels per second, median of `--repeats` runs after one warm-up) at 0.25 and 1 bpp.
Targets: MS-SSIM at 0.25 bpp above JPEG's, a negative BD-rate against JPEG on MS-SSIM.
Writes `results/benchmarks.json` and the per-photo rows to `results/codec_rate_distortion.json`.

    python benchmarks/codec.py [--skip-speed]
"""

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keraslstm.codec import compress, decompress, load_model  # noqa: E402
from keraslstm.codec.evaluation import (  # noqa: E402
    BASELINES,
    NOTES,
    OURS,
    bd_rates,
    evaluate_photos,
    evaluation_images,
    format_bd_table,
    format_table,
    summarise,
)
from keraslstm.codec.weights import model_info  # noqa: E402
from keraslstm.config import devices  # noqa: E402
from keraslstm.metrics import quality_at  # noqa: E402
from keraslstm.results import results_dir  # noqa: E402

RATES = (0.125, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)  # target bpp


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
    parser.add_argument("--skip-speed", action="store_true", help="rate-distortion only")
    args = parser.parse_args()
    model = load_model()
    images = evaluation_images("bundled")
    photo_rows = evaluate_photos(images, bpps=RATES, model=model)
    rows = summarise(photo_rows)
    print(format_table(rows), *NOTES, sep="\n")
    # every codec pair: BD-rate of each codec against each anchor, per photo
    pairs = {metric: {anchor: bd_rates(photo_rows, anchor, metric) for anchor in (OURS, *BASELINES)}
             for metric in ("ms_ssim", "psnr")}  # fmt: skip
    for label, metric in (("MS-SSIM", "ms_ssim"), ("PSNR", "psnr")):
        print(f"\nBD-rate against JPEG ({label}):")
        print(format_bd_table({label: pairs[metric]["JPEG"]}))
        print(f"\nBD-rate of each codec against ours ({label}; positive = more bits than ours):")
        print(format_bd_table({label: pairs[metric][OURS]}))
    rd = results_dir(quick=False) / "codec_rate_distortion.json"
    rd.parent.mkdir(parents=True, exist_ok=True)
    rd.write_text(json.dumps({"weights": model_info()["training"], "notes": NOTES, "rows": photo_rows,
                              "bd_rate": pairs}, indent=1, default=float) + "\n")  # fmt: skip

    # like for like at 0.25 bpp: our curve read (in log-bpp) at each baseline's real rate
    at_quarter = {}
    for codec in BASELINES:
        pairs_at = []
        for r in photo_rows:
            if r["codec"] == codec and r["target_bpp"] == 0.25:
                ours_rows = [
                    o for o in photo_rows if o["codec"] == OURS and o["photo"] == r["photo"]
                ]
                curve = [o["bpp"] for o in ours_rows], [o["ms_ssim"] for o in ours_rows]
                pairs_at.append((quality_at(*curve, r["bpp"]), r["ms_ssim"]))
        if pairs_at:
            ours_q, theirs = np.nanmean(pairs_at, axis=0)
            at_quarter[codec] = dict(photos=len(pairs_at), ours=float(ours_q), theirs=float(theirs))
            print(
                f"MS-SSIM at {codec}'s real rate for 0.25 bpp: ours {ours_q:.4f}, {codec} {theirs:.4f}"
            )
    beats_jpeg = "JPEG" in at_quarter and at_quarter["JPEG"]["ours"] > at_quarter["JPEG"]["theirs"]
    jpeg_bd = pairs["ms_ssim"]["JPEG"][OURS]["mean"]
    print(f"target (above JPEG at equal rate near 0.25 bpp): {'met' if beats_jpeg else 'NOT met'}; "
          f"BD-rate against JPEG on MS-SSIM: {jpeg_bd:+.1f}%")  # fmt: skip

    speed = {}
    for bpp in () if args.skip_speed else (0.25, 1.0):
        enc, dec = throughput(model, list(images.values()), bpp, args.repeats)
        speed[f"{bpp} bpp"] = {"encode_mpix_s": round(enc, 3), "decode_mpix_s": round(dec, 3)}
        print(f"{bpp} bpp: encode {enc:.3f} MP/s, decode {dec:.3f} MP/s")

    out = results_dir(quick=False) / "benchmarks.json"
    report = json.loads(out.read_text()) if out.exists() else {}
    report["codec"] = {
        "backend": keras.backend.backend(),
        "device": ", ".join(devices()) or "CPU",
        "rate_distortion": rows,
        "ms_ssim_at_equal_rate_near_0.25": at_quarter,
        "target_above_jpeg_at_0.25": beats_jpeg,
        "bd_rate_against_jpeg": {m: pairs[m]["JPEG"] for m in pairs},
        "throughput": speed or report.get("codec", {}).get("throughput"),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=float) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
