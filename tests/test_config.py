"""keraslstm.config, the cheap package import, and the pytest set-up that users type."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_quick_mode_rejects_unclear_values():
    code = "import keraslstm; keraslstm.quick_mode()"
    env = {**os.environ, "KERASLSTM_QUICK": "maybe"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode != 0 and "KERASLSTM_QUICK must be one of" in out.stderr


def test_pick_follows_quick_mode():
    from keraslstm import pick, quick_mode

    assert quick_mode() is True
    assert pick(full=100, quick=3) == 3


@pytest.mark.parametrize(
    "value, expected",
    [(None, "False 100"), ("", "False 100"), ("0", "False 100"), (" Off ", "False 100"),
     ("no", "False 100"), ("false", "False 100"), ("1", "True 3"), ("YES", "True 3"),
     ("on", "True 3"), ("true", "True 3")],
)  # fmt: skip
def test_pick_returns_the_full_value_unless_quick_mode_is_on(value, expected):
    """What `make reproduce` relies on: without KERASLSTM_QUICK, notebooks run at full size."""
    code = "from keraslstm import pick, quick_mode; print(quick_mode(), pick(full=100, quick=3))"
    env = {k: v for k, v in os.environ.items() if k != "KERASLSTM_QUICK"}
    if value is not None:
        env["KERASLSTM_QUICK"] = value
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == expected, out.stderr


def test_setup_seeds_everything_and_says_what_it_found(capsys, monkeypatch):
    import random

    import keras

    from keraslstm import config

    assert config.setup(seed=7) == 7
    drawn = (random.random(), np.random.random())  # noqa: NPY002  (the global state setup seeds)
    lines = capsys.readouterr().out.splitlines()
    random.seed(7)
    np.random.seed(7)  # noqa: NPY002
    assert drawn == (random.random(), np.random.random())  # noqa: NPY002
    assert lines == [
        f"Keras {keras.__version__}, backend {keras.backend.backend()}",
        "Accelerators: " + (", ".join(config.devices()) or "none (CPU)"),
        "Quick mode: on; seed 7",
    ]
    monkeypatch.setattr(config, "devices", lambda: ["GPU:0", "GPU:1"])
    monkeypatch.setattr(config, "quick_mode", lambda: False)
    config.setup()
    assert capsys.readouterr().out.splitlines()[1:] == [
        "Accelerators: GPU:0, GPU:1",
        "Quick mode: off (full size); seed 42",
    ]


def test_devices_lists_the_accelerators_each_backend_sees(monkeypatch):
    import jax
    import keras
    import tensorflow as tf

    from keraslstm import config

    assert config.devices() == [d.name for d in tf.config.list_physical_devices("GPU")]
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    assert config.devices() == [str(d) for d in jax.devices() if d.platform != "cpu"]
    monkeypatch.setattr(jax, "devices", lambda: [_Device("cpu", "TFRT_CPU_0"), _Device("gpu", "cuda:0")])  # fmt: skip
    assert config.devices() == ["cuda:0"]
    monkeypatch.setattr(keras.backend, "backend", lambda: "numpy")
    assert config.devices() == []


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
