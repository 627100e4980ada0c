"""The random-forest image generator ("RFAGM") that the DLSTM paper uses as its control group (notebook 01).

The paper never describes it, so this is the plainest model that fits its role: images are coded
by PCA, a scikit-learn random forest maps a code back to pixels, and new images of a class come
from codes drawn from a Gaussian fitted to that class's codes. The forest grows tree by tree
(`warm_start`), so, like a network trained epoch by epoch, it has curves against "iterations":
here an iteration is one more tree.
"""

import numpy as np
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestRegressor

__all__ = ["ForestGenerator"]


class ForestGenerator:
    """PCA code -> pixels with a random forest; class-conditional sampling in code space.

    `fit(images, labels)` fits the PCA, the per-class Gaussians and the first tree; `grow(n)`
    adds trees until there are `n` (the earlier trees stay as they are).
    Images are `(n, height, width, channels)` in [0, 1].
    """

    def __init__(self, code_dim=16, seed=0, min_samples_leaf=2, max_features=0.5, n_jobs=None):
        self.code_dim = int(code_dim)
        self.seed = seed
        self.pca = PCA(self.code_dim, random_state=seed)
        self.forest = RandomForestRegressor(
            n_estimators=1,
            warm_start=True,
            min_samples_leaf=min_samples_leaf,
            max_features=max_features,
            random_state=seed,
            n_jobs=n_jobs,
        )

    @property
    def n_trees(self):
        return len(getattr(self.forest, "estimators_", []))

    def _pixels(self, images):
        images = np.asarray(images, dtype=np.float32)
        if images.ndim != 4:
            raise ValueError(
                f"ForestGenerator takes (n, height, width, channels) images, got {images.shape}"
            )
        if self.n_trees and images.shape[1:] != self.image_shape:
            raise ValueError(
                f"this forest was fitted on {self.image_shape} images, got {images.shape[1:]}"
            )
        return images.reshape(len(images), -1)

    def fit(self, images, labels):
        """Fit the code (PCA), one Gaussian per class in code space, and the first tree."""
        images = np.asarray(images, dtype=np.float32)
        self.image_shape = images.shape[1:]
        pixels = images.reshape(len(images), -1)
        self._codes = self.pca.fit_transform(pixels)
        self._targets = pixels
        labels = np.asarray(labels)
        self.classes = np.unique(labels)
        self.class_gaussians = {
            int(c): (self._codes[labels == c].mean(0), np.cov(self._codes[labels == c].T))
            for c in self.classes
        }
        self.forest.set_params(n_estimators=1)
        self.forest.fit(self._codes, self._targets)
        return self

    def grow(self, n_trees):
        """Add trees until the forest has `n_trees`."""
        if not self.n_trees:
            raise ValueError("call fit(images, labels) before grow()")
        if n_trees == self.n_trees:
            return self
        if n_trees < self.n_trees:
            raise ValueError(f"the forest has {self.n_trees} trees already; got n_trees={n_trees}")
        self.forest.set_params(n_estimators=int(n_trees))
        self.forest.fit(self._codes, self._targets)
        return self

    def encode(self, images):
        """PCA codes `(n, code_dim)` of images."""
        return self.pca.transform(self._pixels(images))

    def decode(self, codes):
        """Images for codes: the forest's prediction, clipped to [0, 1]."""
        pixels = self.forest.predict(np.asarray(codes, dtype=np.float64))
        return np.clip(pixels, 0, 1).astype(np.float32).reshape(-1, *self.image_shape)

    def reconstruct(self, images):
        """Decode the codes of `images`."""
        return self.decode(self.encode(images))

    def sample_codes(self, labels, seed=0):
        """One code per label from that class's Gaussian."""
        rng = np.random.default_rng(seed)
        labels = np.asarray(labels)
        unknown = set(labels.tolist()) - set(self.class_gaussians)
        if unknown:
            raise ValueError(
                f"unknown classes {sorted(unknown)}; fitted: {sorted(self.class_gaussians)}"
            )
        codes = np.empty((len(labels), self.code_dim))
        for c in np.unique(labels):
            mean, cov = self.class_gaussians[int(c)]
            codes[labels == c] = rng.multivariate_normal(mean, cov, size=int(np.sum(labels == c)))
        return codes

    def generate(self, n=None, labels=None, seed=0):
        """New images, one per integer label, decoded from sampled class codes.

        The signature of `GAN.generate` and `VAE.generate`; the forest is always conditional, so
        `labels` is required (`n`, if given, must match it).
        """
        if labels is None:
            raise ValueError("the forest generator is conditional: pass integer labels")
        if n is not None and n != len(labels):
            raise ValueError(f"n={n} does not match the {len(labels)} labels")
        return self.decode(self.sample_codes(labels, seed))
