"""keraslstm.zoo: every model of notebook 02 builds, trains a step and is scored."""

import keras
import numpy as np
import pytest

from keraslstm import data, gan, metrics, vae, zoo
from keraslstm.scorers import DigitScorer


def _dense_widths(model):
    return [layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def _has_conv(model):
    return any(isinstance(layer, keras.layers.Conv2D) for layer in model.layers)


@pytest.mark.parametrize("name", list(zoo.MODELS))
def test_every_model_has_the_options_its_table_lists_and_trains(name):
    family, options = zoo.MODELS[name]
    model = zoo.build(name, latent_dim=8, width=8, seed=0)
    conditional = bool(options.get("conditional"))
    assert model.num_classes == (10 if conditional else None)
    if family == "gan":
        assert type(model) is gan.GAN
        assert model.loss_kind == options["loss"] and model.variant is gan.LOSSES[options["loss"]]
        assert model.d_steps == options.get("d_steps", 1)
        assert model.generator.name == f"{options['net']}_generator"
        assert model.discriminator.name == f"{options['net']}_discriminator"
    else:
        assert type(model) is (vae.VAEGAN if family == "vaegan" else vae.VAE)
        assert model.beta == options["beta"]
        if options.get("net") == "dcgan":
            assert _has_conv(model.encoder) and model.decoder.name == "dcgan_generator"
        else:  # MLP: the hidden widths of the table (default 512, 256), mirrored in the decoder
            hidden = list(options.get("hidden", (512, 256)))
            assert _dense_widths(model.encoder) == [*hidden, 8, 8]  # then the two 8-d heads
            assert _dense_widths(model.decoder) == [*hidden[::-1], 28 * 28]
        if family == "vaegan":
            assert model.discriminator.name == "dcgan_discriminator"
    rng = np.random.default_rng(0)
    images, labels = rng.random((64, 28, 28, 1)).astype("float32"), rng.integers(10, size=64)
    history, seconds = zoo.train(model, images, labels, epochs=1, batch_size=32)
    assert seconds > 0 and all(np.isfinite(v[-1]) for v in history.values())
    if family == "gan":  # two batches: d_steps discriminator updates per generator update
        assert int(model.d_optimizer.iterations) == 2 * model.d_steps
        assert int(model.g_optimizer.iterations) == 2
    samples, asked = zoo.sample(model, 12)
    assert samples.shape == (12, 28, 28, 1)
    if conditional:
        np.testing.assert_array_equal(asked, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1])
    else:
        assert asked is None


def test_unknown_model_lists_the_valid_ones():
    with pytest.raises(ValueError, match="Unknown model 'BigGAN'; valid: GAN, .*DCGAN.*conv VAE"):
        zoo.build("BigGAN")


def test_score_is_the_metrics_of_the_scorers_features():
    (real, _), _ = data.digits()
    real = real[:300]
    rng = np.random.default_rng(1)
    # a collapsed generator: 200 noisy copies of 10 real digits, realistic but not diverse
    fake = np.clip(real[rng.integers(10, size=200)] + rng.normal(0, 0.05, (200, 28, 28, 1)), 0, 1)
    asked = np.arange(200) % 10
    scorer = DigitScorer()
    result = zoo.score(scorer, real, fake, fake_labels=asked)
    real_features, _ = scorer(real)
    features, probs = scorer(fake)
    precision, recall = metrics.precision_recall(real_features, features, k=3)
    assert precision > recall + 0.3  # so a swap of the two cannot pass
    assert result["precision"] == precision and result["recall"] == recall
    assert result["FID"] == metrics.frechet_distance(real_features, features)
    assert result["IS"] == metrics.inception_score(probs, splits=2)[0]  # splits of 100 samples
    assert result["class accuracy"] == np.mean(probs.argmax(axis=1) == asked)
    plain = zoo.score(scorer, real, fake, k=5)
    assert set(plain) == {"FID", "IS", "precision", "recall"}
    assert (plain["precision"], plain["recall"]) == metrics.precision_recall(real_features, features, k=5)  # fmt: skip


def test_epoch_scores_records_fid_and_is_per_epoch_of_the_fixed_samples():
    rng = np.random.default_rng(2)
    images, labels = rng.random((64, 28, 28, 1)).astype("float32"), rng.integers(10, size=64)
    scorer = DigitScorer()
    real_features, _ = scorer(images)
    model = zoo.build("VAE", latent_dim=4, seed=0)
    tracker = zoo.EpochScores(scorer, real_features, n=100, seed=3)
    zoo.train(model, images, labels, epochs=2, batch_size=32, callbacks=[tracker])
    assert len(tracker.fid) == len(tracker.inception) == 2
    expected_images, _ = zoo.sample(model, 100, seed=3)
    np.testing.assert_array_equal(tracker.images, expected_images)
    features, probs = scorer(expected_images)
    assert tracker.fid[-1] == pytest.approx(metrics.frechet_distance(real_features, features))
    assert tracker.inception[-1] == pytest.approx(metrics.inception_score(probs, splits=1)[0])


def _tiny_runs(workers, plan, keep=()):
    (images, labels), (held_out, _) = data.digits(seed=0)
    small = (images[:128], labels[:128], held_out[:100])
    return zoo.run_all(plan, small, DigitScorer, keep, workers, epochs=1, batch_size=64,
                       n_curve=100, n_eval=100, latent_dim=8, width=8)  # fmt: skip


def test_run_all_in_two_processes_gives_the_numbers_and_models_of_one_process():
    plan = [("GAN", 0), ("CVAE", 1)]
    alone, models_alone = _tiny_runs(1, plan, keep=[("CVAE", 1)])
    pooled, models_pooled = _tiny_runs(2, plan, keep=[("CVAE", 1)])
    assert list(pooled) == plan and set(models_pooled) == {"CVAE"}
    for run in plan:
        for key in ("FID", "IS", "precision", "recall", "sharpness"):
            assert pooled[run][key] == pytest.approx(alone[run][key], rel=1e-5)
        assert len(pooled[run]["fid_curve"]) == 1 and pooled[run]["seconds"] > 0
    # the model rebuilt from a process's weights draws what that process's model drew
    redrawn, _ = zoo.sample(models_pooled["CVAE"], 100, seed=1001)
    assert float(np.mean(metrics.sharpness(redrawn))) == pooled["CVAE", 1]["sharpness"]
    again, _ = zoo.sample(models_alone["CVAE"], 100, seed=1001)
    np.testing.assert_allclose(redrawn, again, atol=1e-5)


def test_run_all_names_bad_input():
    with pytest.raises(ValueError, match="Unknown model\\(s\\) 'BigGAN'"):
        zoo.run_all([("BigGAN", 0)], None, DigitScorer)
    with pytest.raises(ValueError, match="workers >= 1, got 0"):
        zoo.run_all([("GAN", 0)], None, DigitScorer, workers=0)
