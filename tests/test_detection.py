"""keraslstm.detection: training real-vs-fake detectors and scoring them."""

import keras
import numpy as np
import pytest

from keraslstm import detection, gan, networks, timing

SHAPE = (12, 12, 1)


def _detector(kind):
    keras.utils.set_random_seed(0)
    if kind == "cnn":
        return networks.dcgan_discriminator(SHAPE, width=4)
    return networks.row_lstm_discriminator(SHAPE, units=8)


def test_real_vs_fake_labels_and_shuffles():
    real, fake = np.ones((5, *SHAPE)), np.zeros((3, *SHAPE))
    x, y = detection.real_vs_fake(real, fake, seed=0)
    assert x.shape == (8, *SHAPE) and y.dtype == np.float32
    np.testing.assert_array_equal(x.reshape(8, -1).mean(axis=1), y)  # label 1 exactly for the real
    assert y.tolist() != sorted(y.tolist(), reverse=True)
    with pytest.raises(ValueError, match="differ in shape"):
        detection.real_vs_fake(real, np.zeros((3, 12, 12, 3)))


@pytest.mark.parametrize("kind", ["cnn", "lstm"])
def test_a_training_step_lowers_the_loss(kind):
    rng = np.random.default_rng(0)
    x, y = detection.real_vs_fake(rng.random((16, *SHAPE)), rng.random((16, *SHAPE)) ** 3)
    model = _detector(kind)
    loss = keras.losses.BinaryCrossentropy(from_logits=True)
    before = float(loss(y, model(x)))
    detection.train_detector(model, x, y, epochs=1, batch_size=32)  # one step on the full batch
    assert float(loss(y, model(x))) < before


@pytest.mark.parametrize("kind", ["cnn", "lstm"])
def test_detectors_separate_trivially_different_sets(kind):
    """Bright noise against dark noise: any working detector gets near 1 on new samples."""
    rng = np.random.default_rng(1)
    bright = lambda n: 0.6 + 0.4 * rng.random((n, *SHAPE))  # noqa: E731
    dark = lambda n: 0.4 * rng.random((n, *SHAPE))  # noqa: E731
    x, y = detection.real_vs_fake(bright(200), dark(200), seed=1)
    x_test, y_test = detection.real_vs_fake(bright(100), dark(100), seed=2)
    model = _detector(kind)
    speed = timing.Throughput(len(x))
    detection.train_detector(model, x, y, epochs=5, batch_size=32, callbacks=[speed])
    assert len(speed.rates) == 5  # the callbacks reach fit
    scores = detection.detection_scores(model, x_test, y_test)
    assert scores["accuracy"] >= 0.97 and scores["auc"] >= 0.99


def test_detection_scores_against_hand_values():
    class Fixed(keras.Model):
        def call(self, x, training=False):
            return keras.ops.convert_to_tensor([[2.0], [-1.0], [0.5], [-3.0]])

    y = np.array([1, 1, 0, 0], "float32")  # logits > 0: right, wrong, wrong, right
    scores = detection.detection_scores(Fixed(), np.zeros((4, 2)), y)
    assert scores["accuracy"] == 0.5
    assert scores["auc"] == 0.75  # 3 of the 4 real-fake pairs are ordered correctly


def test_generator_snapshots_keep_the_chosen_epochs():
    keras.utils.set_random_seed(0)
    model = gan.GAN(
        networks.dcgan_generator(4, SHAPE, width=4),
        networks.row_lstm_discriminator(SHAPE, units=4),
        latent_dim=4,
        seed=0,
    )
    model.compile()
    snapshots = detection.GeneratorSnapshots([1, 3])
    images = np.random.default_rng(0).random((16, *SHAPE)).astype("float32")
    model.fit(images, epochs=3, batch_size=8, verbose=0, callbacks=[snapshots])
    assert sorted(snapshots.weights) == [1, 3]
    final = model.generator.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(snapshots.weights[3], final, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(snapshots.weights[1], final, strict=True))


def test_training_to_convergence_stops_and_keeps_the_best_epoch():
    # random labels: nothing to learn, so the validation loss soon rises and training stops
    rng = np.random.default_rng(0)
    x, y = rng.random((64, *SHAPE)).astype("float32"), rng.integers(0, 2, 64).astype("float32")
    x_val, y_val = (
        rng.random((32, *SHAPE)).astype("float32"),
        rng.integers(0, 2, 32).astype("float32"),
    )
    model = _detector("cnn")
    history = detection.train_to_convergence(
        model, x, y, (x_val, y_val), max_epochs=60, patience=3, min_delta=0.0
    )
    assert len(history["val_loss"]) < 60 and len(history["loss"]) == len(history["val_loss"])
    assert history["best_epoch"] == int(np.argmin(history["val_loss"])) + 1
    assert (
        len(history["val_loss"]) == history["best_epoch"] + 3
    )  # stopped after 3 epochs without gain
    loss = keras.losses.BinaryCrossentropy(from_logits=True)
    kept = float(loss(y_val, model(x_val, training=False)))
    np.testing.assert_allclose(
        kept, min(history["val_loss"]), rtol=1e-4
    )  # the best weights, restored


def test_training_to_convergence_ignores_gains_under_min_delta():
    # separable images: the validation loss creeps toward 0 for many epochs after the detector
    # has separated them; only gains over min_delta count, as the rule written out below says
    rng = np.random.default_rng(0)
    x = rng.random((64, *SHAPE)).astype("float32")
    y = np.r_[np.ones(32), np.zeros(32)].astype("float32")
    x[:32, 2:6, 2:6] += 1.0
    validation = (x[::2] + 0.01, y[::2])
    runs = {}
    for min_delta in (0.0, 0.02):
        runs[min_delta] = detection.train_to_convergence(
            _detector("cnn"), x, y, validation, max_epochs=80, patience=3, min_delta=min_delta, learning_rate=1e-2
        )  # fmt: skip
    history = runs[0.02]
    best, best_epoch, wait = np.inf, 0, 0
    for epoch, value in enumerate(history["val_loss"], start=1):
        if value < best - 0.02:
            best, best_epoch, wait = value, epoch, 0
        else:
            wait += 1
    assert history["best_epoch"] == best_epoch and wait == 3
    assert len(history["val_loss"]) < len(runs[0.0]["val_loss"])


def test_training_to_convergence_names_bad_validation_data():
    x, y = np.zeros((4, *SHAPE), "float32"), np.zeros(4, "float32")
    model = _detector("cnn")
    with pytest.raises(ValueError, match="as many labels"):
        detection.train_to_convergence(model, x, y, (x, y[:2]))
    with pytest.raises(ValueError, match="validation images are"):
        detection.train_to_convergence(model, x, y, (np.zeros((4, 6, 6, 1)), y))
    with pytest.raises(ValueError, match="patience and max_epochs"):
        detection.train_to_convergence(model, x, y, (x, y), patience=0)


def test_detector_curve_learns_more_from_more_images():
    # real: a bright square on noise; fake: noise only. Held-out test images never train.
    rng = np.random.default_rng(0)
    noise = rng.random((2, 90, *SHAPE)).astype("float32") * 0.8
    real, fake = noise[0].copy(), noise[1]
    real[:, 3:9, 3:9] += 0.2  # faint: two examples a class cannot show it reliably
    builders = {"cnn": lambda: _detector("cnn")}
    rows = detection.detector_curve(builders, real, {"early": fake}, sizes=(2, 40), seeds=(0, 1),
                                    test_size=30, max_epochs=40, patience=4, learning_rate=1e-2)  # fmt: skip
    assert [(r["train_size"], r["seed"]) for r in rows] == [(2, 0), (2, 1), (40, 0), (40, 1)]
    assert {r["stage"] for r in rows} == {"early"} and all(0 <= r["auc"] <= 1 for r in rows)
    for r in rows:  # the loss curves of each run, kept to the early stop
        assert len(r["loss"]) == len(r["val_loss"]) >= r["best_epoch"] >= 1
    small = np.mean([r["auc"] for r in rows if r["train_size"] == 2])
    large = np.mean([r["auc"] for r in rows if r["train_size"] == 40])
    assert large > 0.95 and large > small
    with pytest.raises(ValueError, match="each pool needs 87"):
        detection.detector_curve(
            builders, real, {"early": fake[:80]}, sizes=(50,), seeds=(0,), test_size=25
        )


def test_detector_curve_runs_the_same_in_worker_processes():
    from functools import partial

    rng = np.random.default_rng(1)
    real, fake = rng.random((2, 40, *SHAPE)).astype("float32")
    real[:, :4] += 0.5
    builders = {"cnn": partial(networks.dcgan_discriminator, SHAPE, width=4),
                "lstm": partial(networks.row_lstm_discriminator, SHAPE, units=4)}  # fmt: skip
    args = (builders, real, {"late": fake}, (8,), (0, 1))
    here = detection.detector_curve(*args, test_size=10, max_epochs=3, patience=2)
    there = detection.detector_curve(*args, test_size=10, workers=2, max_epochs=3, patience=2)
    assert [(r["model"], r["seed"]) for r in there] == [("cnn", 0), ("lstm", 0), ("cnn", 1), ("lstm", 1)]  # fmt: skip
    for a, b in zip(here, there, strict=True):  # seeded alike: one thread or several
        assert a["best_epoch"] == b["best_epoch"]
        np.testing.assert_allclose([a["auc"], *a["loss"]], [b["auc"], *b["loss"]], rtol=1e-3)


def test_row_logits_end_at_the_models_logit_and_follow_the_gate_equations():
    keras.utils.set_random_seed(0)
    model = networks.row_lstm_discriminator(SHAPE, units=5, gate="sigmoid")
    images = np.random.default_rng(0).random((3, *SHAPE)).astype("float32")
    running = detection.row_logits(model, images)
    assert running.shape == (3, SHAPE[0])
    np.testing.assert_allclose(running[:, -1], np.asarray(model(images)).ravel(), rtol=1e-5, atol=1e-6)  # fmt: skip
    # independent reference: the LSTM in NumPy, the head read after every row
    kernel, recurrent, bias = model.get_layer("row_lstm").cell.get_weights()
    w, b = model.get_layer("logit").get_weights()
    sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    h = c = np.zeros((3, 5))
    for t in range(SHAPE[0]):
        z = images[:, t].reshape(3, -1) @ kernel + h @ recurrent + bias
        i, f, g, o = np.split(z, 4, axis=-1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        np.testing.assert_allclose(running[:, t], (h @ w + b).ravel(), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="one-direction row_lstm_discriminator"):
        detection.row_logits(networks.dcgan_discriminator(SHAPE, width=4), images)
