"""The `.klc` file format: a fixed header, then the bits of every iteration in order.

Header (21 bytes, big-endian): magic `KLC`, version, height, width, channels (1 or 3),
iterations, lossless stage (0 none, 1 zlib, 2 lzma), bits per code position, stride (pixels per
code position along a side), and the 8-byte fingerprint of the model that wrote it. The payload
is the packed sign bits of iteration 1, then 2, ...; the lossless stage (if any) wraps the whole
payload as one stream, which still decodes from a prefix. A payload that stops after k whole
iterations is a valid lower-quality image when read with `partial=True` (progressive decoding).
"""

import lzma
import struct
import zlib
from dataclasses import dataclass

import numpy as np

__all__ = ["CodecError", "Header", "VERSION", "LOSSLESS", "pack", "unpack", "iteration_bytes"]

MAGIC = b"KLC"
VERSION = 1
LOSSLESS = ("none", "zlib", "lzma")
_HEADER = struct.Struct(">3sBHHBBBBB8s")


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


def _read_header(data):
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
    return Header(
        height, width, channels, iterations, LOSSLESS[lossless], bits, stride, fingerprint
    )


def _inflate(header, payload):
    """(raw payload, whether the stream was complete); a truncated lossless stream decodes in part."""
    try:
        if header.lossless == "zlib":
            inflater = zlib.decompressobj()
            return inflater.decompress(payload), inflater.eof
        if header.lossless == "lzma":
            inflater = lzma.LZMADecompressor()
            return inflater.decompress(payload), inflater.eof
    except (zlib.error, lzma.LZMAError) as error:
        raise CodecError(
            f"corrupt .klc payload: the {header.lossless} stream does not decode ({error})"
        ) from None
    return payload, True


def unpack(data, partial=False):
    """(header, list of {-1, +1} arrays, one per iteration) from a file's bytes.

    A payload shorter than the header promises is an error, unless `partial`: then the complete
    iterations present are returned (at least one), and the header's count is updated.
    """
    data = bytes(data)
    header = _read_header(data)
    payload, stream_complete = _inflate(header, data[_HEADER.size :])
    size = iteration_bytes(header)
    expected = size * header.iterations
    if len(payload) > expected:
        raise CodecError(
            f"corrupt .klc file: {len(payload) - expected} bytes more than {header.iterations} iterations hold"
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
