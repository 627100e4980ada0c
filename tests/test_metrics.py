"""keraslstm.metrics against independent references: scikit-image, TensorFlow, SciPy, hand cases."""

import numpy as np
import pytest
import tensorflow as tf
from scipy import linalg
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from keraslstm import metrics


def _pair(shape, noise=0.1, seed=0):
    """An image and a noisy copy, drawn from the caller's seed (no generator shared by tests)."""
    rng = np.random.default_rng(seed)
    a = rng.random(shape)
    return a, np.clip(a + rng.normal(0, noise, shape), 0, 1)


@pytest.mark.parametrize("shape", [(40, 50), (40, 50, 3)])
def test_psnr_and_ssim_match_scikit_image(shape):
    a, b = _pair(shape)
    assert metrics.psnr(a, b) == pytest.approx(
        peak_signal_noise_ratio(a, b, data_range=1.0), abs=1e-10
    )
    reference = structural_similarity(
        a, b, data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
        channel_axis=-1 if len(shape) == 3 else None,
    )  # fmt: skip
    assert metrics.ssim(a, b) == pytest.approx(reference, abs=1e-9)


def test_psnr_max_val_and_identical_images():
    a, b = _pair((16, 16))
    assert metrics.psnr(a * 255, b * 255, max_val=255) == pytest.approx(metrics.psnr(a, b))
    assert metrics.psnr(a, a) == np.inf
    assert metrics.ssim(a, a) == pytest.approx(1.0)


def test_batches_give_one_value_per_image():
    a, b = _pair((3, 20, 20, 1))
    values = metrics.psnr(a, b)
    assert values.shape == (3,)
    assert values[1] == pytest.approx(metrics.psnr(a[1], b[1]))
    np.testing.assert_allclose(metrics.ssim(a, b), tf.image.ssim(a, b, 1.0).numpy(), atol=1e-5)


@pytest.mark.parametrize("shape", [(161, 161, 3), (170, 203, 1), (2, 256, 200, 3)])
def test_ms_ssim_matches_tensorflow_with_five_scales(shape):
    a, b = _pair(shape, noise=0.2)
    expected = tf.image.ssim_multiscale(a.astype("float32"), b.astype("float32"), 1.0).numpy()
    np.testing.assert_allclose(metrics.ms_ssim(a, b), expected, atol=2e-5)


def test_ms_ssim_uses_fewer_renormalised_scales_for_small_images():
    a, b = _pair((50, 47, 3))
    weights = np.array(metrics.MS_SSIM_WEIGHTS[:3]) / np.sum(metrics.MS_SSIM_WEIGHTS[:3])
    expected = tf.image.ssim_multiscale(a, b, 1.0, power_factors=weights).numpy()
    assert metrics.ms_ssim(a, b) == pytest.approx(float(expected), abs=2e-5)
    assert metrics.ms_ssim(a, b) == pytest.approx(metrics.ms_ssim(a, b, scales=3))


def test_ms_ssim_size_limits_match_tensorflows():
    assert metrics.ms_ssim_min_size(5) == 161 and metrics.ms_ssim_min_size(1) == 11
    a, b = _pair((160, 160, 1))
    with pytest.raises(
        ValueError, match=r"at least 161 px per side for 5 scales, got 160x160; pass scales=4"
    ):
        metrics.ms_ssim(a, b, scales=5)
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.image.ssim_multiscale(a, b, 1.0)
    with pytest.raises(ValueError, match="at least 11 px per side, got 8x30"):
        metrics.ms_ssim(*_pair((8, 30)))


def test_image_metrics_name_bad_shapes():
    with pytest.raises(ValueError, match=r"same shape, got \(4, 4\) and \(4, 5\)"):
        metrics.psnr(np.zeros((4, 4)), np.zeros((4, 5)))
    with pytest.raises(ValueError, match="ambiguous"):
        metrics.ssim(np.zeros((8, 28, 28)), np.zeros((8, 28, 28)))
    with pytest.raises(ValueError, match="at least 11 px"):
        metrics.ssim(np.zeros((5, 5)), np.zeros((5, 5)))


def test_iou_and_dice_on_hand_computed_masks():
    a = np.zeros((4, 4))
    b = np.zeros((4, 4))
    a[:2, :2] = 1  # 4 pixels
    b[1:3, :2] = 1  # 4 pixels, 2 shared
    assert metrics.iou(a, b) == pytest.approx(2 / 6)
    assert metrics.dice(a, b) == pytest.approx(2 * 2 / 8)
    assert metrics.iou(np.zeros((4, 4)), np.zeros((4, 4))) == 1.0
    assert metrics.dice(a, 1 - a) == 0.0


def test_sharpness_is_the_variance_of_the_laplacian_and_drops_with_blur():
    rng = np.random.default_rng(0)
    from scipy import ndimage

    image = rng.random((32, 32))
    expected = ndimage.laplace(image, mode="reflect").var()
    assert metrics.sharpness(image) == pytest.approx(expected)
    blurred = ndimage.gaussian_filter(image, 1.5)
    assert metrics.sharpness(np.stack([image, blurred])[..., None]).tolist() == pytest.approx(
        [expected, ndimage.laplace(blurred, mode="reflect").var()]
    )
    assert metrics.sharpness(blurred) < 0.1 * metrics.sharpness(image)


def test_frechet_distance_matches_scipy_sqrtm():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 6))
    b = rng.normal(0.3, 1.5, size=(400, 6)) @ rng.normal(size=(6, 6))
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(cov_a @ cov_b).real
    expected = np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b - 2 * root)
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-8)
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_of_shifted_gaussians_is_the_squared_shift():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2000, 3))
    assert metrics.frechet_distance(a, a + [1.0, 2.0, 0.0]) == pytest.approx(5.0, abs=1e-8)


def test_frechet_distance_refuses_too_few_samples_and_warns_when_singular():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="at least 2 samples per set, the second has 1"):
        metrics.frechet_distance(np.zeros((5, 3)), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="feature dimensions differ, 3 vs 4"):
        metrics.frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.warns(UserWarning, match="singular"):
        metrics.frechet_distance(rng.normal(size=(5, 8)), rng.normal(size=(50, 8)))


def test_inception_score_hand_cases():
    confident_spread = np.eye(10)[np.arange(100) % 10]
    assert metrics.inception_score(confident_spread, splits=10) == pytest.approx((10.0, 0.0))
    all_same = np.tile(np.eye(10)[3], (50, 1))
    assert metrics.inception_score(all_same, splits=5)[0] == pytest.approx(1.0)
    uncertain = np.full((20, 4), 0.25)
    assert metrics.inception_score(uncertain, splits=2)[0] == pytest.approx(1.0)
    # marginal (1/4, 1/2, 1/4); KL of each row = 1/2 log(0.5/0.25) = log(2)/2 -> IS = sqrt(2)
    two = np.array([[0.5, 0.5, 0], [0, 0.5, 0.5]])
    assert metrics.inception_score(two, splits=1)[0] == pytest.approx(np.sqrt(2))
    with pytest.raises(ValueError, match="probabilities"):
        metrics.inception_score(np.ones((4, 3)))
    with pytest.raises(ValueError, match="splits must be between 1 and the sample count 4"):
        metrics.inception_score(np.full((4, 2), 0.5), splits=10)


def test_precision_recall_hand_case():
    real = np.array([[0.0], [1.0], [2.0], [3.0]])
    # k=1 radii of real points: 1 each. Fakes at 0.5 and 3.9 are inside, 10 is not.
    fake = np.array([[0.5], [3.9], [10.0], [10.5]])
    precision, recall = metrics.precision_recall(real, fake, k=1)
    assert precision == pytest.approx(2 / 4)
    # fake radii (k=1): 3.4, 3.4 (from 0.5: 3.4; from 3.9: 3.4), 0.5, 0.5 -> every real point is covered
    assert recall == pytest.approx(1.0)
    assert metrics.precision_recall(real, real, k=1) == (1.0, 1.0)
    with pytest.raises(ValueError, match="at least 4 samples"):
        metrics.precision_recall(real[:3], fake, k=3)


def test_authenticity_hand_case():
    real = np.array([[0.0], [1.0], [5.0]])  # nearest-neighbour gaps: 1, 1, 4
    fake = np.array([[0.0], [1.5], [7.0], [5.5]])  # gaps to nearest real: 0, 0.5, 2, 0.5
    assert metrics.authenticity(real, fake) == pytest.approx(0.0)
    assert metrics.authenticity(real, np.array([[-3.0], [10.0]])) == pytest.approx(1.0)
    assert metrics.authenticity(real, real) == 0.0


def test_mean_ci_against_the_t_table():
    mean, half = metrics.mean_ci([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert half == pytest.approx(4.302653 / np.sqrt(3), rel=1e-6)  # t(0.975, 2 dof), sd 1
    with pytest.raises(ValueError, match="at least 2 values"):
        metrics.mean_ci([1.0])


def test_clipped_ci_cuts_the_t_interval_at_the_bounds():
    values = [1.0, 1.0, 1.0, 1.0, 0.5]  # skewed: the t-interval runs past 1
    mean, half = metrics.mean_ci(values)
    assert mean + half > 1.0
    assert metrics.clipped_ci(values) == pytest.approx((mean, mean - half, 1.0))
    assert metrics.clipped_ci([0.2, 0.4, 0.6], low=0.3, high=0.5) == pytest.approx((0.4, 0.3, 0.5))
    with pytest.raises(ValueError, match="low < high"):
        metrics.clipped_ci(values, low=1.0, high=0.0)


def test_wilson_interval_hand_case():
    low, high = metrics.wilson_interval(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-4) and high == pytest.approx(0.5962, abs=1e-4)
    low, high = metrics.wilson_interval(100, 100)
    assert high == pytest.approx(1.0) and low == pytest.approx(0.9630, abs=1e-4)
    with pytest.raises(ValueError, match="successes <= n"):
        metrics.wilson_interval(5, 4)
