"""LSTM cells with the compression paper's hard-sigmoid gates (Mandogade & Morghare; notebooks 01, 03, 05).

`hard_sigmoid` is the paper's gate. `HardSigmoidLSTMCell` is a dense LSTM step and
`ConvLSTMCell` a convolutional one with separate input and hidden-state kernels (Toderici 2017).
Both follow the Keras RNN cell contract, so `keras.layers.RNN(cell)` runs them over a time axis,
and both can be stepped by hand with explicit states (the codec iterates them over residuals).
"""

import keras
import numpy as np
from keras import ops

__all__ = [
    "GATES",
    "hard_sigmoid",
    "gate_function",
    "gate_config",
    "config_with_gate",
    "saturation_bounds",
    "HardSigmoidLSTMCell",
    "ConvLSTMCell",
    "ConvRNN",
]


@keras.saving.register_keras_serializable(package="keraslstm")
def hard_sigmoid(x):
    """The paper's hard sigmoid, `clip(0.2 x + 0.5, 0, 1)`: 0 below -2.5, 1 above 2.5.

    Not `keras.activations.hard_sigmoid`: in Keras 3 that is `relu6(x + 3) / 6` (slope 1/6,
    saturating at +-3), although its docstring still says 0.2x + 0.5. Keras 2 used this one.
    """
    return ops.clip(0.2 * x + 0.5, 0.0, 1.0)


GATES = {
    "hard_sigmoid": hard_sigmoid,
    "keras_hard_sigmoid": keras.activations.hard_sigmoid,
    "sigmoid": keras.activations.sigmoid,
}


def gate_function(gate):
    """Resolve a gate given by name (one of `GATES`) or as a callable."""
    if callable(gate):
        return gate
    if gate not in GATES:
        raise ValueError(f"Unknown gate {gate!r}; use a callable or one of {sorted(GATES)}")
    return GATES[gate]


def gate_config(gate):
    """The one serialised form of a gate: its name in `GATES` (a Keras object only if custom)."""
    function = gate_function(gate)
    for name, known in GATES.items():
        if function is known:
            return name
    return keras.saving.serialize_keras_object(function)


def config_with_gate(config):
    """A layer config with its gate under `gate`, resolved; also reads the older
    `gate_activation` key and the serialised-function form that layers wrote before."""
    config = dict(config)
    if "gate_activation" in config:
        config.setdefault("gate", config.pop("gate_activation"))
    if isinstance(config.get("gate"), dict):
        config["gate"] = keras.saving.deserialize_keras_object(config["gate"])
    return config


def saturation_bounds(gate, share=0.01):
    """(low, high): below `low` and above `high` the gate's slope is under `share` of its peak.

    A unit there is saturated: closed (near 0) or open (near 1), and its gradient all but gone.
    For the paper's hard sigmoid the bounds are -2.5 and 2.5 and the slope beyond is exactly
    0; for the sigmoid (1 %) about -5.99 and 5.99. Found on a grid of step 1e-4 over [-40, 40].
    """
    z = np.linspace(-40.0, 40.0, 800_001)
    step = z[1] - z[0]
    function = gate_function(gate)
    values = ops.convert_to_numpy(function(ops.convert_to_tensor(z, "float64"))).astype(float)
    slope = np.gradient(values, step)
    alive = np.flatnonzero(slope >= share * slope.max())
    return float(z[alive[0]]), float(z[alive[-1]])


def _lstm_bias(units, unit_forget_bias):
    """Zero bias, with the forget gate's part at 1 when `unit_forget_bias` (Jozefowicz 2015)."""
    bias = [0.0] * (4 * units)
    if unit_forget_bias:
        bias[units : 2 * units] = [1.0] * units
    return keras.initializers.Constant(bias)


class _LSTMGates:
    """The LSTM update shared by the dense and the convolutional cell.

    `z` holds the four pre-activations in Keras's order (input, forget, candidate, output).
    """

    def lstm_update(self, z, c):
        i, f, g, o = ops.split(z, 4, axis=-1)
        gate = self.gate
        c = gate(f) * c + gate(i) * ops.tanh(g)
        h = gate(o) * ops.tanh(c)
        return h, c


@keras.saving.register_keras_serializable(package="keraslstm")
class HardSigmoidLSTMCell(_LSTMGates, keras.layers.Layer):
    """A dense LSTM step whose gates use `gate` (a name in `GATES`: the paper's hard sigmoid by default).

    Weights have the same layout as `keras.layers.LSTMCell` (kernel, recurrent_kernel, bias;
    gates in the order i, f, c, o), so `set_weights(lstm.get_weights())` copies a Keras LSTM.

    Inputs `(batch, features)`, states `[h, c]` each `(batch, units)`; returns `(h, [h, c])`.
    """

    def __init__(
        self,
        units,
        gate="hard_sigmoid",
        use_bias=True,
        unit_forget_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(units) <= 0:
            raise ValueError(f"units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.gate = gate_function(gate)
        self.use_bias = use_bias
        self.unit_forget_bias = unit_forget_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.state_size = [self.units, self.units]
        self.output_size = self.units

    def build(self, input_shape):
        units = self.units
        self.kernel = self.add_weight(
            shape=(input_shape[-1], 4 * units), initializer=self.kernel_initializer, name="kernel"
        )
        self.recurrent_kernel = self.add_weight(
            shape=(units, 4 * units),
            initializer=self.recurrent_initializer,
            name="recurrent_kernel",
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(4 * units,),
                initializer=_lstm_bias(units, self.unit_forget_bias),
                name="bias",
            )

    def call(self, inputs, states, training=False):
        h, c = states
        z = ops.matmul(inputs, self.kernel) + ops.matmul(h, self.recurrent_kernel)
        if self.use_bias:
            z = z + self.bias
        h, c = self.lstm_update(z, c)
        return h, [h, c]

    def get_initial_state(self, batch_size=None):
        zeros = ops.zeros((batch_size, self.units), dtype=self.compute_dtype)
        return [zeros, zeros]

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "gate": gate_config(self.gate),
            "use_bias": self.use_bias,
            "unit_forget_bias": self.unit_forget_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config_with_gate(config))


@keras.saving.register_keras_serializable(package="keraslstm")
class ConvLSTMCell(_LSTMGates, keras.layers.Layer):
    """A convolutional LSTM step: input conv (`kernel_size`, `strides`), hidden conv (`hidden_kernel_size`).

    Toderici et al. 2017 give the input and the hidden state different kernels (3x3 and 1x1 in
    the encoder) and downsample with the input convolution's stride; Keras's `ConvLSTM2D` cannot.

    Inputs `(batch, height, width, channels)`; states `[h, c]` each
    `(batch, ceil(height / strides), ceil(width / strides), filters)`; returns `(h, [h, c])`.
    Step it by hand with `get_initial_state(inputs)`, or run it over a time axis
    `(batch, time, height, width, channels)` with static height and width: in `ConvRNN`, or in
    `keras.layers.RNN` called on tensors (its shape inference for functional models assumes a
    flat output, so there it stops with "output_size must be an integer").
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        hidden_kernel_size=1,
        gate="hard_sigmoid",
        use_bias=True,
        unit_forget_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(filters) <= 0:
            raise ValueError(f"filters must be a positive integer, got {filters!r}")
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.strides = int(strides)
        self.hidden_kernel_size = int(hidden_kernel_size)
        self.gate = gate_function(gate)
        self.use_bias = use_bias
        self.unit_forget_bias = unit_forget_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.state_size = [self.filters, self.filters]  # channels; spatial size follows the input
        self.output_size = (None, None, self.filters)
        self.spatial_shape = None

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(
                f"ConvLSTMCell expects (batch, height, width, channels) inputs, got {input_shape}"
            )
        k, hk, f = self.kernel_size, self.hidden_kernel_size, self.filters
        self.kernel = self.add_weight(
            shape=(k, k, input_shape[-1], 4 * f), initializer=self.kernel_initializer, name="kernel"
        )
        self.recurrent_kernel = self.add_weight(
            shape=(hk, hk, f, 4 * f),
            initializer=self.recurrent_initializer,
            name="recurrent_kernel",
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(4 * f,), initializer=_lstm_bias(f, self.unit_forget_bias), name="bias"
            )
        if input_shape[1] is not None and input_shape[2] is not None:
            self.spatial_shape = tuple(-(-int(s) // self.strides) for s in input_shape[1:3])

    def call(self, inputs, states, training=False):
        h, c = states
        z = ops.conv(inputs, self.kernel, strides=self.strides, padding="same")
        z = z + ops.conv(h, self.recurrent_kernel, strides=1, padding="same")
        if self.use_bias:
            z = z + self.bias
        h, c = self.lstm_update(z, c)
        return h, [h, c]

    def compute_output_shape(self, input_shape):
        height, width = (None if s is None else -(-s // self.strides) for s in input_shape[1:3])
        return (input_shape[0], height, width, self.filters)

    def get_initial_state(self, inputs=None, batch_size=None):
        """Zero `[h, c]` for `inputs` (any spatial size), or for `batch_size` once built."""
        if inputs is not None:
            shape = ops.shape(inputs)
            batch_size = shape[0]
            spatial = tuple(-(-s // self.strides) for s in shape[1:3])
        elif self.spatial_shape is not None:
            spatial = self.spatial_shape
        else:
            raise ValueError(
                "ConvLSTMCell.get_initial_state needs `inputs` (or a cell built on a static "
                "height and width) to know the state's spatial size"
            )
        zeros = ops.zeros((batch_size, *spatial, self.filters), dtype=self.compute_dtype)
        return [zeros, zeros]

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "hidden_kernel_size": self.hidden_kernel_size,
            "gate": gate_config(self.gate),
            "use_bias": self.use_bias,
            "unit_forget_bias": self.unit_forget_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config_with_gate(config))


@keras.saving.register_keras_serializable(package="keraslstm")
class ConvRNN(keras.layers.RNN):
    """`keras.layers.RNN` for convolutional cells: shape inference follows the cell's output.

    Inputs `(batch, time, height, width, channels)`; same arguments as `keras.layers.RNN`.
    """

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        step = self.cell.compute_output_shape((sequences_shape[0], *sequences_shape[2:]))
        output = (step[0], sequences_shape[1], *step[1:]) if self.return_sequences else step
        return (output, step, step) if self.return_state else output
