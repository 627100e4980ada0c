"""Training the codec on random crops, with a progress bar and resumable checkpoints."""

import json
import time
from pathlib import Path

import keras
import numpy as np
from keras import ops

from keraslstm import config, data, metrics, optimizers
from keraslstm.codec.api import read_image, to_float
from keraslstm.codec.fileformat import CodecError
from keraslstm.codec.model import DECODER_HIDDEN_KERNELS, ResidualLSTMCodec
from keraslstm.codec.weights import model_info, save_model

__all__ = [
    "GRAY_PHOTOS",
    "training_images",
    "training_crop",
    "fit_steps",
    "train",
    "start_from_weights",
    "held_out_quality",
    "iteration_profile",
    "gate_saturation",
    "saturated_share",
    "entropy_priors",
]


RESUME_WARMUP = 200  # steps of learning-rate warm-up when training goes on from bare weights

# Grayscale photos in scikit-image's wheel, used as extra (gray) RGB training texture.
GRAY_PHOTOS = (
    "camera",
    "coins",
    "moon",
    "page",
    "text",
    "clock",
    "brick",
    "grass",
    "gravel",
    "cell",
)


def training_images(source="bundled"):
    """Training photos: `bundled`, a folder, or `tfds:NAME`, as float (H, W, 3) in [0, 1].

    A folder may hold the Debian training photos (`python -m keraslstm.wallpapers
    --train-photos DIR`), never a photo the codec is evaluated on (refused by name).

    `bundled` is the 9 training colour photos of `keraslstm.data.photos("train")` plus the 10
    grayscale photos in `GRAY_PHOTOS` (copied to three channels): nothing from the test split.
    """
    if source == "bundled":
        import skimage.data

        gray = [to_float(getattr(skimage.data, name)())[0] for name in GRAY_PHOTOS]
        return list(data.photos("train").values()) + gray
    if source.startswith("tfds:"):
        return list(data.photos("train", source="tfds", name=source.removeprefix("tfds:")).values())
    folder = Path(source)
    if not folder.is_dir():
        raise CodecError(
            f"--data must be 'bundled', 'tfds:NAME' or a folder of images; {source!r} is none"
        )
    files = sorted(
        p
        for p in folder.iterdir()
        if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
    )
    if not files:
        raise CodecError(f"no images (png, jpg, bmp, tif, webp) in {folder}")
    held_out = set(data.PHOTO_SPLITS["test"]) | set(data.PHOTO_SPLITS["debian test"])
    if clash := sorted(p.name for p in files if p.stem in held_out):
        raise CodecError(
            f"{folder} holds evaluation photos ({', '.join(clash)}): the codec is judged on them, so it must not train on them"
        )
    return [to_float(read_image(p))[0] for p in files]


def training_crop(loss, crop=None):
    """The side of the training crops for `loss`: `crop`, or 32 (48 for `ms_ssim_l1`, whose 3
    MS-SSIM scales need it); a side the codec or the loss cannot use is refused."""
    crop = crop or (48 if loss == "ms_ssim_l1" else 32)
    if crop % 16:
        raise CodecError(f"--crop must be a multiple of the codec's 16-pixel blocks, got {crop}")
    if loss == "ms_ssim_l1" and crop < 48:
        raise CodecError(
            f"--loss ms_ssim_l1 needs --crop 48 or more (3 MS-SSIM scales), got {crop}"
        )
    return crop


def fit_steps(
    model,
    images,
    steps,
    batch_size=32,
    crop=32,
    seed=0,
    start=0,
    progress=True,
    on_step=None,
    max_seconds=None,
):
    """Train a compiled `model` from step `start` to `steps` on random crops (or until
    `max_seconds` of training have passed); returns (losses, seconds per step).

    Batch k is always the same crops for the same `seed`, so runs of different models see the
    same data in the same order.
    """
    if model.built:  # its optimizer now, or TensorFlow traces the first step twice
        optimizers.built(model.optimizer, model.trainable_variables)
    losses, times = [], []
    bar = config.progress(
        range(start, steps), initial=start, total=steps, disable=not progress, desc="training"
    )
    for step in bar:
        batch = data.random_crops(images, crop, batch_size, seed=seed + step)
        tic = time.perf_counter()
        logs = model.train_on_batch(batch, return_dict=True)
        times.append(time.perf_counter() - tic)
        losses.append(logs["loss"])
        bar.set_postfix(loss=f"{logs['loss']:.4f}")
        if on_step is not None:
            on_step(step, sum(times))
        if max_seconds is not None and sum(times) >= max_seconds:
            break
    return np.array(losses), np.array(times)


def _seed_states(model):
    """The state variables of the model's random-number generators (the binarizer's noise)."""
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


def _narrowed(values, shape):
    """`values` for a weight of `shape`: as they are, or a k x k kernel summed over its taps into
    a 1 x 1 one (exact wherever the hidden state is constant across the k x k window)."""
    if values.shape == tuple(shape):
        return values
    if tuple(shape[:2]) == (1, 1) and values.shape[2:] == tuple(shape[2:]):
        return values.sum(axis=(0, 1), keepdims=True)
    raise CodecError(f"cannot start a {tuple(shape)} weight from a {values.shape} one")


def start_from_weights(model, weights):
    """Load a `.weights.h5` (with its JSON sidecar) into `model`; returns its (steps, seconds).

    A weights file keeps no optimizer moments, so training resumed from one starts Adam afresh;
    a `.ckpt.keras` checkpoint keeps them. Weights trained without a gain start `gain="learned"`
    at g_k = 1, and 3x3 hidden kernels start 1x1 ones at their taps' sum, so that training starts
    from (nearly) the codec in the file.
    """
    info = model_info(weights)
    training = info["training"]
    model.build((None, model.stride * 2, model.stride * 2, 3))
    adds_gain = getattr(model, "gain_kind", None) and not info["config"].get("gain")
    kernels = info["config"].get("decoder_hidden_kernels", DECODER_HIDDEN_KERNELS)
    if not adds_gain and tuple(kernels) == model.decoder_hidden_kernels:
        model.load_weights(weights)
        return int(training["steps"]), float(training.get("train_seconds", 0.0))
    plain = ResidualLSTMCodec(**info["config"])
    plain.build((None, model.stride * 2, model.stride * 2, 3))
    plain.load_weights(weights)
    for part in ("encoder", "binarizer", "decoder"):
        pairs = zip(getattr(plain, part).weights, getattr(model, part).weights, strict=True)
        for source, target in pairs:
            target.assign(_narrowed(ops.convert_to_numpy(source), target.shape))
    if adds_gain:
        model.set_log_gains(np.zeros(model.iterations))
    return int(training["steps"]), float(training.get("train_seconds", 0.0))


def train(
    model,
    images,
    steps,
    out,
    batch_size=32,
    crop=32,
    learning_rate=5e-4,
    seed=0,
    checkpoint_every=100,
    progress=True,
    resume=None,
    max_seconds=None,
    on_checkpoint=None,
    **record,
):
    """Train `model` up to step `steps` on random crops, resumably; returns (model, losses).

    Every `checkpoint_every` steps (and at the end) the model with its optimizer moments goes to
    `<out>.ckpt.keras`, and the step count, seconds trained and binarizer noise state to
    `<out>.ckpt.json`; the weights go to `out` with a JSON record. A run whose checkpoint exists
    picks up where it stopped; otherwise `resume` (a `.weights.h5` with its sidecar, e.g. the
    shipped weights) gives the starting weights and step count. `max_seconds` ends the run at a
    checkpoint once that much training time has passed (one chunk of a long run);
    `on_checkpoint(model, step, seconds)` runs after every checkpoint (for learning curves).
    """
    checkpoint = Path(str(out) + ".ckpt.keras")
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    # A .keras file keeps neither the step count (Adam's counter restarts on a resume from
    # weights) nor the binarizer's random-number state, so they go beside it: a resumed run then
    # sees the same batches and binarization noise as an uninterrupted one.
    state_file = checkpoint.with_suffix(".json")
    start, earlier = 0, 0.0
    if checkpoint.exists():
        model = keras.models.load_model(checkpoint)
        state = json.loads(state_file.read_text())
        start, earlier = state["step"], state["seconds"]
        for variable, value in zip(_seed_states(model), state["seeds"], strict=True):
            variable.assign(value)
    else:
        rate = learning_rate
        if resume is not None:
            start, earlier = start_from_weights(model, resume)
            record.setdefault("resumed_from", f"{Path(resume).name} at step {start}")
            # A fresh Adam's first steps move every weight by about the whole learning rate
            # (m / sqrt(v) = sign(g)): on trained weights that knocked held-out MS-SSIM at 1 bpp
            # from 0.914 to 0.898 in one step. So the rate warms up linearly (then stays) instead.
            rate = keras.optimizers.schedules.CosineDecay(
                learning_rate / RESUME_WARMUP,
                1,
                alpha=1.0,
                warmup_target=learning_rate,
                warmup_steps=RESUME_WARMUP,
            )
        model.compile(keras.optimizers.Adam(rate))
    step_reached, seconds_reached = start, earlier

    def save_checkpoint(step, seconds):
        nonlocal step_reached, seconds_reached
        last = step + 1 == steps or (max_seconds is not None and seconds >= max_seconds)
        if (step + 1) % checkpoint_every == 0 or last:
            model.save(checkpoint)
            seeds = [ops.convert_to_numpy(v).tolist() for v in _seed_states(model)]
            step_reached, seconds_reached = step + 1, earlier + seconds
            state = dict(step=step_reached, seconds=seconds_reached, seeds=seeds)
            state_file.write_text(json.dumps(state) + "\n")
            if on_checkpoint is not None:
                on_checkpoint(model, step_reached, seconds_reached)

    losses, _ = fit_steps(
        model, images, steps, batch_size, crop, seed, start, progress, save_checkpoint, max_seconds
    )
    save_model(
        model,
        out,
        steps=step_reached,
        batch_size=batch_size,
        crop=crop,
        learning_rate=learning_rate,
        seed=seed,
        train_seconds=round(seconds_reached, 1),
        **record,
    )
    return model, losses


def _held_out(images):
    return dict(data.photos("test")) if images is None else images


def held_out_quality(model, iterations=(2, 8), images=None):
    """{k: {photo: MS-SSIM after k iterations}} on the held-out photos (or `images`).

    Whole iterations without the lossless stage (k iterations = k/8 bpp before coding), so the
    number follows the weights alone, not the entropy coder or the rate control.
    """
    from keraslstm.codec.api import encode_progressive

    quality = {k: {} for k in iterations}
    for name, image in _held_out(images).items():
        _, reconstructions, _ = encode_progressive(model, image, max(iterations))
        for k in iterations:
            quality[k][name] = metrics.ms_ssim(image, reconstructions[k - 1])
    return quality


def iteration_profile(model, images=None):
    """Per iteration k = 1..K on the held-out photos (means over photos): the residual the encoder
    is given (mean |x - x_{k-1}|), the decoder's correction (mean |x_k - x_{k-1}|), the error
    left (mean |x - x_k|, the training loss's term for k) and MS-SSIM; a list of dicts."""
    from keraslstm.codec.api import encode_progressive

    rows = [
        dict(iteration=k + 1, residual=0.0, correction=0.0, error=0.0, ms_ssim=0.0)
        for k in range(model.iterations)
    ]
    photos = _held_out(images)
    for image in photos.values():
        _, reconstructions, _ = encode_progressive(model, image)
        previous = np.full_like(image, 0.5)  # the decoder starts from mid-grey
        for row, current in zip(rows, reconstructions, strict=True):
            row["residual"] += np.abs(image - previous).mean() / len(photos)
            row["correction"] += np.abs(current - previous).mean() / len(photos)
            row["error"] += np.abs(image - current).mean() / len(photos)
            row["ms_ssim"] += metrics.ms_ssim(image, current) / len(photos)
            previous = current
    return rows


def gate_saturation(model, images=None, size=256, share=0.01):
    """Per iteration, the share of each ConvLSTM's input, forget and output gates that are
    saturated closed or open, on a central `size` x `size` crop of each held-out photo.

    Saturated: the gate's slope is under `share` of its peak (`cells.saturation_bounds`), so
    training can hardly move the unit; for the paper's hard sigmoid that is exactly 0 or 1 with
    no gradient at all. Returns `{"encoder/conv_lstm_0": {"input": {"closed": [one share per
    iteration], "open": [...]}, "forget": ..., "output": ...}, ..., "decoder/conv_lstm_3": ...}`.
    """
    from keraslstm.cells import saturation_bounds

    photos = list(_held_out(images).values())
    side = min(size, *(min(p.shape[:2]) for p in photos)) // model.stride * model.stride
    if side == 0:
        raise ValueError(f"gate_saturation needs photos of at least {model.stride} pixels a side")
    crops = []
    for photo in photos:
        top, left = (photo.shape[0] - side) // 2, (photo.shape[1] - side) // 2
        crops.append(photo[top : top + side, left : left + side, :3])
    low, high = saturation_bounds(model.gate, share)
    cells = [(f"encoder/{cell.name}", cell) for cell in model.encoder.cells]
    cells += [(f"decoder/{cell.name}", cell) for cell in model.decoder.cells]
    shares = {name: {} for name, _ in cells}

    def recording(name, update):
        def record(z, c):
            i, f, _, o = np.split(ops.convert_to_numpy(z), 4, axis=-1)
            for gate, before in (("input", i), ("forget", f), ("output", o)):
                per_iteration = shares[name].setdefault(gate, {"closed": [], "open": []})
                per_iteration["closed"].append(float(np.mean(before < low)))
                per_iteration["open"].append(float(np.mean(before > high)))
            return update(z, c)

        return record

    for name, cell in cells:
        cell.lstm_update = recording(name, cell.lstm_update)
    try:
        target = ops.convert_to_tensor(np.stack(crops) - 0.5)
        reconstruction, states = ops.zeros_like(target), (None, None)
        for k in range(model.iterations):
            _, reconstruction, states = model.step(target, reconstruction, states, k)
    finally:
        for _, cell in cells:
            del cell.lstm_update
    return shares


def saturated_share(layer):
    """Per iteration, the share of one layer's input, forget and output gates (pooled) that are
    saturated either way, from one layer of `gate_saturation`'s record."""
    return np.mean([np.add(gate["closed"], gate["open"]) for gate in layer.values()], axis=0)


def entropy_priors(model, images, iterations=8, out=None):
    """The range coder's prior counts for `model`'s codes of `images` (training photos, never
    the evaluation photos) over its first `iterations`; with `out` (the weights' `.priors.npy`,
    `weights.priors_path`) they are saved as uint8 and registered for the model."""
    from keraslstm.codec import entropy
    from keraslstm.codec.api import encode_progressive
    from keraslstm.codec.weights import fingerprint

    codes = [
        encode_progressive(model, image, iterations, reconstructions=False)[0] for image in images
    ]
    priors = entropy.estimate_priors(codes)
    if out is not None:
        np.save(out, priors.astype(np.uint8), allow_pickle=False)
        entropy.register_priors(fingerprint(model), priors)
    return priors
