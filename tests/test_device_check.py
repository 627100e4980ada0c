"""benchmarks/device_check.py at tiny size on the CPU, under JAX with TensorFlow unimportable.

The GPU check runs on a machine lent for minutes, with JAX and no TensorFlow; this keeps it
working between such loans: every model it lists trains under JAX alone and is reported.
"""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "device_check.py"
RUN_WITHOUT_TENSORFLOW = (
    "import runpy, sys\n"
    "sys.modules['tensorflow'] = None  # any `import tensorflow` on the path now fails\n"
    "sys.argv = [sys.argv[1], '--tiny', '--out', *sys.argv[2:]]\n"
    "runpy.run_path(sys.argv[0], run_name='__main__')\n"
)


needs_jax = pytest.mark.skipif(
    importlib.util.find_spec("jax") is None, reason="jax is not installed"
)


def device_check(out, *args):
    """Run the script at tiny size under JAX with TensorFlow unimportable; its JSON report."""
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    run = subprocess.run(
        [sys.executable, "-c", RUN_WITHOUT_TENSORFLOW, str(SCRIPT), str(out), *args],
        env=env, capture_output=True, text=True, cwd=out.parent,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(out.read_text())


@needs_jax
def test_device_check_runs_tiny_under_jax_without_tensorflow(tmp_path):
    out = tmp_path / "check.json"
    report = device_check(out)
    assert report["backend"] == "jax" and report["settings"]["tiny"]
    models = ["codec", "MLP VAE", "conv VAE", "ConvLSTM predictor", "CNN predictor",
              "row-LSTM detector", "CNN detector"]  # fmt: skip
    assert [row["model"] for row in report["results"]] == models
    for row in report["results"]:
        assert "error" not in row and "skipped" not in row, row
        step = row["step_seconds"]
        assert 0 < step["low"] <= step["median"] <= step["high"], row
        expected = row["batch_size"] / step["median"]
        assert row["examples_per_second"] == pytest.approx(
            expected, rel=1e-2
        )  # times rounded to microseconds
    assert not out.with_suffix(".partial").exists()  # rewritten atomically after each row


@needs_jax
def test_device_check_starts_nothing_once_its_budget_is_spent(tmp_path):
    report = device_check(tmp_path / "check.json", "--budget", "0", "--models", "codec", "CNN detector")  # fmt: skip
    assert [(row["model"], row.get("skipped")) for row in report["results"]] == [
        ("codec", "time budget spent"),
        ("CNN detector", "time budget spent"),
    ]
