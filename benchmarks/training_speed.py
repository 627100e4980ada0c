"""Do `jit_compile=True` (XLA) and `steps_per_execution` speed up the notebooks' training on a CPU?

Keras 3 on TensorFlow turns XLA off on machines without a GPU (`jit_compile="auto"`), and runs
one Python-level call per training step. For each notebook's main model, built as the notebook
or `keraslstm.zoo` builds it, this times one pass of `fit` over a few batches with four
compilations (as built; XLA; 8 steps per execution; both) in `--rounds` interleaved rounds
(`keraslstm.timing`), and reports each variant's time over the as-built one, round by round:
the median with its interquartile range, judged below 1 only outside the noise. The first pass
of each variant (tracing and compiling) is reported apart. The codec trains with
`train_on_batch` (`keraslstm.codec.training.fit_steps`), so only XLA applies to it.
Writes `results/training_speed.json` (one entry per model, kept across runs).

    python benchmarks/training_speed.py --models "DCGAN (02)" "VAE (02)"
"""

import keraslstm  # noqa: F401  first: it silences TensorFlow's C++ start-up lines

# isort: split
import argparse
import json
import logging
import time

import keras
import numpy as np

from keraslstm import gan, hybrids, networks, vae, zoo
from keraslstm.codec.model import ResidualLSTMCodec
from keraslstm.codec.weights import model_info
from keraslstm.results import results_dir
from keraslstm.timing import interleaved, judge, ratios, spread

VARIANTS = {
    "as built": {},
    "jit_compile=True": {"jit_compile": True},
    "steps_per_execution=8": {"steps_per_execution": 8},
    "both": {"jit_compile": True, "steps_per_execution": 8},
}


def dlstm(**compile_options):
    """Notebook 01's DLSTM: a conditional VAE-GAN whose encoder is a 128-unit row LSTM."""
    model = vae.VAEGAN(
        networks.lstm_row_encoder(16, num_classes=10, units=128),
        networks.dcgan_generator(16, num_classes=10, width=32),
        networks.dcgan_discriminator(num_classes=10, width=32),
        16, num_classes=10, adversarial_weight=30.0, seed=0,
    )  # fmt: skip
    model.compile(**compile_options)
    return model


def from_zoo(name):
    """A notebook 02 model as `zoo.build` makes it (width 32), recompiled with the options."""

    def build(**compile_options):
        model = zoo.build(name, latent_dim=32, width=32)
        if isinstance(model, vae.VAE) and not isinstance(model, vae.VAEGAN):
            model.compile(keras.optimizers.Adam(1e-3), **compile_options)
        else:
            model.compile(**compile_options)
        return model

    return build


def convlstm_predictor(**compile_options):
    """Notebook 03's ConvLSTM next-frame predictor (10 frames of 32x32 in, all 19 next out)."""
    model = hybrids.build_predictor("ConvLSTM", 0)
    model.compile(keras.optimizers.Adam(1e-3, clipnorm=1.0), "binary_crossentropy", **compile_options)  # fmt: skip
    return model


def hybrid_gan(**compile_options):
    """Notebook 03's conditional hybrid LSTM + CNN generator against a DCGAN discriminator."""
    model = gan.GAN(
        networks.hybrid_generator(32, (28, 28, 1), 10),
        networks.dcgan_discriminator((28, 28, 1), 10, width=32, minibatch_std=True),
        32, loss="lsgan", num_classes=10, seed=0,
    )  # fmt: skip
    model.compile(keras.optimizers.Adam(1e-3, beta_1=0.5), keras.optimizers.Adam(1e-3, beta_1=0.5),
                  **compile_options)  # fmt: skip
    return model


def lstm_d_gan(**compile_options):
    """Notebook 04's DCGAN generator against a row-LSTM discriminator of the CNN's size."""
    units = networks.row_lstm_units(networks.dcgan_discriminator(width=16).count_params())
    model = gan.GAN(
        networks.dcgan_generator(32, width=32), networks.row_lstm_discriminator(units=units), 32,
        seed=0,
    )  # fmt: skip
    model.compile(**compile_options)
    return model


def row_lstm_detector(**compile_options):
    """Notebook 04's row-LSTM detector, compiled as `detection.train_detector` does."""
    units = networks.row_lstm_units(networks.dcgan_discriminator(width=16).count_params())
    model = networks.row_lstm_discriminator(units=units)
    model.compile(keras.optimizers.Adam(2e-3), keras.losses.BinaryCrossentropy(from_logits=True),
                  **compile_options)  # fmt: skip
    return model


def codec(**compile_options):
    """Notebook 05's codec at the shipped weights' widths (16 iterations), Adam 5e-4, with the
    L1 loss on 32x32 crops as in every earlier record (the MS-SSIM loss needs 48x48)."""
    model = ResidualLSTMCodec(**{**model_info()["config"], "loss": "l1"})
    model.compile(keras.optimizers.Adam(5e-4), **compile_options)
    return model


def digits(n, rng):
    return rng.random((n, 28, 28, 1)).astype("float32")


def labelled_digits(n, rng):
    return digits(n, rng), rng.integers(0, 10, n)


def sequences(n, rng):
    frames = rng.random((n, 20, 32, 32, 1)).astype("float32")
    return frames[:, :10], frames[:, 1:]


def real_or_fake(n, rng):
    return digits(n, rng), (rng.random(n) > 0.5).astype("float32")


def patches(n, rng):
    return rng.random((n, 32, 32, 3)).astype("float32")


# name: (build(**compile options), data(n, rng), batch size as in the notebook, batches per
# timed pass, and "fit" or "steps" (train_on_batch): passes of a few seconds on a 2-core CPU)
MODELS = {
    "DLSTM VAE-GAN (01)": (dlstm, labelled_digits, 64, 8, "fit"),
    "MLP GAN (02)": (from_zoo("GAN"), digits, 64, 32, "fit"),
    "DCGAN (02)": (from_zoo("DCGAN"), digits, 64, 16, "fit"),
    "VAE (02)": (from_zoo("VAE"), digits, 64, 32, "fit"),
    "ConvLSTM predictor (03)": (convlstm_predictor, sequences, 32, 8, "fit"),
    "hybrid GAN (03)": (hybrid_gan, labelled_digits, 32, 8, "fit"),
    "LSTM-discriminator GAN (04)": (lstm_d_gan, digits, 64, 16, "fit"),
    "row-LSTM detector (04)": (row_lstm_detector, real_or_fake, 64, 16, "fit"),
    "codec (05)": (codec, patches, 32, 3, "steps"),
}


def one_pass(model, data, batch_size, batches, how):
    """A callable that trains `model` on `batches` batches of `data` (fit, or train_on_batch)."""
    if how == "steps":
        return lambda: [model.train_on_batch(data[:batch_size]) for _ in range(batches)]
    x, y = data if isinstance(data, tuple) else (data, None)
    if isinstance(model, (gan.GAN, vae.VAE)) and y is not None:  # conditional: fit((x, labels))
        x, y = (x, y), None
    return lambda: model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0, shuffle=False)


def rounded(values):
    return {key: round(value, 4) for key, value in spread(values)._asdict().items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--batches", type=int, help="batches per timed pass (default: per model)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # one traced step per variant
    out = results_dir(quick=False) / "training_speed.json"
    report = json.loads(out.read_text()) if out.exists() else {}
    rng = np.random.default_rng(0)
    for name in args.models:
        build, make_data, batch_size, batches, how = MODELS[name]
        batches = args.batches or batches
        data = make_data(batch_size * batches, rng)
        variants = {v: o for v, o in VARIANTS.items() if how == "fit" or "steps_per_execution" not in o}  # fmt: skip
        passes, first = {}, {}
        for variant, options in variants.items():
            keras.utils.set_random_seed(0)
            passes[variant] = one_pass(build(**options), data, batch_size, batches, how)
            start = time.perf_counter()
            passes[variant]()  # traces and compiles
            first[variant] = time.perf_counter() - start
        seconds = interleaved(passes, args.rounds)
        examples = batch_size * batches
        entry = {"batch_size": batch_size, "batches_per_pass": batches, "rounds": args.rounds,
                 "first_pass_seconds": {v: round(s, 2) for v, s in first.items()},
                 "examples_per_second": {v: rounded([examples / s for s in t]) for v, t in seconds.items()},
                 "time_over_as_built": {}, "faster_than_as_built": {}}  # fmt: skip
        print(f"{name}: batch {batch_size}, {batches} batches per pass, {args.rounds} rounds")
        for variant in variants:
            rate = spread([examples / s for s in seconds[variant]])
            line = f"  {variant:24s} first pass {first[variant]:6.1f} s, {rate} examples/s"
            if variant != "as built":
                ratio = ratios(seconds[variant], seconds["as built"])
                faster = {"met": "yes", "not met": "no"}.get(judge(ratio, 1.0), "inside the noise")
                entry["time_over_as_built"][variant] = rounded(ratio)
                entry["faster_than_as_built"][variant] = faster
                line += f"; time / as built {spread(ratio)}, faster: {faster}"
            print(line, flush=True)
        report[name] = entry
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
