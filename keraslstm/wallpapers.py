"""Free-licensed wallpapers that Debian packages ship: abstract art (notebook 04) and photographs
(the codec of notebook 05).

Procedural paintings (`data.abstract_art()`) are flat gradients and sharp shapes, which makes
telling them from a GAN's fakes easy; `ARTWORKS` are digital artworks by named artists. `PHOTOS`
are photographs of 1.3-4 megapixels; `data.PHOTO_SPLITS` says which train the codec and which are
held out. Both come from `plasma-workspace-wallpapers` and `mate-backgrounds` (Debian bookworm).
`python -m keraslstm.wallpapers` downloads the two packages with `apt-get download`, unpacks them
with `dpkg -x` and writes the shipped files (`keraslstm/datasets/`: the art crops and the held-out
photos) and, with `--train-photos DIR`, the training photos into DIR; `--root DIR` builds from
packages already unpacked into DIR. Credits and licences: here and in `data/README.md`.
"""

from pathlib import Path

import numpy as np

__all__ = [
    "ARTWORKS",
    "PHOTOS",
    "PACKAGES",
    "DATASET_PATH",
    "PHOTO_DIR",
    "detail_crops",
    "build",
    "build_photos",
]

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


_NATURE = "usr/share/backgrounds/mate/nature/{}.jpg"
# photograph: (path in the unpacked packages, photographer, licence)
PHOTOS = {
    "BytheWater": (_PLASMA.format("BytheWater"), "Maciej Wiklo", "LGPL-3"),
    "ColdRipple": (_PLASMA.format("ColdRipple"), "Risto Saukonpää", "LGPL-3"),
    "ColorfulCups": (_PLASMA.format("ColorfulCups"), "Dmitri Popov", "LGPL-3"),
    "DarkestHour": (_PLASMA.format("DarkestHour"), "Risto Saukonpää", "LGPL-3"),
    "EveningGlow": (_PLASMA.format("EveningGlow"), "Ian Hex", "LGPL-3"),
    "FallenLeaf": (_PLASMA.format("FallenLeaf"), "Martin Klapetek", "LGPL-3"),
    "Grey": (_PLASMA.format("Grey"), "Sigi Sagi", "LGPL-3"),
    "Kite": (_PLASMA.format("Kite"), "Risto Saukonpää", "LGPL-3"),
    "OneStandsOut": (_PLASMA.format("OneStandsOut"), "Risto Saukonpää", "LGPL-3"),
    "Path": (_PLASMA.format("Path"), "Risto Saukonpää", "LGPL-3"),
    "summer_1am": (_PLASMA.format("summer_1am"), "Risto Saukonpää", "LGPL-3"),
    "Aqua": (_NATURE.format("Aqua"), "Charles Barbin", "GPL-2+"),
    "Blinds": (_NATURE.format("Blinds"), "Lennart Poettering, Andrea Cimitan", "GPL-2+"),
    "Dune": (_NATURE.format("Dune"), "Marco Cogoni, Hylke Bons", "GPL-2+"),
    "FreshFlower": (_NATURE.format("FreshFlower"), "Jens Ansorg", "GPL-2+"),
    "Garden": (_NATURE.format("Garden"), "Charles Barbin", "GPL-2+"),
    "GreenMeadow": (
        _NATURE.format("GreenMeadow"),
        "Timothy Schellhase, Lapo Calamandrei",
        "GPL-2+",
    ),
    "LadyBird": (_NATURE.format("LadyBird"), "Charles Barbin", "GPL-2+"),
    "RainDrops": (_NATURE.format("RainDrops"), "blackcombwhistler07", "GPL-2+"),
    "Storm": (_NATURE.format("Storm"), "Sergey Nazarov", "GPL-2+"),
    "TwoWings": (_NATURE.format("TwoWings"), "Charles Barbin, Hylke Bons", "GPL-2+"),
    "Wood": (_NATURE.format("Wood"), "Jean-François Fortin Tam", "GPL-2+"),
    "YellowFlower": (_NATURE.format("YellowFlower"), "Charles Barbin", "GPL-2+"),
}


DATASET_PATH = Path(__file__).resolve().parent / "datasets" / "abstract_wallpapers.npz"
PHOTO_DIR = DATASET_PATH.parent / "photos"  # the held-out photos, shipped


def _image_file(root, path):
    # a KDE theme is a folder of sizes: take the one nearest 1920 px wide
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


def build_photos(root, names, out_dir, short_side):
    """Downscale the named `PHOTOS` unpacked under `root` to `short_side` pixels (a factor of 2.5
    to 4.2 for these: it hides their JPEG artefacts) and save them as PNG in `out_dir`."""
    from PIL import Image

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        photo = Image.open(_image_file(root, PHOTOS[name][0])).convert("RGB")
        scale = short_side / min(photo.size)
        if scale > 1:
            raise ValueError(f"{name} is {photo.size}: too small for a short side of {short_side}")
        size = (round(photo.width * scale), round(photo.height * scale))
        photo.resize(size, Image.LANCZOS).save(out_dir / f"{name}.png", optimize=True)
    return out_dir


def _download(folder):
    import subprocess

    for package in PACKAGES:
        subprocess.run(["apt-get", "download", package], cwd=folder, check=True)
    for deb in Path(folder).glob("*.deb"):
        subprocess.run(["dpkg", "-x", str(deb), str(folder)], check=True)


if __name__ == "__main__":
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    from keraslstm.data import PHOTO_SPLITS

    parser.add_argument("--root", help="packages already unpacked here (else apt-get download)")
    parser.add_argument("--train-photos", help="also write the codec's training photos here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = args.root or scratch
        if args.root is None:
            _download(scratch)
        print(f"wrote {build(root)}")
        print(f"wrote {build_photos(root, PHOTO_SPLITS['debian test'], PHOTO_DIR, 384)}")
        if args.train_photos:
            print(
                f"wrote {build_photos(root, PHOTO_SPLITS['debian train'], args.train_photos, 512)}"
            )
