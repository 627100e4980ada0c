"""keraslstm.gan: each loss variant trains, the gradient penalty, conditioning, saving."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from keraslstm import gan, networks

IMAGES = np.random.default_rng(4).random((16, 8, 8, 1)).astype("float32")  # read-only


def _toy_gan(loss, num_classes=None, **options):
    keras.utils.set_random_seed(0)
    model = gan.GAN(
        networks.mlp_generator(4, (8, 8, 1), num_classes, width=16),
        networks.mlp_discriminator((8, 8, 1), num_classes, width=16),
        latent_dim=4,
        loss=loss,
        num_classes=num_classes,
        seed=0,
        **options,
    )
    model.compile(keras.optimizers.SGD(0.005), keras.optimizers.SGD(0.005))
    return model


def _fixed_noise(model, n=16):
    z = keras.random.normal((n, 4), seed=1)
    model._noise = lambda _: z  # the same fakes before and after a step
    return z


@pytest.mark.parametrize("loss", gan.LOSSES)
def test_a_discriminator_step_lowers_its_loss(loss, monkeypatch):
    # the same penalty points too, so that two WGAN-GP critic losses are comparable
    monkeypatch.setattr(gan, "interpolates", lambda real, fake, seed=None: 0.5 * (real + fake))
    model = _toy_gan(loss)
    _fixed_noise(model)
    before = float(model.d_step(IMAGES))
    after = float(model.d_step(IMAGES))
    assert after < before


@pytest.mark.parametrize("loss", gan.LOSSES)
def test_a_generator_step_lowers_its_loss(loss):
    model = _toy_gan(loss)
    _fixed_noise(model)
    before = float(model.g_step(16))
    after = float(model.g_step(16))
    assert after < before


REAL_LOGITS, FAKE_LOGITS = np.array([2.0, 0.0]), np.array([-1.0, 1.0])


def _softplus(x):
    return np.log1p(np.exp(x))


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# (discriminator loss, generator loss) written out from each paper, on D = sigmoid(logit) where
# the paper uses probabilities; the WGAN-GP penalty is tested separately below.
HAND_VALUES = {
    "minimax": (
        -np.mean(np.log(_sigmoid(REAL_LOGITS))) - np.mean(np.log(1 - _sigmoid(FAKE_LOGITS))),
        np.mean(np.log(1 - _sigmoid(FAKE_LOGITS))),
    ),
    "non_saturating": (
        -np.mean(np.log(_sigmoid(REAL_LOGITS))) - np.mean(np.log(1 - _sigmoid(FAKE_LOGITS))),
        -np.mean(np.log(_sigmoid(FAKE_LOGITS))),
    ),
    "lsgan": (0.5 * ((2 - 1) ** 2 + (0 - 1) ** 2) / 2 + 0.5 * (1 + 1) / 2, 0.5 * (4 + 0) / 2),
    "wgan_gp": ((-1 + 1) / 2 - (2 + 0) / 2, -(-1 + 1) / 2),
}
HAND_VALUES["non_saturating_gp"] = HAND_VALUES["non_saturating"]  # the penalty is added by the step


@pytest.mark.parametrize("loss", gan.LOSSES)
def test_each_loss_pair_against_hand_values(loss):
    real, fake = (
        ops.convert_to_tensor(REAL_LOGITS[:, None]),
        ops.convert_to_tensor(FAKE_LOGITS[:, None]),
    )
    d_expected, g_expected = HAND_VALUES[loss]
    assert float(gan.LOSSES[loss].discriminator(real, fake)) == pytest.approx(d_expected, rel=1e-5)
    assert float(gan.LOSSES[loss].generator(fake)) == pytest.approx(g_expected, rel=1e-5, abs=1e-7)
    # the by-name functions read the same table
    assert float(gan.discriminator_loss(loss, real, fake)) == pytest.approx(d_expected, rel=1e-5)
    assert float(gan.generator_loss(loss, fake)) == pytest.approx(g_expected, rel=1e-5, abs=1e-7)


def test_only_the_penalised_variants_carry_the_gradient_penalty():
    penalised = ("wgan_gp", "non_saturating_gp")
    assert all(gan.LOSSES[k].penalty is gan.gradient_penalty for k in penalised)
    assert all(v.penalty is None for k, v in gan.LOSSES.items() if k not in penalised)


def test_an_unknown_loss_lists_the_valid_ones():
    with pytest.raises(ValueError, match="Unknown GAN loss 'hinge'; valid: 'minimax'"):
        gan.generator_loss("hinge", ops.convert_to_tensor([[0.0]]))
    with pytest.raises(ValueError, match="Unknown GAN loss 'hinge'"):
        _toy_gan("hinge")


def test_interpolates_lie_on_the_segments_between_real_and_fake():
    rng = np.random.default_rng(0)
    real = tf.constant(rng.random((50, 3, 3, 1)).astype("float32"))
    fake = tf.constant(rng.random((50, 3, 3, 1)).astype("float32"))
    points = gan.interpolates(real, fake, seed=keras.random.SeedGenerator(0)).numpy()
    alpha = (points - real.numpy()) / (fake.numpy() - real.numpy())
    assert np.allclose(alpha, alpha[:, :1, :1, :1], atol=1e-4)  # one weight per sample
    assert 0 <= alpha.min() and alpha.max() <= 1 and alpha.std() > 0.1


def test_gradient_penalty_of_a_linear_critic_is_known():
    rng = np.random.default_rng(0)
    w = tf.constant(rng.normal(size=(4, 1)).astype("float32"))
    points = tf.constant(rng.normal(size=(8, 4)).astype("float32"))
    expected = (np.linalg.norm(w.numpy()) - 1.0) ** 2
    assert float(gan.gradient_penalty(lambda p: p @ w, points)) == pytest.approx(expected, rel=1e-5)
    unit = w / tf.norm(w)
    assert float(gan.gradient_penalty(lambda p: p @ unit, points)) == pytest.approx(0.0, abs=1e-8)


def test_wgan_gp_penalises_the_critic_on_interpolates(monkeypatch):
    seen = []

    def spy(critic_fn, points):
        seen.append(points)
        return gan.gradient_penalty(critic_fn, points)

    wgan_gp = dataclasses.replace(gan.LOSSES["wgan_gp"], penalty=spy)
    monkeypatch.setitem(gan.LOSSES, "wgan_gp", wgan_gp)
    model = _toy_gan("wgan_gp")
    z = _fixed_noise(model)
    model.d_step(IMAGES)
    fake = model(z, training=True).numpy()
    alpha = (seen[0].numpy() - IMAGES) / (fake - IMAGES)
    assert np.allclose(alpha, np.median(alpha, axis=(1, 2, 3), keepdims=True), atol=2e-2)


def test_fit_tracks_both_losses_and_conditioning_needs_labels():
    model = _toy_gan("lsgan", num_classes=3)
    labels = np.random.default_rng(0).integers(3, size=16)
    history = model.fit((IMAGES, labels), epochs=2, batch_size=8, verbose=0)
    assert set(history.history) == {"d_loss", "g_loss"} and len(history.history["g_loss"]) == 2
    assert model.generate(5, labels=[0, 1, 2, 0, 1]).shape == (5, 8, 8, 1)
    with pytest.raises(ValueError, match="conditional: pass integer labels"):
        model.generate(5)


def test_dcgan_networks_and_sample_grid_callback():
    generator = networks.dcgan_generator(8, (28, 28, 1), num_classes=10, width=8)
    discriminator = networks.dcgan_discriminator((28, 28, 1), num_classes=10, width=8)
    model = gan.GAN(generator, discriminator, 8, loss="wgan_gp", num_classes=10, d_steps=2)
    model.compile()
    grid = gan.SampleGrid(n=12)
    x = np.random.default_rng(0).random((8, 28, 28, 1)).astype("float32")
    model.fit((x, np.arange(8)), epochs=2, batch_size=8, verbose=0, callbacks=[grid])
    assert len(grid.grids) == 2 and grid.grids[1].shape == (12, 28, 28, 1)
    assert 0 <= grid.grids[1].min() and grid.grids[1].max() <= 1
    # each epoch's grid: the same noise, rows asking for the classes in turn
    asked = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    np.testing.assert_array_equal(grid.grids[1], model.generate(12, labels=asked, seed=0))
    assert not np.array_equal(grid.grids[1], model.generate(12, labels=[0] * 12, seed=0))
    with pytest.raises(ValueError, match="divisible by 4, got 25"):
        networks.dcgan_generator(8, (25, 25, 1))


def test_gan_round_trips_through_keras_file(tmp_path):
    model = _toy_gan("non_saturating", num_classes=3)
    labels = np.random.default_rng(0).integers(3, size=16)
    model.fit((IMAGES, labels), epochs=1, batch_size=8, verbose=0)
    model.save(tmp_path / "gan.keras")
    loaded = keras.models.load_model(tmp_path / "gan.keras")
    assert loaded.loss_kind == "non_saturating" and loaded.num_classes == 3
    np.testing.assert_array_equal(
        loaded.generate(4, labels=[0, 1, 2, 0]), model.generate(4, labels=[0, 1, 2, 0])
    )


@pytest.mark.parametrize("d_steps", [1, 3])
def test_d_steps_discriminator_updates_per_generator_update(d_steps):
    model = _toy_gan("wgan_gp", d_steps=d_steps)
    model.fit(IMAGES, epochs=2, batch_size=16, verbose=0)  # two batches
    assert int(model.d_optimizer.iterations) == 2 * d_steps
    assert int(model.g_optimizer.iterations) == 2


def test_gp_weight_scales_the_penalty_in_the_critic_loss(monkeypatch):
    monkeypatch.setattr(gan, "interpolates", lambda real, fake, seed=None: 0.5 * (real + fake))
    losses = {}
    for weight in (0.0, 10.0):
        model = _toy_gan("wgan_gp", gp_weight=weight)
        _fixed_noise(model)
        losses[weight] = float(model.d_step(IMAGES))
    model = _toy_gan("wgan_gp")  # the same initial weights: the critic before its first step
    points = 0.5 * (IMAGES + model(_fixed_noise(model), training=True))
    critic = lambda p: model.discriminator(p, training=True)  # noqa: E731
    penalty = float(gan.gradient_penalty(critic, points))
    assert penalty > 0.01
    assert losses[10.0] - losses[0.0] == pytest.approx(10.0 * penalty, rel=1e-4)


def _halves(n, rng):
    """8x8 images of class 0 (top half bright) or 1 (bottom half bright), with noise."""
    labels = rng.integers(2, size=n)
    images = rng.uniform(0.0, 0.3, size=(n, 8, 8, 1))
    for k, label in enumerate(labels):
        images[k, 4 * label : 4 * label + 4] += 0.6
    return images.astype("float32"), labels


def _read_class(images):
    """An independent classifier: which half is brighter."""
    return (images[:, 4:].mean(axis=(1, 2, 3)) > images[:, :4].mean(axis=(1, 2, 3))).astype(int)


def test_conditional_samples_follow_the_asked_class():
    images, labels = _halves(512, np.random.default_rng(0))
    assert (_read_class(images) == labels).all()  # the reader is right on real data
    keras.utils.set_random_seed(0)
    model = gan.GAN(
        networks.mlp_generator(4, (8, 8, 1), 2, width=32),
        networks.mlp_discriminator((8, 8, 1), 2, width=32),
        latent_dim=4,
        loss="non_saturating",
        num_classes=2,
        seed=0,
    )
    model.compile(keras.optimizers.Adam(2e-3, beta_1=0.5), keras.optimizers.Adam(2e-3, beta_1=0.5))
    asked = np.arange(200) % 2
    z = np.random.default_rng(1).normal(size=(200, 4)).astype("float32")
    untrained = (_read_class(model.generate(labels=asked, z=z)) == asked).mean()
    model.fit((images, labels), epochs=30, batch_size=32, verbose=0)  # 480 steps, ~3 s
    samples = model.generate(labels=asked, z=z)
    swapped = model.generate(labels=1 - asked, z=z)  # same noise, the other label
    assert np.abs(samples - swapped).mean() > 0.3
    accuracy = (_read_class(samples) == asked).mean()
    assert untrained < 0.75 and accuracy > 0.9, (untrained, accuracy)  # chance is 0.5
