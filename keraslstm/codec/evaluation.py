"""Rate-distortion of the LSTM codec against JPEG (4:2:0), WebP and JPEG 2000 from Pillow.

Every codec is measured at its *real* file size: for a target rate each baseline gets the
highest quality whose file stays at or below the target, and our codec the most iterations that
do. A codec that cannot get down to a rate (JPEG below about 0.15 bpp) reports nothing there.
"""

import io
from pathlib import Path

import numpy as np
from PIL import Image

from keraslstm import data, metrics
from keraslstm.codec.api import rate_ladder, read_image, real_bpp, to_float, within_rate
from keraslstm.codec.fileformat import CodecError
from keraslstm.codec.weights import load_model

__all__ = ["BASELINES", "baseline", "evaluate", "format_table", "evaluation_images"]

BASELINES = ("JPEG", "WebP", "JPEG 2000")


def _encode(image, codec, quality):
    buffer = io.BytesIO()
    pil = Image.fromarray(image)
    if codec == "JPEG":
        pil.save(buffer, "JPEG", quality=int(quality), subsampling=2)  # 4:2:0
    elif codec == "WebP":
        pil.save(buffer, "WEBP", quality=int(quality), method=6)
    else:
        pil.save(
            buffer,
            "JPEG2000",
            quality_mode="rates",
            quality_layers=[float(quality)],
            irreversible=True,
        )
    return buffer.getvalue()


def baseline(image, codec, target_bpp):
    """(decoded uint8 image, real bpp) of `codec` at the best quality within `target_bpp`, or None."""
    height, width = image.shape[:2]
    if codec == "JPEG 2000":  # quality is a compression ratio: search it from high to low rate
        candidates = 24.0 * 2.0 ** (np.arange(-3, 12, 0.125))  # ratio 3 (8 bpp) upwards
        candidates = candidates[candidates >= 24.0 / max(target_bpp, 1e-6) * 0.5]
    else:
        candidates = np.arange(100, 0, -1)
    best = None
    for quality in candidates:
        encoded = _encode(image, codec, quality)
        if real_bpp(encoded, height, width) <= target_bpp:
            best = encoded
            break
    if best is None:
        return None
    decoded = np.asarray(Image.open(io.BytesIO(best)).convert("RGB"))
    return decoded, real_bpp(best, height, width)


def evaluation_images(source="bundled"):
    """`bundled`: the held-out package photos; otherwise every image in a folder, as uint8 RGB."""
    if source == "bundled":
        return {n: np.round(p * 255).astype(np.uint8) for n, p in data.photos("test").items()}
    folder = Path(source)
    if not folder.is_dir():
        raise CodecError(f"evaluate takes 'bundled' or a folder of images; {source!r} is neither")
    images = {}
    for path in sorted(folder.iterdir()):
        try:
            images[path.name] = np.round(to_float(read_image(path))[0] * 255).astype(np.uint8)
        except CodecError:
            continue
    if not images:
        raise CodecError(f"no readable images in {folder}")
    return images


def _quality(original, decoded):
    a, b = original / 255.0, decoded / 255.0
    return metrics.ms_ssim(a, b), metrics.psnr(a, b)


def evaluate(source="bundled", bpps=(0.125, 0.25, 0.5, 1.0, 2.0), model_path=None, model=None):
    """Rows (codec, target bpp, mean real bpp, mean MS-SSIM, mean PSNR, images reached).

    `source` is 'bundled', a folder, or a dict {name: uint8 (H, W, 3) image}.
    """
    model = model or load_model(model_path)
    images = source if isinstance(source, dict) else evaluation_images(source)
    results = {}
    for image in images.values():
        files, reconstructions = rate_ladder(model, image)  # one encode serves every rate
        for target in bpps:
            try:
                k = within_rate(files, target, *image.shape[:2])
                decoded = np.round(reconstructions[k] * 255).astype(np.uint8)
                results.setdefault(("LSTM codec", target), []).append(
                    (real_bpp(files[k], *image.shape[:2]), *_quality(image, decoded))
                )
            except CodecError:
                pass
            for codec in BASELINES:
                found = baseline(image, codec, target)
                if found is not None:
                    results.setdefault((codec, target), []).append(
                        (found[1], *_quality(image, found[0]))
                    )
    rows = []
    for (codec, target), values in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        values = np.array(values)
        rows.append(dict(codec=codec, target_bpp=target, bpp=values[:, 0].mean(), ms_ssim=values[:, 1].mean(),
                         psnr=values[:, 2].mean(), images=len(values), of=len(images)))  # fmt: skip
    return rows


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
