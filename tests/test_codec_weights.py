"""keraslstm.codec.weights: saved weights and .keras files keep loading to the same outputs.

The files in tests/data were written by the code before the decoder and the recovery block
moved from `keraslstm.codec.model` to `keraslstm.layers` and before the gate option was renamed
from `gate_activation` to `gate`; their expected outputs were computed by that code.
"""

import hashlib
from pathlib import Path

import keras
import numpy as np
import pytest
from keras import ops

from keraslstm.codec.weights import DEFAULT_WEIGHTS, fingerprint, load_model

DATA = Path(__file__).parent / "data"


def _bits_and_reconstruction(model, image, iterations):
    """Every iteration's bits and the last reconstruction, stepping the model by hand."""
    x = ops.convert_to_tensor(image[None] / 255.0 - 0.5, dtype="float32")
    reconstruction, states, bits = ops.zeros_like(x), (None, None), []
    for _ in range(iterations):
        b, reconstruction, states = model.step(x, reconstruction, states)
        bits.append(ops.convert_to_numpy(b) > 0)
    return np.stack(bits), ops.convert_to_numpy(reconstruction)[0]


def test_weights_written_before_the_move_give_the_same_bits_and_fingerprint():
    expected = np.load(DATA / "tiny_codec_expected.npz")
    model = load_model(DATA / "tiny_codec.weights.h5")
    assert model.decoder_kind == "recovery" and model.gate == "sigmoid"
    assert fingerprint(model) == expected["fingerprint"].tobytes()  # old files still decode
    bits, reconstruction = _bits_and_reconstruction(model, expected["image"], model.iterations)
    np.testing.assert_array_equal(bits, expected["bits"])
    np.testing.assert_allclose(reconstruction, expected["reconstruction"], atol=1e-6)


def test_a_keras_file_with_the_old_gate_form_loads_to_the_same_outputs():
    expected = np.load(DATA / "layers_before_gate_rename.npz")
    model = keras.models.load_model(DATA / "layers_before_gate_rename.keras")
    for i, output in enumerate(model(expected["x"])):
        np.testing.assert_array_equal(ops.convert_to_numpy(output), expected[f"out{i}"])
    decoder = next(layer for layer in model.layers if layer.name.startswith("conv_lstm_decoder"))
    assert decoder.get_config()["gate"] == "sigmoid"  # written as `gate_activation` before


# The shipped weights' values, computed by the code before the move; pinned to this file.
SHIPPED_SHA256 = "5d8e5b973aa874940d8e5040b1627b81103731e91a80237931538037341b414c"
SHIPPED_FINGERPRINT = "ac550a578c79b3e6"
SHIPPED_BITS_SHA256 = "50e958c96c9d2269a30deffe26815c489e3b547288e2f4d6daed6e56d30dbee5"


def test_the_shipped_model_gives_the_same_bits_as_before_the_move():
    if hashlib.sha256(DEFAULT_WEIGHTS.read_bytes()).hexdigest() != SHIPPED_SHA256:
        pytest.skip("new shipped weights: the pinned values belong to the 2,000-step weights")
    model = load_model()
    assert fingerprint(model).hex() == SHIPPED_FINGERPRINT
    image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    bits, _ = _bits_and_reconstruction(model, image, 16)
    assert hashlib.sha256(np.packbits(bits).tobytes()).hexdigest() == SHIPPED_BITS_SHA256


def test_the_fingerprint_ignores_the_models_name_but_not_its_weights():
    model = load_model(DATA / "tiny_codec.weights.h5")
    twin = model.__class__(**{**model.get_config(), "name": "another_name"})
    twin.build((None, 32, 32, 3))
    twin.set_weights(model.get_weights())
    assert fingerprint(twin) == fingerprint(model)
    weights = twin.get_weights()
    weights[0] = weights[0] + 1e-3
    twin.set_weights(weights)
    assert fingerprint(twin) != fingerprint(model)
