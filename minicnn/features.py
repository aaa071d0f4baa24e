"""HOG features (histograms of oriented gradients) of face images, for the hybrid model.

hog_features runs skimage.feature.hog on each image. scikit-image's HOG spends most of its time in Python, so
threads would only queue for the GIL: large batches are split into chunks that worker processes compute. The
result is cached on disk under a name that hashes the image bytes and the parameters.

Length D of one feature vector, for an H x W image:
    cells per side      = H // pixels_per_cell[0],  W // pixels_per_cell[1]
    blocks per side     = cells per side - cells_per_block + 1   (blocks overlap, sliding by one cell)
    D = blocks_y * blocks_x * cells_per_block[0] * cells_per_block[1] * orientations
For the defaults on a 48x48 face: 6x6 cells of 8x8 pixels, 5x5 blocks of 2x2 cells, 9 orientations,
D = 5 * 5 * 2 * 2 * 9 = 900.
"""
import hashlib
import os
import zipfile
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat
from pathlib import Path

import numpy as np
import skimage
from skimage.feature import hog

from minicnn.files import cache_root, save_arrays

PARALLEL_MIN_IMAGES = 2000  # below this, starting worker processes costs more than it saves
CHUNKS_PER_WORKER = 4  # several chunks per worker, so one slow chunk does not leave the others idle


def hog_dim(image_shape=(48, 48), pixels_per_cell=(8, 8), cells_per_block=(2, 2), orientations=9):
    """D, the length of the HOG vector of one image of image_shape (900 for the defaults), from one blank image."""
    return _feature_length(image_shape, _hog_params(pixels_per_cell, cells_per_block, orientations))


def hog_features(images, pixels_per_cell=(8, 8), cells_per_block=(2, 2), orientations=9, cache_dir=None,
                 n_jobs=None, cache=True):
    """HOG features of a batch of grey images, as skimage.feature.hog computes them (block_norm 'L2-Hys').

    images: uint8 (N, H, W). n_jobs: worker processes (default: one per CPU); batches under PARALLEL_MIN_IMAGES
    images are computed in this process. cache: read and write the cache in cache_dir (default
    $MINICNN_CACHE/hog, else ~/.cache/minicnn/hog).
    Returns float32 (N, D), with D = hog_dim(images.shape[1:], ...) (900 for 48x48 images and the defaults).
    """
    images = np.ascontiguousarray(images)
    if images.ndim != 3:
        raise ValueError(f"hog_features: images must be (N, H, W), got shape {images.shape}")
    params = _hog_params(pixels_per_cell, cells_per_block, orientations)
    if not cache:
        return _compute_hog(images, params, n_jobs)
    cache_file = Path(cache_dir or cache_root() / 'hog') / f"hog-{_cache_key(images, params)}.npz"
    try:
        with np.load(cache_file) as cached:
            return cached['features']
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):  # no cache yet, or an unreadable one: compute afresh
        pass
    features = _compute_hog(images, params, n_jobs)
    try:
        save_arrays(cache_file, {'features': features})
    except OSError:  # a cache we cannot write only costs time
        pass
    return features


def _hog_params(pixels_per_cell, cells_per_block, orientations):
    """The keyword arguments of skimage.feature.hog, as plain tuples and ints (picklable and hashable)."""
    return {'orientations': int(orientations), 'pixels_per_cell': tuple(map(int, pixels_per_cell)),
            'cells_per_block': tuple(map(int, cells_per_block)), 'block_norm': 'L2-Hys'}


def _cache_key(images, params):
    """A hash of the image bytes, their shape and dtype, the HOG parameters and the scikit-image version."""
    digest = hashlib.sha1(images.tobytes())
    digest.update(repr((images.shape, images.dtype.str, sorted(params.items()), skimage.__version__)).encode())
    return digest.hexdigest()


def _feature_length(image_shape, params):
    """D for images of image_shape (H, W), read off the HOG of one blank image."""
    return _hog_of_image(np.zeros(image_shape, dtype=np.uint8), params).size


def _hog_of_image(image, params):
    """skimage.feature.hog of one grey image (H, W) -> float64 (D,)."""
    return hog(image, feature_vector=True, **params)


def _hog_of_chunk(images, params):
    """HOG of each image of images (n, H, W) -> float32 (n, D); run in worker processes, so defined at top level."""
    features = np.empty((len(images), _feature_length(images.shape[1:], params)), dtype=np.float32)
    for i, image in enumerate(images):
        features[i] = _hog_of_image(image, params)
    return features


def _compute_hog(images, params, n_jobs):
    """HOG of every image, float32 (N, D): in this process for small batches, else in n_jobs worker processes.

    The workers start the way Python starts processes by default on the platform (fork on Linux before Python
    3.14, forkserver or spawn elsewhere); the last two import the caller's main module, so a script that calls
    hog_features should do its work under `if __name__ == '__main__':`.
    """
    n_jobs = n_jobs or os.cpu_count() or 1
    if n_jobs == 1 or len(images) < PARALLEL_MIN_IMAGES:
        return _hog_of_chunk(images, params)
    chunks = np.array_split(images, n_jobs * CHUNKS_PER_WORKER)
    with ProcessPoolExecutor(n_jobs) as pool:
        return np.concatenate(list(pool.map(_hog_of_chunk, chunks, repeat(params))))

