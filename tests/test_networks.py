"""keraslstm.networks: shapes, seeding, parameter counts, saving, and the LSTMs against NumPy.

The MLP and DCGAN builders are exercised in test_gan.py and test_vae.py.
"""

import keras
import numpy as np
import pytest
import scipy.special
from references import conv_same, leaky_relu

from keraslstm import gan, networks, vae
from keraslstm.scorers import digit_classifier

# Notebook 01: the row-reading LSTM encoder and its convolutional ablation.


# the compression paper's hard sigmoid, the cell's default gate
HARD_SIGMOID = lambda x: np.clip(0.2 * x + 0.5, 0.0, 1.0)  # noqa: E731


def _numpy_row_lstm(images, kernel, recurrent, bias, gate=HARD_SIGMOID):
    """Reference: the LSTM reading image rows, written out in NumPy (hard-sigmoid gates by default)."""
    rows = images.reshape(len(images), images.shape[1], -1)
    units = recurrent.shape[0]
    h = np.zeros((len(images), units))
    c = np.zeros((len(images), units))
    for t in range(rows.shape[1]):
        i, f, g, o = np.split(rows[:, t] @ kernel + h @ recurrent + bias, 4, axis=-1)
        c = gate(f) * c + gate(i) * np.tanh(g)
        h = gate(o) * np.tanh(c)
    return h


@pytest.mark.parametrize("num_classes", [None, 3])
def test_row_encoder_codes_what_an_lstm_reading_rows_computes(num_classes):
    keras.utils.set_random_seed(0)
    encoder = networks.lstm_row_encoder(4, (6, 5, 2), num_classes=num_classes, units=8)
    images = np.random.default_rng(1).random((3, 6, 5, 2)).astype("float32")
    inputs = images if num_classes is None else [images, np.eye(3, dtype="float32")[[0, 2, 1]]]
    z_mean, z_log_var = (keras.ops.convert_to_numpy(t) for t in encoder(inputs))
    assert z_mean.shape == z_log_var.shape == (3, 4)
    h = _numpy_row_lstm(images, *encoder.get_layer("row_lstm").get_weights())
    features = h if num_classes is None else np.concatenate([h, inputs[1]], axis=1)
    kernel, bias = encoder.get_layer("z_mean").get_weights()
    np.testing.assert_allclose(z_mean, features @ kernel + bias, atol=1e-5)


def test_reading_the_rows_in_another_order_gives_another_code():
    keras.utils.set_random_seed(0)
    encoder = networks.lstm_row_encoder(4, (6, 6, 1), units=8)
    images = np.random.default_rng(2).random((2, 6, 6, 1)).astype("float32")
    forward = keras.ops.convert_to_numpy(encoder(images)[0])
    upside_down = keras.ops.convert_to_numpy(encoder(images[:, ::-1])[0])
    assert np.abs(forward - upside_down).max() > 1e-3


def test_conv_ablation_has_about_the_lstm_encoders_weights():
    lstm = networks.lstm_row_encoder(16, num_classes=10, units=128).count_params()
    conv = networks.conv_encoder(16, num_classes=10).count_params()
    assert abs(conv - lstm) / lstm < 0.05, (lstm, conv)
    z_mean, _ = networks.conv_encoder(16, num_classes=10)(
        [np.zeros((2, 28, 28, 1)), np.zeros((2, 10))]
    )
    assert z_mean.shape == (2, 16)


@pytest.mark.parametrize("builder", [networks.lstm_row_encoder, networks.conv_encoder])
def test_builders_are_deterministic_for_a_seed(builder):
    weights = []
    for seed in (0, 0, 1):
        keras.utils.set_random_seed(seed)
        weights.append(builder(4, (8, 8, 1)).get_weights())
    same = all(np.array_equal(a, b) for a, b in zip(weights[0], weights[1], strict=True))
    other = all(np.array_equal(a, b) for a, b in zip(weights[0], weights[2], strict=True))
    assert same and not other


def _dlstm(seed=0):
    keras.utils.set_random_seed(seed)
    model = vae.VAEGAN(
        networks.lstm_row_encoder(4, (8, 8, 1), num_classes=2, units=16),
        networks.dcgan_generator(4, (8, 8, 1), num_classes=2, width=8),
        networks.dcgan_discriminator((8, 8, 1), num_classes=2, width=8),
        4,
        num_classes=2,
        seed=seed,
    )
    model.compile(keras.optimizers.Adam(3e-3))
    return model


def test_dlstm_training_lowers_the_reconstruction_loss():
    rng = np.random.default_rng(3)
    labels = rng.integers(2, size=64)
    images = np.zeros((64, 8, 8, 1), dtype="float32")
    images[labels == 0, :, :4] = 1.0  # class 0: left half lit; class 1: right half
    images[labels == 1, :, 4:] = 1.0
    history = _dlstm().fit((images, labels), epochs=10, batch_size=16, verbose=0).history
    losses = history["reconstruction_loss"]
    assert losses[-1] < 0.8 * losses[0], losses


def test_dlstm_round_trips_through_keras_file(tmp_path):
    model = _dlstm()
    images = np.random.default_rng(4).random((5, 8, 8, 1)).astype("float32")
    labels = np.array([0, 1, 0, 1, 1])
    model.fit((images, labels), epochs=1, batch_size=5, verbose=0)
    path = tmp_path / "dlstm.keras"
    model.save(path)
    restored = keras.models.load_model(path)
    np.testing.assert_allclose(
        restored.reconstruct(images, labels), model.reconstruct(images, labels), atol=1e-6
    )


# Notebook 04: the row-reading LSTM discriminator.


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3)])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_row_lstm_discriminator_gives_one_logit_per_image(shape, bidirectional):
    keras.utils.set_random_seed(0)
    model = networks.row_lstm_discriminator(shape, units=8, bidirectional=bidirectional)
    images = np.random.default_rng(0).random((5, *shape)).astype("float32")
    logits = keras.ops.convert_to_numpy(model(images))
    assert logits.shape == (5, 1)
    # the hard-sigmoid LSTM written out in NumPy: top to bottom, and bottom to top if bidirectional
    if bidirectional:
        reader = model.get_layer("row_bilstm")
        forward, backward = reader.forward_layer.cell, reader.backward_layer.cell
        h = np.concatenate([_numpy_row_lstm(images, *_weights(forward)),
                            _numpy_row_lstm(images[:, ::-1], *_weights(backward))], axis=1)  # fmt: skip
    else:
        h = _numpy_row_lstm(images, *_weights(model.get_layer("row_lstm").cell))
    kernel, bias = model.get_layer("logit").get_weights()
    np.testing.assert_allclose(logits, h @ kernel + bias, atol=1e-5)


def test_row_lstm_discriminator_takes_the_papers_sigmoid_gates():
    keras.utils.set_random_seed(0)
    model = networks.row_lstm_discriminator((10, 10, 1), units=6, gate="sigmoid")
    images = 4 * np.random.default_rng(2).random((4, 10, 10, 1)).astype("float32")  # gates past 2.5
    h = _numpy_row_lstm(
        images, *_weights(model.get_layer("row_lstm").cell), gate=scipy.special.expit
    )
    kernel, bias = model.get_layer("logit").get_weights()
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model(images)), h @ kernel + bias, atol=1e-5
    )
    hard = _numpy_row_lstm(images, *_weights(model.get_layer("row_lstm").cell))
    assert not np.allclose(h, hard, atol=1e-3)  # the gate is really the sigmoid, not the default


def _weights(cell):
    return [keras.ops.convert_to_numpy(w) for w in cell.weights]


def test_row_lstm_discriminator_is_seeded():
    images = np.random.default_rng(1).random((3, 12, 12, 1)).astype("float32")
    outputs = []
    for seed in (0, 0, 1):
        keras.utils.set_random_seed(seed)
        outputs.append(np.asarray(networks.row_lstm_discriminator((12, 12, 1), units=6)(images)))
    np.testing.assert_array_equal(outputs[0], outputs[1])
    assert not np.allclose(outputs[0], outputs[2])


def test_the_lstm_reads_one_row_per_step():
    """Running the cell by hand over the rows gives the model's logit."""
    keras.utils.set_random_seed(0)
    model = networks.row_lstm_discriminator((6, 5, 2), units=4)
    images = np.random.default_rng(2).random((3, 6, 5, 2)).astype("float32")
    cell = model.get_layer("row_lstm").cell
    h = c = np.zeros((3, 4), "float32")
    for row in images.reshape(3, 6, 10).transpose(1, 0, 2):
        h, (h, c) = cell(row, [h, c])
    np.testing.assert_allclose(model.get_layer("logit")(h), model(images), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [(28, 28, 1), (24, 24, 1), (32, 32, 3)])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_row_lstm_units_matches_a_parameter_budget(shape, bidirectional):
    budget = networks.dcgan_discriminator(shape, width=16).count_params()
    units = networks.row_lstm_units(budget, shape, bidirectional)
    count = networks.row_lstm_discriminator(shape, units, bidirectional).count_params()
    wider = networks.row_lstm_discriminator(shape, units + 1, bidirectional).count_params()
    narrower = networks.row_lstm_discriminator(shape, units - 1, bidirectional).count_params()
    assert abs(count - budget) <= min(abs(wider - budget), abs(narrower - budget))
    assert abs(count - budget) / budget < 0.1


def test_row_lstm_units_names_a_bad_budget():
    with pytest.raises(ValueError, match="n_params must be positive"):
        networks.row_lstm_units(0)


def test_row_lstm_discriminator_survives_saving(tmp_path):
    keras.utils.set_random_seed(0)
    model = networks.row_lstm_discriminator((8, 8, 3), units=5, bidirectional=True)
    images = np.random.default_rng(3).random((2, 8, 8, 3)).astype("float32")
    model.save(tmp_path / "d.keras")
    loaded = keras.models.load_model(tmp_path / "d.keras")
    np.testing.assert_allclose(loaded(images), model(images), rtol=1e-6)


# Notebook 03: frame predictors, hybrid generators, the transferred discriminator.

FRAME = (16, 16, 1)


def _frames(n=4, t=6, seed=0):
    return np.random.default_rng(seed).random((n, t, *FRAME)).astype("float32")


def test_the_one_shot_predictor_maps_input_frames_to_future_frames():
    keras.utils.set_random_seed(0)
    model = networks.cnn_predictor(FRAME, input_frames=6, output_frames=3, width=4)
    out = model.predict(_frames(), verbose=0)
    assert out.shape == (4, 3, *FRAME)
    assert 0.0 <= out.min() and out.max() <= 1.0


def test_the_one_shot_predictor_is_deterministic_under_a_seed():
    outs = []
    for _ in range(2):
        keras.utils.set_random_seed(3)
        outs.append(
            networks.cnn_predictor(FRAME, input_frames=6, output_frames=3, width=4)(_frames())
        )
    np.testing.assert_array_equal(*(keras.ops.convert_to_numpy(o) for o in outs))


def test_frame_baselines_against_hand_made_frames():
    frames = np.zeros((2, 3, 9, 9, 1), "float32")
    frames[:, -1, 4, 4] = 1.0  # one lit pixel in the last observed frame
    futures = np.stack([np.full((4, 9, 9, 1), v, "float32") for v in (0.2, 0.6)])  # mean 0.4
    guesses = networks.frame_baselines(frames, futures, output_frames=5, blur_sigma=1.0)
    assert {k: v.shape for k, v in guesses.items()} == dict.fromkeys(guesses, (2, 5, 9, 9, 1))
    assert not guesses["blank"].any()
    np.testing.assert_allclose(guesses["mean frame"], 0.4, rtol=1e-6)
    np.testing.assert_array_equal(guesses["copy last"][:, :, 4, 4, 0], 1.0)
    # a blurred point is the sampled Gaussian: exp(-d^2 / 2) up to one normalising constant
    blurred = guesses["blurred copy last"][1, 3, :, :, 0]
    d2 = (np.arange(9)[:, None] - 4) ** 2 + (np.arange(9)[None, :] - 4) ** 2
    np.testing.assert_allclose(blurred / blurred[4, 4], np.exp(-d2 / 2), rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(blurred.sum(), 1.0, rtol=1e-3)  # the blur keeps the ink
    with pytest.raises(ValueError, match="train_futures must be"):
        networks.frame_baselines(frames, futures[0])


def test_copy_last_frame_on_a_moving_bar_against_a_hand_count():
    # a one-pixel-wide vertical bar moving one column per frame through an 8x8 frame
    frames = np.zeros((1, 8, 8, 8, 1), dtype="float32")
    for t in range(8):
        frames[0, t, :, t] = 1.0
    guess = networks.copy_last_frame(frames[:, :4], output_frames=4)
    assert guess.shape == (1, 4, 8, 8, 1)
    mse = ((guess - frames[:, 4:]) ** 2).mean(axis=(0, 2, 3, 4))
    # the guess has the bar at column 3, the truth at 4 + k: 2 columns of 8 pixels differ
    np.testing.assert_allclose(mse, 16 / 64)
    with pytest.raises(ValueError, match=r"copy_last_frame takes \(batch, time, H, W, C\)"):
        networks.copy_last_frame(frames[0])


def test_predictors_reject_frames_they_cannot_halve_twice():
    with pytest.raises(ValueError, match="side divisible by 4"):
        networks.cnn_predictor((30, 30, 1))


@pytest.mark.parametrize("attention", [False, True])
def test_hybrid_generator_shapes_with_and_without_labels(attention):
    keras.utils.set_random_seed(0)
    plain = networks.hybrid_generator(8, units=16, width=4, attention=attention)
    assert plain(np.zeros((3, 8), "float32")).shape == (3, 28, 28, 1)
    conditional = networks.hybrid_generator(8, num_classes=10, units=16, width=4)
    z, onehot = networks.latent_inputs(8, 10, n=3, labels=[0, 1, 2])
    assert conditional([z, onehot]).shape == (3, 28, 28, 1)
    with pytest.raises(ValueError, match="divisible by 4, got 30"):
        networks.hybrid_generator(8, image_shape=(30, 30, 1))


def test_the_untrained_hybrid_is_the_dcgan_generator():
    # zero-initialised row correction and attention gate: with the DCGAN's weights copied into
    # the layers they share, the hybrid computes exactly what the DCGAN generator computes
    keras.utils.set_random_seed(0)
    dcgan = networks.dcgan_generator(8, num_classes=10, width=4)
    hybrid = networks.hybrid_generator(8, num_classes=10, units=16, width=4, attention=True)
    shared = lambda m: [layer for layer in m.layers if layer.weights and not layer.name.startswith(("row_", "self_"))]  # noqa: E731  # fmt: skip
    for source, target in zip(shared(dcgan), shared(hybrid), strict=True):
        target.set_weights(source.get_weights())
    inputs = list(networks.latent_inputs(8, 10, n=4, labels=[0, 1, 2, 3]))
    np.testing.assert_allclose(hybrid(inputs), dcgan(inputs), atol=1e-6)
    assert hybrid.get_layer("row_lstm").cell.gate is keras.activations.sigmoid


def test_self_attention_against_numpy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 4, 16)).astype("float32")
    layer = networks.SelfAttention2D()
    layer.build(x.shape)
    layer.gamma.assign(0.7)
    flat = x.reshape(2, 12, 16)
    q, k, v = (flat @ keras.ops.convert_to_numpy(w) for w in (layer.query, layer.key, layer.value))
    assert q.shape == (2, 12, 2)  # C // 8 channels for queries and keys
    weights = scipy.special.softmax(q @ k.transpose(0, 2, 1), axis=-1)
    expected = x + 0.7 * (weights @ v).reshape(x.shape)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), expected, atol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer.scores(x)), weights, atol=1e-6)


def test_attention_maps_are_distributions_over_the_positions():
    keras.utils.set_random_seed(0)
    generator = networks.hybrid_generator(8, num_classes=10, units=16, width=4, attention=True)
    maps = networks.attention_maps(generator, list(networks.latent_inputs(8, 10, n=5, labels=np.arange(5))))  # fmt: skip
    assert maps.shape == (5, 14 * 14, 14 * 14)
    np.testing.assert_allclose(maps.sum(axis=-1), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match="no 'self_attention' layer"):
        networks.attention_maps(networks.hybrid_generator(8, units=16, width=4), np.zeros((1, 8)))


def test_minibatch_std_appends_the_batch_spread_as_a_channel():
    x = np.random.default_rng(0).normal(size=(5, 3, 3, 4)).astype("float32")
    out = keras.ops.convert_to_numpy(networks.MinibatchStdDev()(x))
    assert out.shape == (5, 3, 3, 5)
    np.testing.assert_array_equal(out[..., :4], x)
    np.testing.assert_allclose(out[..., 4], np.sqrt(x.var(axis=0) + 1e-8).mean(), rtol=1e-5)
    collapsed = keras.ops.convert_to_numpy(networks.MinibatchStdDev()(np.repeat(x[:1], 5, axis=0)))
    assert collapsed[..., 4].max() < 1e-3  # one sample repeated: no spread


@pytest.mark.parametrize("minibatch_std", [False, True])
def test_discriminators_take_the_minibatch_std_channel(minibatch_std):
    keras.utils.set_random_seed(0)
    images = np.random.default_rng(0).random((4, 28, 28, 1)).astype("float32")
    labels = np.eye(10, dtype="float32")[[0, 1, 2, 3]]
    for model in (
        networks.dcgan_discriminator(num_classes=10, width=4, minibatch_std=minibatch_std),
        networks.transfer_discriminator(digit_classifier(), 10, minibatch_std=minibatch_std),
    ):
        assert model([images, labels]).shape == (4, 1)
        assert ("minibatch_std" in [layer.name for layer in model.layers]) == minibatch_std


def test_a_generator_step_lowers_the_hybrid_gans_loss():
    keras.utils.set_random_seed(0)
    model = gan.GAN(
        networks.hybrid_generator(8, units=16, width=4, attention=True),
        networks.dcgan_discriminator(width=4, minibatch_std=True),
        latent_dim=8,
        loss="lsgan",
        seed=0,
    )
    model.compile(keras.optimizers.SGD(0.05), keras.optimizers.SGD(0.05))
    z = keras.random.normal((16, 8), seed=1)
    model._noise = lambda _: z
    before = float(model.g_step(16))
    assert float(model.g_step(16)) < before


def test_transfer_discriminator_starts_from_the_classifier_and_leaves_it_alone():
    classifier = digit_classifier()
    original = [w.copy() for w in classifier.get_weights()]
    tuned = networks.transfer_discriminator(classifier, num_classes=10)
    frozen = networks.transfer_discriminator(classifier, fine_tune=False)
    first_kernel = classifier.layers[0].get_weights()[0]
    assert any(np.array_equal(w, first_kernel) for w in tuned.get_weights())
    assert len(frozen.trainable_weights) == 4  # only the new head: two dense kernels and biases
    tuned.trainable_weights[0].assign(tuned.trainable_weights[0] + 1.0)
    for before, after in zip(original, classifier.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
    keras.utils.set_random_seed(0)
    scratch = networks.transfer_discriminator(classifier, pretrained=False)
    assert not any(np.array_equal(w, first_kernel) for w in scratch.get_weights())
    assert scratch.count_params() == frozen.count_params()
    images = np.random.default_rng(0).random((2, 28, 28, 1)).astype("float32")
    assert tuned([images, np.eye(10, dtype="float32")[[3, 4]]]).shape == (2, 1)


@pytest.mark.parametrize(
    "build, inputs",
    [
        (
            lambda: networks.cnn_predictor(FRAME, input_frames=6, output_frames=3, width=4),
            lambda: _frames(),
        ),
        (
            lambda: networks.hybrid_generator(8, num_classes=10, units=16, width=4, attention=True),
            lambda: list(networks.latent_inputs(8, 10, n=3, labels=[1, 2, 3])),
        ),
        (
            lambda: networks.transfer_discriminator(digit_classifier(), 10, minibatch_std=True),
            lambda: [np.full((2, 28, 28, 1), 0.5, "float32"), np.eye(10, dtype="float32")[[0, 9]]],
        ),
    ],
    ids=["cnn_predictor", "hybrid_attention_generator", "transfer_discriminator"],
)
def test_keras_file_round_trip(tmp_path, build, inputs):
    keras.utils.set_random_seed(0)
    model, x = build(), inputs()
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )


# Notebook 02: the convolutional VAE's encoder mirrors the DCGAN discriminator.


@pytest.mark.parametrize("num_classes", [None, 10])
def test_dcgan_encoder_has_the_discriminators_convolutions_and_two_heads(num_classes):
    keras.utils.set_random_seed(0)
    encoder = networks.dcgan_encoder(6, (28, 28, 1), num_classes, width=8)
    discriminator = networks.dcgan_discriminator((28, 28, 1), num_classes, width=8)
    conv_shapes = lambda m: [  # noqa: E731
        tuple(layer.kernel.shape) for layer in m.layers if isinstance(layer, keras.layers.Conv2D)
    ]
    channels = 1 + (num_classes or 0)
    assert (
        conv_shapes(encoder) == conv_shapes(discriminator) == [(4, 4, channels, 8), (4, 4, 8, 16)]
    )
    images = np.random.default_rng(0).random((3, 28, 28, 1)).astype("float32")
    inputs = images if num_classes is None else [images, np.eye(10, dtype="float32")[[0, 1, 2]]]
    z_mean, z_log_var = encoder(inputs)
    assert z_mean.shape == z_log_var.shape == (3, 6)
    # 28 -> 14 -> 7: the flattened 7x7x16 map feeds each head
    assert encoder.get_layer("z_mean").kernel.shape == (7 * 7 * 16, 6)
    # in NumPy: the label as constant planes, two leaky stride-2 convolutions, two dense heads
    x = images
    if num_classes:
        x = np.concatenate([images, np.broadcast_to(inputs[1][:, None, None], (3, 28, 28, 10))], -1)
    conv1, conv2 = (layer.get_weights() for layer in encoder.layers if isinstance(layer, keras.layers.Conv2D))  # fmt: skip
    x = leaky_relu(
        conv_same(leaky_relu(conv_same(x, conv1[0], 2, conv1[1])), conv2[0], 2, conv2[1])
    )
    for head, got in (("z_mean", z_mean), ("z_log_var", z_log_var)):
        kernel, bias = encoder.get_layer(head).get_weights()
        np.testing.assert_allclose(keras.ops.convert_to_numpy(got), x.reshape(3, -1) @ kernel + bias, atol=1e-5)  # fmt: skip


def test_dcgan_encoder_reads_the_label():
    keras.utils.set_random_seed(0)
    encoder = networks.dcgan_encoder(4, (8, 8, 1), num_classes=3, width=4)
    image = np.full((1, 8, 8, 1), 0.5, "float32")
    codes = [
        keras.ops.convert_to_numpy(encoder([image, np.eye(3, dtype="float32")[[k]]])[0])
        for k in range(3)
    ]
    assert not np.allclose(codes[0], codes[1]) and not np.allclose(codes[1], codes[2])
