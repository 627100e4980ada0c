"""Rate-distortion of the LSTM codec against today's codecs: JPEG (4:2:0, optimized Huffman
tables), WebP, JPEG 2000, AVIF and JPEG XL, all from Pillow (JPEG XL through the optional
`pillow_jxl` plugin, GPL-3.0: without it that codec is skipped with a note).

Every codec is measured at its *real* file size: for a target rate each baseline gets the
largest file its quality setting can make at or below the target, and our codec the file that
`compress(image, bpp=target)` writes. A codec that cannot get down to a rate (JPEG below about
0.15 bpp) reports nothing there. `evaluate_photos` gives one row per photo, codec and target;
`bd_rates` summarises each codec pair by Bjontegaard delta rate per photo (`metrics.bd_rate`).
"""

import importlib.util
import io
from pathlib import Path

import numpy as np
from PIL import Image

from keraslstm import data, metrics
from keraslstm.codec.api import compress, decompress, read_image, real_bpp, to_float
from keraslstm.codec.fileformat import CodecError
from keraslstm.codec.weights import load_model

__all__ = [
    "OURS",
    "MIN_PHOTOS",
    "BASELINES",
    "NOTES",
    "baseline",
    "evaluate",
    "evaluate_photos",
    "summarise",
    "bd_rates",
    "format_table",
    "format_bd_table",
    "evaluation_images",
]

OURS = "LSTM codec"
MIN_PHOTOS = 2  # a BD-rate mean needs at least this many photos
NOTES = []  # why a codec is missing from BASELINES on this machine
# JPEG XL needs the `pillow_jxl` plugin: looked up here, imported (it registers itself with
# Pillow) only when a JPEG XL file is first made, so importing this module loads no plugin.
if importlib.util.find_spec("pillow_jxl") is not None:
    _JXL = ("JPEG XL",)
else:
    _JXL = ()
    NOTES.append("JPEG XL skipped: `pip install pillow-jxl-plugin` (GPL-3.0) to add it")
BASELINES = ("JPEG", "WebP", "JPEG 2000", "AVIF", *_JXL)

# Each baseline's quality settings, from smallest to largest file. JPEG 2000's setting is a
# compression ratio (24 / ratio bpp), searched in 1/16-octave steps from 0.02 to 12 bpp.
_J2K_RATIOS = 24.0 / 2.0 ** np.arange(np.log2(12.0), np.log2(0.02), -1 / 16)
_SETTINGS = {
    "JPEG": range(1, 101),
    "WebP": range(0, 101),
    "AVIF": range(0, 101),
    "JPEG XL": range(1, 100),  # 100 means lossless, which pillow_jxl refuses at these options
    "JPEG 2000": _J2K_RATIOS[::-1],
}


def _encode(image, codec, setting):
    buffer = io.BytesIO()
    pil = Image.fromarray(image)
    if codec == "JPEG":  # 4:2:0, optimized Huffman tables (its best lossless stage)
        pil.save(buffer, "JPEG", quality=int(setting), subsampling=2, optimize=True)
    elif codec == "WebP":
        pil.save(buffer, "WEBP", quality=int(setting), method=6)
    elif codec == "AVIF":  # libavif's default 4:2:0 and speed (6): speed 1 makes files 1-5 %
        pil.save(buffer, "AVIF", quality=int(setting), speed=6)  # smaller, 15-25x slower
    elif codec == "JPEG XL":
        importlib.import_module("pillow_jxl")  # registers the JXL plugin (once)
        pil.save(buffer, "JXL", quality=int(setting), effort=7)
    else:
        pil.save(
            buffer,
            "JPEG2000",
            quality_mode="rates",
            quality_layers=[float(setting)],
            irreversible=True,
        )
    return buffer.getvalue()


def baseline(image, codec, target_bpp, cache=None):
    """(decoded uint8 image, real bpp) of `codec`'s largest file within `target_bpp`, or None.

    File size grows with the quality setting, so a bisection finds the boundary setting; the
    settings just above it are tried too, as encoders are not perfectly monotone. `cache`, a
    dict kept for one image and codec, shares the files made across target rates.
    """
    if codec not in BASELINES:
        raise CodecError(f"unknown codec {codec!r}; available: {', '.join(BASELINES)}")
    height, width = image.shape[:2]
    settings = _SETTINGS[codec]
    cache = {} if cache is None else cache

    def size(i):
        if i not in cache:
            cache[i] = _encode(image, codec, settings[i])
        return real_bpp(cache[i], height, width)

    low, high = -1, len(settings)  # size(low) fits (or low = -1), size(high) does not
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if size(middle) <= target_bpp else (low, middle)
    for i in range(high, min(high + 3, len(settings))):
        size(i)
    fitting = [i for i in cache if size(i) <= target_bpp]  # the cache may hold other targets' files
    if not fitting:
        return None
    best = cache[max(fitting, key=lambda i: (len(cache[i]), i))]
    decoded = np.asarray(Image.open(io.BytesIO(best)).convert("RGB"))
    return decoded, real_bpp(best, height, width)


def evaluation_images(source="bundled"):
    """Images as uint8 RGB: `bundled`, the 3 held-out package photos; `held-out`, those and the
    6 held-out Debian photos shipped in the package (`data.photos("debian test")`); otherwise
    every image in a folder."""
    if source in ("bundled", "held-out"):
        splits = ("test", "debian test") if source == "held-out" else ("test",)
        photos = {n: p for split in splits for n, p in data.photos(split).items()}
        return {n: np.round(p * 255).astype(np.uint8) for n, p in photos.items()}
    folder = Path(source)
    if not folder.is_dir():
        raise CodecError(
            f"evaluate takes 'bundled', 'held-out' or a folder of images; {source!r} is none of them"
        )
    images = {}
    for path in sorted(folder.iterdir()):
        try:
            images[path.name] = np.round(to_float(read_image(path))[0] * 255).astype(np.uint8)
        except CodecError:
            continue
    if not images:
        raise CodecError(f"no readable images in {folder}")
    return images


def _row(photo, codec, target, encoded_bpp, original, decoded):
    a, b = original / 255.0, decoded / 255.0
    return dict(
        photo=photo,
        codec=codec,
        target_bpp=target,
        bpp=encoded_bpp,
        ms_ssim=metrics.ms_ssim(a, b),
        psnr=metrics.psnr(a, b),
    )


def evaluate_photos(
    source="bundled", bpps=(0.125, 0.25, 0.5, 1.0, 2.0), model_path=None, model=None, codecs=None
):
    """One row per photo, codec and target rate that the codec reaches: dicts with photo, codec,
    target_bpp, bpp (the real file's), ms_ssim and psnr.

    `source` is 'bundled', 'held-out', a folder, or a dict {name: uint8 (H, W, 3) image}; `codecs` limits
    the codecs (default: ours and every baseline).
    """
    model = model or load_model(model_path)
    codecs = (OURS, *BASELINES) if codecs is None else tuple(codecs)
    images = source if isinstance(source, dict) else evaluation_images(source)
    rows = []
    for name, image in images.items():
        files = {codec: {} for codec in codecs}  # each baseline's files of this image, by setting
        for target in bpps:
            for codec in codecs:
                if codec == OURS:
                    try:
                        encoded = compress(image, bpp=target, model=model)
                    except CodecError:  # below one iteration's cost
                        continue
                    bpp, decoded = real_bpp(encoded, *image.shape[:2]), decompress(encoded, model)
                    rows.append(_row(name, codec, target, bpp, image, decoded))
                else:
                    found = baseline(image, codec, target, cache=files[codec])
                    if found is not None:
                        rows.append(_row(name, codec, target, found[1], image, found[0]))
    return rows


def summarise(rows):
    """Mean rows over photos: codec, target bpp, mean real bpp, MS-SSIM, PSNR, images reached."""
    photos = len({r["photo"] for r in rows})
    groups = {}
    for r in rows:
        groups.setdefault((r["target_bpp"], r["codec"]), []).append(r)
    order = {codec: i for i, codec in enumerate((OURS, *BASELINES))}
    means = []
    for (target, codec), group in sorted(
        groups.items(), key=lambda kv: (kv[0][0], order.get(kv[0][1], 99))
    ):
        means.append(
            dict(
                codec=codec,
                target_bpp=target,
                images=len(group),
                of=photos,
                **{k: float(np.mean([r[k] for r in group])) for k in ("bpp", "ms_ssim", "psnr")},
            )
        )
    return means


def evaluate(source="bundled", bpps=(0.125, 0.25, 0.5, 1.0, 2.0), model_path=None, model=None):
    """Rows (codec, target bpp, mean real bpp, mean MS-SSIM, mean PSNR, images reached)."""
    return summarise(evaluate_photos(source, bpps, model_path, model))


def bd_rates(rows, anchor="JPEG", metric="ms_ssim", method="pchip"):
    """BD-rate (percent, negative = fewer bits than `anchor` at equal quality) of every other
    codec against `anchor`, per photo, from `evaluate_photos` rows.

    Returns {codec: {"mean": mean over photos, "n": photos in it, "photos": {photo: value}}}; a
    photo where the two curves share no quality range (or have too few points) gets None and is
    left out. The mean is None below `MIN_PHOTOS` photos: one photo's value is not a mean.
    """
    curves = {}
    for r in rows:
        curve = curves.setdefault((r["codec"], r["photo"]), ([], []))
        curve[0].append(r["bpp"])
        curve[1].append(r[metric])
    photos = sorted({r["photo"] for r in rows})
    codecs = [c for c in dict.fromkeys(r["codec"] for r in rows) if c != anchor]
    summary = {}
    for codec in codecs:
        values = {}
        for photo in photos:
            try:
                values[photo] = metrics.bd_rate(
                    *curves[(anchor, photo)], *curves[(codec, photo)], method=method
                )
            except (KeyError, ValueError):
                values[photo] = None
        found = [v for v in values.values() if v is not None]
        mean = float(np.mean(found)) if len(found) >= MIN_PHOTOS else None
        summary[codec] = dict(mean=mean, n=len(found), photos=values)
    return summary


def format_table(rows):
    lines = [
        "| target bpp | codec | real bpp | MS-SSIM | PSNR dB | images |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['target_bpp']} | {r['codec']} | {r['bpp']:.3f} | {r['ms_ssim']:.4f} | {r['psnr']:.2f} | {r['images']}/{r['of']} |"
        )
    return "\n".join(lines)


def format_bd_table(summaries):
    """Markdown table of `{metric label: bd_rates(...)}`: one row per codec, the mean with the
    number of photos it is over in brackets ("n/a (1)": too few for a mean), then each photo."""
    first = next(iter(summaries.values()))
    photos = list(next(iter(first.values()))["photos"])

    def cell(value):
        return "n/a" if value is None else f"{value:+.1f}%"

    lines = [
        "| codec | metric | mean (photos) | " + " | ".join(photos) + " |",
        "|---|---|---|" + "---|" * len(photos),
    ]
    for label, summary in summaries.items():
        for codec, result in summary.items():
            per_photo = " | ".join(cell(result["photos"][p]) for p in photos)
            mean = f"{cell(result['mean'])} ({result['n']})"
            lines.append(f"| {codec} | {label} | {mean} | {per_photo} |")
    return "\n".join(lines)
