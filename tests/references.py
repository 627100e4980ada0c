"""NumPy references the layer and network tests compare Keras's results with.

Written out from the definitions (TensorFlow's "same" padding, depth-to-space's channel order),
without Keras, so a test that agrees with them checks the package, not Keras against itself.
"""

import numpy as np


def conv_same(x, kernel, stride=1, bias=0.0):
    """TensorFlow's "same" convolution by hand: out = ceil(in / stride), extra padding after."""
    k = kernel.shape[0]
    out_h, out_w = -(-x.shape[1] // stride), -(-x.shape[2] // stride)
    pad_h = max((out_h - 1) * stride + k - x.shape[1], 0)
    pad_w = max((out_w - 1) * stride + k - x.shape[2], 0)
    padded = np.pad(x, ((0, 0), (pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0)))  # fmt: skip
    out = np.zeros((x.shape[0], out_h, out_w, kernel.shape[-1]))
    for i in range(out_h):
        for j in range(out_w):
            patch = padded[:, i * stride : i * stride + k, j * stride : j * stride + k]
            out[:, i, j] = np.einsum("bxyc,xyco->bo", patch, kernel)
    return out + bias


def depth_to_space(x, s=2):
    """(b, h, w, c s s) -> (b, h s, w s, c): channel block (dy, dx) goes to pixel (dy, dx)."""
    b, h, w, c = x.shape
    return x.reshape(b, h, w, s, s, c // (s * s)).transpose(0, 1, 3, 2, 4, 5).reshape(b, h * s, w * s, -1)  # fmt: skip


def leaky_relu(x, slope=0.2):
    return np.where(x > 0, x, slope * x)
