"""Run-wide settings: the quick-mode switch and a one-call notebook setup.

`KERASLSTM_QUICK=1` shrinks data and training so every notebook runs in minutes on 2 CPU cores;
the test configuration (`conftest.py`) sets it. This module is the only place that reads it.
"""

import contextlib
import functools
import importlib.abc
import importlib.util
import os
import sys


@contextlib.contextmanager
def native_stderr_silenced():
    """Send what C++ code writes to file descriptor 2 to /dev/null for the duration.

    TensorFlow 2.21 prints its start-up lines (oneDNN, CUDA drivers) before it reads
    `TF_CPP_MIN_LOG_LEVEL`, and Jupyter shows them in the notebook. Python exceptions still
    reach the reader: they are printed after the block has restored the descriptor.
    """
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Runs the first `import tensorflow` (however it comes: via keras or directly) with C++
    stderr silenced, so `import keraslstm` itself stays cheap and never imports TensorFlow."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once is enough; also keeps find_spec below from recursing
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            exec_module = spec.loader.exec_module

            def quiet_exec_module(module):
                with native_stderr_silenced():
                    exec_module(module)

            spec.loader.exec_module = quiet_exec_module
        return spec


# The one place that quiets TensorFlow's C++ logging (grappler errors included) for the package.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if "tensorflow" not in sys.modules and not any(
    isinstance(finder, _QuietTensorFlowImport) for finder in sys.meta_path
):
    sys.meta_path.insert(0, _QuietTensorFlowImport())

__all__ = ["quick_mode", "pick", "devices", "setup", "native_stderr_silenced"]

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
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with native_stderr_silenced():  # "failed call to cuInit" on machines without a GPU
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
    import keras

    keras.utils.set_random_seed(seed)
    found = devices()
    print(f"Keras {keras.__version__}, backend {keras.backend.backend()}")
    print(f"Accelerators: {', '.join(found) if found else 'none (CPU)'}")
    print(f"Quick mode: {'on' if quick_mode() else 'off (full size)'}; seed {seed}")
    return seed
