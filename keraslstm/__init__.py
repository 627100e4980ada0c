"""keraslstm: the shared Keras 3 package behind the five paper notebooks.

The layers use `keras.ops` only, so they run on TensorFlow and JAX (tested); the README's
backend table says which models also train on JAX.
`import keraslstm` is cheap: it imports no Keras, TensorFlow, matplotlib or scipy; the names
below load their module on first use (PEP 562), and `keraslstm.config` makes sure TensorFlow's
C++ start-up lines stay out of notebooks whenever it is imported.
"""

import importlib

from keraslstm.config import mode, pick, progress, quick_mode, set_mode, setup

_LAZY = {
    "Binarizer": "keraslstm.layers",
    "ConvLSTMEncoder": "keraslstm.layers",
    "DepthToSpace": "keraslstm.layers",
    "ConvLSTMCell": "keraslstm.cells",
    "ConvRNN": "keraslstm.cells",
    "HardSigmoidLSTMCell": "keraslstm.cells",
    "hard_sigmoid": "keraslstm.cells",
}
_SUBMODULES = {"data", "metrics", "plotting", "results", "timing"}

__all__ = [
    "Binarizer",
    "ConvLSTMCell",
    "ConvLSTMEncoder",
    "ConvRNN",
    "DepthToSpace",
    "HardSigmoidLSTMCell",
    "data",
    "hard_sigmoid",
    "metrics",
    "mode",
    "pick",
    "plotting",
    "progress",
    "quick_mode",
    "results",
    "set_mode",
    "setup",
    "timing",
]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"keraslstm.{name}")
    raise AttributeError(f"module 'keraslstm' has no attribute {name!r}")


def __dir__():
    return __all__
