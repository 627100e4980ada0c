"""Compress and decompress images with a trained `ResidualLSTMCodec` (what the CLI runs).

`compress(image, bpp=...)` returns the bytes of a `.klc` file whose real size in bits, over the
image's pixel count, is at most `bpp`; `decompress(data)` returns the image as uint8.

Images are coded in independent tiles of `TILE` x `TILE` pixels, so memory stays bounded however
large the image (up to `fileformat.MAX_PIXELS`); an image within one tile is coded whole.
"""

import warnings
from pathlib import Path

import numpy as np
from keras import ops

from keraslstm.codec.fileformat import (
    LOSSLESS,
    CodecError,
    Header,
    check_pixels,
    pack,
    read_header,
    unpack,
)

__all__ = [
    "compress",
    "decompress",
    "encode_progressive",
    "rate_ladder",
    "within_rate",
    "read_image",
    "to_float",
    "real_bpp",
    "decode_bits",
    "TILE",
]

TILE = 1024  # pixels per tile side; a multiple of every model's stride (16 by default)


def to_float(image):
    """uint8 / uint16 / float image -> (float32 (H, W, 3) in [0, 1], channels of the original)."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 4:
        warnings.warn("dropping the alpha channel: the codec stores RGB", stacklevel=3)
        image = image[..., :3]
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] != 3):
        raise CodecError(
            f"expected a (H, W) grayscale or (H, W, 3) colour image, got shape {image.shape}"
        )
    if image.dtype == np.uint8:
        scaled = image / 255.0
    elif image.dtype == np.uint16:
        scaled = image / 65535.0
    elif np.issubdtype(image.dtype, np.floating):
        if image.min() < 0 or image.max() > 1:
            raise CodecError(
                f"float images must lie in [0, 1], got [{image.min():.3g}, {image.max():.3g}]"
            )
        scaled = image
    else:
        raise CodecError(
            f"unsupported pixel type {image.dtype}; use uint8, uint16 or float in [0, 1]"
        )
    channels = 1 if scaled.ndim == 2 else 3
    rgb = np.repeat(scaled[..., None], 3, axis=-1) if channels == 1 else scaled
    return rgb.astype(np.float32), channels


def read_image(path):
    """An image file as uint8/uint16 array: RGB, RGBA, grayscale, palette, 16-bit PNGs, JPEGs."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            if image.mode == "P":
                image = image.convert("RGBA" if "transparency" in image.info else "RGB")
            if image.mode in ("I;16", "I;16B", "I;16L", "I"):
                return np.clip(np.asarray(image), 0, 65535).astype(np.uint16)
            if image.mode not in ("L", "RGB", "RGBA"):
                image = image.convert("RGB")
            return np.asarray(image)
    except UnidentifiedImageError:
        raise CodecError(f"{path} is not an image file Pillow can read") from None


def _pad(rgb, stride):
    height, width = rgb.shape[:2]
    pad = ((0, -height % stride), (0, -width % stride), (0, 0))
    return np.pad(rgb, pad, mode="edge")


def _tiles(height, width):
    """(rows, columns) pixel slices of the tiles of a padded `height` x `width` image."""
    for top in range(0, height, TILE):
        for left in range(0, width, TILE):
            yield slice(top, min(top + TILE, height)), slice(left, min(left + TILE, width))


def _code_slices(rows, cols, stride):
    return slice(rows.start // stride, rows.stop // stride), slice(cols.start // stride, cols.stop // stride)  # fmt: skip


def encode_progressive(model, image, iterations=None, reconstructions=True):
    """Encode `image`; returns (bits per iteration, reconstruction after each iteration, channels).

    Reconstructions are float (H, W, 3) in [0, 1] at the original size: exactly what a decoder
    produces from the first k iterations' bits (None when `reconstructions=False`, which saves
    their memory).
    """
    rgb, channels = to_float(image)
    height, width = rgb.shape[:2]
    check_pixels(height, width)
    iterations = iterations or model.iterations
    stride = model.stride
    padded = _pad(rgb, stride) - 0.5
    code_shape = (padded.shape[0] // stride, padded.shape[1] // stride, model.bits)
    all_bits = [np.empty(code_shape, np.float32) for _ in range(iterations)]
    images = [np.empty((height, width, 3), np.float32) for _ in range(iterations)]
    for rows, cols in _tiles(*padded.shape[:2]):
        target = ops.convert_to_tensor(padded[None, rows, cols])
        reconstruction, states = ops.zeros_like(target), (None, None)
        inside = (slice(rows.start, min(rows.stop, height)), slice(cols.start, min(cols.stop, width)))  # fmt: skip
        for k in range(iterations):
            bits, reconstruction, states = model.step(target, reconstruction, states)
            all_bits[k][_code_slices(rows, cols, stride)] = ops.convert_to_numpy(bits)[0]
            if reconstructions:
                tile = ops.convert_to_numpy(reconstruction)[0] + 0.5
                images[k][inside] = np.clip(tile[: inside[0].stop - rows.start, : inside[1].stop - cols.start], 0, 1)  # fmt: skip
    return all_bits, images if reconstructions else None, channels


def decode_bits(model, all_bits, height, width):
    """The float (H, W, 3) image in [0, 1] that the decoder makes from each iteration's bits."""
    stride = model.stride
    rows_total, cols_total = all_bits[0].shape[0] * stride, all_bits[0].shape[1] * stride
    image = np.empty((height, width, 3), np.float32)
    for rows, cols in _tiles(rows_total, cols_total):
        code = _code_slices(rows, cols, stride)
        reconstruction = ops.zeros((1, rows.stop - rows.start, cols.stop - cols.start, 3))
        states = None
        for bits in all_bits:
            tile_bits = ops.convert_to_tensor(bits[code][None])
            reconstruction, states = model.decode_step(tile_bits, reconstruction, states)
        tile = ops.convert_to_numpy(reconstruction)[0] + 0.5
        inside_rows, inside_cols = min(rows.stop, height) - rows.start, min(cols.stop, width) - cols.start  # fmt: skip
        image[rows.start : rows.start + inside_rows, cols.start : cols.start + inside_cols] = (
            np.clip(tile[:inside_rows, :inside_cols], 0, 1)
        )
    return image


def _header(model, image_shape, channels, iterations, lossless):
    from keraslstm.codec.weights import fingerprint

    return Header(image_shape[0], image_shape[1], channels, iterations, lossless, model.bits, model.stride,
                  fingerprint(model))  # fmt: skip


def real_bpp(data, height, width):
    """Bits per pixel of a compressed file: its whole size in bits over the pixel count."""
    return 8 * len(data) / (height * width)


def rate_ladder(model, image, iterations=None, lossless="auto", reconstructions=True):
    """Encode once; returns (files, reconstructions): the smallest file for each k = 1, 2, ...
    iterations and the float image a decoder makes from it (None if not `reconstructions`)."""
    if lossless != "auto" and lossless not in LOSSLESS:
        raise CodecError(
            f"Unknown lossless stage {lossless!r}; valid: 'auto', {', '.join(map(repr, LOSSLESS))}"
        )
    stages = LOSSLESS if lossless == "auto" else (lossless,)
    all_bits, images, channels = encode_progressive(model, image, iterations, reconstructions)
    shape = np.shape(image)[:2]
    files = [
        min(
            (pack(_header(model, shape, channels, k, stage), all_bits[:k]) for stage in stages),
            key=len,
        )
        for k in range(1, len(all_bits) + 1)
    ]
    return files, images


def within_rate(files, bpp, height, width):
    """Index of the largest file whose real bpp is at most `bpp` (files grow with the index)."""
    if not bpp > 0:
        raise CodecError(f"impossible bpp {bpp}: it must be positive")
    fitting = [k for k, data in enumerate(files) if real_bpp(data, height, width) <= bpp]
    if not fitting:
        cheapest = real_bpp(files[0], height, width)
        raise CodecError(
            f"impossible bpp {bpp}: one iteration of this {height}x{width} image already takes {cheapest:.4f} bpp"
        )
    return fitting[-1]


def compress(image, bpp=None, iterations=None, model=None, lossless="auto"):
    """A `.klc` file (bytes) of `image`: at most `bpp` bits per pixel, or exactly `iterations`.

    `lossless="auto"` keeps whichever of none / zlib / lzma gives the smallest file.
    """
    from keraslstm.codec.weights import load_model

    model = model or load_model()
    if (bpp is None) == (iterations is None):
        raise CodecError("give exactly one of bpp and iterations")
    if iterations is not None and not 1 <= iterations <= model.iterations:
        raise CodecError(f"iterations must be between 1 and {model.iterations}, got {iterations}")
    if bpp is not None and not bpp > 0:
        raise CodecError(f"impossible bpp {bpp}: it must be positive")
    check_pixels(*np.shape(image)[:2])
    files, _ = rate_ladder(model, image, iterations, lossless, reconstructions=False)
    if iterations is not None:
        return files[-1]
    return files[within_rate(files, bpp, *np.shape(image)[:2])]


def decompress(data, model=None, partial=False):
    """The uint8 image in a `.klc` file: (H, W, 3), or (H, W) if it was grayscale."""
    from keraslstm.codec.weights import fingerprint, load_model

    model = model or load_model()
    header = read_header(data)  # plausible, and made by this model, before any payload work
    if header.fingerprint != fingerprint(model):
        raise CodecError(
            f"this file was written by another model (fingerprint {header.fingerprint.hex()}, "
            f"loaded model {fingerprint(model).hex()}); decode it with the weights that wrote it"
        )
    if header.bits != model.bits or header.stride != model.stride:
        raise CodecError("corrupt .klc header: bits or stride do not match the model")
    if header.iterations > model.iterations:
        raise CodecError(
            f"corrupt .klc header: {header.iterations} iterations, this model makes at most "
            f"{model.iterations}"
        )
    header, all_bits = unpack(data, partial=partial)
    image = decode_bits(model, all_bits, header.height, header.width)
    image = np.round(image * 255).astype(np.uint8)
    return image.mean(axis=-1).round().astype(np.uint8) if header.channels == 1 else image


def write_image(path, image):
    from PIL import Image

    Image.fromarray(image).save(Path(path))
