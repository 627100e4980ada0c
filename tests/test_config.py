"""keraslstm.config, the cheap package import, and the pytest set-up that users type."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

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
