"""Next-frame prediction that keeps appearance and learns motion (notebook 03, Vinay et al.).

A predictor that must redraw every digit through a narrow code predicts blobs. This one moves
the pixels it has: for every pixel, a small network predicts a `kernel` x `kernel` softmax
filter that it applies to the current frame (De Brabandere et al. 2016's Dynamic Filter
Networks, which they tested on bouncing digits), so the next frame is a local mixture of this
one's pixels. What decides the filters is the model under test (`FramePredictor`): a ConvLSTM
at a quarter of the resolution, which sees every past frame through its state, or the same
network with the ConvLSTM swapped for convolutions over a stack of the last frames' features
(`core="frame_stack"`: the control, same head, same data, same budget). Both step through a
sequence one frame at a time, teacher-forced over the observed frames and then fed their own
predictions, and are trained on both parts at once, so the rollout's errors are trained away.
"""

import contextlib

import keras
import numpy as np
from keras import layers, ops

from keraslstm.cells import ConvLSTMCell, gate_config

__all__ = ["CORES", "DynamicFilter", "FramePredictor", "ScheduledSampling", "repeatable_training"]


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


CORES = ("convlstm", "frame_stack")


@keras.saving.register_keras_serializable(package="keraslstm")
class FramePredictor(keras.Model):
    """Frames `(batch, T, H, W, C)` -> every next frame, `(batch, T' - 1 + output_frames, H, W, C)`
    with T' = min(T, `observed_frames`).

    Output t is frame t + 2 predicted from frames 1..t + 1: the true frames while they are observed
    (teacher forcing), then its own predictions (a rollout), so `fit(sequences[:, :10],
    sequences[:, 1:])` trains one-step prediction and the rollout together, and the last
    `output_frames` outputs are the forecast (`forecast`). Given frames past `observed_frames` in
    training, it feeds each of them instead of its own prediction with probability
    `teacher_forcing` (a variable, 0 by default, that `ScheduledSampling` lowers from 1: Bengio et
    al. 2015's scheduled sampling). One step is a small U-Net: it reads the frame and its
    difference from the one before; convolutions at full, half and quarter resolution; at the
    quarter the core, a ConvLSTM (`core="convlstm"`, `core_filters`, `gate`) or two convolutions
    over the last `history` quarter-resolution feature maps stacked as channels
    (`core="frame_stack"`); back up with skips at half and full resolution; and the current frame
    through per-pixel `kernel` x `kernel` filters (`DynamicFilter`).
    """

    def __init__(self, frame_shape=(32, 32, 1), output_frames=10, width=16, core_filters=64,
                 kernel=5, core="convlstm", history=4, gate="sigmoid", observed_frames=10, **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        frame_shape = tuple(int(s) for s in frame_shape)
        if len(frame_shape) != 3 or frame_shape[0] % 4 or frame_shape[1] != frame_shape[0]:
            raise ValueError(f"frames must be square (H, W, C) with a side divisible by 4, got {frame_shape}")  # fmt: skip
        if core not in CORES:
            raise ValueError(f"Unknown core {core!r}; valid: {', '.join(map(repr, CORES))}")
        if int(output_frames) < 1:
            raise ValueError(f"output_frames must be at least 1, got {output_frames!r}")
        self.frame_shape = frame_shape
        self.output_frames = int(output_frames)
        self.width = int(width)
        self.core_filters = int(core_filters)
        self.kernel = int(kernel)
        self.core = core
        self.history_length = int(history)  # not `history`: fit() sets that
        self.gate = gate_config(gate)
        self.observed_frames = int(observed_frames)
        self.teacher_forcing = keras.Variable(0.0, trainable=False, name="teacher_forcing")
        self.sampling_seed = keras.random.SeedGenerator(0)

        def conv(filters, strides=1, name=None):
            return layers.Conv2D(
                filters, 3, strides=strides, padding="same", activation="relu", name=name
            )

        self.full = conv(width, name="full")
        self.half = conv(2 * width, 2, "half")
        self.quarter = conv(4 * width, 2, "quarter")
        if core == "convlstm":
            self.cell = ConvLSTMCell(
                core_filters, 3, hidden_kernel_size=3, gate=gate, name="core_lstm"
            )
        else:
            self.core_convs = [
                conv(core_filters, name="core_conv1"),
                conv(core_filters, name="core_conv2"),
            ]
        self.up_half = layers.Conv2DTranspose(
            2 * width, 4, strides=2, padding="same", activation="relu", name="up_half"
        )
        self.merge_half = conv(2 * width, name="merge_half")
        self.up_full = layers.Conv2DTranspose(
            width, 4, strides=2, padding="same", activation="relu", name="up_full"
        )
        self.filter_logits = layers.Conv2D(kernel * kernel, 3, padding="same", name="filter_logits")
        self.filter = DynamicFilter(kernel, name="dynamic_filter")

    def initial_memory(self, frame):
        """The core's memory before the first frame: zero `[h, c]`, or `history` zero feature maps."""
        side = self.frame_shape[0] // 4
        batch = ops.shape(frame)[0]
        if self.core == "convlstm":
            return [ops.zeros((batch, side, side, self.core_filters))] * 2
        return [ops.zeros((batch, side, side, 4 * self.width))] * self.history_length

    def step(self, frame, previous, memory):
        """One frame `(batch, H, W, C)`, the frame before it and the core's memory -> the next
        frame and the new memory."""
        logits, memory = self.filters(frame, previous, memory)
        return self.filter([logits, frame]), memory

    def filters(self, frame, previous, memory):
        """The per-pixel filter logits `(batch, H, W, kernel**2)` for `frame`, and the new memory."""
        full = self.full(ops.concatenate([frame, frame - previous], axis=-1))
        half = self.half(full)
        quarter = self.quarter(half)
        if self.core == "convlstm":
            core, memory = self.cell(quarter, memory)
        else:
            memory = [*memory[1:], quarter]
            core = self.core_convs[1](self.core_convs[0](ops.concatenate(memory, axis=-1)))
        x = self.merge_half(ops.concatenate([self.up_half(core), half], axis=-1))
        return self.filter_logits(ops.concatenate([self.up_full(x), full], axis=-1)), memory

    def call(self, frames, training=False):
        steps = frames.shape[1]
        if steps is None or tuple(frames.shape[2:]) != self.frame_shape:
            raise ValueError(f"FramePredictor takes (batch, time, *{self.frame_shape}) frames with a known time, got {tuple(frames.shape)}")  # fmt: skip
        observed = min(steps, self.observed_frames)
        frame = previous = frames[:, 0]
        memory = self.initial_memory(frame)
        predicted = []
        for t in range(observed - 1 + self.output_frames):
            following, memory = self.step(frame, previous, memory)
            predicted.append(following)
            previous = frame
            if t + 1 < observed:
                frame = frames[:, t + 1]
            elif t + 1 < steps and training:  # scheduled sampling: the true frame, sometimes
                draw = keras.random.uniform((ops.shape(frame)[0], 1, 1, 1), seed=self.sampling_seed)  # fmt: skip
                frame = ops.where(draw < self.teacher_forcing, frames[:, t + 1], following)
            else:
                frame = following
        return ops.stack(predicted, axis=1)

    def forecast(self, frames, batch_size=64):
        """The `output_frames` frames after the observed `frames` (NumPy), each predicted from
        the ones before."""
        frames = np.asarray(frames, "float32")
        if frames.shape[1] > self.observed_frames:
            raise ValueError(f"forecast takes at most observed_frames={self.observed_frames} frames, got {frames.shape[1]}")  # fmt: skip
        return self.predict(frames, batch_size=batch_size, verbose=0)[:, frames.shape[1] - 1 :]

    def get_config(self):
        return {
            **super().get_config(),
            "frame_shape": self.frame_shape,
            "output_frames": self.output_frames,
            "width": self.width,
            "core_filters": self.core_filters,
            "kernel": self.kernel,
            "core": self.core,
            "history": self.history_length,
            "gate": self.gate,
            "observed_frames": self.observed_frames,
        }


class ScheduledSampling(keras.callbacks.Callback):
    """Lower a `FramePredictor`'s `teacher_forcing` from 1 to 0 over the first `decay_steps`
    batches (linearly), then keep it at 0: first it learns from true frames, then from its own."""

    def __init__(self, decay_steps):
        super().__init__()
        if int(decay_steps) < 1:
            raise ValueError(f"decay_steps must be at least 1, got {decay_steps!r}")
        self.decay_steps, self.seen = int(decay_steps), 0

    def on_train_batch_begin(self, batch, logs=None):
        self.model.teacher_forcing.assign(max(0.0, 1.0 - self.seen / self.decay_steps))
        self.seen += 1


@contextlib.contextmanager
def repeatable_training():
    """Inside: TensorFlow's graph optimizer (Grappler) is off, so a seeded rollout trains the same
    way in every process.

    With it on, the gradients of a weight that an unrolled rollout uses at every time step came
    out different in the last bits from one fresh process to the next (eager mode and the
    one-shot CNN did not); training amplifies that, and three full runs of notebook 03 gave the
    same seeds MSEs 5e-5 to 3e-4 apart. Off, the step time of the rollout predictors was the same
    (391-407 ms against 394-435 ms on 2 cores). Other backends: nothing to do.
    """
    if keras.backend.backend() != "tensorflow":
        yield
        return
    import tensorflow as tf

    before = tf.config.optimizer.get_experimental_options().get("disable_meta_optimizer", False)
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    try:
        yield
    finally:
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": before})
