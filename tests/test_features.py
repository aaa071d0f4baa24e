"""Tests of minicnn.features: HOG features equal scikit-image's, in parallel too, and come back from the cache."""
import numpy as np
import pytest
from skimage.feature import hog

from minicnn import features


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Keep the default HOG cache of these tests in tmp_path, never in the home folder."""
    monkeypatch.setenv('MINICNN_CACHE', str(tmp_path / 'cache'))


@pytest.fixture
def images():
    """Six random faces, uint8 (6, 48, 48)."""
    return np.random.default_rng(0).integers(0, 256, size=(6, 48, 48), dtype=np.uint8)


def test_shape_and_dim_for_the_defaults(images):
    result = features.hog_features(images)
    assert result.shape == (6, 900) and result.dtype == np.float32
    assert features.hog_dim() == 900 == 5 * 5 * 2 * 2 * 9


def test_dim_for_other_parameters(images):
    result = features.hog_features(images, pixels_per_cell=(6, 6), cells_per_block=(3, 3), orientations=8)
    assert features.hog_dim((48, 48), (6, 6), (3, 3), 8) == result.shape[1] == 6 * 6 * 3 * 3 * 8


def test_equals_scikit_image_for_one_image(images):
    expected = hog(images[2], orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2))
    np.testing.assert_array_equal(features.hog_features(images[2:3], cache=False)[0], expected.astype(np.float32))


@pytest.mark.filterwarnings('ignore:This process .* is multi-threaded:DeprecationWarning')  # fork, Python 3.12+
def test_parallel_equals_serial(images, monkeypatch):
    many = np.concatenate([images] * 4)
    serial = features.hog_features(many, n_jobs=1, cache=False)
    monkeypatch.setattr(features, 'PARALLEL_MIN_IMAGES', 0)
    np.testing.assert_array_equal(features.hog_features(many, n_jobs=2, cache=False), serial)


def test_cache_hit_does_not_recompute(images, tmp_path, monkeypatch):
    first = features.hog_features(images, cache_dir=tmp_path / 'hog')
    assert len(list((tmp_path / 'hog').glob('hog-*.npz'))) == 1

    def fail(*args):
        raise AssertionError('HOG was recomputed although it is cached')
    monkeypatch.setattr(features, '_compute_hog', fail)
    np.testing.assert_array_equal(features.hog_features(images, cache_dir=tmp_path / 'hog'), first)


def test_cache_key_covers_parameters_and_images(images, tmp_path):
    features.hog_features(images, cache_dir=tmp_path)
    features.hog_features(images, orientations=6, cache_dir=tmp_path)
    features.hog_features(images, pixels_per_cell=(12, 12), cache_dir=tmp_path)
    features.hog_features(images[::-1], cache_dir=tmp_path)
    assert len(list(tmp_path.glob('hog-*.npz'))) == 4


def test_default_cache_folder_and_no_cache(images, tmp_path):
    features.hog_features(images, cache=False)
    assert not (tmp_path / 'cache').exists()
    features.hog_features(images)
    assert len(list((tmp_path / 'cache/hog').glob('hog-*.npz'))) == 1


def test_rejects_images_without_batch_axis(images):
    with pytest.raises(ValueError, match=r'images must be \(N, H, W\)'):
        features.hog_features(images[0])
