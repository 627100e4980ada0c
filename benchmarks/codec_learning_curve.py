"""Continue training the shipped codec in chunks, logging held-out MS-SSIM (issues 11 and 21).

Each call trains at most `--minutes` of training time (a resumable chunk: run it again to go on),
starting from the shipped weights (or `--start`), and every `--every` steps appends a point to
`results/codec_learning_curve.json`: step, hours of training in all, hardware, and the held-out
MS-SSIM after 2 iterations (0.25 bpp before lossless coding) and 8 iterations (1 bpp), per photo;
the weights at each point go to `--dir` as `<run>-<step>.weights.h5`.

A run is one set of levers, named after them unless `--name` says otherwise: `--loss balanced`
(`BalancedLossCodec`) or `ms_ssim_l1` (MS-SSIM mixed with L1, on `--crop 48` or larger),
`--gain learned` (a gain per iteration, starting at 1 from weights trained without one),
`--gate sigmoid`, `--decoder-hidden-kernels 1 1 1 1` (the decoder's hidden-state kernels, from
the start's 3x3 ones summed over their taps), `--data DIR` (the Debian training photos). `--held-out all` scores the 3
bundled and the 6 Debian held-out photos; `bundled` (the default, as the first runs) the 3.

    nice -n 10 python benchmarks/codec_learning_curve.py --steps 4000 --minutes 10 \
        --dir /tmp/codec-runs --data photos/ --loss ms_ssim_l1 --crop 48 --held-out all
"""

import keraslstm  # noqa: F401  first: it silences TensorFlow's C++ start-up lines

# isort: split
import argparse
import json
import os
import platform
import sys
from pathlib import Path

import keras
import numpy as np

from keraslstm import data
from keraslstm.codec.fileformat import CodecError
from keraslstm.codec.model import CODEC_LOSSES, BalancedLossCodec, ResidualLSTMCodec
from keraslstm.codec.training import (
    held_out_quality,
    start_from_weights,
    train,
    training_crop,
    training_images,
)
from keraslstm.codec.weights import DEFAULT_WEIGHTS, model_info, save_model
from keraslstm.results import results_dir

CURVE = results_dir(quick=False) / "codec_learning_curve.json"


def hardware():
    name = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPU cores ({name}), shared with other jobs, {keras.backend.backend()} backend"


def held_out(which):
    photos = dict(data.photos("test"))
    if which == "all":
        photos.update(data.photos("debian test"))
    return photos


def run_name(args):
    """The run's name in the curve file: its levers, e.g. `ms_ssim_l1+gain+sigmoid+photos`."""
    if args.name:
        return args.name
    parts = [args.loss]
    parts += ["gain"] if args.gain else []
    parts += [args.gate] if args.gate else []
    kernels = args.decoder_hidden_kernels
    parts += ["hidden " + "".join(map(str, kernels))] if kernels else []
    parts += [Path(args.data).name] if args.data != "bundled" else []
    parts += ["9 photos"] if args.held_out == "all" else []
    return "+".join(parts)


def point(model, step, seconds, photos):
    quality = held_out_quality(model, (2, 8), photos)
    return {
        "step": int(step),
        "hours": round(seconds / 3600, 4),
        "ms_ssim@0.25": float(np.mean(list(quality[2].values()))),
        "ms_ssim@1": float(np.mean(list(quality[8].values()))),
        "per_photo@0.25": quality[2],
        "per_photo@1": quality[8],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, required=True, help="step to train up to (in all)")
    parser.add_argument("--minutes", type=float, default=10.0, help="training time this chunk")
    parser.add_argument("--every", type=int, default=500, help="steps between curve points")
    parser.add_argument("--loss", default="l1", choices=[*CODEC_LOSSES, "balanced"])
    parser.add_argument("--gain", choices=["learned"], help="a learned gain per iteration")
    parser.add_argument("--gate", choices=["hard_sigmoid", "sigmoid"], help="default: --start's")
    parser.add_argument(
        "--decoder-hidden-kernels", type=int, nargs=4, help="e.g. 1 1 1 1 (default: --start's)"
    )
    parser.add_argument("--data", default="bundled", help="bundled, or a folder of photos")
    parser.add_argument("--crop", type=int, help="crop side (default 32; 48 for ms_ssim_l1)")
    parser.add_argument("--held-out", default="bundled", choices=["bundled", "all"])
    parser.add_argument("--name", help="the run's name in the curve file (default: its levers)")
    parser.add_argument("--dir", required=True, help="folder for the run's weights/checkpoints")
    parser.add_argument("--curve", default=str(CURVE), help="the JSON file of curve points")
    parser.add_argument("--start", default=str(DEFAULT_WEIGHTS), help="weights to start from")
    args = parser.parse_args()
    try:
        args.crop = training_crop(args.loss, args.crop)
    except CodecError as error:
        parser.error(str(error))
    path = Path(args.curve)
    curve = json.loads(path.read_text()) if path.exists() else {"runs": {}}
    curve["hardware"] = hardware()
    name = run_name(args)
    run = curve["runs"].setdefault(name, [])
    photos = held_out(args.held_out)
    info = model_info(args.start)
    keras.utils.set_random_seed(0)
    kind = BalancedLossCodec if args.loss == "balanced" else ResidualLSTMCodec
    levers = {"loss": "l1" if args.loss == "balanced" else args.loss}
    levers.update({"gain": args.gain} if args.gain else {})
    levers.update({"gate": args.gate} if args.gate else {})
    if args.decoder_hidden_kernels:
        levers["decoder_hidden_kernels"] = args.decoder_hidden_kernels
    if not run:  # the starting point, with the levers' layers (e.g. narrower kernels) in place
        first = ResidualLSTMCodec(**{**info["config"], **levers})
        steps, seconds = start_from_weights(first, args.start)
        run.append(
            {**point(first, steps, seconds, photos), "note": f"start: {Path(args.start).name}"}
        )

    def log(model, step, seconds):
        if step % args.every == 0 and all(p["step"] != step for p in run):
            run.append(point(model, step, seconds, photos))
            save_model(model, Path(args.dir) / f"{name}-{step}.weights.h5", steps=step)
            run.sort(key=lambda p: p["step"])
            path.write_text(json.dumps(curve, indent=1) + "\n")
            print(f"{name} step {step}: {run[-1]['ms_ssim@0.25']:.4f} / {run[-1]['ms_ssim@1']:.4f}")

    out = os.path.join(args.dir, f"{name}.weights.h5")
    command = "python benchmarks/codec_learning_curve.py " + " ".join(sys.argv[1:])
    train(kind(**{**info["config"], **levers}), training_images(args.data), args.steps, out,
          crop=args.crop, checkpoint_every=args.every, resume=args.start,
          max_seconds=60 * args.minutes, on_checkpoint=log, progress=False,
          data=args.data if args.data == "bundled" else Path(args.data).name,
          command=command)  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(curve, indent=1) + "\n")


if __name__ == "__main__":
    main()
