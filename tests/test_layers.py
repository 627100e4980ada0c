"""keraslstm.layers: the encoder, the binarizer, the decoder, depth-to-space, the recovery block."""

import keras
import numpy as np
import pytest
from keras import ops
from references import conv_same, depth_to_space

from keraslstm.cells import GATES, hard_sigmoid
from keraslstm.layers import (
    Binarizer,
    ConvLSTMDecoder,
    ConvLSTMEncoder,
    DepthToSpace,
    RecoveryBlock,
)


def test_encoder_maps_a_32px_patch_to_2x2x512_with_toderici_widths():
    rng = np.random.default_rng(0)
    encoder = ConvLSTMEncoder()
    code, states = encoder(rng.random((2, 32, 32, 3)).astype("float32"))
    assert tuple(code.shape) == (2, 2, 2, 512)
    assert [tuple(h.shape) for h, _ in states] == [(2, 8, 8, 256), (2, 4, 4, 512), (2, 2, 2, 512)]
    assert encoder.stride == 16


def _lstm_step(x, state, weights, stride):
    """One ConvLSTM step in NumPy with the paper's hard-sigmoid gates (Keras's gate order)."""
    kernel, recurrent, bias = weights
    h, c = state
    i, f, g, o = np.split(conv_same(x, kernel, stride) + conv_same(h, recurrent) + bias, 4, -1)
    gate = lambda v: np.clip(0.2 * v + 0.5, 0, 1)  # noqa: E731
    c = gate(f) * c + gate(i) * np.tanh(g)
    return gate(o) * np.tanh(c), c


def test_encoder_steps_match_numpy_convolutions_and_lstm_updates():
    rng = np.random.default_rng(0)
    encoder = ConvLSTMEncoder(filters=(4, 8, 8))
    x = rng.random((2, 16, 24, 3)).astype("float32")
    encoder.build(x.shape)
    for weight in encoder.weights:  # away from the zero biases and small initial kernels
        weight.assign(rng.normal(0, 0.4, weight.shape))
    states = [(np.zeros((2, 4, 6, 8)), np.zeros((2, 4, 6, 8))), (np.zeros((2, 2, 3, 8)),) * 2]
    got_states = None
    for _ in range(2):  # the second step starts from the first one's states
        code, got_states = encoder(x, got_states)
        h = conv_same(x, ops.convert_to_numpy(encoder.stem.kernel), 2)
        new_states = []
        for cell, state in zip(encoder.cells, states, strict=True):
            h, c = _lstm_step(h, state, [ops.convert_to_numpy(w) for w in cell.weights], 2)
            new_states.append((h, c))
        states = new_states
        np.testing.assert_allclose(ops.convert_to_numpy(code), h, atol=1e-5)
        for (h_got, c_got), (h_want, c_want) in zip(got_states, states, strict=True):
            np.testing.assert_allclose(ops.convert_to_numpy(c_got), c_want, atol=1e-5)
            np.testing.assert_allclose(ops.convert_to_numpy(h_got), h_want, atol=1e-5)


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


def test_decoder_upsamples_bits_to_pixels_and_carries_state():
    bits = np.sign(np.random.default_rng(0).normal(size=(2, 3, 5, 8))).astype("float32")
    decoder = ConvLSTMDecoder((16, 16, 16, 16))
    image, states = decoder(bits)
    assert tuple(image.shape) == (2, 48, 80, 3) and decoder.scale == 16
    assert [tuple(h.shape) for h, _ in states] == [(2, 3, 5, 16), (2, 6, 10, 16), (2, 12, 20, 16), (2, 24, 40, 16)]  # fmt: skip
    pixels = ops.convert_to_numpy(image)
    assert np.all(np.abs(pixels) <= 1)  # tanh
    again, _ = decoder(bits, states)
    assert not np.allclose(ops.convert_to_numpy(again), pixels)


def test_decoder_step_matches_numpy_convolutions_lstm_updates_anddepth_to_space():
    rng = np.random.default_rng(1)
    decoder = ConvLSTMDecoder((8, 8, 8, 8))  # input kernels 2, 3, 3, 3; hidden 1, 1, 3, 3
    bits = np.sign(rng.normal(size=(2, 2, 3, 4))).astype("float32")
    decoder.build(bits.shape)
    for weight in decoder.weights:
        weight.assign(rng.normal(0, 0.4, weight.shape))
    image, _ = decoder(bits)
    kernel, bias = (ops.convert_to_numpy(w) for w in decoder.stem.weights)
    x = conv_same(bits, kernel, 1, bias)
    for cell in decoder.cells:
        zeros = np.zeros((*x.shape[:3], cell.filters))
        x, _ = _lstm_step(x, (zeros, zeros), [ops.convert_to_numpy(w) for w in cell.weights], 1)
        x = depth_to_space(x)
    kernel, bias = (ops.convert_to_numpy(w) for w in decoder.to_rgb.weights)
    expected = np.tanh(conv_same(x, kernel, 1, bias))
    assert expected.shape == (2, 32, 48, 3)
    np.testing.assert_allclose(ops.convert_to_numpy(image), expected, atol=1e-5)


def test_decoder_names_bad_options():
    with pytest.raises(ValueError, match="Unknown decoder 'bicubic'"):
        ConvLSTMDecoder(upsample="bicubic")
    with pytest.raises(ValueError, match="one entry per cell"):
        ConvLSTMDecoder(filters=(16, 16), kernel_sizes=(2, 3, 3))
    with pytest.raises(ValueError, match="Unknown gate 'relu'"):
        ConvLSTMDecoder(gate="relu")


def test_recovery_block_upsamples_likedepth_to_space():
    x = np.random.default_rng(2).normal(size=(1, 3, 5, 16)).astype("float32")
    block = RecoveryBlock(16)
    fresh = ops.convert_to_numpy(block(x))  # the last conv starts at zero: depth-to-space alone
    np.testing.assert_allclose(fresh, depth_to_space(x), atol=1e-6)
    last = block.refine[-1]
    last.bias.assign(np.array([0.5, -1.0, 0.0, 2.0], "float32"))  # the learnt path adds its output
    np.testing.assert_allclose(ops.convert_to_numpy(block(x)), depth_to_space(x) + last.bias.numpy(), atol=1e-6)  # fmt: skip
    assert depth_to_space(x).shape == (1, 6, 10, 4)
    with pytest.raises(ValueError, match="divisible by 4"):
        RecoveryBlock(6)


def test_the_recovery_decoder_adds_a_learnt_path_todepth_to_space():
    bits = np.sign(np.random.default_rng(0).normal(size=(1, 2, 2, 32))).astype("float32")
    plain = ConvLSTMDecoder((16, 16, 16, 16), upsample="depth_to_space")
    recovery = ConvLSTMDecoder((16, 16, 16, 16), upsample="recovery")
    plain(bits), recovery(bits)
    for ours, theirs in [(recovery.stem, plain.stem), (recovery.to_rgb, plain.to_rgb),
                         *zip(recovery.cells, plain.cells, strict=True)]:  # fmt: skip
        ours.set_weights(theirs.get_weights())
    # the block's last conv starts at zero, so a fresh recovery decoder is depth-to-space
    np.testing.assert_allclose(ops.convert_to_numpy(recovery(bits)[0]), ops.convert_to_numpy(plain(bits)[0]), atol=1e-6)  # fmt: skip
    for block in recovery.upsamplers:
        last = block.refine[-1]
        last.kernel.assign(np.random.default_rng(1).normal(0, 1, last.kernel.shape))
    # an untrained decoder's output is small (about 1e-5): compare the change with it
    before = ops.convert_to_numpy(plain(bits)[0])
    difference = ops.convert_to_numpy(recovery(bits)[0]) - before
    assert np.abs(difference).mean() > 0.5 * np.abs(before).mean()


@pytest.mark.parametrize("upsample", ["depth_to_space", "recovery"])
def test_decoder_and_recovery_block_round_trip_through_keras_file(upsample, tmp_path):
    bits = keras.Input((2, 2, 8))
    image, _ = ConvLSTMDecoder((16, 16, 16, 16), upsample=upsample, gate="sigmoid")(bits)
    extra = RecoveryBlock(4)(keras.layers.Conv2D(4, 1)(image))
    model = keras.Model(bits, [image, extra])
    for block in model.layers[1].upsamplers if upsample == "recovery" else []:
        last = block.refine[-1]  # away from its zero start, so the test sees the block's weights
        last.kernel.assign(np.random.default_rng(1).normal(0, 1, last.kernel.shape))
    x = np.sign(np.random.default_rng(0).normal(size=(2, 2, 2, 8))).astype("float32")
    model.save(tmp_path / "decoder.keras")
    loaded = keras.models.load_model(tmp_path / "decoder.keras")
    for got, want in zip(loaded(x), model(x), strict=True):
        np.testing.assert_array_equal(ops.convert_to_numpy(got), ops.convert_to_numpy(want))
    assert loaded.layers[1].gate is keras.activations.sigmoid


@pytest.mark.parametrize("layer_class", [ConvLSTMEncoder, ConvLSTMDecoder])
@pytest.mark.parametrize("gate", ["hard_sigmoid", "sigmoid", hard_sigmoid])
def test_the_gate_is_serialised_by_its_name(layer_class, gate):
    layer = layer_class((16, 16, 16, 16), gate=gate)
    config = layer.get_config()
    name = gate if isinstance(gate, str) else "hard_sigmoid"
    assert config["gate"] == name and "gate_activation" not in config
    assert all(cell.get_config()["gate"] == name for cell in layer.cells)
    assert layer_class.from_config(config).gate is GATES[name]


@pytest.mark.parametrize("layer_class", [ConvLSTMEncoder, ConvLSTMDecoder])
def test_configs_with_the_old_gate_activation_key_still_load(layer_class):
    config = layer_class((16, 16, 16, 16)).get_config()
    gate = config.pop("gate")
    for old in ("sigmoid", keras.saving.serialize_keras_object(hard_sigmoid)):
        layer = layer_class.from_config({**config, "gate_activation": old})
        assert layer.gate is (keras.activations.sigmoid if old == "sigmoid" else hard_sigmoid)
        assert layer.get_config() == {**config, "gate": "sigmoid" if old == "sigmoid" else gate}
