"""Real-vs-fake detection for notebook 04 (Somasekar & Naveen 2021): train a detector, score it, keep snapshots.

A detector is any network from `keraslstm.networks` with one logit out (positive: real), e.g.
`dcgan_discriminator` or `row_lstm_discriminator`, trained from scratch with binary
cross-entropy on a labelled mix of real images (label 1) and generated ones (label 0).
`GeneratorSnapshots` keeps a GAN generator's weights at chosen epochs, so that one training run
yields easy (early), medium and hard (late) fakes.
"""

import keras
import numpy as np
from sklearn.metrics import roc_auc_score

from keraslstm.optimizers import compile_built

__all__ = [
    "GeneratorSnapshots",
    "real_vs_fake",
    "train_detector",
    "train_to_convergence",
    "detection_scores",
    "detector_curve",
    "row_logits",
]


class GeneratorSnapshots(keras.callbacks.Callback):
    """Keeps `model.generator`'s weights after each epoch in `epochs` (1-based) in `weights`."""

    def __init__(self, epochs):
        super().__init__()
        self.epochs = sorted(int(e) for e in epochs)
        self.weights = {}

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 in self.epochs:
            self.weights[epoch + 1] = self.model.generator.get_weights()


def real_vs_fake(real, fake, seed=0):
    """Real (label 1) and fake (label 0) images, shuffled together: `(x, y)` with y float32."""
    real, fake = np.asarray(real, "float32"), np.asarray(fake, "float32")
    if real.shape[1:] != fake.shape[1:]:
        raise ValueError(
            f"real and fake images differ in shape: {real.shape[1:]} vs {fake.shape[1:]}"
        )
    x = np.concatenate([real, fake])
    y = np.r_[np.ones(len(real)), np.zeros(len(fake))].astype("float32")
    order = np.random.default_rng(seed).permutation(len(x))
    return x[order], y[order]


def _compile(model, learning_rate, seed):
    # every detector: seeded, Adam, binary cross-entropy on its logit
    keras.utils.set_random_seed(seed)
    compile_built(
        model,
        keras.optimizers.Adam(learning_rate),
        keras.losses.BinaryCrossentropy(from_logits=True),
    )


def train_detector(model, x, y, epochs=10, batch_size=32, learning_rate=2e-3, seed=0, callbacks=()):
    """Fit `model` (one logit, positive means real) with Adam and binary cross-entropy.

    Returns the per-epoch training losses. Seeds Keras's shuffling and dropout with `seed`;
    `callbacks` go to `fit` (e.g. `keraslstm.timing.Throughput(len(x))`).
    """
    _compile(model, learning_rate, seed)
    history = model.fit(
        x, y, epochs=epochs, batch_size=batch_size, verbose=0, shuffle=True,
        callbacks=list(callbacks),
    )  # fmt: skip
    return history.history["loss"]


def train_to_convergence(model, x, y, validation, max_epochs=200, patience=10, batch_size=32,
                         learning_rate=2e-3, seed=0, min_delta=1e-3):  # fmt: skip
    """Fit as `train_detector` does until the loss on `validation` (`(x_val, y_val)`) has not
    improved by more than `min_delta` nats for `patience` epochs, then keep the best epoch's weights.

    A detector judged after a fixed few epochs measures how fast it learns, not how well it
    detects. `min_delta` stops a detector that already separates the validation images from
    polishing its confidence (a loss creeping toward 0) until the cap. Returns the per-epoch
    "loss" and "val_loss" and the kept "best_epoch" (1-based).
    """
    x_val, y_val = validation
    if len(x_val) == 0 or len(x_val) != len(y_val):
        raise ValueError(f"validation needs images and as many labels, got {len(x_val)} and {len(y_val)}")  # fmt: skip
    if np.shape(x_val)[1:] != np.shape(x)[1:]:
        raise ValueError(f"validation images are {np.shape(x_val)[1:]}, training images {np.shape(x)[1:]}")  # fmt: skip
    if patience < 1 or max_epochs < 1:
        raise ValueError(f"patience and max_epochs must be at least 1, got {patience} and {max_epochs}")  # fmt: skip
    _compile(model, learning_rate, seed)
    stop = keras.callbacks.EarlyStopping(
        patience=patience, min_delta=min_delta, restore_best_weights=True
    )
    history = model.fit(
        x, y, validation_data=(np.asarray(x_val, "float32"), np.asarray(y_val, "float32")),
        epochs=max_epochs, batch_size=batch_size, verbose=0, shuffle=True, callbacks=[stop],
    )  # fmt: skip
    return {**history.history, "best_epoch": stop.best_epoch + 1}


def detection_scores(model, x, y):
    """Accuracy (logit > 0 read as real) and ROC AUC of a detector on labelled images.

    Calls the model directly rather than through `predict`, which would trace a new function
    for every freshly built detector.
    """
    logits = keras.ops.convert_to_numpy(model(np.asarray(x, "float32"), training=False))
    logits = logits.reshape(-1)
    y = np.asarray(y).reshape(-1)
    accuracy = float(np.mean((logits > 0) == (y > 0.5)))
    return {"accuracy": accuracy, "auc": float(roc_auc_score(y, logits))}


def _train_and_score(context, name, build, data, seed, training):
    # one run of detector_curve, importable so that worker processes can call it
    x, y, validation, x_test, y_test = data
    keras.utils.set_random_seed(seed)  # the initial weights too, in any order and any process
    model = build()
    history = train_to_convergence(model, x, y, validation, seed=seed, **training)
    scores = detection_scores(model, x_test, y_test)
    return {"model": name, **scores, "best_epoch": history["best_epoch"],
            "loss": history["loss"], "val_loss": history["val_loss"]}  # fmt: skip


def detector_curve(builders, real, fakes, sizes, seeds, test_size=100, workers=1, progress=None,
                   **training):  # fmt: skip
    """Accuracy and ROC AUC of each detector against training-set size: the learning curve.

    `builders` maps a model name to `build()`, which returns a fresh one-logit detector (a
    `functools.partial` of a `keraslstm.networks` builder pickles, so it also runs in worker
    processes); `fakes` maps a generator stage to its fake images. For every stage, size, seed
    and model: `size` real and `size` fake training images and `max(5, size // 4)` of each for
    validation are drawn from the pools (seeded), the detector trains to convergence
    (`train_to_convergence`, `training` passed on), and is scored on `test_size` real and
    `test_size` fake images held out of every draw. The runs go to `workers` processes
    (`keraslstm.parallel.map_runs`); `progress(iterator, total)` wraps the finished runs.
    Returns one row per run: stage, train_size (a class), model, seed, accuracy, auc, best_epoch,
    and the per-epoch "loss" and "val_loss" of its training.
    """
    from keraslstm.parallel import map_runs

    real = np.asarray(real, "float32")
    jobs, keys = [], []
    for stage, fake in fakes.items():
        fake = np.asarray(fake, "float32")
        needed = test_size + max(sizes) + max(5, max(sizes) // 4)
        if min(len(real), len(fake)) < needed:
            raise ValueError(f"stage {stage!r}: {len(real)} real and {len(fake)} fake images, each pool needs {needed} (test, train and validation)")  # fmt: skip
        x_test, y_test = real_vs_fake(real[:test_size], fake[:test_size])
        for size in sizes:
            for seed in seeds:
                rng = np.random.default_rng(seed)
                pick_real = test_size + rng.permutation(len(real) - test_size)
                pick_fake = test_size + rng.permutation(len(fake) - test_size)
                n_val = max(5, size // 4)
                x, y = real_vs_fake(real[pick_real[:size]], fake[pick_fake[:size]], seed)
                val = real_vs_fake(real[pick_real[size : size + n_val]], fake[pick_fake[size : size + n_val]], seed)  # fmt: skip
                for name, build in builders.items():
                    jobs.append((name, build, (x, y, val, x_test, y_test), seed, training))
                    keys.append({"stage": stage, "train_size": size, "seed": seed})
    done = map_runs(_train_and_score, jobs, workers, cost=lambda *job: len(job[2][0]), progress=progress)  # fmt: skip
    return [{**key, **row} for key, row in zip(keys, done, strict=True)]


def row_logits(model, images):
    """The logit a row-reading detector would give after each row: `(n, height)`.

    For a `networks.row_lstm_discriminator` (one direction): its LSTM cell reads the rows as in
    the model, and its dense head is applied to the hidden state after every row instead of only
    the last, so the last column equals the model's logit. Shows how the verdict builds up.
    """
    try:
        rows, lstm, head = (model.get_layer(n) for n in ("rows", "row_lstm", "logit"))
    except ValueError as error:
        raise ValueError(f"row_logits needs a one-direction row_lstm_discriminator: {error}") from None  # fmt: skip
    reader = keras.layers.RNN(lstm.cell, return_sequences=True)
    states = reader(rows(np.asarray(images, "float32")))
    return keras.ops.convert_to_numpy(head(states))[..., 0]
