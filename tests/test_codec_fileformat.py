"""keraslstm.codec.fileformat: the header byte by byte, every lossless stage's round trip and
CRC, partial iterations, cut and padded files, and every refusal, without a model.

No Keras here: these tests are fast, and `make mutate` runs them on every mutant of fileformat.py.
"""

import lzma
import re
import struct
import tracemalloc
import zlib

import numpy as np
import pytest

from keraslstm.codec import entropy, fileformat
from keraslstm.codec.fileformat import CodecError, Header, pack, read_header, unpack

FINGERPRINT = bytes(range(1, 9))
STAGES = ("none", "zlib", "lzma", "range", "range-priors")
PRIORS = np.random.default_rng(0).integers(0, 65, size=(entropy._CONTEXTS, 2))


@pytest.fixture(autouse=True)
def _priors_of_the_test_model(monkeypatch):
    """Stage range-priors finds these by FINGERPRINT, as it finds a loaded model's."""
    monkeypatch.setitem(entropy.PRIORS, FINGERPRINT, entropy.check_priors(PRIORS))


def _header(lossless="none", iterations=3, partial=0, height=40, width=56, bits=8, channels=3):
    # 40 x 56 pixels, stride 16: a 3 x 4 grid of code positions, 8 bits each (12 bytes/iteration)
    return Header(height, width, channels, iterations, lossless, bits, 16, FINGERPRINT, partial)


def _codes(header, seed=0):
    """Whole iterations of random signs, then (header.partial > 0) a partial one."""
    rng = np.random.default_rng(seed)
    codes = [rng.choice([-1.0, 1.0], header.code_shape) for _ in range(header.iterations)]
    if header.partial:
        mask = np.zeros(header.positions, bool)
        mask[rng.choice(header.positions, header.partial, replace=False)] = True
        last = rng.choice([-1.0, 1.0], header.code_shape)
        codes.append(np.where(mask.reshape(header.code_shape[:2])[..., None], last, 0.0))
    return codes


def _header_bytes(header, checksum, version=3):
    """The 29-byte header of versions 2 and 3, field by field from the module docstring."""
    stage = STAGES.index(header.lossless)
    return (b"KLC" + bytes([version]) + header.height.to_bytes(2, "big") + header.width.to_bytes(2, "big")
            + bytes([header.channels, header.iterations, stage, header.bits, header.stride])
            + header.fingerprint + header.partial.to_bytes(4, "big") + checksum.to_bytes(4, "big"))  # fmt: skip


def _raw(codes, header):
    """The raw payload, bit by bit: sign bits of each whole iteration (row-major, channel last,
    most significant bit first, zero-padded to a byte), then the partial iteration's block mask
    and the bits of its sent positions."""

    def to_bytes(bits):
        bits = list(bits) + [0] * (-len(bits) % 8)
        return bytes(int("".join(map(str, bits[i : i + 8])), 2) for i in range(0, len(bits), 8))

    whole = b"".join(to_bytes((np.ravel(c) > 0).astype(int)) for c in codes[: header.iterations])
    if not header.partial:
        return whole
    last = codes[-1]
    mask = last[..., 0] != 0
    return whole + to_bytes(mask.ravel().astype(int)) + to_bytes((last[mask].ravel() > 0).astype(int))  # fmt: skip


def _assert_codes_equal(got, want):
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)


def test_header_properties_by_hand():
    header = _header()
    assert header.code_shape == (3, 4, 8) and header.positions == 12
    assert fileformat.iteration_bytes(header) == 12
    odd = _header(height=17, width=16, bits=3)  # 2 x 1 positions of 3 bits: 6 bits, one byte
    assert odd.code_shape == (2, 1, 3) and fileformat.iteration_bytes(odd) == 1
    assert fileformat.HEADER_SIZE == 29


@pytest.mark.parametrize("partial", [0, 5])
def test_an_uncompressed_file_is_the_header_then_the_raw_bits(partial):
    header = _header(partial=partial)
    codes = _codes(header)
    raw = _raw(codes, header)
    assert len(raw) == 36 + (2 + 5 if partial else 0)  # mask: 12 bits; partial: 5 x 8 bits
    assert pack(header, codes) == _header_bytes(header, zlib.crc32(raw)) + raw


def test_a_sign_pattern_packs_to_the_expected_byte():
    header = _header(height=16, width=16, iterations=1)  # one position of 8 bits
    code = np.array([1, -1, 1, 1, -1, -1, -1, 1], float).reshape(1, 1, 8)
    assert pack(header, [code])[-1] == 0b10110001


@pytest.mark.parametrize("lossless", STAGES)
@pytest.mark.parametrize("partial", [0, 5])
def test_every_stage_round_trips_header_and_codes(lossless, partial):
    header = _header(lossless, partial=partial)
    codes = _codes(header, seed=partial)
    data = pack(header, codes)
    read, decoded = unpack(data)
    expected_checksum = zlib.crc32(_raw(codes, header))
    assert read == Header(**{**header.__dict__, "checksum": expected_checksum})
    assert read_header(data) == read
    _assert_codes_equal(decoded, codes)
    assert all(c.dtype == np.float32 for c in decoded)


@pytest.mark.parametrize("lossless, priors", [("range", None), ("range-priors", PRIORS)])
@pytest.mark.parametrize("partial", [0, 5])
def test_a_stream_coded_already_goes_in_as_it_is(lossless, priors, partial):
    header = _header(lossless, partial=partial)
    codes = [c.astype(np.int8) for c in _codes(header, seed=3)]
    masks = [None] * header.iterations + ([codes[-1][..., 0] != 0] if partial else [])
    coder = entropy.Encoder(header.code_shape, priors)
    for code, mask in zip(codes, masks, strict=True):
        coder.add(code, mask)
    assert pack(header, codes, coder.bytes()) == pack(header, codes)
    # the stage trusts its caller: another stream goes in unchecked, so it must be these codes'
    assert pack(header, codes, b"\0" * 4) != pack(header, codes)


@pytest.mark.parametrize("lossless", ["zlib", "lzma"])
def test_the_lossless_stages_wrap_the_raw_payload(lossless):
    header = _header(lossless)
    codes = _codes(header)
    body = pack(header, codes)[29:]
    inflate = zlib.decompress if lossless == "zlib" else lzma.decompress
    assert inflate(body) == _raw(codes, header)


def _with_one_payload_bit_flipped(header, codes, iteration=1, position=(1, 2, 5)):
    """A file whose header (and CRC) belong to `codes` but whose payload, coded by the header's
    stage, holds one sign flipped: every decoding step succeeds, only the CRC can tell."""
    flipped = [c.copy() for c in codes]
    flipped[iteration][position] *= -1
    return pack(header, codes)[:29] + pack(header, flipped)[29:]


@pytest.mark.parametrize("lossless", STAGES)
@pytest.mark.parametrize("partial", [0, 5])
def test_every_stage_refuses_a_flipped_payload_bit_by_its_crc(lossless, partial):
    header = _header(lossless, partial=partial)
    codes = _codes(header, seed=2)
    iteration = 3 if partial else 1  # in the partial iteration: flip a sent position
    position = (*np.argwhere(codes[-1][..., 0] != 0)[0], 5) if partial else (1, 2, 5)
    data = _with_one_payload_bit_flipped(header, codes, iteration, tuple(position))
    assert len(data) == len(pack(header, codes)) or lossless != "none"
    with pytest.raises(CodecError, match="checksum"):
        unpack(data)


def test_a_wrong_checksum_field_is_refused():
    header = _header()
    data = bytearray(pack(header, _codes(header)))
    data[28] ^= 1  # the CRC's last byte
    with pytest.raises(CodecError, match="does not match its checksum"):
        unpack(bytes(data))


@pytest.mark.parametrize("lossless", ["none", "zlib", "lzma"])
def test_a_cut_file_decodes_its_whole_iterations_with_partial(lossless):
    header = _header(lossless)
    codes = _codes(header)
    data = pack(header, codes)
    decoded_at = {}  # whole iterations -> the shortest cut that yields them
    for cut in range(len(data), 28, -1):
        try:
            read, decoded = unpack(data[:cut], partial=True)
        except CodecError as error:
            assert "truncated .klc file" in str(error) and "partial=True" not in str(error)
            continue
        assert read.iterations == len(decoded) and read.partial == 0
        _assert_codes_equal(decoded, codes[: len(decoded)])
        decoded_at[len(decoded)] = cut
    assert sorted(decoded_at) == [1, 2, 3]
    if lossless == "none":  # iteration k ends k x 12 bytes after the header
        assert decoded_at == {1: 29 + 12, 2: 29 + 24, 3: 29 + 36}
    with pytest.raises(CodecError, match="truncated .klc file.*pass partial=True.* decode its 2 complete"):  # fmt: skip
        unpack(data[: decoded_at[2]])


def test_a_cut_file_names_what_it_found():
    header = _header()
    data = pack(header, _codes(header))
    message = r"promises 3 iterations \(36 payload bytes\), found 30; pass partial=True"
    with pytest.raises(CodecError, match=message):
        unpack(data[:-6])
    zlib_data = pack(_header("zlib"), _codes(header))
    with pytest.raises(CodecError, match="in an unfinished zlib stream"):
        unpack(zlib_data[:-3])


def test_a_cut_partial_iteration_drops_it_with_partial():
    header = _header(partial=5)
    codes = _codes(header)
    data = pack(header, codes)
    read, decoded = unpack(data[:-1], partial=True)
    assert read.iterations == 3 and read.partial == 0
    _assert_codes_equal(decoded, codes[:3])


def test_extra_bytes_are_refused():
    header = _header()
    data = pack(header, _codes(header))
    with pytest.raises(CodecError, match=r"longer than the 36 bytes that 3 iterations hold \(4 bytes more\)"):  # fmt: skip
        unpack(data + bytes(4))
    zlib_data = pack(_header("zlib"), _codes(header))
    with pytest.raises(CodecError, match="2 bytes after the end of the zlib stream"):
        unpack(zlib_data + b"\x00\x01")


def test_a_stream_that_inflates_past_the_promise_stops_there():
    header = _header("zlib", iterations=1)
    bomb = _header_bytes(header, 0) + zlib.compress(bytes(10_000_000), 9)  # 10 MB of zeros
    with pytest.raises(CodecError, match="longer than the 12 bytes that 1 iterations hold$"):
        unpack(bomb)


@pytest.mark.parametrize("lossless", ["zlib", "lzma"])
def test_a_stream_that_does_not_decode_is_named(lossless):
    header = _header(lossless)
    with pytest.raises(CodecError, match=f"the {lossless} stream does not decode"):
        unpack(_header_bytes(header, 0) + b"\xff" * 40)


def test_a_partial_mask_with_the_wrong_count_is_refused():
    header = _header(partial=5)
    codes = _codes(header)
    raw = bytearray(_raw(codes, header))
    mask_start = 36
    raw[mask_start] ^= 0x80 if not raw[mask_start] & 0x80 else 0x40  # one block more or less
    mask = np.unpackbits(np.frombuffer(bytes(raw[36:38]), np.uint8))[:12]
    assert mask.sum() != 5
    data = _header_bytes(header, zlib.crc32(bytes(raw))) + bytes(raw)
    with pytest.raises(CodecError, match=f"the block mask holds {mask.sum()} blocks, the header promises 5"):  # fmt: skip
        unpack(data)


def test_version_1_files_have_no_partial_iteration_or_checksum():
    header = _header("zlib", iterations=2)
    codes = _codes(header)
    raw = _raw(codes, header)
    fields = (b"KLC", 1, 40, 56, 3, 2, 1, 8, 16, FINGERPRINT)
    data = struct.pack(">3sBHHBBBBB8s", *fields) + zlib.compress(raw)
    read, decoded = unpack(data)
    assert read == Header(40, 56, 3, 2, "zlib", 8, 16, FINGERPRINT, 0, 0, version=1)
    _assert_codes_equal(decoded, codes)
    assert fileformat.header_size(read) == 21
    range_v1 = struct.pack(">3sBHHBBBBB8s", *fields[:6], 3, *fields[7:])  # no range stage in v1
    with pytest.raises(CodecError, match="impossible size, channel count or lossless stage"):
        read_header(range_v1 + bytes(10))


@pytest.mark.parametrize(
    "data, message",
    [
        (b"KLC\x02" + bytes(10), "not a .klc file: 14 bytes, shorter than the 21-byte header"),
        (b"KLC\x02" + bytes(20), "not a .klc file: 24 bytes, shorter than the 29-byte header"),
        (b"PNG\x02" + bytes(40), "it starts with b'PNG', not b'KLC'"),
        (b"KLC\x04" + bytes(40), "unknown .klc version 4; this keraslstm reads versions 1 to 3"),
        (b"KLC\x00" + bytes(40), "unknown .klc version 0"),
    ],
)
def test_unreadable_headers_are_named(data, message):
    with pytest.raises(CodecError, match=message):
        read_header(data)


@pytest.mark.parametrize(
    "change",
    [
        dict(channels=2),
        dict(channels=0),
        dict(height=0),
        dict(width=0),
        dict(bits=0),
        dict(stride=0),
        dict(iterations=0),
        dict(lossless=4),  # range-priors, in a version-2 header
        dict(lossless=5),
    ],
)
def test_impossible_header_fields_are_refused(change):
    fields = dict(height=40, width=56, channels=3, iterations=3, lossless=0, bits=8, stride=16)
    fields.update(change)
    data = fileformat._HEADER.pack(b"KLC", 2, *fields.values(), FINGERPRINT, 0, 0)
    with pytest.raises(CodecError, match="corrupt .klc header"):
        read_header(data)


def test_header_limits_that_are_still_valid():
    # one channel, stage 3 (range), a partial iteration with no whole one, every position sent
    fields = (b"KLC", 2, 40, 56, 1, 0, 3, 8, 16, FINGERPRINT, 12, 0)
    header = read_header(fileformat._HEADER.pack(*fields))
    assert (header.channels, header.iterations, header.lossless, header.partial) == (1, 0, "range", 12)  # fmt: skip
    too_many = fileformat._HEADER.pack(*fields[:10], 13, 0)
    with pytest.raises(CodecError, match="13 sent blocks in the partial iteration, the image has 12"):  # fmt: skip
        read_header(too_many)


def test_the_pixel_limit_is_inclusive_and_can_be_lifted(monkeypatch):
    monkeypatch.setattr(fileformat, "MAX_PIXELS", 40 * 56)
    data = pack(_header(), _codes(_header()))
    assert read_header(data).height == 40  # exactly at the limit
    fileformat.check_pixels(40, 56)
    monkeypatch.setattr(fileformat, "MAX_PIXELS", 40 * 56 - 1)
    message = r"40x56 image \(2,240 pixels\) is above the codec's limit of 2,239 pixels"
    with pytest.raises(CodecError, match=message):
        read_header(data)
    monkeypatch.setattr(fileformat, "MAX_PIXELS", None)
    fileformat.check_pixels(100_000, 100_000)


def test_pack_refuses_arrays_that_do_not_fit_the_header():
    header = _header(partial=5)
    codes = _codes(header)
    with pytest.raises(CodecError, match="header says 3 iterations and a partial one, got 3 bit arrays"):  # fmt: skip
        pack(header, codes[:3])
    with pytest.raises(CodecError, match="header says 3 iterations, got 4 bit arrays"):
        pack(_header(), codes)
    with pytest.raises(CodecError, match="header says 4 sent blocks, the mask holds 5"):
        pack(_header(partial=4), codes)


def test_a_range_coded_file_too_short_for_its_bits_is_refused_before_decoding():
    header = _header("range", iterations=200, height=4096, width=4096, bits=32)
    # 200 iterations of 65,536 positions x 32 bits: at least 0.001 bit each, 52 kB at the least
    data = _header_bytes(header, 0) + bytes(400)
    with pytest.raises(CodecError, match="400 payload bytes cannot hold the 419,430,400 bits"):
        unpack(data)


def test_a_cut_range_coded_file_is_refused_whole():
    header = _header("range")
    data = pack(header, _codes(header))
    for cut in (data[:-4], data[: 29 + 4]):
        with pytest.raises(CodecError, match="corrupt or truncated .klc file|corrupt .klc payload"):  # fmt: skip
            unpack(cut, partial=True)


def test_describe_lists_every_field_once():
    header = _header("lzma", partial=5)
    data = pack(header, _codes(header))
    info = fileformat.describe(data)
    checksum = zlib.crc32(_raw(_codes(header), header))
    assert info == {
        "format version": 3,
        "size": f"{len(data)} bytes",
        "real bpp": f"{8 * len(data) / (40 * 56):.4f}",
        "height": 40,
        "width": 56,
        "channels": 3,
        "whole iterations": 3,
        "entropy stage": "lzma",
        "bits": 8,
        "stride": 16,
        "fingerprint": "0102030405060708",
        "partial iteration blocks": "5 of 12",
        "checksum": f"{checksum:08x}",
    }


# Whole messages and exact boundaries: what a one-character change to the code would move.


def _whole(message):
    return "^" + re.escape(message) + "$"


def test_the_strongest_settings_of_each_general_purpose_stage():
    header = _header("zlib")
    codes = _codes(header)
    raw = _raw(codes, header)
    assert pack(header, codes)[29:] == zlib.compress(raw, 9)
    lzma_header = _header("lzma")
    assert pack(lzma_header, codes)[29:] == lzma.compress(raw, preset=9 | lzma.PRESET_EXTREME)


def test_headers_of_exactly_the_minimum_length_are_read():
    v1 = struct.pack(">3sBHHBBBBB8s", b"KLC", 1, 40, 56, 3, 2, 0, 8, 16, FINGERPRINT)
    assert len(v1) == 21 and read_header(v1).iterations == 2
    v2 = fileformat._HEADER.pack(b"KLC", 2, 40, 56, 3, 2, 0, 8, 16, FINGERPRINT, 0, 7)
    assert len(v2) == 29 and read_header(v2).checksum == 7
    with pytest.raises(CodecError, match=_whole("not a .klc file: 28 bytes, shorter than the 29-byte header")):  # fmt: skip
        read_header(v2[:28])
    with pytest.raises(CodecError, match=_whole("not a .klc file: 20 bytes, shorter than the 21-byte header")):  # fmt: skip
        read_header(v1[:20])


def test_refusals_say_everything_they_mean():
    corrupt = "corrupt .klc header (impossible size, channel count or lossless stage)"
    with pytest.raises(CodecError, match=_whole(corrupt)):
        read_header(fileformat._HEADER.pack(b"KLC", 2, 40, 56, 2, 3, 0, 8, 16, FINGERPRINT, 0, 0))
    with fileformat_limit(40 * 56 - 1):
        message = (
            "40x56 image (2,240 pixels) is above the codec's limit of 2,239 pixels, a "
            "decompression-bomb guard; if you trust it, raise "
            "keraslstm.codec.fileformat.MAX_PIXELS (or pass --max-pixels N)"
        )
        with pytest.raises(CodecError, match=_whole(message)):
            fileformat.check_pixels(40, 56)
    header = _header("range")
    data = pack(header, _codes(header))
    message = (
        "corrupt or truncated .klc file: the range-coded payload does not decode to its checksum "
        "(range-coded files decode whole or not at all; write progressive files with "
        "lossless='none', 'zlib' or 'lzma')"
    )
    with pytest.raises(CodecError, match=_whole(message)):
        unpack(data[:28] + bytes([data[28] ^ 1]) + data[29:])
    with pytest.raises(CodecError, match=_whole("truncated .klc file: the header promises 3 iterations (36 payload bytes), found 0 in an unfinished zlib stream")):  # fmt: skip
        unpack(pack(_header("zlib"), _codes(header))[:29], partial=True)
    with pytest.raises(CodecError, match=_whole("truncated .klc file: the header promises 3 iterations (36 payload bytes), found 5")):  # fmt: skip
        unpack(pack(_header(), _codes(header))[: 29 + 5], partial=True)
    with pytest.raises(CodecError, match=_whole("header says 3 iterations, got 2 bit arrays")):
        pack(_header(), _codes(header)[:2])


class fileformat_limit:  # noqa: N801  (reads as a `with` clause)
    """MAX_PIXELS set for the duration of a `with` block."""

    def __init__(self, limit):
        self.limit = limit

    def __enter__(self):
        self.saved, fileformat.MAX_PIXELS = fileformat.MAX_PIXELS, self.limit

    def __exit__(self, *exc):
        fileformat.MAX_PIXELS = self.saved


def test_the_range_stage_refuses_a_payload_below_one_bit_per_thousand(monkeypatch):
    # 800 x 800 px: 2,500 positions of 32 bits; 99 whole iterations and a partial one of all
    # 2,500 positions: 2,500 x 32 x 99 + 2,500 + 2,500 x 32 = 8,002,500 bits, at least 8,002.5
    header = _header("range", iterations=99, height=800, width=800, bits=32, partial=2500)
    reached = []

    def decoder(*args):  # the real decoder would take minutes on a payload this large
        reached.append(len(args[0]))
        raise ValueError("not a real stream")

    monkeypatch.setattr("keraslstm.codec.entropy.decode", decoder)
    message = "truncated .klc file: 1000 payload bytes cannot hold the 8,002,500 bits the header promises"  # fmt: skip
    with pytest.raises(CodecError, match=_whole(message)):
        unpack(_header_bytes(header, 0) + bytes(1000))
    with pytest.raises(CodecError, match=_whole("corrupt .klc payload: not a real stream")):
        unpack(_header_bytes(header, 0) + bytes(1001))
    assert reached == [1001]


def test_a_bomb_is_refused_without_inflating_it():
    header = _header("zlib", iterations=1)
    bomb = _header_bytes(header, 0) + zlib.compress(bytes(50_000_000), 9)  # 49 kB
    tracemalloc.start()
    try:
        with pytest.raises(CodecError, match="longer than the 12 bytes"):
            unpack(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000  # a 50 MB payload was never built


def test_an_lzma_stream_that_needs_too_much_memory_is_refused():
    """An .xz stream whose dictionary is 1.5 GiB: the decoder would reserve that much, so it is
    refused at its 128 MiB limit (the dictionary byte of a small stream, header CRC fixed)."""
    raw = _raw(_codes(_header()), _header())
    small = lzma.compress(raw, format=lzma.FORMAT_XZ, filters=[{"id": lzma.FILTER_LZMA2, "dict_size": 4096}])  # fmt: skip
    block = 12  # the block header follows the 12-byte stream header
    size = (small[block] + 1) * 4  # block header length, CRC-32 included
    body = bytearray(small[block : block + size - 4])
    properties = body.index(bytes([0x21, 0x01])) + 2  # LZMA2 filter id, 1 property byte
    body[properties] = 38  # dictionary 3 * 2^29 bytes = 1.5 GiB
    patched = small[:block] + bytes(body) + struct.pack("<I", zlib.crc32(bytes(body))) + small[block + size :]  # fmt: skip
    assert lzma.decompress(patched) == raw  # a valid stream, only its dictionary is huge
    with pytest.raises(CodecError, match="the lzma stream does not decode .*[Mm]emory"):
        unpack(_header_bytes(_header("lzma"), zlib.crc32(raw)) + patched)


@pytest.mark.parametrize("byte, name", enumerate(STAGES))
def test_each_stage_is_found_by_the_byte_its_header_stores(byte, name):
    header = _header(name)
    data = pack(header, _codes(header))
    assert data[10] == byte  # magic 3, version 1, height 2, width 2, channels 1, iterations 1
    assert fileformat.STAGES[byte].name == name == read_header(data).lossless
    assert fileformat.stage_named(name) is fileformat.STAGES[byte]


def test_an_unknown_stage_name_is_refused_with_the_valid_ones():
    with pytest.raises(CodecError, match="Unknown lossless stage 'brotli'; valid: 'none', 'zlib'"):
        pack(_header("brotli"), _codes(_header()))


def test_range_priors_files_are_version_3_and_need_their_models_priors(monkeypatch):
    header = _header("range-priors", partial=5)
    codes = _codes(header)
    data = pack(header, codes)
    assert data[3] == 3 and read_header(data).version == 3
    body = data[fileformat.HEADER_SIZE :]
    stream = entropy.encode(codes, [None] * 3 + [codes[-1][..., 0] != 0], PRIORS)
    assert body == entropy.priors_digest(PRIORS) + stream  # the priors' digest, then the stream
    assert body != pack(_header("range", partial=5), codes)[fileformat.HEADER_SIZE :]
    other = PRIORS.copy()
    other[0] = (PRIORS[0] + 1) % 64
    monkeypatch.setitem(entropy.PRIORS, FINGERPRINT, entropy.check_priors(other))
    with pytest.raises(CodecError, match="starts from priors with digest .* have digest"):
        unpack(data)
    monkeypatch.delitem(entropy.PRIORS, FINGERPRINT)
    message = "^this file's range coder starts from the priors of model 0102030405060708, and none are loaded"
    with pytest.raises(CodecError, match=message):
        unpack(data)
    with pytest.raises(CodecError, match=message):
        pack(header, codes)


def test_a_version_2_range_file_still_reads():
    header = _header("range", partial=5)
    codes = _codes(header)
    body = pack(header, codes)[fileformat.HEADER_SIZE :]
    read, decoded = unpack(_header_bytes(header, zlib.crc32(_raw(codes, header)), version=2) + body)
    assert read.version == 2 and read.lossless == "range"
    _assert_codes_equal(decoded, codes)
