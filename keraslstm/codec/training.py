"""Training the codec on random crops, with a progress bar and resumable checkpoints."""

import time
from pathlib import Path

import keras
import numpy as np
from tqdm.auto import tqdm

from keraslstm import data
from keraslstm.codec.api import read_image, to_float
from keraslstm.codec.fileformat import CodecError
from keraslstm.codec.weights import save_model

__all__ = ["training_images", "train"]


def training_images(source="bundled"):
    """Training photos: `bundled` (the package photos' train split), a folder, or `tfds:NAME`."""
    if source == "bundled":
        return list(data.photos("train").values())
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


def train(model, images, steps, out, batch_size=32, crop=32, learning_rate=5e-4, seed=0,
          checkpoint_every=100, progress=True, **record):  # fmt: skip
    """Train `model` for `steps` batches of random crops; resumes from `out`'s checkpoint if any.

    Every `checkpoint_every` steps (and at the end) the model and optimizer go to
    `<out>.ckpt.keras`; the final weights go to `out` with a JSON record. Returns the losses.
    """
    checkpoint = Path(str(out) + ".ckpt.keras")
    start_step, seconds = 0, 0.0
    if checkpoint.exists():
        model = keras.models.load_model(checkpoint)
        start_step = int(model.optimizer.iterations.numpy())
        seconds = (
            float(checkpoint.with_suffix(".seconds").read_text())
            if checkpoint.with_suffix(".seconds").exists()
            else 0.0
        )
    else:
        model.compile(keras.optimizers.Adam(learning_rate))
    losses = []
    bar = tqdm(
        range(start_step, steps),
        initial=start_step,
        total=steps,
        disable=not progress,
        desc="training",
    )
    for step in bar:
        batch = data.random_crops(images, crop, batch_size, seed=seed + step)
        tic = time.perf_counter()
        logs = model.train_on_batch(batch, return_dict=True)
        seconds += time.perf_counter() - tic
        losses.append(logs["loss"])
        bar.set_postfix(loss=f"{logs['loss']:.4f}")
        if (step + 1) % checkpoint_every == 0 or step + 1 == steps:
            model.save(checkpoint)
            checkpoint.with_suffix(".seconds").write_text(f"{seconds}\n")
    save_model(model, out, steps=steps, batch_size=batch_size, crop=crop, learning_rate=learning_rate,
               seed=seed, train_seconds=round(seconds, 1), **record)  # fmt: skip
    return model, np.array(losses)
