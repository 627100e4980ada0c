"""Training-step time of our LSTM cell against Keras's, and of hard-sigmoid against sigmoid gates.

Each variant trains the same model (RNN of `--units` over `--steps` time steps, then a dense
readout) with `train_on_batch` on one fixed batch; we report the median step time over
`--repeats` steps after `--warmup` steps, and the ratios. Target: our cell within 1.2x of
`keras.layers.LSTM`. The compression paper (Mandogade & Morghare) claims hard sigmoid trains faster; the
ratio is reported whatever it is. Writes `results/benchmarks.json`.

    python benchmarks/lstm_cell.py            # TensorFlow backend, CPU
"""

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keraslstm import HardSigmoidLSTMCell  # noqa: E402
from keraslstm.results import results_dir  # noqa: E402


def build(variant, units, jit_compile):
    if variant == "keras LSTM (sigmoid)":
        rnn = keras.layers.LSTM(units)
    elif variant == "keras LSTM (hard sigmoid)":
        rnn = keras.layers.LSTM(units, recurrent_activation=keras.activations.hard_sigmoid)
    else:
        gate = "sigmoid" if "sigmoid gates" in variant else "hard_sigmoid"
        rnn = keras.layers.RNN(HardSigmoidLSTMCell(units, gate=gate))
    model = keras.Sequential([rnn, keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse", jit_compile=jit_compile)
    return model


def median_step_seconds(model, x, y, warmup, repeats):
    for _ in range(warmup):
        model.train_on_batch(x, y)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.train_on_batch(x, y)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=32, help="sequence length")
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--jit", choices=["auto", "true", "false"], default="auto")
    args = parser.parse_args()
    jit = {"auto": "auto", "true": True, "false": False}[args.jit]

    keras.utils.set_random_seed(0)
    x = (
        np.random.default_rng(0)
        .normal(size=(args.batch, args.steps, args.features))
        .astype("float32")
    )
    y = np.random.default_rng(1).normal(size=(args.batch, 1)).astype("float32")
    variants = [
        "keras LSTM (sigmoid)",
        "keras LSTM (hard sigmoid)",
        "ours, sigmoid gates",
        "ours, hard-sigmoid gates",
    ]
    seconds = {}
    for variant in variants:
        seconds[variant] = median_step_seconds(
            build(variant, args.units, jit), x, y, args.warmup, args.repeats
        )
        print(f"{variant:28s} {1000 * seconds[variant]:8.2f} ms per training step")

    ratios = {
        "ours (sigmoid) / keras LSTM (sigmoid)": seconds["ours, sigmoid gates"]
        / seconds["keras LSTM (sigmoid)"],
        "ours hard sigmoid / ours sigmoid": seconds["ours, hard-sigmoid gates"]
        / seconds["ours, sigmoid gates"],
        "keras hard sigmoid / keras sigmoid": seconds["keras LSTM (hard sigmoid)"]
        / seconds["keras LSTM (sigmoid)"],
    }
    for name, ratio in ratios.items():
        print(f"{name:40s} {ratio:.3f}")
    target = ratios["ours (sigmoid) / keras LSTM (sigmoid)"] <= 1.2
    print(f"target (ours within 1.2x of keras LSTM): {'met' if target else 'NOT met'}")

    out = results_dir(quick=False) / "benchmarks.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    report = json.loads(out.read_text()) if out.exists() else {}
    report["lstm_cell"] = {
        "backend": keras.backend.backend(),
        "settings": vars(args),
        "median_step_ms": {k: round(1000 * v, 3) for k, v in seconds.items()},
        "ratios": {k: round(v, 3) for k, v in ratios.items()},
        "target_met": target,
    }
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
