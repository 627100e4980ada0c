"""keraslstm.frames: per-pixel filters, a causal next-frame predictor and its rollout."""

import keras
import numpy as np
import pytest
import scipy.special

from keraslstm import frames


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


def test_frame_stack_puts_the_last_steps_side_by_side():
    x = np.arange(2 * 4 * 1 * 1 * 2, dtype="float32").reshape(2, 4, 1, 1, 2)
    stacked = keras.ops.convert_to_numpy(frames.FrameStack(3)(x))
    assert stacked.shape == (2, 4, 1, 1, 6)
    np.testing.assert_array_equal(stacked[:, 0, ..., :4], 0)  # nothing before the start
    np.testing.assert_array_equal(stacked[:, 3], np.concatenate([x[:, 1], x[:, 2], x[:, 3]], -1))


@pytest.mark.parametrize("recurrent", [True, False])
def test_the_predictor_is_causal_and_survives_saving(recurrent, tmp_path):
    keras.utils.set_random_seed(0)
    model = frames.next_frame_predictor((8, 8, 1), steps=5, width=4, core_filters=8, kernel=3,
                                        recurrent=recurrent, history=2)  # fmt: skip
    seq = np.random.default_rng(1).random((2, 5, 8, 8, 1)).astype("float32")
    out = keras.ops.convert_to_numpy(model(seq))
    assert out.shape == seq.shape and 0 <= out.min() and out.max() <= 1  # mixtures of pixels
    changed = seq.copy()
    changed[:, 3:] = 0.5  # the future changes; outputs before it must not
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model(changed))[:, :3], out[:, :3], atol=1e-6
    )
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(again(seq)), out, atol=1e-6)


def test_rollout_feeds_predictions_back():
    keras.utils.set_random_seed(0)
    model = frames.next_frame_predictor((8, 8, 1), steps=5, width=4, core_filters=8, kernel=3)
    seq = np.random.default_rng(2).random((3, 3, 8, 8, 1)).astype("float32")
    predicted = frames.rollout(model, seq, 3)
    assert predicted.shape == (3, 3, 8, 8, 1)
    padded = np.concatenate([seq, predicted[:, :2]], axis=1)  # what the model saw at the end
    last = keras.ops.convert_to_numpy(model(padded))[:, -1]
    np.testing.assert_allclose(predicted[:, 2], last, atol=1e-5)
    with pytest.raises(ValueError, match="time \\+ output_frames - 1 <= 5"):
        frames.rollout(model, seq, 4)
