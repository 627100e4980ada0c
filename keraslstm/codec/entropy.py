"""Context-adaptive range coding of the codec's binary codes (the `.klc` payload, versions 2-3).

Each iteration's code is a (rows, columns, bits) array of signs, one 32-bit vector per 16x16
pixel block. Neighbouring blocks in flat regions get identical vectors, and a bit often repeats
the same channel's bit of the previous iteration; a general-purpose stage (lzma) finds some of
that, a context model finds more. The bits are coded in an order that a decoder can follow with
whole-array numpy steps:

* positions in 7 *steps*: a 4x4 grid first (then its 2x2 offsets), then the 1-spaced
  checkerboard, so that from the second step on every position has decoded neighbours;
* within a step, channel by channel: bit c of a position is predicted from (1) the sum of the
  same channel's bit over its decoded 8-neighbours, (2) the vote of the neighbours whose bits
  0..c-1 all equal this position's (a repeated vector), and (3) the same bit in the previous
  iteration;
* each context keeps adaptive counts of zeros and ones (halved when large, as CABAC adapts),
  updated after every channel of every step; the probability of a one is
  (ones + 0.4) / (zeros + ones + 0.8). The counts start at zero, or (stage `range-priors`,
  format version 3) from *priors*: each context's share of ones on training photos, as counts
  summing to 64 (`estimate_priors`). A file at 0.25 bpp holds too few bits for the counts to
  learn much, so knowing them beforehand saves bits; the priors belong to the weights that made
  the codes and ship beside them (`PRIORS`, by the model's fingerprint).

Encoder and decoder run the same function, `_code`, with a `coder` callback that either encodes
known bits or decodes them, so the two cannot drift apart; all probabilities are float64 numpy
arithmetic on integer-valued counts, and `constriction` (a Rust range coder, exact integer
arithmetic) turns them into bits, so files are bit-exact across runs, processes and backends.

Positions outside an iteration's `mask` (the unsent blocks of a partial iteration) are neither
coded nor used as context (they are zeros, "no information", like the decoder sees them).

No keras import: `fileformat` and the CLI's `info` use this module without TensorFlow.
"""

import numpy as np

__all__ = [
    "ContextModel",
    "Encoder",
    "encode",
    "decode",
    "position_costs",
    "code_length",
    "estimate_priors",
    "check_priors",
    "register_priors",
    "priors_digest",
    "PRIORS",
    "STEPS",
]

# (row offset, column offset, spacing) of each step; together they cover every position once.
STEPS = ((0, 0, 4), (2, 2, 4), (0, 2, 4), (2, 0, 4), (1, 1, 2), (0, 1, 2), (1, 0, 2))
_NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))
_PRIOR = 0.4  # Krichevsky-Trofimov-like pseudo-count
_HALVE_AT = 255  # counts of a context are halved when their sum passes this: adapts to change
# context = step (7) x neighbour sum (17) x matched-neighbour vote (17) x previous bit (3)
_CONTEXTS = len(STEPS) * 17 * 17 * 3
PRIOR_STRENGTH = 64  # counts of a seen context in `estimate_priors`: a quarter of _HALVE_AT
# Prior counts by the 8-byte fingerprint of the model whose codes they describe; the codec's
# weights module registers the priors that ship beside a weights file when it loads it.
PRIORS = {}


def _positions(rows, cols, step):
    """(row indices, column indices) of the positions coded at `step` (each position is in one)."""
    r0, c0, spacing = STEPS[step]
    return np.arange(r0, rows, spacing), np.arange(c0, cols, spacing)


def _shift(array, dy, dx, spacing):
    """array[y + dy * spacing, x + dx * spacing] (zeros outside), for every (y, x)."""
    out = np.zeros_like(array)
    oy, ox = dy * spacing, dx * spacing
    h, w = array.shape[:2]
    src = array[max(oy, 0) : h + min(oy, 0), max(ox, 0) : w + min(ox, 0)]
    out[max(-oy, 0) : h + min(-oy, 0), max(-ox, 0) : w + min(-ox, 0)] = src
    return out


def check_priors(priors):
    """`priors` as read-only float64 counts, or a ValueError that names what is wrong.

    Row `((step * 17 + neighbour sum + 8) * 17 + vote + 8) * 3 + previous bit + 1` holds a
    context's (zeros, ones): the layout a `.priors.npy` file keeps.
    """
    array = np.asarray(priors)
    if array.dtype.kind not in "iuf":
        raise ValueError(f"priors must be numbers, got an array of {array.dtype}")
    if array.shape != (_CONTEXTS, 2):
        raise ValueError(f"priors are counts of shape ({_CONTEXTS}, 2), got {array.shape}")
    counts = array.astype(np.float64)
    whole = np.isfinite(counts).all() and (counts == np.round(counts)).all()
    if not whole or (counts < 0).any():
        raise ValueError("priors must be whole non-negative counts")
    if counts.sum(axis=1).max() > _HALVE_AT:
        raise ValueError(f"prior counts of a context must sum to at most {_HALVE_AT}")
    counts.setflags(write=False)  # the registry's counts never change as files are coded
    return counts


def register_priors(fingerprint, priors):
    """Make `priors` the starting counts for files of the model with this 8-byte fingerprint."""
    if not isinstance(fingerprint, bytes) or len(fingerprint) != 8:
        raise ValueError(f"a model's fingerprint is 8 bytes, got {fingerprint!r}")
    PRIORS[fingerprint] = check_priors(priors)


def priors_digest(priors):
    """4 bytes that tell one set of prior counts from another (stored in `range-priors` files)."""
    import hashlib

    counts = np.asarray(check_priors(priors), "<i8")
    return hashlib.sha256(counts.tobytes()).digest()[:4]


class ContextModel:
    """The adaptive context model's state (counts, the previous iteration's code) for one
    code grid of `shape` (rows, cols, bits); `iteration(coder, mask)` codes one iteration.

    The counts start from `priors` (see `estimate_priors`) or at zero; they are halved when a
    context's sum passes `halve_at` (None: never, to count a training set exactly).
    """

    def __init__(self, shape, priors=None, halve_at=_HALVE_AT):
        self.shape = tuple(shape)
        self.counts = np.zeros((_CONTEXTS, 2)) if priors is None else check_priors(priors).copy()
        self.previous = np.zeros(self.shape, np.int8)
        self.halve_at = halve_at

    def copy(self):
        twin = ContextModel(self.shape, halve_at=self.halve_at)
        twin.counts, twin.previous = self.counts.copy(), self.previous.copy()
        return twin

    def iteration(self, coder, mask=None):
        """Code one iteration: `coder(probabilities, (step, channel))` gets float64
        probabilities of a one for the bits being coded and returns those bits as {0, 1}.
        Returns the iteration's code, int8 in {-1, 0, +1} (0 where `mask` leaves a position out).
        """
        rows, cols, bits = self.shape
        counts = self.counts
        mask = np.ones((rows, cols), bool) if mask is None else mask
        known = np.zeros(self.shape, np.int8)
        for step in range(len(STEPS)):
            ys, xs = _positions(rows, cols, step)
            window = np.ix_(ys, xs)
            sent = mask[window]
            if not sent.any():
                continue
            distance = STEPS[step][2] // 2  # the nearest positions that earlier steps coded
            neighbours = np.stack(
                [_shift(known, dy, dx, distance)[window] for dy, dx in _NEIGHBOURS]
            )
            neighbours = neighbours[:, sent].astype(np.int64)  # (8, positions, bits)
            matching = neighbours[..., 0] != 0
            before = self.previous[window][sent].astype(np.int64) + 1
            # every channel's context but the vote, which waits for the channels before it
            partial = ((step * 17 + neighbours.sum(axis=0) + 8) * 17 + 8) * 3 + before
            by_channel = np.ascontiguousarray(neighbours.transpose(2, 0, 1))  # (bits, 8, positions)
            signs = np.zeros((int(sent.sum()), bits), np.int8)
            for c in range(bits):
                nb = by_channel[c]
                context = partial[:, c] + 3 * (nb * matching).sum(axis=0)
                table = counts[context]
                probability = (table[:, 1] + _PRIOR) / (table[:, 0] + table[:, 1] + 2 * _PRIOR)
                symbols = np.asarray(coder(probability, (step, c)), dtype=np.int64)
                np.add.at(counts, (context, symbols), 1)
                if self.halve_at is not None:
                    # only the contexts just counted can have passed `halve_at`: the others
                    # were at most that after the last check (and priors start at most that)
                    over = counts[context].sum(axis=1) > self.halve_at
                    if over.any():
                        big = np.unique(context[over])
                        counts[big] = np.floor(counts[big] / 2)
                sign = 2 * symbols - 1
                signs[:, c] = sign
                matching &= nb == sign
            block = np.zeros(sent.shape + (bits,), np.int8)
            block[sent] = signs
            known[window] = block
        self.previous = known
        return known


def _source(code, mask):
    """A coder callback that feeds `code`'s bits (in coding order) and records nothing."""
    rows, cols = code.shape[:2]
    mask = np.ones((rows, cols), bool) if mask is None else mask
    cache = {}

    def symbols(step):
        if step not in cache:
            window = np.ix_(*_positions(rows, cols, step))
            cache[step] = (code[window][mask[window]] > 0).astype(np.int32)
        return cache[step]

    return symbols


def _family():
    import constriction

    return constriction.stream.model.Bernoulli(perfect=False)


class Encoder:
    """A range coder fed iteration by iteration; `clone()` lets a rate search try endings."""

    def __init__(self, shape, priors=None):
        import constriction

        self.coder = constriction.stream.queue.RangeEncoder()
        self.model = ContextModel(shape, priors)

    def clone(self):
        twin = object.__new__(Encoder)
        twin.coder, twin.model = self.coder.clone(), self.model.copy()
        return twin

    def add(self, code, mask=None, costs=None):
        """Code one iteration; with a `mask`, first the mask (each bit with probability
        sent / positions: the caller stores the count), then only the sent positions.
        `costs`, a (rows, cols) float array, gets each position's ideal cost in bits added."""
        family, source = _family(), _source(code, mask)
        if mask is not None:
            probability = np.full(mask.size, mask.sum() / mask.size)
            self.coder.encode(mask.ravel().astype(np.int32), family, probability)
        record = None if costs is None else _cost_recorder(costs, mask)

        def coder(probability, index):
            symbols = _column(source, index)
            self.coder.encode(symbols, family, probability)
            if record is not None:
                record(probability, symbols, index[0])
            return symbols

        self.model.iteration(coder, mask)
        return self

    def bits(self):
        return 32 * self.coder.num_words()

    def bytes(self):
        return self.coder.get_compressed().tobytes()


def _column(source, index):
    step, c = index
    return source(step)[:, c]


def encode(codes, masks=None, priors=None):
    """Bytes of a range-coded stream of `codes` (arrays of signs, one per iteration).

    `masks[t]` (bool (rows, cols) or None) says which positions of iteration t are sent;
    `priors` are the starting counts (None: zeros), which the decoder must be given too.
    """
    codes = [np.asarray(c) for c in codes]
    masks = list(masks or [None] * len(codes))
    encoder = Encoder(codes[0].shape, priors)
    for code, mask in zip(codes, masks, strict=True):
        encoder.add(code, mask)
    return encoder.bytes()


def decode(data, shape, iterations, sent=None, priors=None):
    """The codes (int8 signs, 0 where unsent) and masks of a stream written by `encode`.

    `sent[t]` is the number of positions sent in iteration t (None: all). Raises ValueError for a
    stream that is not whole 32-bit words or whose masks do not hold the promised counts; other
    damage decodes to wrong bits, which the caller's checksum catches.
    """
    import constriction

    if len(data) % 4:
        raise ValueError(f"a range-coded stream is whole 32-bit words, got {len(data)} bytes")
    decoder = constriction.stream.queue.RangeDecoder(np.frombuffer(data, dtype=np.uint32).copy())
    family = _family()
    sent = list(sent or [None] * iterations)
    rows, cols = shape[:2]
    model = ContextModel(shape, priors)
    codes, masks = [], []
    for t, count in enumerate(sent):
        mask = None
        if count is not None:
            probability = np.full(rows * cols, count / (rows * cols))
            mask = np.asarray(decoder.decode(family, probability), dtype=bool).reshape(rows, cols)
            if mask.sum() != count:
                raise ValueError(
                    f"corrupt block mask: iteration {t + 1} promises {count} sent blocks, "
                    f"its mask holds {int(mask.sum())}"
                )
        masks.append(mask)
        decode_bits = lambda p, _: np.asarray(decoder.decode(family, p), dtype=np.int64)  # noqa: E731
        codes.append(model.iteration(decode_bits, mask))
    return codes, masks


def position_costs(codes, masks=None, priors=None):
    """Ideal cost in bits (the sum of -log2 p over its bits) of every position of every
    iteration under the context model, as (rows, cols) float arrays (no range coder runs)."""
    codes = [np.asarray(c) for c in codes]
    masks = list(masks or [None] * len(codes))
    model = ContextModel(codes[0].shape, priors)
    return [_iteration_costs(model, code, mask) for code, mask in zip(codes, masks, strict=True)]


def _cost_recorder(costs, mask=None):
    """`record(probabilities, symbols, step)`: adds each coded bit's ideal cost, -log2 of its
    probability, to its position in `costs` (rows, cols)."""
    rows, cols = costs.shape
    full = np.ones((rows, cols), bool) if mask is None else mask

    def record(probability, symbols, step):
        window = np.ix_(*_positions(rows, cols, step))
        bits = -np.log2(np.where(symbols == 1, probability, 1 - probability))
        view = costs[window]
        view[full[window]] += bits
        costs[window] = view

    return record


def _iteration_costs(model, code, mask=None):
    """Cost per position of coding `code` next with `model` (which it advances)."""
    costs = np.zeros(code.shape[:2])
    source, record = _source(code, mask), _cost_recorder(costs, mask)

    def coder(probability, index):
        symbols = _column(source, index)
        record(probability, symbols, index[0])
        return symbols

    model.iteration(coder, mask)
    return costs


def code_length(codes, masks=None, priors=None):
    """Ideal length in bits of the iterations of `encode(codes, masks, priors)` (no masks)."""
    return float(sum(c.sum() for c in position_costs(codes, masks, priors)))


def estimate_priors(photos_codes, strength=PRIOR_STRENGTH):
    """Prior counts for `ContextModel` from training photos' codes (one list of iteration
    codes per photo): each context's share of ones, smoothed by half a count, as whole counts
    summing to `strength`; contexts the photos never reach get none. int64 (contexts, 2)."""
    if not 1 <= strength <= _HALVE_AT:
        raise ValueError(f"strength must be between 1 and {_HALVE_AT}, got {strength}")
    totals = np.zeros((_CONTEXTS, 2))
    for codes in photos_codes:
        model = ContextModel(np.shape(codes[0]), halve_at=None)
        for code in codes:
            _iteration_costs(model, np.asarray(code))
        totals += model.counts
    if not totals.any():
        raise ValueError("estimate_priors needs at least one photo's codes")
    seen = totals.sum(axis=1)
    ones = np.round(strength * (totals[:, 1] + 0.5) / (seen + 1.0))
    return (np.stack([strength - ones, ones], axis=1) * (seen > 0)[:, None]).astype(np.int64)
