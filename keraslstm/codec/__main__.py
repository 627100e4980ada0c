"""Command line of the LSTM image codec: compress, decompress, evaluate, train.

python -m keraslstm.codec compress IN.png OUT.klc --bpp 0.25
python -m keraslstm.codec decompress IN.klc OUT.png [--partial]
python -m keraslstm.codec evaluate FOLDER|bundled [--bpp 0.125 0.25 0.5 1 2]
python -m keraslstm.codec train --steps N --data bundled|FOLDER|tfds:NAME --out W.weights.h5
"""

import argparse
import sys
import warnings
from pathlib import Path

from keraslstm.codec import fileformat
from keraslstm.codec.fileformat import CodecError


def _compress(args):
    from keraslstm.codec.api import compress, read_image, real_bpp
    from keraslstm.codec.weights import load_model

    image = read_image(args.input)
    data = compress(
        image,
        bpp=args.bpp,
        iterations=args.iterations,
        model=load_model(args.weights),
        lossless=args.lossless,
    )
    Path(args.output).write_bytes(data)
    print(f"{args.output}: {len(data)} bytes, {real_bpp(data, *image.shape[:2]):.4f} bpp")


def _decompress(args):
    from keraslstm.codec.api import decompress, write_image
    from keraslstm.codec.weights import load_model

    data = Path(args.input).read_bytes()
    write_image(args.output, decompress(data, model=load_model(args.weights), partial=args.partial))
    print(f"{args.output}: decoded {args.input}")


def _evaluate(args):
    from keraslstm.codec.evaluation import evaluate, format_table

    rows = evaluate(args.folder, bpps=args.bpp, model_path=args.weights)
    print(format_table(rows))


def _train(args):
    import keras

    from keraslstm.codec.model import ResidualLSTMCodec
    from keraslstm.codec.training import train, training_images

    config = dict(
        iterations=args.iterations, encoder_filters=args.encoder_filters, decoder_filters=args.decoder_filters,
        gate=args.gate, decoder=args.decoder, loss=args.loss, seed=args.seed,
    )  # fmt: skip
    keras.utils.set_random_seed(args.seed)  # the same initial weights for the same seed
    images = training_images(args.data)
    command = "python -m keraslstm.codec " + " ".join(sys.argv[1:])
    _, losses = train(ResidualLSTMCodec(**config), images, args.steps, args.out, batch_size=args.batch_size,
                      seed=args.seed, data=args.data, command=command)  # fmt: skip
    print(
        f"wrote {args.out}; final loss {losses[-1]:.4f}"
        if len(losses)
        else f"{args.out} was already trained"
    )


def parser():
    p = argparse.ArgumentParser(
        prog="python -m keraslstm.codec", description="LSTM image codec (seed 004)"
    )
    p.add_argument(
        "--weights", default=None, help="a .weights.h5 file (default: the shipped weights)"
    )
    p.add_argument(
        "--max-pixels",
        type=int,
        default=None,
        help="largest image (width x height) to code or decode; default 4096 x 4096, a guard "
        "against decompression bombs like Pillow's MAX_IMAGE_PIXELS",
    )
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("compress", help="image -> .klc")
    c.add_argument("input")
    c.add_argument("output")
    rate = c.add_mutually_exclusive_group(required=True)
    rate.add_argument("--bpp", type=float, help="largest real bits per pixel of the file")
    rate.add_argument("--iterations", type=int, help="number of iterations (0.125 bpp each)")
    c.add_argument("--lossless", default="auto", choices=["auto", "none", "zlib", "lzma"])
    c.set_defaults(run=_compress)
    d = sub.add_parser("decompress", help=".klc -> image")
    d.add_argument("input")
    d.add_argument("output")
    d.add_argument(
        "--partial",
        action="store_true",
        help="decode the whole iterations a cut file holds (any lossless stage: a cut zlib or "
        "lzma stream yields its bytes up to the cut)",
    )
    d.set_defaults(run=_decompress)
    e = sub.add_parser("evaluate", help="rate-distortion table against JPEG, WebP and JPEG 2000")
    e.add_argument(
        "folder", help="a folder of images, or 'bundled' for the held-out package photos"
    )
    e.add_argument("--bpp", type=float, nargs="+", default=[0.125, 0.25, 0.5, 1.0, 2.0])
    e.set_defaults(run=_evaluate)
    t = sub.add_parser("train", help="train weights on random 32x32 crops")
    t.add_argument("--steps", type=int, required=True)
    t.add_argument("--data", default="bundled", help="bundled, a folder of images, or tfds:NAME")
    t.add_argument(
        "--out",
        required=True,
        help="output .weights.h5 (a .ckpt.keras beside it makes runs resumable)",
    )
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--iterations", type=int, default=16)
    t.add_argument("--encoder-filters", type=int, nargs=4, default=[64, 256, 512, 512])
    t.add_argument("--decoder-filters", type=int, nargs=4, default=[512, 512, 256, 128])
    t.add_argument("--gate", default="hard_sigmoid", choices=["hard_sigmoid", "sigmoid"])
    t.add_argument("--decoder", default="depth_to_space", choices=["depth_to_space", "recovery"])
    t.add_argument("--loss", default="l1", choices=["l1", "smooth_l1"])
    t.add_argument("--seed", type=int, default=0)
    t.set_defaults(run=_train)
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    warnings.simplefilter("once")
    if args.max_pixels is not None:
        fileformat.MAX_PIXELS = args.max_pixels
    try:
        args.run(args)
    except FileNotFoundError as error:
        print(f"error: no such file: {error.filename or error}", file=sys.stderr)
        return 2
    except (CodecError, IsADirectoryError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
