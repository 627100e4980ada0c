"""The layers and the codec under the JAX backend, and TensorFlow-saved weights and files read there."""

import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import numpy as np, keras
    from keras import ops
    from keraslstm import (Binarizer, ConvLSTMCell, ConvLSTMEncoder, ConvRNN, DepthToSpace,
                           HardSigmoidLSTMCell)
    assert keras.backend.backend() == "jax"
    rng = np.random.default_rng(0)

    x = rng.random((2, 5, 3)).astype("float32")
    reference = keras.layers.LSTM(4)
    want = reference(x)
    ours = keras.layers.RNN(HardSigmoidLSTMCell(4, gate="sigmoid"))
    ours(x)
    ours.set_weights(reference.get_weights())
    np.testing.assert_allclose(ours(x), want, atol=1e-5)

    inputs = keras.Input((32, 32, 3))
    code, _ = ConvLSTMEncoder(filters=(8, 16, 16, 16))(inputs)
    bits = Binarizer(4, seed=0)(code)
    image = DepthToSpace(4)(keras.layers.Conv2D(48, 1)(bits))
    model = keras.Model(inputs, DepthToSpace(4)(keras.layers.Conv2D(48, 1)(image)))
    model.compile(optimizer="adam", loss="mae")
    patches = rng.random((8, 32, 32, 3)).astype("float32")
    history = model.fit(patches, patches, epochs=2, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    code_value = model.layers[1](patches)[0]
    assert set(np.unique(ops.convert_to_numpy(model.layers[2](code_value)))) <= {-1.0, 1.0}
    model.save("model.keras")
    loaded = keras.models.load_model("model.keras")
    np.testing.assert_array_equal(loaded(patches), model(patches))

    seq = rng.random((2, 3, 8, 8, 2)).astype("float32")
    rnn = keras.Sequential([keras.Input((3, 8, 8, 2)), ConvRNN(ConvLSTMCell(4, 3, strides=2))])
    assert rnn(seq).shape == (2, 4, 4, 4)
    from keraslstm.codec import ResidualLSTMCodec, compress, decompress

    codec = ResidualLSTMCodec(iterations=2, encoder_filters=(8, 16, 16, 16), decoder_filters=(16, 16, 16, 16))
    codec.compile(optimizer="adam")
    losses = codec.fit(patches, epochs=2, batch_size=4, verbose=0).history["loss"]
    assert np.isfinite(losses).all()
    image = (rng.random((20, 36, 3)) * 255).astype("uint8")
    assert decompress(compress(image, iterations=2, model=codec), model=codec).shape == image.shape
    print("ok")
    """
)


needs_jax = pytest.mark.skipif(
    importlib.util.find_spec("jax") is None, reason="jax is not installed (requirements.txt has it)"
)


@needs_jax
def test_layers_train_save_and_load_under_jax(tmp_path):
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")


DECODE_SCRIPT = """
import sys
from pathlib import Path
import keras
import numpy as np
import keraslstm
from keraslstm.codec import decompress, load_model
assert keras.backend.backend() == "jax"
folder = Path(sys.argv[1])
np.save(folder / "jax.npy", decompress((folder / "tf.klc").read_bytes(), model=load_model()))
"""


@needs_jax
def test_tensorflow_saved_weights_decode_tensorflow_files_under_jax(tmp_path):
    """The shipped weights were saved under TensorFlow; JAX loads them and reads TF's files."""
    import keras
    import numpy as np
    from skimage.data import astronaut

    from keraslstm.codec import compress, decompress, load_model

    assert keras.backend.backend() == "tensorflow"
    image = astronaut()[100:164, 150:246]
    data = compress(image, iterations=6, model=load_model())
    (tmp_path / "tf.klc").write_bytes(data)
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    out = subprocess.run([sys.executable, "-c", DECODE_SCRIPT, str(tmp_path)], env=env,
                         capture_output=True, text=True)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]  # a fingerprint mismatch would fail here
    under_jax = np.load(tmp_path / "jax.npy").astype(int)
    under_tensorflow = decompress(data, model=load_model()).astype(int)
    assert under_jax.shape == image.shape
    assert np.abs(under_jax - under_tensorflow).max() <= 1  # float rounding at most one level
