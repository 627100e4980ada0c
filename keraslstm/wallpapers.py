"""Real abstract art for notebook 04: crops of free-licensed wallpapers that Debian packages ship.

Procedural paintings (`data.abstract_art()`) are flat gradients and sharp shapes, which makes
telling them from a GAN's fakes easy. These are digital artworks by named artists, in
`plasma-workspace-wallpapers` and `mate-backgrounds` (Debian bookworm). `python -m
keraslstm.wallpapers` downloads the two packages with `apt-get download`, unpacks them with
`dpkg -x` and writes `keraslstm/datasets/abstract_wallpapers.npz`; `--root DIR` builds from
packages already unpacked into DIR. `data.abstract_art(source="wallpapers")` reads the file.
Credits and licences: `ARTWORKS` and `data/README.md`.
"""

import numpy as np

__all__ = ["ARTWORKS", "PACKAGES", "DATASET_PATH", "detail_crops", "build"]

PACKAGES = ("plasma-workspace-wallpapers", "mate-backgrounds")
_PLASMA = "usr/share/wallpapers/{}/contents/images"
_MATE = "usr/share/backgrounds/mate/abstract/{}"

# artwork: (path in the unpacked packages, artist, licence); photographs are left out, and
# MATE's Flow and Gulp (thin strokes on transparency: their crops come out black)
ARTWORKS = {
    "Altai": (_PLASMA.format("Altai"), "Alesya Khoteeva", "CC-BY-SA-4.0"),
    "Canopee": (_PLASMA.format("Canopee"), "Ken Vermette", "LGPL-3"),
    "Cascade": (_PLASMA.format("Cascade"), "Ken Vermette", "LGPL-3"),
    "Cluster": (_PLASMA.format("Cluster"), "Ken Vermette", "LGPL-3"),
    "Elarun": (_PLASMA.format("Elarun"), "Nuno Pinheiro", "LGPL-3"),
    "Flow (KDE)": (_PLASMA.format("Flow"), "Sandra Smukaste", "CC-BY-SA-4.0"),
    "Honeywave": (_PLASMA.format("Honeywave"), "Ken Vermette", "CC-BY-SA-4.0"),
    "IceCold": (_PLASMA.format("IceCold"), "Santiago Cézar", "CC-BY-SA-4.0"),
    "Kay": (_PLASMA.format("Kay"), "ruvkr", "CC-BY-SA-4.0"),
    "Kokkini": (_PLASMA.format("Kokkini"), "Ken Vermette", "LGPL-3"),
    "MilkyWay": (_PLASMA.format("MilkyWay"), "ruvkr", "CC-BY-SA-4.0"),
    "Opal": (_PLASMA.format("Opal"), "Ken Vermette", "LGPL-3"),
    "PastelHills": (_PLASMA.format("PastelHills"), "Lionel", "LGPL-3"),
    "Patak": (_PLASMA.format("Patak"), "Áron Kovács", "CC-BY-SA-4.0"),
    "Shell": (_PLASMA.format("Shell"), "Lucas Andrade", "CC-BY-SA-4.0"),
    "Volna": (_PLASMA.format("Volna"), "Nikita Babin", "CC-BY-SA-4.0"),
    "Elephants": (_MATE.format("Elephants.jpg"), "Wyng Stancikaite", "GPL-2+"),
    "Silk": (_MATE.format("Silk.png"), "Patryk Zawadzki", "GPL-2+"),
    "Spring": (_MATE.format("Spring.png"), "Patryk Zawadzki", "GPL-2+"),
    "Waves": (_MATE.format("Waves.png"), "Patryk Zawadzki", "GPL-2+"),
}


def _dataset_path():
    from pathlib import Path

    return Path(__file__).resolve().parent / "datasets" / "abstract_wallpapers.npz"


DATASET_PATH = _dataset_path()


def _image_file(root, path):
    # a KDE theme is a folder of sizes: take the one nearest 1920 px wide
    from pathlib import Path

    from PIL import Image

    target = Path(root) / path
    if target.is_file():
        return target
    files = sorted(p for p in target.glob("*") if p.suffix.lower() in {".png", ".jpg", ".jpeg"})
    if not files:
        raise FileNotFoundError(f"no artwork at {target}: unpack {' and '.join(PACKAGES)} into {root}")  # fmt: skip
    return min(files, key=lambda p: abs(Image.open(p).size[0] - 1920))


def detail_crops(image, n, size=32, short_side=128, tries=4, seed=0):
    """`n` crops `(n, size, size, 3)` uint8 of a PIL image, biased toward detail.

    The image goes on black (transparent wallpapers), is downscaled so its short side is
    `short_side` pixels (hiding JPEG artefacts; a crop then spans a quarter of the height), and
    each crop is the most detailed (largest mean absolute difference between neighbouring
    pixels) of `tries` random windows.
    """
    from PIL import Image

    if size > short_side:
        raise ValueError(f"crop size {size} exceeds the downscaled short side {short_side}")
    rgba = image.convert("RGBA")
    flat = Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba).convert("RGB")
    scale = short_side / min(flat.size)
    flat = flat.resize((round(flat.width * scale), round(flat.height * scale)), Image.LANCZOS)
    pixels = np.asarray(flat)
    rng = np.random.default_rng(seed)
    crops = []
    for _ in range(n):
        tops = rng.integers(0, pixels.shape[0] - size + 1, tries)
        lefts = rng.integers(0, pixels.shape[1] - size + 1, tries)
        windows = [pixels[t : t + size, c : c + size] for t, c in zip(tops, lefts, strict=True)]
        detail = [np.abs(np.diff(w.astype(np.int16), axis=0)).mean() + np.abs(np.diff(w.astype(np.int16), axis=1)).mean() for w in windows]  # fmt: skip
        crops.append(windows[int(np.argmax(detail))])
    return np.stack(crops)


def build(root, per_artwork=20, size=32, seed=0, out=DATASET_PATH):
    """Crop every artwork of `ARTWORKS` unpacked under `root` and save images and their names."""
    from PIL import Image

    images, names = [], []
    for i, (name, (path, _, _)) in enumerate(ARTWORKS.items()):
        images.append(detail_crops(Image.open(_image_file(root, path)), per_artwork, size, seed=seed + i))  # fmt: skip
        names += [name] * per_artwork
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, images=np.concatenate(images), artwork=np.array(names))
    return out


def _download(folder):
    import subprocess
    from pathlib import Path

    for package in PACKAGES:
        subprocess.run(["apt-get", "download", package], cwd=folder, check=True)
    for deb in Path(folder).glob("*.deb"):
        subprocess.run(["dpkg", "-x", str(deb), str(folder)], check=True)


if __name__ == "__main__":
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", help="packages already unpacked here (else apt-get download)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = args.root or scratch
        if args.root is None:
            _download(scratch)
        print(f"wrote {build(root)}")
