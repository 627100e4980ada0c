"""keraslstm: the shared Keras 3 package behind the five paper notebooks.

The layers use `keras.ops` only, so they run on the TensorFlow, JAX and PyTorch backends.
"""

import os

os.environ.setdefault(
    "TF_CPP_MIN_LOG_LEVEL", "3"
)  # TensorFlow's C++ log lines (info, warnings, grappler errors) drown notebook output

from keraslstm import data, metrics, plotting, results  # noqa: E402
from keraslstm.cells import ConvLSTMCell, ConvRNN, HardSigmoidLSTMCell, hard_sigmoid  # noqa: E402
from keraslstm.config import pick, quick_mode, setup  # noqa: E402
from keraslstm.layers import Binarizer, ConvLSTMEncoder, DepthToSpace  # noqa: E402

__all__ = [
    "Binarizer",
    "ConvLSTMCell",
    "ConvLSTMEncoder",
    "ConvRNN",
    "DepthToSpace",
    "HardSigmoidLSTMCell",
    "hard_sigmoid",
    "pick",
    "quick_mode",
    "setup",
    "data",
    "metrics",
    "plotting",
    "results",
]
