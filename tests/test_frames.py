"""keraslstm.frames: per-pixel filters, a causal next-frame predictor and its rollout."""

import keras
import numpy as np
import pytest
import scipy.special

from keraslstm import data, frames


def test_dynamic_filter_against_a_numpy_loop():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 6, 7, 9)).astype("float32")
    images = rng.random((2, 6, 7, 2)).astype("float32")
    out = keras.ops.convert_to_numpy(frames.DynamicFilter(3)([logits, images]))
    weights = scipy.special.softmax(logits, axis=-1)
    padded = np.pad(images, [(0, 0), (1, 1), (1, 1), (0, 0)])
    expected = np.zeros_like(images)
    for y in range(6):
        for x in range(7):
            window = padded[:, y : y + 3, x : x + 3].reshape(2, 9, 2)  # offsets row by row
            expected[:, y, x] = np.einsum("bk,bkc->bc", weights[:, y, x], window)
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_a_one_hot_filter_moves_the_frame():
    image = np.zeros((1, 5, 5, 1), "float32")
    image[0, 2, 2] = 1.0
    logits = np.full((1, 5, 5, 9), -1e4, "float32")
    logits[..., 3] = 0.0  # offset (0, -1): every pixel copies its left neighbour
    moved = keras.ops.convert_to_numpy(frames.DynamicFilter(3)([logits, image]))
    assert moved[0, 2, 3, 0] == pytest.approx(1.0) and moved.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="odd kernel"):
        frames.DynamicFilter(4)


def _small(core, **options):
    keras.utils.set_random_seed(0)
    return frames.FramePredictor((8, 8, 1), output_frames=3, width=4, core_filters=8, kernel=3,
                                 core=core, history=2, **options)  # fmt: skip


@pytest.mark.parametrize("core", frames.CORES)
def test_the_predictor_is_causal_and_survives_saving(core, tmp_path):
    model = _small(core)
    seq = np.random.default_rng(1).random((2, 5, 8, 8, 1)).astype("float32")
    out = keras.ops.convert_to_numpy(model(seq))
    assert out.shape == (2, 5 - 1 + 3, 8, 8, 1)
    assert 0 <= out.min() and out.max() <= 1  # mixtures of pixels
    changed = seq.copy()
    changed[:, 3:] = 0.5  # later frames change; predictions made before them must not
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(changed))[:, :3], out[:, :3], atol=1e-6)  # fmt: skip
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(again(seq)), out, atol=1e-6)


@pytest.mark.parametrize("core", frames.CORES)
def test_the_rollout_feeds_predictions_back(core):
    model = _small(core)
    seq = np.random.default_rng(2).random((3, 4, 8, 8, 1)).astype("float32")
    forecast = model.forecast(seq)
    assert forecast.shape == (3, 3, 8, 8, 1)
    # observing the first two predictions as if they were frames gives the same last prediction
    longer = np.concatenate([seq, forecast[:, :2]], axis=1)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(longer))[:, 5], forecast[:, 2], atol=1e-5)  # fmt: skip


def test_scheduled_sampling_mixes_true_frames_into_the_rollout():
    model = _small("convlstm", observed_frames=3)
    seq = np.random.default_rng(4).random((4, 5, 8, 8, 1)).astype("float32")
    rollout = keras.ops.convert_to_numpy(model(seq[:, :3]))  # frames 4-5 from its own predictions
    model.teacher_forcing.assign(0.0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(seq, training=True)), rollout, atol=1e-6)  # fmt: skip
    model.teacher_forcing.assign(1.0)  # every later frame true: as if all five were observed
    forced = keras.ops.convert_to_numpy(model(seq, training=True))
    model.observed_frames = 5
    np.testing.assert_allclose(forced[:, :4], keras.ops.convert_to_numpy(model(seq))[:, :4], atol=1e-6)  # fmt: skip
    assert not np.allclose(forced[:, 3], rollout[:, 3])
    model.observed_frames = 3
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model(seq)), rollout, atol=1e-6
    )  # not in inference


def test_the_schedule_lowers_teacher_forcing_to_zero():
    model = _small("convlstm", observed_frames=3)
    schedule = frames.ScheduledSampling(decay_steps=4)
    schedule.set_model(model)
    seen = []
    for batch in range(6):
        schedule.on_train_batch_begin(batch)
        seen.append(float(keras.ops.convert_to_numpy(model.teacher_forcing)))
    assert seen == [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    with pytest.raises(ValueError, match="decay_steps must be at least 1"):
        frames.ScheduledSampling(0)


def test_the_frame_stack_control_sees_only_its_history():
    model = _small("frame_stack")
    seq = np.random.default_rng(3).random((2, 5, 8, 8, 1)).astype("float32")
    out = keras.ops.convert_to_numpy(model(seq))
    changed = seq.copy()
    changed[:, :1] = 0.0  # by step 4 a 2-step history holds steps 3-4, which read frames 2-4
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(changed))[:, 3], out[:, 3], atol=1e-6)  # fmt: skip
    assert not np.allclose(keras.ops.convert_to_numpy(_small("convlstm")(changed))[:, 3],
                           keras.ops.convert_to_numpy(_small("convlstm")(seq))[:, 3])  # fmt: skip


@pytest.mark.parametrize("core", frames.CORES)
def test_a_training_step_lowers_the_loss(core):
    model = _small(core)
    seq = data.moving_digits(8, frames=6, size=32, seed=0).reshape(8, 6, 8, 4, 8, 4, 1).mean(axis=(3, 5))  # fmt: skip
    model.compile(keras.optimizers.Adam(3e-3), "binary_crossentropy")
    x, y = seq[:, :3], seq[:, 1:]
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=5, batch_size=8, verbose=0)
    assert model.evaluate(x, y, verbose=0) < before


def test_the_predictor_rejects_what_it_cannot_run():
    with pytest.raises(ValueError, match="side divisible by 4"):
        frames.FramePredictor((30, 30, 1))
    with pytest.raises(ValueError, match="Unknown core 'gru'"):
        frames.FramePredictor(core="gru")
    with pytest.raises(ValueError, match=r"takes \(batch, time, \*\(8, 8, 1\)\)"):
        _small("convlstm")(np.zeros((1, 3, 16, 16, 1), "float32"))
