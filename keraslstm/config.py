"""Run-wide settings: the quick-mode switch and a one-call notebook setup.

`KERASLSTM_QUICK=1` shrinks data and training so every notebook runs in minutes on 2 CPU cores;
the test configuration (`conftest.py`) sets it. This module is the only place that reads it.
"""

import functools
import os

import keras

__all__ = ["quick_mode", "pick", "devices", "setup"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


@functools.cache
def quick_mode():
    """True when `KERASLSTM_QUICK` is set to 1/true/yes/on (read once per process)."""
    value = os.environ.get("KERASLSTM_QUICK", "").strip().lower()
    if value not in _TRUE | _FALSE:
        raise ValueError(
            f"KERASLSTM_QUICK must be one of 1/0/true/false/yes/no/on/off, got {value!r}"
        )
    return value in _TRUE


def pick(full, quick):
    """`quick` in quick mode, else `full`: the way notebooks size their experiments."""
    return quick if quick_mode() else full


def devices():
    """Names of the accelerators the active Keras backend sees (empty list: CPU only)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return [d.name for d in tf.config.list_physical_devices("GPU")]
    if backend == "jax":
        import jax

        return [str(d) for d in jax.devices() if d.platform != "cpu"]
    if backend == "torch":
        import torch

        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return []


def setup(seed=42):
    """Seed Python, NumPy and the backend, and print backend, devices and mode.

    Returns the seed so a notebook can pass it on to data loaders.
    """
    keras.utils.set_random_seed(seed)
    found = devices()
    print(f"Keras {keras.__version__}, backend {keras.backend.backend()}")
    print(f"Accelerators: {', '.join(found) if found else 'none (CPU)'}")
    print(f"Quick mode: {'on' if quick_mode() else 'off (full size)'}; seed {seed}")
    return seed
