"""The residual recurrent image codec of seed 004 (Toderici et al. 2017, with the paper's changes).

Each iteration encodes the current residual with the ConvLSTM encoder, binarizes it (`bits`
channels at 1/16 of the resolution: 32 bits per 16x16 pixels = 0.125 bpp), and decodes the bits
with a ConvLSTM decoder; the reconstruction grows additively (`gamma=None`) or as the paper's
`x_t = D_t(b_t) + gamma * x_{t-1}`. The paper's changes are options: hard-sigmoid gates
(`gate`), the image recovery block instead of depth-to-space (`decoder="recovery"`), and the
SmoothL1 loss (`loss="smooth_l1"`). Training goes through `compute_loss`, so it runs on any
backend; inference is fully convolutional (pad to a multiple of 16, crop back).
"""

import keras
import numpy as np
from keras import layers, ops

from keraslstm.cells import ConvLSTMCell, _gate_config, _gate_from_config, gate_function
from keraslstm.layers import Binarizer, ConvLSTMEncoder, DepthToSpace

__all__ = ["RecoveryBlock", "ConvLSTMDecoder", "ResidualLSTMCodec", "DECODERS", "CODEC_LOSSES"]

DECODERS = ("depth_to_space", "recovery")
CODEC_LOSSES = ("l1", "smooth_l1")


def _check(name, value, valid):
    if value not in valid:
        raise ValueError(f"Unknown {name} {value!r}; valid: {', '.join(map(repr, valid))}")


@keras.saving.register_keras_serializable(package="keraslstm")
class RecoveryBlock(keras.layers.Layer):
    """The paper's image recovery block: 2x upsampling learnt on top of depth-to-space.

    Two 3x3 convs extract features, a stride-2 transposed conv upsamples, two more 3x3 convs
    refine, and the result is added to the depth-to-space of the block's input (the "merge with
    the input"). `(b, h, w, c)` -> `(b, 2h, 2w, c / 4)`, like `DepthToSpace(2)`.
    """

    def __init__(self, channels, **kwargs):
        super().__init__(**kwargs)
        if channels % 4:
            raise ValueError(f"RecoveryBlock needs channels divisible by 4, got {channels}")
        self.channels = int(channels)
        out = self.channels // 4
        self.extract = [
            layers.Conv2D(self.channels, 3, padding="same", activation="relu") for _ in range(2)
        ]
        self.upsample = layers.Conv2DTranspose(out, 4, strides=2, padding="same", activation="relu")
        self.refine = [
            layers.Conv2D(out, 3, padding="same", activation="relu"),
            layers.Conv2D(out, 3, padding="same", kernel_initializer="zeros"),
        ]
        self.shuffle = DepthToSpace(2)

    def build(self, input_shape):
        shape = input_shape
        for layer in [*self.extract, self.upsample, *self.refine]:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)

    def call(self, inputs):
        x = inputs
        for layer in [*self.extract, self.upsample, *self.refine]:
            x = layer(x)
        return self.shuffle(inputs) + x

    def compute_output_shape(self, input_shape):
        return self.shuffle.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels}


@keras.saving.register_keras_serializable(package="keraslstm")
class ConvLSTMDecoder(keras.layers.Layer):
    """Toderici 2017's decoder: 1x1 conv, ConvLSTM cells each followed by 2x upsampling, 1x1 conv to RGB.

    Cells have input kernels `kernel_sizes` and hidden kernels `hidden_kernel_sizes`;
    `upsample` is `"depth_to_space"` or the paper's `"recovery"` block. `call(bits, states=None)`
    maps `(b, h, w, bits)` to `(b, h * 2**n, w * 2**n, 3)` in [-1, 1] and returns the new states.
    """

    def __init__(
        self,
        filters=(512, 512, 256, 128),
        kernel_sizes=(2, 3, 3, 3),
        hidden_kernel_sizes=(1, 1, 3, 3),
        upsample="depth_to_space",
        gate_activation="hard_sigmoid",
        channels=3,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check("decoder", upsample, DECODERS)
        if not len(filters) == len(kernel_sizes) == len(hidden_kernel_sizes):
            raise ValueError(
                "filters, kernel_sizes and hidden_kernel_sizes need one entry per cell"
            )
        self.filters = tuple(int(f) for f in filters)
        self.kernel_sizes = tuple(int(k) for k in kernel_sizes)
        self.hidden_kernel_sizes = tuple(int(k) for k in hidden_kernel_sizes)
        self.upsample = upsample
        self.gate_activation = gate_activation
        self.channels = int(channels)
        self.stem = layers.Conv2D(self.filters[0], 1, name="stem")
        self.cells = [
            ConvLSTMCell(
                f, k, hidden_kernel_size=hk, gate_activation=gate_activation, name=f"conv_lstm_{i}"
            )
            for i, (f, k, hk) in enumerate(
                zip(self.filters, self.kernel_sizes, self.hidden_kernel_sizes, strict=True)
            )
        ]
        self.upsamplers = [
            RecoveryBlock(f, name=f"recovery_{i}")
            if upsample == "recovery"
            else DepthToSpace(2, name=f"d2s_{i}")
            for i, f in enumerate(self.filters)
        ]
        self.to_rgb = layers.Conv2D(self.channels, 1, activation="tanh", name="to_rgb")

    @property
    def scale(self):
        return 2 ** len(self.filters)

    def build(self, input_shape):
        shape = input_shape
        self.stem.build(shape)
        shape = self.stem.compute_output_shape(shape)
        for cell, up in zip(self.cells, self.upsamplers, strict=True):
            cell.build(shape)
            shape = cell.compute_output_shape(shape)
            up.build(shape)
            shape = up.compute_output_shape(shape)
        self.to_rgb.build(shape)

    def get_initial_state(self, bits):
        batch, height, width = ops.shape(bits)[:3]
        states = []
        for cell in self.cells:
            zeros = ops.zeros((batch, height, width, cell.filters), dtype=self.compute_dtype)
            states.append([zeros, zeros])
            height, width = 2 * height, 2 * width
        return states

    def call(self, bits, states=None, training=False):
        if states is None:
            states = self.get_initial_state(bits)
        x = self.stem(bits)
        new_states = []
        for cell, up, state in zip(self.cells, self.upsamplers, states, strict=True):
            x, state = cell(x, state, training=training)
            new_states.append(state)
            x = up(x)
        return self.to_rgb(x), new_states

    def get_config(self):
        return {
            **super().get_config(),
            "filters": list(self.filters),
            "kernel_sizes": list(self.kernel_sizes),
            "hidden_kernel_sizes": list(self.hidden_kernel_sizes),
            "upsample": self.upsample,
            "gate_activation": _gate_config(self.gate_activation),
            "channels": self.channels,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["gate_activation"] = _gate_from_config(config["gate_activation"])
        return cls(**config)


def smooth_l1(error, delta=1.0):
    """Huber-style SmoothL1 (PyTorch's `SmoothL1Loss`, beta = `delta`): quadratic below `delta`."""
    magnitude = ops.abs(error)
    return ops.where(magnitude < delta, 0.5 * error**2 / delta, magnitude - 0.5 * delta)


@keras.saving.register_keras_serializable(package="keraslstm")
class ResidualLSTMCodec(keras.Model):
    """Iterative residual codec; `fit(patches)` on `(n, 32, 32, 3)` images in [0, 1].

    `call(images)` returns the reconstructions after every iteration, `(b, iterations, H, W, 3)`
    in [0, 1] (up to rounding); the loss averages the per-pixel error of every iteration.
    """

    def __init__(
        self,
        iterations=16,
        bits=32,
        encoder_filters=(64, 256, 512, 512),
        decoder_filters=(512, 512, 256, 128),
        gate="hard_sigmoid",
        decoder="depth_to_space",
        loss="l1",
        smooth_l1_delta=1.0,
        gamma=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check("loss", loss, CODEC_LOSSES)
        gate_function(gate)  # fails early on an unknown gate
        if 2 ** len(encoder_filters) != 2 ** len(decoder_filters):
            raise ValueError(
                f"the encoder downsamples by {2 ** len(encoder_filters)} but the decoder upsamples by "
                f"{2 ** len(decoder_filters)}; give both the same number of stages"
            )
        self.iterations = int(iterations)
        self.bits = int(bits)
        self.encoder_filters = tuple(encoder_filters)
        self.decoder_filters = tuple(decoder_filters)
        self.gate = gate
        self.decoder_kind = decoder
        self.loss_kind = loss
        self.smooth_l1_delta = float(smooth_l1_delta)
        self.gamma = None if gamma is None else float(gamma)
        self.seed = seed
        self.encoder = ConvLSTMEncoder(self.encoder_filters, gate_activation=gate, name="encoder")
        self.binarizer = Binarizer(self.bits, seed=seed, name="binarizer")
        self.decoder = ConvLSTMDecoder(
            self.decoder_filters, upsample=decoder, gate_activation=gate, name="decoder"
        )
        self.error_tracker = keras.metrics.Mean(name="mean_abs_error")

    @property
    def stride(self):
        """Side of the pixel block that one code position describes (16 by default)."""
        return self.encoder.stride

    @property
    def bpp_per_iteration(self):
        return self.bits / self.stride**2

    def build(self, input_shape):
        self.encoder.build(input_shape)
        code_shape = self.encoder.compute_output_shape(input_shape)[0]
        self.binarizer.build(code_shape)
        self.decoder.build(self.binarizer.compute_output_shape(code_shape))

    def step(self, target, reconstruction, states, training=False):
        """One iteration: encode the residual, binarize, decode; returns (bits, reconstruction, states)."""
        encoder_states, decoder_states = states
        code, encoder_states = self.encoder(
            target - reconstruction, encoder_states, training=training
        )
        bits = self.binarizer(code, training=training)
        reconstruction, decoder_states = self.decode_step(
            bits, reconstruction, decoder_states, training
        )
        return bits, reconstruction, (encoder_states, decoder_states)

    def decode_step(self, bits, reconstruction, decoder_states, training=False):
        """The decoder's half of an iteration (all a decompressor needs)."""
        delta, decoder_states = self.decoder(bits, decoder_states, training=training)
        previous = reconstruction if self.gamma is None else self.gamma * reconstruction
        return delta + previous, decoder_states

    def call(self, images, training=False):
        target = images - 0.5
        reconstruction = ops.zeros_like(target)
        states = (None, None)
        outputs = []
        for _ in range(self.iterations):
            _, reconstruction, states = self.step(target, reconstruction, states, training)
            outputs.append(reconstruction + 0.5)
        return ops.stack(outputs, axis=1)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        error = y_pred - ops.expand_dims(x, 1)
        self.error_tracker.update_state(ops.mean(ops.abs(error[:, -1])))
        if self.loss_kind == "l1":
            return ops.mean(ops.abs(error))
        return ops.mean(smooth_l1(error, self.smooth_l1_delta))

    def get_config(self):
        return {
            **super().get_config(),
            "iterations": self.iterations,
            "bits": self.bits,
            "encoder_filters": list(self.encoder_filters),
            "decoder_filters": list(self.decoder_filters),
            "gate": self.gate,
            "decoder": self.decoder_kind,
            "loss": self.loss_kind,
            "smooth_l1_delta": self.smooth_l1_delta,
            "gamma": self.gamma,
            "seed": self.seed,
        }

    def shape_table(self, size=32):
        """[(stage, output shape)] for one iteration on a `size` x `size` patch (the paper's Fig. 1)."""
        if not self.built:
            self.build((None, size, size, 3))
        x = ops.zeros((1, size, size, 3))
        rows = [("input patch", x.shape)]
        x = self.encoder.stem(x)
        rows.append(("encoder conv 3x3/2", x.shape))
        for cell in self.encoder.cells:
            x, _ = cell(x, cell.get_initial_state(x))
            rows.append((f"encoder ConvLSTM {cell.kernel_size}x{cell.kernel_size}/2", x.shape))
        x = self.binarizer(x)
        rows.append((f"binarizer ({self.bits} bits)", x.shape))
        decoder = self.decoder
        x = decoder.stem(x)
        rows.append(("decoder conv 1x1", x.shape))
        for cell, up in zip(decoder.cells, decoder.upsamplers, strict=True):
            x, _ = cell(x, cell.get_initial_state(x))
            rows.append((f"decoder ConvLSTM {cell.kernel_size}x{cell.kernel_size}", x.shape))
            x = up(x)
            rows.append(
                (
                    f"  {'recovery block' if decoder.upsample == 'recovery' else 'depth-to-space'} x2",
                    x.shape,
                )
            )
        rows.append(("decoder conv 1x1 (tanh)", decoder.to_rgb(x).shape))
        return [(stage, tuple(shape[1:])) for stage, shape in rows]

    def fingerprint(self):
        """8 bytes identifying this model's configuration and weights (stored in every file).

        The layer's name is left out: Keras numbers unnamed models in the order a process makes
        them, and a file must decode in any process that loads the same weights.
        """
        import hashlib
        import json

        config = {k: v for k, v in self.get_config().items() if k not in ("name", "trainable", "dtype")}  # fmt: skip
        digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode())
        for weight in self.get_weights():
            digest.update(np.ascontiguousarray(weight, dtype=np.float32).tobytes())
        return digest.digest()[:8]
