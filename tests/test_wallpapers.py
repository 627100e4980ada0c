"""keraslstm.wallpapers and data.abstract_art(source="wallpapers"): crops biased toward detail."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from keraslstm import data, wallpapers


def _half_noise(width=256, height=128):
    # left half flat grey, right half noise: the detail is all on the right
    pixels = np.full((height, width, 3), 128, np.uint8)
    pixels[:, width // 2 :] = np.random.default_rng(0).integers(0, 256, (height, width // 2, 3))
    return Image.fromarray(pixels)


def test_crops_prefer_detail():
    image = _half_noise()
    detailed = wallpapers.detail_crops(image, 20, size=32, tries=8, seed=0)
    assert detailed.shape == (20, 32, 32, 3) and detailed.dtype == np.uint8
    assert (detailed.reshape(20, -1).std(axis=1) > 10).all()
    blind = wallpapers.detail_crops(image, 20, size=32, tries=1, seed=0)
    assert (blind.reshape(20, -1).std(axis=1) < 1).any()  # without the bias, flat crops come


def test_crops_put_transparency_on_black_and_downscale():
    clear = Image.new("RGBA", (400, 200), (255, 255, 255, 0))
    assert not wallpapers.detail_crops(clear, 3, size=16).any()
    # a vertical white band 40 % of the width: after downscaling to a short side of 32 a crop as
    # wide as the image holds the band's share of white columns
    pixels = np.zeros((200, 200, 3), np.uint8)
    pixels[:, 60:140] = 255
    crop = wallpapers.detail_crops(Image.fromarray(pixels), 1, size=32, short_side=32)[0]
    np.testing.assert_allclose((crop[16, :, 0] > 127).mean(), 0.4, atol=1 / 32)
    with pytest.raises(ValueError, match="exceeds the downscaled short side"):
        wallpapers.detail_crops(clear, 1, size=64, short_side=32)


def test_build_writes_every_artworks_crops(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    _half_noise().save(tmp_path / "a" / "one.png")
    _half_noise(300, 150).save(tmp_path / "two.png")
    monkeypatch.setattr(wallpapers, "ARTWORKS", {"A": ("a", "x", "y"), "B": ("two.png", "x", "y")})
    out = wallpapers.build(tmp_path, per_artwork=3, out=tmp_path / "set.npz")
    stored = np.load(out)
    assert stored["images"].shape == (6, 32, 32, 3)
    assert stored["artwork"].tolist() == ["A"] * 3 + ["B"] * 3
    monkeypatch.setattr(wallpapers, "ARTWORKS", {"C": ("missing", "x", "y")})
    with pytest.raises(FileNotFoundError, match="no artwork at"):
        wallpapers.build(tmp_path, out=tmp_path / "other.npz")


def test_the_shipped_crops_and_their_credits():
    stored = np.load(wallpapers.DATASET_PATH)
    assert stored["images"].shape == (400, 32, 32, 3)
    assert sorted(set(stored["artwork"].tolist())) == sorted(wallpapers.ARTWORKS)
    readme = (Path(__file__).resolve().parents[1] / "data" / "README.md").read_text()
    for name, (_, artist, licence) in wallpapers.ARTWORKS.items():
        assert artist in readme and licence in readme, name


def test_abstract_art_from_wallpapers_is_a_seeded_choice():
    art = data.abstract_art(50, size=32, seed=0, source="wallpapers")
    assert art.shape == (50, 32, 32, 3) and art.dtype == np.float32
    assert 0 <= art.min() and art.max() <= 1
    np.testing.assert_array_equal(art, data.abstract_art(50, size=32, seed=0, source="wallpapers"))
    assert len(np.unique(art.reshape(50, -1), axis=0)) == 50  # drawn without replacement
    with pytest.raises(ValueError, match="crops are 32x32"):
        data.abstract_art(5, size=64, source="wallpapers")
    with pytest.raises(ValueError, match="asked for 401 wallpaper crops"):
        data.abstract_art(401, source="wallpapers")
    with pytest.raises(ValueError, match="Unknown source"):
        data.abstract_art(5, source="wikiart")


def test_the_held_out_photos_ship_and_never_train():
    splits = data.PHOTO_SPLITS
    assert not set(splits["debian train"]) & set(splits["debian test"])
    assert set(splits["debian train"]) | set(splits["debian test"]) == set(wallpapers.PHOTOS)
    held_out = data.photos("debian test")
    assert list(held_out) == list(splits["debian test"])
    for photo in held_out.values():
        assert min(photo.shape[:2]) == 384 and photo.shape[2] == 3 and photo.dtype == np.float32
        assert 0 <= photo.min() and photo.max() <= 1 and photo.std() > 0.05
    readme = (Path(__file__).resolve().parents[1] / "data" / "README.md").read_text()
    for name, (_, photographer, licence) in wallpapers.PHOTOS.items():
        assert f"| {name} | {photographer} | {licence} |" in readme, name


def test_the_training_photos_come_from_a_folder(tmp_path):
    with pytest.raises(ValueError, match="do not ship"):
        data.photos("debian train")
    with pytest.raises(FileNotFoundError, match="lacks BytheWater"):
        data.photos("debian train", data_dir=tmp_path)
    with pytest.raises(ValueError, match="comes from Debian's wallpaper packages"):
        data.photos("debian test", source="tfds")


def test_build_photos_downscales_to_the_short_side(tmp_path, monkeypatch):
    _half_noise(1000, 500).save(tmp_path / "big.png")
    monkeypatch.setattr(wallpapers, "PHOTOS", {"big": ("big.png", "x", "y")})
    out = wallpapers.build_photos(tmp_path, ["big"], tmp_path / "out", short_side=100)
    assert Image.open(out / "big.png").size == (200, 100)
    with pytest.raises(ValueError, match="too small for a short side of 600"):
        wallpapers.build_photos(tmp_path, ["big"], tmp_path / "out", short_side=600)
