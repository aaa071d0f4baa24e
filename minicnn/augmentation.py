"""Batch augmentations for training, and the fixed crops of test-time augmentation.

An augmentation is any callable augment(x, rng) -> x', given to the Solver as augment=...: x is a minibatch
(N, C, H, W) of centred images (0 is the mean image), numpy or cupy, rng a numpy.random.Generator. Each one here
draws its random numbers on the host, so one seed gives the same batch on either device, and does its pixel work
as whole-batch array operations (no Python loop per image), so it runs unchanged on the GPU.

    augment = Compose(RandomAffine(zoom=0.2, shift=0.1, rotation=10, flip=True), RandomErasing(p=0.5))
    solver = Solver(model, data, augment=augment, ...)

RandomAffine covers random scaled crops, shifts, small rotations and mirroring in one bilinear warp: one pass over
the batch instead of four, and one interpolation, so the image is blurred once only. RandomErasing hides a random
rectangle, so that the network cannot lean on one part of the face alone (Zhong et al., 2020).

Why augment at all: FER2013 has 28,709 training faces and a deep net memorises them within a few dozen epochs; a face
slightly zoomed, moved, turned or partly hidden still shows the same emotion, so training on such variants teaches
what stays the same and delays the memorising.
"""
import functools

import numpy as np

from minicnn.backend import get_array_module


# --------------------------------------------------------------------------------------------- the affine warp
def affine_matrices(zoom, shift, rotation, flip, height, width):
    """The (N, 2, 3) float64 matrices that warp_affine takes, one per image, from per-image parameters (N,) each:

    zoom:     > 1 magnifies (a crop of 1/zoom of the image, scaled back up), < 1 shrinks (zero borders come in);
    shift:    (N, 2) the content's move (down, right), in pixels of the input;
    rotation: the content's anticlockwise turn in degrees;
    flip:     bool, mirror left to right.
    All four act about the centre of the (height, width) image. Row n maps an output pixel (i, j) to the point
    (i', j') = matrices[n] @ (i, j, 1) of the input that it samples.
    """
    zoom, rotation = np.asarray(zoom, np.float64), np.radians(np.asarray(rotation, np.float64))
    shift, mirror = np.asarray(shift, np.float64), np.where(np.asarray(flip, bool), -1.0, 1.0)
    center = np.array([(height - 1) / 2, (width - 1) / 2])
    cos, sin = np.cos(rotation) / zoom, np.sin(rotation) / zoom
    # Output offset from the centre -> input offset: undo the turn and the zoom, then the mirror (a column sign).
    linear = np.stack([np.stack([cos, sin * mirror], -1), np.stack([-sin, cos * mirror], -1)], -2)  # (N, 2, 2)
    offset = center - shift - linear @ center
    return np.concatenate([linear, offset[:, :, None]], axis=2)


def warp_affine(x, matrices):
    """Resample every image of x through its affine map, bilinearly; points outside the image read as 0.

    x: (N, C, H, W), numpy or cupy; matrices: (N, 2, 3), as affine_matrices makes them: out[n, :, i, j] is x[n, :]
    at the point matrices[n] @ (i, j, 1), interpolated between its four nearest pixels.
    Returns out: (N, C, H, W), x's dtype. The identity matrix gives x back exactly.
    On numpy arrays (where Numba imports) one Numba pass does it (kernels/warp_cpu.py), elsewhere
    warp_affine_arrays, with the same arithmetic.
    """
    if x.ndim != 4 or tuple(matrices.shape) != (x.shape[0], 2, 3):
        raise ValueError(f"warp_affine: x must be (N, C, H, W) and matrices (N, 2, 3), got x {tuple(x.shape)} and "
                         f"matrices {tuple(matrices.shape)}")
    kernel = _warp_kernel() if type(x) is np.ndarray else None
    return kernel.warp_affine(x, matrices) if kernel is not None else warp_affine_arrays(x, matrices)


def warp_affine_arrays(x, matrices):
    """warp_affine in whole-batch array operations: the readable version, and the one cupy arrays run."""
    xp = get_array_module(x)
    N, C, H, W = x.shape
    m = xp.asarray(matrices, dtype=xp.float64)[:, :, :, None, None]           # broadcast over (H, W)
    rows, cols = xp.arange(H, dtype=xp.float64)[:, None], xp.arange(W, dtype=xp.float64)[None, :]
    source_rows = m[:, 0, 0] * rows + m[:, 0, 1] * cols + m[:, 0, 2]            # (N, H, W)
    source_cols = m[:, 1, 0] * rows + m[:, 1, 1] * cols + m[:, 1, 2]
    top, left = xp.floor(source_rows), xp.floor(source_cols)
    down, right = source_rows - top, source_cols - left                          # weights of the lower/right pixels
    channels_last = x.transpose(0, 2, 3, 1)                                      # (N, H, W, C): one gather per tap
    out = xp.zeros((N, H, W, C), dtype=xp.float64)
    images = xp.arange(N)[:, None, None]
    for row_step, row_weight in ((0, 1 - down), (1, down)):
        for col_step, col_weight in ((0, 1 - right), (1, right)):
            r, c = (top + row_step).astype(xp.int64), (left + col_step).astype(xp.int64)
            inside = (r >= 0) & (r < H) & (c >= 0) & (c < W)
            pixels = channels_last[images, r.clip(0, H - 1), c.clip(0, W - 1)]  # (N, H, W, C)
            out += (row_weight * col_weight * inside)[..., None] * pixels
    return out.transpose(0, 3, 1, 2).astype(x.dtype)


@functools.cache
def _warp_kernel():
    """kernels/warp_cpu.py, or None where Numba cannot be imported (warp_affine_arrays runs then)."""
    try:
        from minicnn.kernels import warp_cpu
    except ImportError:
        return None
    return warp_cpu


class RandomAffine:
    """Random zoom (a scaled crop), shift, rotation and mirror of every image, as one bilinear warp.

    zoom: the zoom factor is uniform in [1 - zoom, 1 + zoom]; shift: the move is uniform in +-shift of the image's
    height (down) and width (right), each axis on its own; rotation: the turn is uniform in +-rotation degrees;
    flip: mirror each image with probability 1/2. RandomAffine(0, 0, 0, False) is the identity.
    """

    def __init__(self, zoom=0.2, shift=0.1, rotation=10.0, flip=True):
        if not 0 <= zoom < 1 or shift < 0 or rotation < 0:
            raise ValueError(f"RandomAffine: need 0 <= zoom < 1, shift >= 0 and rotation >= 0, got zoom {zoom}, "
                             f"shift {shift}, rotation {rotation}")
        self.zoom, self.shift, self.rotation, self.flip = zoom, shift, rotation, flip

    def __call__(self, x, rng):
        """x: (N, C, H, W) -> the warped batch, same shape and dtype."""
        N, _, H, W = _check_images(x, "RandomAffine")
        zoom = rng.uniform(1 - self.zoom, 1 + self.zoom, N)
        shift = rng.uniform(-self.shift, self.shift, (N, 2)) * (H, W)
        rotation = rng.uniform(-self.rotation, self.rotation, N)
        flip = rng.random(N) < 0.5 if self.flip else np.zeros(N, bool)
        return warp_affine(x, affine_matrices(zoom, shift, rotation, flip, H, W))

    def __repr__(self):
        return f"RandomAffine(zoom={self.zoom}, shift={self.shift}, rotation={self.rotation}, flip={self.flip})"


class RandomErasing:
    """With probability p per image, set a random rectangle to `value` (0: the mean image, since inputs are centred).

    The rectangle covers a fraction of the image uniform in `area` and has a height/width ratio log-uniform in
    `aspect`, placed uniformly where it fits.
    """

    def __init__(self, p=0.5, area=(0.02, 0.25), aspect=(0.3, 3.3), value=0.0):
        if not 0 <= p <= 1 or not 0 < area[0] <= area[1] <= 1 or not 0 < aspect[0] <= aspect[1]:
            raise ValueError(f"RandomErasing: need 0 <= p <= 1, 0 < area[0] <= area[1] <= 1 and "
                             f"0 < aspect[0] <= aspect[1], got p {p}, area {area}, aspect {aspect}")
        self.p, self.area, self.aspect, self.value = p, tuple(area), tuple(aspect), value

    def rectangles(self, N, H, W, rng):
        """(top, left, height, width), each (N,) int: the rectangle of each image; height 0 for images left whole."""
        area = rng.uniform(*self.area, N) * H * W
        aspect = np.exp(rng.uniform(*np.log(self.aspect), N))
        height = np.clip(np.round(np.sqrt(area * aspect)), 1, H).astype(np.int64)
        width = np.clip(np.round(np.sqrt(area / aspect)), 1, W).astype(np.int64)
        top = np.floor(rng.random(N) * (H - height + 1)).astype(np.int64)
        left = np.floor(rng.random(N) * (W - width + 1)).astype(np.int64)
        height[rng.random(N) >= self.p] = 0
        return top, left, height, width

    def __call__(self, x, rng):
        """x: (N, C, H, W) -> a copy with each image's rectangle (every channel) set to value."""
        N, _, H, W = _check_images(x, "RandomErasing")
        xp = get_array_module(x)
        top, left, height, width = (xp.asarray(a)[:, None] for a in self.rectangles(N, H, W, rng))
        rows, cols = xp.arange(H)[None, :], xp.arange(W)[None, :]
        in_rows = (rows >= top) & (rows < top + height)                              # (N, H)
        in_cols = (cols >= left) & (cols < left + width)                             # (N, W)
        erased = in_rows[:, None, :, None] & in_cols[:, None, None, :]               # (N, 1, H, W)
        return xp.where(erased, xp.asarray(self.value, dtype=x.dtype), x)

    def __repr__(self):
        return f"RandomErasing(p={self.p}, area={self.area}, aspect={self.aspect}, value={self.value})"


class Compose:
    """Several augmentations applied one after the other: Compose(a, b)(x, rng) = b(a(x, rng), rng)."""

    def __init__(self, *augmentations):
        self.augmentations = augmentations

    def __call__(self, x, rng):
        for augment in self.augmentations:
            x = augment(x, rng)
        return x

    def __repr__(self):
        return f"Compose({', '.join(map(repr, self.augmentations))})"


def standard_augmentation(strength=1.0):
    """The augmentation of minicnn's VGG recipe: mirroring, plus zoom +-20%, shift +-10%, rotation +-10 degrees and
    one erased rectangle on half the images, all scaled by strength (0: mirroring only, 2: twice as strong)."""
    if strength < 0 or 0.2 * strength >= 1:
        raise ValueError(f"standard_augmentation: strength must be in [0, 5), got {strength}")
    return Compose(RandomAffine(zoom=0.2 * strength, shift=0.1 * strength, rotation=10.0 * strength, flip=True),
                   RandomErasing(p=min(1.0, 0.5 * strength)))


def _check_images(x, caller):
    """x.shape (N, C, H, W), or a ValueError naming the caller: a tuple (images, HOG features) cannot be warped."""
    if isinstance(x, tuple) or x.ndim != 4:
        shape = [part.shape for part in x] if isinstance(x, tuple) else x.shape
        raise ValueError(f"{caller}: x must be images (N, C, H, W) alone (features computed from the unchanged "
                         f"image would no longer match it), got {shape}")
    return x.shape


# ---------------------------------------------------------------------------------- test-time augmentation
def crop_views(x, crop_fraction=0.875):
    """Five fixed views of every image for test-time augmentation: its centre and its four corners, each a square
    crop of crop_fraction of the side, scaled back to the full size (as RandomAffine's zoom does in training).

    x: (N, C, H, W) -> list of five arrays (N, C, H, W): centre, top left, top right, bottom left, bottom right.
    """
    N, _, H, W = _check_images(x, "crop_views")
    if not 0 < crop_fraction <= 1:
        raise ValueError(f"crop_views: crop_fraction must be in (0, 1], got {crop_fraction}")
    margin = (1 - crop_fraction) / 2 * np.array([H - 1, W - 1])      # how far a corner crop's centre moves
    views = []
    for down, right in ((0, 0), (-1, -1), (-1, 1), (1, -1), (1, 1)):
        # Content moves opposite to the crop: the top-left crop shows the top-left part, moved down and right.
        shift = np.tile(-margin * (down, right), (N, 1))
        matrices = affine_matrices(np.full(N, 1 / crop_fraction), shift, np.zeros(N),
                                   np.zeros(N, bool), H, W)
        views.append(warp_affine(x, matrices))
    return views


def mirrored(x):
    """x flipped left to right. x: (N, C, H, W) -> (N, C, H, W)."""
    return x[..., ::-1]

