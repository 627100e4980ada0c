"""The `.klc` file format: a fixed header, then the bits of every iteration in order.

Version 3 (written now, whatever the stage). Header (29 bytes, big-endian): magic `KLC`,
version (3), height, width (2 bytes each), channels (1 or 3), whole iterations, entropy stage
(the byte of its `Stage` in `STAGES`: 0 none, 1 zlib, 2 lzma, 3 range, 4 range-priors), bits per
code position, stride (pixels per code position along a side), the 8-byte fingerprint of the
model that wrote it, the number of code positions (16x16 blocks) sent in a *partial* last
iteration (4 bytes; 0: none), and the CRC-32 of the raw payload (4 bytes).
The raw payload is the packed sign bits of iteration 1, 2, ..., then, if a partial iteration
follows, its block mask (one bit per code position, row-major) and the packed bits of the sent
positions only. Stage `range` codes all of it with the context-adaptive range coder of
`entropy.py` (mask first); the decoder checks the CRC, so a damaged or cut range-coded stream is
an error, never a wrong image. Stage `range-priors` (the default where the model's priors are
loaded) is the same coder with its counts starting from priors that belong to the model that
wrote the file (`entropy.PRIORS`, found by the header's fingerprint); its payload starts with
the priors' 4-byte digest, so a file never decodes with other priors. Stages none / zlib / lzma
wrap the raw payload as one stream; a cut stream still yields the bytes it holds (zlib and xz
both decode up to the cut, less a few bytes of lookahead), and a payload that stops after k
whole iterations is a valid lower-quality image when read with `partial=True` (progressive
decoding).

Version 2 (still read): the same header and stages 0-3. Version 1 (still read): a 21-byte
header without the last two fields; no partial iteration.

Reading is bomb-proof: the header is checked for plausibility (pixel count at most `MAX_PIXELS`)
before any payload work, and a lossless stream is never inflated past the size the header
promises (plus one byte, to tell "too long" at once).
"""

import lzma
import struct
import zlib
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CodecError",
    "Header",
    "VERSION",
    "LOSSLESS",
    "STAGES",
    "stage_named",
    "real_bpp",
    "describe",
    "MAX_PIXELS",
    "check_pixels",
    "pack",
    "read_header",
    "unpack",
    "iteration_bytes",
]

MAGIC = b"KLC"
VERSION = 3
_HEADER_V1 = struct.Struct(">3sBHHBBBBB8s")
_HEADER = struct.Struct(">3sBHHBBBBB8sII")
HEADER_SIZE = _HEADER.size
# A range-coded bit costs at least this many bits (the model's most confident probability is
# 255.4 / 255.8); a stream shorter than that for the bits its header promises is refused before
# any decoding work, so a tiny file cannot make the decoder run for minutes.
_MIN_BITS_PER_BIT = 0.001

# A decompression-bomb guard like Pillow's `Image.MAX_IMAGE_PIXELS`: larger images are refused
# by compress and decompress. Raise it (or set None) with `keraslstm.codec.fileformat.MAX_PIXELS
# = N`, or `--max-pixels N` on the command line.
MAX_PIXELS = 4096 * 4096
# Memory the lzma decoder may take (preset 9 needs about 65 MiB for its dictionary).
_LZMA_MEMLIMIT = 128 << 20


class CodecError(ValueError):
    """A `.klc` file or a request that the codec cannot honour; the message says why."""


@dataclass(frozen=True)
class Header:
    height: int
    width: int
    channels: int
    iterations: int
    lossless: str
    bits: int
    stride: int
    fingerprint: bytes
    partial: int = 0  # code positions sent in a partial last iteration (0: none)
    checksum: int = 0  # CRC-32 of the raw payload (version 2 on)
    version: int = VERSION

    @property
    def code_shape(self):
        """(rows, columns, bits) of one iteration's code, for the padded image."""
        return (-(-self.height // self.stride), -(-self.width // self.stride), self.bits)

    @property
    def positions(self):
        return self.code_shape[0] * self.code_shape[1]


def iteration_bytes(header):
    """Bytes of one iteration's packed bits."""
    return -(-int(np.prod(header.code_shape)) // 8)


def _raw_payload(header, codes):
    """Packed bits of the whole iterations, then the partial one's mask and sent bits."""
    whole = [
        np.packbits(np.asarray(b).reshape(header.code_shape) > 0).tobytes()
        for b in codes[: header.iterations]
    ]
    if not header.partial:
        return b"".join(whole)
    last = np.asarray(codes[-1]).reshape(header.code_shape)
    mask = last[..., 0] != 0
    return b"".join([*whole, np.packbits(mask).tobytes(), np.packbits(last[mask] > 0).tobytes()])


def pack(header, iterations_bits, coded=None):
    """The file's bytes: header, then the iterations' {-1, +1} arrays, coded by `header.lossless`.

    With `header.partial` > 0 the last array is the partial iteration: 0 at unsent positions,
    and exactly `header.partial` positions sent. `coded`: the range coder's stream of exactly
    these arrays (from the same starting counts), when the caller has it already (`compress`'s
    rate search), so that they are not coded twice.
    """
    expected = header.iterations + (1 if header.partial else 0)
    if len(iterations_bits) != expected:
        raise CodecError(
            f"header says {header.iterations} iterations"
            + (" and a partial one" if header.partial else "")
            + f", got {len(iterations_bits)} bit arrays"
        )
    if header.partial:
        sent = int((np.asarray(iterations_bits[-1])[..., 0] != 0).sum())
        if sent != header.partial:
            raise CodecError(f"header says {header.partial} sent blocks, the mask holds {sent}")
    raw = _raw_payload(header, iterations_bits)
    stage = stage_named(header.lossless)
    payload = stage.encode(header, iterations_bits, raw, coded)
    sizes = (header.height, header.width, header.channels, header.iterations, stage.byte)
    model = (header.bits, header.stride, header.fingerprint, header.partial, zlib.crc32(raw))
    return _HEADER.pack(MAGIC, VERSION, *sizes, *model) + payload


def check_pixels(height, width):
    """Refuse an image above `MAX_PIXELS` with an error that names the limit and how to raise it."""
    if MAX_PIXELS is not None and height * width > MAX_PIXELS:
        raise CodecError(
            f"{height}x{width} image ({height * width:,} pixels) is above the codec's limit of "
            f"{MAX_PIXELS:,} pixels, a decompression-bomb guard; if you trust it, raise "
            "keraslstm.codec.fileformat.MAX_PIXELS (or pass --max-pixels N)"
        )


def read_header(data):
    """The `Header` at the start of a file's bytes, checked for plausibility (no payload work)."""
    if len(data) < _HEADER_V1.size:
        raise CodecError(
            f"not a .klc file: {len(data)} bytes, shorter than the {_HEADER_V1.size}-byte header"
        )
    if data[:3] != MAGIC:
        raise CodecError(f"not a .klc file: it starts with {bytes(data[:3])!r}, not {MAGIC!r}")
    version = data[3]
    if version not in (1, 2, 3):
        raise CodecError(f"unknown .klc version {version}; this keraslstm reads versions 1 to 3")
    if version == 1:
        fields, (partial, checksum) = _HEADER_V1.unpack(data[: _HEADER_V1.size]), (0, 0)
    elif len(data) < _HEADER.size:
        raise CodecError(
            f"not a .klc file: {len(data)} bytes, shorter than the {_HEADER.size}-byte header"
        )
    else:
        *fields, partial, checksum = _HEADER.unpack(data[: _HEADER.size])
    _, _, height, width, channels, iterations, byte, bits, stride, fingerprint = fields
    stage = STAGES.get(byte)
    if (
        stage is None
        or version < stage.since_version
        or channels not in (1, 3)
        or 0 in (height, width, bits, stride)
        or (iterations == 0 and not partial)
    ):
        raise CodecError("corrupt .klc header (impossible size, channel count or lossless stage)")
    check_pixels(height, width)
    header = Header(
        height,
        width,
        channels,
        iterations,
        stage.name,
        bits,
        stride,
        fingerprint,
        partial,
        checksum,
        version,
    )
    if partial > header.positions:
        raise CodecError(
            f"corrupt .klc header: {partial} sent blocks in the partial iteration, the image has "
            f"{header.positions}"
        )
    return header


def header_size(header):
    return _HEADER_V1.size if header.version == 1 else _HEADER.size


def real_bpp(data, height, width):
    """Bits per pixel of a compressed file: its whole size in bits (header included) over the
    pixel count. The one place the codec, its command line and `describe` compute a rate."""
    return 8 * len(data) / (height * width)


# How `describe` names the Header fields whose own names would puzzle a reader of `info`.
DESCRIBED_AS = {
    "version": "format version",
    "iterations": "whole iterations",
    "lossless": "entropy stage",
    "partial": "partial iteration blocks",
}


def describe(data):
    """What a `.klc` file holds, for `info` (no model, no TensorFlow): size, real bpp and every
    `Header` field once (fingerprint and checksum in hex; `DESCRIBED_AS` renames four)."""
    import dataclasses

    header = read_header(data)
    fields = {
        "format version": header.version,
        "size": f"{len(data)} bytes",
        "real bpp": f"{real_bpp(data, header.height, header.width):.4f}",
    }
    for field in dataclasses.fields(header):
        value = getattr(header, field.name)
        if field.name == "partial":
            value = f"{value} of {header.positions}"
        elif field.name == "checksum":
            value = f"{value:08x}"
        fields[DESCRIBED_AS.get(field.name, field.name)] = (
            value.hex() if isinstance(value, bytes) else value
        )
    return fields


def _sizes(header):
    """Bytes of the raw payload's parts: one whole iteration, the mask, the partial bits."""
    if not header.partial:
        return iteration_bytes(header), 0, 0
    mask_bytes = -(-header.positions // 8)
    return iteration_bytes(header), mask_bytes, -(-header.partial * header.bits // 8)


class StreamStage:
    """A lossless stage that wraps the raw payload as one stream (none, zlib, lzma).

    A cut stream still yields the bytes it holds, so its whole iterations decode
    (progressive files). Subclasses give `name`, `byte`, `compress(raw)` and `decompressor()`
    (an object with zlib's `decompress(data, max_length)`, `eof` and `unused_data`).
    """

    since_version = 1  # the first format version that knows this stage
    overhead_bits = 0  # bits written beyond the stream that rate control sizes

    def encode(self, header, codes, raw, coded=None):
        """The file's payload for the raw payload `raw` (the codes are in it already; `coded`,
        a range-coded stream, is for the range stages)."""
        return self.compress(raw)

    def inflate(self, payload, limit):
        """(raw payload, whether the stream was complete), never more than `limit` bytes.

        A stream that would inflate past `limit` stops there, so a tiny file cannot expand
        into gigabytes.
        """
        inflater = self.decompressor()
        try:
            raw = inflater.decompress(payload, limit)
        except (zlib.error, lzma.LZMAError) as error:
            raise CodecError(
                f"corrupt .klc payload: the {self.name} stream does not decode ({error})"
            ) from None
        if inflater.eof and inflater.unused_data:
            raise CodecError(
                f"corrupt .klc file: {len(inflater.unused_data)} bytes after the end of the "
                f"{self.name} stream"
            )
        return raw, inflater.eof

    def decode(self, header, body, partial):
        """(header, the {-1, +1} arrays) of a payload; see `unpack`."""
        size, mask_size, partial_size = _sizes(header)
        expected = size * header.iterations + mask_size + partial_size
        payload, stream_complete = self.inflate(body, expected + 1)
        if len(payload) > expected:
            extra = f" ({len(body) - expected} bytes more)" if self.name == "none" else ""
            raise CodecError(
                f"corrupt .klc file: its payload is longer than the {expected} bytes that "
                f"{header.iterations} iterations hold{extra}"
            )
        complete = min(len(payload) // size, header.iterations)
        whole = len(payload) == expected and stream_complete
        if not whole and not (partial and complete >= 1):
            unfinished = "" if stream_complete else f" in an unfinished {self.name} stream"
            hint = (
                f"; pass partial=True (--partial) to decode its {complete} complete iterations"
                if complete
                else ""
            )
            raise CodecError(
                f"truncated .klc file: the header promises {header.iterations} iterations "
                f"({expected} payload bytes), found {len(payload)}{unfinished}{hint}"
            )
        if whole and header.version > 1 and zlib.crc32(payload) != header.checksum:
            raise CodecError("corrupt .klc file: its payload does not match its checksum")
        n_bits = int(np.prod(header.code_shape))
        iterations = []
        for k in range(complete):
            packed = np.frombuffer(payload[k * size : (k + 1) * size], dtype=np.uint8)
            bits = np.unpackbits(packed)[:n_bits].reshape(header.code_shape)
            iterations.append(np.where(bits, 1.0, -1.0).astype(np.float32))
        if whole and header.partial:
            iterations.append(_partial_iteration(header, payload[size * header.iterations :]))
        else:
            header = Header(**{**header.__dict__, "iterations": len(iterations), "partial": 0})
        return header, iterations


def _partial_iteration(header, tail):
    """The partial iteration's {-1, 0, +1} array from its block mask and sent bits."""
    mask_size = -(-header.positions // 8)
    mask = np.unpackbits(np.frombuffer(tail[:mask_size], np.uint8))
    mask = mask[: header.positions].reshape(header.code_shape[:2]).astype(bool)
    if mask.sum() != header.partial:
        raise CodecError(
            f"corrupt .klc file: the block mask holds {int(mask.sum())} blocks, the header "
            f"promises {header.partial}"
        )
    sent = np.unpackbits(np.frombuffer(tail[mask_size:], np.uint8))[: header.partial * header.bits]
    last = np.zeros(header.code_shape, np.float32)
    last[mask] = np.where(sent, 1.0, -1.0).reshape(-1, header.bits)
    return last


class _Uncompressed:
    """A decompressor for stage none: the payload as it is, up to the limit."""

    eof, unused_data = True, b""

    def decompress(self, payload, limit):
        return payload[:limit]


class NoStage(StreamStage):
    """Stage 0: the raw payload as it is."""

    name, byte = "none", 0

    def compress(self, raw):
        return raw

    def decompressor(self):
        return _Uncompressed()


class ZlibStage(StreamStage):
    """Stage 1: the raw payload through zlib, level 9."""

    name, byte = "zlib", 1

    def compress(self, raw):
        return zlib.compress(raw, 9)

    def decompressor(self):
        return zlib.decompressobj()


class LzmaStage(StreamStage):
    """Stage 2: the raw payload through xz (preset 9, extreme)."""

    name, byte = "lzma", 2

    def compress(self, raw):
        return lzma.compress(raw, preset=9 | lzma.PRESET_EXTREME)

    def decompressor(self):
        return lzma.LZMADecompressor(memlimit=_LZMA_MEMLIMIT)


class RangeStage:
    """Stage 3 (format version 2 on): the codes through the context-adaptive range coder of
    `entropy.py`, mask first. The decoder checks the CRC, so a damaged or cut stream is an
    error, never a wrong image: range-coded files decode whole or not at all."""

    name, byte = "range", 3
    since_version = 2
    overhead_bits = 0  # bits the stage writes beyond the range-coded stream

    def priors(self, header):
        """The coder's starting counts for this file (None: zeros)."""
        return None

    def encode(self, header, codes, raw, coded=None):
        """The range-coded stream of `codes`: `coded` when the caller has coded them already."""
        from keraslstm.codec import entropy

        if coded is not None:
            return coded
        codes = [np.asarray(b).reshape(header.code_shape) for b in codes]
        partial_mask = [codes[-1][..., 0] != 0] if header.partial else []
        masks = [None] * header.iterations + partial_mask
        return entropy.encode(codes, masks, self.priors(header))

    def decode(self, header, body, partial):
        from keraslstm.codec import entropy

        bits = header.code_shape[2]
        total = header.positions * bits * header.iterations
        if header.partial:
            total += header.positions + header.partial * bits  # the mask, then the sent bits
        if 8 * len(body) < _MIN_BITS_PER_BIT * total:
            raise CodecError(
                f"truncated .klc file: {len(body)} payload bytes cannot hold the {total:,} bits "
                "the header promises"
            )
        sent = [None] * header.iterations + ([header.partial] if header.partial else [])
        priors = self.priors(header)  # a missing model's priors is not a corrupt file
        try:
            codes, _ = entropy.decode(body, header.code_shape, len(sent), sent, priors)
        except (ValueError, RuntimeError, AssertionError) as error:  # constriction asserts
            raise CodecError(f"corrupt .klc payload: {error}") from None
        if zlib.crc32(_raw_payload(header, codes)) != header.checksum:
            raise CodecError(
                "corrupt or truncated .klc file: the range-coded payload does not decode to its "
                "checksum (range-coded files decode whole or not at all; write progressive files "
                "with lossless='none', 'zlib' or 'lzma')"
            )
        return header, [np.asarray(c, np.float32) for c in codes]


class PriorRangeStage(RangeStage):
    """Stage 4 (format version 3 on): stage 3 with the coder's counts starting from the priors
    of the model that wrote the file (`entropy.PRIORS`, by the header's fingerprint; they ship
    beside its weights), so the first bits of a small file are not spent teaching the coder."""

    name, byte = "range-priors", 4
    since_version = 3
    overhead_bits = 32  # the priors' digest, first: a file never decodes with other priors

    def priors(self, header):
        from keraslstm.codec import entropy

        priors = entropy.PRIORS.get(bytes(header.fingerprint))
        if priors is None:
            raise CodecError(
                f"this file's range coder starts from the priors of model "
                f"{header.fingerprint.hex()}, and none are loaded for it: load that model's "
                "weights with the .priors.npy file that ships beside them"
            )
        return priors

    def encode(self, header, codes, raw, coded=None):
        from keraslstm.codec import entropy

        digest = entropy.priors_digest(self.priors(header))
        return digest + super().encode(header, codes, raw, coded)

    def decode(self, header, body, partial):
        from keraslstm.codec import entropy

        loaded = entropy.priors_digest(self.priors(header))
        if body[:4] != loaded:
            raise CodecError(
                f"this file's range coder starts from priors with digest {body[:4].hex()}, but "
                f"those loaded for model {header.fingerprint.hex()} have digest {loaded.hex()}: "
                "load the .priors.npy the file was written with"
            )
        return super().decode(header, body[4:], partial)


# The lossless stages by the byte that the header stores; a new stage is one class here.
STAGES = {
    stage.byte: stage
    for stage in (NoStage(), ZlibStage(), LzmaStage(), RangeStage(), PriorRangeStage())
}
LOSSLESS = tuple(stage.name for _, stage in sorted(STAGES.items()))


def stage_named(name):
    """The `STAGES` entry called `name`, or a CodecError that lists the valid names."""
    for stage in STAGES.values():
        if stage.name == name:
            return stage
    raise CodecError(f"Unknown lossless stage {name!r}; valid: {', '.join(map(repr, LOSSLESS))}")


def unpack(data, partial=False):
    """(header, list of {-1, +1} arrays, one per iteration) from a file's bytes.

    A partial last iteration (`header.partial` > 0) comes last, with 0 at unsent positions.
    A payload shorter than the header promises is an error, unless `partial` and the stage is
    none / zlib / lzma: then the complete whole iterations present are returned (at least one),
    and the header's count is updated.
    """
    data = bytes(data)
    header = read_header(data)
    return stage_named(header.lossless).decode(header, data[header_size(header) :], partial)
