"""keraslstm.data: bundled loaders offline, the tfds path under tfds.testing.mock_data."""

import numpy as np
import pytest
import tensorflow_datasets as tfds

from keraslstm import data


def test_digits_are_shuffled_split_and_scaled():
    (x, y), (x_test, y_test) = data.digits()
    assert x.shape == (4000, 28, 28, 1) and x_test.shape == (1000, 28, 28, 1)
    assert x.dtype == np.float32 and 0.0 <= x.min() and x.max() == 1.0
    assert len(np.unique(y[:50])) > 5  # not the file's sorted order
    assert np.bincount(np.r_[y, y_test]).tolist() == [500] * 10
    (x2, _), _ = data.digits()
    np.testing.assert_array_equal(x, x2)
    (x3, _), _ = data.digits(seed=1)
    assert not np.array_equal(x, x3)


def test_faces_bundled_has_both_labels_and_resizes():
    (x, y), (x_test, y_test) = data.faces()
    assert x.shape == (150, 25, 25, 1) and x_test.shape == (50, 25, 25, 1)
    assert set(np.r_[y, y_test]) == {0, 1} and np.r_[y, y_test].sum() == 100
    (small, _), _ = data.faces(size=16)
    assert small.shape == (150, 16, 16, 1) and small.dtype == np.float32


def test_photos_fixed_split_without_overlap():
    train, test = data.photos("train"), data.photos("test")
    assert list(test) == ["astronaut", "coffee", "china"]
    assert not set(train) & set(test) and len(train) == 9
    for image in (*train.values(), *test.values()):
        assert image.ndim == 3 and image.shape[-1] == 3 and image.dtype == np.float32
        assert 0.0 <= image.min() and image.max() <= 1.0


def test_random_crops_are_reproducible_pieces_of_the_images():
    images = {"a": np.arange(40 * 50 * 3, dtype=np.float32).reshape(40, 50, 3)}
    crops = data.random_crops(images, 8, 5, seed=3)
    assert crops.shape == (5, 8, 8, 3)
    np.testing.assert_array_equal(crops, data.random_crops(images, 8, 5, seed=3))
    top, left = np.argwhere(images["a"][..., 0] == crops[0, 0, 0, 0])[0]
    np.testing.assert_array_equal(crops[0], images["a"][top : top + 8, left : left + 8])


def test_random_crops_names_an_image_that_is_too_small():
    with pytest.raises(
        ValueError, match=r"image 1 of shape \(10, 60, 3\) is smaller than the crop size 32"
    ):
        data.random_crops([np.zeros((64, 64, 3)), np.zeros((10, 60, 3))], 32, 4)


def test_moving_digits_shapes_and_motion():
    videos = data.moving_digits(3, frames=6, size=48, seed=0)
    assert videos.shape == (3, 6, 48, 48, 1) and videos.dtype == np.float32
    assert videos.max() <= 1.0 and videos[:, 0].max() > 0.5
    assert not np.array_equal(videos[:, 0], videos[:, 1])  # the digits move
    np.testing.assert_array_equal(videos, data.moving_digits(3, frames=6, size=48, seed=0))
    with pytest.raises(ValueError, match="size >= 28"):
        data.moving_digits(1, size=20)


def _turns(track):
    """Positions where a track reverses: (positions after rising, positions after falling)."""
    highs, lows, direction = [], [], 0
    for k, move in enumerate(np.diff(track)):
        if move == 0:
            continue
        if direction and np.sign(move) != direction:
            (highs if direction > 0 else lows).append(int(track[k]))
        direction = np.sign(move)
    return highs, lows


def test_bouncing_digits_stay_whole_in_the_frame_and_turn_back_at_its_borders():
    size, limit = 40, 40 - 28  # a 28 px digit moves between offsets 0 and 12
    videos = data.moving_digits(4, frames=30, size=size, seed=0, digits_per_sequence=1)
    for video in videos:
        ink = video.sum(axis=(1, 2, 3))
        np.testing.assert_allclose(ink, ink[0], rtol=1e-5)  # the whole digit in every frame
        # the digit's top-left ink pixel follows its offset (row, column) frame by frame
        corner = np.array([np.argwhere(frame[..., 0] > 0).min(axis=0) for frame in video])
        turns = 0
        for track in corner.T:
            assert track.max() - track.min() <= limit
            highs, lows = _turns(track)
            turns += len(highs) + len(lows)
            # it turns back only at the borders: always at the same two offsets, 12 apart
            assert len(set(highs)) <= 1 and len(set(lows)) <= 1
            if highs and lows:
                assert highs[0] - lows[0] == limit
        # at 2 to 4 px per frame, 30 frames cross the 12 px of free space several times
        assert turns >= 2


@pytest.mark.parametrize(
    "call",
    [
        lambda: data.digits(source="internet"),
        lambda: data.faces(source="web"),
        lambda: data.photos("validation"),
    ],
)
def test_unknown_sources_and_splits_list_the_valid_ones(call):
    with pytest.raises(ValueError, match=r"Unknown .*; valid: '"):
        call()


def test_unknown_tfds_face_dataset_is_named():
    with pytest.raises(
        ValueError, match="Unknown tfds face dataset 'ffhq'; valid: 'lfw', 'celeb_a'"
    ):
        data.faces(source="tfds", name="ffhq")


def test_tfds_path_gives_the_bundled_shapes_and_dtypes_offline(tmp_path):
    with tfds.testing.mock_data(num_examples=12):
        (x, y), (x_test, y_test) = data.digits(source="tfds", data_dir=tmp_path)
        assert x.shape == (12, 28, 28, 1) and x_test.shape == (12, 28, 28, 1)
        assert x.dtype == np.float32 and y.dtype == np.int64 and x.max() <= 1.0
        for name in data.TFDS_FACES:
            (f, fy), (f_test, _) = data.faces(source="tfds", name=name, data_dir=tmp_path)
            assert f.shape[1:] == (25, 25, 1) and len(f) + len(f_test) == 12
            assert f.dtype == np.float32 and set(fy) == {1}
        photos = data.photos("test", source="tfds", data_dir=tmp_path)
        assert len(photos) == 12
        assert all(
            p.ndim == 3 and p.shape[-1] == 3 and p.dtype == np.float32 for p in photos.values()
        )
        videos = data.moving_digits(2, frames=3, source="tfds", data_dir=tmp_path)
        assert videos.shape == (2, 3, 64, 64, 1)


def test_importing_the_package_downloads_nothing():
    import subprocess
    import sys

    code = "import sys, keraslstm; print('tensorflow_datasets' in sys.modules, 'mlxtend' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_abstract_art_is_seeded_colourful_and_in_range():
    art = data.abstract_art(6, size=32, seed=0)
    assert art.shape == (6, 32, 32, 3) and art.dtype == np.float32
    assert 0.0 <= art.min() and art.max() <= 1.0
    np.testing.assert_array_equal(art, data.abstract_art(6, size=32, seed=0))
    assert not np.allclose(art, data.abstract_art(6, size=32, seed=1))
    assert np.all(art.std(axis=(1, 2, 3)) > 0.02)  # not flat
    assert np.all(np.abs(art[..., 0] - art[..., 1]).mean(axis=(1, 2)) > 0.01)  # not grey
    with pytest.raises(ValueError, match="size >= 8"):
        data.abstract_art(2, size=4)


def test_wallpaper_art_holds_out_whole_artworks():
    (train, art_train), (test, art_test) = data.wallpaper_art(test_artworks=4, seed=0)
    assert len(np.unique(art_test)) == 4 and not set(art_test) & set(art_train)
    assert len(train) + len(test) == 400 and train.shape[1:] == (32, 32, 3)
    assert train.dtype == np.float32 and 0.0 <= train.min() and train.max() <= 1.0
    # the same crops as abstract_art(source="wallpapers") draws from
    every = data.abstract_art(400, source="wallpapers", seed=0)
    assert np.isclose(np.sort(every.sum(axis=(1, 2, 3))), np.sort(np.r_[train, test].sum(axis=(1, 2, 3)))).all()  # fmt: skip
    (_, other), _ = data.wallpaper_art(test_artworks=4, seed=1)
    assert set(other) != set(art_train)
    with pytest.raises(ValueError, match="test_artworks must be between 1 and 19, got 20"):
        data.wallpaper_art(test_artworks=20)


def test_abstract_art_reads_a_folder_instead(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(3):
        pixels = (rng.random((40, 60, 3)) * 255).astype(np.uint8)
        Image.fromarray(pixels).save(tmp_path / f"p{i}.png")
    (tmp_path / "notes.txt").write_text("not an image")
    art = data.abstract_art(2, size=16, seed=0, folder=tmp_path)
    assert art.shape == (2, 16, 16, 3) and art.dtype == np.float32
    assert data.image_folder(tmp_path, 16).shape == (3, 16, 16, 3)
    with pytest.raises(ValueError, match="asked for 5 images"):
        data.abstract_art(5, size=16, folder=tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no PNG"):
        data.image_folder(tmp_path / "empty", 16)
