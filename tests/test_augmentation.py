"""Tests for minicnn/augmentation.py: the warp against a loop-by-loop reference and against exact transforms
(identity, mirror, whole-pixel shifts, quarter turns), the Numba kernel against the array version on odd shapes,
each augmentation's shapes, dtypes, seeding and errors, and the crops of test-time augmentation."""
import math

import numpy as np
import pytest

from minicnn import augmentation
from minicnn.augmentation import (Compose, RandomAffine, RandomErasing, affine_matrices, crop_views,
                                  standard_augmentation, warp_affine, warp_affine_arrays)


def matrices_of(N, H, W, zoom=1.0, shift=(0.0, 0.0), rotation=0.0, flip=False):
    """The same affine map for all N images."""
    return affine_matrices(np.full(N, zoom), np.tile(shift, (N, 1)), np.full(N, rotation), np.full(N, flip), H, W)


def random_matrices(rng, N, H, W):
    return affine_matrices(rng.uniform(0.7, 1.3, N), rng.uniform(-3, 3, (N, 2)), rng.uniform(-30, 30, N),
                           rng.random(N) < 0.5, H, W)


def warp_by_loops(x, matrices):
    """The textbook bilinear warp, one output pixel at a time: the independent reference."""
    N, C, H, W = x.shape
    out = np.zeros(x.shape)
    for n, c, i, j in np.ndindex(N, C, H, W):
        row, col = matrices[n] @ (i, j, 1)
        top, left = math.floor(row), math.floor(col)
        for r, weight_r in ((top, 1 - (row - top)), (top + 1, row - top)):
            for s, weight_s in ((left, 1 - (col - left)), (left + 1, col - left)):
                if 0 <= r < H and 0 <= s < W:
                    out[n, c, i, j] += weight_r * weight_s * x[n, c, r, s]
    return out


@pytest.mark.parametrize("warp", [warp_affine, warp_affine_arrays])
@pytest.mark.parametrize("shape", [(3, 2, 7, 5), (2, 1, 9, 9), (1, 3, 4, 11)])
def test_warp_matches_the_loop_by_loop_reference(warp, shape):
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape)
    matrices = random_matrices(rng, shape[0], *shape[2:])
    np.testing.assert_allclose(warp(x, matrices), warp_by_loops(x, matrices), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numba_and_array_warps_agree_on_odd_shapes(dtype):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((17, 3, 13, 19)).astype(dtype)
    matrices = random_matrices(rng, 17, 13, 19)
    fast, arrays = warp_affine(x, matrices), warp_affine_arrays(x, matrices)
    assert fast.dtype == arrays.dtype == dtype
    np.testing.assert_allclose(fast, arrays, rtol=1e-6 if dtype == np.float32 else 1e-13, atol=1e-6)


@pytest.mark.parametrize("warp", [warp_affine, warp_affine_arrays])
def test_exact_transforms(warp):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 2, 6, 6))
    np.testing.assert_array_equal(warp(x, matrices_of(2, 6, 6)), x)
    np.testing.assert_array_equal(warp(x, matrices_of(2, 6, 6, flip=True)), x[..., ::-1])
    # A move of whole pixels: 2 down, 1 left, the uncovered border 0.
    moved = np.zeros_like(x)
    moved[:, :, 2:, :-1] = x[:, :, :-2, 1:]
    np.testing.assert_array_equal(warp(x, matrices_of(2, 6, 6, shift=(2, -1))), moved)
    # An anticlockwise quarter turn of a square image is np.rot90 (up to the rounding of cos 90 degrees).
    np.testing.assert_allclose(warp(x, matrices_of(2, 6, 6, rotation=90)), np.rot90(x, axes=(2, 3)), atol=1e-12)


def test_flip_twice_is_the_identity_and_zoom_magnifies_about_the_centre():
    x = np.random.default_rng(3).standard_normal((1, 1, 9, 9))
    flip = matrices_of(1, 9, 9, flip=True)
    np.testing.assert_array_equal(warp_affine(warp_affine(x, flip), flip), x)
    zoomed = warp_affine(x, matrices_of(1, 9, 9, zoom=2.0))
    assert zoomed[0, 0, 4, 4] == x[0, 0, 4, 4]                       # the centre stays
    assert zoomed[0, 0, 0, 0] == x[0, 0, 2, 2]                       # the corner shows what was halfway to it
    np.testing.assert_allclose(zoomed[0, 0, 0, 1], (x[0, 0, 2, 2] + x[0, 0, 2, 3]) / 2)


@pytest.mark.parametrize("augment", [RandomAffine(), RandomErasing(p=1.0), standard_augmentation(),
                                     standard_augmentation(0.0), Compose()])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shapes_dtypes_and_seeds(augment, dtype):
    x = np.random.default_rng(4).standard_normal((6, 1, 12, 10)).astype(dtype)
    original = x.copy()
    first, second = augment(x, np.random.default_rng(7)), augment(x, np.random.default_rng(7))
    assert first.shape == x.shape and first.dtype == dtype
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(x, original)                       # the batch itself is left alone
    if not isinstance(augment, Compose) or augment.augmentations:
        assert not np.array_equal(augment(x, np.random.default_rng(8)), first)


def test_identity_parameters_give_the_input_back():
    x = np.random.default_rng(5).standard_normal((4, 2, 8, 8)).astype(np.float32)
    np.testing.assert_array_equal(RandomAffine(0, 0, 0, flip=False)(x, np.random.default_rng(0)), x)
    np.testing.assert_array_equal(RandomErasing(p=0.0)(x, np.random.default_rng(0)), x)


def test_random_affine_mirrors_about_half_and_stays_in_its_ranges():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((400, 1, 8, 8))
    mirrored = RandomAffine(0, 0, 0, flip=True)(x, rng)
    flipped = np.all(mirrored == x[..., ::-1], axis=(1, 2, 3))
    assert np.all(flipped | np.all(mirrored == x, axis=(1, 2, 3)))
    assert 150 < flipped.sum() < 250


def test_random_erasing_sets_one_rectangle_per_image_within_its_area():
    x = np.ones((300, 2, 20, 16))
    erase = RandomErasing(p=1.0, area=(0.05, 0.2), value=0.0)
    out = erase(x, np.random.default_rng(9))
    for image in out:
        rows, cols = np.nonzero(image[0] == 0)
        height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
        assert len(rows) == height * width                           # one filled rectangle
        assert np.array_equal(image[0] == 0, image[1] == 0)          # the same in every channel
        assert 0.05 * 320 * 0.7 <= height * width <= 0.2 * 320 * 1.3   # the area, up to rounding of the sides
    half = RandomErasing(p=0.5)(x, np.random.default_rng(10))
    assert 100 < np.any(half == 0, axis=(1, 2, 3)).sum() < 200


def test_rectangles_fit_inside_the_image():
    top, left, height, width = RandomErasing(p=1.0, area=(0.3, 1.0)).rectangles(1000, 7, 9, np.random.default_rng(11))
    assert np.all(top >= 0) and np.all(left >= 0) and np.all(top + height <= 7) and np.all(left + width <= 9)
    assert np.all(height >= 1) and np.all(width >= 1)


@pytest.mark.parametrize("augment", [RandomAffine(), RandomErasing(), crop_views])
def test_hog_pairs_and_flat_arrays_are_refused(augment):
    rng = np.random.default_rng(0)
    call = augment if augment is crop_views else (lambda x: augment(x, rng))
    with pytest.raises(ValueError, match=r"images \(N, C, H, W\) alone"):
        call((np.zeros((2, 1, 4, 4)), np.zeros((2, 5))))
    with pytest.raises(ValueError, match=r"images \(N, C, H, W\) alone"):
        call(np.zeros((2, 16)))


@pytest.mark.parametrize("make, message", [(lambda: RandomAffine(zoom=1.0), "0 <= zoom < 1"),
                                           (lambda: RandomErasing(p=1.5), "0 <= p <= 1"),
                                           (lambda: RandomErasing(area=(0.5, 0.1)), "area"),
                                           (lambda: standard_augmentation(-1), "strength"),
                                           (lambda: warp_affine(np.zeros((2, 1, 4, 4)), np.zeros((3, 2, 3))),
                                            r"matrices \(N, 2, 3\)")])
def test_bad_settings_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_crop_views_are_the_centre_and_the_four_corners():
    x = np.random.default_rng(12).standard_normal((2, 1, 9, 9))
    views = crop_views(x, crop_fraction=0.5)
    assert len(views) == 5 and all(view.shape == x.shape for view in views)
    centre, top_left, top_right, bottom_left, bottom_right = views
    np.testing.assert_array_equal(centre, warp_affine(x, matrices_of(2, 9, 9, zoom=2.0)))
    # Each corner crop of half the side starts at its corner and ends at the image's centre.
    for view, (row, col) in ((top_left, (0, 0)), (top_right, (0, 8)), (bottom_left, (8, 0)), (bottom_right, (8, 8))):
        np.testing.assert_allclose(view[:, :, 0 if row == 0 else -1, 0 if col == 0 else -1], x[:, :, row, col])
        np.testing.assert_allclose(view[:, :, -1 if row == 0 else 0, -1 if col == 0 else 0], x[:, :, 4, 4])
    np.testing.assert_array_equal(crop_views(x, 1.0)[3], x)          # a crop of the whole image is the image


def test_the_numba_kernel_is_used_on_numpy_arrays(monkeypatch):
    if augmentation._warp_kernel() is None:
        pytest.skip("Numba is not importable here")
    monkeypatch.setattr(augmentation, "warp_affine_arrays", lambda x, matrices: pytest.fail("array version ran"))
    warp_affine(np.zeros((1, 1, 3, 3)), matrices_of(1, 3, 3))
