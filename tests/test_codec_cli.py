"""keraslstm.codec.__main__: a fast, quiet command line (help, errors, info, --quiet, progress)."""

import dataclasses
import re
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from keraslstm.codec import fileformat
from keraslstm.codec.__main__ import _ProgressBar, main

# Runs the command line in a fresh interpreter, then reports which heavy modules it imported.
PROBE = """
import runpy, sys
sys.argv = ["keraslstm.codec", *sys.argv[1:]]
try:
    runpy.run_module("keraslstm.codec", run_name="__main__")
except SystemExit as exit:
    code = exit.code
heavy = sorted(m for m in ("tensorflow", "keras", "jax", "torch") if m in sys.modules)
print("HEAVY:" + ",".join(heavy), file=sys.stderr)
sys.exit(code)
"""


def _probe(*argv):
    """(exit status, stdout, stderr lines without the probe's line, heavy modules, seconds)."""
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    lines = run.stderr.splitlines()
    heavy = lines[-1].removeprefix("HEAVY:")
    return run.returncode, run.stdout, lines[:-1], heavy, seconds


def _klc(path, height=40, width=56, iterations=3):
    """A .klc file written by `fileformat.pack` alone (no model needed to read its header)."""
    header = fileformat.Header(height, width, 3, iterations, "none", 32, 16, bytes(range(8)))
    bits = np.random.default_rng(0).choice([-1.0, 1.0], (iterations, *header.code_shape))
    path.write_bytes(fileformat.pack(header, list(bits)))
    return header, path


def test_help_comes_at_once_without_tensorflow():
    status, out, err, heavy, seconds = _probe("--help")
    assert status == 0 and out.startswith("usage: python -m keraslstm.codec")
    assert "Mandogade & Morghare; Toderici et al. 2017" in out and "seed 004" not in out
    for command in ("compress", "decompress", "info", "evaluate", "train", "priors", "--quiet"):
        assert command in out
    assert err == [] and heavy == ""
    assert seconds < 5, f"--help took {seconds:.1f} s"  # about 0.1 s; generous for a busy machine


@pytest.mark.parametrize(
    "argv, message",
    [
        (["compress", "in.png"], "the following arguments are required: output"),
        (["compress", "in.png", "out.klc"], "one of the arguments --bpp --iterations is required"),
        (["compress", "in.png", "out.klc", "--bpp", "lots"], "invalid float value: 'lots'"),
        (["squash", "in.png"], "invalid choice: 'squash'"),
        ([], "the following arguments are required: command"),
    ],
)
def test_argument_errors_are_one_line_and_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exit:
        main(argv)
    assert exit.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("python -m keraslstm.codec") and "error: " in line and message in line


def test_argument_errors_do_not_import_tensorflow():
    status, out, err, heavy, _ = _probe("decompress", "only-one.klc")
    assert status == 2 and out == "" and heavy == ""
    assert err == [
        "python -m keraslstm.codec decompress: error: the following arguments are required: "
        "output (see --help)"
    ]


def test_info_prints_every_header_field_size_and_real_bpp(tmp_path):
    _, path = _klc(tmp_path / "a.klc")
    header = fileformat.read_header(path.read_bytes())  # as written: version, checksum
    status, out, err, heavy, _ = _probe("info", str(path))
    assert status == 0 and err == [] and heavy == ""  # the header alone: no model, no TensorFlow
    lines = out.splitlines()
    assert lines[0] == f"{path}:"
    pairs = [re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in lines[1:]]
    fields = dict(pairs)
    assert len(fields) == len(pairs) == len(dataclasses.fields(header)) + 2  # each field once
    for field in dataclasses.fields(header):
        value = getattr(header, field.name)
        if field.name == "partial":
            expected = f"{value} of {header.positions}"
        elif field.name == "checksum":
            expected = f"{value:08x}"
        else:
            expected = value.hex() if isinstance(value, bytes) else str(value)
        assert fields[fileformat.DESCRIBED_AS.get(field.name, field.name)] == expected, field.name
    size = path.stat().st_size
    assert fields["size"] == f"{size} bytes"
    assert fields["real bpp"] == f"{8 * size / (header.height * header.width):.4f}"
    assert fields["format version"] == "3"


def test_info_on_a_file_that_is_not_klc_is_one_clear_error(tmp_path, capsys):
    path = tmp_path / "photo.png"
    Image.new("RGB", (4, 4)).save(path)
    assert main(["info", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("error: not a .klc file")


def test_quiet_prints_nothing_and_loud_prints_what_it_did(tmp_path, capsys):
    image = np.random.default_rng(0).integers(0, 256, (32, 48, 3), dtype=np.uint8)
    Image.fromarray(image).save(tmp_path / "in.png")
    klc, png = str(tmp_path / "out.klc"), str(tmp_path / "out.png")
    runs = [
        ["compress", str(tmp_path / "in.png"), klc, "--iterations", "2"],
        ["info", klc],
        ["decompress", klc, png],
    ]
    for argv in runs:
        for quiet in (["-q", *argv], [*argv, "--quiet"]):
            assert main(quiet) == 0
            assert capsys.readouterr() == ("", ""), quiet
        assert main(argv) == 0
        assert capsys.readouterr().out.strip()  # without --quiet each command says what it did
    assert np.asarray(Image.open(png)).shape == image.shape


def test_model_commands_print_no_tensorflow_log_lines(tmp_path):
    """The real command line in a fresh process: only the line it prints, nothing on stderr."""
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / "in.png")
    klc = tmp_path / "out.klc"
    run = subprocess.run(
        [sys.executable, "-m", "keraslstm.codec", "compress", str(tmp_path / "in.png"), str(klc),
         "--iterations", "1"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 0 and run.stderr == ""
    assert run.stdout.startswith(f"{klc}: ")


def test_progress_bar_follows_the_callback_and_only_where_offered():
    args = type("Args", (), {"quiet": False})()

    def with_progress(image, progress=None):
        pass

    def without_progress(image):
        pass

    with _ProgressBar(args, "compress") as bar:
        assert bar.keywords(without_progress) == {}
        callback = bar.keywords(with_progress)["progress"]
        callback(1, 4)
        callback(3, 4)
        assert (bar.bar.n, bar.bar.total) == (3, 4)
        callback()  # one more finished tile
        assert bar.bar.n == 4
    args.quiet = True
    assert _ProgressBar(args, "compress").keywords(with_progress) == {}


def test_train_options_reach_the_model_it_trains(tmp_path, monkeypatch):
    from keraslstm.codec import training
    from keraslstm.codec.__main__ import parser
    from keraslstm.codec.model import DECODER_HIDDEN_KERNELS

    trained = []
    monkeypatch.setattr(training, "train", lambda model, *a, **k: trained.append(model) or (model, []))  # fmt: skip
    monkeypatch.setattr(training, "training_images", lambda source: [])
    argv = ["train", "--steps", "1", "--out", str(tmp_path / "w.weights.h5"), "--iterations", "2",
            "--encoder-filters", "4", "8", "8", "8", "--decoder-filters", "8", "8", "8", "8"]  # fmt: skip
    options = ["--gate", "sigmoid", "--decoder", "recovery", "--loss", "smooth_l1",
               "--decoder-hidden-kernels", "1", "1", "1", "1"]  # fmt: skip
    assert main(["--quiet", *argv, *options]) == 0
    assert main(["--quiet", *argv]) == 0
    chosen, default = trained
    assert (chosen.gate, chosen.decoder_kind, chosen.loss_kind) == (
        "sigmoid",
        "recovery",
        "smooth_l1",
    )
    assert chosen.decoder.upsample == "recovery" and chosen.iterations == 2
    assert (default.gate, default.decoder_kind, default.loss_kind) == ("hard_sigmoid", "depth_to_space", "l1")  # fmt: skip
    assert default.decoder.upsample == "depth_to_space"
    assert chosen.decoder_hidden_kernels == (1, 1, 1, 1)
    assert default.decoder_hidden_kernels == DECODER_HIDDEN_KERNELS  # the model's default
    assert parser().parse_args(argv).gate == "hard_sigmoid"
    for option, value in (("--gate", "relu"), ("--decoder", "bicubic"), ("--loss", "l2")):
        with pytest.raises(SystemExit) as exit:
            main([*argv, option, value])
        assert exit.value.code == 2


def test_train_picks_a_crop_that_the_loss_can_use(tmp_path, monkeypatch, capsys):
    from keraslstm.codec import training

    crops = []
    monkeypatch.setattr(training, "train", lambda model, *a, crop, **k: crops.append((model, crop)) or (model, []))  # fmt: skip
    monkeypatch.setattr(training, "training_images", lambda source: [])
    argv = ["train", "--steps", "1", "--out", str(tmp_path / "w.weights.h5"), "--iterations", "2",
            "--encoder-filters", "4", "8", "8", "8", "--decoder-filters", "8", "8", "8", "8"]  # fmt: skip
    assert main(["--quiet", *argv, "--loss", "ms_ssim_l1", "--gain", "learned"]) == 0
    assert main(["--quiet", *argv, "--crop", "64"]) == 0
    (mixed, mixed_crop), (plain, plain_crop) = crops
    assert (mixed.loss_kind, mixed.gain_kind, mixed_crop) == ("ms_ssim_l1", "learned", 48)
    assert (plain.loss_kind, plain.gain_kind, plain_crop) == ("l1", None, 64)
    assert main([*argv, "--loss", "ms_ssim_l1", "--crop", "32"]) == 2
    assert "needs --crop 48 or more" in capsys.readouterr().err
    assert main([*argv, "--crop", "40"]) == 2
    assert "multiple of the codec's 16-pixel blocks, got 40" in capsys.readouterr().err


def test_priors_command_counts_every_source_and_records_them(tmp_path, monkeypatch):
    import json

    from keraslstm.codec import ResidualLSTMCodec, entropy, training
    from keraslstm.codec.weights import save_model

    monkeypatch.setattr(entropy, "PRIORS", {})
    model = ResidualLSTMCodec(iterations=2, encoder_filters=(8, 16, 16, 16), decoder_filters=(16, 16, 16, 16), seed=0)  # fmt: skip
    model.build((None, 32, 32, 3))
    weights = save_model(model, tmp_path / "w.weights.h5", steps=0)
    rng = np.random.default_rng(0)
    photos = {"bundled": [rng.random((32, 48, 3))], "more": [rng.random((48, 32, 3))] * 2}
    monkeypatch.setattr(training, "training_images", photos.__getitem__)
    argv = ["--quiet", "--weights", str(weights), "priors", "--data", "bundled", "more"]
    assert main([*argv, "--iterations", "2"]) == 0
    want = training.entropy_priors(model, photos["bundled"] + photos["more"], 2)
    np.testing.assert_array_equal(np.load(tmp_path / "w.priors.npy"), want)
    record = json.loads((tmp_path / "w.json").read_text())
    assert record["priors"] == dict(data=["bundled", "more"], photos=3, iterations=2,
                                    contexts=int((want.sum(axis=1) > 0).sum()))  # fmt: skip
    assert record["training"] == {"steps": 0}  # the weights' own record is kept
