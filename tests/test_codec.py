"""keraslstm.codec: the model, the .klc format, compress/decompress, the CLI, bad input."""

import io
import warnings

import keras
import numpy as np
import pytest
from keras import ops
from PIL import Image

from keraslstm.codec import (
    CodecError,
    ResidualLSTMCodec,
    compress,
    decompress,
    load_model,
    real_bpp,
    save_model,
)
from keraslstm.codec.__main__ import main as cli
from keraslstm.codec.fileformat import unpack
from keraslstm.codec.model import RecoveryBlock, smooth_l1

RNG = np.random.default_rng(7)
TINY = dict(iterations=4, encoder_filters=(8, 16, 16, 16), decoder_filters=(16, 16, 16, 16), seed=0)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    model = ResidualLSTMCodec(**TINY)
    model.compile(keras.optimizers.Adam(1e-3))
    model.fit(RNG.random((8, 32, 32, 3)).astype("float32"), epochs=1, batch_size=8, verbose=0)
    return save_model(model, tmp_path_factory.mktemp("w") / "tiny.weights.h5", steps=1)


@pytest.fixture(scope="module")
def model(weights):
    return load_model(weights)


def _image(h=37, w=50, channels=3):
    shape = (h, w, channels) if channels else (h, w)
    return (RNG.random(shape) * 255).astype(np.uint8)


def test_patch_shapes_and_bits_per_iteration():
    model = ResidualLSTMCodec(**TINY)
    out = model(RNG.random((2, 32, 32, 3)).astype("float32"))
    assert tuple(out.shape) == (2, 4, 32, 32, 3)
    assert model.stride == 16 and model.bpp_per_iteration == 0.125
    default = ResidualLSTMCodec()
    assert (default.iterations, default.bits, default.bpp_per_iteration) == (16, 32, 0.125)


@pytest.mark.parametrize(
    "options", [dict(decoder="recovery"), dict(gate="sigmoid", gamma=0.5), dict(loss="smooth_l1")]
)
def test_options_train_and_lower_the_loss(options):
    keras.utils.set_random_seed(0)
    model = ResidualLSTMCodec(**{**TINY, **options})
    model.compile(keras.optimizers.Adam(2e-3))
    x = RNG.random((8, 32, 32, 3)).astype("float32")
    losses = model.fit(x, epochs=6, batch_size=8, verbose=0).history["loss"]
    assert losses[-1] < losses[0]


def test_bad_options_are_named():
    with pytest.raises(ValueError, match="Unknown decoder 'pixelshuffle'"):
        ResidualLSTMCodec(**{**TINY, "decoder": "pixelshuffle"})
    with pytest.raises(ValueError, match="Unknown loss 'l2'"):
        ResidualLSTMCodec(**{**TINY, "loss": "l2"})
    with pytest.raises(ValueError, match="downsamples by 16 but the decoder upsamples by 8"):
        ResidualLSTMCodec(decoder_filters=(16, 16, 16))


def test_smooth_l1_matches_its_definition():
    e = np.array([-2.0, -0.5, 0.0, 0.3, 1.5], dtype="float32")
    expected = np.where(np.abs(e) < 1, 0.5 * e**2, np.abs(e) - 0.5)
    np.testing.assert_allclose(ops.convert_to_numpy(smooth_l1(e)), expected, rtol=1e-6)


def test_recovery_block_upsamples_like_depth_to_space():
    block = RecoveryBlock(16)
    assert tuple(block(np.zeros((1, 3, 5, 16), "float32")).shape) == (1, 6, 10, 4)
    with pytest.raises(ValueError, match="divisible by 4"):
        RecoveryBlock(6)


def test_codec_round_trips_through_keras_file(tmp_path):
    model = ResidualLSTMCodec(**{**TINY, "decoder": "recovery"})
    x = RNG.random((1, 32, 32, 3)).astype("float32")
    model(x)
    model.save(tmp_path / "codec.keras")
    loaded = keras.models.load_model(tmp_path / "codec.keras")
    np.testing.assert_array_equal(ops.convert_to_numpy(loaded(x)), ops.convert_to_numpy(model(x)))
    assert loaded.fingerprint() == model.fingerprint()


@pytest.mark.parametrize("shape", [(37, 50, 3), (5, 7, 3), (16, 16, 3), (33, 20, 0)])
def test_round_trip_any_size_and_grayscale(model, shape):
    image = _image(*shape[:2], channels=shape[2])
    out = decompress(compress(image, iterations=2, model=model), model=model)
    assert out.shape == image.shape and out.dtype == np.uint8


def test_decoder_reproduces_the_encoders_reconstruction(model):
    from keraslstm.codec.api import encode_progressive

    image = _image(40, 48)
    _, reconstructions, _ = encode_progressive(model, image, 3)
    decoded = decompress(compress(image, iterations=3, model=model, lossless="none"), model=model)
    np.testing.assert_array_equal(decoded, np.round(reconstructions[-1] * 255).astype(np.uint8))


@pytest.mark.parametrize("lossless", ["none", "zlib", "lzma"])
def test_progressive_prefixes_decode_like_fewer_iterations(model, lossless):
    image = _image(48, 64)
    full = compress(image, iterations=4, model=model, lossless=lossless)
    header, bits = unpack(full)
    assert header.iterations == 4 and len(bits) == 4
    per_iteration = int(np.prod(header.code_shape)) // 8
    if lossless == "none":
        prefix = full[: 21 + 2 * per_iteration]
        expected = decompress(
            compress(image, iterations=2, model=model, lossless="none"), model=model
        )
        np.testing.assert_array_equal(decompress(prefix, model=model, partial=True), expected)
    with pytest.raises(CodecError, match="truncated .klc file"):
        decompress(full[:-5], model=model)
    if lossless != "lzma":  # lzma cannot decode a stream cut short of its first block
        assert decompress(full[:-5], model=model, partial=True).shape == image.shape


def test_bpp_is_the_real_file_size_and_never_above_the_target(model):
    image = _image(64, 96)
    for target in (0.2, 0.3, 0.5):
        data = compress(image, bpp=target, model=model)
        assert real_bpp(data, 64, 96) == 8 * len(data) / (64 * 96) <= target
    more = compress(image, bpp=0.5, model=model)
    assert unpack(more)[0].iterations > unpack(compress(image, bpp=0.2, model=model))[0].iterations


@pytest.mark.parametrize(
    "bpp, message", [(0.01, "impossible bpp 0.01: one iteration"), (-1, "impossible bpp -1")]
)
def test_impossible_bpp_is_refused(model, bpp, message):
    with pytest.raises(CodecError, match=message):
        compress(_image(64, 64), bpp=bpp, model=model)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: b"PNG" + d[3:], "not a .klc file: it starts with b'PNG'"),
        (lambda d: d[:3] + bytes([9]) + d[4:], "unknown .klc version 9"),
        (lambda d: d[:10], "shorter than the 21-byte header"),
        (lambda d: d + b"\x00" * 7, "7 bytes more than"),
        (lambda d: d[:-1], "truncated .klc file"),
        (lambda d: d[:21] + bytes([d[21] ^ 0xFF]) + d[22:], "corrupt .klc payload"),
    ],
)
def test_corrupt_files_get_clear_errors(model, mutate, message):
    data = compress(_image(32, 32), iterations=2, model=model, lossless="none")
    zlib_data = compress(_image(32, 32), iterations=2, model=model, lossless="zlib")
    target = zlib_data if "payload" in message else data
    with pytest.raises(CodecError, match=message):
        decompress(mutate(target), model=model)


def test_a_file_from_another_model_is_refused(model, tmp_path):
    other = ResidualLSTMCodec(**{**TINY, "seed": 1})
    other.build((None, 32, 32, 3))
    data = compress(_image(32, 32), iterations=1, model=other)
    with pytest.raises(CodecError, match="written by another model"):
        decompress(data, model=model)


def _png(path, array, mode=None):
    Image.fromarray(array, mode=mode).save(path) if mode else Image.fromarray(array).save(path)
    return path


def test_cli_reads_every_image_kind_and_fails_clearly(weights, tmp_path, capsys):
    rgba = _png(tmp_path / "rgba.png", _image(20, 30, 4))
    gray16 = tmp_path / "gray16.png"
    Image.fromarray((RNG.random((21, 19)) * 65535).astype(np.uint16)).save(gray16)
    palette = tmp_path / "palette.png"
    Image.fromarray(_image(18, 18)).convert("P").save(palette)
    jpeg = tmp_path / "photo.jpg"
    Image.fromarray(_image(40, 44)).save(jpeg, quality=90)
    for source in (rgba, gray16, palette, jpeg):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert (
                cli(
                    [
                        "--weights",
                        str(weights),
                        "compress",
                        str(source),
                        str(tmp_path / "x.klc"),
                        "--iterations",
                        "2",
                    ]
                )
                == 0
            )
        assert ("alpha" in " ".join(str(w.message) for w in caught)) == (source == rgba)
        assert (
            cli(
                [
                    "--weights",
                    str(weights),
                    "decompress",
                    str(tmp_path / "x.klc"),
                    str(tmp_path / "x.png"),
                ]
            )
            == 0
        )
        assert Image.open(tmp_path / "x.png").size == Image.open(source).size
    not_image = tmp_path / "notes.png"
    not_image.write_text("hello")
    assert (
        cli(
            [
                "--weights",
                str(weights),
                "compress",
                str(not_image),
                str(tmp_path / "y.klc"),
                "--bpp",
                "1",
            ]
        )
        == 2
    )
    assert "not an image file" in capsys.readouterr().err
    assert (
        cli(
            [
                "--weights",
                str(weights),
                "compress",
                str(jpeg),
                str(tmp_path / "y.klc"),
                "--bpp",
                "0.001",
            ]
        )
        == 2
    )
    assert "impossible bpp" in capsys.readouterr().err
    (tmp_path / "bad.klc").write_bytes(b"KLC" + bytes(30))
    assert (
        cli(
            [
                "--weights",
                str(weights),
                "decompress",
                str(tmp_path / "bad.klc"),
                str(tmp_path / "z.png"),
            ]
        )
        == 2
    )
    assert "error:" in capsys.readouterr().err


def test_saved_weights_hold_no_optimizer_state(weights, model):
    import h5py

    with h5py.File(weights) as f:
        stored = []
        f.visititems(
            lambda name, obj: stored.append(name) if isinstance(obj, h5py.Dataset) else None
        )
    assert not any("optimizer" in name for name in stored)
    assert len(stored) == len(model.get_weights())


def test_missing_weights_name_the_train_command(tmp_path):
    with pytest.raises(CodecError, match="python -m keraslstm.codec train"):
        load_model(tmp_path / "none.weights.h5")


def test_baselines_meet_the_rate_they_report():
    from keraslstm.codec.evaluation import baseline

    image = np.asarray(Image.open(io.BytesIO(_jpeg_bytes())).convert("RGB"))
    for codec in ("JPEG", "WebP", "JPEG 2000"):
        decoded, bpp = baseline(image, codec, 1.0)
        assert decoded.shape == image.shape and 0.8 < bpp <= 1.0
        assert 1.6 < baseline(image, codec, 2.0)[1] <= 2.0  # every codec can spend 2 bpp
    assert baseline(image, "JPEG", 0.01) is None  # JPEG cannot get that small


def _jpeg_bytes():
    from skimage.data import astronaut

    buffer = io.BytesIO()
    Image.fromarray(astronaut()[:192, :192]).save(buffer, "PNG")
    return buffer.getvalue()
