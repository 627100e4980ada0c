"""Next-frame prediction that keeps appearance and learns motion (notebook 03, Vinay et al.).

A predictor that must redraw every digit through a narrow code predicts blobs. This one moves
the pixels it has: for every pixel, a small network predicts a `kernel` x `kernel` softmax
filter that it applies to the current frame (De Brabandere et al. 2016's Dynamic Filter
Networks, which they tested on bouncing digits), so the next frame is a local mixture of this
one's pixels. What decides the filters is the model under test: a ConvLSTM at a quarter of the
resolution, which sees every past frame through its state (`next_frame_predictor`), or the same
network with the ConvLSTM swapped for convolutions over a stack of the last frames
(`recurrent=False`: the control, same head, same budget). Both are trained on every step of a
sequence at once (teacher forcing) and roll out by feeding their predictions back (`rollout`).
"""

import keras
import numpy as np
from keras import layers, ops

__all__ = ["DynamicFilter", "FrameStack", "next_frame_predictor", "rollout"]


@keras.saving.register_keras_serializable(package="keraslstm")
class DynamicFilter(keras.layers.Layer):
    """Apply per-pixel filters to frames: `[logits, frames]` -> the filtered frames.

    `logits` `(..., H, W, kernel**2)` become a softmax over each pixel's `kernel` x `kernel`
    neighbourhood (zero outside the frame), which weights the neighbours of that pixel in
    `frames` `(..., H, W, C)`, every channel alike. Offsets run row by row, from (-r, -r) to
    (r, r) with r = kernel // 2, so weight `k` looks `divmod(k, kernel) - r` away.
    """

    def __init__(self, kernel, **kwargs):
        super().__init__(**kwargs)
        if int(kernel) < 1 or int(kernel) % 2 == 0:
            raise ValueError(f"DynamicFilter needs an odd kernel size, got {kernel!r}")
        self.kernel = int(kernel)

    def call(self, inputs):
        logits, frames = inputs
        weights = ops.softmax(logits, axis=-1)
        r = self.kernel // 2
        rank = len(frames.shape)
        pad = [(0, 0)] * (rank - 3) + [(r, r), (r, r), (0, 0)]
        padded = ops.pad(frames, pad)
        height, width = frames.shape[-3], frames.shape[-2]
        out = 0.0
        for k in range(self.kernel**2):
            dy, dx = divmod(k, self.kernel)
            window = padded[..., dy : dy + height, dx : dx + width, :]
            out = out + weights[..., k : k + 1] * window
        return out

    def compute_output_shape(self, input_shapes):
        return input_shapes[1]

    def get_config(self):
        return {**super().get_config(), "kernel": self.kernel}


def next_frame_predictor(frame_shape=(32, 32, 1), steps=19, width=16, core_filters=64, kernel=5,
                         recurrent=True, history=4, gate="sigmoid"):  # fmt: skip
    """Frame t + 1 from frames 1..t for every t of a sequence `(batch, steps, H, W, C)`.

    A U-Net: convolutions at full, half and quarter resolution; at the quarter, a ConvLSTM
    (`recurrent`) or, as the control, convolutions over the last `history` frames' features
    stacked as channels; back up with skips from the current frame at half and full resolution;
    the output is the current frame through per-pixel `kernel` x `kernel` filters
    (`DynamicFilter`). Every layer is causal (step t sees steps 1..t only), so a shorter
    sequence can be zero-padded to `steps` (`rollout` does).
    """
    from keraslstm.cells import ConvLSTMCell, ConvRNN

    side = frame_shape[0]
    if side % 4 or frame_shape[1] != side:
        raise ValueError(f"frames must be square with a side divisible by 4, got {frame_shape}")
    frames = keras.Input((steps, *frame_shape), name="frames")

    def per_frame(layer, name):
        return layers.TimeDistributed(layer, name=name)

    full = per_frame(layers.Conv2D(width, 3, padding="same", activation="relu"), "full")(frames)
    half = per_frame(layers.Conv2D(2 * width, 3, strides=2, padding="same", activation="relu"), "half")(full)  # fmt: skip
    quarter = per_frame(layers.Conv2D(4 * width, 3, strides=2, padding="same", activation="relu"), "quarter")(half)  # fmt: skip
    if recurrent:
        cell = ConvLSTMCell(core_filters, 3, hidden_kernel_size=3, gate=gate)
        core = ConvRNN(cell, return_sequences=True, name="core_lstm")(quarter)
    else:
        stacked = FrameStack(history, name="frame_stack")(quarter)
        x = per_frame(layers.Conv2D(core_filters, 3, padding="same", activation="relu"), "core_conv1")(stacked)  # fmt: skip
        core = per_frame(layers.Conv2D(core_filters, 3, padding="same", activation="relu"), "core_conv2")(x)  # fmt: skip
    x = per_frame(layers.Conv2DTranspose(2 * width, 4, strides=2, padding="same", activation="relu"), "up_half")(core)  # fmt: skip
    x = layers.Concatenate(name="skip_half")([x, half])
    x = per_frame(layers.Conv2D(2 * width, 3, padding="same", activation="relu"), "merge_half")(x)
    x = per_frame(layers.Conv2DTranspose(width, 4, strides=2, padding="same", activation="relu"), "up_full")(x)  # fmt: skip
    x = layers.Concatenate(name="skip_full")([x, full])
    logits = per_frame(layers.Conv2D(kernel * kernel, 3, padding="same"), "filter_logits")(x)
    out = DynamicFilter(kernel, name="dynamic_filter")([logits, frames])
    name = "convlstm_next_frame" if recurrent else "framestack_next_frame"
    return keras.Model(frames, out, name=name)


@keras.saving.register_keras_serializable(package="keraslstm")
class FrameStack(keras.layers.Layer):
    """`(batch, time, H, W, C)` -> `(batch, time, H, W, C * history)`: at each step the last
    `history` steps stacked as channels, oldest first, zeros before the sequence starts."""

    def __init__(self, history, **kwargs):
        super().__init__(**kwargs)
        if int(history) < 1:
            raise ValueError(f"history must be at least 1, got {history!r}")
        self.history = int(history)

    def call(self, inputs):
        padded = ops.pad(inputs, [(0, 0), (self.history - 1, 0), (0, 0), (0, 0), (0, 0)])
        steps = ops.shape(inputs)[1]
        return ops.concatenate([padded[:, k : k + steps] for k in range(self.history)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] * self.history)

    def get_config(self):
        return {**super().get_config(), "history": self.history}


def rollout(model, frames, output_frames, batch_size=64):
    """Predict `output_frames` frames after `frames` `(batch, time, H, W, C)` by feeding each
    prediction back as the next input (NumPy out). The model's input holds the observed and
    predicted frames, zero-padded to its length (harmless: the model is causal)."""
    observed = np.asarray(frames, "float32")
    steps = model.input.shape[1]
    if observed.ndim != 5 or observed.shape[1] + output_frames - 1 > steps:
        raise ValueError(f"rollout takes (batch, time, H, W, C) frames with time + output_frames - 1 <= {steps}, got {observed.shape} and {output_frames}")  # fmt: skip
    buffer = np.zeros((len(observed), steps, *observed.shape[2:]), "float32")
    t = observed.shape[1]
    buffer[:, :t] = observed
    predicted = []
    for step in range(t, t + output_frames):
        following = model.predict(buffer, batch_size=batch_size, verbose=0)[:, step - 1]
        predicted.append(following)
        if step < steps:
            buffer[:, step] = following
    return np.stack(predicted, axis=1)
