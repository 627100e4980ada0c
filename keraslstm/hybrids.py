"""Notebook 03's two experiments (Vinay et al.), built by name, trained one seed a run and spread
over processes (`parallel.map_runs`).

Part A, frames: `PREDICTORS` next-frame predictors on bouncing digits. "ConvLSTM" and its
control "frame stack" are `frames.FramePredictor`s that differ only in their core; "one-shot CNN"
maps the 10 observed frames to the 10 next at once (`networks.cnn_predictor`).

Part B, images: `GANS` conditional GANs on digits with the same loss, optimisers, data, epochs
and batch size, each differing from another in one thing: the generator ("DCGAN", or the
"hybrid" with its row LSTM, or that "+ attention") or the discriminator (the DCGAN's, or one
that starts from the digit classifier, "+ transfer", or the same network from random weights,
"+ scratch D"). Every discriminator has the minibatch-standard-deviation channel.
"""

import json
import time
from pathlib import Path

import keras
import numpy as np

from keraslstm import frames, gan, metrics, networks, optimizers, parallel, scorers

__all__ = [
    "PREDICTORS",
    "GANS",
    "VARIANTS",
    "build_predictor",
    "control_filters",
    "train_predictor",
    "run_predictors",
    "PREDICTORS_PATH",
    "save_predictors",
    "load_predictors",
    "build_gan",
    "train_gan",
    "run_gans",
]

PREDICTORS = ("ConvLSTM", "frame stack", "one-shot CNN")
GANS = {  # name -> (generator, discriminator)
    "DCGAN": ("dcgan", "dcgan"),
    "hybrid": ("hybrid", "dcgan"),
    "hybrid + attention": ("hybrid + attention", "dcgan"),
    "hybrid + transfer": ("hybrid", "transfer"),
    "hybrid + scratch D": ("hybrid", "scratch"),
}
# The exercises' variations of a GANS model, named by a third element of a job: (name, seed, variant)
VARIANTS = {"frozen": dict(fine_tune=False), "hard sigmoid": dict(gate="hard_sigmoid")}


def _known(name, valid, kind="model"):
    if name not in valid:
        raise ValueError(f"Unknown {kind} {name!r}; valid: {', '.join(map(repr, valid))}")


def build_predictor(name, seed, side=32, input_frames=10, output_frames=10, width=16,
                    core_filters=64, cnn_width=36, learning_rate=1e-3):  # fmt: skip
    """A compiled predictor of `PREDICTORS` for `side` x `side` frames (binary cross-entropy,
    Adam with the gradient norm clipped at 1)."""
    _known(name, PREDICTORS)
    keras.utils.set_random_seed(seed)
    shape = (side, side, 1)
    if name == "one-shot CNN":
        model = networks.cnn_predictor(shape, input_frames, output_frames, width=cnn_width, depth=2)
    else:
        core = "convlstm" if name == "ConvLSTM" else "frame_stack"
        filters = core_filters if core == "convlstm" else control_filters(width, core_filters)
        model = frames.FramePredictor(shape, output_frames, width=width, core_filters=filters, core=core, observed_frames=input_frames)  # fmt: skip
        model(np.zeros((1, input_frames, *shape), "float32"))  # build: count_params works
    return optimizers.compile_built(
        model, keras.optimizers.Adam(learning_rate, clipnorm=1.0), "binary_crossentropy"
    )


def control_filters(width, core_filters, history=4):
    """The frame-stack core's filters that give it as many weights as a ConvLSTM core of
    `core_filters` (counting the upsampling layer that reads the core), so that the control has
    the ConvLSTM's budget and only the recurrence differs."""

    def weights(core, filters):
        if core == "convlstm":  # input and recurrent 3x3 kernels to 4 gates, one bias per gate
            inner = 9 * 4 * width * 4 * filters + 9 * filters * 4 * filters + 4 * filters
        else:  # two 3x3 convolutions, the first over `history` stacked feature maps
            inner = 9 * 4 * width * history * filters + 9 * filters * filters + 2 * filters
        return inner + 16 * filters * 2 * width

    target = weights("convlstm", core_filters)
    return min(range(1, 8 * core_filters), key=lambda f: abs(weights("frame_stack", f) - target))


BUILD_OPTIONS = ("side", "input_frames", "output_frames", "width", "core_filters", "cnn_width", "learning_rate")  # fmt: skip


def _targets(name, sequences, input_frames):
    # the one-shot CNN predicts the future; a FramePredictor every frame after the first
    return sequences[:, input_frames:] if name == "one-shot CNN" else sequences[:, 1:]


def train_predictor(context, name, seed):
    """One predictor on one seed (the job of `run_predictors`); returns (numbers, weights).

    The numbers: `history` (training and held-out loss per epoch), `seconds` (per epoch) and
    `sequences_per_second` (training throughput, first epoch excluded: it compiles).
    """
    train, held_out, settings = context
    inputs = settings.get("input_frames", 10)
    options = {k: v for k, v in settings.items() if k in BUILD_OPTIONS}
    model = build_predictor(name, seed, **options)
    seconds = []
    callbacks = [keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda *_: seconds.append(time.perf_counter()),
        on_epoch_end=lambda *_: seconds.__setitem__(-1, time.perf_counter() - seconds[-1]),
    )]  # fmt: skip
    epochs, batch_size = settings.get("epochs", 1), settings.get("batch_size", 16)
    x = train[:, :inputs]
    sampling = settings.get("sampling", 0.0)
    if sampling and name != "one-shot CNN":  # later true frames, fed while teacher forcing lasts
        x = train[:, :-1]
        steps = epochs * -(-len(train) // batch_size)
        callbacks.append(frames.ScheduledSampling(max(1, round(sampling * steps))))
    with frames.repeatable_training():
        history = model.fit(
            x, _targets(name, train, inputs), batch_size=batch_size, epochs=epochs, verbose=0,
            callbacks=callbacks, validation_data=(held_out[:, :inputs], _targets(name, held_out, inputs)),
        )  # fmt: skip
    steady = seconds[1:] or seconds
    throughput = len(train) / float(np.median(steady))
    numbers = dict(history=history.history, seconds=seconds, sequences_per_second=throughput)
    return numbers, model.get_weights()


def run_predictors(plan, train, held_out, workers=1, progress=None, **settings):
    """`train_predictor` for every (name, seed) of `plan` on `train` sequences `(n, frames, side,
    side, 1)`, scored on `held_out` ones; returns ({job: numbers}, {job: model}), every model
    rebuilt here from its weights. `settings` go to `build_predictor` and to training (`epochs`,
    `batch_size`, and `sampling`: the share of the training steps over which scheduled sampling
    lowers teacher forcing from 1 to 0; 0, the default, trains on rollouts from the start)."""
    plan = [tuple(job) for job in plan]
    for name, _ in plan:
        _known(name, PREDICTORS)
    cost = lambda name, seed: 1 if name == "one-shot CNN" else 10  # noqa: E731
    results = parallel.map_runs(train_predictor, plan, workers, _identity,
                                ((train, held_out, settings),), cost=cost, progress=progress)  # fmt: skip
    options = {k: v for k, v in settings.items() if k in BUILD_OPTIONS}
    numbers, models = {}, {}
    for job, (result, weights) in zip(plan, results, strict=True):
        numbers[job] = result
        models[job] = build_predictor(*job, **options)
        models[job].set_weights(weights)
    return numbers, models


PREDICTORS_PATH = Path(__file__).resolve().parent / "weights" / "frame_predictors.npz"


def save_predictors(numbers, models, training, path=PREDICTORS_PATH):
    """Keep trained predictors (`run_predictors`' two results) and how they were trained (a
    dict: build options, sequences, epochs) in one `.npz`, for lab mode to load."""
    arrays = {f"{name}|{seed}|{i}": w for (name, seed), model in models.items()
              for i, w in enumerate(model.get_weights())}  # fmt: skip
    logged = {f"{name}|{seed}": log for (name, seed), log in numbers.items()}
    meta = json.dumps({"numbers": logged, "training": training}, default=float)
    np.savez_compressed(path, meta=np.array(meta), **arrays)


def load_predictors(plan, path=PREDICTORS_PATH, **options):
    """The predictors of `plan` as `save_predictors` kept them: ({job: numbers}, {job: model},
    training). `options` must be the build options they were saved with."""
    if not Path(path).exists():
        raise FileNotFoundError(f"{path} is missing: a full run of notebook 03 (`make reproduce`) writes it")  # fmt: skip
    with np.load(path) as stored:
        meta = json.loads(str(stored["meta"]))
        saved = {k: v for k, v in meta["training"].items() if k in BUILD_OPTIONS}
        asked = {k: v for k, v in options.items() if k in BUILD_OPTIONS}
        if asked != saved:
            raise ValueError(f"the stored predictors were built with {saved}, not {asked}")
        numbers, models = {}, {}
        for name, seed in (tuple(job) for job in plan):
            if f"{name}|{seed}" not in meta["numbers"]:
                raise KeyError(f"{path} holds no {name!r} of seed {seed}; it holds {sorted(meta['numbers'])}")  # fmt: skip
            numbers[name, seed] = meta["numbers"][f"{name}|{seed}"]
            models[name, seed] = build_predictor(name, seed, **asked)
            count = len(models[name, seed].weights)
            models[name, seed].set_weights([stored[f"{name}|{seed}|{i}"] for i in range(count)])
    return numbers, models, meta["training"]


def _identity(value):
    return value


def build_gan(name, seed, latent_dim=32, width=32, units=128, learning_rate=2e-4,
              loss="non_saturating", classifier=None, gate="sigmoid", fine_tune=True):  # fmt: skip
    """A compiled conditional GAN of `GANS` on 28x28 digits (Adam, beta_1 = 0.5, for both).

    `width` sets the filters of the generators and the DCGAN discriminator, `units` the row
    LSTM's and `gate` its gate function; `classifier` is the digit classifier the transfer
    discriminators copy (the cached one by default), `fine_tune=False` freezes what they copy.
    The last two are the exercises' variations of the table's models.
    """
    _known(name, GANS)
    keras.utils.set_random_seed(seed)
    generator_kind, discriminator_kind = GANS[name]
    shape = (28, 28, 1)
    if generator_kind == "dcgan":
        generator = networks.dcgan_generator(latent_dim, shape, 10, width=width)
    else:
        generator = networks.hybrid_generator(latent_dim, shape, 10, width=width, units=units,
                                              attention=generator_kind.endswith("attention"), gate=gate)  # fmt: skip
    if discriminator_kind == "dcgan":
        discriminator = networks.dcgan_discriminator(shape, 10, width=width, minibatch_std=True)
    else:
        discriminator = networks.transfer_discriminator(
            classifier or scorers.digit_classifier(), 10, minibatch_std=True,
            pretrained=discriminator_kind == "transfer", fine_tune=fine_tune,
        )  # fmt: skip
    model = gan.GAN(generator, discriminator, latent_dim, loss=loss, num_classes=10, seed=seed)
    model.compile(keras.optimizers.Adam(learning_rate, beta_1=0.5),
                  keras.optimizers.Adam(learning_rate, beta_1=0.5))  # fmt: skip
    return model


def train_gan(context, name, seed, variant=None):
    """One GAN on one seed, as `VARIANTS[variant]` changes it (the job of `run_gans`); returns
    (numbers, weights).

    After every epoch `n_curve` samples from fixed noise (digits in turn) are scored against the
    held-out digits: the numbers hold `curve` (FID, precision, recall and class accuracy per
    epoch, and "FID (2nd scorer)" when there is a second scorer), `seconds` (per epoch, scoring
    excluded) and `images_per_second` (training throughput, first epoch excluded).
    """
    (scorer, held_out_features), second, data, settings = context
    images, labels = data
    model = build_gan(name, seed, **_gan_options(settings, variant))
    n_curve = settings.get("n_curve", 500)
    asked = np.arange(n_curve) % 10
    curve, seconds = [], []
    for _ in range(settings.get("epochs", 1)):
        start = time.perf_counter()
        model.fit((images, labels), batch_size=settings.get("batch_size", 32), epochs=1, verbose=0)
        seconds.append(time.perf_counter() - start)
        samples = model.generate(n_curve, labels=asked, seed=seed)
        features, probs = scorer(samples)
        precision, recall = metrics.precision_recall(held_out_features, features)
        curve.append({"FID": metrics.frechet_distance(held_out_features, features),
                      "precision": precision, "recall": recall,
                      "class accuracy": float(np.mean(probs.argmax(axis=1) == asked))})  # fmt: skip
        if second:
            curve[-1]["FID (2nd scorer)"] = metrics.frechet_distance(second[1], second[0](samples)[0])  # fmt: skip
    throughput = len(images) / float(np.median(seconds[1:] or seconds))
    return dict(curve=curve, seconds=seconds, images_per_second=throughput), model.get_weights()


def _gan_options(settings, variant=None):
    keys = ("latent_dim", "width", "units", "learning_rate", "loss", "gate", "fine_tune")
    return {k: settings[k] for k in keys if k in settings} | VARIANTS.get(variant, {})


def _gan_setup(make_scorer, make_second_scorer, data, held_out, settings):
    scorers_ = [make() for make in (make_scorer, make_second_scorer) if make]
    scored = [(scorer, scorer(held_out)[0]) for scorer in scorers_]
    return scored[0], scored[1] if len(scored) > 1 else None, data, settings


def run_gans(plan, data, held_out, make_scorer, workers=1, progress=None, make_second_scorer=None, **settings):  # fmt: skip
    """`train_gan` for every (name, seed) or (name, seed, variant) of `plan` on `data` (images, integer labels), scored
    against `held_out` digits; returns ({job: numbers}, {job: model}), every model rebuilt here
    from its weights. `make_scorer` builds the scorer in each process (`scorers.DigitScorer`),
    `make_second_scorer` an independent one whose FID the curves also track; `settings` go to
    `build_gan` and to training (`epochs`, `batch_size`, `n_curve`)."""
    plan = [tuple(job) for job in plan]
    for name, _, *variant in plan:
        _known(name, GANS)
        if variant:
            _known(variant[0], VARIANTS, "variant")
    cost = lambda name, seed, *_: 1 + (name != "DCGAN") + ("attention" in name)  # noqa: E731
    results = parallel.map_runs(train_gan, plan, workers, _gan_setup,
                                (make_scorer, make_second_scorer, data, held_out, settings), cost=cost, progress=progress)  # fmt: skip
    numbers, models = {}, {}
    for job, (result, weights) in zip(plan, results, strict=True):
        numbers[job] = result
        models[job] = build_gan(*job[:2], **_gan_options(settings, *job[2:]))
        models[job].set_weights(weights)
    return numbers, models
