"""Continue training the shipped codec in chunks, logging held-out MS-SSIM (issue 11, section 4).

Each call trains at most `--minutes` of training time (a resumable chunk: run it again to go on),
starting from the shipped weights, and every `--every` steps appends a point to
`results/codec_learning_curve.json`: step, hours of training in all, hardware, and the held-out
MS-SSIM after 2 iterations (0.25 bpp before lossless coding) and 8 iterations (1 bpp); the
weights at each point go to `--dir` as `<loss>-<step>.weights.h5`.
`--loss balanced` trains `BalancedLossCodec` instead (the late-iteration A/B), logged as its
own run.

    flock /tmp/keraslstm-heavy.lock nice -n 10 python benchmarks/codec_learning_curve.py \
        --steps 4000 --minutes 10 --dir /tmp/codec-runs
"""

import argparse
import json
import os
import platform
import sys
from pathlib import Path

import numpy as np

from keraslstm import config  # silences TensorFlow's C++ log lines before keras loads
from keraslstm.codec.model import BalancedLossCodec, ResidualLSTMCodec
from keraslstm.codec.training import held_out_quality, train, training_images
from keraslstm.codec.weights import DEFAULT_WEIGHTS, load_model, model_info, save_model
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
    return f"{os.cpu_count()} CPU cores ({name}), shared with other jobs, nice 10, {config.keras.backend.backend()} backend"


def point(model, step, seconds):
    quality = held_out_quality(model, (2, 8))
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
    parser.add_argument("--every", type=int, default=250, help="steps between curve points")
    parser.add_argument("--loss", default="l1", choices=["l1", "balanced"])
    parser.add_argument("--dir", required=True, help="folder for the run's weights/checkpoints")
    parser.add_argument("--curve", default=str(CURVE), help="the JSON file of curve points")
    parser.add_argument("--start", default=str(DEFAULT_WEIGHTS), help="weights to start from")
    args = parser.parse_args()
    path = Path(args.curve)
    curve = json.loads(path.read_text()) if path.exists() else {"runs": {}}
    curve["hardware"] = hardware()
    run = curve["runs"].setdefault(args.loss, [])
    info = model_info(args.start)
    if not run:  # the starting point
        start = point(load_model(args.start), info["training"]["steps"], info["training"]["train_seconds"])  # fmt: skip
        run.append({**start, "note": f"start: {Path(args.start).name}"})

    def log(model, step, seconds):
        if step % args.every == 0 and all(p["step"] != step for p in run):
            run.append(point(model, step, seconds))
            save_model(model, Path(args.dir) / f"{args.loss}-{step}.weights.h5", steps=step)
            run.sort(key=lambda p: p["step"])
            path.write_text(json.dumps(curve, indent=1) + "\n")
            print(f"step {step}: {run[-1]['ms_ssim@0.25']:.4f} / {run[-1]['ms_ssim@1']:.4f}")

    config.keras.utils.set_random_seed(0)
    kind = BalancedLossCodec if args.loss == "balanced" else ResidualLSTMCodec
    out = os.path.join(args.dir, f"{args.loss}.weights.h5")
    command = "python benchmarks/codec_learning_curve.py " + " ".join(sys.argv[1:])
    train(kind(**info["config"]), training_images("bundled"), args.steps, out,
          checkpoint_every=args.every, resume=args.start, max_seconds=60 * args.minutes,
          on_checkpoint=log, progress=False, data="bundled", command=command)  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(curve, indent=1) + "\n")


if __name__ == "__main__":
    main()
