"""The Numba kernel of the bilinear affine warp that minicnn.augmentation's RandomAffine and crop_views run on numpy
arrays; minicnn.augmentation.warp_affine_arrays does the same in whole-batch array operations (the one to read first,
the tests' reference, and the one cupy arrays run). One pass over the output, each pixel reading its four
neighbours, instead of a dozen passes over (N, H, W) temporaries: 20 to 50 times faster on a minibatch.
"""
import math

import numba
import numpy as np


@numba.njit(parallel=True, cache=True)
def _warp_affine(x, matrices, out):
    N, C, H, W = x.shape
    for n in numba.prange(N):
        a, b, e = matrices[n, 0, 0], matrices[n, 0, 1], matrices[n, 0, 2]
        c, d, f = matrices[n, 1, 0], matrices[n, 1, 1], matrices[n, 1, 2]
        for i in range(H):
            for j in range(W):
                source_row, source_col = a * i + b * j + e, c * i + d * j + f
                top, left = math.floor(source_row), math.floor(source_col)
                down, right = source_row - top, source_col - left
                top, left = int(top), int(left)
                for channel in range(C):
                    value = 0.0
                    for row, row_weight in ((top, 1.0 - down), (top + 1, down)):
                        for col, col_weight in ((left, 1.0 - right), (left + 1, right)):
                            if 0 <= row < H and 0 <= col < W:
                                value += row_weight * col_weight * x[n, channel, row, col]
                    out[n, channel, i, j] = value
    return out


def warp_affine(x, matrices):
    """x: (N, C, H, W) numpy float array, matrices: (N, 2, 3) -> out: (N, C, H, W), x's dtype: out[n, :, i, j] is
    x[n] at the point matrices[n] @ (i, j, 1), bilinearly interpolated, 0 outside x. Shapes are checked by the
    caller (minicnn.augmentation.warp_affine)."""
    out = np.empty_like(x)
    return _warp_affine(np.ascontiguousarray(x), np.ascontiguousarray(matrices, dtype=np.float64), out)
