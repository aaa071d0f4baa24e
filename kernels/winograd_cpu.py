"""Numba kernels for the two memory-bound steps of Winograd F(2x2, 3x3) convolution (minicnn/winograd.py): the input
transform, which cuts x into overlapping 4x4 tiles and transforms each to B^T d B, and the output transform, which
turns each tile's 4x4 products m into the 2x2 output block A^T m A and puts it in place.

B^T and A^T appear here as the additions they stand for (_times_b_transpose, _times_a_transpose), written out from the
rows of minicnn.winograd.B_T and A_T, because a tile is too small for loops over a matrix to run fast. minicnn.winograd
holds the same steps in plain NumPy, with the matrices (transform_input_reference, transform_output_reference): the
ones to read first, and the tests' reference for these. Layouts:

  V (16, C, P): V[4 * i + j, c, p] is entry (i, j) of B^T d B for the 4x4 input tile d of channel c at tile position
           p = (n * tiles_high + tile_row) * tiles_wide + tile_column, which starts at row 2 * tile_row - pad and
           column 2 * tile_column - pad of x[n, c] (0 outside x).
  M (16, F, P): the products, laid out like V with filters for channels; A^T M[:, f, p] A (M[:, f, p] as a 4x4
           matrix) is the 2x2 block of out[n, f] that starts at (2 * tile_row, 2 * tile_column), cropped at its edge.
"""
import numba
import numpy as np

_jit = numba.njit(parallel=True, cache=True, fastmath=False)


@numba.njit(cache=True, inline="always")
def _times_b_transpose(d0, d1, d2, d3):
    """B^T @ (d0, d1, d2, d3): the rows (1, 0, -1, 0), (0, 1, 1, 0), (0, -1, 1, 0), (0, 1, 0, -1) of B^T."""
    return d0 - d2, d1 + d2, d2 - d1, d1 - d3


@numba.njit(cache=True, inline="always")
def _times_a_transpose(m0, m1, m2, m3):
    """A^T @ (m0, m1, m2, m3): the rows (1, 1, 1, 0) and (0, 1, -1, -1) of A^T."""
    return m0 + m1 + m2, m1 - m2 - m3


@_jit
def _transform_input(x, V, pad, tiles_high, tiles_wide):
    N, C, H, W = x.shape
    # One channel per iteration, all its images: it writes V[:, c] from start to end (tile p after tile p - 1), and no
    # other iteration writes there.
    for c in numba.prange(C):
        # The image plane with its zero border, which is set once: each image overwrites only the inside.
        padded = np.zeros((2 * tiles_high + 2, 2 * tiles_wide + 2), dtype=x.dtype)
        half = np.empty((4, 4), dtype=x.dtype)
        p = 0
        for n in range(N):
            padded[pad:pad + H, pad:pad + W] = x[n, c]
            for tile_row in range(tiles_high):
                for tile_column in range(tiles_wide):
                    d = padded[2 * tile_row:2 * tile_row + 4, 2 * tile_column:2 * tile_column + 4]
                    for j in range(4):                 # B^T d: B^T times each column of d
                        half[0, j], half[1, j], half[2, j], half[3, j] = _times_b_transpose(
                            d[0, j], d[1, j], d[2, j], d[3, j])
                    for i in range(4):                 # (B^T d) B: B^T times each row, as (B^T d) B = (B^T (B^T d)^T)^T
                        V[4 * i, c, p], V[4 * i + 1, c, p], V[4 * i + 2, c, p], V[4 * i + 3, c, p] = \
                            _times_b_transpose(half[i, 0], half[i, 1], half[i, 2], half[i, 3])
                    p += 1
    return V


@_jit
def _transform_output(M, out, tiles_high, tiles_wide):
    N, F, out_height, out_width = out.shape
    # One filter per iteration, all its images: it reads M[:, f] from start to end and writes only out[:, f].
    for f in numba.prange(F):
        plane = np.empty((2 * tiles_high, 2 * tiles_wide), dtype=M.dtype)   # out[n, f] before cropping
        half = np.empty((2, 4), dtype=M.dtype)
        p = 0
        for n in range(N):
            for tile_row in range(tiles_high):
                for tile_column in range(tiles_wide):
                    for j in range(4):                 # A^T m: A^T times each column of the 4x4 products m
                        half[0, j], half[1, j] = _times_a_transpose(M[j, f, p], M[4 + j, f, p], M[8 + j, f, p],
                                                                    M[12 + j, f, p])
                    for i in range(2):                 # (A^T m) A: A^T times each row
                        plane[2 * tile_row + i, 2 * tile_column], plane[2 * tile_row + i, 2 * tile_column + 1] = \
                            _times_a_transpose(half[i, 0], half[i, 1], half[i, 2], half[i, 3])
                    p += 1
            # The last tiles of an odd-sized output hang over its edge: that part is dropped.
            out[n, f] = plane[:out_height, :out_width]
    return out


def transform_input(x, pad, tiles_high, tiles_wide):
    """x: (N, C, H, W) float32 or float64 -> V: (16, C, N * tiles_high * tiles_wide), the input tiles B^T d B in the
    layout above; tiles_high and tiles_wide must cover the output: 2 * tiles_high >= H + 2 * pad - 2, likewise W."""
    N, C = x.shape[:2]
    V = np.empty((16, C, N * tiles_high * tiles_wide), dtype=x.dtype)
    return _transform_input(np.ascontiguousarray(x), V, pad, tiles_high, tiles_wide)


def transform_output(M, out_shape):
    """M: (16, F, N * tiles_high * tiles_wide) -> out: out_shape = (N, F, H', W'), each tile's A^T m A put in place,
    with tiles_high = ceil(H' / 2), tiles_wide = ceil(W' / 2)."""
    N, F, out_height, out_width = out_shape
    out = np.empty(out_shape, dtype=M.dtype)
    return _transform_output(np.ascontiguousarray(M), out, -(-out_height // 2), -(-out_width // 2))
