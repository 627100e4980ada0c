"""Training-step time of our LSTM cell against Keras's, and of hard-sigmoid against sigmoid gates.

Each variant trains the same model (RNN of `--units` over `--steps` time steps, then a dense
readout) with `train_on_batch` on one fixed batch. After `--warmup` steps each, the variants run
in `--rounds` interleaved rounds of `--repeats` steps (`keraslstm.timing.interleaved`), so the
drift of a shared machine hits all of them alike; each ratio is taken round by round. That runs
in `--processes` fresh Python processes one after another (`keraslstm.timing.in_processes`),
and the rounds of all of them are pooled: four runs of one process each gave medians that
differed by more than their ranges (0.90 to 1.05 for our cell against Keras's), so much of the
noise is between processes, not between rounds; with 3 processes the medians of four runs still
moved by 0.05-0.1, about half a range, hence 12 (about 15 s each). Each ratio is reported as its median over all rounds with the interquartile range.

- ours (sigmoid) / keras LSTM (sigmoid): the cost of our Python cell at equal maths. Target:
  within 1.2x, judged only when the range is narrower than the margin.
- ours (paper's hard sigmoid) / keras LSTM (paper's hard sigmoid): the same question with the
  paper's gate, `keras.layers.LSTM(recurrent_activation=keraslstm.cells.hard_sigmoid)`, which
  computes exactly what our cell computes (tests/test_cells.py).
- hard sigmoid / sigmoid, in our cell and in Keras's: the compression paper (Mandogade &
  Morghare) claims hard-sigmoid gates train faster; a ratio below 1 says so.

Writes `results/benchmarks.json`.

    python benchmarks/lstm_cell.py            # TensorFlow backend, CPU
"""

import keraslstm  # noqa: F401  first: it silences TensorFlow's C++ start-up lines

# isort: split
import argparse
import json
import logging
import sys

import keras
import numpy as np

from keraslstm.cells import HardSigmoidLSTMCell, hard_sigmoid
from keraslstm.results import results_dir
from keraslstm.timing import in_processes, interleaved, judge, ratios, spread

KERAS_SIGMOID = "keras LSTM (sigmoid)"
KERAS_PAPER_HARD = "keras LSTM (paper's hard sigmoid)"
KERAS3_HARD = "keras LSTM (Keras 3 hard sigmoid)"
OURS_SIGMOID = "ours (sigmoid)"
OURS_HARD = "ours (paper's hard sigmoid)"
VARIANTS = (KERAS_SIGMOID, KERAS_PAPER_HARD, KERAS3_HARD, OURS_SIGMOID, OURS_HARD)
RATIOS = {  # name: (numerator, denominator)
    "ours (sigmoid) / keras LSTM (sigmoid)": (OURS_SIGMOID, KERAS_SIGMOID),
    "ours / keras LSTM, both paper's hard sigmoid": (OURS_HARD, KERAS_PAPER_HARD),
    "ours: paper's hard sigmoid / sigmoid": (OURS_HARD, OURS_SIGMOID),
    "keras LSTM: paper's hard sigmoid / sigmoid": (KERAS_PAPER_HARD, KERAS_SIGMOID),
    "keras LSTM: Keras 3 hard sigmoid / sigmoid": (KERAS3_HARD, KERAS_SIGMOID),
}
CELL_TARGET = 1.2  # our cell's step within 1.2x of keras.layers.LSTM's


def build(variant, units, jit_compile):
    rnn = {
        KERAS_SIGMOID: lambda: keras.layers.LSTM(units),
        KERAS_PAPER_HARD: lambda: keras.layers.LSTM(units, recurrent_activation=hard_sigmoid),
        KERAS3_HARD: lambda: keras.layers.LSTM(
            units, recurrent_activation=keras.activations.hard_sigmoid
        ),
        OURS_SIGMOID: lambda: keras.layers.RNN(HardSigmoidLSTMCell(units, gate="sigmoid")),
        OURS_HARD: lambda: keras.layers.RNN(HardSigmoidLSTMCell(units, gate="hard_sigmoid")),
    }[variant]()
    model = keras.Sequential([rnn, keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse", jit_compile=jit_compile)
    return model


def rounded(values):
    """{median, low, high} of per-round values, to 4 decimals, for the JSON report."""
    return {key: round(value, 4) for key, value in spread(values)._asdict().items()}


def measure(args):
    """Per-round milliseconds per training step of every variant, in this process."""
    jit = {"auto": "auto", "true": True, "false": False}[args.jit]
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # five models: five traced steps
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch, args.steps, args.features)).astype("float32")
    y = rng.normal(size=(args.batch, 1)).astype("float32")
    models = {variant: build(variant, args.units, jit) for variant in VARIANTS}
    for model in models.values():
        for _ in range(args.warmup):
            model.train_on_batch(x, y)

    def steps(model):
        return lambda: [model.train_on_batch(x, y) for _ in range(args.repeats)]

    seconds = interleaved({v: steps(m) for v, m in models.items()}, args.rounds)
    return {v: [1000 * s / args.repeats for s in times] for v, times in seconds.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=32, help="sequence length")
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=5, help="steps per variant before timing")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument(
        "--repeats", type=int, default=5, help="training steps per variant per round"
    )
    parser.add_argument("--jit", choices=["auto", "true", "false"], default="auto")
    parser.add_argument("--processes", type=int, default=12, help="fresh processes, rounds pooled")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:  # one process's rounds, as JSON on the last line
        print(json.dumps(measure(args)))
        return
    step_ms = in_processes(__file__, sys.argv[1:], args.processes)
    print(f"{args.processes} processes x {args.rounds} interleaved rounds of {args.repeats} steps; "
          "median (IQR) over all rounds:")  # fmt: skip
    for variant, values in step_ms.items():
        print(f"{variant:36s} {spread(values)} ms per training step")
    per_round = {name: ratios(step_ms[a], step_ms[b]) for name, (a, b) in RATIOS.items()}
    for name, values in per_round.items():
        print(f"{name:46s} {spread(values)}")
    cell_ratio = per_round["ours (sigmoid) / keras LSTM (sigmoid)"]
    target = judge(cell_ratio, CELL_TARGET)
    print(f"target (ours within {CELL_TARGET}x of keras LSTM): {target}")
    answer = {"met": "yes", "not met": "no", "inside the noise": "inside the noise"}
    hard_faster = {
        where: answer[judge(per_round[name], 1.0)]
        for where, name in (
            ("ours", "ours: paper's hard sigmoid / sigmoid"),
            ("keras LSTM", "keras LSTM: paper's hard sigmoid / sigmoid"),
        )
    }
    for where, verdict in hard_faster.items():
        print(f"paper's hard sigmoid faster than sigmoid ({where}): {verdict}")

    out = results_dir(quick=False) / "benchmarks.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    report = json.loads(out.read_text()) if out.exists() else {}
    report["lstm_cell"] = {
        "backend": keras.backend.backend(),
        "settings": vars(args),
        "step_ms": {v: rounded(values) for v, values in step_ms.items()},
        "ratios": {name: rounded(values) for name, values in per_round.items()},
        "target_within_1.2x": target,
        "hard_sigmoid_faster": hard_faster,
    }
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
