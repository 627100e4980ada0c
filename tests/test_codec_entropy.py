"""keraslstm.codec.entropy: round trips, the context model against a position-by-position
reference written from the module's docstring, hand-worked costs, and real codes of a smooth photo.

No Keras here: these tests are fast, and `make mutate` runs them on every mutant of entropy.py.
"""

from pathlib import Path

import numpy as np
import pytest

from keraslstm.codec import entropy

# The codes of the top-left 256x256 pixels of scikit-image's `rocket` (mostly sky), 4 iterations
# of the shipped weights, as packed sign bits (4, 16, 16, 32 / 8). Written once by
# `encode_progressive(load_model(), skimage.data.rocket()[:256, :256], 4)`; here it is just data.
SKY_CODES = Path(__file__).parent / "data" / "rocket_sky_codes.npy"


# The same codes as the range coder of format version 2 wrote them when this test was added, the
# last iteration partial (blocks [::3, 1::2] of the 16 x 16 grid sent, 48): a .klc file written
# then must decode the same with any later version.
SKY_STREAM = SKY_CODES.with_suffix(".range")


def _sky_codes():
    bits = np.unpackbits(np.load(SKY_CODES), axis=-1)
    return [np.where(b, 1, -1).astype(np.int8) for b in bits]


def _random_codes(shape, iterations, seed, p_one=0.5):
    rng = np.random.default_rng(seed)
    return [np.where(rng.random(shape) < p_one, 1, -1).astype(np.int8) for _ in range(iterations)]


def _masked(code, mask):
    return np.where(mask[..., None], code, 0).astype(np.int8)


# The coding order of the docstring: a 4-spaced grid, its 2x2 offsets, then the checkerboard.
SPEC_STEPS = [(0, 0, 4), (2, 2, 4), (0, 2, 4), (2, 0, 4), (1, 1, 2), (0, 1, 2), (1, 0, 2)]
DIRECTIONS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]


def _context_index(step, total, vote, previous):
    """Where the docstring's context lives in a priors array: step, then the neighbour sum
    (-8..8), the vote (-8..8), the previous bit (-1, 0, 1), each varying fastest last."""
    return ((step * 17 + total + 8) * 17 + vote + 8) * 3 + previous + 1


def _reference_costs(codes, masks, priors=None, halve=True, counts=None):
    """Ideal bits per position under the docstring's context model, one position at a time.

    Context of bit c at a position: (step, sum of bit c over the 8 neighbours at half the step's
    spacing that earlier steps decoded, the same sum over the neighbours whose bits 0..c-1 equal
    this position's, bit c of the previous iteration or 0). Counts (zeros, ones) per context
    start at `priors[_context_index(context)]` (or 0) and give P(1) = (ones + 0.4) / (all +
    0.8); they grow after each channel of a step, and (`halve`) a context whose total passes
    255 has both counts halved (rounded down). `counts`, a dict, receives the final counts.
    """
    rows, cols, bits = codes[0].shape
    counts = {} if counts is None else counts
    if priors is not None:
        contexts = [(s, t, v, p) for s in range(7) for t in range(-8, 9) for v in range(-8, 9) for p in (-1, 0, 1)]  # fmt: skip
        counts.update({c: tuple(priors[_context_index(*c)]) for c in contexts})
    previous = np.zeros((rows, cols, bits), int)
    result = []
    for code, mask in zip(codes, masks, strict=True):
        mask = np.ones((rows, cols), bool) if mask is None else mask
        known = np.zeros((rows, cols, bits), int)
        cost = np.zeros((rows, cols))
        for step, (r0, c0, spacing) in enumerate(SPEC_STEPS):
            distance = spacing // 2
            sent = [(y, x) for y in range(r0, rows, spacing) for x in range(c0, cols, spacing) if mask[y, x]]  # fmt: skip
            neighbours = {}
            for y, x in sent:
                around = []
                for dy, dx in DIRECTIONS:
                    ny, nx = y + dy * distance, x + dx * distance
                    inside = 0 <= ny < rows and 0 <= nx < cols
                    around.append(known[ny, nx] if inside else np.zeros(bits, int))
                neighbours[y, x] = around
            for c in range(bits):
                seen = []
                for y, x in sent:
                    own = 1 if code[y, x, c] > 0 else -1
                    around = neighbours[y, x]
                    total = sum(int(n[c]) for n in around)
                    vote = sum(int(n[c]) for n in around if n[0] != 0 and all(n[j] == (1 if code[y, x, j] > 0 else -1) for j in range(c)))  # fmt: skip
                    context = (step, total, vote, int(previous[y, x, c]))
                    zeros, ones = counts.get(context, (0, 0))
                    p_one = (ones + 0.4) / (zeros + ones + 0.8)
                    cost[y, x] -= np.log2(p_one if own == 1 else 1 - p_one)
                    seen.append((context, own))
                for context, own in seen:
                    zeros, ones = counts.get(context, (0, 0))
                    counts[context] = (zeros + (own == -1), ones + (own == 1))
                for context, (zeros, ones) in counts.items():
                    if halve and zeros + ones > 255:
                        counts[context] = (zeros // 2, ones // 2)
            for y, x in sent:
                known[y, x] = np.where(code[y, x] > 0, 1, -1)
        previous = known
        result.append(cost)
    return result


def test_the_steps_cover_every_position_once():
    rows, cols = 9, 7
    hits = np.zeros((rows, cols), int)
    for step in range(len(entropy.STEPS)):
        ys, xs = entropy._positions(rows, cols, step)
        hits[np.ix_(ys, xs)] += 1
    np.testing.assert_array_equal(hits, 1)
    assert list(entropy.STEPS) == SPEC_STEPS


@pytest.mark.parametrize(
    "shape, masked", [((6, 7, 3), False), ((8, 8, 4), True), ((5, 9, 2), True)]
)
def test_position_costs_match_the_reference_model(shape, masked):
    codes = _random_codes(shape, 3, seed=sum(shape), p_one=0.7)
    # neighbouring positions alike in the second iteration: the vote and neighbour contexts fill up
    codes[1][:, 1:] = codes[1][:, :1]
    masks = [None, None, None]
    if masked:
        mask = np.random.default_rng(1).random(shape[:2]) < 0.6
        masks[2], codes[2] = mask, _masked(codes[2], mask)
    costs = entropy.position_costs(codes, masks)
    expected = _reference_costs(codes, masks)
    for got, want in zip(costs, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    if masked:  # an unsent position costs nothing
        assert np.all(costs[2][~masks[2]] == 0) and np.all(costs[2][masks[2]] > 0)
    assert entropy.code_length(codes, masks) == pytest.approx(sum(c.sum() for c in expected))


def test_position_costs_of_real_codes_match_the_reference_model():
    codes = [c[:7, :6] for c in _sky_codes()[:2]]
    for got, want in zip(entropy.position_costs(codes), _reference_costs(codes, [None, None]), strict=True):  # fmt: skip
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_counts_are_halved_past_255_like_the_reference():
    # one position, 800 bits in one context: mostly ones, then mostly zeros; halving the counts
    # lets the estimate follow the change sooner
    rng = np.random.default_rng(3)
    bits = np.where(rng.random(800) < np.repeat([0.95, 0.05], 400), 1, -1)
    codes = [bits.reshape(1, 1, 800).astype(np.int8)]
    (cost,) = entropy.position_costs(codes)
    (expected,) = _reference_costs(codes, [None])
    assert cost[0, 0] == pytest.approx(expected[0, 0], rel=1e-12)
    unhalved, ones, zeros = 0.0, 0, 0  # without halving the estimate would differ
    for bit in codes[0][0, 0]:
        p_one = (ones + 0.4) / (ones + zeros + 0.8)
        unhalved -= np.log2(p_one if bit > 0 else 1 - p_one)
        ones, zeros = ones + (bit > 0), zeros + (bit < 0)
    assert unhalved > expected[0, 0] + 20


def test_code_length_by_hand():
    # 1 position, 3 ones in one context: P = 0.4/0.8, 1.4/1.8, 2.4/2.8 -> 1 + log2(9/7) + log2(7/6)
    ones = [np.ones((1, 1, 3), np.int8)]
    assert entropy.code_length(ones) == pytest.approx(np.log2(3))
    # the next iteration's bits sit in other contexts (the previous bit is now 1): 1 bit each first
    (first, second) = entropy.position_costs([ones[0], ones[0]])
    assert first[0, 0] == pytest.approx(np.log2(3)) and second[0, 0] == pytest.approx(np.log2(3))
    mixed = [np.array([[[1, -1]]], np.int8)]  # 1 bit, then P(0) = 0.4/1.8
    assert entropy.code_length(mixed) == pytest.approx(1 + np.log2(1.8 / 0.4))


@pytest.mark.parametrize("shape", [(16, 16, 32), (5, 3, 8), (1, 1, 4)])
def test_round_trip_with_and_without_masks(shape):
    codes = _random_codes(shape, 3, seed=shape[0], p_one=0.6)
    mask = np.zeros(shape[:2], bool)
    mask.flat[:: 2 if mask.size > 1 else 1] = True
    codes[2] = _masked(codes[2], mask)
    data = entropy.encode(codes, [None, None, mask])
    decoded, masks = entropy.decode(data, shape, 3, [None, None, int(mask.sum())])
    for got, want in zip(decoded, codes, strict=True):
        np.testing.assert_array_equal(got, want)
    assert masks[:2] == [None, None]
    np.testing.assert_array_equal(masks[2], mask)
    plain, plain_masks = entropy.decode(entropy.encode(codes[:2]), shape, 2)
    assert plain_masks == [None, None]
    np.testing.assert_array_equal(plain[1], codes[1])


def test_the_context_model_beats_probability_one_half_on_a_smooth_photo():
    codes = _sky_codes()
    raw_bits = sum(c.size for c in codes)
    data = entropy.encode(codes)
    decoded, _ = entropy.decode(data, codes[0].shape, len(codes))
    for got, want in zip(decoded, codes, strict=True):
        np.testing.assert_array_equal(got, want)
    # p = 1/2 everywhere costs one bit per bit; this sky takes under 0.72 (0.688 measured)
    assert 8 * len(data) < 0.72 * raw_bits
    # the range coder spends what the model predicts, to within a few 32-bit words
    ideal = entropy.code_length(codes)
    assert ideal <= 8 * len(data) <= ideal + 64
    # and random bits cannot be compressed: the model adapts to p = 1/2 and costs ~1 bit each
    noise = _random_codes(codes[0].shape, 4, seed=0)
    assert entropy.code_length(noise) == pytest.approx(raw_bits, rel=0.05)


def test_a_stream_written_by_codec_v2_still_decodes():
    codes = _sky_codes()
    mask = np.zeros((16, 16), bool)
    mask[::3, 1::2] = True
    decoded, masks = entropy.decode(SKY_STREAM.read_bytes(), (16, 16, 32), 4, [None, None, None, 48])  # fmt: skip
    for got, want in zip(decoded, [*codes[:3], _masked(codes[3], mask)], strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(masks[3], mask)
    assert entropy.encode([*codes[:3], _masked(codes[3], mask)], [None, None, None, mask]) == SKY_STREAM.read_bytes()  # fmt: skip


def test_the_mask_costs_its_entropy():
    codes = _random_codes((8, 8, 4), 1, seed=5)
    mask = np.zeros((8, 8), bool)
    mask[:2] = True  # 16 of 64 positions: P(sent) = 1/4
    partial = _masked(codes[0], mask)
    with_mask = entropy.Encoder((8, 8, 4)).add(partial, mask)
    mask_bits = -(16 * np.log2(0.25) + 48 * np.log2(0.75))  # 51.9 bits
    ideal = entropy.code_length([partial], [mask]) + mask_bits
    assert ideal <= with_mask.bits() <= ideal + 64
    assert entropy.code_length([partial], [mask]) < 0.3 * entropy.code_length(codes)


def test_a_clone_or_copy_continues_independently():
    codes = _random_codes((4, 4, 8), 2, seed=7)
    encoder = entropy.Encoder((4, 4, 8)).add(codes[0])
    twin = encoder.clone()
    model_twin = encoder.model.copy()
    twin.add(codes[1])
    assert encoder.bytes() == entropy.encode(codes[:1])
    assert twin.bytes() == entropy.encode(codes)
    np.testing.assert_array_equal(model_twin.previous, encoder.model.previous)
    np.testing.assert_array_equal(model_twin.counts, encoder.model.counts)
    assert not np.array_equal(twin.model.counts, encoder.model.counts)


@pytest.mark.parametrize("masked", [False, True])
def test_an_encoder_reports_the_costs_of_what_it_adds(masked):
    codes = _random_codes((8, 8, 4), 2, seed=9, p_one=0.7)
    mask = np.arange(64).reshape(8, 8) % 3 == 0 if masked else None
    last = _masked(codes[1], mask) if masked else codes[1]
    costs = np.zeros((8, 8))
    encoder = entropy.Encoder((8, 8, 4)).add(codes[0])
    encoder.add(last, mask, costs=costs)
    expected = _reference_costs([codes[0], last], [None, mask])[1]
    np.testing.assert_allclose(costs, expected, rtol=1e-12)
    assert encoder.bytes() == entropy.encode([codes[0], last], [None, mask])  # coded as ever


def test_bad_streams_are_refused():
    codes = _random_codes((4, 4, 8), 1, seed=8)
    mask = np.eye(4, dtype=bool)
    data = entropy.encode([_masked(codes[0], mask)], [mask])
    with pytest.raises(ValueError, match="whole 32-bit words, got 7 bytes"):
        entropy.decode(data[:7], (4, 4, 8), 1, [4])
    # decoded with another count, the mask comes out wrong (here with 4 blocks, not 8)
    with pytest.raises(ValueError, match="iteration 1 promises 8 sent blocks, its mask holds 4"):
        entropy.decode(data, (4, 4, 8), 1, [8])


def _random_priors(seed, high=64):
    rng = np.random.default_rng(seed)
    return rng.integers(0, high, size=(entropy._CONTEXTS, 2))


def test_costs_with_priors_match_the_reference_model_started_from_them():
    codes = _random_codes((6, 7, 3), 3, seed=4, p_one=0.7)
    codes[1][:, 1:] = codes[1][:, :1]
    priors = _random_priors(0, high=128)  # up to 254: some contexts pass 255 at once, halved
    costs = entropy.position_costs(codes, priors=priors)
    expected = _reference_costs(codes, [None] * 3, priors)
    for got, want in zip(costs, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert entropy.code_length(codes, priors=priors) != pytest.approx(entropy.code_length(codes))


def test_estimated_priors_are_each_contexts_share_of_ones_in_64_counts():
    photos = [_random_codes((5, 6, 3), 2, seed=s, p_one=p) for s, p in ((1, 0.8), (2, 0.3))]
    photos[0][1][:, 1:] = photos[0][1][:, :1]
    totals = {}
    for codes in photos:  # the reference counts every bit, never halving
        seen = {}
        _reference_costs(codes, [None] * 2, halve=False, counts=seen)
        for context, (zeros, ones) in seen.items():
            before = totals.get(context, (0, 0))
            totals[context] = (before[0] + zeros, before[1] + ones)
    priors = entropy.estimate_priors(photos)
    assert priors.dtype == np.int64 and priors.shape == (entropy._CONTEXTS, 2)
    expected = np.zeros_like(priors)
    for context, (zeros, ones) in totals.items():
        share = np.round(64 * (ones + 0.5) / (zeros + ones + 1))
        expected[_context_index(*context)] = (64 - share, share)
    np.testing.assert_array_equal(priors, expected)
    assert len(totals) > 20 and priors.sum() == 64 * len(totals)


def test_priors_round_trip_and_shorten_a_photos_stream():
    codes = _sky_codes()
    left, right = [c[:, :8] for c in codes], [c[:, 8:] for c in codes]
    priors = entropy.estimate_priors([left])
    data = entropy.encode(right, priors=priors)
    decoded, _ = entropy.decode(data, right[0].shape, len(right), priors=priors)
    for got, want in zip(decoded, right, strict=True):
        np.testing.assert_array_equal(got, want)
    # learnt on the left half of the sky, the right half costs fewer bits from its first one
    assert len(data) < 0.98 * len(entropy.encode(right))  # 1240 against 1280 bytes
    try:  # without the priors, the stream is other bits, or none that decode
        without, _ = entropy.decode(data, right[0].shape, len(right))
    except (AssertionError, ValueError, RuntimeError):  # constriction: "invalid ... model"
        return
    assert any((a != b).any() for a, b in zip(without, right, strict=True))


@pytest.mark.parametrize(
    "priors, message",
    [
        (np.zeros((10, 2)), "shape"),
        (-np.ones((entropy._CONTEXTS, 2)), "non-negative"),
        (np.full((entropy._CONTEXTS, 2), 0.5), "whole"),
        (np.full((entropy._CONTEXTS, 2), 200), "at most 255"),
    ],
)
def test_bad_priors_are_named(priors, message):
    with pytest.raises(ValueError, match=message):
        entropy.register_priors(bytes(8), priors)
    with pytest.raises(ValueError, match=message):
        entropy.ContextModel((4, 4, 2), priors)


def test_priors_at_their_limits_are_taken_and_past_them_refused():
    counts = np.zeros((entropy._CONTEXTS, 2), np.uint8)
    counts[0] = (200, 55)  # 255 in all: the most a context may hold
    assert entropy.check_priors(counts)[0].tolist() == [200.0, 55.0]
    counts[0] = (200, 56)
    with pytest.raises(ValueError, match="at most 255"):
        entropy.check_priors(counts)
    for bad, message in ((np.nan, "whole"), (np.inf, "whole")):
        floats = np.zeros((entropy._CONTEXTS, 2))
        floats[3, 1] = bad
        with pytest.raises(ValueError, match=message):
            entropy.check_priors(floats)
    for odd in (np.zeros((entropy._CONTEXTS, 2), bool), np.full((entropy._CONTEXTS, 2), "3")):
        with pytest.raises(ValueError, match="priors must be numbers"):
            entropy.check_priors(odd)
    with pytest.raises(ValueError, match="fingerprint is 8 bytes"):
        entropy.register_priors(b"short", counts * 0)
    checked = entropy.check_priors(counts * 0)
    with pytest.raises(ValueError, match="read-only"):
        checked[0, 0] = 1  # the registry's counts cannot drift
    codes = [_sky_codes()]
    for strength in (1, 255):
        assert set(entropy.estimate_priors(codes, strength).sum(axis=1)) == {0, strength}


def test_estimated_priors_count_every_bit_never_halving():
    # one photo, 8 iterations of all-ones codes: far more than 255 bits land in some contexts;
    # every seen context leans to ones (half a count of smoothing keeps rare ones below 64), and
    # a context seen n times gets 64 (n + 0.5) / (n + 1) ones: all 64 from n = 63 on
    codes = [np.ones((8, 8, 2), np.int8)] * 8
    priors = entropy.estimate_priors([codes])
    seen = priors.sum(axis=1) > 0
    assert seen.sum() >= 3 and (priors[seen].sum(axis=1) == 64).all()
    assert (priors[seen, 1] > 48).all() and priors[:, 1].max() == 64
    model = entropy.ContextModel((8, 8, 2), halve_at=None)
    for code in codes:
        entropy._iteration_costs(model, code)
    assert model.counts.sum() == 8 * codes[0].size  # every bit counted, none halved away
    assert model.copy().halve_at is None and model.copy().counts.sum() == model.counts.sum()


def test_the_digest_tells_priors_apart():
    a = _random_priors(1)
    b = a.copy()
    b[17, 0] += 1
    assert len(entropy.priors_digest(a)) == 4
    assert entropy.priors_digest(a) == entropy.priors_digest(a.astype(np.float64))
    assert entropy.priors_digest(a) != entropy.priors_digest(b)


def test_estimate_priors_refuses_no_codes_and_impossible_strengths():
    with pytest.raises(ValueError, match="at least one photo"):
        entropy.estimate_priors([])
    for strength in (0, 256):
        with pytest.raises(ValueError, match="strength must be between 1 and 255"):
            entropy.estimate_priors([_sky_codes()], strength)
