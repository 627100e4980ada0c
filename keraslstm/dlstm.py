"""Notebook 01's networks: DLSTM and the rest of its 2x2, built, trained to a plateau and scored.

DLSTM (the paper of notebook 01) is read as a class-conditional VAE-GAN whose encoder is an LSTM
that reads an image row by row. The 2x2 crosses that encoder with a convolutional one of the same
size (`networks.conv_encoder`) and the adversary with none (`adversarial_weight=0`: a conditional
VAE). Every network trains until its reconstruction loss on validation digits stops improving
and keeps the weights of its best epoch, so each is judged at its own plateau (or at the epoch cap,
when it is still improving there); `run_all` spreads the runs over processes (`parallel.map_runs`).
"""

import time

import keras
import numpy as np

from keraslstm import networks, parallel, scorers, vae

__all__ = ["ENCODERS", "build", "fit_to_plateau", "run", "run_all"]

ENCODERS = ("lstm", "conv")


def build(encoder, seed, adversarial_weight, gate="sigmoid", latent_dim=16, units=128, width=32):
    """A compiled class-conditional VAE-GAN on 28x28 digits with an "lstm" or "conv" encoder.

    `gate` is the LSTM's gate activation (`cells.GATES`); `width` sets the filters of the DCGAN
    decoder and discriminator; `adversarial_weight` 0 leaves a conditional VAE.
    """
    if encoder not in ENCODERS:
        raise ValueError(f"Unknown encoder {encoder!r}; valid: {', '.join(ENCODERS)}")
    keras.utils.set_random_seed(seed)
    if encoder == "lstm":
        encoder_net = networks.lstm_row_encoder(latent_dim, num_classes=10, units=units, gate=gate)
    else:
        encoder_net = networks.conv_encoder(latent_dim, num_classes=10)
    decoder = networks.dcgan_generator(latent_dim, num_classes=10, width=width)
    discriminator = networks.dcgan_discriminator(num_classes=10, width=width)
    model = vae.VAEGAN(encoder_net, decoder, discriminator, latent_dim, num_classes=10,
                       adversarial_weight=adversarial_weight, seed=seed)  # fmt: skip
    model.compile()
    return model


def fit_to_plateau(model, train, validation, max_epochs, patience=3, min_delta=0.5,
                   batch_size=64, on_epoch=None):  # fmt: skip
    """Train until the validation reconstruction loss has not improved by `min_delta` (nats per
    image) for `patience` epochs, at most `max_epochs`, and keep the best epoch's weights.

    `train` and `validation` are (images, labels); `on_epoch(epoch)` runs after every epoch (to
    score the model) and its time is not counted. Returns (best epoch from 0, training seconds,
    the history: per-epoch losses, validation ones prefixed "val_").
    """
    spent = []

    def after_epoch(epoch, logs):
        start = time.perf_counter()
        if on_epoch is not None:
            on_epoch(epoch)
        spent.append(time.perf_counter() - start)

    stop = keras.callbacks.EarlyStopping("val_reconstruction_loss", min_delta=min_delta,
                                         patience=patience, mode="min", restore_best_weights=True)  # fmt: skip
    start = time.perf_counter()
    history = model.fit(tuple(train), validation_data=(tuple(validation),), epochs=max_epochs,
                        batch_size=batch_size, verbose=0,
                        callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=after_epoch), stop])  # fmt: skip
    return stop.best_epoch, time.perf_counter() - start - sum(spent), history.history


def run(context, encoder, adversarial_weight, seed):
    """One network of the 2x2 on one seed (the job of `run_all`); returns (numbers, weights).

    The numbers: `curve` (the measures of `scorers.score_generator` after every epoch), `kept`
    (the epoch whose weights it kept), `seconds` (training alone) and `history` (the losses).
    """
    scorer, train_features, data, settings = context
    train, validation, (images, labels) = data
    options = {k: settings[k] for k in ("gate", "latent_dim", "units", "width") if k in settings}
    model = build(encoder, seed, adversarial_weight, **options)
    asked = np.arange(len(images)) % 10
    curve = []

    def score(epoch):
        samples = model.generate(len(images), labels=asked, seed=seed)
        reconstructions = model.reconstruct(images, labels)
        curve.append(scorers.score_generator(scorer, images, reconstructions, samples, asked, train_features))  # fmt: skip

    fit = {k: settings[k] for k in ("max_epochs", "patience", "min_delta", "batch_size") if k in settings}  # fmt: skip
    kept, seconds, history = fit_to_plateau(model, train, validation, on_epoch=score, **fit)
    return dict(curve=curve, kept=kept, seconds=seconds, history=history), model.get_weights()


def _setup(make_scorer, data, settings):
    scorer = make_scorer()
    train_features, _ = scorer(data[0][0])
    return scorer, train_features, data, settings


def _cost(encoder, adversarial_weight, seed):
    return (2 if encoder == "lstm" else 1) + (1 if adversarial_weight else 0)


def run_all(plan, data, make_scorer, workers=1, progress=None, **settings):
    """`run` every (encoder, adversarial weight, seed) of `plan`; returns ({job: numbers},
    {job: model}) with every trained model rebuilt here from its weights.

    `data` is ((train images, labels), (validation images, labels), (scored images, labels));
    `make_scorer` builds the scorer in each process (e.g. `scorers.DigitScorer`); `settings` go to
    `build` (gate, latent_dim, units, width) and `fit_to_plateau` (max_epochs, patience,
    min_delta, batch_size).
    """
    plan = [tuple(job) for job in plan]
    for encoder, _, _ in plan:
        if encoder not in ENCODERS:
            raise ValueError(f"Unknown encoder {encoder!r}; valid: {', '.join(ENCODERS)}")
    results = parallel.map_runs(run, plan, workers, _setup, (make_scorer, data, settings),
                                cost=_cost, progress=progress)  # fmt: skip
    options = {k: settings[k] for k in ("gate", "latent_dim", "units", "width") if k in settings}
    numbers, models = {}, {}
    for (encoder, weight, seed), (result, weights) in zip(plan, results, strict=True):
        job = (encoder, weight, seed)
        numbers[job] = result
        models[job] = build(encoder, seed, weight, **options)
        models[job].set_weights(weights)
    return numbers, models
