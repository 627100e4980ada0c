"""Run-wide settings: the run mode (quick, lab or full) and a one-call notebook setup.

Three modes size every notebook:
- `quick`: a few seconds to minutes per notebook, so the notebooks run as tests (`conftest.py`);
- `lab` (the default): the same pictures at a size a class can wait for on 2 CPU cores;
- `full`: the sizes of the committed results (`make reproduce`).

The mode comes from, in order: `set_mode(name)` in a notebook's parameters cell, the environment
variable `KERASLSTM_MODE=quick|lab|full`, `KERASLSTM_QUICK=1` (the older switch, meaning quick),
else `lab`, so a student who presses Run All never waits for the full size. This module is the
only place that reads these variables.
"""

import contextlib
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

__all__ = [
    "MODES",
    "mode",
    "set_mode",
    "quick_mode",
    "pick",
    "devices",
    "setup",
    "progress",
    "native_stderr_silenced",
]

MODES = ("quick", "lab", "full")
DEFAULT_MODE = "lab"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}
_chosen_here = None  # the mode a notebook chose with set_mode, or None
_minutes = {}  # expected minutes per mode, as the notebook's setup call gave them


def _check_mode(name, where):
    if name not in MODES:
        raise ValueError(f"{where} must be one of {', '.join(MODES)}, got {name!r}")
    return name


def _mode_and_source():
    if _chosen_here is not None:
        return _chosen_here, "set in this notebook"
    value = os.environ.get("KERASLSTM_MODE", "").strip().lower()
    if value:
        return _check_mode(value, "KERASLSTM_MODE"), "from KERASLSTM_MODE"
    quick = os.environ.get("KERASLSTM_QUICK", "").strip().lower()
    if quick not in _TRUE | _FALSE:
        raise ValueError(
            f"KERASLSTM_QUICK must be one of 1/0/true/false/yes/no/on/off, got {quick!r}"
        )
    if quick in _TRUE:
        return "quick", "from KERASLSTM_QUICK"
    return DEFAULT_MODE, "the default"


def mode():
    """The run mode: "quick", "lab" or "full" (see the module docstring for where it comes from)."""
    return _mode_and_source()[0]


def set_mode(name):
    """Choose the mode for this process (a notebook's parameters cell); None keeps the
    environment's choice. Prints the mode, and its expected time when `setup` was given one.

    Returns the mode now in force.
    """
    global _chosen_here
    if name is not None:
        _check_mode(name, "set_mode's mode")
    _chosen_here = name
    if name is not None:
        print(f"Mode: {_describe()}")
    return mode()


def quick_mode():
    """True in quick mode (the test size)."""
    return mode() == "quick"


def pick(full, quick, lab=None):
    """The value for the current mode: how notebooks size their experiments.

    `lab` defaults to the `quick` value, so `pick(full, quick)` keeps working unchanged.
    """
    return {"full": full, "quick": quick, "lab": quick if lab is None else lab}[mode()]


def _describe():
    current, source = _mode_and_source()
    text = f"{current} ({source})"
    if current in _minutes:
        text += f", about {_minutes[current]:g} min on 2 CPU cores"
    others = [f"{m} {_minutes[m]:g} min" for m in MODES if m != current and m in _minutes]
    if others:
        text += f"; {', '.join(others)}"
    return text


def _in_notebook():
    """True when stdout is a Jupyter kernel's output stream."""
    return type(sys.stdout).__module__.startswith("ipykernel")


def progress(iterable=None, **options):
    """A tqdm progress bar that a notebook shows as plain output.

    In a Jupyter kernel it writes to stdout, updated at most every 5 seconds (JupyterLab paints
    stderr pink, as if it were an error, and a saved notebook keeps every update); in a terminal
    it writes to stderr as tqdm does. `options` go to `tqdm.tqdm` and win over these defaults.
    """
    from tqdm import tqdm

    notebook = _in_notebook()
    options.setdefault("file", sys.stdout if notebook else sys.stderr)
    options.setdefault("mininterval", 5.0 if notebook else 0.1)
    return tqdm(iterable, **options)


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


def setup(seed=42, minutes=None):
    """Seed Python, NumPy and the backend, and print backend, devices, mode and expected time.

    `minutes` maps modes to the notebook's expected run time on 2 CPU cores, e.g.
    `{"quick": 1, "lab": 4, "full": 20}`; the line for the current mode is printed (and again by
    `set_mode` if the parameters cell changes the mode). Returns the seed so a notebook can pass it
    on to data loaders.
    """
    import keras

    if minutes is not None:
        unknown = set(minutes) - set(MODES)
        if unknown:
            raise ValueError(f"setup's minutes takes the modes {', '.join(MODES)}, got {unknown}")
        _minutes.clear()
        _minutes.update(minutes)
    keras.utils.set_random_seed(seed)
    found = devices()
    print(f"Keras {keras.__version__}, backend {keras.backend.backend()}")
    print(f"Accelerators: {', '.join(found) if found else 'none (CPU)'}")
    print(f"Mode: {_describe()}; seed {seed}")
    return seed
