"""keraslstm.codec.evaluation: baselines at their real rate, per-photo rows, BD-rate summaries."""

import importlib
import io

import keras
import numpy as np
import pytest
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio

from keraslstm import metrics
from keraslstm.codec import ResidualLSTMCodec, compress, decompress, real_bpp
from keraslstm.codec import evaluation as ev

TINY = dict(iterations=4, encoder_filters=(8, 16, 16, 16), decoder_filters=(16, 16, 16, 16), seed=0)


def _photo(size=96, seed=0):
    """A smooth random colour image (photo-like spectrum), uint8."""
    rng = np.random.default_rng(seed)
    small = rng.random((size // 8, size // 8, 3))
    return np.asarray(Image.fromarray((small * 255).astype(np.uint8)).resize((size, size), Image.BICUBIC))  # fmt: skip


@pytest.mark.parametrize("codec", ev.BASELINES)
def test_every_baseline_spends_most_of_the_target_and_never_more(codec):
    image = _photo(seed=1)
    for target in (0.5, 1.5):
        decoded, bpp = ev.baseline(image, codec, target)
        assert decoded.shape == image.shape and decoded.dtype == np.uint8
        assert 0.75 * target < bpp <= target, (codec, target, bpp)
    assert ev.baseline(image, codec, 1.5)[1] > ev.baseline(image, codec, 0.5)[1]


@pytest.mark.parametrize("codec", ev.BASELINES)
def test_every_setting_a_search_can_reach_encodes(codec):
    image = _photo(32, seed=6)  # the bisection and the 3 settings above it reach both ends
    for setting in (ev._SETTINGS[codec][0], ev._SETTINGS[codec][-1]):
        assert Image.open(io.BytesIO(ev._encode(image, codec, setting))).size == (32, 32)


def test_jpeg_is_optimized_and_subsampled():
    image = _photo(seed=2)
    plain = []  # the largest unoptimized 4:2:0 JPEG within the same budget
    for quality in range(1, 101):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, "JPEG", quality=quality, subsampling=2)
        if real_bpp(buffer.getvalue(), *image.shape[:2]) <= 1.0:
            plain.append(quality)
    # optimized Huffman tables buy a higher quality setting in the same budget
    best = max(q for q in range(1, 101) if real_bpp(ev._encode(image, "JPEG", q), *image.shape[:2]) <= 1.0)  # fmt: skip
    assert best > max(plain)
    header = Image.open(io.BytesIO(ev._encode(image, "JPEG", best)))
    assert header.layer[0][1:3] == (2, 2)  # luma sampled 2x2 against chroma: 4:2:0


def test_unknown_codec_is_named():
    with pytest.raises(Exception, match="unknown codec 'BPG'"):
        ev.baseline(_photo(), "BPG", 1.0)


def test_missing_jpeg_xl_plugin_skips_the_codec_with_a_note(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pillow_jxl" else real(name, *a))  # fmt: skip
    try:
        reloaded = importlib.reload(ev)
        assert "JPEG XL" not in reloaded.BASELINES and "AVIF" in reloaded.BASELINES
        assert any("pillow-jxl-plugin" in note for note in reloaded.NOTES)
    finally:
        monkeypatch.undo()
        importlib.reload(ev)
    assert "JPEG XL" in ev.BASELINES and not ev.NOTES  # installed in this environment


@pytest.fixture(scope="module")
def tiny_model():
    keras.utils.set_random_seed(0)
    model = ResidualLSTMCodec(**TINY)
    model.build((None, 32, 32, 3))
    return model


def test_evaluate_photos_measures_each_real_file(tiny_model):
    images = {"a": _photo(64, seed=3), "b": _photo(64, seed=4)}
    rows = ev.evaluate_photos(images, bpps=(0.2, 0.5), model=tiny_model, codecs=("LSTM codec", "JPEG", "WebP"))  # fmt: skip
    assert {(r["photo"], r["codec"]) for r in rows} >= {("a", "LSTM codec"), ("b", "WebP")}
    for r in rows:
        assert r["bpp"] <= r["target_bpp"]
        original = images[r["photo"]]
        if r["codec"] == "LSTM codec":  # the rate and quality of the file compress() writes
            data = compress(original, bpp=r["target_bpp"], model=tiny_model)
            bpp, decoded = real_bpp(data, 64, 64), decompress(data, model=tiny_model)
        else:
            decoded, bpp = ev.baseline(original, r["codec"], r["target_bpp"])
        # the scores of the decoded file against the original, recomputed here
        assert r["bpp"] == bpp
        assert r["psnr"] == pytest.approx(
            peak_signal_noise_ratio(original, decoded, data_range=255)
        )
        assert r["ms_ssim"] == pytest.approx(metrics.ms_ssim(original / 255, decoded / 255))
        assert 0 < r["ms_ssim"] < 1 and 0 < r["psnr"] < 60
    means = ev.summarise(rows)
    webp = [m for m in means if m["codec"] == "WebP" and m["target_bpp"] == 0.5][0]
    per_photo = [r for r in rows if r["codec"] == "WebP" and r["target_bpp"] == 0.5]
    assert webp["of"] == 2 and webp["images"] == len(per_photo)
    assert webp["psnr"] == pytest.approx(np.mean([r["psnr"] for r in per_photo]))


def _rows(codec, photo, rates, qualities):
    return [dict(photo=photo, codec=codec, target_bpp=r, bpp=r, ms_ssim=q, psnr=40 * q)
            for r, q in zip(rates, qualities, strict=True)]  # fmt: skip


def test_bd_rates_per_photo_and_mean():
    rates, quality = np.array([0.125, 0.25, 0.5, 1.0, 2.0]), np.array([0.8, 0.87, 0.92, 0.95, 0.97])
    rows = (_rows("JPEG", "x", rates, quality) + _rows("JPEG", "y", rates, quality - 0.01)
            + _rows("ours", "x", 0.8 * rates, quality) + _rows("ours", "y", 0.6 * rates, quality - 0.01)
            + _rows("far", "x", rates, quality + 0.5) + _rows("one", "x", 0.5 * rates, quality))  # fmt: skip
    for metric in ("ms_ssim", "psnr"):
        summary = ev.bd_rates(rows, anchor="JPEG", metric=metric)
        assert summary["ours"]["photos"] == pytest.approx({"x": -20.0, "y": -40.0})
        assert summary["ours"]["mean"] == pytest.approx(-30.0) and summary["ours"]["n"] == 2
        # no common quality range on x, no curve at all on y
        assert summary["far"] == {"mean": None, "n": 0, "photos": {"x": None, "y": None}}
        # one photo is a value, not a mean
        assert summary["one"]["photos"] == pytest.approx({"x": -50.0, "y": None})
        assert (summary["one"]["mean"], summary["one"]["n"]) == (None, 1)
    table = ev.format_bd_table({"MS-SSIM": ev.bd_rates(rows)})
    assert "| codec | metric | mean (photos) | x | y |" in table
    assert "| ours | MS-SSIM | -30.0% (2) | -20.0% | -40.0% |" in table
    assert "| far | MS-SSIM | n/a (0) | n/a | n/a |" in table
    assert "| one | MS-SSIM | n/a (1) | -50.0% | n/a |" in table
    assert metrics.bd_rate(rates, quality, 0.8 * rates, quality) == pytest.approx(-20.0)


def test_importing_the_evaluation_loads_no_pillow_plugin():
    import subprocess
    import sys

    code = "import sys, keraslstm.codec.evaluation; print('pillow_jxl' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "False"


@pytest.mark.parametrize("codec", ["JPEG", "WebP"])
def test_a_shared_cache_gives_the_same_files_and_encodes_less(codec, monkeypatch):
    image, targets = _photo(seed=5), (0.6, 1.0, 1.8)
    alone = [ev.baseline(image, codec, t) for t in targets]
    encodes = []
    real_encode = ev._encode
    monkeypatch.setattr(ev, "_encode", lambda *a: encodes.append(a[2]) or real_encode(*a))
    cache = {}
    shared = [ev.baseline(image, codec, t, cache=cache) for t in targets]
    for (a, rate_a), (b, rate_b) in zip(alone, shared, strict=True):
        assert rate_a == rate_b and np.array_equal(a, b)
    assert len(encodes) == len(set(encodes)) == len(cache)  # no setting encoded twice
    bisection = int(np.ceil(np.log2(len(ev._SETTINGS[codec]) + 1))) + 3  # one target, uncached
    assert len(encodes) < len(targets) * bisection


def test_held_out_images_are_the_bundled_test_photos_and_the_debian_ones():
    from keraslstm import data

    held_out = ev.evaluation_images("held-out")
    assert list(held_out) == [*data.PHOTO_SPLITS["test"], *data.PHOTO_SPLITS["debian test"]]
    assert len(held_out) == 9 and all(
        p.dtype == np.uint8 and p.ndim == 3 for p in held_out.values()
    )
    assert list(ev.evaluation_images("bundled")) == list(data.PHOTO_SPLITS["test"])
    assert not set(held_out) & set(data.PHOTO_SPLITS["train"])  # never trained on
    with pytest.raises(ev.CodecError, match="'bundled', 'held-out' or a folder"):
        ev.evaluation_images("no/such/folder")
