"""Preparing FER2013's images for the network, and augmenting them during training.

preprocess centres the images on the mean training image, as the paper does, and model_inputs adds the HOG features
a hybrid net also takes; random_flip is the augmentation the paper's runs use, given to the Solver as
augment=random_flip (any function augment(X_batch, rng) -> X_batch works).
"""
import numpy as np

from minicnn.backend import get_array_module
from minicnn.features import hog_features


def preprocess(images, mean_image=None):
    """Subtract the mean training image, as the paper does, and add the channel axis the network expects.

    images: uint8 (N, 48, 48). mean_image: float32 (48, 48), or None to compute it from images (pass the
    training images then; pass the returned mean_image for validation, test and new images).
    Returns X: float32 (N, 1, 48, 48) with X[i, 0] = images[i] - mean_image, and mean_image: float32 (48, 48).
    Pixel values keep their 0..255 scale.
    """
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"preprocess: images must be (N, H, W), got shape {images.shape}")
    if mean_image is None:
        if len(images) == 0:
            raise ValueError("preprocess: no images to compute the mean image from")
        mean_image = images.mean(axis=0, dtype=np.float64).astype(np.float32)
    mean_image = np.asarray(mean_image, dtype=np.float32)
    if mean_image.shape != images.shape[1:]:
        raise ValueError(f"preprocess: mean_image is {mean_image.shape}, images are {images.shape[1:]}")
    return images.astype(np.float32)[:, np.newaxis] - mean_image, mean_image


def model_inputs(model, images, hog_cache=True):
    """What model.predict takes for uint8 images (N, 48, 48): the images centred on the model's mean image, paired
    with their HOG features for the hybrid net (kept in features' disk cache when hog_cache). model: a ConvNet or an
    Ensemble (anything with mean_image and hog_dim)."""
    X, _ = preprocess(images, model.mean_image)
    if model.hog_dim > 0:
        return X, hog_features(images, cache=hog_cache)
    return X


def random_flip(x, rng, p=0.5):
    """Mirror each image of a minibatch left to right with probability p (on average half of them): a face mirrored
    is still a face with the same expression, so training sees twice the variety of images.

    x: (N, C, H, W), numpy or cupy. rng: numpy.random.Generator; the draws are made on the host, so one seed
    gives the same flips on either device: image i is flipped when rng.random(N)[i] < p.
    Returns a new array like x.
    """
    if isinstance(x, tuple):
        # Features computed from the unflipped images (HOG, say) would no longer match a flipped image.
        raise ValueError(f"random_flip: x must be images (N, C, H, W) alone, not a tuple of arrays "
                         f"{[part.shape for part in x]}")
    if x.ndim != 4:
        raise ValueError(f"random_flip: x must be (N, C, H, W), got shape {x.shape}")
    xp = get_array_module(x)
    flip = xp.asarray(rng.random(x.shape[0]) < p)
    return xp.where(flip[:, None, None, None], x[..., ::-1], x)
