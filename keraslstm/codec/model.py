"""The residual recurrent image codec (Mandogade & Morghare; Toderici et al. 2017).

Each iteration encodes the current residual with the ConvLSTM encoder, binarizes it (`bits`
channels at 1/16 of the resolution: 32 bits per 16x16 pixels = 0.125 bpp), and decodes the bits
with a ConvLSTM decoder; the reconstruction grows additively (`gamma=None`) or as the paper's
`x_t = D_t(b_t) + gamma * x_{t-1}`. The paper's changes are options: hard-sigmoid gates
(`gate`), the image recovery block instead of depth-to-space (`decoder="recovery"`), and the
SmoothL1 loss (`loss="smooth_l1"`). Two levers from Toderici et al. 2017 and Zhao et al. 2017 are
options too: a learned gain per iteration (`gain="learned"`: iteration k encodes `g_k` times the
residual and adds `1/g_k` of the decoder's output, so late, small residuals use the layers' whole
range) and a loss that mixes MS-SSIM with L1 (`loss="ms_ssim_l1"`). Training goes through
`compute_loss`, so it runs on any backend; inference is fully convolutional (pad to a multiple
of 16, crop back).

The encoder, binarizer and decoder live in `keraslstm.layers`; this module holds the residual
loop that runs them, and `shape_table`, the paper's Fig. 1 as rows.
"""

import keras
import numpy as np
from keras import ops

from keraslstm import metrics
from keraslstm.cells import config_with_gate, gate_config
from keraslstm.layers import DECODERS, Binarizer, ConvLSTMDecoder, ConvLSTMEncoder

__all__ = [
    "ResidualLSTMCodec",
    "BalancedLossCodec",
    "shape_table",
    "decoder_multiply_adds",
    "differentiable_ms_ssim",
    "DECODERS",
    "CODEC_LOSSES",
    "CODEC_GAINS",
]

CODEC_LOSSES = ("l1", "smooth_l1", "ms_ssim_l1")
CODEC_GAINS = (None, "learned")
MS_SSIM_SHARE = 0.84  # weight of 1 - MS-SSIM in the mixed loss, the rest L1 (Zhao et al. 2017)
TRAINING_SCALES = 3  # MS-SSIM scales in the training loss: 3 fit a 48-pixel crop
# The gains are stored as log g_k / GAIN_SPEED: Adam moves a weight by about its learning rate a
# step whatever the gradient's size, so this lets log g_k move GAIN_SPEED times faster than the
# convolutions' weights (at 1x, 500 fine-tuning steps took g_16 only from 1 to 1.24).
GAIN_SPEED = 20.0
# Toderici et al. 2017's hidden-state kernels in the decoder's four ConvLSTMs; (1, 1, 1, 1) about
# halves a decoder pass's multiply-adds (the last two cells' 3x3 hidden convs are 57 % of them)
DECODER_HIDDEN_KERNELS = (1, 1, 3, 3)


def _check(name, value, valid):
    if value not in valid:
        raise ValueError(f"Unknown {name} {value!r}; valid: {', '.join(map(repr, valid))}")


def smooth_l1(error, delta=1.0):
    """SmoothL1 (PyTorch's `SmoothL1Loss`, beta = `delta`): quadratic below `delta`, L1 above.

    It is `keras.losses.Huber(delta)` divided by `delta`, so the two are equal at the default
    `delta=1` (tests/test_codec.py checks both). We keep the paper's form because its slope beyond
    `delta` is 1 for any `delta`, as for the L1 loss it replaces; Huber's slope there is `delta`.
    """
    magnitude = ops.abs(error)
    return ops.where(magnitude < delta, 0.5 * error**2 / delta, magnitude - 0.5 * delta)


def _gaussian_window(channels):
    """SSIM's Gaussian window (`metrics.ssim_window`) as a depthwise kernel for each axis."""
    taps = metrics.ssim_window().astype("float32")
    column = np.tile(taps.reshape(-1, 1, 1, 1), (1, 1, channels, 1))
    return column, column.transpose(1, 0, 2, 3)


def differentiable_ms_ssim(a, b, scales=TRAINING_SCALES):
    """Per-image MS-SSIM of batches `a`, `b` (N, H, W, C) in [0, 1], in `keras.ops` so that it
    trains on any backend: `metrics.ms_ssim` (checked against TensorFlow's) with `scales` scales.

    Both sides must be known, multiples of 2^(scales-1), and hold an 11x11 window at the last
    scale. A channel with a negative term scores 0, as in `metrics.ms_ssim`; the logarithm that
    multiplies the scales sees a tiny floor instead, so its gradient stays finite there.
    """
    sides = tuple(a.shape[1:3])
    smallest = metrics.ms_ssim_min_size(scales)
    if None in sides or min(sides) < smallest or any(s % 2 ** (scales - 1) for s in sides):
        raise ValueError(
            f"differentiable_ms_ssim with {scales} scales needs known sides of at least {smallest} "
            f"px that are multiples of {2 ** (scales - 1)}, got {sides[0]}x{sides[1]}"
        )
    column, row = _gaussian_window(a.shape[-1])

    def blur(x):
        return ops.depthwise_conv(ops.depthwise_conv(x, column, padding="valid"), row)

    weights = np.array(metrics.MS_SSIM_WEIGHTS[:scales])
    weights /= weights.sum()
    c1, c2 = 0.01**2, 0.03**2
    log_score, positive = 0.0, 1.0
    for scale in range(scales):
        if scale > 0:
            a = ops.average_pool(a, 2, 2)
            b = ops.average_pool(b, 2, 2)
        mu_a, mu_b = blur(a), blur(b)
        mu_ab, mu_aa_bb = mu_a * mu_b, mu_a**2 + mu_b**2
        cs = (2 * (blur(a * b) - mu_ab) + c2) / (blur(a * a + b * b) - mu_aa_bb + c2)
        term = cs if scale < scales - 1 else cs * (2 * mu_ab + c1) / (mu_aa_bb + c1)
        term = ops.mean(term, axis=(1, 2))  # (N, C)
        positive = positive * ops.cast(term > 0, term.dtype)
        log_score = log_score + float(weights[scale]) * ops.log(ops.maximum(term, 1e-6))
    return ops.mean(ops.exp(log_score) * positive, axis=-1)


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
        decoder_hidden_kernels=DECODER_HIDDEN_KERNELS,
        gate="hard_sigmoid",
        decoder="depth_to_space",
        loss="l1",
        smooth_l1_delta=1.0,
        gamma=None,
        gain=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check("loss", loss, CODEC_LOSSES)
        _check("gain", gain, CODEC_GAINS)
        if 2 ** len(encoder_filters) != 2 ** len(decoder_filters):
            raise ValueError(
                f"the encoder downsamples by {2 ** len(encoder_filters)} but the decoder upsamples by "
                f"{2 ** len(decoder_filters)}; give both the same number of stages"
            )
        self.iterations = int(iterations)
        self.bits = int(bits)
        self.encoder_filters = tuple(encoder_filters)
        self.decoder_filters = tuple(decoder_filters)
        self.decoder_hidden_kernels = tuple(int(k) for k in decoder_hidden_kernels)
        self.gate = gate_config(gate)  # its name; fails early on an unknown gate
        self.decoder_kind = decoder
        self.loss_kind = loss
        self.smooth_l1_delta = float(smooth_l1_delta)
        self.gamma = None if gamma is None else float(gamma)
        self.gain_kind = gain
        self.seed = seed
        self.encoder = ConvLSTMEncoder(self.encoder_filters, gate=gate, name="encoder")
        self.binarizer = Binarizer(self.bits, seed=seed, name="binarizer")
        self.decoder = ConvLSTMDecoder(
            self.decoder_filters,
            hidden_kernel_sizes=self.decoder_hidden_kernels,
            upsample=decoder,
            gate=gate,
            name="decoder",
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
        if self.gain_kind == "learned":
            # log g_k starts at 0.75 log k (g_16 = 8): the shipped L1 codec's residual shrinks
            # about 8-fold over 16 iterations
            start = 0.75 * np.log(np.arange(1, self.iterations + 1, dtype="float32"))
            self.gain_logits = self.add_weight(
                shape=(self.iterations,),
                initializer=keras.initializers.Constant(start / GAIN_SPEED),
                name="gain_logits",
            )

    def log_gains(self):
        """log g_k for every iteration (a tensor): `GAIN_SPEED` times the stored logits."""
        return GAIN_SPEED * self.gain_logits

    def set_log_gains(self, values):
        """Set log g_k for every iteration (e.g. zeros: every gain 1)."""
        self.gain_logits.assign(np.asarray(values, "float32") / GAIN_SPEED)

    def iteration_gain(self, iteration):
        """g_k of iteration `iteration` (0-based; an int or an integer tensor): 1 without `gain`."""
        if self.gain_kind is None:
            return 1.0
        if isinstance(iteration, (int, np.integer)) and not 0 <= iteration < self.iterations:
            raise ValueError(
                f"this codec learned gains for iterations 0 to {self.iterations - 1}, "
                f"got iteration {iteration}"
            )
        return ops.exp(GAIN_SPEED * ops.take(self.gain_logits, iteration))

    def initial_states(self, target):
        """Zero (encoder, decoder) states for a batch of padded images `target` (any size)."""
        batch, height, width = ops.shape(target)[:3]
        code = ops.zeros((batch, height // self.stride, width // self.stride, self.bits))
        return self.encoder.get_initial_state(target), self.decoder.get_initial_state(code)

    def step(self, target, reconstruction, states, iteration, training=False):
        """Iteration `iteration` (0-based): encode the residual, binarize, decode; returns
        (bits, reconstruction, states)."""
        encoder_states, decoder_states = states
        bits, encoder_states = self.encode_step(
            target, reconstruction, encoder_states, iteration, training
        )
        reconstruction, decoder_states = self.decode_step(
            bits, reconstruction, decoder_states, iteration, training
        )
        return bits, reconstruction, (encoder_states, decoder_states)

    def encode_step(self, target, reconstruction, encoder_states, iteration, training=False):
        """The encoder's half of iteration `iteration`: the bits of the (gained) residual."""
        residual = target - reconstruction
        if self.gain_kind is not None:
            residual = self.iteration_gain(iteration) * residual
        code, encoder_states = self.encoder(residual, encoder_states, training=training)
        return self.binarizer(code, training=training), encoder_states

    def decode_step(self, bits, reconstruction, decoder_states, iteration, training=False):
        """The decoder's half of iteration `iteration` (all a decompressor needs)."""
        delta, decoder_states = self.decoder(bits, decoder_states, training=training)
        if self.gain_kind is not None:
            delta = delta / self.iteration_gain(iteration)
        previous = reconstruction if self.gamma is None else self.gamma * reconstruction
        return delta + previous, decoder_states

    def call(self, images, training=False):
        target = images - 0.5
        reconstruction = ops.zeros_like(target)
        states = (None, None)
        outputs = []
        for k in range(self.iterations):
            _, reconstruction, states = self.step(target, reconstruction, states, k, training)
            outputs.append(reconstruction + 0.5)
        return ops.stack(outputs, axis=1)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        error = y_pred - ops.expand_dims(x, 1)
        self.error_tracker.update_state(ops.mean(ops.abs(error[:, -1])))
        if self.loss_kind == "l1":
            return ops.mean(ops.abs(error))
        if self.loss_kind == "smooth_l1":
            return ops.mean(smooth_l1(error, self.smooth_l1_delta))
        # every iteration's reconstruction against the image, as one batch; the clip to [0, 1]
        # (what a decoder writes) passes the gradient straight through, or overshooting pixels
        # would learn from the L1 term alone
        shape = ops.shape(y_pred)
        clipped = y_pred + ops.stop_gradient(ops.clip(y_pred, 0.0, 1.0) - y_pred)
        flat = ops.reshape(clipped, (-1, *shape[2:]))
        targets = ops.reshape(ops.broadcast_to(ops.expand_dims(x, 1), shape), (-1, *shape[2:]))
        structure = 1.0 - ops.mean(differentiable_ms_ssim(flat, targets))
        return MS_SSIM_SHARE * structure + (1 - MS_SSIM_SHARE) * ops.mean(ops.abs(error))

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
            # only when set: the config is part of the fingerprint that older files carry
            **({"gain": self.gain_kind} if self.gain_kind else {}),
            **(
                {"decoder_hidden_kernels": list(self.decoder_hidden_kernels)}
                if self.decoder_hidden_kernels != DECODER_HIDDEN_KERNELS
                else {}
            ),
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config_with_gate(config))


@keras.saving.register_keras_serializable(package="keraslstm")
class BalancedLossCodec(ResidualLSTMCodec):
    """The codec trained on the mean over iterations of log(mean |error after iteration k|).

    The plain loss averages the L1 error of every iteration, so a late iteration, whose error is
    already small, earns little gradient; the log gives each iteration's *relative* gain the
    same weight (its gradient is the L1 gradient divided by that iteration's error). Only the
    training loss differs: the weights load into a plain `ResidualLSTMCodec`.
    """

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        error = ops.abs(y_pred - ops.expand_dims(x, 1))
        self.error_tracker.update_state(ops.mean(error[:, -1]))
        return ops.mean(ops.log(ops.mean(error, axis=(0, 2, 3, 4)) + 1e-4))


def decoder_multiply_adds(codec):
    """Multiply-adds per output pixel of one decoder pass of `codec` (depth-to-space decoder): its
    1x1 stem, each ConvLSTM's input and hidden-state convolutions at that cell's resolution, and
    the 1x1 conv to RGB. Decoding runs one pass per iteration, so this is its cost per pixel."""
    if codec.decoder_kind != "depth_to_space":
        raise ValueError("decoder_multiply_adds counts the depth-to-space decoder only")
    if not codec.built:
        codec.build((None, codec.stride * 2, codec.stride * 2, 3))
    decoder = codec.decoder
    side = codec.stride  # pixels per position along each side, at the code grid
    total = np.prod(decoder.stem.kernel.shape) / side**2
    for cell in decoder.cells:
        total += (np.prod(cell.kernel.shape) + np.prod(cell.recurrent_kernel.shape)) / side**2
        side //= 2
    return int(total + np.prod(decoder.to_rgb.kernel.shape))


def shape_table(codec, size=32):
    """[(stage, output shape)] for one iteration of `codec` on a `size` x `size` patch (the paper's Fig. 1)."""
    if not codec.built:
        codec.build((None, size, size, 3))
    x = ops.zeros((1, size, size, 3))
    rows = [("input patch", x.shape)]
    x = codec.encoder.stem(x)
    rows.append(("encoder conv 3x3/2", x.shape))
    for cell in codec.encoder.cells:
        x, _ = cell(x, cell.get_initial_state(x))
        rows.append((f"encoder ConvLSTM {cell.kernel_size}x{cell.kernel_size}/2", x.shape))
    x = codec.binarizer(x)
    rows.append((f"binarizer ({codec.bits} bits)", x.shape))
    decoder = codec.decoder
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
