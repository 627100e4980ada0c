"""keraslstm.codec.training: resumable chunks, the held-out curve, the balanced loss."""

import json

import keras
import numpy as np
import pytest
from keras import ops
from references import conv_same

from keraslstm import data, metrics
from keraslstm.codec import CodecError, ResidualLSTMCodec, load_model
from keraslstm.codec.model import BalancedLossCodec
from keraslstm.codec.training import (
    RESUME_WARMUP,
    entropy_priors,
    gate_saturation,
    held_out_quality,
    iteration_profile,
    start_from_weights,
    train,
    training_images,
)

TINY = dict(iterations=3, encoder_filters=(8, 16, 16, 16), decoder_filters=(16, 16, 16, 16), seed=0)


def _images(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.random((48, 48, 3)).astype("float32") for _ in range(2)]


def _run(out, steps, **kwargs):
    keras.utils.set_random_seed(0)  # the same initial weights every time
    model, losses = train(ResidualLSTMCodec(**TINY), _images(), steps, out, batch_size=4, seed=3,
                          progress=False, **kwargs)  # fmt: skip
    return model, losses


def _assert_same_weights(a, b):
    for x, y in zip(load_model(a).get_weights(), load_model(b).get_weights(), strict=True):
        np.testing.assert_array_equal(x, y)


def test_chunks_of_limited_time_end_where_an_uninterrupted_run_ends(tmp_path):
    straight, chunked = tmp_path / "straight.weights.h5", tmp_path / "chunked.weights.h5"
    _run(straight, 3)
    seen = []
    for _ in range(2):  # max_seconds=0: every chunk stops after one step, at a checkpoint
        _, losses = _run(chunked, 3, max_seconds=0, on_checkpoint=lambda m, s, t: seen.append(s))
        assert len(losses) == 1
    info = json.loads((tmp_path / "chunked.json").read_text())["training"]
    assert info["steps"] == 2 and info["train_seconds"] > 0  # the record says where it stopped
    _run(chunked, 3, on_checkpoint=lambda m, s, t: seen.append(s))
    assert seen == [1, 2, 3]
    _assert_same_weights(straight, chunked)


def test_resume_from_bare_weights_continues_the_step_count_and_warms_up(tmp_path, monkeypatch):
    first = tmp_path / "first.weights.h5"
    _run(first, 2)
    seeds, crops = [], data.random_crops
    monkeypatch.setattr(data, "random_crops", lambda *a, seed, **k: seeds.append(seed) or crops(*a, seed=seed, **k))  # fmt: skip
    model, _ = _run(tmp_path / "more.weights.h5", 4, resume=first)
    assert seeds == [3 + 2, 3 + 3]  # batches 2 and 3, not 0 and 1 again
    info = json.loads((tmp_path / "more.json").read_text())["training"]
    assert info["steps"] == 4 and info["resumed_from"] == "first.weights.h5 at step 2"
    # a fresh Adam on trained weights warms up linearly from 1/RESUME_WARMUP of the rate; after
    # its 2 updates it sits at (1/W + (1 - 1/W) * 2/W) of it
    start = 5e-4 / RESUME_WARMUP
    expected = start + (5e-4 - start) * 2 / RESUME_WARMUP
    assert float(ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(
        expected, rel=1e-5
    )


def test_a_gain_starts_from_weights_trained_without_one_as_the_same_codec(tmp_path):
    first = tmp_path / "first.weights.h5"
    _run(first, 2)
    keras.utils.set_random_seed(0)
    gained = ResidualLSTMCodec(**{**TINY, "gain": "learned"})
    # the file is at step 2 already: nothing to train, only the start to check
    train(gained, _images(), 2, tmp_path / "more.weights.h5", progress=False, resume=first)
    np.testing.assert_array_equal(ops.convert_to_numpy(gained.log_gains()), np.zeros(3))
    x = _images()[0][None, :32, :32]
    np.testing.assert_allclose(
        ops.convert_to_numpy(gained(x)), ops.convert_to_numpy(load_model(first)(x)), atol=1e-6
    )


def test_narrower_hidden_kernels_start_from_the_sum_of_the_wider_ones_taps(tmp_path):
    first = tmp_path / "first.weights.h5"
    wide, _ = _run(first, 1)
    narrow = ResidualLSTMCodec(**{**TINY, "decoder_hidden_kernels": (1, 1, 1, 1)})
    assert start_from_weights(narrow, first)[0] == 1
    for w, n in zip(wide.decoder.cells, narrow.decoder.cells, strict=True):
        kernel = ops.convert_to_numpy(w.recurrent_kernel)
        summed = sum(kernel[i, j] for i in range(kernel.shape[0]) for j in range(kernel.shape[1]))
        np.testing.assert_allclose(
            ops.convert_to_numpy(n.recurrent_kernel)[0, 0], summed, atol=1e-6
        )
        np.testing.assert_array_equal(
            ops.convert_to_numpy(n.kernel), ops.convert_to_numpy(w.kernel)
        )
    # the sum is exact where the hidden state is the same across the 3x3 window: inside the map
    cell_w, cell_n = wide.decoder.cells[-1], narrow.decoder.cells[-1]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 6, 6, cell_w.kernel.shape[2])).astype("float32")
    h = np.broadcast_to(rng.normal(size=(1, 1, 1, cell_w.filters)), (1, 6, 6, cell_w.filters))
    c = rng.normal(size=(1, 6, 6, cell_w.filters))
    states = [ops.convert_to_tensor(v, "float32") for v in (h, c)]
    out_w, out_n = (ops.convert_to_numpy(cell(x, states)[0]) for cell in (cell_w, cell_n))
    np.testing.assert_allclose(out_n[:, 1:-1, 1:-1], out_w[:, 1:-1, 1:-1], atol=1e-5)
    assert not np.allclose(out_n[:, 0], out_w[:, 0], atol=1e-3)  # zero padding at the edge


def test_a_start_whose_kernels_cannot_be_narrowed_is_refused(tmp_path):
    first = tmp_path / "first.weights.h5"
    _run(first, 1)
    wider = ResidualLSTMCodec(**{**TINY, "decoder_hidden_kernels": (3, 3, 3, 3)})
    with pytest.raises(
        CodecError, match=r"cannot start a \(3, 3, 16, 64\) weight from a \(1, 1, 16, 64\)"
    ):
        start_from_weights(wider, first)


def _tiny_model(kind=ResidualLSTMCodec):
    keras.utils.set_random_seed(0)
    model = kind(**TINY)
    model.build((None, 32, 32, 3))
    return model


def test_held_out_quality_and_profile_follow_the_model_output():
    model = _tiny_model()
    rng = np.random.default_rng(1)
    images = {"a": rng.random((64, 64, 3)).astype("float32"), "b": rng.random((32, 48, 3)).astype("float32")}  # fmt: skip
    quality = held_out_quality(model, (1, 3), images)
    profile = iteration_profile(model, images)
    outputs = {n: np.clip(ops.convert_to_numpy(model(x[None]))[0], 0, 1) for n, x in images.items()}
    for name, x in images.items():  # the training graph's reconstructions are the reference
        for k in (1, 3):
            assert quality[k][name] == pytest.approx(
                metrics.ms_ssim(x, outputs[name][k - 1]), abs=1e-4
            )
    assert [row["iteration"] for row in profile] == [1, 2, 3]
    first_residual = np.mean([np.abs(x - 0.5).mean() for x in images.values()])
    assert profile[0]["residual"] == pytest.approx(first_residual, rel=1e-5)
    for before, after in zip(profile, profile[1:], strict=False):
        assert after["residual"] == pytest.approx(before["error"], rel=1e-5)
    last_error = np.mean([np.abs(x - outputs[n][-1]).mean() for n, x in images.items()])
    assert profile[-1]["error"] == pytest.approx(last_error, rel=1e-3)
    # the decoder's correction: how far iteration k moves the image (from mid-grey at first)
    for k, row in enumerate(profile):
        moves = [np.abs(outputs[n][k] - (outputs[n][k - 1] if k else 0.5)).mean() for n in images]
        assert row["correction"] == pytest.approx(np.mean(moves), rel=1e-3)
        assert row["ms_ssim"] == pytest.approx(np.mean([metrics.ms_ssim(x, outputs[n][k]) for n, x in images.items()]), abs=1e-4)  # fmt: skip


def test_balanced_loss_is_the_mean_log_error_per_iteration_and_ships_as_plain_weights(tmp_path):
    model = _tiny_model(BalancedLossCodec)
    x = np.random.default_rng(2).random((4, 32, 32, 3)).astype("float32")
    y_pred = ops.convert_to_numpy(model(x))
    per_iteration = np.abs(y_pred - x[:, None]).mean(axis=(0, 2, 3, 4))
    loss = float(ops.convert_to_numpy(model.compute_loss(x=x, y_pred=y_pred)))
    assert loss == pytest.approx(np.mean(np.log(per_iteration + 1e-4)), rel=1e-5)
    model.compile(keras.optimizers.Adam(1e-3))
    model.fit(x, epochs=1, batch_size=4, verbose=0)
    model.save(tmp_path / "balanced.keras")  # registered: survives a .keras round trip
    restored = keras.models.load_model(tmp_path / "balanced.keras")
    assert type(restored) is BalancedLossCodec
    np.testing.assert_allclose(
        ops.convert_to_numpy(restored(x)), ops.convert_to_numpy(model(x)), atol=1e-6
    )
    from keraslstm.codec import save_model

    plain = load_model(save_model(model, tmp_path / "b.weights.h5", steps=1))
    assert type(plain) is ResidualLSTMCodec
    np.testing.assert_allclose(
        ops.convert_to_numpy(plain(x)), ops.convert_to_numpy(model(x)), atol=1e-6
    )


def test_a_training_folder_may_not_hold_an_evaluation_photo(tmp_path):
    from PIL import Image

    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "Kite.png")  # a training photo
    assert len(training_images(str(tmp_path))) == 1
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "Path.png")  # held out
    with pytest.raises(CodecError, match=r"holds evaluation photos \(Path.png\)"):
        training_images(str(tmp_path))


def test_gate_saturation_counts_the_gates_stuck_at_0_and_1_per_layer_and_iteration():
    model = _tiny_model()
    rng = np.random.default_rng(2)
    images = {"a": rng.random((40, 56, 3)).astype("float32"), "b": rng.random((48, 48, 3)).astype("float32")}  # fmt: skip
    cell = model.decoder.cells[0]
    bias = ops.convert_to_numpy(cell.bias).copy()
    bias[: cell.filters] = 100.0  # input gates always open
    bias[3 * cell.filters :] = -100.0  # output gates always closed
    cell.bias.assign(bias)
    first = model.encoder.cells[0]
    first.kernel.assign(30 * first.kernel)  # from a fresh model's 0 % to some saturated units
    shares = gate_saturation(model, images)
    assert list(shares) == [f"encoder/conv_lstm_{i}" for i in range(3)] + [f"decoder/conv_lstm_{i}" for i in range(4)]  # fmt: skip
    stuck = shares["decoder/conv_lstm_0"]
    assert stuck["input"] == {"open": [1.0] * 3, "closed": [0.0] * 3}
    assert stuck["output"] == {"open": [0.0] * 3, "closed": [1.0] * 3}
    assert all("lstm_update" not in vars(c) for c in model.encoder.cells + model.decoder.cells)
    # iteration 1 of the encoder's first cell by hand: both photos' central 32 x 32 crops, the
    # stem and the cell's input convolution (the hidden state is still 0), the paper's gate
    crops = np.stack([images["a"][4:36, 12:44], images["b"][8:40, 8:40]]) - 0.5
    stem = conv_same(crops, ops.convert_to_numpy(model.encoder.stem.kernel), 2)
    z = conv_same(stem, ops.convert_to_numpy(first.kernel), 2, ops.convert_to_numpy(first.bias))
    gates = np.clip(0.2 * z + 0.5, 0, 1)
    for k, name in ((0, "input"), (1, "forget"), (3, "output")):
        gate = gates[..., k * first.filters : (k + 1) * first.filters]
        got = shares["encoder/conv_lstm_0"][name]
        assert got["closed"][0] == pytest.approx(np.mean(gate == 0.0))
        assert got["open"][0] == pytest.approx(np.mean(gate == 1.0))
        assert 0 < np.mean(gate == 0.0) and 0 < np.mean(gate == 1.0)  # units of both kinds
    with pytest.raises(ValueError, match="at least 16 pixels a side"):
        gate_saturation(model, {"small": images["a"][:8, :8]})


def test_priors_saved_beside_weights_load_with_them(tmp_path, monkeypatch):
    from keraslstm.codec import entropy
    from keraslstm.codec.api import encode_progressive
    from keraslstm.codec.weights import fingerprint, priors_path, save_model

    monkeypatch.setattr(entropy, "PRIORS", {})
    model, images = _tiny_model(), _images()
    weights = save_model(model, tmp_path / "tiny.weights.h5")
    priors = entropy_priors(model, images, 2, out=priors_path(weights))
    codes = [encode_progressive(model, image, 2, reconstructions=False)[0] for image in images]
    np.testing.assert_array_equal(priors, entropy.estimate_priors(codes))
    assert np.load(tmp_path / "tiny.priors.npy").dtype == np.uint8
    entropy.PRIORS.clear()
    loaded = load_model(weights)  # registers the priors beside the weights, by fingerprint
    np.testing.assert_array_equal(entropy.PRIORS[fingerprint(loaded)], priors)
    entropy.PRIORS.clear()
    load_model(weights)  # a cached model: its priors are registered again all the same
    np.testing.assert_array_equal(entropy.PRIORS[fingerprint(loaded)], priors)
    broken = save_model(model, tmp_path / "broken.weights.h5")
    for content, message in (
        (np.zeros((3, 2)), "priors are counts of shape"),
        (np.array(["a"] * 12).reshape(6, 2), "priors must be numbers"),
    ):
        np.save(priors_path(broken), content)
        with pytest.raises(CodecError, match=rf"broken.priors.npy: {message}"):
            load_model(broken)
    priors_path(broken).write_bytes(b"not numpy")
    with pytest.raises(CodecError, match=r"broken.priors.npy: "):
        load_model(broken)
    np.savez(tmp_path / "archive.npz", priors)
    (tmp_path / "archive.npz").rename(priors_path(broken))
    with pytest.raises(CodecError, match=r"broken.priors.npy: not one array"):
        load_model(broken)
