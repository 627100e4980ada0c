"""keraslstm.codec.api: reading images to exact arrays, and the rate control (which iterations
and which blocks of the partial one a budget buys) with a NumPy stand-in for the network.

The trained codec's end-to-end behaviour is in test_codec.py; here a `HalvingCodec` whose every
iteration removes half of each pixel's residual makes the error each block loses known by hand.
"""

import warnings

import numpy as np
import pytest
from PIL import Image

from keraslstm.codec import api, entropy
from keraslstm.codec.fileformat import HEADER_SIZE, CodecError, read_header, unpack


class HalvingCodec:
    """A stand-in for `ResidualLSTMCodec` in NumPy: iteration k sends the signs of 8 random
    projections of each 16x16 block's residual (different projections every iteration) and
    moves the reconstruction half way to the target."""

    stride, bits, iterations = 16, 8, 6

    def initial_states(self, target):
        return None, None

    def encode_step(self, target, reconstruction, states, k):
        target, reconstruction = np.asarray(target), np.asarray(reconstruction)
        residual = target - reconstruction
        n, h, w, _ = residual.shape
        blocks = residual.reshape(n, h // 16, 16, w // 16, 16, 3)
        projections = np.random.default_rng(int(k)).normal(size=(16, 16, 3, self.bits))
        code = np.einsum("nyaxbc,abcj->nyxj", blocks, projections)
        self.update = 0.5 * residual  # what decode_step adds: the bits do not carry it
        return np.where(code >= 0, 1.0, -1.0).astype(np.float32), states

    def decode_step(self, bits, reconstruction, states, k):
        return np.asarray(reconstruction) + self.update, states

    def get_config(self):
        return {"name": "halving"}

    def get_weights(self):
        return []


def _image(height=96, width=128, seed=0):
    return (np.random.default_rng(seed).random((height, width, 3)) * 255).astype(np.uint8)


def _block_mean_abs(x, stride=16):
    """Mean over each block's pixels of the absolute value summed over channels, by loops."""
    rows, cols = x.shape[0] // stride, x.shape[1] // stride
    out = np.zeros((rows, cols))
    for r in range(rows):
        for c in range(cols):
            block = x[r * stride : (r + 1) * stride, c * stride : (c + 1) * stride]
            out[r, c] = np.abs(block).sum(axis=-1).mean()
    return out


def test_block_errors_by_hand():
    target = np.zeros((4, 6, 3))
    target[:2, :2] = [0.1, 0.2, 0.3]  # block (0, 0): 0.6 per pixel
    target[2:, 4:, 0] = -1.0  # block (1, 2): 1.0 per pixel
    target[0, 2, 1] = 0.8  # block (0, 1): 0.8 on one of its 4 pixels
    expected = [[0.6, 0.2, 0.0], [0.0, 0.0, 1.0]]
    np.testing.assert_allclose(api._block_errors(target, 0.0, 2), expected)
    np.testing.assert_allclose(api._block_errors(target + 0.25, 0.25, 2), expected)


def test_encoding_for_a_budget_stops_where_the_estimate_passes_it():
    model, image = HalvingCodec(), _image()
    codes, gains, channels, _ = api._encode_for_budget(model, image, None, 6)
    assert len(codes) == len(gains) == 6 and channels == 3
    error = _block_mean_abs(image / 255.0 - 0.5)  # the decoder starts from mid-grey
    for k, gain in enumerate(gains):  # iteration k + 1 removes half of what is left
        np.testing.assert_allclose(gain, error * 0.5 ** (k + 1), rtol=1e-5)
    assert all(c.dtype == np.int8 and set(np.unique(c)) == {-1, 1} for c in codes)
    spent = np.cumsum([c.sum() for c in entropy.position_costs(codes)])
    for budget in (spent[1] - 1, spent[1] + 1, spent[3] + 1):
        stopped, *_ = api._encode_for_budget(model, image, budget, 6)
        # the first iteration whose running cost passes the budget is the last one run
        assert len(stopped) == int(np.argmax(spent > budget)) + 1
        for a, b in zip(stopped, codes, strict=False):
            np.testing.assert_array_equal(a, b)


def test_tiles_share_the_budget_by_area_and_stop_together(monkeypatch):
    monkeypatch.setattr(api, "TILE", 32)
    model, image = HalvingCodec(), _image(64, 80)  # tiles of 32x32 (4) and 32x16 (2)
    codes, *_ = api._encode_for_budget(model, image, None, 6)
    tiles = [(slice(r, r + 2), slice(c, min(c + 2, 5))) for r in (0, 2) for c in (0, 2, 4)]
    disagreed = False
    for budget in (300.0, 400.0, 500.0):
        reached = []
        for rows, cols in tiles:  # each tile's running cost against 1.3 x its share by area
            share = 1.3 * budget * codes[0][rows, cols, 0].size / codes[0][..., 0].size
            spent = np.cumsum([c.sum() for c in entropy.position_costs([k[rows, cols] for k in codes])])  # fmt: skip
            reached.append(int(np.argmax(spent > share)) + 1 if spent[-1] > share else 6)
        disagreed |= len(set(reached)) > 1
        calls = []
        stopped, *_ = api._encode_for_budget(model, image, budget, 6, progress=lambda *a, calls=calls: calls.append(a))  # fmt: skip
        assert len(stopped) == min(reached)  # the image stops where its first tile does
        assert calls == [(k, 6) for k in range(1, 7)]
    assert disagreed


def _ranked_codes(shape=(6, 8, 32), iterations=3, seed=0):
    rng = np.random.default_rng(seed)
    codes = [np.where(rng.random(shape) < 0.5, 1, -1).astype(np.int8) for _ in range(iterations)]
    gains = [rng.random(shape[:2]) for _ in range(iterations)]
    return codes, gains


@pytest.mark.parametrize("fraction", [0.2, 0.5, 0.8])
def test_the_partial_iteration_sends_the_blocks_of_largest_gain(fraction):
    codes, gains = _ranked_codes()
    one = 8 * len(entropy.encode(codes[:1]))
    two = 8 * len(entropy.encode(codes[:2]))
    budget = one + fraction * (two - one)
    whole, partial, encoder = api._choose_rate(codes, gains, budget)
    assert whole == 1 and partial is not None
    sent = partial[..., 0] != 0
    count = int(sent.sum())
    largest = np.zeros(sent.size, bool)
    largest[np.argsort(gains[1].ravel())[::-1][:count]] = True
    np.testing.assert_array_equal(sent.ravel(), largest)
    np.testing.assert_array_equal(partial[sent], codes[1][sent])
    # what it returns is the coded stream of exactly that choice, 95-100% of the budget
    assert encoder.bytes() == entropy.encode([codes[0], partial], [None, sent])
    assert api.FILL * budget <= encoder.bits() <= budget


def test_whole_iterations_while_they_fit():
    codes, gains = _ranked_codes()
    sizes = [8 * len(entropy.encode(codes[:k])) for k in (1, 2, 3)]
    whole, partial, encoder = api._choose_rate(codes, gains, sizes[2] + 5000)
    assert (whole, partial) == (3, None) and encoder.bits() == sizes[2]
    whole, partial, encoder = api._choose_rate(codes, gains, sizes[1])  # exactly two
    assert (whole, partial) == (2, None) and encoder.bits() == sizes[1]
    whole, partial, _ = api._choose_rate(codes, gains, sizes[0] - 100)  # not even one
    assert whole == 0 and (partial is None or (partial[..., 0] != 0).sum() < partial[..., 0].size)


def test_compress_fills_the_budget_with_the_blocks_that_gain_most():
    model, image = HalvingCodec(), _image()
    for bpp in (0.06, 0.07, 0.08, 0.1):
        data = api.compress(image, bpp=bpp, model=model)
        assert api.FILL * bpp <= api.real_bpp(data, 96, 128) <= bpp
        header, codes = unpack(data)
        assert header.iterations >= 1 and header.partial > 0
        sent = codes[-1][..., 0] != 0
        # the gain of the partial iteration k + 1 in each block: half of what k iterations left
        gain = _block_mean_abs(image / 255.0 - 0.5) * 0.5 ** (header.iterations + 1)
        assert gain[sent].min() > gain[~sent].max()
    assert read_header(api.compress(image, iterations=2, model=model)).iterations == 2


def test_compress_starts_the_range_coder_from_the_models_priors_when_they_are_loaded(monkeypatch):
    from keraslstm.codec.weights import fingerprint

    model, image = HalvingCodec(), _image()
    plain = api.compress(image, bpp=0.1, model=model)
    assert read_header(plain).lossless == "range"
    with pytest.raises(CodecError, match="lossless='range-priors' needs the model's priors"):
        api.compress(image, bpp=0.1, model=model, lossless="range-priors")
    codes, *_ = api._encode_for_budget(model, _image(seed=1), None, 6)  # another image
    monkeypatch.setitem(entropy.PRIORS, fingerprint(model), entropy.check_priors(entropy.estimate_priors([codes])))  # fmt: skip
    data = api.compress(image, bpp=0.1, model=model)
    header, decoded = unpack(data)
    assert (header.lossless, header.version) == ("range-priors", 3)
    assert api.FILL * 0.1 <= api.real_bpp(data, 96, 128) <= 0.1
    # rate control sized the stream with the priors: the file holds the stream it chose
    budget = 0.1 * 96 * 128 - 8 * HEADER_SIZE - 32  # header, then the priors' digest
    priors = entropy.PRIORS[fingerprint(model)]
    chosen, gains, _, coded = api._encode_for_budget(model, image, budget, 6, None, priors)
    assert data[HEADER_SIZE + 4 :] == api._choose_rate(chosen, gains, budget, priors)[2].bytes()
    # going on from the coders the encoder kept: the same choice as coding the iterations again
    whole_k, partial, coder = api._choose_rate(chosen, gains, budget, priors, coded)
    assert whole_k == header.iterations and coder.bytes() == data[HEADER_SIZE + 4 :]
    assert len(coded[0]) == len(chosen) + 1 and coded[0][0].bits() == 0
    whole, *_ = api._encode_for_budget(model, image, None, 6)
    for got, want in zip(decoded[: header.iterations], whole, strict=False):
        np.testing.assert_array_equal(got, want)
    assert read_header(api.compress(image, bpp=0.1, model=model, lossless="range")).lossless == "range"  # fmt: skip
    monkeypatch.delitem(entropy.PRIORS, fingerprint(model))
    with pytest.raises(CodecError, match="none are loaded"):
        unpack(data)


def test_compress_refuses_what_it_cannot_honour():
    model, image = HalvingCodec(), _image(32, 32)
    with pytest.raises(CodecError, match="give exactly one of bpp and iterations"):
        api.compress(image, model=model)
    with pytest.raises(CodecError, match="give exactly one of bpp and iterations"):
        api.compress(image, bpp=1.0, iterations=2, model=model)
    with pytest.raises(CodecError, match="iterations must be between 1 and 6, got 7"):
        api.compress(image, iterations=7, model=model)
    with pytest.raises(CodecError, match="iterations must be between 1 and 6, got 0"):
        api.compress(image, iterations=0, model=model)
    with pytest.raises(CodecError, match="impossible bpp 0: it must be positive"):
        api.compress(image, bpp=0, model=model)
    with pytest.raises(CodecError, match=r"impossible bpp 0.2: .* at least 0.2891 bpp"):
        api.compress(image, bpp=0.2, model=model)  # 29-byte header + 64 bits over 1024 pixels
    with pytest.raises(CodecError, match="Unknown lossless stage 'brotli'; valid: 'auto', 'none'"):
        api.compress(image, bpp=1.0, model=model, lossless="brotli")


# Reading images: every kind of PNG to the exact array it stores.


def test_sixteen_bit_grayscale_reads_exactly_and_scales_by_65535(tmp_path):
    pixels = np.array([[0, 1, 255], [256, 32768, 65535]], np.uint16)
    Image.fromarray(pixels).save(tmp_path / "deep.png")
    read = api.read_image(tmp_path / "deep.png")
    assert read.dtype == np.uint16
    np.testing.assert_array_equal(read, pixels)
    rgb, channels = api.to_float(read)
    assert channels == 1 and rgb.shape == (2, 3, 3) and rgb.dtype == np.float32
    np.testing.assert_array_equal(rgb[..., 1], (pixels / 65535).astype(np.float32))
    assert rgb[1, 2, 0] == 1.0 and rgb[1, 1, 2] == np.float32(32768 / 65535)


def test_palette_grey_and_colour_pngs_read_to_their_pixels(tmp_path):
    indices = np.array([[0, 1, 2], [2, 1, 0]], np.uint8)
    colours = [(255, 0, 0), (0, 128, 255), (7, 7, 7)]
    palette = Image.fromarray(indices, mode="P")
    palette.putpalette([v for colour in colours for v in colour])
    palette.save(tmp_path / "palette.png")
    np.testing.assert_array_equal(api.read_image(tmp_path / "palette.png"), np.array(colours)[indices])  # fmt: skip
    grey = np.array([[0, 17], [200, 255]], np.uint8)
    Image.fromarray(grey).save(tmp_path / "grey.png")
    np.testing.assert_array_equal(api.read_image(tmp_path / "grey.png"), grey)
    rgb, channels = api.to_float(grey)
    assert channels == 1
    np.testing.assert_array_equal(rgb, np.repeat((grey / 255).astype(np.float32)[..., None], 3, -1))
    colour = _image(4, 5)
    Image.fromarray(colour).save(tmp_path / "colour.png")
    np.testing.assert_array_equal(api.read_image(tmp_path / "colour.png"), colour)
    np.testing.assert_array_equal(api.to_float(colour)[0], (colour / 255).astype(np.float32))


def test_alpha_is_dropped_with_a_warning(tmp_path):
    rgba = np.dstack([_image(3, 4), np.full((3, 4), 9, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    read = api.read_image(tmp_path / "rgba.png")
    np.testing.assert_array_equal(read, rgba)
    with pytest.warns(UserWarning, match="dropping the alpha channel"):
        rgb, channels = api.to_float(read)
    assert channels == 3
    np.testing.assert_array_equal(rgb, (rgba[..., :3] / 255).astype(np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        single = api.to_float(rgba[..., :1])  # one channel: grey, no warning
    assert single[1] == 1


def test_to_float_refuses_what_it_cannot_read(tmp_path):
    with pytest.raises(CodecError, match=r"grayscale or \(H, W, 3\) colour image, got shape \(4, 4, 2\)"):  # fmt: skip
        api.to_float(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(CodecError, match=r"got shape \(4,\)"):
        api.to_float(np.zeros(4, np.uint8))
    with pytest.raises(CodecError, match=r"float images must lie in \[0, 1\], got \[-0.5, 1\]"):
        api.to_float(np.array([[-0.5, 1.0]]))
    with pytest.raises(CodecError, match=r"got \[0, 1.5\]"):
        api.to_float(np.array([[0.0, 1.5]]))
    np.testing.assert_array_equal(api.to_float(np.array([[0.0, 1.0]]))[0][..., 0], [[0.0, 1.0]])
    with pytest.raises(
        CodecError, match="unsupported pixel type int32; use uint8, uint16 or float"
    ):
        api.to_float(np.zeros((4, 4), np.int32))
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(CodecError, match="notes.png is not an image file Pillow can read"):
        api.read_image(tmp_path / "notes.png")


def test_real_bpp_is_the_whole_file_over_the_pixels():
    assert api.real_bpp(bytes(100), 20, 40) == 1.0
    assert api.real_bpp(bytes(29), 16, 16) == pytest.approx(29 * 8 / 256)
