"""Training speed of the backend-agnostic models on an accelerator: JAX, no TensorFlow needed.

A GPU machine may be lent for minutes only, so this check is prepared to run unattended: it
trains the codec (notebook 05) and every notebook model whose training step is
backend-agnostic (the VAEs of notebook 02, the frame predictors of notebook 03, the detectors
of notebook 04; the GANs and VAE-GANs step with `tf.GradientTape` and are left out) on random
data of the notebooks' shapes, for a fixed number of `train_on_batch` steps at each batch size
(32 to 512). It writes one JSON of step times (median and interquartile range over the steps)
and examples per second, rewritten after every measurement, so a run cut short keeps what it
measured. It starts no new measurement once its `--budget` of seconds is spent, each model
getting a share of what is left (the codec three shares), and a model slower than its share
stops timing after 3 steps, so the whole run ends in under 8 minutes. Other backends run it
too (`KERAS_BACKEND=tensorflow`: the CPU reference the notebooks use). `--tiny` shrinks models,
batches and sequences (3 frames in, 2 ahead) to a smoke test (tests/test_device_check.py runs
it on the CPU under JAX with TensorFlow made unimportable, so the script cannot rot).

    KERAS_BACKEND=jax python benchmarks/device_check.py    # results/device_check_jax_gpu.json on a GPU
    KERAS_BACKEND=jax python benchmarks/device_check.py --tiny --out /tmp/check.json
"""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

# isort: split
import argparse
import json
import platform
import time
from pathlib import Path

import keras
import numpy as np

from keraslstm import hybrids, networks, zoo
from keraslstm.codec.model import ResidualLSTMCodec
from keraslstm.codec.weights import model_info
from keraslstm.config import devices
from keraslstm.results import results_dir
from keraslstm.timing import spread

BATCH_SIZES = (32, 64, 128, 256, 512)
TINY_BATCH_SIZES = (2,)


def codec(tiny):
    """The shipped codec's architecture (16 iterations), Adam 5e-4 as in its training, with the
    L1 loss on 32x32 crops as in every earlier record (the MS-SSIM loss needs 48x48)."""
    config = {**model_info()["config"], "loss": "l1"}
    if tiny:
        config.update(iterations=1, encoder_filters=(4, 8, 8, 8), decoder_filters=(8, 8, 8, 8))
    model = ResidualLSTMCodec(**config)
    model.compile(keras.optimizers.Adam(5e-4))
    return model


def vae(name):
    """Notebook 02's VAE as `keraslstm.zoo` builds it (latent 32, convolutions 32 wide)."""

    def build(tiny):
        return zoo.build(name, latent_dim=4 if tiny else 32, width=4 if tiny else 32)

    return build


def frame_predictor(name, **tiny_sizes):
    """Notebook 03's part A: 10 frames of 32x32 in, Adam and cross-entropy (`hybrids.build_predictor`)."""

    def build(tiny):
        return hybrids.build_predictor(name, 0, **(tiny_sizes if tiny else {}))

    return build


def detector(kind):
    """Notebook 04's detectors, compiled as `keraslstm.detection.train_detector` does."""

    def build(tiny):
        width = 4 if tiny else 16  # notebook 04's D_WIDTH
        cnn = networks.dcgan_discriminator((28, 28, 1), width=width)
        if kind == "CNN":
            model = cnn
        else:  # as many weights as the CNN
            units = networks.row_lstm_units(cnn.count_params())
            model = networks.row_lstm_discriminator((28, 28, 1), units)
        model.compile(
            keras.optimizers.Adam(2e-3), keras.losses.BinaryCrossentropy(from_logits=True)
        )
        return model

    return build


TINY_FRAMES = dict(input_frames=3, output_frames=2)  # a 4-frame rollout compiles in seconds


def random(shape, rng, n):
    return rng.random((n, *shape)).astype("float32")


def patches(n, rng, tiny):
    return random((32, 32, 3), rng, n)


def digits(n, rng, tiny):
    return random((28, 28, 1), rng, n)


def labelled_digits(n, rng, tiny):
    return digits(n, rng, tiny), (rng.random((n, 1)) > 0.5).astype("float32")


def sequences(n, rng, tiny):
    side, seen, ahead = (16, *TINY_FRAMES.values()) if tiny else (32, 10, 10)
    frames = random((seen + ahead, side, side, 1), rng, n)  # (frames, height, width, channels)
    return frames[:, :seen], frames[:, 1:]


def one_shot_sequences(n, rng, tiny):
    observed, following = sequences(n, rng, tiny)
    return observed, following[:, observed.shape[1] - 1 :]


convlstm_predictor = frame_predictor("ConvLSTM", side=16, width=4, core_filters=4, **TINY_FRAMES)
cnn_predictor = frame_predictor("one-shot CNN", side=16, cnn_width=4, **TINY_FRAMES)

# name: (notebook, build(tiny), batch(n, rng, tiny), what one example is, shares of the budget)
MODELS = {
    "codec": ("05", codec, patches, "32x32 patch", 3),
    "MLP VAE": ("02", vae("VAE"), digits, "image", 1),
    "conv VAE": ("02", vae("conv VAE"), digits, "image", 1),
    "ConvLSTM predictor": ("03", convlstm_predictor, sequences, "sequence", 1),
    "CNN predictor": ("03", cnn_predictor, one_shot_sequences, "sequence", 1),
    "row-LSTM detector": ("04", detector("LSTM"), labelled_digits, "image", 1),
    "CNN detector": ("04", detector("CNN"), labelled_digits, "image", 1),
}


MIN_STEPS = 3  # timed steps kept even past the deadline, for a median and quartiles


def measure(model, batch, warmup, steps, deadline):
    """Seconds of the first step (compilation included) and of each of `steps` after `warmup`;
    past `deadline`, timing stops once `MIN_STEPS` steps are timed (a model slower than planned)."""
    x, y = batch if isinstance(batch, tuple) else (batch, None)

    def step():
        model.train_on_batch(x, y)

    start = time.perf_counter()
    step()
    first = time.perf_counter() - start
    for _ in range(warmup - 1):
        step()
    times = []
    while len(times) < steps and (len(times) < MIN_STEPS or time.perf_counter() < deadline):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return first, times


def write(report, out):
    """Replace `out` atomically, so a run cut short leaves a readable file."""
    partial = out.with_suffix(".partial")
    partial.write_text(json.dumps(report, indent=2) + "\n")
    partial.replace(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="small models and batches (a test)")
    parser.add_argument("--batch-sizes", type=int, nargs="+")
    parser.add_argument("--steps", type=int, help="timed steps per batch size (default 20; tiny 2)")
    parser.add_argument(
        "--warmup", type=int, default=2, help="steps before timing (first compiles)"
    )
    parser.add_argument(
        "--budget", type=float, default=400.0, help="seconds; no new measurement after"
    )
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--out", type=Path, help="default results/device_check_<platform>.json")
    args = parser.parse_args(argv)
    batch_sizes = args.batch_sizes or (TINY_BATCH_SIZES if args.tiny else BATCH_SIZES)
    steps = args.steps or (2 if args.tiny else 20)
    accelerators = devices()
    backend = keras.backend.backend()
    kind = "gpu" if accelerators else "cpu"
    out = args.out or results_dir(quick=False) / f"device_check_{backend}_{kind}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "backend": backend,
        "devices": accelerators or ["CPU"],
        "keras": keras.__version__,
        "python": platform.python_version(),
        "settings": {
            **{k: v for k, v in vars(args).items() if k != "out"},
            "batch_sizes": list(batch_sizes),
            "steps": steps,
        },  # fmt: skip
        "results": [],
    }
    write(report, out)
    start = time.perf_counter()
    deadline = start + args.budget
    shares_left = sum(MODELS[m][4] for m in args.models)
    rng = np.random.default_rng(0)
    for name in args.models:
        notebook, build, make_batch, unit, shares = MODELS[name]
        now = time.perf_counter()
        model_deadline = now + max(0.0, deadline - now) * shares / shares_left
        shares_left -= shares
        keras.utils.set_random_seed(0)
        model = build(args.tiny)
        for batch_size in batch_sizes:
            row = dict(model=name, notebook=notebook, example=unit, batch_size=batch_size)
            if time.perf_counter() >= model_deadline:
                row["skipped"] = "time budget spent"
            else:
                try:
                    first, times = measure(model, make_batch(batch_size, rng, args.tiny),
                                           args.warmup, steps, model_deadline)  # fmt: skip
                except Exception as error:  # out of memory at a large batch: keep the rest
                    row["error"] = f"{type(error).__name__}: {str(error)[:300]}"
                else:
                    s = spread(times)
                    row.update(
                        parameters=model.count_params(),
                        steps_timed=len(times),
                        first_step_seconds=round(first, 4),
                        step_seconds={k: round(v, 6) for k, v in s._asdict().items()},
                        examples_per_second=round(batch_size / s.median, 1),
                    )
            report["results"].append(row)
            report["seconds"] = round(time.perf_counter() - start, 1)
            write(report, out)
            print(json.dumps(row), flush=True)
    print(f"wrote {out} after {report['seconds']} s")
    return report


if __name__ == "__main__":
    main()
