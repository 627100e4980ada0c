"""Shipped codec weights: `load_model()` returns the pretrained `ResidualLSTMCodec`.

A weights file `NAME.weights.h5` sits next to `NAME.json`, which holds the model's config and
how it was trained (command, steps, data, seconds), and may have `NAME.priors.npy`: the range
coder's prior counts for these weights' codes (`training.entropy_priors`), registered by their
fingerprint when the weights load, so files written with them (stage `range-priors`) decode.
"""

import functools
import hashlib
import json
from pathlib import Path

import numpy as np

from keraslstm.codec.fileformat import CodecError
from keraslstm.codec.model import ResidualLSTMCodec

__all__ = [
    "DEFAULT_WEIGHTS",
    "fingerprint",
    "load_model",
    "save_model",
    "model_info",
    "priors_path",
]

DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "weights" / "default.weights.h5"


def fingerprint(model):
    """8 bytes identifying a codec's configuration and weights (stored in every .klc file).

    The model's name is left out: Keras numbers unnamed models in the order a process makes
    them, and a file must decode in any process that loads the same weights.
    """
    config = {
        k: v for k, v in model.get_config().items() if k not in ("name", "trainable", "dtype")
    }
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode())
    for weight in model.get_weights():
        digest.update(np.ascontiguousarray(weight, dtype=np.float32))  # its bytes, uncopied
    return digest.digest()[:8]


def _sidecar(path):
    return Path(str(path).removesuffix(".weights.h5") + ".json")


def priors_path(path=DEFAULT_WEIGHTS):
    """Where the range coder's priors for the weights at `path` live: `NAME.priors.npy`."""
    return Path(str(path).removesuffix(".weights.h5") + ".priors.npy")


def model_info(path=DEFAULT_WEIGHTS):
    """The JSON sidecar of a weights file: model config and training record."""
    sidecar = _sidecar(path)
    if not Path(path).exists() or not sidecar.exists():
        raise CodecError(
            f"no codec weights at {path} (with {sidecar.name}); train some with "
            "`python -m keraslstm.codec train --steps N --out W.weights.h5`"
        )
    return json.loads(sidecar.read_text())


@functools.cache
def _load(path):
    info = model_info(path)
    model = ResidualLSTMCodec(**info["config"])
    model.build((None, model.stride * 2, model.stride * 2, 3))
    model.load_weights(path)
    return model, fingerprint(model)


def _read_priors(path):
    try:
        priors = np.load(path, allow_pickle=False)
        if not isinstance(priors, np.ndarray):
            priors.close()
            raise ValueError("not one array (an .npz archive?)")
        from keraslstm.codec.entropy import check_priors

        return check_priors(priors)
    except (ValueError, OSError, EOFError) as error:
        raise CodecError(f"{path}: {error}") from None


def load_model(path=None):
    """The codec stored at `path` (default: the pretrained weights shipped with the package).

    The `.priors.npy` beside the weights, if any, is (re)registered for the model's fingerprint
    on every call, so files written with those priors decode.
    """
    path = str(Path(path or DEFAULT_WEIGHTS).resolve())
    model, model_fingerprint = _load(path)
    if priors_path(path).exists():
        from keraslstm.codec import entropy

        entropy.register_priors(model_fingerprint, _read_priors(priors_path(path)))
    return model


def save_model(model, path, **training):
    """Write `path` (weights) and its JSON sidecar (config plus the `training` record)."""
    path = Path(path)
    if not path.name.endswith(".weights.h5"):
        raise CodecError(f"weights files end in .weights.h5, got {path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    config = {
        k: v for k, v in model.get_config().items() if k not in ("name", "trainable", "dtype")
    }
    # An uncompiled copy: save_weights of a compiled model also stores the optimizer's moments.
    bare = ResidualLSTMCodec(**config)
    bare.build((None, bare.stride * 2, bare.stride * 2, 3))
    bare.set_weights(model.get_weights())
    bare.save_weights(path)
    _sidecar(path).write_text(json.dumps({"config": config, "training": training}, indent=2) + "\n")
    return path
