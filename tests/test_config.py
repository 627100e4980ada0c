"""keraslstm.config (modes, setup), the cheap package import, and the pytest set-up that users type."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

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


def test_the_test_configuration_runs_quick_and_never_writes_committed_results():
    assert config.mode() == "quick"
    assert "KERASLSTM_WRITE_RESULTS" not in os.environ


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
