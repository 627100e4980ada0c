"""Compress and decompress images with a trained `ResidualLSTMCodec` (what the CLI runs).

`compress(image, bpp=...)` returns the bytes of a `.klc` file whose real size in bits, over the
image's pixel count, is at most `bpp` and at least about 95% of it; `decompress(data)` returns
the image as uint8.

Rate control (Johnston et al. 2018's spatially adaptive rates, without retraining): the encoder
runs only the iterations the budget needs, keeps the whole iterations that fit, and spends the
rest on a *partial* last iteration sent only for the 16x16 blocks where that iteration lowers
the error most. The block mask goes in the file; unsent positions reach the decoder as zeros
(the binarizer's outputs are +-1, so 0 carries no information), and the decoder applies the
partial iteration's update only inside the sent blocks. The number of blocks is chosen by the
real range-coded size.

Images are coded in independent tiles of `TILE` x `TILE` pixels, so memory stays bounded however
large the image (up to `fileformat.MAX_PIXELS`); an image within one tile is coded whole.
"""

import warnings
import weakref
from pathlib import Path

import keras
import numpy as np
from keras import ops

from keraslstm.codec import entropy
from keraslstm.codec.fileformat import (
    HEADER_SIZE,
    LOSSLESS,
    CodecError,
    Header,
    check_pixels,
    pack,
    read_header,
    real_bpp,
    stage_named,
    unpack,
)

__all__ = [
    "compress",
    "decompress",
    "encode_progressive",
    "read_image",
    "to_float",
    "real_bpp",
    "decode_bits",
    "TILE",
]

TILE = 1024  # pixels per tile side; a multiple of every model's stride (16 by default)
FILL = 0.95  # rate control aims between FILL * bpp and bpp
_HALVES = weakref.WeakKeyDictionary()  # model -> its (encode, decode) halves, compiled once


def _halves(model):
    """(encode, decode): `model.encode_step` and `model.decode_step` as the loops below call
    them, with explicit states and the iteration as a tensor. On TensorFlow each is one graph,
    traced once for every tile shape (`reduce_retracing`): a decoder pass runs about 1.5x
    faster than op by op, and the two halves stay separate so that the encoder's
    reconstructions are exactly the decoder's."""
    if model not in _HALVES:
        encode, decode = model.encode_step, model.decode_step
        if keras.backend.backend() == "tensorflow" and isinstance(model, keras.Model):
            import tensorflow as tf

            encode, decode = (tf.function(f, reduce_retracing=True) for f in (encode, decode))
        _HALVES[model] = encode, decode
    return _HALVES[model]


def _iterations(count):
    """The iteration numbers 0 .. count - 1 as tensors (a Python int would trace a graph each)."""
    return [ops.convert_to_tensor(k, "int32") for k in range(count)]


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
    """The code grid's (rows, columns) slices under a tile's pixel slices."""
    return tuple(slice(pixels.start // stride, pixels.stop // stride) for pixels in (rows, cols))


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
    if not 1 <= iterations <= model.iterations:
        raise CodecError(f"iterations must be between 1 and {model.iterations}, got {iterations}")
    stride = model.stride
    padded = _pad(rgb, stride) - 0.5
    code_shape = (padded.shape[0] // stride, padded.shape[1] // stride, model.bits)
    all_bits = [np.empty(code_shape, np.float32) for _ in range(iterations)]
    images = [np.empty((height, width, 3), np.float32) for _ in range(iterations)]
    encode, decode = _halves(model)
    for rows, cols in _tiles(*padded.shape[:2]):
        target = ops.convert_to_tensor(padded[None, rows, cols])
        reconstruction = ops.zeros_like(target)
        encoder_states, decoder_states = model.initial_states(target)
        inside = (
            slice(rows.start, min(rows.stop, height)),
            slice(cols.start, min(cols.stop, width)),
        )
        for k, iteration in enumerate(_iterations(iterations)):
            bits, encoder_states = encode(target, reconstruction, encoder_states, iteration)
            reconstruction, decoder_states = decode(bits, reconstruction, decoder_states, iteration)
            all_bits[k][_code_slices(rows, cols, stride)] = ops.convert_to_numpy(bits)[0]
            if reconstructions:
                tile = ops.convert_to_numpy(reconstruction)[0] + 0.5
                images[k][inside] = np.clip(
                    tile[: inside[0].stop - rows.start, : inside[1].stop - cols.start], 0, 1
                )
    return all_bits, images if reconstructions else None, channels


def decode_bits(model, all_bits, height, width, partial=False, progress=None):
    """The float (H, W, 3) image in [0, 1] that the decoder makes from each iteration's bits.

    With `partial`, the last array is a partial iteration (0 at unsent positions), whose update
    lands only inside its sent blocks. `progress(tiles_done, tiles_total)` is called per tile.
    """
    stride = model.stride
    rows_total, cols_total = all_bits[0].shape[0] * stride, all_bits[0].shape[1] * stride
    image = np.empty((height, width, 3), np.float32)
    tiles = list(_tiles(rows_total, cols_total))
    _, decode = _halves(model)
    iterations = _iterations(len(all_bits))
    for done, (rows, cols) in enumerate(tiles, 1):
        code = _code_slices(rows, cols, stride)
        reconstruction = ops.zeros((1, rows.stop - rows.start, cols.stop - cols.start, 3))
        _, states = model.initial_states(reconstruction)
        for k, (bits, iteration) in enumerate(zip(all_bits, iterations, strict=True)):
            tile_bits = ops.convert_to_tensor(np.asarray(bits[code], np.float32)[None])
            previous = reconstruction
            reconstruction, states = decode(tile_bits, reconstruction, states, iteration)
            if partial and k == len(all_bits) - 1:
                sent = np.asarray(bits[code])[..., 0] != 0
                pixels = np.repeat(np.repeat(sent, stride, 0), stride, 1)[None, ..., None]
                reconstruction = ops.where(pixels, reconstruction, previous)
        tile = ops.convert_to_numpy(reconstruction)[0] + 0.5
        inside_rows, inside_cols = (
            min(rows.stop, height) - rows.start,
            min(cols.stop, width) - cols.start,
        )
        image[rows.start : rows.start + inside_rows, cols.start : cols.start + inside_cols] = (
            np.clip(tile[:inside_rows, :inside_cols], 0, 1)
        )
        if progress:
            progress(done, len(tiles))
    return image


def _block_errors(target, reconstruction, stride):
    """Mean absolute error of each stride x stride block, (rows, cols) float64."""
    error = np.abs(target - reconstruction).sum(axis=-1)
    h, w = error.shape
    return error.reshape(h // stride, stride, w // stride, stride).mean(axis=(1, 3))


def _encode_for_budget(model, image, budget_bits, max_iterations, progress=None, priors=None):
    """Run the encoder tile by tile until each tile's estimated coded size passes its share of
    `budget_bits` (all `max_iterations` when `budget_bits` is None).

    `priors`: the range coder's starting counts, as the file will use them (None: zeros).
    Returns (codes, gains, channels, coded): int8 codes per iteration over the whole code grid,
    the error each iteration removes from each block, the original channel count, and, for an
    image of one tile and a budget, (the range coder after 0, 1, ... of the iterations, each
    iteration's bits per block), which `_choose_rate` goes on from instead of coding them again
    (else None). A tile stops after the iteration whose estimate crosses its share: that one is
    the partial candidate.
    """
    rgb, channels = to_float(image)
    height, width = rgb.shape[:2]
    check_pixels(height, width)
    stride = model.stride
    padded = _pad(rgb, stride) - 0.5
    grid = (padded.shape[0] // stride, padded.shape[1] // stride, model.bits)
    codes, gains = [], []
    tiles = list(_tiles(*padded.shape[:2]))
    slack = 1.0 if len(tiles) == 1 else 1.3  # other tiles may leave room: run a little longer
    reached = []
    encode, decode = _halves(model)
    for done, (rows, cols) in enumerate(tiles, 1):
        target_array = padded[rows, cols]
        target = ops.convert_to_tensor(target_array[None])
        reconstruction = ops.zeros_like(target)
        encoder_states, decoder_states = model.initial_states(target)
        code = _code_slices(rows, cols, stride)
        share = (
            None
            if budget_bits is None
            else budget_bits * target_array[..., 0].size / padded[..., 0].size
        )
        tile_code = (code[0].stop - code[0].start, code[1].stop - code[1].start, model.bits)
        coders, block_costs = [entropy.Encoder(tile_code, priors)], []
        error, spent = _block_errors(target_array, 0.0, stride), 0.0
        for k, iteration in enumerate(_iterations(max_iterations)):
            bits, encoder_states = encode(target, reconstruction, encoder_states, iteration)
            reconstruction, decoder_states = decode(bits, reconstruction, decoder_states, iteration)
            if k == len(codes):
                codes.append(np.zeros(grid, np.int8))
                gains.append(np.zeros(grid[:2]))
            codes[k][code] = ops.convert_to_numpy(bits)[0].astype(np.int8)
            new_error = _block_errors(target_array, ops.convert_to_numpy(reconstruction)[0], stride)
            gains[k][code], error = error - new_error, new_error
            if share is not None:
                block_costs.append(np.zeros(codes[k][code].shape[:2]))
                coders.append(coders[-1].clone().add(codes[k][code], costs=block_costs[-1]))
                spent += block_costs[-1].sum()
                if spent > share * slack:
                    break
        reached.append(k + 1)
        if progress:
            progress(done, len(tiles))
    n = min(reached)
    coded = (coders, block_costs) if len(tiles) == 1 and block_costs else None
    return codes[:n], gains[:n], channels, coded


def _choose_rate(codes, gains, budget_bits, priors=None, coded=None):
    """(whole iterations, partial code or None, the range coder holding them) filling
    `budget_bits`.

    Whole iterations while they fit (by the real coded size), then a partial iteration over the
    blocks of largest gain, grown or shrunk by the real size until it lands in
    [FILL * budget, budget]. `priors`: the range coder's starting counts (None: zeros);
    `coded`: `_encode_for_budget`'s coders and block costs of these codes, if it has them.
    """
    shape = codes[0].shape
    prefix = entropy.Encoder(shape, priors) if coded is None else coded[0][0]
    whole = 0
    while whole < len(codes):
        if coded is None:
            costs = np.zeros(shape[:2])  # each block's bits: what the partial search weighs
            longer = prefix.clone().add(codes[whole], costs=costs)
        else:
            longer, costs = coded[0][whole + 1], coded[1][whole]
        if longer.bits() > budget_bits:
            break
        prefix, whole = longer, whole + 1
    best = (whole, None, prefix)
    if whole == len(codes) or prefix.bits() >= FILL * budget_bits:
        return best
    # the partial iteration: blocks by the error they lose, largest first (ties by position)
    order = np.argsort(-gains[whole].ravel(), kind="stable")
    per_block = costs.ravel()[order]
    positions = order.size
    room = FILL * budget_bits + (1 - FILL) / 2 * budget_bits - prefix.bits()
    sent = max(1, int(np.searchsorted(np.cumsum(per_block + 1.0), room)))  # ~1 bit of mask each
    low, high = 0, positions + 1  # sent counts known to fit / not to fit
    for _ in range(12):
        sent = int(min(max(sent, low + 1), high - 1, positions))
        if sent <= low:
            break
        mask = np.zeros(positions, bool)
        mask[order[:sent]] = True
        mask = mask.reshape(shape[:2])
        partial = np.where(mask[..., None], codes[whole], 0).astype(np.int8)
        attempt = prefix.clone().add(partial, mask)
        size = attempt.bits()
        if size <= budget_bits:
            low, best = sent, (whole, partial, attempt)
            if size >= FILL * budget_bits:
                break
        else:
            high = sent
        # secant step on the average cost of a block at this point
        average = max((size - prefix.bits()) / sent, 1.0)
        sent = sent + int((FILL * budget_bits + (1 - FILL) / 2 * budget_bits - size) / average)
        if high - low <= 1:
            break
    return best


def _header(model, image_shape, channels, iterations, lossless, partial=0, fingerprint=None):
    from keraslstm.codec import weights

    return Header(
        image_shape[0],
        image_shape[1],
        channels,
        iterations,
        lossless,
        model.bits,
        model.stride,
        fingerprint or weights.fingerprint(model),
        partial,
    )


def _stage(lossless, fingerprint):
    """(stage name, the range coder's priors or None) for `compress`'s `lossless` ("auto": the
    range coder, from the priors of the model with this fingerprint when they are loaded)."""
    priors = entropy.PRIORS.get(fingerprint)
    if lossless == "auto":
        return ("range", None) if priors is None else ("range-priors", priors)
    if lossless not in LOSSLESS:
        valid = ", ".join(map(repr, ("auto", *LOSSLESS)))
        raise CodecError(f"Unknown lossless stage {lossless!r}; valid: {valid}")
    if lossless == "range-priors" and priors is None:
        raise CodecError(
            "lossless='range-priors' needs the model's priors: load weights that ship with a "
            ".priors.npy file, or register some with entropy.register_priors"
        )
    return lossless, priors if lossless == "range-priors" else None


def compress(
    image,
    bpp=None,
    iterations=None,
    model=None,
    lossless="auto",
    progress=None,
    reconstruction=False,
):
    """A `.klc` file (bytes) of `image`: between 95% and 100% of `bpp` bits per pixel (whole
    iterations, then a partial one over the blocks that gain most), or exactly `iterations`.

    `lossless`: "auto" (the context-adaptive range coder: "range-priors" when the model's
    priors are loaded, as `load_model` does for weights with a `.priors.npy` beside them, else
    "range"), "range", "range-priors", or "none" / "zlib" / "lzma" (progressive files: a cut
    file decodes its whole iterations). `progress(done, total)`
    is called after each tile. With `reconstruction=True`, returns (bytes, the float (H, W, 3)
    image in [0, 1] that the decoder will make).
    """
    from keraslstm.codec.weights import fingerprint, load_model

    model = model or load_model()
    model_fingerprint = fingerprint(model)  # hashes every weight: once per file
    stage, priors = _stage(lossless, model_fingerprint)
    if (bpp is None) == (iterations is None):
        raise CodecError("give exactly one of bpp and iterations")
    if iterations is not None and not 1 <= iterations <= model.iterations:
        raise CodecError(f"iterations must be between 1 and {model.iterations}, got {iterations}")
    if bpp is not None and not bpp > 0:
        raise CodecError(f"impossible bpp {bpp}: it must be positive")
    height, width = np.shape(image)[:2]
    check_pixels(height, width)
    if iterations is not None:
        codes, _, channels, _ = _encode_for_budget(model, image, None, iterations, progress)
        header = _header(model, (height, width), channels, iterations, stage, 0, model_fingerprint)
        data = pack(header, codes)
        whole, partial = codes, False
    else:
        budget = bpp * height * width - 8 * HEADER_SIZE - stage_named(stage).overhead_bits
        smallest = (8 * HEADER_SIZE + 64) / (height * width)
        if budget < 64:  # not even a few blocks of one iteration
            raise CodecError(
                f"impossible bpp {bpp}: one iteration of this {height}x{width} image takes at "
                f"least {smallest:.4f} bpp (header and one block)"
            )
        codes, gains, channels, coded = _encode_for_budget(
            model, image, budget, model.iterations, progress, priors
        )
        if not stage.startswith("range"):  # estimate with the range coder, pay the stage's
            budget = budget * 0.9
        k, partial_code, coder = _choose_rate(codes, gains, budget, priors, coded)
        whole = codes[:k] + ([] if partial_code is None else [partial_code])
        if not whole:
            raise CodecError(
                f"impossible bpp {bpp}: one iteration of this {height}x{width} image takes at "
                f"least {smallest:.4f} bpp (header and one block)"
            )
        partial = partial_code is not None
        sent = int((partial_code[..., 0] != 0).sum()) if partial else 0
        header = _header(model, (height, width), channels, k, stage, sent, model_fingerprint)
        data = pack(header, whole, coder.bytes() if stage.startswith("range") else None)
        if real_bpp(data, height, width) > bpp:
            raise CodecError(f"rate control overshot {bpp} bpp with the {stage} stage; use 'auto'")
    if reconstruction:
        return data, decode_bits(model, whole, height, width, partial=partial)
    return data


def decompress(data, model=None, partial=False, progress=None):
    """The uint8 image in a `.klc` file: (H, W, 3), or (H, W) if it was grayscale.

    `partial`: decode the whole iterations a cut file holds (stages none / zlib / lzma).
    `progress(done, total)` is called after each tile."""
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
    if header.iterations + (1 if header.partial else 0) > model.iterations:
        raise CodecError(
            f"corrupt .klc header: {header.iterations} iterations"
            + (" and a partial one" if header.partial else "")
            + f", this model makes at most {model.iterations}"
        )
    header, all_bits = unpack(data, partial=partial)
    image = decode_bits(
        model, all_bits, header.height, header.width, bool(header.partial), progress
    )
    image = np.round(image * 255).astype(np.uint8)
    return image.mean(axis=-1).round().astype(np.uint8) if header.channels == 1 else image


def write_image(path, image):
    from PIL import Image

    Image.fromarray(image).save(Path(path))
