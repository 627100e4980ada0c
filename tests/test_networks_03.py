"""keraslstm.networks, notebook 03's builders: frame predictors, hybrid generators, transfer D."""

import keras
import numpy as np
import pytest

from keraslstm import gan, networks
from keraslstm.evaluation import digit_classifier

FRAME = (16, 16, 1)


def _frames(n=4, t=6, seed=0):
    return np.random.default_rng(seed).random((n, t, *FRAME)).astype("float32")


@pytest.mark.parametrize("builder", [networks.convlstm_predictor, networks.cnn_predictor])
def test_predictors_map_input_frames_to_future_frames(builder):
    keras.utils.set_random_seed(0)
    model = builder(FRAME, input_frames=6, output_frames=3, width=4)
    out = model.predict(_frames(), verbose=0)
    assert out.shape == (4, 3, *FRAME)
    assert 0.0 <= out.min() and out.max() <= 1.0


@pytest.mark.parametrize("builder", [networks.convlstm_predictor, networks.cnn_predictor])
def test_predictors_are_deterministic_under_a_seed(builder):
    outs = []
    for _ in range(2):
        keras.utils.set_random_seed(3)
        outs.append(builder(FRAME, input_frames=6, output_frames=3, width=4)(_frames()))
    np.testing.assert_array_equal(*(keras.ops.convert_to_numpy(o) for o in outs))


def test_a_training_step_lowers_the_convlstm_predictors_loss():
    keras.utils.set_random_seed(1)
    model = networks.convlstm_predictor(FRAME, input_frames=6, output_frames=3, width=4)
    model.compile(keras.optimizers.Adam(1e-2), "binary_crossentropy")
    frames = _frames(8, 9, seed=2)
    x, y = frames[:, :6], frames[:, 6:]
    before = model.evaluate(x, y, verbose=0)
    model.train_on_batch(x, y)
    assert model.evaluate(x, y, verbose=0) < before


def test_the_forecaster_depends_on_the_observed_frames():
    keras.utils.set_random_seed(1)
    model = networks.convlstm_predictor(FRAME, input_frames=6, output_frames=3, width=4)
    a, b = _frames(seed=4), _frames(seed=4)
    b[:, 0] = 1.0 - b[:, 0]  # change only the first frame: only the LSTM state can carry it
    assert not np.allclose(model.predict(a, verbose=0), model.predict(b, verbose=0))


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
        networks.convlstm_predictor((30, 30, 1))


@pytest.mark.parametrize("heads", [0, 2])
def test_hybrid_generator_shapes_with_and_without_labels(heads):
    keras.utils.set_random_seed(0)
    plain = networks.hybrid_generator(8, units=16, width=4, attention_heads=heads)
    assert plain(np.zeros((3, 8), "float32")).shape == (3, 28, 28, 1)
    conditional = networks.hybrid_generator(8, num_classes=10, units=16, width=4)
    z, onehot = networks.latent_inputs(8, 10, n=3, labels=[0, 1, 2])
    assert conditional([z, onehot]).shape == (3, 28, 28, 1)
    with pytest.raises(ValueError, match="divisible by 4, got 30"):
        networks.hybrid_generator(8, image_shape=(30, 30, 1))


def test_attention_weights_are_causal_distributions():
    keras.utils.set_random_seed(0)
    generator = networks.hybrid_generator(8, num_classes=10, units=16, width=4, attention_heads=2)
    scores = networks.attention_scores_model(generator).predict(
        list(networks.latent_inputs(8, 10, n=5, labels=np.arange(5))), verbose=0
    )
    assert scores.shape == (5, 2, 7, 7)
    np.testing.assert_allclose(scores.sum(axis=-1), 1.0, rtol=1e-5)
    assert np.all(np.triu(np.ones((7, 7)), k=1)[None, None] * scores == 0)  # no look-ahead
    with pytest.raises(ValueError, match="no 'row_attention' layer"):
        networks.attention_scores_model(networks.hybrid_generator(8, units=16, width=4))


def test_a_generator_step_lowers_the_hybrid_gans_loss():
    keras.utils.set_random_seed(0)
    model = gan.GAN(
        networks.hybrid_generator(8, units=16, width=4, attention_heads=2),
        networks.dcgan_discriminator(width=4),
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
            lambda: networks.convlstm_predictor(FRAME, input_frames=6, output_frames=3, width=4),
            lambda: _frames(),
        ),
        (
            lambda: networks.hybrid_generator(
                8, num_classes=10, units=16, width=4, attention_heads=2
            ),
            lambda: list(networks.latent_inputs(8, 10, n=3, labels=[1, 2, 3])),
        ),
        (
            lambda: networks.transfer_discriminator(digit_classifier(), num_classes=10),
            lambda: [np.full((2, 28, 28, 1), 0.5, "float32"), np.eye(10, dtype="float32")[[0, 9]]],
        ),
    ],
    ids=["convlstm_predictor", "hybrid_attention_generator", "transfer_discriminator"],
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
