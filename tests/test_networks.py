"""keraslstm.networks: the builders' shapes, seeding, parameter counts and saving."""

import keras
import numpy as np
import pytest

from keraslstm import networks

# Notebook 04: the row-reading LSTM discriminator.


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3)])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_row_lstm_discriminator_gives_one_logit_per_image(shape, bidirectional):
    keras.utils.set_random_seed(0)
    model = networks.row_lstm_discriminator(shape, units=8, bidirectional=bidirectional)
    images = np.random.default_rng(0).random((5, *shape)).astype("float32")
    assert model(images).shape == (5, 1)


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
