"""keraslstm.results and keraslstm.plotting."""

import json
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.colors import same_color

from keraslstm import plotting, results

matplotlib.use("Agg")


@pytest.fixture
def results_root(tmp_path, monkeypatch):
    monkeypatch.setenv("KERASLSTM_RESULTS", str(tmp_path))
    return tmp_path


def test_record_writes_quick_runs_apart_from_full_runs(results_root):
    path = results.record(
        "01_demo", psnr_db=20.5, ssim=dict(claim="SSIM 0.8", paper=0.8, ours=0.61, note="3 seeds")
    )
    assert path == results_root / "quick" / "01_demo.json"  # the test configuration is quick mode
    payload = json.loads(path.read_text())
    assert payload["quick_mode"] is True
    assert payload["figures"]["ssim"] == {
        "claim": "SSIM 0.8",
        "paper": 0.8,
        "ours": 0.61,
        "note": "3 seeds",
    }
    assert payload["figures"]["psnr_db"] == {
        "claim": None,
        "paper": None,
        "ours": 20.5,
        "note": None,
    }
    assert results.load(results_root) == []


@pytest.mark.parametrize(
    "mode, write, folder",
    [
        ("quick", "", "quick"),
        ("quick", "1", "quick"),  # a quick run never replaces the committed numbers
        ("lab", "", "local"),
        ("lab", "1", "local"),
        ("full", "", "local"),  # full size run by hand: still not the committed results
        ("full", "1", "."),  # make reproduce
    ],
)
def test_only_make_reproduce_writes_the_committed_results(
    results_root, monkeypatch, mode, write, folder
):
    monkeypatch.setenv("KERASLSTM_MODE", mode)
    monkeypatch.setenv("KERASLSTM_WRITE_RESULTS", write)
    expected = (results_root / folder).resolve()
    assert results.results_dir().resolve() == expected
    assert results.record("01_demo", psnr_db=1.0).parent.resolve() == expected
    assert json.loads((expected / "01_demo.json").read_text())["mode"] == mode
    assert plotting.save_fig("demo").resolve() == expected / "figures" / "demo.png"
    assert results.results_dir(quick=False) == results_root  # what load() and main() read
    monkeypatch.setenv("KERASLSTM_WRITE_RESULTS", "sometimes")
    with pytest.raises(ValueError, match="KERASLSTM_WRITE_RESULTS must be one of"):
        results.results_dir()


def test_paths_in_the_project_are_given_relative_to_its_root(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")  # where Jupyter runs a notebook
    monkeypatch.delenv("KERASLSTM_RESULTS", raising=False)
    monkeypatch.setenv("KERASLSTM_MODE", "lab")
    path = results.record("01_demo", psnr_db=1.0)
    assert path == Path("results/local/01_demo.json")  # printed in notebooks: no machine path
    assert (tmp_path / path).exists()
    assert plotting.save_fig("demo") == Path("results/local/figures/demo.png")
    assert results.relative(tmp_path.parent / "x.png") == tmp_path.parent / "x.png"


def test_record_keeps_tables_of_rows_beside_the_figures(results_root):
    grid = [
        {"encoder": "lstm", "seed": 0, "psnr": 17.25},
        {"encoder": "conv", "seed": 0, "psnr": 18.5},
    ]
    payload = json.loads(results.record("01_demo", tables={"grid": grid}, psnr_db=17.3).read_text())
    assert payload["grid"] == grid and payload["figures"]["psnr_db"]["ours"] == 17.3
    with pytest.raises(ValueError, match="'grid' must be a non-empty list of dicts"):
        results.record("01_demo", tables={"grid": []}, psnr_db=1.0)
    with pytest.raises(ValueError, match="'grid': 'curve' must be a number or a string"):
        results.record("01_demo", tables={"grid": [{"curve": [1, 2]}]}, psnr_db=1.0)
    with pytest.raises(ValueError, match=r"\['figures'\] are reserved"):
        results.record("01_demo", tables={"figures": grid}, psnr_db=1.0)


def test_record_keeps_series_of_numbers_per_model(results_root):
    mse = {"convlstm": np.array([0.01, 0.02]), "blank": [0.036, 0.036]}
    payload = json.loads(results.record("03_demo", series={"mse_by_frame": mse}, minutes=1.0).read_text())  # fmt: skip
    assert payload["mse_by_frame"] == {"convlstm": [0.01, 0.02], "blank": [0.036, 0.036]}
    with pytest.raises(ValueError, match="'mse_by_frame': 'x' must be a list of finite numbers"):
        results.record("03_demo", series={"mse_by_frame": {"x": [0.1, float("nan")]}}, minutes=1.0)
    with pytest.raises(ValueError, match="'recall' must be a non-empty dict"):
        results.record("03_demo", series={"recall": {}}, minutes=1.0)


def test_recorded_reads_back_what_a_full_run_wrote_and_names_what_is_missing(
    results_root, monkeypatch
):
    monkeypatch.setenv("KERASLSTM_MODE", "full")
    monkeypatch.setenv("KERASLSTM_WRITE_RESULTS", "1")
    rows = [{"discriminator": "frozen", "seed": 0, "recall": 0.73}]
    results.record("03_demo", tables={"exercise_1": rows}, minutes=1.0)
    assert results.recorded("03_demo", "exercise_1") == rows
    with pytest.raises(KeyError, match="records no 'pair'; it records .*'exercise_1'"):
        results.recorded("03_demo", "pair")
    with pytest.raises(FileNotFoundError, match="04_demo.json is missing: a full run"):
        results.recorded("04_demo", "exercise_1")


def test_record_refuses_malformed_figures(results_root):
    with pytest.raises(ValueError, match="at least one figure"):
        results.record("01_demo")
    with pytest.raises(ValueError, match=r"'ssim' must be a number or a dict with 'ours'"):
        results.record("01_demo", ssim=dict(paper=0.8))
    with pytest.raises(ValueError, match="'curve' must be a number"):
        results.record("01_demo", curve=[1, 2])


def test_summary_tabulates_full_runs(results_root):
    figures = {
        "ms_ssim": {"claim": "beats JPEG", "paper": 0.904, "ours": 0.8712345, "note": "Kodak"},
        "seconds": {"claim": None, "paper": None, "ours": 61},  # an old record: no note
    }
    (results_root / "05_codec.json").write_text(
        json.dumps({"notebook": "05_codec", "quick_mode": False, "figures": figures})
    )
    text = results.summary(results_root)
    assert "## 05_codec" in text
    assert "| beats JPEG | 0.904 | 0.8712 | Kodak |" in text
    assert "| seconds | - | 61 |  |" in text
    (results_root / "benchmarks.json").write_text('{"lstm_cell": {}}')  # not a notebook record
    code = "from keraslstm.results import main; main()"
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    assert (results_root / "summary.md").read_text().strip() == text.strip()


def test_save_fig_and_plots_write_pngs(results_root):
    fig = plotting.image_grid(
        np.random.default_rng(0).random((5, 8, 8, 1)), ncols=3, titles=list("abcde")
    )
    path = plotting.save_fig("grid", fig)
    assert path == results_root / "quick" / "figures" / "grid.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ax = plotting.rate_distortion(
        {"ours": ([0.25, 0.5], [0.8, 0.9])},
        references={"Toderici 2017": ([0.25, 0.5], [0.904, 0.954])},
    )
    assert [line.get_label() for line in ax.get_lines()] == ["ours", "Toderici 2017 (published)"]
    ax = plotting.metric_curves({"loss": [3, 2, 1], "val": ([1, 3], [3, 1.5])})
    assert len(ax.get_lines()) == 2
    with pytest.raises(ValueError, match="got 2 titles for 5 images"):
        plotting.image_grid(np.zeros((5, 8, 8)), titles=["a", "b"])


def test_mosaic_places_images_row_by_row():
    images = np.arange(6)[:, None, None, None] * np.ones((6, 2, 3, 1))
    tiled = plotting.mosaic(images, ncols=3)
    assert tiled.shape == (4, 9)
    assert tiled[0, 0] == 0 and tiled[0, 3] == 1 and tiled[2, 0] == 3 and tiled[3, 8] == 5
    colour = np.arange(4)[:, None, None, None] * np.ones((4, 2, 2, 3))
    colour[..., 1] += 10  # a second channel that must stay the second channel
    tiled = plotting.mosaic(colour, ncols=2)
    assert tiled.shape == (4, 4, 3)
    assert tiled[0, 2, 0] == 1 and tiled[2, 0, 0] == 2 and tiled[3, 3, 1] == 13
    with pytest.raises(ValueError, match="multiple of ncols=4 images, got 6"):
        plotting.mosaic(images, ncols=4)


def test_markdown_table_orders_columns_and_formats_numbers():
    table = results.markdown_table([{"b": 2, "a": 0.123456}, {"a": None, "b": "x"}], ["a", "b"])
    assert table.splitlines() == ["| a | b |", "|---|---|", "| 0.1235 | 2 |", "| - | x |"]
    with pytest.raises(ValueError, match="at least one row"):
        results.markdown_table([])


def test_labelled_rows_and_mean_band():
    images = np.random.default_rng(0).random((3, 4, 5, 1))
    fig = plotting.labelled_rows({"first": images, "second": images[::-1]})
    assert [ax.get_ylabel() for ax in fig.axes] == ["first", "second"]
    assert fig.axes[0].images[0].get_array().shape == (4, 15)  # three 4x5 images side by side
    _, ax = matplotlib.pyplot.subplots()
    (line,) = plotting.mean_band(ax, [1, 2], [[0.0, 1.0], [2.0, 3.0]], "m")
    np.testing.assert_allclose(line.get_ydata(), [1.0, 2.0])
    with pytest.raises(ValueError, match="at least one row"):
        plotting.labelled_rows({})


def test_show_source_puts_the_packages_code_on_the_page():
    shown = plotting.show_source(results.record).data
    assert shown.startswith("```python\ndef record(") and shown.endswith("```")


def test_learning_curve_figure_has_a_line_per_run():
    def point(step, quality):
        return {
            "step": step,
            "hours": step / 3600,
            "ms_ssim@0.25": quality,
            "ms_ssim@1": quality + 0.1,
        }

    curve = {
        "runs": {"l1": [point(2000, 0.80), point(2250, 0.81)], "balanced": [point(2000, 0.80)]}
    }
    figure = plotting.codec_learning_curve(curve)
    left, right = figure.axes
    assert [t.get_text() for t in figure.legends[0].get_texts()] == [
        "L1 loss",
        "balanced per-iteration loss",
    ]
    assert [list(line.get_xdata()) for line in left.lines] == [[2000, 2250], [2000]]
    assert list(right.lines[0].get_ydata()) == pytest.approx([0.9, 0.91])
    assert "MS-SSIM" in left.get_ylabel() and "steps" in left.get_xlabel()
    coloured = plotting.codec_learning_curve(curve, colours={"balanced": "tab:cyan"})
    first, second = (line.get_color() for line in coloured.axes[0].lines)
    assert same_color(first, "tab:blue") and same_color(second, "tab:cyan")  # cycle, then named
    renamed = plotting.codec_learning_curve(curve, labels={"l1": "shipped"})
    assert [t.get_text() for t in renamed.legends[0].get_texts()][0] == "shipped"


def _gate_point(step, quality, closed, opened):
    """A point of `results/codec_gates.json`: 3 iterations, one layer, the same shares per gate."""
    shares = {"closed": closed, "open": opened}
    return {
        "step": step,
        "ms_ssim": [quality - 0.1] * 7 + [quality] + [quality + 0.01] * 8,
        "saturated": {"decoder/conv_lstm_0": {g: shares for g in ("input", "forget", "output")}},
    }


def test_the_gate_figures_compare_the_arms_at_the_last_step_all_reached():
    arms = {
        "hard_sigmoid/seed0": [_gate_point(0, 0.3, [0, 0], [0, 0]), _gate_point(250, 0.7, [0.2, 0.4], [0.1, 0.0]), _gate_point(500, 0.8, [0.9, 0.9], [0, 0])],
        "hard_sigmoid/seed1": [_gate_point(0, 0.3, [0, 0], [0, 0]), _gate_point(250, 0.6, [0.0, 0.2], [0.1, 0.0])],
        "sigmoid/seed0": [_gate_point(0, 0.3, [0, 0], [0, 0]), _gate_point(250, 0.5, [0, 0], [0.0, 0.1])],
    }  # fmt: skip
    assert plotting.common_step(arms) == 250
    curve, per_iteration = plotting.gate_experiment(arms).axes
    assert [list(line.get_xdata()) for line in curve.lines] == [[0, 250, 500], [0, 250], [0, 250]]
    assert list(curve.lines[0].get_ydata()) == pytest.approx([0.3, 0.7, 0.8])  # after 8 iterations
    hard, sigmoid = per_iteration.lines
    assert hard.get_ydata()[7] == pytest.approx(0.65) and sigmoid.get_ydata()[7] == pytest.approx(
        0.5
    )
    with_floor, floor_panel = plotting.gate_experiment(arms, floor=0.6).axes
    assert (list(floor_panel.lines[-1].get_xdata()), list(floor_panel.lines[-1].get_ydata())) == (
        [8],
        [0.6],
    )  # judged after 8 iterations: one point on the per-iteration panel
    assert [line.get_label() for line in with_floor.lines] == [
        "paper's hard sigmoid, seed 0",
        "paper's hard sigmoid, seed 1",
        "sigmoid, seed 0",
        "sanity floor (8×8 block means)",
    ]
    assert list(with_floor.lines[-1].get_ydata()) == [0.6, 0.6]
    panel = plotting.gate_saturation(arms).axes[0]
    hard, sigmoid = panel.lines
    # step 250, closed + open, mean of the two hard-sigmoid seeds, in per cent
    np.testing.assert_allclose(hard.get_ydata(), [20.0, 30.0])
    np.testing.assert_allclose(sigmoid.get_ydata(), [0.0, 10.0])
    assert panel.get_title() == "decoder/ConvLSTM 0"
    with pytest.raises(ValueError, match="no arms yet"):
        plotting.common_step({})
    with pytest.raises(ValueError, match="share no logged step.*'sigmoid/seed0': 500"):
        plotting.common_step(
            {
                "hard_sigmoid/seed0": arms["hard_sigmoid/seed1"],
                "sigmoid/seed0": [_gate_point(500, 0.5, [0, 0], [0, 0])],
            }
        )


def test_notebook_03s_committed_record_holds_what_its_readers_need():
    # the contract (per-frame MSE of the models and baselines, per-seed recall) and the
    # full-size exercise-1 pair that lab mode prints instead of training it
    mse = results.recorded("03_cnn_lstm_hybrid", "mse_by_frame")
    assert {"convlstm", "blank", "mean_frame", "copy_last", "blurred_copy"} <= set(mse)
    assert all(len(errors) == 10 for errors in mse.values())
    recall = results.recorded("03_cnn_lstm_hybrid", "recall")
    assert {"DCGAN", "hybrid"} <= set(recall) and all(len(r) == 3 for r in recall.values())
    pair = results.recorded("03_cnn_lstm_hybrid", "exercise_1")
    assert [row["discriminator"] for row in pair] == ["fine-tuned", "frozen"]
    assert all(row["digits"] == 4000 and row["epochs"] == 12 for row in pair)
