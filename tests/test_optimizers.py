"""keraslstm.optimizers: every model's optimizers are built before its first training step, so
TensorFlow traces that step once, and training gives the same weights as Keras's lazy build."""

import keras
import numpy as np
import pytest

from keraslstm import data, hybrids, optimizers, zoo
from keraslstm.codec.model import ResidualLSTMCodec
from keraslstm.codec.training import fit_steps

RNG = np.random.default_rng(0)
DIGITS = RNG.random((8, 28, 28, 1)).astype("float32")
SEQUENCES = (RNG.random((4, 4, 8, 8, 1)) > 0.8).astype("float32")
PHOTOS = RNG.random((1, 24, 24, 3)).astype("float32")
PREDICTOR = dict(side=8, input_frames=2, output_frames=2, width=2, core_filters=4)

# name -> (a compiled model, what one train_on_batch takes, its optimizer attributes)
MODELS = {
    "GAN": (
        lambda: zoo.build("GAN", latent_dim=4, mlp_width=8),
        (DIGITS,),
        ("g_optimizer", "d_optimizer"),
    ),
    "VAE": (lambda: zoo.build("VAE", latent_dim=4), (DIGITS,), ("optimizer",)),
    "VAE-GAN": (
        lambda: zoo.build("VAE-GAN", latent_dim=4, width=4),
        (DIGITS,),
        ("optimizer", "d_optimizer"),
    ),
    "rollout predictor": (
        lambda: hybrids.build_predictor("ConvLSTM", 0, **PREDICTOR),
        (SEQUENCES[:, :-1], SEQUENCES[:, 1:]),
        ("optimizer",),
    ),
}


def _traces(model):
    """A list that grows by one each time TensorFlow traces `model`'s training step."""
    traces, step = [], model.train_step

    def counted(data):
        traces.append(data)
        return step(data)

    model.train_step = counted
    return traces


def _lazy(model, attributes):
    """`model` with fresh, unbuilt copies of its optimizers: Keras's default, which builds them
    inside the first training step."""
    for attribute in attributes:
        optimizer = getattr(model, attribute)
        setattr(model, attribute, optimizer.__class__.from_config(optimizer.get_config()))
    return model


def _assert_traced_once_and_alike(ours, lazy, train_ours, train_lazy):
    traced = {"ours": _traces(ours), "lazy": _traces(lazy)}
    train_ours()
    train_lazy()
    assert len(traced["ours"]) == 1 and len(traced["lazy"]) == 2
    for a, b in zip(ours.get_weights(), lazy.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", MODELS)
def test_a_compiled_model_traces_its_step_once_and_trains_as_a_lazily_built_one(name):
    make, batch, attributes = MODELS[name]
    ours, lazy = make(), _lazy(make(), attributes)
    assert all(getattr(ours, attribute).built for attribute in attributes)
    _assert_traced_once_and_alike(
        ours,
        lazy,
        lambda: [ours.train_on_batch(*batch) for _ in range(2)],
        lambda: [lazy.train_on_batch(*batch) for _ in range(2)],
    )


def test_the_codecs_training_loop_builds_the_optimizer_of_a_built_codec():
    def codec():
        keras.utils.set_random_seed(0)
        model = ResidualLSTMCodec(
            iterations=2, bits=4, encoder_filters=(4, 8, 8, 8), decoder_filters=(8, 8, 8, 4)
        )
        model.build((None, 16, 16, 3))
        model.compile(keras.optimizers.Adam(1e-3))
        return model

    ours, lazy = codec(), codec()
    _assert_traced_once_and_alike(
        ours,
        lazy,
        lambda: fit_steps(ours, PHOTOS, 2, batch_size=2, crop=16, progress=False),
        lambda: [lazy.train_on_batch(data.random_crops(PHOTOS, 16, 2, seed=s)) for s in range(2)],
    )


def test_built_builds_once_and_names_a_model_without_variables():
    optimizer = keras.optimizers.Adam()
    variables = [keras.Variable(np.zeros(3, "float32"))]
    assert optimizers.built(optimizer, variables) is optimizer and optimizer.built
    slots = [id(v) for v in optimizer.variables]
    optimizers.built(optimizer, variables + [keras.Variable(np.ones(2, "float32"))])
    assert [id(v) for v in optimizer.variables] == slots
    with pytest.raises(ValueError, match="build the model before compiling it"):
        optimizers.built(keras.optimizers.Adam(), [])
