"""keraslstm.vae: the KL term, the loss, conditioning, depth, VAE-GAN, saving."""

import keras
import numpy as np
import pytest
from keras import ops

from keraslstm import networks, vae

IMAGES = (np.random.default_rng(5).random((32, 8, 8, 1)) > 0.5).astype("float32")  # read-only


def _toy_vae(beta=1.0, num_classes=None, hidden=(16,)):
    keras.utils.set_random_seed(0)
    model = vae.VAE(
        networks.mlp_encoder(2, (8, 8, 1), num_classes, hidden=hidden),
        networks.mlp_decoder(2, (8, 8, 1), num_classes, hidden=hidden[::-1]),
        latent_dim=2,
        beta=beta,
        num_classes=num_classes,
        seed=0,
    )
    model.compile(keras.optimizers.Adam(1e-2))
    return model


def test_kl_divergence_against_the_closed_form():
    mean = np.array([[0.0, 0.0], [1.0, -2.0]], dtype="float32")
    log_var = np.array([[0.0, 0.0], [np.log(4.0), 0.0]], dtype="float32")
    # KL(N(m, s^2) || N(0, 1)) = 0.5 (s^2 + m^2 - 1 - log s^2), summed over dimensions
    expected = [0.0, 0.5 * (4 + 1 - 1 - np.log(4)) + 0.5 * (1 + 4 - 1 - 0)]
    np.testing.assert_allclose(
        ops.convert_to_numpy(vae.kl_divergence(mean, log_var)), expected, rtol=1e-6
    )


def test_loss_is_reconstruction_plus_beta_kl():
    model = _toy_vae(beta=4.0)
    y_pred = model(IMAGES, training=True)
    reconstruction, mean, log_var = (ops.convert_to_numpy(t) for t in y_pred)
    p = np.clip(reconstruction, 1e-7, 1 - 1e-7)
    bce = -(IMAGES * np.log(p) + (1 - IMAGES) * np.log(1 - p)).sum(axis=(1, 2, 3))
    kl = ops.convert_to_numpy(vae.kl_divergence(mean, log_var))
    loss = float(model.compute_loss(IMAGES, y_pred=y_pred))
    assert loss == pytest.approx(np.mean(bce + 4.0 * kl), rel=1e-4)


@pytest.mark.parametrize(
    "num_classes, hidden", [(None, (16,)), (3, (16,)), (None, (32, 32, 16, 16))]
)
def test_training_lowers_the_loss_and_tracks_both_terms(num_classes, hidden):
    model = _toy_vae(num_classes=num_classes, hidden=hidden)
    data = (
        IMAGES if num_classes is None else (IMAGES, np.random.default_rng(0).integers(3, size=32))
    )
    history = model.fit(data, epochs=8, batch_size=16, verbose=0)
    assert {"loss", "reconstruction_loss", "kl_loss"} <= set(history.history)
    assert history.history["loss"][-1] < history.history["loss"][0]
    labels = None if num_classes is None else [0, 1, 2, 0]
    samples = model.generate(4, labels=labels)
    assert samples.shape == (4, 8, 8, 1) and 0 <= samples.min() and samples.max() <= 1


def test_larger_beta_gives_a_smaller_kl_term():
    kls = []
    for beta in (0.1, 10.0):
        model = _toy_vae(beta=beta)
        kls.append(model.fit(IMAGES, epochs=15, batch_size=16, verbose=0).history["kl_loss"][-1])
    assert kls[1] < kls[0]


def test_vaegan_trains_both_players_and_round_trips(tmp_path):
    keras.utils.set_random_seed(0)
    from keraslstm.networks import mlp_discriminator

    model = vae.VAEGAN(
        networks.mlp_encoder(2, (8, 8, 1), hidden=(16,)),
        networks.mlp_decoder(2, (8, 8, 1), hidden=(16,)),
        mlp_discriminator((8, 8, 1), width=8),
        latent_dim=2,
        seed=0,
    )
    model.compile()
    before = (
        [w.copy() for w in model.discriminator.get_weights()] if model.discriminator.built else None
    )
    history = model.fit(IMAGES, epochs=2, batch_size=16, verbose=0)
    assert set(history.history) == {"reconstruction_loss", "kl_loss", "d_loss", "g_loss"}
    assert before is not None and any(
        not np.array_equal(a, b)
        for a, b in zip(before, model.discriminator.get_weights(), strict=True)
    )
    model.save(tmp_path / "vaegan.keras")
    loaded = keras.models.load_model(tmp_path / "vaegan.keras")
    np.testing.assert_array_equal(loaded.generate(3), model.generate(3))


def _vaegan_step(adversarial_weight):
    """Encoder + decoder and discriminator weight changes after one plain-SGD train step."""
    from keraslstm.networks import mlp_discriminator

    keras.utils.set_random_seed(0)  # the same networks and draws for every weight
    model = vae.VAEGAN(
        networks.mlp_encoder(2, (8, 8, 1), hidden=(16,)),
        networks.mlp_decoder(2, (8, 8, 1), hidden=(16,)),
        mlp_discriminator((8, 8, 1), width=8),
        latent_dim=2,
        adversarial_weight=adversarial_weight,
        seed=0,
    )
    model.compile(keras.optimizers.SGD(0.05), keras.optimizers.SGD(0.05))
    model(IMAGES[:16])
    model.discriminator(IMAGES[:16])
    players = (model.encoder, model.decoder), (model.discriminator,)
    before = [[w.copy() for net in nets for w in net.get_weights()] for nets in players]
    model.train_step(ops.convert_to_tensor(IMAGES[:16]))
    after = [[w for net in nets for w in net.get_weights()] for nets in players]
    return [np.concatenate([(a - b).ravel() for a, b in zip(*pair, strict=True)]) for pair in zip(after, before, strict=True)]  # fmt: skip


def test_vaegan_update_is_linear_in_its_adversarial_weight():
    """SGD moves the encoder and decoder by -lr (gradient of reconstruction + beta KL + w times
    the adversarial term), so the move grows linearly with w: step(2) - step(0) = 2 (step(1) -
    step(0)); the discriminator's own step does not depend on w."""
    (vae_0, d_0), (vae_1, d_1), (vae_2, d_2) = (_vaegan_step(w) for w in (0.0, 1.0, 2.0))
    adversarial = vae_1 - vae_0
    assert np.linalg.norm(adversarial) > 0.01 * np.linalg.norm(vae_0)
    np.testing.assert_allclose(vae_2 - vae_0, 2 * adversarial, atol=1e-4 * np.abs(adversarial).max())  # fmt: skip
    np.testing.assert_allclose(d_1, d_0, atol=1e-7)
    np.testing.assert_allclose(d_2, d_0, atol=1e-7)


def test_vae_round_trips_through_keras_file(tmp_path):
    model = _toy_vae(beta=2.0, num_classes=3)
    model.fit(
        (IMAGES, np.random.default_rng(0).integers(3, size=32)), epochs=1, batch_size=16, verbose=0
    )
    model.save(tmp_path / "vae.keras")
    loaded = keras.models.load_model(tmp_path / "vae.keras")
    assert loaded.beta == 2.0
    np.testing.assert_array_equal(
        loaded.generate(3, labels=[0, 1, 2]), model.generate(3, labels=[0, 1, 2])
    )


def test_reconstruct_decodes_the_posterior_mean():
    model = _toy_vae(num_classes=3)
    images = np.random.default_rng(5).random((4, 8, 8, 1)).astype("float32")
    labels = np.array([0, 1, 2, 0])
    onehot = keras.ops.convert_to_tensor(np.eye(3, dtype="float32")[labels])
    z_mean, _ = model.encoder([keras.ops.convert_to_tensor(images), onehot])
    expected = keras.ops.convert_to_numpy(model.decoder([z_mean, onehot]))
    np.testing.assert_allclose(model.reconstruct(images, labels), expected, atol=1e-6)
    np.testing.assert_array_equal(
        model.reconstruct(images, labels), model.reconstruct(images, labels)
    )
    with pytest.raises(ValueError, match="conditional: pass integer labels"):
        model.reconstruct(images)


def _conv_vae(seed=0):
    keras.utils.set_random_seed(seed)
    model = vae.VAE(
        networks.dcgan_encoder(2, (8, 8, 1), width=4),
        networks.dcgan_generator(2, (8, 8, 1), width=4),
        latent_dim=2,
        seed=seed,
    )
    model.compile(keras.optimizers.Adam(1e-2))
    return model


def test_conv_vae_trains_and_round_trips(tmp_path):
    model = _conv_vae()
    history = model.fit(IMAGES, epochs=8, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    model.save(tmp_path / "conv_vae.keras")
    loaded = keras.models.load_model(tmp_path / "conv_vae.keras")
    np.testing.assert_allclose(
        loaded.reconstruct(IMAGES[:3]), model.reconstruct(IMAGES[:3]), atol=1e-6
    )
    samples = loaded.generate(3)
    assert samples.shape == (3, 8, 8, 1) and 0 <= samples.min() and samples.max() <= 1
