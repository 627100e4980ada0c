"""The LSTM image codec of notebook 05 (seed 004): model, `.klc` files, and the CLI.

    from keraslstm.codec import compress, decompress
    data = compress(image, bpp=0.25)   # bytes of a .klc file, pretrained weights by default
    image = decompress(data)           # uint8

Command line: `python -m keraslstm.codec --help`.
"""

from keraslstm.codec.api import compress, decompress, encode_progressive, read_image, real_bpp
from keraslstm.codec.fileformat import CodecError
from keraslstm.codec.model import ConvLSTMDecoder, RecoveryBlock, ResidualLSTMCodec
from keraslstm.codec.weights import load_model, save_model

__all__ = [
    "CodecError",
    "ConvLSTMDecoder",
    "RecoveryBlock",
    "ResidualLSTMCodec",
    "compress",
    "decompress",
    "encode_progressive",
    "load_model",
    "read_image",
    "real_bpp",
    "save_model",
]
