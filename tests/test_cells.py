"""keraslstm.cells: the paper's hard sigmoid and the dense and convolutional LSTM cells."""

import keras
import numpy as np
import pytest
from keras import ops
from references import conv_same

from keraslstm import ConvLSTMCell, ConvRNN, HardSigmoidLSTMCell, hard_sigmoid
from keraslstm.cells import gate_function, saturation_bounds


def test_hard_sigmoid_is_the_papers_not_keras3s():
    x = np.array([-3.0, -2.5, -1.0, 0.0, 1.0, 2.5, 3.0], dtype="float32")
    expected = np.clip(0.2 * x + 0.5, 0, 1)
    np.testing.assert_allclose(ops.convert_to_numpy(hard_sigmoid(x)), expected, atol=1e-7)
    keras3 = ops.convert_to_numpy(keras.activations.hard_sigmoid(x))
    np.testing.assert_allclose(keras3, np.clip(x / 6 + 0.5, 0, 1), atol=1e-6)
    assert expected[1] == 0.0 and abs(keras3[1] - 1 / 12) < 1e-6  # at x = -2.5: 0 vs 1/12


def test_saturation_bounds_are_where_a_gates_slope_falls_under_a_share_of_its_peak():
    from scipy.optimize import brentq
    from scipy.special import expit

    assert saturation_bounds("hard_sigmoid") == pytest.approx((-2.5, 2.5), abs=1e-4)
    assert saturation_bounds("keras_hard_sigmoid") == pytest.approx((-3.0, 3.0), abs=1e-4)
    edge = brentq(lambda z: expit(z) * (1 - expit(z)) - 0.01 * 0.25, 0, 20)  # about 5.99
    assert saturation_bounds("sigmoid") == pytest.approx((-edge, edge), abs=1e-4)
    edge = brentq(lambda z: expit(z) * (1 - expit(z)) - 0.1 * 0.25, 0, 20)
    assert saturation_bounds("sigmoid", share=0.1) == pytest.approx((-edge, edge), abs=1e-4)
    steep = saturation_bounds(lambda z: keras.activations.sigmoid(4 * z - 1))
    assert steep == pytest.approx(((1 - 5.99) / 4, (1 + 5.99) / 4), abs=1e-2)


def test_gate_names_resolve_and_unknown_names_are_refused():
    assert gate_function("hard_sigmoid") is hard_sigmoid
    assert gate_function("sigmoid") is keras.activations.sigmoid
    with pytest.raises(ValueError, match="Unknown gate 'relu'.*hard_sigmoid"):
        HardSigmoidLSTMCell(4, gate="relu")


@pytest.mark.parametrize("return_state", [False, True])
def test_sigmoid_cell_matches_keras_lstm(return_state):
    x = np.random.default_rng(0).random((3, 7, 5)).astype("float32")
    reference = keras.layers.LSTM(6, return_sequences=True, return_state=return_state)
    expected = reference(x)
    ours = keras.layers.RNN(
        HardSigmoidLSTMCell(6, gate="sigmoid"),
        return_sequences=True,
        return_state=return_state,
    )
    ours(x)
    ours.set_weights(reference.get_weights())
    for got, want in zip(keras.tree.flatten(ours(x)), keras.tree.flatten(expected), strict=True):
        np.testing.assert_allclose(ops.convert_to_numpy(got), ops.convert_to_numpy(want), atol=1e-5)


def test_keras_lstm_with_the_papers_hard_sigmoid_computes_what_our_cell_computes():
    """The benchmark's "keras LSTM (paper's hard sigmoid)" differs from our cell only in code."""
    x = np.random.default_rng(1).normal(size=(3, 9, 5)).astype("float32") * 3  # gates saturate
    reference = keras.layers.LSTM(6, recurrent_activation=hard_sigmoid, return_sequences=True)
    expected = ops.convert_to_numpy(reference(x))
    ours = keras.layers.RNN(HardSigmoidLSTMCell(6), return_sequences=True)
    ours(x)
    ours.set_weights(reference.get_weights())
    np.testing.assert_allclose(ops.convert_to_numpy(ours(x)), expected, rtol=0, atol=1e-6)
    keras3_gate = keras.layers.LSTM(6, recurrent_activation="hard_sigmoid", return_sequences=True)
    keras3_gate(x)
    keras3_gate.set_weights(reference.get_weights())
    assert np.abs(ops.convert_to_numpy(keras3_gate(x)) - expected).max() > 1e-3  # not the same gate


def test_hard_sigmoid_cell_matches_a_numpy_lstm_step():
    rng = np.random.default_rng(0)
    cell = HardSigmoidLSTMCell(4)
    x = rng.normal(size=(2, 3)).astype("float32")
    h0 = rng.normal(size=(2, 4)).astype("float32")
    c0 = rng.normal(size=(2, 4)).astype("float32")
    h, (h_state, c) = cell(x, [h0, c0])
    kernel, recurrent, bias = cell.get_weights()
    i, f, g, o = np.split(x @ kernel + h0 @ recurrent + bias, 4, axis=-1)
    gate = lambda z: np.clip(0.2 * z + 0.5, 0, 1)  # noqa: E731
    c_expected = gate(f) * c0 + gate(i) * np.tanh(g)
    np.testing.assert_allclose(ops.convert_to_numpy(c), c_expected, atol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(h), gate(o) * np.tanh(c_expected), atol=1e-5)
    np.testing.assert_array_equal(ops.convert_to_numpy(h), ops.convert_to_numpy(h_state))


def test_forget_gate_bias_starts_at_one():
    cell = HardSigmoidLSTMCell(3)
    cell.build((None, 2))
    np.testing.assert_array_equal(cell.get_weights()[2], [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])


def test_conv_cell_state_shapes_follow_input_and_stride():
    cell = ConvLSTMCell(8, 3, strides=2, hidden_kernel_size=1)
    x = np.random.default_rng(0).random((2, 15, 20, 3)).astype("float32")
    h, c = cell.get_initial_state(x)
    assert tuple(h.shape) == (2, 8, 10, 8) and tuple(c.shape) == (2, 8, 10, 8)
    out, (h, c) = cell(x, [h, c])
    assert tuple(out.shape) == (2, 8, 10, 8)
    assert cell.kernel.shape == (3, 3, 3, 32) and cell.recurrent_kernel.shape == (1, 1, 8, 32)


@pytest.mark.parametrize("gate", ["sigmoid", hard_sigmoid])
def test_conv_cell_matches_keras_conv_lstm2d_with_copied_weights(gate):
    """Where the configurations coincide (one kernel size, stride 1), Keras's ConvLSTM2D is the reference."""
    rng = np.random.default_rng(0)
    seq = rng.normal(size=(2, 4, 7, 9, 3)).astype("float32")
    reference = keras.layers.ConvLSTM2D(
        5, 3, padding="same", recurrent_activation=gate, return_sequences=True, return_state=True
    )
    reference(seq)
    ours = ConvRNN(
        ConvLSTMCell(5, 3, hidden_kernel_size=3, gate=gate),
        return_sequences=True,
        return_state=True,
    )
    ours(seq)
    # random bias too, so that a swapped gate could not hide behind zeros
    kernel, recurrent, bias = reference.get_weights()
    weights = [kernel, recurrent, rng.normal(size=bias.shape).astype("float32")]
    reference.set_weights(weights)
    ours.set_weights(weights)
    expected = reference(seq)
    for got, want in zip(keras.tree.flatten(ours(seq)), keras.tree.flatten(expected), strict=True):
        np.testing.assert_allclose(ops.convert_to_numpy(got), ops.convert_to_numpy(want), atol=1e-5)


def test_conv_cell_with_separate_kernels_and_stride_matches_a_numpy_step():
    """Toderici's case Keras cannot express: 3x3 input kernel with stride 2, 1x1 hidden kernel."""
    rng = np.random.default_rng(0)
    cell = ConvLSTMCell(4, 3, strides=2, hidden_kernel_size=1)
    x = rng.normal(size=(2, 9, 8, 3)).astype("float32")
    h0, c0 = (rng.normal(size=(2, 5, 4, 4)).astype("float32") for _ in range(2))
    cell.build(x.shape)
    kernel, recurrent, bias = (rng.normal(0, 0.5, w.shape).astype("float32") for w in cell.get_weights())  # fmt: skip
    cell.set_weights([kernel, recurrent, bias])
    h, (h_state, c) = cell(x, [h0, c0])
    z = conv_same(x, kernel, 2) + conv_same(h0, recurrent, 1) + bias
    i, f, g, o = np.split(z, 4, axis=-1)  # Keras's gate order
    gate = lambda v: np.clip(0.2 * v + 0.5, 0, 1)  # noqa: E731
    c_expected = gate(f) * c0 + gate(i) * np.tanh(g)
    np.testing.assert_allclose(ops.convert_to_numpy(c), c_expected, atol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(h), gate(o) * np.tanh(c_expected), atol=1e-5)
    np.testing.assert_array_equal(ops.convert_to_numpy(h), ops.convert_to_numpy(h_state))


def test_conv_cell_steps_by_hand_carry_memory():
    cell = ConvLSTMCell(4, 3, hidden_kernel_size=3)
    x = np.random.default_rng(0).random((1, 8, 8, 2)).astype("float32")
    state = cell.get_initial_state(x)
    first, state = cell(x, state)
    second, _ = cell(x, state)
    assert not np.allclose(ops.convert_to_numpy(first), ops.convert_to_numpy(second))


def test_conv_cell_in_keras_rnn_over_time_equals_stepping():
    cell = ConvLSTMCell(4, 3, strides=2, hidden_kernel_size=3)
    seq = np.random.default_rng(0).random((2, 3, 8, 8, 2)).astype("float32")
    outputs, h, c = keras.layers.RNN(cell, return_sequences=True, return_state=True)(seq)
    assert tuple(outputs.shape) == (2, 3, 4, 4, 4)
    state = cell.get_initial_state(seq[:, 0])
    for t in range(3):
        step, state = cell(seq[:, t], state)
        np.testing.assert_allclose(
            ops.convert_to_numpy(outputs[:, t]), ops.convert_to_numpy(step), atol=1e-6
        )
    np.testing.assert_allclose(ops.convert_to_numpy(c), ops.convert_to_numpy(state[1]), atol=1e-6)


def test_conv_rnn_infers_shapes_in_functional_models_where_keras_rnn_cannot():
    inputs = keras.Input((3, 8, 8, 2))
    outputs = ConvRNN(ConvLSTMCell(5, 3, strides=2), return_sequences=True)(inputs)
    assert tuple(outputs.shape) == (None, 3, 4, 4, 5)
    with pytest.raises(ValueError, match="output_size must be an integer"):
        keras.layers.RNN(ConvLSTMCell(5, 3))(inputs)


def test_cell_gradients_reach_every_weight():
    cell = HardSigmoidLSTMCell(4)
    layer = keras.layers.RNN(cell)
    x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    layer(x)
    grads = _gradients(lambda: ops.sum(layer(x) ** 2), layer.trainable_variables)
    assert all(np.abs(g).sum() > 0 for g in grads)


def _gradients(loss_fn, variables):
    """Gradients of loss_fn() w.r.t. variables on the TensorFlow backend (the test backend)."""
    import tensorflow as tf

    with tf.GradientTape() as tape:
        loss = loss_fn()
    return [np.asarray(g) for g in tape.gradient(loss, variables)]


def _round_trip(model, x, tmp_path):
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    for got, want in zip(keras.tree.flatten(loaded(x)), keras.tree.flatten(model(x)), strict=True):
        np.testing.assert_array_equal(ops.convert_to_numpy(got), ops.convert_to_numpy(want))
    return loaded


@pytest.mark.parametrize("gate", ["hard_sigmoid", "sigmoid", hard_sigmoid])
def test_lstm_cell_model_round_trips_through_keras_file(gate, tmp_path):
    model = keras.Sequential(
        [keras.Input((5, 3)), keras.layers.RNN(HardSigmoidLSTMCell(4, gate=gate))]
    )
    loaded = _round_trip(
        model, np.random.default_rng(0).random((2, 5, 3)).astype("float32"), tmp_path
    )
    assert loaded.layers[0].cell.gate is gate_function(gate)


def test_conv_cell_model_round_trips_through_keras_file(tmp_path):
    model = keras.Sequential(
        [keras.Input((3, 8, 8, 2)), ConvRNN(ConvLSTMCell(4, 3, strides=2, hidden_kernel_size=3))]
    )
    x = np.random.default_rng(0).random((2, 3, 8, 8, 2)).astype("float32")
    loaded = _round_trip(model, x, tmp_path)
    assert loaded.layers[0].cell.hidden_kernel_size == 3


@pytest.mark.parametrize("make", [lambda **k: HardSigmoidLSTMCell(4, **k), lambda **k: ConvLSTMCell(4, 3, **k)])  # fmt: skip
def test_the_gate_has_one_name_and_one_serialised_form(make):
    for gate, name in [(hard_sigmoid, "hard_sigmoid"), ("sigmoid", "sigmoid"), (keras.activations.sigmoid, "sigmoid")]:  # fmt: skip
        config = make(gate=gate).get_config()
        assert config["gate"] == name and "gate_activation" not in config
    default = make().get_config()
    assert default["gate"] == "hard_sigmoid"
    # configs written before the rename: key `gate_activation`, the function as a Keras object
    old = {k: v for k, v in default.items() if k != "gate"}
    old["gate_activation"] = keras.saving.serialize_keras_object(hard_sigmoid)
    cell = type(make()).from_config(old)
    assert cell.gate is hard_sigmoid and cell.get_config() == default
