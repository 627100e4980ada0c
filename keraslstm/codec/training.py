"""Training the codec on random crops, with a progress bar and resumable checkpoints."""

import json
import time
from pathlib import Path

import keras
import numpy as np
from keras import ops
from tqdm.auto import tqdm

from keraslstm import data
from keraslstm.codec.api import read_image, to_float
from keraslstm.codec.fileformat import CodecError
from keraslstm.codec.weights import save_model

__all__ = ["GRAY_PHOTOS", "training_images", "fit_steps", "train"]


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
    return [to_float(read_image(p))[0] for p in files]


def fit_steps(
    model, images, steps, batch_size=32, crop=32, seed=0, start=0, progress=True, on_step=None
):
    """Train a compiled `model` on `steps` batches of random crops; returns (losses, seconds per step).

    Batch k is always the same crops for the same `seed`, so runs of different models see the
    same data in the same order.
    """
    losses, times = [], []
    bar = tqdm(
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
    return np.array(losses), np.array(times)


def _seed_states(model):
    """The state variables of the model's random-number generators (the binarizer's noise)."""
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


def train(model, images, steps, out, batch_size=32, crop=32, learning_rate=5e-4, seed=0,
          checkpoint_every=100, progress=True, **record):  # fmt: skip
    """Train `model` for `steps` batches of random crops; resumes from `out`'s checkpoint if any.

    Every `checkpoint_every` steps (and at the end) the model and optimizer go to
    `<out>.ckpt.keras`; the final weights go to `out` with a JSON record. Returns (model, losses).
    """
    checkpoint = Path(str(out) + ".ckpt.keras")
    clock = checkpoint.with_suffix(".seconds")
    # A .keras file does not keep the binarizer's random-number state, so it goes beside it:
    # a resumed run then draws the same binarization noise as an uninterrupted one.
    noise = checkpoint.with_suffix(".seeds.json")
    start, earlier = 0, 0.0
    if checkpoint.exists():
        model = keras.models.load_model(checkpoint)
        start = int(ops.convert_to_numpy(model.optimizer.iterations))
        earlier = float(clock.read_text()) if clock.exists() else 0.0
        if noise.exists():
            states = json.loads(noise.read_text())
            for variable, state in zip(_seed_states(model), states, strict=True):
                variable.assign(state)
    else:
        model.compile(keras.optimizers.Adam(learning_rate))

    def save_checkpoint(step, seconds):
        if (step + 1) % checkpoint_every == 0 or step + 1 == steps:
            model.save(checkpoint)
            clock.write_text(f"{earlier + seconds}\n")
            states = [ops.convert_to_numpy(v).tolist() for v in _seed_states(model)]
            noise.write_text(json.dumps(states) + "\n")

    losses, times = fit_steps(
        model, images, steps, batch_size, crop, seed, start, progress, save_checkpoint
    )
    seconds = times.sum()
    save_model(model, out, steps=steps, batch_size=batch_size, crop=crop, learning_rate=learning_rate,
               seed=seed, train_seconds=round(earlier + seconds, 1), **record)  # fmt: skip
    return model, losses
