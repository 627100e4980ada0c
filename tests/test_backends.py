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
    codec.build((None, 32, 32, 3))  # its training under JAX: the test below
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


JAX_TRAIN_SCRIPT = """
import sys
sys.modules["tensorflow"] = None  # JAX alone: an `import tensorflow` anywhere would fail
from pathlib import Path
import keras
import numpy as np
from keraslstm import gan, networks, vae
from keraslstm.codec import ResidualLSTMCodec, fingerprint, save_model
assert keras.backend.backend() == "jax"
folder = Path(sys.argv[1])
rng = np.random.default_rng(0)
# flat light patches: a codec that has learnt nothing outputs mid-grey (L1 about 0.25)
patches = np.stack([np.broadcast_to(rng.uniform(0.6, 0.9, 3), (32, 32, 3)) for _ in range(8)])
patches = patches.astype("float32")
codec = ResidualLSTMCodec(iterations=2, encoder_filters=(8, 16, 16, 16),
                          decoder_filters=(16, 16, 16, 16), seed=0)
codec.compile(keras.optimizers.Adam(1e-2))
losses = [codec.train_on_batch(patches, return_dict=True)["loss"] for _ in range(10)]
np.save(folder / "losses.npy", losses)
np.save(folder / "patches.npy", patches)
save_model(codec, folder / "jax.weights.h5", steps=10)
np.save(folder / "jax_out.npy", keras.ops.convert_to_numpy(codec(patches)))
(folder / "fingerprint").write_bytes(fingerprint(codec))
refused = []
for model in (gan.GAN(networks.mlp_generator(4), networks.mlp_discriminator(), 4),
              vae.VAEGAN(networks.mlp_encoder(4), networks.mlp_decoder(4),
                         networks.dcgan_discriminator(width=4), 4)):
    try:
        model.compile()
    except NotImplementedError as error:
        refused.append(str(error))
print("\\n".join(refused))
"""


@needs_jax
def test_codec_trains_under_jax_alone_and_tensorflow_loads_its_weights(tmp_path):
    """Training goes through compute_loss, so JAX trains the codec; the weights load under TF."""
    import keras
    import numpy as np

    from keraslstm.codec import fingerprint, load_model

    env = {**os.environ, "KERAS_BACKEND": "jax"}
    out = subprocess.run([sys.executable, "-c", JAX_TRAIN_SCRIPT, str(tmp_path)], env=env,
                         capture_output=True, text=True)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    losses = np.load(tmp_path / "losses.npy")
    assert losses[-3:].mean() < 0.75 * losses[:3].mean(), losses  # it learns, not just runs
    # the GAN and the VAE-GAN step with tf.GradientTape: compile refuses JAX, naming the backend
    refusals = out.stdout.strip().splitlines()
    assert [r.split(" trains only")[0] for r in refusals] == ["GAN", "VAEGAN"]
    assert all("KERAS_BACKEND is 'jax'" in r for r in refusals)

    assert keras.backend.backend() == "tensorflow"
    codec = load_model(tmp_path / "jax.weights.h5")
    assert fingerprint(codec) == (tmp_path / "fingerprint").read_bytes()
    patches = np.load(tmp_path / "patches.npy")
    under_tensorflow = keras.ops.convert_to_numpy(codec(patches))
    np.testing.assert_allclose(under_tensorflow, np.load(tmp_path / "jax_out.npy"), atol=1e-4)
