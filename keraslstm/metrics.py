"""Image-quality and generative-model metrics, in NumPy/SciPy float64 (all notebooks).

Image metrics take two arrays of one shape: a single image `(H, W)` or `(H, W, C)`, or a batch
`(N, H, W, C)`; a single image gives a float, a batch an array of N values. `ssim` and `ms_ssim`
follow `tf.image.ssim` / `tf.image.ssim_multiscale` (11x11 Gaussian window, sigma 1.5, valid
filtering). Feature metrics (`frechet_distance`, `precision_recall`, `authenticity`) take
`(N, D)` arrays of features from one network.
"""

import warnings

import numpy as np
from scipy import linalg, ndimage, spatial

__all__ = [
    "psnr",
    "ssim",
    "ms_ssim",
    "ms_ssim_min_size",
    "iou",
    "dice",
    "sharpness",
    "frechet_distance",
    "inception_score",
    "precision_recall",
    "authenticity",
    "bd_rate",
    "quality_at",
]

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # Wang, Simoncelli & Bovik 2003
_WINDOW, _SIGMA = 11, 1.5


def _as_batch(a, b, name):
    """Both images as float64 `(N, H, W, C)`, and whether the caller passed a single image."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"{name} needs two arrays of the same shape, got {a.shape} and {b.shape}")
    if a.ndim == 3 and a.shape[-1] > 4:
        raise ValueError(
            f"{name}: shape {a.shape} is ambiguous (a batch of grayscale images?); pass one image "
            "as (H, W) or (H, W, C) with C <= 4, or a batch as (N, H, W, C)"
        )
    if a.ndim == 2:
        return a[None, :, :, None], b[None, :, :, None], True
    if a.ndim == 3:
        return a[None], b[None], True
    if a.ndim == 4:
        return a, b, False
    raise ValueError(f"{name} takes (H, W), (H, W, C) or (N, H, W, C) arrays, got shape {a.shape}")


def _result(values, single):
    return float(values[0]) if single else values


def psnr(a, b, max_val=1.0):
    """Peak signal-to-noise ratio in dB, `10 log10(max_val^2 / MSE)`; inf for identical images."""
    a, b, single = _as_batch(a, b, "psnr")
    mse = np.mean((a - b) ** 2, axis=(1, 2, 3))
    with np.errstate(divide="ignore"):
        return _result(10.0 * np.log10(max_val**2 / mse), single)


def ssim_window():
    """The taps of SSIM's separable window: the normalised 11-tap Gaussian of sigma 1.5."""
    coords = np.arange(_WINDOW) - (_WINDOW - 1) / 2
    g = np.exp(-0.5 * coords**2 / _SIGMA**2)
    return g / g.sum()


def _gaussian_filter_valid(x):
    """Filter (N, H, W, C) with the normalised 11x11 Gaussian, keeping only full windows."""
    g = ssim_window()
    x = ndimage.correlate1d(x, g, axis=1, mode="constant")
    x = ndimage.correlate1d(x, g, axis=2, mode="constant")
    r = _WINDOW // 2
    return x[:, r:-r, r:-r, :]


def _ssim_and_cs(a, b, max_val):
    """Per-image, per-channel mean SSIM and contrast-structure term, each (N, C)."""
    c1, c2 = (0.01 * max_val) ** 2, (0.03 * max_val) ** 2
    mu_a, mu_b = _gaussian_filter_valid(a), _gaussian_filter_valid(b)
    mu_ab, mu_aa_bb = mu_a * mu_b, mu_a**2 + mu_b**2
    cov2 = 2 * (_gaussian_filter_valid(a * b) - mu_ab)
    var_sum = _gaussian_filter_valid(a * a + b * b) - mu_aa_bb
    luminance = (2 * mu_ab + c1) / (mu_aa_bb + c1)
    cs = (cov2 + c2) / (var_sum + c2)
    return np.mean(luminance * cs, axis=(1, 2)), np.mean(cs, axis=(1, 2))


def ssim(a, b, max_val=1.0):
    """Structural similarity (Wang 2004), averaged over pixels and channels; 1 means identical."""
    a, b, single = _as_batch(a, b, "ssim")
    if min(a.shape[1:3]) < _WINDOW:
        raise ValueError(f"ssim needs images of at least {_WINDOW} px per side, got {a.shape[1:3]}")
    return _result(_ssim_and_cs(a, b, max_val)[0].mean(axis=-1), single)


def ms_ssim_min_size(scales):
    """Smallest side that `scales` scales fit: the last scale still holds one 11x11 window."""
    return (_WINDOW - 1) * 2 ** (scales - 1) + 1


def ms_ssim(a, b, max_val=1.0, scales=None):
    """Multi-scale SSIM (Wang 2003), as `tf.image.ssim_multiscale` computes it.

    `scales=None` uses as many of the 5 standard scales as the image allows (161 px per side for
    all 5), with the first weights renormalised to sum to 1; an explicit `scales` that does not
    fit raises an error naming the minimum size.
    """
    a, b, single = _as_batch(a, b, "ms_ssim")
    side = min(a.shape[1:3])
    fitting = max((s for s in range(1, 6) if ms_ssim_min_size(s) <= side), default=0)
    if scales is None:
        if fitting == 0:
            raise ValueError(
                f"ms_ssim needs images of at least {ms_ssim_min_size(1)} px per side, "
                f"got {a.shape[1]}x{a.shape[2]}"
            )
        scales = fitting
    if not 1 <= scales <= 5:
        raise ValueError(f"scales must be between 1 and 5, got {scales}")
    if scales > fitting:
        hint = f"pass scales={fitting}" if fitting else "use larger images"
        raise ValueError(
            f"ms_ssim needs images of at least {ms_ssim_min_size(scales)} px per side for "
            f"{scales} scales, got {a.shape[1]}x{a.shape[2]}; {hint}"
        )
    weights = np.array(MS_SSIM_WEIGHTS[:scales])
    weights /= weights.sum()
    terms = []
    for scale in range(scales):
        if scale > 0:
            a, b = _halve(a), _halve(b)
        ssim_value, cs = _ssim_and_cs(a, b, max_val)
        terms.append(np.maximum(cs, 0.0))
    terms[-1] = np.maximum(ssim_value, 0.0)
    per_channel = np.prod([t**w for t, w in zip(terms, weights, strict=True)], axis=0)
    return _result(per_channel.mean(axis=-1), single)


def _halve(x):
    """2x2 average pooling; odd sides are first padded by mirroring the last row/column."""
    pad = [(0, 0), (0, x.shape[1] % 2), (0, x.shape[2] % 2), (0, 0)]
    x = np.pad(x, pad, mode="symmetric")
    return 0.25 * (x[:, ::2, ::2] + x[:, 1::2, ::2] + x[:, ::2, 1::2] + x[:, 1::2, 1::2])


def sharpness(images):
    """Variance of the Laplacian per image (a standard focus measure): blurry images score low.

    Takes `(H, W)`, `(H, W, C)` or `(N, H, W, C)`; channels are averaged first.
    """
    x, _, single = _as_batch(images, images, "sharpness")
    gray = x.mean(axis=-1)
    laplacian = np.stack([ndimage.laplace(image, mode="reflect") for image in gray])
    return _result(laplacian.reshape(len(gray), -1).var(axis=1), single)


def _masks(a, b, threshold, name):
    a, b, single = _as_batch(a, b, name)
    return a > threshold, b > threshold, single


def iou(a, b, threshold=0.5):
    """Intersection over union of the pixels above `threshold`; 1 when both masks are empty."""
    a, b, single = _masks(a, b, threshold, "iou")
    inter = np.sum(a & b, axis=(1, 2, 3))
    union = np.sum(a | b, axis=(1, 2, 3))
    return _result(np.where(union > 0, inter / np.maximum(union, 1), 1.0), single)


def dice(a, b, threshold=0.5):
    """Dice coefficient `2|A and B| / (|A| + |B|)` of the pixels above `threshold`; 1 when both are empty."""
    a, b, single = _masks(a, b, threshold, "dice")
    inter = np.sum(a & b, axis=(1, 2, 3))
    total = np.sum(a, axis=(1, 2, 3)) + np.sum(b, axis=(1, 2, 3))
    return _result(np.where(total > 0, 2 * inter / np.maximum(total, 1), 1.0), single)


def _features(x, name):
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{name} takes features as (samples, dimensions), got shape {x.shape}")
    return x


def _feature_pair(a, b, name, min_samples):
    a, b = _features(a, name), _features(b, name)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"{name}: feature dimensions differ, {a.shape[1]} vs {b.shape[1]}")
    for label, x in (("first", a), ("second", b)):
        if len(x) < min_samples:
            raise ValueError(
                f"{name} needs at least {min_samples} samples per set, the {label} has {len(x)}"
            )
    return a, b


def frechet_distance(feats_a, feats_b):
    """Frechet distance between Gaussians fitted to two feature sets (FID with any feature net).

    `|mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))`, the trace of the square root taken as
    the sum of square roots of the eigenvalues of `S_a S_b` (stabler than `sqrtm`). Biased by
    the sample count, so compare models at equal N; wants many more samples than dimensions.
    """
    a, b = _feature_pair(feats_a, feats_b, "frechet_distance", min_samples=2)
    if min(len(a), len(b)) <= a.shape[1]:
        warnings.warn(
            f"frechet_distance with {min(len(a), len(b))} samples for {a.shape[1]} dimensions: "
            "the covariances are singular and the distance strongly biased",
            stacklevel=2,
        )
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    eigenvalues = linalg.eigvals(np.atleast_2d(cov_a) @ np.atleast_2d(cov_b))
    sqrt_trace = np.sum(np.sqrt(np.clip(eigenvalues.real, 0.0, None)))
    return float(
        np.sum((mu_a - mu_b) ** 2) + np.trace(np.atleast_2d(cov_a + cov_b)) - 2 * sqrt_trace
    )


def inception_score(probs, splits=10):
    """Inception Score `exp(E_x KL(p(y|x) || p(y)))` over `splits` splits; returns (mean, std).

    `probs` is `(N, classes)` class probabilities from any classifier. It ranges from 1 (every
    sample gets the same prediction) to the number of classes (confident and evenly spread).
    """
    p = _features(probs, "inception_score")
    if np.any(p < 0) or not np.allclose(p.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError("inception_score needs probabilities: non-negative rows summing to 1")
    if not 1 <= splits <= len(p):
        raise ValueError(f"splits must be between 1 and the sample count {len(p)}, got {splits}")
    scores = []
    for part in np.array_split(p, splits):
        marginal = part.mean(axis=0, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.where(part > 0, part * (np.log(part) - np.log(marginal)), 0.0)
        scores.append(np.exp(kl.sum(axis=1).mean()))
    return float(np.mean(scores)), float(np.std(scores))


def _kth_neighbour_radius(x, k):
    """Distance from each row of x to its k-th nearest other row."""
    distances = spatial.distance.cdist(x, x)
    return np.sort(distances, axis=1)[:, k]  # column 0 is the point itself


def _covered(points, centres, radii):
    """For each point: does it lie inside at least one ball (centre, radius)?"""
    return np.any(spatial.distance.cdist(points, centres) <= radii[None, :], axis=1)


def precision_recall(real_feats, fake_feats, k=3):
    """Improved precision and recall (Kynkaanniemi et al. 2019) with k-NN balls.

    Precision: share of generated samples inside some real sample's ball (radius: distance to
    its k-th nearest real neighbour), i.e. realism. Recall: share of real samples inside some
    generated sample's ball, i.e. coverage of the data. Returns (precision, recall).
    """
    real, fake = _feature_pair(real_feats, fake_feats, "precision_recall", min_samples=k + 1)
    precision = _covered(fake, real, _kth_neighbour_radius(real, k)).mean()
    recall = _covered(real, fake, _kth_neighbour_radius(fake, k)).mean()
    return float(precision), float(recall)


def authenticity(real_feats, fake_feats):
    """Share of generated samples that are not copies of training data (Alaa et al. 2022).

    A generated sample is authentic when it lies farther from its nearest real sample than
    that real sample lies from its own nearest real neighbour.
    """
    real, fake = _feature_pair(real_feats, fake_feats, "authenticity", min_samples=2)
    real_gap = _kth_neighbour_radius(real, 1)
    distances = spatial.distance.cdist(fake, real)
    nearest = np.argmin(distances, axis=1)
    gap = distances[np.arange(len(fake)), nearest]
    return float(np.mean(gap > real_gap[nearest]))


BD_METHODS = ("pchip", "cubic")


def _rd_points(rates, qualities, name, minimum=2):
    """A rate-distortion curve as (rates, qualities), sorted by rate, keeping only the points that
    raise quality over every cheaper point (more bits for no gain would make rate a
    non-function of quality)."""
    rates = np.asarray(rates, dtype=np.float64).reshape(-1)
    qualities = np.asarray(qualities, dtype=np.float64).reshape(-1)
    if rates.shape != qualities.shape:
        raise ValueError(f"{name}: {len(rates)} rates but {len(qualities)} qualities")
    if not np.all(np.isfinite(rates)) or not np.all(np.isfinite(qualities)):
        raise ValueError(f"{name}: rates and qualities must be finite numbers")
    if np.any(rates <= 0):
        raise ValueError(f"{name}: rates must be positive (they are compared in log scale)")
    order = np.argsort(rates, kind="stable")
    rates, qualities = rates[order], qualities[order]
    keep = qualities > np.maximum.accumulate(np.concatenate([[-np.inf], qualities[:-1]]))
    rates, qualities = rates[keep], qualities[keep]
    if len(rates) < minimum:
        raise ValueError(
            f"{name} needs at least {minimum} points of rising quality, got {len(rates)}"
        )
    return rates, qualities


def bd_rate(rate_a, quality_a, rate_b, quality_b, method="pchip"):
    """Bjontegaard delta rate (VCEG-M33) in percent: B's average rate change against A at equal
    quality, over the quality range both curves cover; negative means B needs fewer bits.

    Each curve's log-rate is interpolated as a function of quality and integrated over the
    common range: `100 * (exp(mean(log r_B - log r_A)) - 1)`. `method="pchip"` (the default)
    uses piecewise cubic Hermite interpolation through the points, as the JCT-VC/JVET common
    test conditions do, and stays monotone where a curve flattens; `"cubic"` is Bjontegaard's
    original least-squares cubic polynomial (at least 4 points). Rates in any one unit (bpp).
    """
    from scipy.interpolate import PchipInterpolator

    if method not in BD_METHODS:
        raise ValueError(f"Unknown method {method!r}; valid: {', '.join(map(repr, BD_METHODS))}")
    minimum = 4 if method == "cubic" else 2
    rate_a, quality_a = _rd_points(rate_a, quality_a, "bd_rate (curve A)", minimum)
    rate_b, quality_b = _rd_points(rate_b, quality_b, "bd_rate (curve B)", minimum)
    low, high = max(quality_a[0], quality_b[0]), min(quality_a[-1], quality_b[-1])
    if not low < high:
        raise ValueError(
            f"bd_rate: the curves share no quality range (A covers {quality_a[0]:.4g} to "
            f"{quality_a[-1]:.4g}, B {quality_b[0]:.4g} to {quality_b[-1]:.4g})"
        )

    def mean_log_rate(rates, qualities):
        if method == "pchip":
            return PchipInterpolator(qualities, np.log(rates)).integrate(low, high) / (high - low)
        integral = np.polyint(np.polyfit(qualities, np.log(rates), 3))
        return (np.polyval(integral, high) - np.polyval(integral, low)) / (high - low)

    difference = mean_log_rate(rate_b, quality_b) - mean_log_rate(rate_a, quality_a)
    return float(100.0 * np.expm1(difference))


def quality_at(rates, qualities, rate):
    """A codec's quality at `rate` (one value or an array), interpolated linearly in log-rate
    between its measured points; NaN outside the measured range (no extrapolation).

    For comparing codecs at equal real rate when their files came out at different sizes.
    """
    rates, qualities = _rd_points(rates, qualities, "quality_at", minimum=1)
    rate = np.asarray(rate, dtype=np.float64)
    if np.any(rate <= 0):
        raise ValueError("quality_at: rates must be positive (they are compared in log scale)")
    value = np.interp(np.log(rate), np.log(rates), qualities, left=np.nan, right=np.nan)
    return float(value) if value.ndim == 0 else value
