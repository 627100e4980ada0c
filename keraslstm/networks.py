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
- Next-frame predictors (ConvLSTM encoder-forecaster, CNN-only, copy-last-frame), the hybrid
  LSTM + CNN generator with optional attention, and a discriminator transferred from the digit
  classifier (notebook 03, Vinay et al.; Shi 2015, Srivastava 2015).
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
    "convlstm_predictor",
    "cnn_predictor",
    "copy_last_frame",
    "frame_baselines",
    "hybrid_generator",
    "attention_scores_model",
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


def convlstm_predictor(
    frame_shape=(32, 32, 1), input_frames=10, output_frames=10, width=16, filters=(32, 32)
):
    """Shi et al. 2015's encoder-forecaster: CNN frame encoder, stacked ConvLSTMs, CNN decoder.

    Each input frame goes through two stride-2 convolutions (side / 4); an encoder stack of
    `ConvLSTMCell`s (3x3 input and hidden kernels, widths `filters`) reads the coded frames; a
    forecaster stack of the same widths starts from the encoder's final `[h, c]` states, layer by
    layer, and sees the last coded frame at every step; a transposed-conv decoder turns each
    forecast state, next to the last coded frame (a content skip, as in Denton & Fergus 2018, so
    the LSTMs carry the motion rather than the shapes; it also helps the stack leave the
    blank-frame plateau on a short CPU budget), into a frame of pixel probabilities.
    Inputs `(batch, input_frames, H, W, C)`; outputs `(batch, output_frames, H, W, C)`.
    """
    from keraslstm.cells import ConvLSTMCell, ConvRNN

    _check_frames(frame_shape, input_frames)
    side, channels = frame_shape[0], frame_shape[-1]
    frames = keras.Input((input_frames, *frame_shape), name="frames")
    x = layers.TimeDistributed(
        layers.Conv2D(width, 3, strides=2, padding="same", activation="relu"), name="frame_conv1"
    )(frames)
    coded = layers.TimeDistributed(
        layers.Conv2D(2 * width, 3, strides=2, padding="same", activation="relu"),
        name="frame_conv2",
    )(x)
    x, states = coded, []
    for i, f in enumerate(filters):
        cell = ConvLSTMCell(f, 3, hidden_kernel_size=3, gate="sigmoid")
        x, h, c = ConvRNN(
            cell, return_sequences=True, return_state=True, name=f"encoder_lstm{i + 1}"
        )(x)
        states.append([h, c])
    last = layers.Reshape((side // 4, side // 4, 2 * width))(
        layers.Cropping3D(((input_frames - 1, 0), (0, 0), (0, 0)))(coded)
    )
    x = layers.Flatten()(last)
    x = layers.RepeatVector(output_frames)(x)
    x = last_frames = layers.Reshape((output_frames, side // 4, side // 4, 2 * width))(x)
    for i, (f, state) in enumerate(zip(filters, states, strict=True)):
        cell = ConvLSTMCell(f, 3, hidden_kernel_size=3, gate="sigmoid")
        x = ConvRNN(cell, return_sequences=True, name=f"forecaster_lstm{i + 1}")(
            x, initial_state=state
        )
    x = layers.Concatenate(name="content_skip")([x, last_frames])
    x = layers.TimeDistributed(
        layers.Conv2DTranspose(width, 4, strides=2, padding="same", activation="relu"),
        name="frame_deconv1",
    )(x)
    x = layers.TimeDistributed(
        layers.Conv2DTranspose(channels, 4, strides=2, padding="same", activation="sigmoid"),
        name="frame_deconv2",
    )(x)
    return keras.Model(frames, x, name="convlstm_predictor")


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
    units=128,
    width=32,
    attention_heads=0,
    gate="hard_sigmoid",
):
    """Vinay et al.'s hybrid: an LSTM emits a coarse feature map row by row, a CNN adds the detail.

    At each of `side / 4` steps the LSTM (`HardSigmoidLSTMCell`, `units`) reads its own linear
    projection of the noise and the label (one dense layer, reshaped into a sequence: identical
    inputs at every step trained far slower) and emits one row of a `side/4 x side/4 x 2*width` map; two
    stride-2 transposed convolutions (as in `dcgan_generator`) upsample it to the image. With
    `attention_heads > 0`, each step's state also attends over the states of the steps before it
    (causal `MultiHeadAttention`, layer "row_attention", residual), the attention variant.
    """
    side, channels = image_shape[0], image_shape[-1]
    if side % 4:
        raise ValueError(f"hybrid_generator needs an image side divisible by 4, got {side}")
    steps = side // 4
    z, label = _inputs((latent_dim,), num_classes, "z")
    code = z if label is None else layers.Concatenate()([z, label])
    x = layers.Dense(steps * units // 4, activation="relu", name="step_inputs")(code)
    step_inputs = layers.Reshape((steps, units // 4))(x)  # a projection of [z, y] per step
    states = layers.RNN(
        HardSigmoidLSTMCell(units, gate=gate), return_sequences=True, name="row_lstm"
    )(step_inputs)
    if attention_heads:
        attended = layers.MultiHeadAttention(
            attention_heads, max(1, units // (2 * attention_heads)), name="row_attention"
        )(states, states, use_causal_mask=True, return_attention_scores=True)
        attended = attended[0]  # the weights are read by `attention_scores_model`
        states = layers.LayerNormalization()(layers.Add()([states, attended]))
    x = layers.Concatenate()([states, step_inputs])  # the row's own input next to the state
    x = layers.Dense(steps * 2 * width, use_bias=False)(x)
    x = layers.Reshape((steps, steps, 2 * width))(x)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    x = layers.Conv2DTranspose(width, 4, strides=2, padding="same", use_bias=False)(x)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    x = layers.Conv2DTranspose(channels, 4, strides=2, padding="same", activation="sigmoid")(x)
    name = "hybrid_attention_generator" if attention_heads else "hybrid_generator"
    return _model(z, label, x, name)


def attention_scores_model(generator):
    """A model from the generator's inputs to its "row_attention" weights `(batch, heads, steps, steps)`."""
    try:
        attention = generator.get_layer("row_attention")
    except ValueError:
        raise ValueError(
            f"{generator.name} has no 'row_attention' layer; build it with attention_heads > 0"
        ) from None
    return keras.Model(generator.inputs, attention.output[1], name="row_attention_scores")


def transfer_discriminator(classifier, num_classes=None, fine_tune=True, pretrained=True):
    """A discriminator that starts from a trained digit classifier (transfer learning, Vinay et al.).

    The classifier's layers up to its "features" layer are copied (fresh weights-identical layers,
    so the original is untouched) and topped with one logit; with `num_classes` the one-hot label
    joins the features (projection-free conditioning). `fine_tune=False` freezes the copied layers;
    `pretrained=False` keeps the architecture but draws fresh random weights (the control that
    separates what the weights bring from what the bigger network brings).
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
