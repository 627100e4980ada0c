"""keraslstm.scorers: the cached digit classifier that scores generated digits."""

import numpy as np
import pytest

from keraslstm import data, metrics, scorers
from keraslstm.scorers import DigitScorer, FaceScorer, digit_classifier, face_classifier


@pytest.fixture(scope="module")
def scorer():
    return DigitScorer()


def test_cached_classifier_recognises_held_out_digits(scorer):
    _, (x_test, y_test) = data.digits()
    features, probs = scorer(x_test)
    assert features.shape == (1000, 64) and probs.shape == (1000, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert np.mean(probs.argmax(axis=1) == y_test) >= 0.95


def test_real_digits_score_near_the_top_of_the_inception_score(scorer):
    _, (x_test, _) = data.digits()
    _, probs = scorer(x_test)
    assert metrics.inception_score(probs)[0] > 8.0
    _, noise_probs = scorer(np.random.default_rng(0).random((1000, 28, 28, 1)))
    assert metrics.inception_score(noise_probs)[0] < 3.0


def test_scorer_names_wrong_shapes_and_missing_files(scorer, tmp_path):
    with pytest.raises(ValueError, match=r"\(n, 28, 28, 1\) images"):
        scorer(np.zeros((4, 28, 28)))
    with pytest.raises(FileNotFoundError, match="python -m keraslstm.scorers"):
        digit_classifier(tmp_path / "none.keras")


def test_score_generator_on_a_perfect_and_a_copying_generator(scorer):
    (x_train, y_train), (x_test, y_test) = data.digits()
    train_features, _ = scorer(x_train[:1000])
    perfect = scorers.score_generator(
        scorer, x_test[:200], x_test[:200], x_test[:200], y_test[:200], train_features
    )
    assert perfect["psnr"] == np.inf
    assert perfect["ssim"] == pytest.approx(1.0) and perfect["iou"] == perfect["dice"] == 1.0
    assert perfect["accuracy"] >= 0.95 and perfect["precision"] == perfect["recall"] == 1.0
    copying = scorers.score_generator(
        scorer, x_test[:200], x_test[:200], x_train[:200], y_train[:200], train_features
    )
    assert copying["authenticity"] == 0.0  # every sample is a training image
    assert perfect["authenticity"] > 0.3  # held-out digits are mostly not copies
    noise = np.random.default_rng(0).random((200, 28, 28, 1)).astype("float32")
    noisy = scorers.score_generator(
        scorer, x_test[:200], noise, noise, y_test[:200], train_features
    )
    assert noisy["psnr"] < 10 and noisy["iou"] < 0.3 and noisy["accuracy"] < 0.3
    # one digit drawn 200 times is realistic but covers almost nothing: recall, not precision
    single = np.repeat(x_test[:1], 200, axis=0)
    copies = scorers.score_generator(
        scorer, x_test[:200], x_test[:200], single, y_test[:200], train_features
    )
    assert copies["precision"] == 1.0 and copies["recall"] < 0.1


def test_images_per_second_times_the_generator():
    import time

    rate = scorers.images_per_second(lambda n: time.sleep(0.02), n=100, repeats=3)
    assert 100 / 0.03 < rate < 100 / 0.02 * 1.01


# Notebook 04: the face/non-face classifier that scores generated faces.


@pytest.fixture(scope="module")
def face_scorer():
    return FaceScorer()


def test_cached_face_classifier_tells_faces_from_non_faces(face_scorer):
    _, (x_test, y_test) = data.faces(size=24)
    features, probs = face_scorer(x_test)
    assert features.shape == (50, 16) and probs.shape == (50, 2)
    assert np.mean(probs.argmax(axis=1) == y_test) >= 0.9


def test_face_features_tell_real_faces_from_noise(face_scorer):
    (x, y), _ = data.faces(size=24)
    faces = x[y == 1]
    half = len(faces) // 2
    real_a, _ = face_scorer(faces[:half])
    real_b, _ = face_scorer(faces[half : 2 * half])
    noise, _ = face_scorer(np.random.default_rng(0).random((half, 24, 24, 1)))
    assert metrics.frechet_distance(real_a, real_b) < metrics.frechet_distance(real_a, noise) / 5


def test_face_scorer_names_wrong_shapes_and_missing_files(face_scorer, tmp_path):
    with pytest.raises(ValueError, match=r"FaceScorer takes \(n, 24, 24, 1\) images"):
        face_scorer(np.zeros((4, 28, 28, 1)))
    with pytest.raises(FileNotFoundError, match="python -m keraslstm.scorers faces"):
        face_classifier(tmp_path / "none.keras")


def test_train_digit_classifier_draws_its_split_from_split_seed(monkeypatch):
    # a second scorer (seed 1) keeps the first one's split, so it never trains on its test digits
    splits, real = [], data.digits

    def small_digits(seed=0, **kwargs):
        splits.append(seed)
        return tuple((x[:64], y[:64]) for x, y in real(seed=seed, **kwargs))

    monkeypatch.setattr(scorers.data, "digits", small_digits)
    scorers.train_digit_classifier(epochs=1, seed=1, split_seed=0)
    scorers.train_digit_classifier(epochs=1, seed=1)
    assert splits == [0, 1]
