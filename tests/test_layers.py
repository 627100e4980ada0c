"""keraslstm.layers: the encoder, the binarizer and depth-to-space."""

import keras
import numpy as np
import pytest
from keras import ops

from keraslstm import Binarizer, ConvLSTMEncoder, DepthToSpace


def test_encoder_maps_a_32px_patch_to_2x2x512_with_toderici_widths():
    rng = np.random.default_rng(0)
    encoder = ConvLSTMEncoder()
    code, states = encoder(rng.random((2, 32, 32, 3)).astype("float32"))
    assert tuple(code.shape) == (2, 2, 2, 512)
    assert [tuple(h.shape) for h, _ in states] == [(2, 8, 8, 256), (2, 4, 4, 512), (2, 2, 2, 512)]
    assert encoder.stride == 16


def test_encoder_is_fully_convolutional_and_carries_state():
    rng = np.random.default_rng(0)
    encoder = ConvLSTMEncoder(filters=(8, 16, 16, 16))
    x = rng.random((1, 48, 80, 3)).astype("float32")
    first, states = encoder(x)
    assert tuple(first.shape) == (1, 3, 5, 16)
    second, _ = encoder(x, states)
    assert not np.allclose(ops.convert_to_numpy(first), ops.convert_to_numpy(second))
    again, _ = encoder(x, encoder.get_initial_state(x))
    np.testing.assert_allclose(ops.convert_to_numpy(again), ops.convert_to_numpy(first), atol=1e-6)


def test_encoder_refuses_a_stem_only_config():
    with pytest.raises(ValueError, match="at least one cell width"):
        ConvLSTMEncoder(filters=(64,))


@pytest.mark.parametrize("training", [False, True])
def test_binarizer_outputs_exactly_plus_minus_one(training):
    rng = np.random.default_rng(0)
    bits = ops.convert_to_numpy(
        Binarizer(32, seed=3)(rng.normal(size=(4, 2, 2, 16)), training=training)
    )
    assert bits.shape == (4, 2, 2, 32)
    assert set(np.unique(bits)) <= {-1.0, 1.0}


def test_binarizer_is_the_sign_at_inference_and_unbiased_in_training():
    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(0)  # the projection's initial weights
    layer = Binarizer(8, seed=0)
    x = rng.normal(size=(20000, 1, 1, 4)).astype("float32") * 0.3
    layer(x)
    tanh = np.tanh(ops.convert_to_numpy(layer.project(x)))
    np.testing.assert_array_equal(ops.convert_to_numpy(layer(x)), np.where(tanh >= 0, 1.0, -1.0))
    stochastic = ops.convert_to_numpy(layer(x, training=True))
    # E[b] = x: the mean of the bits tracks tanh's output (std of the mean < 0.0071 here, so
    # 0.03 is over 4 standard deviations for each of the 8 channels)
    np.testing.assert_allclose(stochastic.mean(axis=0), tanh.mean(axis=0), atol=0.03)
    assert 0.2 < (stochastic != np.where(tanh >= 0, 1.0, -1.0)).mean() < 0.5


def test_binarizer_passes_a_nonzero_gradient_straight_through():
    rng = np.random.default_rng(0)
    import tensorflow as tf

    layer = Binarizer(8, seed=0)
    x = tf.constant(rng.normal(size=(3, 2, 2, 4)).astype("float32"))
    for training in (True, False):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x, training=training) * 2.0)
        grad_x, grad_kernel = tape.gradient(loss, [x, layer.project.kernel])
        assert np.abs(grad_x.numpy()).sum() > 0 and np.abs(grad_kernel.numpy()).sum() > 0
        # straight through: d loss / d tanh = 2 everywhere, so d loss / d x = 2 * J_tanh
        with tf.GradientTape() as tape:
            tape.watch(x)
            smooth = tf.reduce_sum(tf.tanh(layer.project(x)) * 2.0)
        np.testing.assert_allclose(grad_x.numpy(), tape.gradient(smooth, x).numpy(), rtol=1e-5)


def test_depth_to_space_matches_tensorflow():
    rng = np.random.default_rng(0)
    import tensorflow as tf

    x = rng.random((2, 3, 4, 12)).astype("float32")
    np.testing.assert_array_equal(
        ops.convert_to_numpy(DepthToSpace(2)(x)), tf.nn.depth_to_space(x, 2).numpy()
    )


def test_depth_to_space_names_bad_channel_counts():
    with pytest.raises(ValueError, match=r"channels divisible by 4, got 6"):
        DepthToSpace(2)(np.zeros((1, 2, 2, 6), "float32"))
    with pytest.raises(ValueError, match="block_size must be at least 2"):
        DepthToSpace(1)


def test_codec_pieces_round_trip_through_keras_file(tmp_path):
    rng = np.random.default_rng(0)
    inputs = keras.Input((32, 32, 3))
    code, _ = ConvLSTMEncoder(filters=(8, 16, 16, 16))(inputs)
    bits = Binarizer(4, seed=1)(code)
    upsampled = DepthToSpace(2)(keras.layers.Conv2D(16, 1)(bits))
    model = keras.Model(inputs, upsampled)
    x = rng.random((2, 32, 32, 3)).astype("float32")
    model.save(tmp_path / "codec.keras")
    loaded = keras.models.load_model(tmp_path / "codec.keras")
    np.testing.assert_array_equal(ops.convert_to_numpy(loaded(x)), ops.convert_to_numpy(model(x)))
    assert tuple(loaded.output.shape) == (None, 4, 4, 4)
