"""keraslstm.timing: interleaved rounds, median and interquartile range, target verdicts, throughput."""

import itertools

import keras
import numpy as np
import pytest

from keraslstm import timing


@pytest.fixture
def fake_clock(monkeypatch):
    """`time.perf_counter` as seen by keraslstm.timing returns the given readings in turn."""

    def install(readings):
        monkeypatch.setattr(timing.time, "perf_counter", iter(readings).__next__)

    return install


def test_interleaved_turns_the_order_every_round_and_times_each_call(fake_clock):
    calls = []
    variants = {name: (lambda name=name: calls.append(name)) for name in "ABC"}
    fake_clock(itertools.count(0.0, 1.0))  # every call takes exactly 1 s of the fake clock
    seconds = timing.interleaved(variants, rounds=4)
    assert calls == [*"ABC", *"BCA", *"CAB", *"ABC"]
    assert seconds == {"A": [1.0] * 4, "B": [1.0] * 4, "C": [1.0] * 4}


def test_interleaved_measures_the_work_of_each_call():
    import time

    seconds = timing.interleaved({"slow": lambda: time.sleep(0.02), "fast": lambda: None}, 2)
    assert min(seconds["slow"]) >= 0.02 > max(seconds["fast"])


def test_interleaved_refuses_no_rounds_and_no_variants():
    with pytest.raises(ValueError, match="rounds must be at least 1, got 0"):
        timing.interleaved({"a": lambda: None}, 0)
    with pytest.raises(ValueError, match="at least one variant"):
        timing.interleaved({}, 3)


def _tiny_regressor(seed):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    return model


def test_train_step_seconds_warms_up_then_takes_every_step_of_every_round(fake_clock):
    models = {name: _tiny_regressor(seed) for seed, name in enumerate("AB")}
    x, y = np.ones((4, 3), "float32"), np.zeros((4, 1), "float32")
    fake_clock(itertools.count(0.0, 6.0))  # every round's call of a model takes 6 s
    seconds = timing.train_step_seconds({n: (m, x, y) for n, m in models.items()}, 3, steps=2)
    assert seconds == {"A": [3.0] * 3, "B": [3.0] * 3}  # per step: 6 s over 2 steps
    for model in models.values():  # one warm-up step and 3 rounds x 2 steps, each an update
        assert int(model.optimizer.iterations) == 1 + 3 * 2


def test_train_step_seconds_refuses_no_steps():
    with pytest.raises(ValueError, match="steps must be at least 1, got 0"):
        timing.train_step_seconds({}, 3, steps=0)


def test_ratios_are_taken_round_by_round():
    assert timing.ratios([2.0, 3.0, 8.0], [1.0, 6.0, 4.0]) == [2.0, 0.5, 2.0]
    with pytest.raises(ValueError, match="equal length.*got 2 and 3"):
        timing.ratios([1.0, 2.0], [1.0, 2.0, 3.0])


def test_spread_is_median_and_quartiles():
    s = timing.spread([5.0, 1.0, 4.0, 2.0, 3.0])  # quartiles by linear interpolation: 2 and 4
    assert (s.median, s.low, s.high, s.width) == (3.0, 2.0, 4.0, 2.0)
    assert str(s) == "3.000 (IQR 2.000-4.000)"
    with pytest.raises(ValueError, match="finite values"):
        timing.spread([1.0, np.nan])


@pytest.mark.parametrize(
    ("values", "target", "below", "expected"),
    [
        ([1.00, 1.01, 1.02, 1.03, 1.04], 1.2, True, "met"),  # IQR 0.02 < margin 0.18
        ([1.40, 1.41, 1.42, 1.43, 1.44], 1.2, True, "not met"),
        ([1.00, 1.05, 1.10, 1.15, 1.20], 1.2, True, "inside the noise"),  # IQR 0.1 = margin 0.1
        ([0.50, 1.10, 1.15, 1.30, 2.00], 1.2, True, "inside the noise"),  # IQR straddles 1.2
        ([0.60, 0.61, 0.62, 0.63, 0.64], 1.14, False, "not met"),  # a floor: at least 1.14
        ([1.50, 1.51, 1.52, 1.53, 1.54], 1.14, False, "met"),
    ],
)
def test_judge_decides_only_outside_the_noise(values, target, below, expected):
    assert timing.judge(values, target, below=below) == expected


CHILD = """
import json, sys
assert sys.argv[1] == "--child"
print("a progress line that is not JSON")
print(json.dumps({"a": [float(sys.argv[2])], "b": [1.0, 2.0]}))
"""


def test_in_processes_pools_every_childs_rounds_in_order(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    assert timing.in_processes(script, ["7"], 3) == {"a": [7.0] * 3, "b": [1.0, 2.0] * 3}


def test_in_processes_names_a_failing_child_and_refuses_no_processes(tmp_path):
    script = tmp_path / "broken.py"
    script.write_text("raise SystemExit('no photos here')")
    with pytest.raises(RuntimeError, match="(?s)broken.py --child failed.*no photos here"):
        timing.in_processes(script, [], 1)
    with pytest.raises(ValueError, match="processes must be at least 1, got 0"):
        timing.in_processes(script, [], 0)


def test_runs_agree_when_each_median_lies_in_every_range():
    a = timing.Spread(1.00, 0.95, 1.10)
    b = {"median": 1.05, "low": 0.98, "high": 1.12}  # as benchmarks.json stores it
    assert timing.agree([a, b])
    assert not timing.agree([a, timing.Spread(1.11, 1.08, 1.20)])  # 1.11 is outside a's range
    assert not timing.agree([a, timing.Spread(0.96, 0.90, 0.97)])  # a's 1.00 is outside this one
    with pytest.raises(ValueError, match="at least two runs, got 1"):
        timing.agree([a])


def test_throughput_is_examples_per_second_of_each_epoch(fake_clock):
    fake_clock([0.0, 2.0, 10.0, 10.5, 20.0, 21.0])  # epochs of 2, 0.5 and 1 s
    callback = timing.Throughput(100)
    for epoch in range(3):
        callback.on_epoch_begin(epoch)
        callback.on_epoch_end(epoch)
    assert callback.rates == [50.0, 200.0, 100.0]
    assert callback.rate() == 150.0  # median after the first epoch (compilation)


def test_throughput_in_fit_counts_every_epoch():
    x = np.random.default_rng(0).random((64, 4)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    callback = timing.Throughput(len(x))
    model.fit(x, x[:, :1], epochs=2, batch_size=16, verbose=0, callbacks=[callback])
    assert len(callback.rates) == 2 and all(r > 0 for r in callback.rates)
    assert callback.rate() == callback.rates[1]


def test_throughput_refuses_bad_counts_and_empty_reads():
    with pytest.raises(ValueError, match="examples_per_epoch must be positive, got 0"):
        timing.Throughput(0)
    with pytest.raises(ValueError, match="no epochs yet"):
        timing.Throughput(10).rate()
