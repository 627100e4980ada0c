"""keraslstm.config (modes, setup), the cheap package import, and the pytest set-up that users type."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import keraslstm
from keraslstm import config

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def environment(monkeypatch):
    """A clean mode environment: no mode variables, no mode chosen in a notebook, no minutes."""
    for name in ("KERASLSTM_MODE", "KERASLSTM_QUICK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(config, "_chosen_here", None)
    monkeypatch.setattr(config, "_minutes", {})
    return monkeypatch


def test_mode_defaults_to_lab_and_reads_both_variables(environment):
    assert config.mode() == "lab"  # Run All without any setting: never the full size
    environment.setenv("KERASLSTM_QUICK", "1")
    assert config.mode() == "quick" and config.quick_mode() is True
    environment.setenv("KERASLSTM_QUICK", "0")
    assert config.mode() == "lab" and config.quick_mode() is False
    environment.setenv("KERASLSTM_MODE", " Full ")
    environment.setenv("KERASLSTM_QUICK", "1")
    assert config.mode() == "full"  # the newer variable wins


def test_unclear_modes_are_refused_with_the_allowed_ones(environment):
    environment.setenv("KERASLSTM_MODE", "fast")
    with pytest.raises(
        ValueError, match="KERASLSTM_MODE must be one of quick, lab, full, got 'fast'"
    ):
        config.mode()
    environment.delenv("KERASLSTM_MODE")
    environment.setenv("KERASLSTM_QUICK", "maybe")
    with pytest.raises(ValueError, match="KERASLSTM_QUICK must be one of"):
        config.quick_mode()
    with pytest.raises(ValueError, match="must be one of quick, lab, full, got 'Lab'"):
        config.set_mode("Lab")


def test_pick_gives_each_mode_its_value(environment):
    for mode, expected, expected_without_lab in [
        ("quick", 3, 3),
        ("lab", 30, 3),  # without a lab value, lab runs at the quick size
        ("full", 100, 100),
    ]:
        environment.setenv("KERASLSTM_MODE", mode)
        assert config.pick(full=100, quick=3, lab=30) == expected
        assert config.pick(100, 3) == expected_without_lab


def test_set_mode_overrides_the_environment_until_reset(environment, capsys):
    environment.setenv("KERASLSTM_MODE", "quick")
    assert config.set_mode(None) == "quick" and capsys.readouterr().out == ""
    assert config.set_mode("full") == "full"
    assert capsys.readouterr().out == "Mode: full (set in this notebook)\n"
    assert keraslstm.mode() == "full" and keraslstm.pick(full=1, quick=2) == 1
    assert config.set_mode(None) == "quick"


def test_setup_prints_the_mode_and_its_expected_time(environment, capsys):
    environment.setenv("KERASLSTM_MODE", "lab")
    assert config.setup(seed=7, minutes={"quick": 1, "lab": 4, "full": 20}) == 7
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Keras ") and lines[1].startswith("Accelerators: ")
    assert lines[2] == (
        "Mode: lab (from KERASLSTM_MODE), about 4 min on 2 CPU cores; quick 1 min, full 20 min; "
        "seed 7"
    )
    config.set_mode("full")  # a parameters cell that changes the mode says so, with its time
    assert capsys.readouterr().out == (
        "Mode: full (set in this notebook), about 20 min on 2 CPU cores; quick 1 min, lab 4 min\n"
    )
    with pytest.raises(ValueError, match="setup's minutes takes the modes quick, lab, full"):
        config.setup(minutes={"fast": 1})


def test_setup_names_where_the_mode_came_from(environment, capsys):
    config.setup(seed=1)
    assert capsys.readouterr().out.splitlines()[2] == "Mode: lab (the default); seed 1"
    environment.setenv("KERASLSTM_QUICK", "yes")
    config.setup(seed=1, minutes={"quick": 0.5})
    assert capsys.readouterr().out.splitlines()[2] == (
        "Mode: quick (from KERASLSTM_QUICK), about 0.5 min on 2 CPU cores; seed 1"
    )


def test_the_test_configuration_runs_quick_and_never_writes_committed_results():
    assert config.mode() == "quick"
    assert "KERASLSTM_WRITE_RESULTS" not in os.environ


def test_xdist_workers_and_what_they_start_run_one_thread_each():
    if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) < 2:
        pytest.skip("one test process: TensorFlow keeps its own thread counts")
    threads = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS")
    assert [os.environ.get(name) for name in threads] == ["1", "1", "1"]


@pytest.mark.parametrize(
    "variables, expected",
    [
        ({"KERASLSTM_MODE": "full"}, "full 100"),  # what `make reproduce` sets
        ({"KERASLSTM_MODE": "full", "KERASLSTM_QUICK": "1"}, "full 100"),
        ({}, "lab 30"),
        ({"KERASLSTM_QUICK": "0"}, "lab 30"),
        ({"KERASLSTM_QUICK": " Off "}, "lab 30"),
        ({"KERASLSTM_MODE": "lab"}, "lab 30"),
        ({"KERASLSTM_QUICK": "YES"}, "quick 3"),
        ({"KERASLSTM_MODE": "quick"}, "quick 3"),
    ],
)
def test_pick_in_a_fresh_process_follows_the_environment(variables, expected):
    """A notebook kernel reads its mode from the environment it starts in: a full run (what
    `make reproduce` sets up) gets the full value."""
    code = "from keraslstm import pick, mode; print(mode(), pick(full=100, quick=3, lab=30))"
    env = {k: v for k, v in os.environ.items() if k not in ("KERASLSTM_MODE", "KERASLSTM_QUICK")}
    out = subprocess.run([sys.executable, "-c", code], env={**env, **variables},
                         capture_output=True, text=True)  # fmt: skip
    assert out.stdout.strip() == expected, out.stderr


def test_setup_seeds_python_and_numpy_and_names_the_devices(environment, capsys):
    import random

    import keras

    environment.setenv("KERASLSTM_MODE", "quick")
    assert config.setup(seed=7) == 7
    drawn = (random.random(), np.random.random())  # noqa: NPY002  (the global state setup seeds)
    lines = capsys.readouterr().out.splitlines()
    random.seed(7)
    np.random.seed(7)  # noqa: NPY002
    assert drawn == (random.random(), np.random.random())  # noqa: NPY002
    assert lines == [
        f"Keras {keras.__version__}, backend {keras.backend.backend()}",
        "Accelerators: " + (", ".join(config.devices()) or "none (CPU)"),
        "Mode: quick (from KERASLSTM_MODE); seed 7",
    ]
    environment.setattr(config, "devices", lambda: ["GPU:0", "GPU:1"])
    assert config.setup() == 42
    assert capsys.readouterr().out.splitlines()[1] == "Accelerators: GPU:0, GPU:1"


def test_devices_lists_the_accelerators_each_backend_sees(monkeypatch):
    import types

    import jax
    import keras
    import tensorflow as tf

    assert config.devices() == [d.name for d in tf.config.list_physical_devices("GPU")]
    gpus = {"GPU": [_Device("gpu", "/physical_device:GPU:0")], "CPU": [_Device("cpu", "/cpu:0")]}
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind: gpus.get(kind, []))
    assert config.devices() == ["/physical_device:GPU:0"]
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    monkeypatch.setattr(jax, "devices", lambda: [_Device("cpu", "TFRT_CPU_0"), _Device("gpu", "cuda:0")])  # fmt: skip
    assert config.devices() == ["cuda:0"]
    cuda = types.SimpleNamespace(device_count=lambda: 2, get_device_name=lambda i: f"card {i}")
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(cuda=cuda))
    monkeypatch.setattr(keras.backend, "backend", lambda: "torch")
    assert config.devices() == ["card 0", "card 1"]
    monkeypatch.setattr(keras.backend, "backend", lambda: "numpy")
    assert config.devices() == []


def test_native_stderr_is_silenced_inside_the_block_only(capfd):
    os.write(2, b"before\n")
    with config.native_stderr_silenced():
        os.write(2, b"from C++\n")
        print("python stdout still shows")
    os.write(2, b"after\n")
    captured = capfd.readouterr()
    assert captured.err == "before\nafter\n" and captured.out == "python stdout still shows\n"
    with pytest.raises(RuntimeError, match="raised inside"), config.native_stderr_silenced():
        raise RuntimeError("raised inside")
    os.write(2, b"restored after an error\n")
    assert capfd.readouterr().err == "restored after an error\n"


def test_the_tensorflow_import_hook_runs_tensorflow_quietly_once(monkeypatch, capfd):
    import importlib.util
    import types

    loaded = []

    class Loader:
        def exec_module(self, module):
            os.write(2, b"oneDNN custom operations are on\n")
            loaded.append(module)

    spec = types.SimpleNamespace(loader=Loader())
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec if name == "tensorflow" else None)  # fmt: skip
    hook = config._QuietTensorFlowImport()
    monkeypatch.setattr(sys, "meta_path", [hook, *sys.meta_path])
    assert hook.find_spec("json") is None and sys.meta_path[0] is hook  # other imports pass by
    assert hook.find_spec("tensorflow") is spec
    assert hook not in sys.meta_path  # once is enough
    spec.loader.exec_module("the module")
    assert loaded == ["the module"] and capfd.readouterr().err == ""


class _Device:
    def __init__(self, platform, name):
        self.platform, self.name = platform, name

    def __str__(self):
        return self.name


def test_import_is_cheap_and_tensorflow_stays_quiet():
    code = (
        "import sys, keraslstm\n"
        "print([m for m in ('tensorflow', 'keras', 'matplotlib', 'scipy') if m in sys.modules])\n"
        "import keras, numpy\n"
        "keras.layers.Dense(1)(numpy.zeros((1, 1)))\n"
        "print(keraslstm.HardSigmoidLSTMCell.__name__, keraslstm.metrics.__name__)"
    )
    env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["[]", "HardSigmoidLSTMCell keraslstm.metrics"]
    assert "oneDNN" not in out.stderr and "I0000" not in out.stderr, out.stderr


def test_scoring_classifiers_ship_as_package_data():
    from keraslstm import scorers

    line = re.search(r'^"keraslstm" = \[(.*)\]$', (ROOT / "pyproject.toml").read_text(), re.M)
    patterns = re.findall(r'"([^"]+)"', line.group(1))  # the package-data globs of `keraslstm`
    shipped = {p for pattern in patterns for p in (ROOT / "keraslstm").glob(pattern)}
    assert {scorers.CLASSIFIER_PATH, scorers.FACE_CLASSIFIER_PATH} <= shipped


def test_pytest_nbval_as_users_type_it_runs_notebooks_in_lax_mode(tmp_path):
    """`pytest --nbval` with the project's configuration compares only marked cells."""
    cell = {"cell_type": "code", "execution_count": 1, "metadata": {}, "source": "print(2 + 2)"}
    notebook = {
        "cells": [
            {**cell, "outputs": [{"name": "stdout", "output_type": "stream", "text": "5\n"}]}
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "stale_output.ipynb"
    path.write_text(json.dumps(notebook))
    run = [sys.executable, "-m", "pytest", "-q", "-c", str(ROOT / "pyproject.toml"), str(path)]
    run += ["--rootdir", str(tmp_path)]
    lax = subprocess.run([*run, "--nbval"], capture_output=True, text=True, cwd=tmp_path)
    assert lax.returncode == 0, lax.stdout
    plain = subprocess.run(run, capture_output=True, text=True, cwd=tmp_path)
    assert plain.returncode == 0 and "1 passed" in plain.stdout, plain.stdout
    marked = path.read_text().replace("print(2 + 2)", "# NBVAL_CHECK_OUTPUT\\nprint(2 + 2)")
    path.write_text(marked)
    strict = subprocess.run([*run, "--nbval"], capture_output=True, text=True, cwd=tmp_path)
    assert strict.returncode == 1, strict.stdout  # a marked cell is still compared


def test_progress_writes_to_stdout_in_a_notebook_and_stderr_elsewhere(monkeypatch):
    import io

    class KernelStream(io.StringIO):  # what ipykernel puts in sys.stdout
        __module__ = "ipykernel.iostream"

    kernel_out, terminal_err = KernelStream(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", terminal_err)
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert list(config.progress(range(3), desc="terminal")) == [0, 1, 2]
    assert "terminal: 100%" in terminal_err.getvalue() and sys.stdout.getvalue() == ""
    monkeypatch.setattr(sys, "stdout", kernel_out)
    assert list(keraslstm.progress(range(3), desc="notebook")) == [0, 1, 2]
    assert "notebook: 100%" in kernel_out.getvalue()
    assert "notebook" not in terminal_err.getvalue()
