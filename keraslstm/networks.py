"""Every generator, discriminator, encoder and decoder builder of the notebooks, in one place.

Builders return plain functional `keras.Model`s. Images are `(batch, height, width, channels)` in
[0, 1]; discriminators return one logit; encoders return `[z_mean, z_log_var]`. With
`num_classes`, a network also takes a one-hot label as a second input (CGAN, CVAE).

- MLP and DCGAN generator and discriminator (notebook 02; Goodfellow 2014, Radford 2016).
- MLP encoder and decoder of the VAE family (notebook 02; Kingma 2014).
- The row-reading LSTM encoder of DLSTM and its convolutional ablation (notebook 01, paper 000).
- The row-reading LSTM discriminator and real-vs-fake detector (notebook 04, paper 003).
"""

import keras
import numpy as np
from keras import layers

from keraslstm.cells import HardSigmoidLSTMCell

__all__ = [
    "latent_inputs",
    "mlp_generator",
    "mlp_discriminator",
    "dcgan_generator",
    "dcgan_discriminator",
    "mlp_encoder",
    "mlp_decoder",
    "lstm_row_encoder",
    "conv_encoder",
    "row_lstm_discriminator",
    "row_lstm_units",
]


def latent_inputs(latent_dim, num_classes, n=None, labels=None, z=None, seed=0):
    """Prior draws N(0, I) (or the given `z`) and one-hot `labels` for a generator or decoder."""
    if z is None:
        z = np.random.default_rng(seed).normal(size=(n, latent_dim)).astype("float32")
    if num_classes is None:
        return z, None
    if labels is None:
        raise ValueError("this model is conditional: pass integer labels, one per image")
    return z, np.eye(num_classes, dtype="float32")[np.asarray(labels)]


def _inputs(latent_or_shape, num_classes, name):
    main = keras.Input(latent_or_shape, name=name)
    label = keras.Input((num_classes,), name="label") if num_classes else None
    return main, label


def _model(inputs, label, outputs, name):
    return keras.Model([inputs, label] if label is not None else inputs, outputs, name=name)


def mlp_generator(latent_dim, image_shape=(28, 28, 1), num_classes=None, width=256):
    """The original GAN's generator: two dense layers, sigmoid pixels in [0, 1]."""
    z, label = _inputs((latent_dim,), num_classes, "z")
    x = z if label is None else layers.Concatenate()([z, label])
    x = layers.Dense(width, activation="relu")(x)
    x = layers.Dense(2 * width, activation="relu")(x)
    x = layers.Dense(int(np.prod(image_shape)), activation="sigmoid")(x)
    return _model(z, label, layers.Reshape(image_shape)(x), "mlp_generator")


def mlp_discriminator(image_shape=(28, 28, 1), num_classes=None, width=256):
    """The original GAN's discriminator: two LeakyReLU dense layers, one logit out."""
    image, label = _inputs(image_shape, num_classes, "image")
    x = layers.Flatten()(image)
    if label is not None:
        x = layers.Concatenate()([x, label])
    x = layers.LeakyReLU(0.2)(layers.Dense(2 * width)(x))
    x = layers.LeakyReLU(0.2)(layers.Dense(width)(x))
    return _model(image, label, layers.Dense(1)(x), "mlp_discriminator")


def dcgan_generator(latent_dim, image_shape=(28, 28, 1), num_classes=None, width=64):
    """DCGAN generator (Radford 2016): dense to side/4, two stride-2 transposed convs with BN."""
    side, channels = image_shape[0], image_shape[-1]
    if side % 4:
        raise ValueError(f"dcgan_generator needs an image side divisible by 4, got {side}")
    z, label = _inputs((latent_dim,), num_classes, "z")
    x = z if label is None else layers.Concatenate()([z, label])
    x = layers.Dense((side // 4) ** 2 * 2 * width, use_bias=False)(x)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    x = layers.Reshape((side // 4, side // 4, 2 * width))(x)
    x = layers.Conv2DTranspose(width, 4, strides=2, padding="same", use_bias=False)(x)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    x = layers.Conv2DTranspose(channels, 4, strides=2, padding="same", activation="sigmoid")(x)
    return _model(z, label, x, "dcgan_generator")


def dcgan_discriminator(image_shape=(28, 28, 1), num_classes=None, width=64):
    """DCGAN discriminator: two stride-2 LeakyReLU convs, one logit. Labels join as extra channels.

    No batch normalisation, so the same network serves as a WGAN-GP critic (the penalty is per sample).
    """
    image, label = _inputs(image_shape, num_classes, "image")
    x = image
    if label is not None:
        planes = layers.Reshape((1, 1, num_classes))(label)
        planes = layers.UpSampling2D(image_shape[:2])(planes)
        x = layers.Concatenate()([image, planes])
    x = layers.LeakyReLU(0.2)(layers.Conv2D(width, 4, strides=2, padding="same")(x))
    x = layers.LeakyReLU(0.2)(layers.Conv2D(2 * width, 4, strides=2, padding="same")(x))
    return _model(image, label, layers.Dense(1)(layers.Flatten()(x)), "dcgan_discriminator")


def mlp_encoder(latent_dim, image_shape=(28, 28, 1), num_classes=None, hidden=(512, 256)):
    """Image (and label) -> (z_mean, z_log_var) through ReLU dense layers of widths `hidden`."""
    image = keras.Input(image_shape, name="image")
    inputs = [image]
    x = layers.Flatten()(image)
    if num_classes:
        label = keras.Input((num_classes,), name="label")
        inputs.append(label)
        x = layers.Concatenate()([x, label])
    for width in hidden:
        x = layers.Dense(width, activation="relu")(x)
    outputs = [
        layers.Dense(latent_dim, name="z_mean")(x),
        layers.Dense(latent_dim, name="z_log_var")(x),
    ]
    return keras.Model(inputs if num_classes else image, outputs, name="encoder")


def mlp_decoder(latent_dim, image_shape=(28, 28, 1), num_classes=None, hidden=(256, 512)):
    """Latent code (and label) -> pixel probabilities through ReLU dense layers of widths `hidden`."""
    z = keras.Input((latent_dim,), name="z")
    inputs = [z]
    x = z
    if num_classes:
        label = keras.Input((num_classes,), name="label")
        inputs.append(label)
        x = layers.Concatenate()([z, label])
    for width in hidden:
        x = layers.Dense(width, activation="relu")(x)
    x = layers.Dense(int(np.prod(image_shape)), activation="sigmoid")(x)
    return keras.Model(inputs if num_classes else z, layers.Reshape(image_shape)(x), name="decoder")


def _gaussian_heads(x, latent_dim, inputs, name):
    outputs = [
        layers.Dense(latent_dim, name="z_mean")(x),
        layers.Dense(latent_dim, name="z_log_var")(x),
    ]
    return keras.Model(inputs, outputs, name=name)


def lstm_row_encoder(
    latent_dim, image_shape=(28, 28, 1), num_classes=None, units=128, gate="hard_sigmoid"
):
    """DLSTM's encoder: an LSTM reads the image one row per time step; its last state is the code.

    Row `t` (all columns and channels, `width * channels` numbers) is the input at step `t`, so
    after the last row the hidden state has seen the whole image top to bottom (the "row LSTM"
    of sequence classifiers on MNIST). The label, if any, joins the final state before the
    Gaussian heads. `gate` is the cell's gate activation (`keraslstm.cells.GATES`).
    """
    height, width, channels = image_shape
    image, label = _inputs(image_shape, num_classes, "image")
    rows = layers.Reshape((height, width * channels), name="rows")(image)
    cell = HardSigmoidLSTMCell(units, gate_activation=gate)
    x = layers.RNN(cell, name="row_lstm")(rows)
    if label is not None:
        x = layers.Concatenate()([x, label])
    return _gaussian_heads(
        x, latent_dim, [image, label] if label is not None else image, "lstm_encoder"
    )


def conv_encoder(
    latent_dim, image_shape=(28, 28, 1), num_classes=None, filters=(16, 32, 64), hidden=56
):
    """The ablation of DLSTM's encoder: stride-2 convolutions and a dense layer, no recurrence.

    With the defaults it has about as many weights as `lstm_row_encoder(units=128)` on 28x28
    digits (83k against 85k), so a comparison of the two isolates the LSTM from the rest.
    """
    image, label = _inputs(image_shape, num_classes, "image")
    x = image
    for width in filters:
        x = layers.Conv2D(width, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Dense(hidden, activation="relu")(layers.Flatten()(x))
    if label is not None:
        x = layers.Concatenate()([x, label])
    inputs = [image, label] if label is not None else image
    return _gaussian_heads(x, latent_dim, inputs, "conv_encoder")


# Notebook 04 (paper 003): an LSTM that reads an image row by row as a discriminator / detector.


def row_lstm_discriminator(image_shape=(28, 28, 1), units=32, bidirectional=False):
    """A real-vs-fake discriminator that reads the image one row per time step; one logit out.

    Row `t` (`width * channels` numbers) is the LSTM's input at step `t`; the last hidden state
    (of both directions with `bidirectional`) goes through one dense layer to the logit. The cell
    is the project's `HardSigmoidLSTMCell` (hard-sigmoid gates, from seed 004; seed 003 writes
    sigmoid). Fits `keraslstm.gan.GAN` as is.
    """
    height, width, channels = image_shape
    image = keras.Input(image_shape, name="image")
    rows = layers.Reshape((height, width * channels), name="rows")(image)
    reader = layers.RNN(HardSigmoidLSTMCell(units), name="row_lstm")
    if bidirectional:
        reader = layers.Bidirectional(reader, name="row_bilstm")
    logit = layers.Dense(1, name="logit")(reader(rows))
    return keras.Model(image, logit, name="row_lstm_discriminator")


def row_lstm_units(n_params, image_shape=(28, 28, 1), bidirectional=False):
    """The LSTM width whose `row_lstm_discriminator` has about `n_params` weights.

    The LSTM has `4 u (f + u + 1)` weights for `f = width * channels` inputs per row, plus
    `u + 1` in the dense head (twice both with `bidirectional`); solves for `u` and rounds.
    """
    if n_params <= 0:
        raise ValueError(f"n_params must be positive, got {n_params}")
    features = image_shape[1] * image_shape[2]
    per_direction = n_params / (2 if bidirectional else 1)
    # 4u^2 + (4f + 5)u + 1 - per_direction = 0
    a, b, c = 4.0, 4.0 * features + 5.0, 1.0 - per_direction
    units = (-b + np.sqrt(b * b - 4 * a * c)) / (2 * a)
    return max(1, int(round(units)))
