"""keraslstm.codec.weights: saved weights and .keras files keep loading to the same outputs.

The files in tests/data were written by the code before the decoder and the recovery block
moved from `keraslstm.codec.model` to `keraslstm.layers` and before the gate option was renamed
from `gate_activation` to `gate`; their expected outputs were computed by that code.
"""

from pathlib import Path

import keras
import numpy as np
from keras import ops

from keraslstm.codec.weights import fingerprint, load_model

DATA = Path(__file__).parent / "data"


def _bits_and_reconstruction(model, image, iterations):
    """Every iteration's bits and the last reconstruction, stepping the model by hand."""
    x = ops.convert_to_tensor(image[None] / 255.0 - 0.5, dtype="float32")
    reconstruction, states, bits = ops.zeros_like(x), (None, None), []
    for k in range(iterations):
        b, reconstruction, states = model.step(x, reconstruction, states, k)
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
