"""The recurrent image codec's architecture in one file (Mandogade & Morghare; Toderici et al. 2017).

Read top to bottom: `ConvLSTMEncoder` turns a patch into a code (32x32 -> 2x2x512 with the
default widths), `Binarizer` turns that code into bits in {-1, +1}, and `ConvLSTMDecoder` turns
the bits back into pixels, upsampling with `DepthToSpace` (sub-pixel) or the paper's
`RecoveryBlock`. The residual loop that runs them iteration after iteration is
`keraslstm.codec.model.ResidualLSTMCodec`. Every LSTM takes the option `gate` (a name in
`keraslstm.cells.GATES`; the paper's hard sigmoid by default).
"""

import keras
from keras import layers, ops

from keraslstm.cells import ConvLSTMCell, config_with_gate, gate_config, gate_function

__all__ = [
    "ConvLSTMEncoder",
    "Binarizer",
    "ConvLSTMDecoder",
    "DepthToSpace",
    "RecoveryBlock",
    "DECODERS",
]

DECODERS = ("depth_to_space", "recovery")


@keras.saving.register_keras_serializable(package="keraslstm")
class ConvLSTMEncoder(keras.layers.Layer):
    """Conv stem then strided `ConvLSTMCell`s, each halving height and width (Toderici 2017).

    `filters[0]` is the stem's width (3x3, stride 2), the rest are the ConvLSTM cells' widths
    (input kernel `kernel_size`, stride 2; hidden kernel `hidden_kernel_size`).

    `call(inputs, states=None)` takes `(batch, height, width, channels)` and the cells' states
    (a list of `[h, c]`, zeros when None) and returns `(code, new_states)`; the code is
    `(batch, height / 2**n, width / 2**n, filters[-1])` with n = len(filters).
    """

    def __init__(
        self,
        filters=(64, 256, 512, 512),
        kernel_size=3,
        hidden_kernel_size=1,
        gate="hard_sigmoid",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if len(filters) < 2:
            raise ValueError(
                f"filters needs a stem width and at least one cell width, got {filters}"
            )
        self.filters = tuple(int(f) for f in filters)
        self.kernel_size = int(kernel_size)
        self.hidden_kernel_size = int(hidden_kernel_size)
        self.gate = gate_function(gate)
        self.stem = keras.layers.Conv2D(
            self.filters[0], 3, strides=2, padding="same", use_bias=False, name="stem"
        )
        self.cells = [
            ConvLSTMCell(
                f,
                self.kernel_size,
                strides=2,
                hidden_kernel_size=self.hidden_kernel_size,
                gate=self.gate,
                name=f"conv_lstm_{i}",
            )
            for i, f in enumerate(self.filters[1:])
        ]

    @property
    def stride(self):
        """Total downsampling factor: inputs must have sides divisible by it."""
        return 2 ** len(self.filters)

    def build(self, input_shape):
        self.stem.build(input_shape)
        shape = self.stem.compute_output_shape(input_shape)
        for cell in self.cells:
            cell.build(shape)
            shape = cell.compute_output_shape(shape)

    def get_initial_state(self, inputs):
        """Zero `[h, c]` for every cell, sized for `inputs` (any height and width)."""
        batch, height, width = ops.shape(inputs)[:3]
        states = []
        for cell in [None, *self.cells]:
            height, width = -(-height // 2), -(-width // 2)
            if cell is not None:
                zeros = ops.zeros((batch, height, width, cell.filters), dtype=self.compute_dtype)
                states.append([zeros, zeros])
        return states

    def call(self, inputs, states=None, training=False):
        x = self.stem(inputs)
        if states is None:
            states = self.get_initial_state(inputs)
        new_states = []
        for cell, state in zip(self.cells, states, strict=True):
            x, state = cell(x, state, training=training)
            new_states.append(state)
        return x, new_states

    def compute_output_shape(self, inputs_shape, states_shape=None):
        shape = self.stem.compute_output_shape(inputs_shape)
        state_shapes = []
        for cell in self.cells:
            shape = cell.compute_output_shape(shape)
            state_shapes.append([shape, shape])
        return shape, state_shapes

    def get_config(self):
        return {
            **super().get_config(),
            "filters": list(self.filters),
            "kernel_size": self.kernel_size,
            "hidden_kernel_size": self.hidden_kernel_size,
            "gate": gate_config(self.gate),
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config_with_gate(config))


@keras.saving.register_keras_serializable(package="keraslstm")
class Binarizer(keras.layers.Layer):
    """1x1 conv to `bits` channels, tanh, then binarize to exactly {-1, +1}.

    Training: +1 with probability (1 + x) / 2, else -1 (an unbiased estimate of x).
    Inference: the sign (0 maps to +1). The gradient passes straight through to tanh's output
    (Raiko 2015, Toderici 2016), so the encoder learns despite the step function.

    Inputs `(batch, height, width, channels)`, outputs `(batch, height, width, bits)`.
    """

    def __init__(self, bits, seed=None, **kwargs):
        super().__init__(**kwargs)
        if int(bits) <= 0:
            raise ValueError(f"bits must be a positive integer, got {bits!r}")
        self.bits = int(bits)
        self.seed = seed
        self.project = keras.layers.Conv2D(self.bits, 1, name="project")
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        self.project.build(input_shape)

    def call(self, inputs, training=False):
        x = ops.tanh(self.project(inputs))
        if training:
            u = keras.random.uniform(ops.shape(x), seed=self.seed_generator, dtype=x.dtype)
            bits = ops.where(u < (1.0 + x) / 2.0, 1.0, -1.0)
        else:
            bits = ops.where(x >= 0, 1.0, -1.0)
        # Forward: exactly the bits. Backward: the identity to x (straight-through estimator).
        return ops.cast(bits, x.dtype) + (x - ops.stop_gradient(x))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.bits)

    def get_config(self):
        return {**super().get_config(), "bits": self.bits, "seed": self.seed}


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
        gate="hard_sigmoid",
        channels=3,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if upsample not in DECODERS:
            raise ValueError(
                f"Unknown decoder {upsample!r}; valid: {', '.join(map(repr, DECODERS))}"
            )
        if not len(filters) == len(kernel_sizes) == len(hidden_kernel_sizes):
            raise ValueError(
                "filters, kernel_sizes and hidden_kernel_sizes need one entry per cell"
            )
        self.filters = tuple(int(f) for f in filters)
        self.kernel_sizes = tuple(int(k) for k in kernel_sizes)
        self.hidden_kernel_sizes = tuple(int(k) for k in hidden_kernel_sizes)
        self.upsample = upsample
        self.gate = gate_function(gate)
        self.channels = int(channels)
        self.stem = layers.Conv2D(self.filters[0], 1, name="stem")
        self.cells = [
            ConvLSTMCell(f, k, hidden_kernel_size=hk, gate=self.gate, name=f"conv_lstm_{i}")
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
            "gate": gate_config(self.gate),
            "channels": self.channels,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config_with_gate(config))


@keras.saving.register_keras_serializable(package="keraslstm")
class DepthToSpace(keras.layers.Layer):
    """Sub-pixel upsampling: `(b, h, w, c * s * s)` -> `(b, h * s, w * s, c)` for `block_size` s."""

    def __init__(self, block_size, **kwargs):
        super().__init__(**kwargs)
        if int(block_size) < 2:
            raise ValueError(f"block_size must be at least 2, got {block_size!r}")
        self.block_size = int(block_size)

    def call(self, inputs):
        channels = inputs.shape[-1]
        if channels is not None and channels % self.block_size**2:
            raise ValueError(
                f"DepthToSpace({self.block_size}) needs channels divisible by "
                f"{self.block_size**2}, got {channels}"
            )
        return ops.depth_to_space(inputs, self.block_size, data_format="channels_last")

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        s = self.block_size
        return (b, None if h is None else h * s, None if w is None else w * s, c // (s * s))

    def get_config(self):
        return {**super().get_config(), "block_size": self.block_size}


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
