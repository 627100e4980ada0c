"""The generative models of notebook 02 (Li's survey), built, trained and scored by name.

The survey's ten models (GAN, DCGAN, CGAN, LSGAN, WGAN-GP; VAE, beta-VAE, CVAE, deep VAE,
VAE-GAN), plus the controls the notebook needs: the MLP GAN with each ingredient of WGAN-GP on
its own (3 discriminator steps; the gradient penalty on the standard losses), with all of them
(Wasserstein critic + penalty + 3 critic steps) and with the LSGAN loss (do the fixes fix the
model that is unstable, and which ingredient does it?) and a VAE with the DCGAN's convolutional networks
(so that family is not confounded with architecture).

Every model sees the same data, epochs, batch size and seed; `score` measures samples with the
cached digit classifier (`keraslstm.scorers`) so the numbers are comparable across models.
"""

import time

import keras
import numpy as np

from keraslstm import gan, metrics, networks, optimizers, parallel, vae

__all__ = ["MODELS", "build", "train", "sample", "score", "EpochScores", "run", "run_all"]

# name -> (family, constructor options)
MODELS = {
    "GAN": ("gan", dict(net="mlp", loss="non_saturating")),
    "GAN + 3 D steps": ("gan", dict(net="mlp", loss="non_saturating", d_steps=3)),
    "GAN + penalty": ("gan", dict(net="mlp", loss="non_saturating_gp")),
    "GAN (LSGAN loss)": ("gan", dict(net="mlp", loss="lsgan")),
    "MLP WGAN-GP (3 critic steps)": ("gan", dict(net="mlp", loss="wgan_gp", d_steps=3)),
    "DCGAN": ("gan", dict(net="dcgan", loss="non_saturating")),
    "CGAN": ("gan", dict(net="dcgan", loss="non_saturating", conditional=True)),
    "LSGAN": ("gan", dict(net="dcgan", loss="lsgan")),
    "WGAN-GP": ("gan", dict(net="dcgan", loss="wgan_gp", d_steps=3)),
    "VAE": ("vae", dict(beta=1.0)),
    "conv VAE": ("vae", dict(beta=1.0, net="dcgan")),
    "beta-VAE (beta=4)": ("vae", dict(beta=4.0)),
    "beta-VAE (beta=0.25)": ("vae", dict(beta=0.25)),
    "CVAE": ("vae", dict(beta=1.0, conditional=True)),
    "deep VAE": ("vae", dict(beta=1.0, hidden=(512, 512, 256, 256))),
    "VAE-GAN": ("vaegan", dict(beta=1.0)),
}


def build(
    name, image_shape=(28, 28, 1), latent_dim=32, num_classes=10, width=64, mlp_width=256, seed=0
):
    """A compiled model of `MODELS[name]` for `image_shape` images.

    `width` sets the filters of the convolutional networks (DCGAN, conv VAE, VAE-GAN's
    discriminator), `mlp_width` the first hidden layer of the MLP GAN's networks.
    """
    if name not in MODELS:
        raise ValueError(f"Unknown model {name!r}; valid: {', '.join(MODELS)}")
    keras.utils.set_random_seed(seed)
    family, options = MODELS[name]
    classes = num_classes if options.get("conditional") else None
    if family == "gan":
        if options["net"] == "mlp":
            generator = networks.mlp_generator(latent_dim, image_shape, classes, width=mlp_width)
            discriminator = networks.mlp_discriminator(image_shape, classes, width=mlp_width)
        else:
            generator = networks.dcgan_generator(latent_dim, image_shape, classes, width=width)
            discriminator = networks.dcgan_discriminator(image_shape, classes, width=width)
        model = gan.GAN(
            generator, discriminator, latent_dim, loss=options["loss"], num_classes=classes,
            d_steps=options.get("d_steps", 1), seed=seed,
        )  # fmt: skip
        model.compile()
        return model
    if options.get("net") == "dcgan":  # the DCGAN's networks, so only the training differs
        encoder = networks.dcgan_encoder(latent_dim, image_shape, classes, width=width)
        decoder = networks.dcgan_generator(latent_dim, image_shape, classes, width=width)
    else:
        hidden = options.get("hidden", (512, 256))
        encoder = networks.mlp_encoder(latent_dim, image_shape, classes, hidden=hidden)
        decoder = networks.mlp_decoder(latent_dim, image_shape, classes, hidden=hidden[::-1])
    if family == "vaegan":
        discriminator = networks.dcgan_discriminator(image_shape, width=width)
        model = vae.VAEGAN(
            encoder, decoder, discriminator, latent_dim, beta=options["beta"], seed=seed
        )
        model.compile()
        return model
    model = vae.VAE(
        encoder, decoder, latent_dim, beta=options["beta"], num_classes=classes, seed=seed
    )
    return optimizers.compile_built(model, keras.optimizers.Adam(1e-3))


def train(model, images, labels, epochs, batch_size=64, callbacks=()):
    """Fit on (images, labels) when the model is conditional, else on images; returns (history, seconds)."""
    conditional = getattr(model, "num_classes", None) is not None
    data = (images, labels) if conditional else images
    start = time.perf_counter()
    history = model.fit(
        data, epochs=epochs, batch_size=batch_size, verbose=0, callbacks=list(callbacks)
    )
    return history.history, time.perf_counter() - start


def sample(model, n, seed=0):
    """`n` generated images and the labels they were asked for (classes in turn; None if unconditional)."""
    labels = np.arange(n) % model.num_classes if model.num_classes is not None else None
    return model.generate(n, labels=labels, seed=seed), labels


def score(scorer, real_images, fake_images, fake_labels=None, k=3):
    """FID, IS, precision, recall and (conditional models) class accuracy of `fake_images`.

    IS uses splits of 100 samples (at most 10): smaller splits bias it low.
    """
    real_features, _ = scorer(real_images)
    features, probs = scorer(fake_images)
    precision, recall = metrics.precision_recall(real_features, features, k=k)
    result = {
        "FID": metrics.frechet_distance(real_features, features),
        "IS": metrics.inception_score(probs, splits=min(10, max(1, len(probs) // 100)))[0],
        "precision": precision,
        "recall": recall,
    }
    if fake_labels is not None:
        result["class accuracy"] = float(np.mean(probs.argmax(axis=1) == fake_labels))
    return result


class EpochScores(keras.callbacks.Callback):
    """FID and IS of `n` samples from fixed noise after every epoch: quality over training.

    `real_features` are the scorer's features of real images (the FID reference). Keeps the
    lists `fid` and `inception` (one value per epoch) and the last epoch's samples in `images`,
    not every epoch's, so that many runs fit in memory.
    """

    def __init__(self, scorer, real_features, n=500, seed=0):
        super().__init__()
        self.scorer, self.real_features, self.n, self.seed = scorer, real_features, n, seed
        self.fid, self.inception, self.images = [], [], None

    def on_epoch_end(self, epoch, logs=None):
        self.images, _ = sample(self.model, self.n, seed=self.seed)
        features, probs = self.scorer(self.images)
        self.fid.append(metrics.frechet_distance(self.real_features, features))
        splits = min(10, max(1, self.n // 100))
        self.inception.append(metrics.inception_score(probs, splits=splits)[0])


def run(name, seed, data, scorer, epochs, batch_size=64, n_curve=300, n_eval=1000, **options):
    """Build, train and score one model on one seed; returns (numbers, trained model).

    `data` is (train images, train labels, held-out images); the numbers are the history, the
    training seconds, the per-epoch FID and IS of `n_curve` fixed samples, and `score`'s measures
    plus the mean sharpness of `n_eval` samples. `options` go to `build` (latent_dim, width).
    """
    images, labels, eval_images = data
    model = build(name, seed=seed, **options)
    eval_features, _ = scorer(eval_images)
    tracker = EpochScores(scorer, eval_features, n=n_curve, seed=seed)
    history, seconds = train(model, images, labels, epochs, batch_size, callbacks=[tracker])
    samples, asked = sample(model, n_eval, seed=1000 + seed)
    numbers = score(scorer, eval_images, samples, asked)
    numbers["sharpness"] = float(np.mean(metrics.sharpness(samples)))
    numbers |= dict(
        history=history, seconds=seconds, fid_curve=tracker.fid, is_curve=tracker.inception
    )
    return numbers, model


def _setup(make_scorer, data, settings):
    return make_scorer(), data, settings


def _run_job(context, name, seed, keep):
    scorer, data, settings = context
    numbers, model = run(name, seed, data, scorer, **settings)
    return numbers, model.get_weights() if keep else None


def run_all(plan, data, make_scorer, keep=(), workers=1, progress=None, **settings):
    """`run` every (name, seed) of `plan`; returns ({(name, seed): numbers}, {name: model}).

    The models returned are those of the (name, seed) pairs in `keep`, rebuilt here from the
    weights each run returns, so the result does not depend on where a run trained. With
    `workers` > 1 the runs go to that many processes (`parallel.map_runs`; on two cores, two
    processes train notebook 02's runs about 1.6 times as fast as one). `make_scorer` builds the
    scorer (a class such as `DigitScorer`: a process cannot receive a loaded model); `progress`
    wraps the iterator of finished runs (e.g. a tqdm partial); `settings` go to `run`.
    """
    unknown = sorted({name for name, _ in plan} - set(MODELS))
    if unknown:
        raise ValueError(
            f"Unknown model(s) {', '.join(map(repr, unknown))}; valid: {', '.join(MODELS)}"
        )
    keep = set(keep)
    jobs = [(name, seed, (name, seed) in keep) for name, seed in plan]
    results = parallel.map_runs(_run_job, jobs, workers, _setup, (make_scorer, data, settings),
                                cost=lambda name, seed, _: _cost(name, seed), progress=progress)  # fmt: skip
    builds = {k: settings[k] for k in ("latent_dim", "width") if k in settings}
    models = {}
    for (name, seed, kept), (_, weights) in zip(jobs, results, strict=True):
        if kept:
            models[name] = build(name, seed=seed, **builds)
            models[name].set_weights(weights)
    return {run: numbers for run, (numbers, _) in zip(plan, results, strict=True)}, models


def _cost(name, seed):
    # a rough relative training time: convolutional networks and extra critic steps cost most
    family, options = MODELS[name]
    convolutional = options.get("net") == "dcgan" or family == "vaegan"
    steps = 1 + options.get("d_steps", 1)
    return (3 if convolutional else 1) * steps * (2 if options.get("conditional") else 1)
