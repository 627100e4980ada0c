"""keraslstm.metrics against independent references: scikit-image, TensorFlow, SciPy, hand cases."""

import re
import warnings

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


def test_ssim_and_ms_ssim_scale_with_max_val():
    a, b = _pair((170, 180, 3), noise=0.2, seed=3)
    a255, b255 = a * 255, b * 255
    reference = structural_similarity(
        a255, b255, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
        channel_axis=-1,
    )  # fmt: skip
    assert metrics.ssim(a255, b255, max_val=255) == pytest.approx(reference, abs=1e-9)
    assert metrics.ssim(a255, b255, max_val=255) == pytest.approx(metrics.ssim(a, b), abs=1e-9)
    expected = tf.image.ssim_multiscale(a255.astype("float32"), b255.astype("float32"), 255.0)
    assert metrics.ms_ssim(a255, b255, max_val=255) == pytest.approx(float(expected), abs=2e-5)
    # the stabilising constants (0.01 max_val)^2 and (0.03 max_val)^2 matter: a wrong max_val
    # on these dark, low-contrast images changes the score
    dark, noisy = a * 0.05, b * 0.05
    assert metrics.ssim(dark, noisy, max_val=1.0) > metrics.ssim(dark, noisy, max_val=0.05) + 0.05


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


def test_iou_and_dice_threshold_counts_only_pixels_strictly_above_it():
    a = np.array([[0.1, 0.3], [0.6, 0.9]])
    b = np.array([[0.3, 0.05], [0.1, 0.8]])
    # above 0.2: A = {(0,1), (1,0), (1,1)}, B = {(0,0), (1,1)}: 1 shared of 4
    assert metrics.iou(a, b, threshold=0.2) == pytest.approx(1 / 4)
    assert metrics.dice(a, b, threshold=0.2) == pytest.approx(2 * 1 / (3 + 2))
    # above 0.3 (0.3 itself is out): A = {(1,0), (1,1)}, B = {(1,1)}
    assert metrics.iou(a, b, threshold=0.3) == pytest.approx(1 / 2)
    assert metrics.dice(a, b, threshold=0.3) == pytest.approx(2 * 1 / (2 + 1))
    # the default 0.5: A = {(1,0), (1,1)}, B = {(1,1)}; above 0.85 only A keeps a pixel
    assert metrics.iou(a, b) == pytest.approx(1 / 2)
    assert metrics.iou(a, b, threshold=0.85) == 0.0 and metrics.dice(a, b, threshold=0.85) == 0.0
    batch = metrics.iou(np.stack([a, b])[..., None], np.stack([b, b])[..., None], threshold=0.2)
    np.testing.assert_allclose(batch, [1 / 4, 1.0])
    np.testing.assert_allclose(metrics.dice(np.stack([a, a])[..., None], np.stack([b, a])[..., None], 0.2), [2 / 5, 1.0])  # fmt: skip


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


# Published Bjontegaard examples: "Sample 1" of the VCEG-M33 Python port and "Test 1" / "Test 3"
# of the FAU-LMS `bjontegaard` package (BSD-3). Expected values: the VCEG-M33 cubic numbers as
# published with those examples (31.397374054908013 %, -4.420462706090111 %), and the PCHIP
# numbers computed by `bjontegaard` 1.3.0, `bd_rate(..., method="pchip")`, in a separate venv.
SAMPLE_1 = ([686.76, 309.58, 157.11, 85.95], [40.28, 37.18, 34.24, 31.42],
            [893.34, 407.8, 204.93, 112.75], [40.39, 37.21, 34.17, 31.24])  # fmt: skip
TEST_1 = ([9487.76, 4593.60, 2486.44, 1358.24], [40.037, 38.615, 36.845, 34.851],
          [9787.80, 4469.00, 2451.52, 1356.24], [40.121, 38.651, 36.970, 34.987])  # fmt: skip
TEST_3 = ([82472.76, 26875.24, 9487.76, 4593.6, 3600, 2900], [43.825, 41.404, 40.037, 38.615, 36.5, 35.1],
          [99896.96, 33952.04, 9787.8, 4469.0, 4040, 3300], [44.731, 41.875, 40.121, 38.651, 37, 36.5])  # fmt: skip


@pytest.mark.parametrize(
    "curves, method, expected",
    [
        (SAMPLE_1, "cubic", 31.397374054908013),
        (TEST_1, "cubic", -4.420462706090111),
        (SAMPLE_1, "pchip", 31.379878202397627),
        (TEST_1, "pchip", -4.417485350589045),
        (TEST_3, "pchip", -2.9528024116427964),
    ],
)
def test_bd_rate_matches_published_examples(curves, method, expected):
    assert metrics.bd_rate(*curves, method=method) == pytest.approx(expected, abs=1e-8)


@pytest.mark.parametrize("method", ["pchip", "cubic"])
def test_bd_rate_of_scaled_and_identical_curves(method):
    rng = np.random.default_rng(0)
    rates = np.sort(rng.uniform(0.1, 2.0, 5))
    quality = np.sort(rng.uniform(0.8, 0.99, 5))
    assert metrics.bd_rate(rates, quality, 0.8 * rates, quality, method=method) == pytest.approx(
        -20.0
    )
    assert metrics.bd_rate(rates, quality, 1.25 * rates, quality, method=method) == pytest.approx(
        25.0
    )
    assert metrics.bd_rate(rates, quality, rates, quality, method=method) == pytest.approx(
        0.0, abs=1e-12
    )
    # the order of the points does not matter
    shuffled = rng.permutation(5)
    assert metrics.bd_rate(rates[shuffled], quality[shuffled], 0.8 * rates, quality, method=method) == pytest.approx(-20.0)  # fmt: skip


def test_bd_rate_uses_only_the_common_quality_range():
    # Two-point curves are straight lines in (quality, log-rate): A from (30 dB, 0.25 bpp) to
    # (39 dB, 2 bpp), B from (33 dB, 0.5 bpp) to (45 dB, 4 bpp). Over the common range 33-39 dB
    # the mean log-rate of a line is its value at the midpoint, 36 dB: A has 0.25 * 8^(6/9) = 1
    # bpp there and B 0.5 * 8^(3/12) bpp.
    expected = 100 * (0.5 * 8 ** (3 / 12) / 1.0 - 1)
    assert metrics.bd_rate([0.25, 2.0], [30, 39], [0.5, 4.0], [33, 45]) == pytest.approx(expected)
    assert metrics.bd_rate([0.5, 4.0], [33, 45], [0.25, 2.0], [30, 39]) == pytest.approx(
        100 * (1.0 / (0.5 * 8 ** (3 / 12)) - 1)
    )


def test_bd_rate_drops_points_without_a_quality_gain():
    rates, quality = np.array([0.25, 0.5, 1.0, 2.0]), np.array([30.0, 33.0, 36.0, 39.0])
    flat_rates, flat_quality = np.append(rates, 4.0), np.append(quality, 38.0)  # more bits, worse
    assert metrics.bd_rate(rates, quality, flat_rates, flat_quality) == pytest.approx(
        0.0, abs=1e-12
    )


def test_bd_rate_names_bad_input():
    rates, quality = [0.25, 0.5, 1.0, 2.0], [30.0, 33.0, 36.0, 39.0]
    with pytest.raises(ValueError, match="share no quality range"):
        metrics.bd_rate(rates, quality, rates, [40.0, 41.0, 42.0, 43.0])
    with pytest.raises(ValueError, match="rates must be positive"):
        metrics.bd_rate([0, 0.5, 1, 2], quality, rates, quality)
    with pytest.raises(ValueError, match="4 rates but 3 qualities"):
        metrics.bd_rate(rates, quality[:3], rates, quality)
    with pytest.raises(ValueError, match="at least 4 points"):
        metrics.bd_rate(rates[:3], quality[:3], rates, quality, method="cubic")
    with pytest.raises(ValueError, match="Unknown method 'akima'"):
        metrics.bd_rate(rates, quality, rates, quality, method="akima")


def test_quality_at_interpolates_in_log_rate():
    rates, quality = [0.125, 0.5, 2.0], [0.80, 0.90, 0.96]
    # 0.25 bpp is half way between 0.125 and 0.5 in log-rate
    assert metrics.quality_at(rates, quality, 0.25) == pytest.approx(0.85)
    assert metrics.quality_at(rates, quality, 0.5) == pytest.approx(0.90)
    np.testing.assert_allclose(
        metrics.quality_at(rates, quality, [1.0, 0.1, 3.0]), [0.93, np.nan, np.nan]
    )


# Boundaries and whole messages: what a one-character change to the code would move.


def _whole(message):
    return "^" + re.escape(message) + "$"


def test_four_channels_are_an_image_five_are_ambiguous():
    a, b = _pair((20, 20, 4))
    assert metrics.psnr(a, b) == pytest.approx(peak_signal_noise_ratio(a, b, data_range=1.0))
    message = (
        "psnr: shape (20, 20, 5) is ambiguous (a batch of grayscale images?); pass one image as "
        "(H, W) or (H, W, C) with C <= 4, or a batch as (N, H, W, C)"
    )
    with pytest.raises(ValueError, match=_whole(message)):
        metrics.psnr(np.zeros((20, 20, 5)), np.zeros((20, 20, 5)))
    with pytest.raises(ValueError, match=_whole("ssim takes (H, W), (H, W, C) or (N, H, W, C) arrays, got shape (2, 2, 2, 2, 2)")):  # fmt: skip
        metrics.ssim(np.zeros((2,) * 5), np.zeros((2,) * 5))


def test_ms_ssim_without_a_single_scale_says_use_larger_images():
    a, b = _pair((8, 30))
    message = "ms_ssim needs images of at least 21 px per side for 2 scales, got 8x30; use larger images"  # fmt: skip
    with pytest.raises(ValueError, match=_whole(message)):
        metrics.ms_ssim(a, b, scales=2)
    with pytest.raises(ValueError, match=_whole("scales must be between 1 and 5, got 6")):
        metrics.ms_ssim(*_pair((40, 40)), scales=6)
    with pytest.raises(ValueError, match=_whole("scales must be between 1 and 5, got 0")):
        metrics.ms_ssim(*_pair((40, 40)), scales=0)
    # one scale is SSIM itself, and an image of exactly 11 px fits it
    a, b = _pair((11, 15, 3), seed=2)
    assert metrics.ms_ssim(a, b, scales=1) == pytest.approx(metrics.ssim(a, b))


def test_a_single_pixel_union_and_exact_radii_by_hand():
    one = np.zeros((3, 3))
    one[1, 1] = 1.0
    assert metrics.iou(one, one) == 1.0 and metrics.dice(one, one) == 1.0
    # a fake at exactly the radius of a real point's ball (1 here) lies inside it
    real = np.array([[0.0], [1.0], [2.0], [3.0]])
    assert metrics.precision_recall(real, np.array([[4.0], [10.0]]), k=1)[0] == pytest.approx(0.5)
    # a fake exactly as far from its nearest real point as that point's own neighbour is a copy
    assert metrics.authenticity(np.array([[0.0], [1.0], [5.0]]), np.array([[9.0], [9.5]])) == 0.5


def test_frechet_distance_warns_from_as_many_samples_as_dimensions():
    rng = np.random.default_rng(1)
    with pytest.warns(UserWarning) as caught:
        metrics.frechet_distance(rng.normal(size=(8, 8)), rng.normal(size=(40, 8)))
    assert str(caught[0].message) == (
        "frechet_distance with 8 samples for 8 dimensions: the covariances are singular and the "
        "distance strongly biased"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metrics.frechet_distance(rng.normal(size=(9, 8)), rng.normal(size=(40, 8)))


def test_inception_score_tolerates_rounding_only_and_takes_one_split_per_sample():
    almost = np.full((6, 2), 0.5) + [0.0004, 0.0]  # rows sum to 1.0004: float32 rounding
    assert metrics.inception_score(almost, splits=6) == pytest.approx((1.0, 0.0), abs=1e-6)
    message = "inception_score needs probabilities: non-negative rows summing to 1"
    with pytest.raises(ValueError, match=_whole(message)):
        metrics.inception_score(np.full((6, 2), 0.505))  # rows sum to 1.01
    with pytest.raises(ValueError, match=_whole(message)):
        metrics.inception_score(np.array([[1.2, -0.2], [0.5, 0.5]]), splits=1)
    with pytest.raises(ValueError, match=_whole("splits must be between 1 and the sample count 6, got 0")):  # fmt: skip
        metrics.inception_score(almost, splits=0)


def test_rate_distortion_points_of_equal_quality_are_dropped():
    rates, quality = [0.25, 0.5, 1.0, 2.0], [30.0, 33.0, 36.0, 39.0]
    # a fifth point that costs more for the same quality as the fourth changes nothing
    assert metrics.bd_rate(rates, quality, [*rates, 4.0], [*quality, 39.0]) == pytest.approx(0.0, abs=1e-12)  # fmt: skip
    assert np.isnan(metrics.quality_at([*rates, 4.0], [*quality, 39.0], 3.0))  # past the curve
    message = "quality_at: rates must be positive (they are compared in log scale)"
    with pytest.raises(ValueError, match=_whole(message)):
        metrics.quality_at(rates, quality, 0.0)
    with pytest.raises(ValueError, match=_whole("bd_rate (curve B) needs at least 2 points of rising quality, got 1")):  # fmt: skip
        metrics.bd_rate(rates, quality, [1.0, 2.0], [35.0, 35.0])
    assert metrics.quality_at([0.5], [0.9], 0.5) == 0.9  # one point is enough to read it back
