"""The gate experiment (issue 21, item 1): the codec with the paper's hard sigmoid and with the
standard sigmoid, trained equally from scratch over several seeds, in resumable chunks.

Every arm (gate x seed) has the shipped codec's widths with Toderici's hidden-state kernels in the
decoder (3x3 in its last two ConvLSTMs, as the shipped codec had until step 5,500 and every arm so
far) and sees the same crops for the same seed.
Each call trains each arm that has not reached `--steps` for at most `--minutes` (round robin:
call it again to go on) and every `--every` steps appends a point to `results/codec_gates.json`:
seconds trained, the held-out error and MS-SSIM after every iteration
(`codec.training.iteration_profile`) and the share of saturated gates per layer and iteration
(`codec.training.gate_saturation`). `--timing ROUNDS` instead times one training step of each
gate, fresh models on the same batch, in interleaved rounds (the step-time claim).

    nice -n 10 python benchmarks/codec_gates.py --data DIR --steps 1000 --minutes 10 \\
        --dir /tmp/codec-gates
"""

import keraslstm  # noqa: F401  first: it silences TensorFlow's C++ start-up lines

# isort: split
import argparse
import json
import os
import sys
from pathlib import Path

import keras

from keraslstm import data, timing
from keraslstm.codec.model import DECODER_HIDDEN_KERNELS, ResidualLSTMCodec
from keraslstm.codec.training import gate_saturation, iteration_profile, train, training_images
from keraslstm.codec.weights import DEFAULT_WEIGHTS, model_info
from keraslstm.results import results_dir

RESULTS = results_dir(quick=False) / "codec_gates.json"
GATES = ("hard_sigmoid", "sigmoid")


def codec(gate, seed):
    """A fresh codec of the shipped widths with Toderici's hidden kernels, `gate` and the L1 loss
    (as every arm so far), its weights drawn from `seed`."""
    keras.utils.set_random_seed(seed)
    shape = {**model_info(DEFAULT_WEIGHTS)["config"], "gate": gate, "seed": seed, "loss": "l1",
             "decoder_hidden_kernels": DECODER_HIDDEN_KERNELS}  # fmt: skip
    return ResidualLSTMCodec(**shape)


def point(model, step, seconds):
    rows = iteration_profile(model)
    return {
        "step": int(step),
        "seconds": round(float(seconds), 1),
        "error": [round(float(r["error"]), 5) for r in rows],
        "ms_ssim": [round(float(r["ms_ssim"]), 5) for r in rows],
        "saturated": gate_saturation(model),
    }


def save(results, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1) + "\n")


def train_arms(args, results, path):
    images = training_images(args.data)
    results.setdefault("setup", {}).update(
        data=args.data if args.data == "bundled" else Path(args.data).name,
        photos=len(images),
        held_out=list(data.PHOTO_SPLITS["test"]),
        command="python benchmarks/codec_gates.py " + " ".join(sys.argv[1:]),
        hardware=f"{os.cpu_count()} CPU cores, shared with other jobs, {keras.backend.backend()}",
        config={k: v for k, v in codec(GATES[0], 0).get_config().items() if k not in ("name", "trainable", "dtype", "gate", "seed")},
    )  # fmt: skip
    arms = results.setdefault("arms", {})
    for seed in args.seeds:
        for gate in GATES:
            name = f"{gate}/seed{seed}"
            run = arms.setdefault(name, [])
            if run and run[-1]["step"] >= args.steps:
                continue
            model = codec(gate, seed)
            if not run:
                model.build((None, 32, 32, 3))
                run.append(point(model, 0, 0.0))
                save(results, path)

            def log(model, step, seconds, run=run, name=name):
                if step % args.every == 0 or step == args.steps:
                    if all(p["step"] != step for p in run):
                        run.append(point(model, step, seconds))
                        save(results, path)
                        print(f"{name} step {step}: MS-SSIM after 2 / 8 / 16 iterations "
                              f"{run[-1]['ms_ssim'][1]:.4f} / {run[-1]['ms_ssim'][7]:.4f} / "
                              f"{run[-1]['ms_ssim'][-1]:.4f}", flush=True)  # fmt: skip

            out = Path(args.dir) / f"{gate}-seed{seed}.weights.h5"
            train(model, images, args.steps, out, seed=seed, checkpoint_every=args.every,
                  max_seconds=60 * args.minutes, on_checkpoint=log, progress=False)  # fmt: skip


def step_times(rounds):
    """{gate: [seconds per step, one per round]}: fresh codecs, the same batch, interleaved."""
    batch = data.random_crops(training_images("bundled"), 32, 32, seed=0)
    models = {}
    for gate in GATES:
        models[gate] = codec(gate, 0)
        models[gate].compile(keras.optimizers.Adam(5e-4))
    return timing.train_step_seconds({g: (m, batch, None) for g, m in models.items()}, rounds, 3)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="bundled", help="bundled, or a folder of photos")
    parser.add_argument("--steps", type=int, default=1000, help="step every arm trains up to")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--minutes", type=float, default=10.0, help="training time per arm")
    parser.add_argument("--every", type=int, default=250, help="steps between points")
    parser.add_argument("--dir", default="/tmp/codec-gates", help="the arms' checkpoints")
    parser.add_argument("--results", default=str(RESULTS), help="the JSON file of points")
    parser.add_argument("--timing", type=int, metavar="ROUNDS", help="time steps instead")
    args = parser.parse_args()
    path = Path(args.results)
    results = json.loads(path.read_text()) if path.exists() else {}
    if args.timing:
        seconds = step_times(args.timing)
        results["step_seconds"] = {gate: [round(s, 4) for s in v] for gate, v in seconds.items()}
        ratio = timing.spread(timing.ratios(seconds["hard_sigmoid"], seconds["sigmoid"]))
        print(f"hard sigmoid / sigmoid step time: {ratio}")
    else:
        train_arms(args, results, path)
    save(results, path)


if __name__ == "__main__":
    main()
