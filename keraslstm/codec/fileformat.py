"""The `.klc` file format: a fixed header, then the bits of every iteration in order.

Header (21 bytes, big-endian): magic `KLC`, version, height, width, channels (1 or 3),
iterations, lossless stage (0 none, 1 zlib, 2 lzma), bits per code position, stride (pixels per
code position along a side), and the 8-byte fingerprint of the model that wrote it. The payload
is the packed sign bits of iteration 1, then 2, ...; the lossless stage (if any) wraps the whole
payload as one stream, and a cut stream still yields the bytes it holds (zlib and xz both decode
up to the cut, less a few bytes of lookahead; a cut inside the stream's own header yields none).
A payload that stops after k whole iterations is a valid lower-quality image when read with
`partial=True` (progressive decoding).

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
    "MAX_PIXELS",
    "check_pixels",
    "pack",
    "read_header",
    "unpack",
    "iteration_bytes",
]

MAGIC = b"KLC"
VERSION = 1
LOSSLESS = ("none", "zlib", "lzma")
_HEADER = struct.Struct(">3sBHHBBBBB8s")
HEADER_SIZE = _HEADER.size

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

    @property
    def code_shape(self):
        """(rows, columns, bits) of one iteration's code, for the padded image."""
        return (-(-self.height // self.stride), -(-self.width // self.stride), self.bits)


def iteration_bytes(header):
    """Bytes of one iteration's packed bits."""
    return -(-int(np.prod(header.code_shape)) // 8)


def pack(header, iterations_bits):
    """The file's bytes: header, then each iteration's {-1, +1} array packed 8 bits a byte."""
    if len(iterations_bits) != header.iterations:
        raise CodecError(
            f"header says {header.iterations} iterations, got {len(iterations_bits)} bit arrays"
        )
    payload = b"".join(
        np.packbits(np.asarray(b).reshape(header.code_shape) > 0).tobytes() for b in iterations_bits
    )
    if header.lossless == "zlib":
        payload = zlib.compress(payload, 9)
    elif header.lossless == "lzma":
        payload = lzma.compress(payload, preset=9 | lzma.PRESET_EXTREME)
    fields = (MAGIC, VERSION, header.height, header.width, header.channels, header.iterations,
              LOSSLESS.index(header.lossless), header.bits, header.stride, header.fingerprint)  # fmt: skip
    return _HEADER.pack(*fields) + payload


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
    if len(data) < _HEADER.size:
        raise CodecError(
            f"not a .klc file: {len(data)} bytes, shorter than the {_HEADER.size}-byte header"
        )
    magic, version, height, width, channels, iterations, lossless, bits, stride, fingerprint = (
        _HEADER.unpack(data[: _HEADER.size])
    )
    if magic != MAGIC:
        raise CodecError(f"not a .klc file: it starts with {magic!r}, not {MAGIC!r}")
    if version != VERSION:
        raise CodecError(f"unknown .klc version {version}; this keraslstm reads version {VERSION}")
    if (
        lossless >= len(LOSSLESS)
        or channels not in (1, 3)
        or 0 in (height, width, iterations, bits, stride)
    ):
        raise CodecError("corrupt .klc header (impossible size, channel count or lossless stage)")
    check_pixels(height, width)
    return Header(
        height, width, channels, iterations, LOSSLESS[lossless], bits, stride, fingerprint
    )


def _inflate(header, payload, limit):
    """(raw payload, whether the stream was complete), never more than `limit` bytes of output.

    A truncated lossless stream decodes in part; a stream that would inflate past `limit` stops
    there, so a tiny file cannot expand into gigabytes.
    """
    if header.lossless == "none":
        return payload[:limit], True
    try:
        if header.lossless == "zlib":
            inflater = zlib.decompressobj()
        else:
            inflater = lzma.LZMADecompressor(memlimit=_LZMA_MEMLIMIT)
        raw = inflater.decompress(payload, limit)
    except (zlib.error, lzma.LZMAError) as error:
        raise CodecError(
            f"corrupt .klc payload: the {header.lossless} stream does not decode ({error})"
        ) from None
    if inflater.eof and inflater.unused_data:
        raise CodecError(
            f"corrupt .klc file: {len(inflater.unused_data)} bytes after the end of the "
            f"{header.lossless} stream"
        )
    return raw, inflater.eof


def unpack(data, partial=False):
    """(header, list of {-1, +1} arrays, one per iteration) from a file's bytes.

    A payload shorter than the header promises is an error, unless `partial`: then the complete
    iterations present are returned (at least one), and the header's count is updated.
    """
    data = bytes(data)
    header = read_header(data)
    size = iteration_bytes(header)
    expected = size * header.iterations
    payload, stream_complete = _inflate(header, data[_HEADER.size :], expected + 1)
    if len(payload) > expected:
        extra = len(data) - _HEADER.size - expected
        raise CodecError(
            f"corrupt .klc file: its payload is longer than the {expected} bytes that "
            f"{header.iterations} iterations hold"
            + (f" ({extra} bytes more)" if header.lossless == "none" else "")
        )
    complete = len(payload) // size
    if (len(payload) < expected or not stream_complete) and not (partial and complete >= 1):
        hint = (
            f"; pass partial=True (--partial) to decode its {complete} complete iterations"
            if complete
            else ""
        )
        raise CodecError(
            f"truncated .klc file: the header promises {header.iterations} iterations ({expected} payload "
            f"bytes), found {len(payload)}{'' if stream_complete else f' in an unfinished {header.lossless} stream'}{hint}"
        )
    n_bits = int(np.prod(header.code_shape))
    iterations = []
    for k in range(min(complete, header.iterations)):
        packed = np.frombuffer(payload[k * size : (k + 1) * size], dtype=np.uint8)
        bits = np.unpackbits(packed)[:n_bits].reshape(header.code_shape)
        iterations.append(np.where(bits, 1.0, -1.0).astype(np.float32))
    return Header(**{**header.__dict__, "iterations": len(iterations)}), iterations
