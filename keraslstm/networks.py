"""Every generator, discriminator, encoder and decoder builder of the notebooks, in one place.

Builders return plain functional `keras.Model`s. Images are `(batch, height, width, channels)` in
[0, 1]; discriminators return one logit; encoders return `[z_mean, z_log_var]`. With
`num_classes`, a network also takes a one-hot label as a second input (CGAN, CVAE).

- MLP and DCGAN generator and discriminator (notebook 02; Goodfellow 2014, Radford 2016).
- MLP encoder and decoder of the VAE family, and the convolutional VAE's encoder (the DCGAN
  discriminator's body with Gaussian heads; its decoder is the DCGAN generator) (notebook 02;
  Kingma 2014).
- The row-reading LSTM encoder of DLSTM and its convolutional ablation (notebook 01, the DLSTM paper).
- The row-reading LSTM discriminator and real-vs-fake detector (notebook 04, Somasekar & Naveen 2021).
- The one-shot CNN frame predictor and the baselines a predictor must beat (the recurrent
  predictor is `keraslstm.frames`), the hybrid generator (the DCGAN's with a row-LSTM residual and
  optional SAGAN self-attention), the minibatch-std channel and a discriminator transferred from
  the digit classifier (notebook 03, Vinay et al.; Srivastava 2015, Zhang 2019, Karras 2018).
"""

import keras
import numpy as np
from keras import layers, ops

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
    "cnn_predictor",
    "copy_last_frame",
    "frame_baselines",
    "hybrid_generator",
    "attention_maps",
    "SelfAttention2D",
    "MinibatchStdDev",
    "transfer_discriminator",
    "dcgan_encoder",
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


def dcgan_discriminator(image_shape=(28, 28, 1), num_classes=None, width=64, minibatch_std=False):
    """DCGAN discriminator: two stride-2 LeakyReLU convs, one logit. Labels join as extra channels.

    No batch normalisation, so the same network serves as a WGAN-GP critic (the penalty is per
    sample). `minibatch_std` appends the batch's spread as a channel before the logit
    (`MinibatchStdDev`): the discriminator then sees a collapsed batch as one.
    """
    image, label = _inputs(image_shape, num_classes, "image")
    x = image
    if label is not None:
        planes = layers.Reshape((1, 1, num_classes))(label)
        planes = layers.UpSampling2D(image_shape[:2])(planes)
        x = layers.Concatenate()([image, planes])
    x = layers.LeakyReLU(0.2)(layers.Conv2D(width, 4, strides=2, padding="same")(x))
    x = layers.LeakyReLU(0.2)(layers.Conv2D(2 * width, 4, strides=2, padding="same")(x))
    if minibatch_std:
        x = MinibatchStdDev(name="minibatch_std")(x)
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
    cell = HardSigmoidLSTMCell(units, gate=gate)
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


# Notebook 04 (Somasekar & Naveen 2021): an LSTM that reads an image row by row as a discriminator / detector.


def row_lstm_discriminator(image_shape=(28, 28, 1), units=32, bidirectional=False, gate="hard_sigmoid"):  # fmt: skip
    """A real-vs-fake discriminator that reads the image one row per time step; one logit out.

    Row `t` (`width * channels` numbers) is the LSTM's input at step `t`; the last hidden state
    (of both directions with `bidirectional`) goes through one dense layer to the logit. The cell
    is the project's `HardSigmoidLSTMCell` with `gate` as its gates' activation: the compression
    paper's hard sigmoid by default, "sigmoid" for the paper of notebook 04 (Somasekar & Naveen,
    Eqs. 1-6). Fits `keraslstm.gan.GAN` as is.
    """
    height, width, channels = image_shape
    image = keras.Input(image_shape, name="image")
    rows = layers.Reshape((height, width * channels), name="rows")(image)
    reader = layers.RNN(HardSigmoidLSTMCell(units, gate=gate), name="row_lstm")
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


# Notebook 03 (Vinay et al.): frame predictors, a hybrid LSTM + CNN generator, transfer discriminator.


def _check_frames(frame_shape, input_frames):
    side = frame_shape[0]
    if side % 4 or frame_shape[1] != side:
        raise ValueError(
            f"frame predictors need square frames with a side divisible by 4, got {frame_shape}"
        )
    if int(input_frames) < 1:
        raise ValueError(f"input_frames must be at least 1, got {input_frames}")


def cnn_predictor(frame_shape=(32, 32, 1), input_frames=10, output_frames=10, width=32, depth=2):
    """The CNN-only baseline: the input frames stacked as channels, an encoder-decoder CNN.

    Two stride-2 convolutions, `depth` 3x3 convolutions at side / 4, two stride-2 transposed
    convolutions to `output_frames * channels` sigmoid channels, unstacked into frames. No state
    is carried from step to step: all future frames come out of one forward pass.
    """
    _check_frames(frame_shape, input_frames)
    side, channels = frame_shape[0], frame_shape[-1]
    frames = keras.Input((input_frames, *frame_shape), name="frames")
    x = layers.Permute((2, 3, 1, 4))(frames)
    x = layers.Reshape((side, side, input_frames * channels))(x)
    x = layers.Conv2D(width, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Conv2D(2 * width, 3, strides=2, padding="same", activation="relu")(x)
    for _ in range(depth):
        x = layers.Conv2D(2 * width, 3, padding="same", activation="relu")(x)
    x = layers.Conv2DTranspose(width, 4, strides=2, padding="same", activation="relu")(x)
    x = layers.Conv2DTranspose(
        output_frames * channels, 4, strides=2, padding="same", activation="sigmoid"
    )(x)
    x = layers.Reshape((side, side, output_frames, channels))(x)
    return keras.Model(frames, layers.Permute((3, 1, 2, 4))(x), name="cnn_predictor")


def copy_last_frame(frames, output_frames=10):
    """The trivial baseline: the last observed frame, repeated `output_frames` times (NumPy)."""
    frames = np.asarray(frames)
    if frames.ndim != 5:
        raise ValueError(f"copy_last_frame takes (batch, time, H, W, C) frames, got {frames.shape}")
    return np.repeat(frames[:, -1:], output_frames, axis=1)


def frame_baselines(frames, train_futures, output_frames=10, blur_sigma=1.0):
    """The untrained predictions a frame predictor must beat, each `(batch, output_frames, H, W, C)`.

    "blank" (all zeros), "mean frame" (the mean future frame of the training sequences
    `train_futures`, the best constant), "copy last" (the last observed frame) and "blurred copy
    last" (it, Gaussian-blurred by `blur_sigma` pixels: a diffuse guess scores better on MSE than
    a sharp wrong one, so a predictor that only learned to blur must beat this, not copy-last).
    """
    from scipy.ndimage import gaussian_filter

    last = copy_last_frame(frames, output_frames).astype("float32")
    train_futures = np.asarray(train_futures, "float32")
    if train_futures.ndim != 5 or train_futures.shape[2:] != last.shape[2:]:
        raise ValueError(f"train_futures must be (batch, time, H, W, C) frames like {last.shape[2:]}, got {train_futures.shape}")  # fmt: skip
    mean_frame = train_futures.mean(axis=(0, 1))
    return {
        "blank": np.zeros_like(last),
        "mean frame": np.broadcast_to(mean_frame, last.shape).copy(),
        "copy last": last,
        "blurred copy last": gaussian_filter(last, sigma=(0, 0, blur_sigma, blur_sigma, 0), mode="constant"),
    }  # fmt: skip


def hybrid_generator(
    latent_dim,
    image_shape=(28, 28, 1),
    num_classes=None,
    width=32,
    units=128,
    attention=False,
    gate="sigmoid",
):
    """Vinay et al.'s hybrid as an ablation of a working CNN: `dcgan_generator` plus a row LSTM.

    The DCGAN generator's `side/4 x side/4 x 2*width` map is read top to bottom by an LSTM
    (`HardSigmoidLSTMCell(units, gate)`, layer "row_lstm"), one row of the map per step, and a
    dense layer turns each state into a correction of its row that is added to the map
    ("row_residual", zero-initialised: the untrained hybrid *is* the DCGAN, so whatever the LSTM
    changes, training put there). With `attention`, SAGAN-style self-attention
    (`SelfAttention2D`, layer "self_attention", its gate zero-initialised too) runs over the
    `side/2` map, where strokes are drawn. Sigmoid gates by default: the hard sigmoid has zero
    gradient beyond +-2.5 and the paper does not ask for it.
    """
    side, channels = image_shape[0], image_shape[-1]
    if side % 4:
        raise ValueError(f"hybrid_generator needs an image side divisible by 4, got {side}")
    steps = side // 4
    z, label = _inputs((latent_dim,), num_classes, "z")
    x = z if label is None else layers.Concatenate()([z, label])
    x = layers.Dense(steps * steps * 2 * width, use_bias=False)(x)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    x = layers.Reshape((steps, steps, 2 * width))(x)
    rows = layers.Reshape((steps, steps * 2 * width))(x)  # step t reads row t of the map
    states = layers.RNN(
        HardSigmoidLSTMCell(units, gate=gate), return_sequences=True, name="row_lstm"
    )(rows)
    correction = layers.Dense(steps * 2 * width, kernel_initializer="zeros", name="row_residual")(
        states
    )
    x = layers.Add()([x, layers.Reshape((steps, steps, 2 * width))(correction)])
    x = layers.Conv2DTranspose(width, 4, strides=2, padding="same", use_bias=False)(x)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    if attention:
        x = SelfAttention2D(name="self_attention")(x)
    x = layers.Conv2DTranspose(channels, 4, strides=2, padding="same", activation="sigmoid")(x)
    name = "hybrid_attention_generator" if attention else "hybrid_generator"
    return _model(z, label, x, name)


def attention_maps(generator, inputs):
    """The "self_attention" weights of `generator` on `inputs` (NumPy `(batch, N, N)`, N the
    positions of the attended map, rows: where attention is paid from, summing to 1)."""
    try:
        attention = generator.get_layer("self_attention")
    except ValueError:
        raise ValueError(
            f"{generator.name} has no 'self_attention' layer; build it with attention=True"
        ) from None
    features = keras.Model(generator.inputs, attention.input)(inputs)
    return keras.ops.convert_to_numpy(attention.scores(features))


@keras.saving.register_keras_serializable(package="keraslstm")
class SelfAttention2D(layers.Layer):
    """SAGAN self-attention (Zhang et al. 2019) over a feature map `(batch, H, W, C)`.

    Every position's query (a `C // 8`-channel 1x1 projection) meets every position's key; the
    softmax of those dot products weights the positions' values (a `C`-channel projection), and
    the result is added to the map times a learned scalar `gamma` that starts at 0, so the layer
    begins as the identity and the network opens it as far as it helps.
    """

    def build(self, input_shape):
        channels = input_shape[-1]
        inner = max(1, channels // 8)
        self.query = self.add_weight(shape=(channels, inner), name="query")
        self.key = self.add_weight(shape=(channels, inner), name="key")
        self.value = self.add_weight(shape=(channels, channels), name="value")
        self.gamma = self.add_weight(shape=(), initializer="zeros", name="gamma")

    def _flat(self, inputs):
        shape = ops.shape(inputs)
        return ops.reshape(inputs, (shape[0], shape[1] * shape[2], shape[3]))

    def scores(self, inputs):
        """The attention weights `(batch, H * W, H * W)`; row i is where position i looks."""
        flat = self._flat(inputs)
        queries, keys = ops.matmul(flat, self.query), ops.matmul(flat, self.key)
        logits = ops.matmul(queries, ops.transpose(keys, (0, 2, 1)))
        return ops.softmax(logits, axis=-1)

    def call(self, inputs):
        attended = ops.matmul(self.scores(inputs), ops.matmul(self._flat(inputs), self.value))
        return inputs + self.gamma * ops.reshape(attended, ops.shape(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="keraslstm")
class MinibatchStdDev(layers.Layer):
    """Append the batch's diversity as one more channel (Karras et al. 2018, ProGAN).

    The standard deviation of every feature over the batch, averaged over features (and
    positions), is appended to every sample as a constant channel. A generator that draws one
    digit for every noise gives a batch with a low value that the discriminator can learn to call
    fake, which pushes the generator away from collapse.
    """

    def call(self, inputs):
        spread = ops.sqrt(ops.var(inputs, axis=0) + 1e-8)
        level = ops.mean(spread)
        return ops.concatenate([inputs, ops.ones_like(inputs[..., :1]) * level], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)


def transfer_discriminator(classifier, num_classes=None, fine_tune=True, pretrained=True, minibatch_std=False):  # fmt: skip
    """A discriminator that starts from a trained digit classifier (transfer learning, Vinay et al.).

    The classifier's layers up to its "features" layer are copied (fresh weights-identical layers,
    so the original is untouched) and topped with one logit; with `num_classes` the one-hot label
    joins the features (projection-free conditioning). `fine_tune=False` freezes the copied layers;
    `pretrained=False` keeps the architecture but draws fresh random weights (the control that
    separates what the weights bring from what the bigger network brings). `minibatch_std`
    appends the batch's spread to the features (`MinibatchStdDev`), as in `dcgan_discriminator`.
    """
    source = keras.models.clone_model(classifier)  # new layers, freshly initialised
    if pretrained:
        source.set_weights(classifier.get_weights())
    names = [layer.name for layer in source.layers]
    if "features" not in names:
        raise ValueError(f"the classifier needs a layer named 'features', has {names}")
    image_shape = tuple(classifier.input_shape[1:])
    image, label = _inputs(image_shape, num_classes, "image")
    x = image
    for layer in source.layers[: names.index("features") + 1]:
        layer.trainable = fine_tune
        x = layer(x)
    if minibatch_std:
        x = MinibatchStdDev(name="minibatch_std")(x)
    if label is not None:
        x = layers.Concatenate()([x, label])
    x = layers.LeakyReLU(0.2)(layers.Dense(64)(x))
    return _model(image, label, layers.Dense(1)(x), "transfer_discriminator")


# Notebook 02 (Li's survey): the convolutional VAE, with the DCGAN's networks.


def dcgan_encoder(latent_dim, image_shape=(28, 28, 1), num_classes=None, width=64):
    """The convolutional VAE's encoder: `dcgan_discriminator`'s body with Gaussian heads.

    Two stride-2 LeakyReLU convolutions (`width`, `2 * width` filters, 4x4), flattened, then dense
    `z_mean` and `z_log_var`. With `dcgan_generator` as its decoder, a VAE has the same
    convolutional networks as the DCGAN, so a VAE-vs-GAN comparison is not one of architectures.
    The label, if any, joins the image as constant extra channels (as in the discriminator).
    """
    image, label = _inputs(image_shape, num_classes, "image")
    x = image
    if label is not None:
        planes = layers.UpSampling2D(image_shape[:2])(layers.Reshape((1, 1, num_classes))(label))
        x = layers.Concatenate()([image, planes])
    x = layers.LeakyReLU(0.2)(layers.Conv2D(width, 4, strides=2, padding="same")(x))
    x = layers.LeakyReLU(0.2)(layers.Conv2D(2 * width, 4, strides=2, padding="same")(x))
    inputs = [image, label] if label is not None else image
    return _gaussian_heads(layers.Flatten()(x), latent_dim, inputs, "dcgan_encoder")
