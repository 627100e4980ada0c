"""keraslstm.forest: the random-forest generator of notebook 01 (RFAGM)."""

import numpy as np
import pytest

from keraslstm.forest import ForestGenerator


def _halves(n, seed):
    """Two classes: class 0 lights the left half of an 8x8 image, class 1 the right; plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(2, size=n)
    images = rng.random((n, 8, 8, 1)).astype("float32") * 0.2
    images[labels == 0, :, :4] += 0.7
    images[labels == 1, :, 4:] += 0.7
    return images, labels


def test_shapes_and_growth_keep_the_earlier_trees():
    images, labels = _halves(60, seed=0)
    model = ForestGenerator(code_dim=4, seed=0).fit(images, labels)
    assert model.n_trees == 1
    first_tree = model.forest.estimators_[0]
    model.grow(5)
    assert model.n_trees == 5 and model.forest.estimators_[0] is first_tree
    assert model.reconstruct(images[:3]).shape == (3, 8, 8, 1)
    samples = model.generate(labels=[0, 1, 1], seed=0)
    assert samples.shape == (3, 8, 8, 1) and samples.min() >= 0 and samples.max() <= 1


def test_more_trees_reconstruct_held_out_images_better():
    images, labels = _halves(200, seed=1)
    test_images, _ = _halves(50, seed=2)
    model = ForestGenerator(code_dim=6, seed=0).fit(images, labels)
    one_tree = np.mean((model.reconstruct(test_images) - test_images) ** 2)
    model.grow(20)
    twenty_trees = np.mean((model.reconstruct(test_images) - test_images) ** 2)
    assert twenty_trees < 0.9 * one_tree


def test_generated_images_follow_the_asked_class():
    images, labels = _halves(100, seed=3)
    model = ForestGenerator(code_dim=4, seed=0).fit(images, labels).grow(5)
    left = model.generate(labels=[0] * 20, seed=1)
    right = model.generate(labels=[1] * 20, seed=1)
    assert left[:, :, :4].mean() > left[:, :, 4:].mean() + 0.4
    assert right[:, :, 4:].mean() > right[:, :, :4].mean() + 0.4


def test_sample_codes_follow_each_class_gaussian_in_code_space():
    images, labels = _halves(300, seed=6)
    model = ForestGenerator(code_dim=3, seed=0).fit(images, labels)
    asked = np.random.default_rng(0).integers(2, size=8000)  # classes interleaved
    codes = model.sample_codes(asked, seed=0)
    assert codes.shape == (8000, 3)
    for c in (0, 1):
        real = model.encode(images[labels == c])  # the class's codes: the reference Gaussian
        drawn = codes[asked == c]
        spread = np.sqrt(np.diag(np.cov(real.T)) / len(drawn))
        np.testing.assert_array_less(np.abs(drawn.mean(0) - real.mean(0)), 5 * spread)
        np.testing.assert_allclose(np.cov(drawn.T), np.cov(real.T), atol=0.1 * np.cov(real.T).max())
    # each code comes from the class asked at its position: nearer that class's mean
    means = np.stack([model.encode(images[labels == c]).mean(0) for c in (0, 1)])
    nearest = np.linalg.norm(codes[:, None] - means[None], axis=-1).argmin(axis=1)
    assert (nearest == asked).mean() > 0.99
    np.testing.assert_array_equal(model.sample_codes(asked[:5], seed=0), model.sample_codes(asked[:5], seed=0))  # fmt: skip


def test_sampling_is_seeded():
    images, labels = _halves(60, seed=4)
    model = ForestGenerator(code_dim=4, seed=0).fit(images, labels)
    a, b = (model.generate(labels=[0, 1], seed=7) for _ in range(2))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, model.generate(labels=[0, 1], seed=8))


def test_bad_calls_name_the_problem():
    images, labels = _halves(30, seed=5)
    model = ForestGenerator(code_dim=4, seed=0)
    with pytest.raises(ValueError, match="call fit"):
        model.grow(3)
    model.fit(images, labels).grow(3)
    with pytest.raises(ValueError, match="has 3 trees already"):
        model.grow(2)
    with pytest.raises(ValueError, match="unknown classes \\[5\\]"):
        model.generate(labels=[5])
    with pytest.raises(ValueError, match="conditional"):
        model.generate(4)
    with pytest.raises(ValueError, match="fitted on \\(8, 8, 1\\) images"):
        model.reconstruct(np.zeros((2, 9, 9, 1)))
