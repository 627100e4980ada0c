"""Command line of the LSTM image codec: compress, decompress, info, evaluate, train, priors.

python -m keraslstm.codec compress IN.png OUT.klc --bpp 0.25
python -m keraslstm.codec decompress IN.klc OUT.png [--partial]
python -m keraslstm.codec info IN.klc
python -m keraslstm.codec evaluate FOLDER|bundled [--bpp 0.125 0.25 0.5 1 2]
python -m keraslstm.codec train --steps N --data bundled|FOLDER|tfds:NAME --out W.weights.h5
python -m keraslstm.codec priors --data bundled [FOLDER ...] [--weights W.weights.h5]

Only the standard library is imported here at start-up: `--help`, argument errors and `info`
never load Keras or TensorFlow; the commands that need the model import it when they run.
"""

import argparse
import inspect
import sys
import warnings
from pathlib import Path

PAPER = "Mandogade & Morghare; Toderici et al. 2017"


def _say(args, text):
    """Print `text` unless --quiet."""
    if not args.quiet:
        print(text)


class _ProgressBar:
    """A tqdm bar over an api call's tiles, shown only if the call runs past a second.

    The api functions that take a `progress` callback report `(done, total)` tiles (or one
    finished tile per call); functions without one simply run without a bar.
    """

    def __init__(self, args, description):
        self.args, self.description, self.bar = args, description, None

    def keywords(self, function):
        if self.args.quiet or "progress" not in inspect.signature(function).parameters:
            return {}
        return {"progress": self.update}

    def update(self, done=1, total=None):
        if self.bar is None:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=self.description, unit="tile", delay=1, leave=False)
        if total is None:
            self.bar.update(done)
        else:
            self.bar.total = total
            self.bar.update(done - self.bar.n)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()


def _compress(args):
    from keraslstm.codec.api import compress, read_image, real_bpp
    from keraslstm.codec.weights import load_model

    image = read_image(args.input)
    with _ProgressBar(args, "compress") as bar:
        data = compress(
            image,
            bpp=args.bpp,
            iterations=args.iterations,
            model=load_model(args.weights),
            lossless=args.lossless,
            **bar.keywords(compress),
        )
    Path(args.output).write_bytes(data)
    _say(args, f"{args.output}: {len(data)} bytes, {real_bpp(data, *image.shape[:2]):.4f} bpp")


def _decompress(args):
    from keraslstm.codec.api import decompress, write_image
    from keraslstm.codec.weights import load_model

    data = Path(args.input).read_bytes()
    with _ProgressBar(args, "decompress") as bar:
        image = decompress(
            data, model=load_model(args.weights), partial=args.partial, **bar.keywords(decompress)
        )
    write_image(args.output, image)
    _say(args, f"{args.output}: decoded {args.input}")


def _info(args):
    from keraslstm.codec.fileformat import describe

    fields = describe(Path(args.input).read_bytes())
    width = max(map(len, fields))
    lines = [f"{args.input}:"]
    for name, value in fields.items():
        lines.append(f"  {name.replace('_', ' '):<{width}}  {value}")
    _say(args, "\n".join(lines))


def _evaluate(args):
    from keraslstm.codec.evaluation import evaluate, format_table

    rows = evaluate(args.folder, bpps=args.bpp, model_path=args.weights)
    _say(args, format_table(rows))


def _train(args):
    import keras

    from keraslstm.codec.model import ResidualLSTMCodec
    from keraslstm.codec.training import train, training_crop, training_images

    crop = training_crop(args.loss, args.crop)
    config = dict(
        iterations=args.iterations,
        encoder_filters=args.encoder_filters,
        decoder_filters=args.decoder_filters,
        decoder_hidden_kernels=args.decoder_hidden_kernels,
        gate=args.gate,
        decoder=args.decoder,
        loss=args.loss,
        gain=args.gain,
        seed=args.seed,
    )
    keras.utils.set_random_seed(args.seed)  # the same initial weights for the same seed
    images = training_images(args.data)
    command = "python -m keraslstm.codec " + " ".join(sys.argv[1:])
    _, losses = train(
        ResidualLSTMCodec(**config),
        images,
        args.steps,
        args.out,
        batch_size=args.batch_size,
        crop=crop,
        seed=args.seed,
        data=args.data,
        command=command,
    )
    _say(
        args,
        f"wrote {args.out}; final loss {losses[-1]:.4f}"
        if len(losses)
        else f"{args.out} was already trained",
    )


def _priors(args):
    import json

    from keraslstm.codec.training import entropy_priors, training_images
    from keraslstm.codec.weights import DEFAULT_WEIGHTS, _sidecar, load_model, priors_path

    weights = Path(args.weights or DEFAULT_WEIGHTS)
    images = [image for source in args.data for image in training_images(source)]
    out = priors_path(weights)
    priors = entropy_priors(load_model(weights), images, args.iterations, out=out)
    # the sidecar records how the priors were made, beside how the weights were trained
    info = json.loads(_sidecar(weights).read_text())
    info["priors"] = dict(
        data=args.data,
        photos=len(images),
        iterations=args.iterations,
        contexts=int((priors.sum(axis=1) > 0).sum()),
    )
    _sidecar(weights).write_text(json.dumps(info, indent=2) + "\n")
    _say(args, f"wrote {out}: {info['priors']['contexts']} contexts from {len(images)} photos")


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: the problem and where to read the usage (exit status 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def parser():
    # --quiet works before or after the command: the command's copy only overrides when given.
    quiet = argparse.ArgumentParser(add_help=False)
    quiet.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print nothing except errors",
    )
    p = _Parser(
        prog="python -m keraslstm.codec",
        description=f"LSTM image codec ({PAPER}): a convolutional LSTM encoder, a binarizer and a "
        "decoder, run in residual iterations of 0.125 bits per pixel each.",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing except errors")
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
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    c = sub.add_parser("compress", parents=[quiet], help="image -> .klc")
    c.add_argument("input")
    c.add_argument("output")
    rate = c.add_mutually_exclusive_group(required=True)
    rate.add_argument("--bpp", type=float, help="largest real bits per pixel of the file")
    rate.add_argument("--iterations", type=int, help="number of iterations (0.125 bpp each)")
    c.add_argument(
        "--lossless",
        default="auto",
        choices=["auto", "none", "zlib", "lzma", "range", "range-priors"],
    )
    c.set_defaults(run=_compress)
    d = sub.add_parser("decompress", parents=[quiet], help=".klc -> image")
    d.add_argument("input")
    d.add_argument("output")
    d.add_argument(
        "--partial",
        action="store_true",
        help="decode the whole iterations a cut file holds (any lossless stage: a cut zlib or "
        "lzma stream yields its bytes up to the cut)",
    )
    d.set_defaults(run=_decompress)
    i = sub.add_parser(
        "info",
        parents=[quiet],
        help="what a .klc file holds: size, image, iterations, real bpp, model, version",
    )
    i.add_argument("input")
    i.set_defaults(run=_info)
    e = sub.add_parser(
        "evaluate", parents=[quiet], help="rate-distortion table against JPEG, WebP and JPEG 2000"
    )
    e.add_argument(
        "folder",
        help="a folder of images, 'bundled' (the 3 held-out package photos) or 'held-out' (those and 6 Debian)",
    )
    e.add_argument("--bpp", type=float, nargs="+", default=[0.125, 0.25, 0.5, 1.0, 2.0])
    e.set_defaults(run=_evaluate)
    t = sub.add_parser("train", parents=[quiet], help="train weights on random crops")
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
    t.add_argument(
        "--decoder-hidden-kernels",
        type=int,
        nargs=4,
        default=[1, 1, 3, 3],  # Toderici's, model.DECODER_HIDDEN_KERNELS (no Keras import here)
        help="the decoder's hidden-state kernels (the shipped codec: 1 1 1 1)",
    )
    t.add_argument("--gate", default="hard_sigmoid", choices=["hard_sigmoid", "sigmoid"])
    t.add_argument("--decoder", default="depth_to_space", choices=["depth_to_space", "recovery"])
    t.add_argument("--loss", default="l1", choices=["l1", "smooth_l1", "ms_ssim_l1"])
    t.add_argument("--gain", choices=["learned"], help="a learned gain per iteration")
    t.add_argument("--crop", type=int, help="crop side (default 32; 48 for --loss ms_ssim_l1)")
    t.add_argument("--seed", type=int, default=0)
    t.set_defaults(run=_train)
    r = sub.add_parser(
        "priors",
        parents=[quiet],
        help="the range coder's priors for the weights (--weights), from training photos",
    )
    r.add_argument("--data", nargs="+", default=["bundled"], help="bundled and/or folders")
    r.add_argument("--iterations", type=int, default=8, help="iterations of codes counted")
    r.set_defaults(run=_priors)
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    from keraslstm.codec import fileformat  # NumPy only

    if args.command != "info":
        import keraslstm.config  # noqa: F401  before Keras: keeps TensorFlow's C++ log lines away

    warnings.simplefilter("ignore" if args.quiet else "once")
    if args.max_pixels is not None:
        fileformat.MAX_PIXELS = args.max_pixels
    try:
        args.run(args)
    except FileNotFoundError as error:
        print(f"error: no such file: {error.filename or error}", file=sys.stderr)
        return 2
    except (fileformat.CodecError, IsADirectoryError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
