"""Scorers of generated images: small classifiers that stand in for Inception (notebooks 01-04).

InceptionV3's weights are downloaded at run time, and none ship in a wheel, so FID, IS and the
class accuracy of conditional samples use a CNN trained once on the bundled digits and shipped
inside the package (`keraslstm/weights/digit_classifier.keras`, so it works without `pip -e`): its 64-unit penultimate layer gives features (FID, precision,
recall, authenticity), its softmax the probabilities (IS). Rebuild it with
`python -m keraslstm.scorers` (seeded; prints its test accuracy).

Notebook 04 scores generated faces the same way with a face/non-face classifier trained on the
200 images of scikit-image's LFW subset at 24x24 (`FaceScorer`, shipped as
`keraslstm/weights/face_classifier.keras`, rebuilt by `python -m keraslstm.scorers faces`). With
only 200 images its feature layer is kept at 16 units, so that an FID over about 100 samples still has
more samples than dimensions.
"""

import sys
import time
from pathlib import Path

import keras
import numpy as np
from keras import layers

from keraslstm import data, metrics
from keraslstm.optimizers import compile_built

__all__ = [
    "CLASSIFIER_PATH",
    "FACE_CLASSIFIER_PATH",
    "train_digit_classifier",
    "digit_classifier",
    "digit_scorer_from_weights",
    "DigitScorer",
    "train_face_classifier",
    "face_classifier",
    "FaceScorer",
    "score_generator",
    "images_per_second",
]

CLASSIFIER_PATH = Path(__file__).resolve().parent / "weights" / "digit_classifier.keras"
FEATURES = 64
FACE_CLASSIFIER_PATH = CLASSIFIER_PATH.with_name("face_classifier.keras")
FACE_SIZE, FACE_FEATURES = 24, 16


def _scoring_cnn(input_shape, widths, features, classes, name):
    """Two conv + max-pool blocks, a `features` layer (for FID) and softmax `probabilities` (IS)."""
    return keras.Sequential(
        [
            keras.Input(input_shape),
            layers.Conv2D(widths[0], 3, activation="relu", padding="same"),
            layers.MaxPooling2D(),
            layers.Conv2D(widths[1], 3, activation="relu", padding="same"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dropout(0.3),
            layers.Dense(features, activation="relu", name="features"),
            layers.Dense(classes, activation="softmax", name="probabilities"),
        ],
        name=name,
    )


def _digit_cnn():
    return _scoring_cnn((28, 28, 1), (32, 64), FEATURES, 10, "digit_classifier")


def train_digit_classifier(epochs=12, seed=0, split_seed=None):
    """Train the CNN on the bundled training digits; returns (model, test accuracy).

    `seed` draws its weights and batches, `split_seed` (`seed` by default) the train/test split:
    a second scorer of other weights that must not see the first split's test digits keeps
    `split_seed=0`."""
    keras.utils.set_random_seed(seed)
    (x, y), (x_test, y_test) = data.digits(seed=seed if split_seed is None else split_seed)
    model = _digit_cnn()
    compile_built(model, "adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, batch_size=64, verbose=0)
    accuracy = model.evaluate(x_test, y_test, verbose=0)[1]
    return model, float(accuracy)


def digit_classifier(path=CLASSIFIER_PATH, command="python -m keraslstm.scorers"):
    """The cached classifier; a clear error if the file is missing."""
    if not Path(path).exists():
        raise FileNotFoundError(f"{path} is missing; rebuild it with `{command}`")
    return keras.models.load_model(path)


def digit_scorer_from_weights(weights):
    """A `DigitScorer` on a digit classifier with these weights: a classifier trained in one
    process (`train_digit_classifier`), scoring in another (`hybrids.run_gans`)."""
    model = _digit_cnn()
    model.set_weights(weights)
    return DigitScorer(model)


class DigitScorer:
    """Features and class probabilities of 28x28 digit images from the cached classifier."""

    shape = (28, 28, 1)

    def __init__(self, model=None):
        model = model or self._load()
        x = inputs = keras.Input(self.shape)
        for layer in model.layers:
            x = layer(x)
            if layer.name == "features":
                features = x
        self.model = keras.Model(inputs, [features, x])

    def _load(self):
        return digit_classifier()

    def __call__(self, images, batch_size=500):
        images = np.asarray(images, dtype="float32")
        if images.shape[1:] != self.shape:
            raise ValueError(
                f"{type(self).__name__} takes (n, {', '.join(map(str, self.shape))}) images "
                f"in [0, 1], got {images.shape}"
            )
        features, probs = self.model.predict(images, batch_size=batch_size, verbose=0)
        return features.astype(np.float64), probs.astype(np.float64)


def score_generator(scorer, originals, reconstructions, samples, asked, train_features):
    """Notebook 01's six measures of an image generator that also reconstructs, as a dict.

    - `psnr`, `ssim`: mean over held-out `originals` of their `reconstructions`;
    - `iou`, `dice` (the "overlap index"): of the binarized (> 0.5) reconstruction and original;
    - `accuracy`: share of `samples` that the classifier reads as the class in `asked`;
    - `authenticity`: share of samples that are not near-copies of a training image, in
      classifier features (`train_features`; Alaa et al. 2022);
    - `precision`: share of samples inside the k-NN balls of the held-out originals (realism);
    - `recall`: share of held-out originals inside the k-NN balls of the samples (diversity: the
      data the samples cover; Kynkaanniemi et al. 2019).
    """
    sample_features, sample_probs = scorer(samples)
    original_features, _ = scorer(originals)
    precision, recall = metrics.precision_recall(original_features, sample_features)
    return {
        "psnr": float(np.mean(metrics.psnr(originals, reconstructions))),
        "ssim": float(np.mean(metrics.ssim(originals, reconstructions))),
        "iou": float(np.mean(metrics.iou(originals, reconstructions))),
        "dice": float(np.mean(metrics.dice(originals, reconstructions))),
        "accuracy": float(np.mean(sample_probs.argmax(axis=1) == np.asarray(asked))),
        "authenticity": metrics.authenticity(train_features, sample_features),
        "precision": precision,
        "recall": recall,
    }


def images_per_second(generate, n=1000, repeats=5):
    """Throughput of `generate(n)` (one call makes `n` images): median over `repeats` after a warm-up."""
    generate(n)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        generate(n)
        times.append(time.perf_counter() - start)
    return n / float(np.median(times))


def train_face_classifier(epochs=60, seed=0):
    """Face vs non-face CNN on the LFW subset at 24x24 (flips added); returns (model, test accuracy).

    Its 16-unit `features` layer stands in for Inception features when scoring generated faces.
    """
    keras.utils.set_random_seed(seed)
    (x, y), (x_test, y_test) = data.faces(size=FACE_SIZE, seed=seed)
    x, y = np.concatenate([x, x[:, :, ::-1]]), np.concatenate([y, y])
    model = _scoring_cnn((FACE_SIZE, FACE_SIZE, 1), (16, 32), FACE_FEATURES, 2, "face_classifier")
    compile_built(model, "adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    accuracy = model.evaluate(x_test, y_test, verbose=0)[1]
    return model, float(accuracy)


def face_classifier(path=FACE_CLASSIFIER_PATH):
    """The cached face/non-face classifier; a clear error if the file is missing."""
    return digit_classifier(path, command="python -m keraslstm.scorers faces")


class FaceScorer(DigitScorer):
    """Features (16) and face/non-face probabilities of 24x24 grayscale images."""

    shape = (FACE_SIZE, FACE_SIZE, 1)

    def _load(self):
        return face_classifier()


def _save(model, path):
    path.parent.mkdir(exist_ok=True)
    weights_only = type(model).from_config(model.get_config())  # uncompiled: no optimizer state
    weights_only.set_weights(model.get_weights())
    weights_only.save(path)


def main(argv=None):
    """`python -m keraslstm.scorers [digits|faces]` retrains and saves one cached classifier."""
    which = (argv if argv is not None else sys.argv[1:]) or ["digits"]
    if which[0] not in ("digits", "faces"):
        raise SystemExit(f"usage: python -m keraslstm.scorers [digits|faces], got {which[0]!r}")
    if which[0] == "faces":
        model, accuracy = train_face_classifier()
        _save(model, FACE_CLASSIFIER_PATH)
        print(
            f"test accuracy {accuracy:.4f} on the 50 held-out LFW-subset images; saved {FACE_CLASSIFIER_PATH}"
        )
        return 0
    model, accuracy = train_digit_classifier()
    _save(model, CLASSIFIER_PATH)
    print(
        f"test accuracy {accuracy:.4f} on the 1,000 held-out bundled digits; saved {CLASSIFIER_PATH}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
