"""keraslstm: the shared Keras 3 package behind the five paper notebooks.

The layers use `keras.ops` only, so they run on the TensorFlow, JAX and PyTorch backends.
"""

# isort: off
from keraslstm.config import pick, quick_mode, setup  # first: it quiets TensorFlow's C++ logs

# isort: on
from keraslstm import data, metrics, plotting, results
from keraslstm.cells import ConvLSTMCell, ConvRNN, HardSigmoidLSTMCell, hard_sigmoid
from keraslstm.layers import Binarizer, ConvLSTMEncoder, DepthToSpace

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
