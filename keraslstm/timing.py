"""Speed measurements that hold on a shared, noisy machine (the benchmarks and every notebook).

A machine shared with other jobs drifts 2-4x from minute to minute, so timing one variant after
another measures the drift. `interleaved` times the variants in rounds instead (A B C, B C A,
C A B, ...: the order turns, so no variant always runs first), `ratios` divides them round by
round, `spread` gives the median over rounds and its interquartile range, and `judge` compares a
median with a target only when that range is narrower than the margin ("inside the noise"
otherwise). Part of the noise is between processes (memory layout, thread placement), so the
benchmarks run their rounds `in_processes`: several fresh processes one after another, pooled.
`train_step_seconds` times the training steps of several models in one process that way, and
`Throughput` is a Keras callback that measures the training examples (images, sequences) per
second of `fit`, for `keraslstm.results.record`.
"""

import json
import subprocess
import sys
import time
from typing import NamedTuple

import keras
import numpy as np

__all__ = [
    "interleaved",
    "in_processes",
    "train_step_seconds",
    "ratios",
    "Spread",
    "spread",
    "judge",
    "agree",
    "Throughput",
]


def interleaved(variants, rounds):
    """Call every variant once per round, in a turning order; seconds of each call per variant.

    `variants` maps a name to a callable with no arguments (one timed unit of work: a few
    training steps, one pass of a codec); warm them up (compilation) before. Returns
    `{name: [seconds in round 1, round 2, ...]}`.
    """
    if int(rounds) < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds!r}")
    if not variants:
        raise ValueError("interleaved needs at least one variant")
    names = list(variants)
    seconds = {name: [] for name in names}
    for round_ in range(int(rounds)):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            variants[name]()
            seconds[name].append(time.perf_counter() - start)
    return seconds


def train_step_seconds(batches, rounds, steps=1):
    """Seconds per training step of compiled Keras models, timed alone in interleaved rounds.

    `batches` maps a name to `(model, x, y)`, what `model.train_on_batch(x, y)` takes (`y` None
    for a model that reads its targets from `x`, as `gan.GAN` does). Each model first takes one
    warm-up step (it compiles), then `steps` steps per round. Returns `{name: [seconds per step,
    one value per round]}`. The models train while they are timed: pass fresh ones.
    """

    def stepper(model, x, y):
        return lambda: [model.train_on_batch(x, y) for _ in range(int(steps))]

    if int(steps) < 1:
        raise ValueError(f"steps must be at least 1, got {steps!r}")
    for model, x, y in batches.values():
        model.train_on_batch(x, y)
    variants = {name: stepper(*batch) for name, batch in batches.items()}
    seconds = interleaved(variants, rounds)
    return {name: [s / int(steps) for s in values] for name, values in seconds.items()}


def in_processes(script, arguments, processes):
    """Run `python script --child *arguments` `processes` times, one after another; pool rounds.

    Each child measures in its own fresh process and prints `{name: [value per round]}` as JSON
    on the last line of its standard output. Returns the lists of all children, concatenated
    per name in the order the children ran.
    """
    if int(processes) < 1:
        raise ValueError(f"processes must be at least 1, got {processes!r}")
    pooled = {}
    for _ in range(int(processes)):
        child = [sys.executable, str(script), "--child", *arguments]
        done = subprocess.run(child, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(
                f"{script} --child failed ({done.returncode}):\n{done.stderr[-2000:]}"
            )
        lines = done.stdout.strip().splitlines()
        for name, values in json.loads(lines[-1] if lines else "{}").items():
            pooled.setdefault(name, []).extend(values)
    return pooled


def ratios(numerator, denominator):
    """Round-by-round ratios `numerator[i] / denominator[i]` of two equally long lists."""
    if len(numerator) != len(denominator) or not numerator:
        raise ValueError(
            f"ratios needs two non-empty lists of equal length (one value per round), "
            f"got {len(numerator)} and {len(denominator)}"
        )
    return [a / b for a, b in zip(numerator, denominator, strict=True)]


class Spread(NamedTuple):
    """Median of per-round values with the first and third quartiles around it."""

    median: float
    low: float
    high: float

    @property
    def width(self):
        """The interquartile range, `high - low`."""
        return self.high - self.low

    def __str__(self):
        return f"{self.median:.3f} (IQR {self.low:.3f}-{self.high:.3f})"


def spread(values):
    """`Spread(median, first quartile, third quartile)` of per-round values."""
    values = np.asarray(values, dtype=float)
    if values.size == 0 or not np.isfinite(values).all():
        raise ValueError(f"spread needs finite values, got {values.tolist()}")
    low, median, high = np.percentile(values, [25, 50, 75])
    return Spread(float(median), float(low), float(high))


def judge(values, target, below=True):
    """Is the median of `values` at or below `target` (`below=False`: at or above)?

    "met" or "not met" when the interquartile range is narrower than the margin
    `|median - target|`; otherwise "inside the noise": the rounds disagree more than the median
    misses or clears the target by.
    """
    s = spread(values)
    if s.width >= abs(s.median - target):
        return "inside the noise"
    return "met" if (s.median <= target) == below else "not met"


def agree(spreads):
    """Do runs agree: does every run's median lie inside every run's interquartile range?

    `spreads` holds one `Spread` (or `{"median", "low", "high"}` as the reports store it) per
    run of the same measurement; a benchmark is reproducible when they agree.
    """
    spreads = [s if isinstance(s, Spread) else Spread(**s) for s in spreads]
    if len(spreads) < 2:
        raise ValueError(f"agree needs at least two runs, got {len(spreads)}")
    return all(s.low <= t.median <= s.high for s in spreads for t in spreads)


class Throughput(keras.callbacks.Callback):
    """Training examples per second of each epoch of `fit`: `Throughput(len(x_train))`.

    Put it first in `callbacks`, so other callbacks' end-of-epoch work (scoring samples,
    snapshots) is not timed. `rates` holds one value per epoch; `rate()` is their median after
    the first epoch (which includes compiling the step), or the only one after a single epoch.
    """

    def __init__(self, examples_per_epoch):
        super().__init__()
        if int(examples_per_epoch) < 1:
            raise ValueError(f"examples_per_epoch must be positive, got {examples_per_epoch!r}")
        self.examples_per_epoch = int(examples_per_epoch)
        self.rates = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.rates.append(self.examples_per_epoch / (time.perf_counter() - self._start))

    def rate(self):
        """Median examples per second over the epochs after the first."""
        if not self.rates:
            raise ValueError("Throughput has no epochs yet: pass it to fit(callbacks=[...]) first")
        return float(np.median(self.rates[1:] or self.rates))
