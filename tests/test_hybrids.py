"""keraslstm.hybrids: notebook 03's predictors and GANs, built by name, trained and rebuilt."""

from functools import partial

import numpy as np
import pytest

from keraslstm import data, frames, hybrids, metrics, parallel, scorers

SMALL_PREDICTOR = dict(
    side=8, input_frames=3, output_frames=2, width=4, core_filters=8, cnn_width=4
)
SMALL_GAN = dict(width=4, units=8, latent_dim=8)


@pytest.fixture(scope="module")
def sequences():
    seq = data.moving_digits(12, frames=5, size=32, seed=0)
    return seq.reshape(12, 5, 8, 4, 8, 4, 1).mean(axis=(3, 5)).astype("float32")


def test_predictors_share_their_head_and_differ_in_the_core():
    lstm = hybrids.build_predictor("ConvLSTM", 0, **SMALL_PREDICTOR)
    stack = hybrids.build_predictor("frame stack", 0, **SMALL_PREDICTOR)
    assert isinstance(lstm, frames.FramePredictor) and (lstm.core, stack.core) == ("convlstm", "frame_stack")  # fmt: skip
    assert lstm.get_layer("filter_logits").count_params() == stack.get_layer("filter_logits").count_params()  # fmt: skip
    assert abs(lstm.count_params() / stack.count_params() - 1) < 0.02  # the same budget
    assert hybrids.build_predictor("one-shot CNN", 0, **SMALL_PREDICTOR).name == "cnn_predictor"
    with pytest.raises(ValueError, match="Unknown model 'GRU'"):
        hybrids.build_predictor("GRU", 0)


def test_run_predictors_in_two_processes_gives_the_models_of_one(sequences):
    plan = [("ConvLSTM", 0), ("one-shot CNN", 1)]
    settings = dict(SMALL_PREDICTOR, epochs=2, batch_size=4, sampling=0.5)
    one, models = hybrids.run_predictors(plan, sequences[:8], sequences[8:], **settings)
    two, _ = hybrids.run_predictors(plan, sequences[:8], sequences[8:], workers=2, **settings)
    for job in plan:
        np.testing.assert_allclose(one[job]["history"]["val_loss"], two[job]["history"]["val_loss"], rtol=1e-4)  # fmt: skip
        assert len(one[job]["seconds"]) == 2 and one[job]["sequences_per_second"] > 0
    rebuilt = models["ConvLSTM", 0].evaluate(sequences[8:, :3], sequences[8:, 1:], verbose=0)
    assert rebuilt == pytest.approx(one["ConvLSTM", 0]["history"]["val_loss"][-1], rel=1e-4)
    assert models["one-shot CNN", 1].predict(sequences[8:, :3], verbose=0).shape == (4, 2, 8, 8, 1)


def test_gans_differ_in_one_part_each():
    classifier = scorers.digit_classifier()
    built = {name: hybrids.build_gan(name, 0, classifier=classifier, **SMALL_GAN) for name in hybrids.GANS}  # fmt: skip
    layer_names = {name: {layer.name for layer in m.generator.layers} for name, m in built.items()}
    kinds = {
        name: {type(layer).__name__ for layer in m.generator.layers} for name, m in built.items()
    }
    assert "row_lstm" not in layer_names["DCGAN"] and "row_lstm" in layer_names["hybrid"]
    assert kinds["hybrid + attention"] - kinds["hybrid"] == {"SelfAttention2D"}
    for name, model in built.items():
        assert "minibatch_std" in [layer.name for layer in model.discriminator.layers], name
    transfer, scratch = built["hybrid + transfer"].discriminator, built["hybrid + scratch D"].discriminator  # fmt: skip
    first = lambda d: next(w for w in d.weights if "kernel" in w.path)  # noqa: E731
    np.testing.assert_array_equal(first(transfer), classifier.weights[0])
    assert not np.allclose(first(scratch), classifier.weights[0])
    with pytest.raises(ValueError, match="Unknown model 'BigGAN'"):
        hybrids.build_gan("BigGAN", 0)


def test_run_gans_logs_every_epoch_and_returns_working_models():
    (x, y), (x_test, _) = data.digits(seed=0)
    plan = [("hybrid", 0)]
    numbers, models = hybrids.run_gans(plan, (x[:64], y[:64]), x_test[:100], scorers.DigitScorer,
                                       epochs=2, batch_size=32, n_curve=100, **SMALL_GAN)  # fmt: skip
    curve = numbers["hybrid", 0]["curve"]
    assert len(curve) == 2 and set(curve[0]) == {"FID", "precision", "recall", "class accuracy"}
    assert all(0 <= row["recall"] <= 1 and row["FID"] > 0 for row in curve)
    # the rebuilt model generates what the trained one scored: same FID from the same noise
    scorer = scorers.DigitScorer()
    features, _ = scorer(models["hybrid", 0].generate(100, labels=np.arange(100) % 10, seed=0))
    fid = metrics.frechet_distance(scorer(x_test[:100])[0], features)
    assert fid == pytest.approx(curve[-1]["FID"], rel=1e-3)
    assert numbers["hybrid", 0]["images_per_second"] > 0


def test_run_gans_tracks_a_second_scorer_and_builds_the_exercise_variants():
    (x, y), (x_test, _) = data.digits(seed=0)
    classifier = scorers.digit_classifier()
    # a second scorer with the first one's weights, rebuilt in the run: the same FID
    second = partial(scorers.digit_scorer_from_weights, classifier.get_weights())
    numbers, models = hybrids.run_gans([("hybrid + transfer", 0)], (x[:32], y[:32]), x_test[:100],
                                       scorers.DigitScorer, make_second_scorer=second, epochs=1,
                                       n_curve=100, fine_tune=False, gate="hard_sigmoid", **SMALL_GAN)  # fmt: skip
    (row,) = numbers["hybrid + transfer", 0]["curve"]
    assert row["FID (2nd scorer)"] == pytest.approx(row["FID"], rel=1e-6)
    model = models["hybrid + transfer", 0]
    copied = [w for w in model.discriminator.weights if "kernel" in w.path][0]
    assert not any(w is copied for w in model.discriminator.trainable_weights)  # frozen
    np.testing.assert_array_equal(copied, classifier.weights[0])  # and never trained
    assert (
        float(model.generator.get_layer("row_lstm").cell.gate(np.float32(3.0))) == 1.0
    )  # hard: saturated at 2.5


def test_saved_predictors_load_as_trained_and_refuse_other_settings(sequences, tmp_path):
    plan = [("ConvLSTM", 0), ("one-shot CNN", 1)]
    numbers, models = hybrids.run_predictors(plan, sequences[:8], sequences[8:], epochs=1, batch_size=4, **SMALL_PREDICTOR)  # fmt: skip
    path = tmp_path / "predictors.npz"
    hybrids.save_predictors(numbers, models, dict(SMALL_PREDICTOR, epochs=1), path)
    loaded, rebuilt, training = hybrids.load_predictors(plan[::-1], path, **SMALL_PREDICTOR)
    assert training["epochs"] == 1 and loaded["ConvLSTM", 0]["history"] == numbers["ConvLSTM", 0]["history"]  # fmt: skip
    observed = sequences[8:, :3]
    for name, seed in plan:  # the same forecasts as the trained models
        if name == "ConvLSTM":
            ours, trained = rebuilt[name, seed].forecast(observed), models[name, seed].forecast(observed)  # fmt: skip
        else:
            ours, trained = (m.predict(observed, verbose=0) for m in (rebuilt[name, seed], models[name, seed]))  # fmt: skip
        np.testing.assert_allclose(ours, trained, atol=1e-6)
    with pytest.raises(ValueError, match="built with"):
        hybrids.load_predictors(plan, path, **dict(SMALL_PREDICTOR, width=8))
    with pytest.raises(KeyError, match="no 'frame stack' of seed 0"):
        hybrids.load_predictors([("frame stack", 0)], path, **SMALL_PREDICTOR)
    with pytest.raises(FileNotFoundError, match="make reproduce"):
        hybrids.load_predictors(plan, tmp_path / "none.npz", **SMALL_PREDICTOR)


def test_a_seeded_rollout_trains_bit_for_bit_alike_in_two_processes():
    # Grappler summed a rollout's gradients in an order that changed from process to process
    seq = (np.random.default_rng(0).random((24, 20, 32, 32, 1)) > 0.8).astype("float32")
    settings = dict(side=32, width=4, core_filters=8, epochs=1, batch_size=8, sampling=0.5)
    context = (seq[:16], seq[16:], settings)
    runs = parallel.map_runs(
        hybrids.train_predictor, [("ConvLSTM", 0)] * 2, 2, hybrids._identity, (context,)
    )
    (_, first), (_, second) = runs
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_variant_job_trains_beside_the_table_model_it_varies():
    (x, y), (x_test, _) = data.digits(seed=0)
    plan = [("hybrid + transfer", 0), ("hybrid + transfer", 0, "frozen")]
    _, models = hybrids.run_gans(plan, (x[:32], y[:32]), x_test[:100], scorers.DigitScorer,
                                 epochs=1, n_curve=100, **SMALL_GAN)  # fmt: skip
    trainable = {job: len(m.discriminator.trainable_weights) for job, m in models.items()}
    assert (
        trainable[plan[1]] < trainable[plan[0]]
    )  # the copied layers are frozen in the variant only
    with pytest.raises(
        ValueError, match="Unknown variant 'thawed'; valid: 'frozen', 'hard sigmoid'"
    ):
        hybrids.run_gans([("hybrid", 0, "thawed")], (x[:32], y[:32]), x_test[:100], scorers.DigitScorer)  # fmt: skip
