"""The LSTM image codec of notebook 05 (Mandogade & Morghare; Toderici et al. 2017).

    from keraslstm.codec import compress, decompress
    data = compress(image, bpp=0.25)   # bytes of a .klc file, pretrained weights by default
    image = decompress(data)           # uint8

Command line: `python -m keraslstm.codec --help`. The names below load on first use (PEP 562),
so the command line answers `--help` without importing Keras or TensorFlow.
"""

import importlib

_HOMES = {
    "compress": "api",
    "decompress": "api",
    "encode_progressive": "api",
    "read_image": "api",
    "real_bpp": "api",
    "CodecError": "fileformat",
    "ResidualLSTMCodec": "model",
    "shape_table": "model",
    "fingerprint": "weights",
    "load_model": "weights",
    "save_model": "weights",
}

__all__ = sorted(_HOMES)


def __getattr__(name):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
