"""keraslstm.dlstm: notebook 01's 2x2 networks, the stopping rule, and runs that come back whole."""

import numpy as np
import pytest

from keraslstm import data, dlstm, scorers


@pytest.fixture(scope="module")
def digits():
    (x, y), (xt, yt) = data.digits(seed=0)
    return (x[:128], y[:128]), (xt[:64], yt[:64]), (xt[64:128], yt[64:128])


def test_build_crosses_encoder_and_adversary():
    lstm = dlstm.build("lstm", 0, 30.0, units=16, width=8)
    conv = dlstm.build("conv", 0, 0.0, width=8)
    assert lstm.encoder.name == "lstm_encoder" and conv.encoder.name == "conv_encoder"
    assert (lstm.adversarial_weight, conv.adversarial_weight) == (30.0, 0.0)
    assert lstm.encoder.get_layer("row_lstm").cell.gate.__name__ == "sigmoid"
    with pytest.raises(ValueError, match="Unknown encoder 'rnn'; valid: lstm, conv"):
        dlstm.build("rnn", 0, 1.0)


def test_fit_to_plateau_stops_after_patience_and_keeps_the_best_epoch(digits):
    train, validation, _ = digits
    model = dlstm.build("conv", 0, 1.0, width=8)
    snapshots = []
    # no epoch can improve by a million nats: the first is the best, training stops one later
    kept, seconds, history = dlstm.fit_to_plateau(
        model, train, validation, max_epochs=5, patience=1, min_delta=1e6, batch_size=32,
        on_epoch=lambda epoch: snapshots.append(model.get_weights()),
    )  # fmt: skip
    assert kept == 0 and len(history["val_reconstruction_loss"]) == 2 and len(snapshots) == 2
    assert seconds > 0
    for restored, first in zip(model.get_weights(), snapshots[0], strict=True):
        np.testing.assert_array_equal(restored, first)
    assert any(not np.array_equal(a, b) for a, b in zip(snapshots[1], snapshots[0], strict=True))


def test_run_all_scores_every_epoch_and_returns_the_kept_model(digits):
    plan = [("lstm", 1.0, 0), ("conv", 0.0, 1)]
    numbers, models = dlstm.run_all(plan, digits, scorers.DigitScorer, max_epochs=2, patience=2,
                                    batch_size=32, units=16, width=8)  # fmt: skip
    assert list(numbers) == plan and list(models) == plan
    for job in plan:
        result = numbers[job]
        assert len(result["curve"]) == len(result["history"]["reconstruction_loss"]) == 2
        assert 0 <= result["kept"] < 2 and {"psnr", "recall"} <= set(result["curve"][0])
    # the model rebuilt from the run's weights reconstructs as the run scored it
    images, labels = digits[2]
    scorer = scorers.DigitScorer()
    model, result = models["conv", 0.0, 1], numbers["conv", 0.0, 1]
    psnr = scorers.score_generator(scorer, images, model.reconstruct(images, labels),
                                   images, labels, scorer(images)[0])["psnr"]  # fmt: skip
    assert psnr == pytest.approx(result["curve"][result["kept"]]["psnr"], rel=1e-5)
    with pytest.raises(ValueError, match="Unknown encoder 'gru'"):
        dlstm.run_all([("gru", 1.0, 0)], digits, scorers.DigitScorer)
