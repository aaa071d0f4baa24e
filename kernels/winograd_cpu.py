"""Numba kernels for the two memory-bound steps of Winograd convolution (minicnn/winograd.py): the input transform,
which cuts x into overlapping tiles and transforms each, and the output transform, which turns the products back into
output tiles and places them in the output.

The transform matrices come in as arguments (minicnn.winograd holds them and explains them), so one kernel serves
every tile size: an alpha x alpha input tile gives an m x m output tile, m = alpha - 2 for a 3x3 filter. Layouts:

  V (alpha * alpha, C, P): V[i * alpha + j, c, p] is entry (i, j) of B^T d B for the input tile d of channel c at
           tile position p = (n * tiles_high + tile_row) * tiles_wide + tile_column; tile (tile_row, tile_column) of
           image n starts at row m * tile_row - pad, column m * tile_column - pad of x (0 outside x).
  M (alpha * alpha, F, P): the products, laid out like V with filters for channels; output tile p is A^T M[:, f, p] A
           (as an alpha x alpha matrix), the m x m block of out[n, f] that starts at (m * tile_row, m * tile_column),
           cropped at the edge of out.

kernels/winograd_cpu.py is to minicnn.winograd what cpu.py is to reference.py: the same work as the plain NumPy
transforms there (winograd.transform_input_reference, transform_output_reference), which the tests compare it with.
"""
import numba
import numpy as np

_jit = numba.njit(parallel=True, cache=True, fastmath=False)


@numba.njit(cache=True, inline="always")
def _left_multiply(matrix, block, product):
    """product = matrix @ block, for the small matrices of one tile (loops, so that no temporary is allocated)."""
    for i in range(matrix.shape[0]):
        for j in range(block.shape[1]):
            total = 0.0
            for k in range(matrix.shape[1]):
                total += matrix[i, k] * block[k, j]
            product[i, j] = total


@numba.njit(cache=True, inline="always")
def _right_multiply_by_transpose(block, matrix, product):
    """product = block @ matrix.T (the transform's right factor B or A is the transpose of its left factor)."""
    for i in range(block.shape[0]):
        for j in range(matrix.shape[0]):
            total = 0.0
            for k in range(block.shape[1]):
                total += block[i, k] * matrix[j, k]
            product[i, j] = total


@_jit
def _transform_input(x, B_T, V, pad, tiles_high, tiles_wide):
    N, C, H, W = x.shape
    alpha = B_T.shape[0]
    step = alpha - 2                       # the output tile's size: neighbouring input tiles overlap by 2
    # One (channel, image) plane per iteration: it stays in cache for all its tiles, and no two iterations write the
    # same entries of V. The scratch tiles are allocated once per plane.
    for task in numba.prange(C * N):
        c, n = task // N, task % N
        tile = np.empty((alpha, alpha), dtype=x.dtype)
        half = np.empty((alpha, alpha), dtype=x.dtype)
        transformed = np.empty((alpha, alpha), dtype=x.dtype)
        for tile_row in range(tiles_high):
            for tile_column in range(tiles_wide):
                top, left = step * tile_row - pad, step * tile_column - pad
                for i in range(alpha):
                    for j in range(alpha):
                        h, w = top + i, left + j
                        tile[i, j] = x[n, c, h, w] if 0 <= h < H and 0 <= w < W else 0.0   # zero padding
                _left_multiply(B_T, tile, half)
                _right_multiply_by_transpose(half, B_T, transformed)
                p = (n * tiles_high + tile_row) * tiles_wide + tile_column
                for i in range(alpha):
                    for j in range(alpha):
                        V[i * alpha + j, c, p] = transformed[i, j]
    return V


@_jit
def _transform_output(M, A_T, out, tiles_high, tiles_wide):
    N, F, out_height, out_width = out.shape
    step, alpha = A_T.shape
    # One (filter, image) plane of out per iteration: each writes its own plane.
    for task in numba.prange(F * N):
        f, n = task // N, task % N
        products = np.empty((alpha, alpha), dtype=M.dtype)
        half = np.empty((step, alpha), dtype=M.dtype)
        block = np.empty((step, step), dtype=M.dtype)
        for tile_row in range(tiles_high):
            for tile_column in range(tiles_wide):
                p = (n * tiles_high + tile_row) * tiles_wide + tile_column
                for i in range(alpha):
                    for j in range(alpha):
                        products[i, j] = M[i * alpha + j, f, p]
                _left_multiply(A_T, products, half)
                _right_multiply_by_transpose(half, A_T, block)
                top, left = step * tile_row, step * tile_column
                # The last tile of an odd-sized output hangs over its edge: that part is dropped.
                for i in range(min(step, out_height - top)):
                    for j in range(min(step, out_width - left)):
                        out[n, f, top + i, left + j] = block[i, j]
    return out


def transform_input(x, B_T, pad, tiles_high, tiles_wide):
    """x: (N, C, H, W), B_T: (alpha, alpha) -> V: (alpha * alpha, C, N * tiles_high * tiles_wide), the transformed
    input tiles B^T d B in the layout above. x and B_T must have the same float dtype (checked by the caller)."""
    N, C = x.shape[:2]
    alpha = B_T.shape[0]
    V = np.empty((alpha * alpha, C, N * tiles_high * tiles_wide), dtype=x.dtype)
    return _transform_input(np.ascontiguousarray(x), np.ascontiguousarray(B_T), V, pad, tiles_high, tiles_wide)


def transform_output(M, A_T, out_shape):
    """M: (alpha * alpha, F, N * tiles_high * tiles_wide), A_T: (m, alpha) -> out: out_shape = (N, F, H', W'), each
    output tile A^T m A placed at its position, cropped at the edge. M and A_T must have the same float dtype."""
    N, F, out_height, out_width = out_shape
    step = A_T.shape[0]
    tiles_high, tiles_wide = -(-out_height // step), -(-out_width // step)
    out = np.empty(out_shape, dtype=M.dtype)
    return _transform_output(np.ascontiguousarray(M), np.ascontiguousarray(A_T), out, tiles_high, tiles_wide)
