"""Numba kernels for the memory-bound steps of Winograd convolution (minicnn/winograd.py): the input transform, which
cuts x into overlapping alpha x alpha tiles and transforms each to B^T d B; the output transform, which turns each
tile's alpha x alpha products m into the step x step output block A^T m A and puts it in place; and, for the backward
pass, the transposes of these two: dout's step x step blocks y to A y A^T (the output transform, transposed), and the
tiles' gradients dv back to B dv B^T, added into the input gradient where each tile was cut from x (the input
transform, transposed). Six sizes: F(2x2, 3x3), alpha = 4, step 2; F(3x3, 3x3), alpha = 5, step 3; F(4x4, 3x3),
alpha = 6, step 4; F(6x6, 3x3), alpha = 8, step 6; F(2x2, 5x5), alpha = 6, step 2; F(4x4, 5x5), alpha = 8, step 4.
The hand-written helpers for B^T and B tell them apart by the lengths of their arguments, so they know exactly the
four B^T of these six (the keys of minicnn.winograd.TRANSFORMS; tiles of one length share their points, hence B^T): a
new length needs its own branch in each.
Neighbouring input tiles overlap by alpha - step = K - 1, a K x K filter's reach.

Two ways to transform many small tiles fast. The input transform and its transpose, whose tiles overlap, take a whole
row of tiles at a time, in a band of alpha rows: the transform of every column of the band is one loop over its
columns, which the compiler turns into vector instructions; B^T and B appear there as the additions they stand for
(_times_b_transpose, _times_b), written out from the rows of the matrices in minicnn.winograd, because one tile's row
is too short for loops over a matrix to run fast. The input transform does the band's columns first, then each tile's
rows; its transpose each tile's rows first, into the band, then the band's columns, adding where tiles overlap. The
output transform and dout's, whose blocks do not overlap, take TILES_AT_ONCE tiles or more together and multiply by
A^T or A itself (_matrix_times_tiles): the loop across many tiles is long enough to run fast, whatever the matrix, and
each plane is read or written in runs. (Measured: the band 1.1 to 1.8 times faster than tile after tile for the input
transform; many tiles at once 1.1 to 1.6 times faster than the band for the output transform and than block after
block for dout's, and slower than the band for the input transform; benchmarks/RESULTS.md.)
minicnn.winograd holds the same steps in plain NumPy, with the matrices (transform_input_reference,
transform_output_reference, transform_dout_reference, transform_input_transposed_reference): the ones to read first,
and the tests' reference for these.
Layouts:

  V (alpha^2, C, P): V[alpha * i + j, c, p] is entry (i, j) of B^T d B for the input tile d of channel c at tile
           position p = (n * tiles_high + tile_row) * tiles_wide + tile_column, which starts at row
           step * tile_row - pad and column step * tile_column - pad of x[n, c] (0 outside x).
  M (alpha^2, F, P): the products, laid out like V with filters for channels; A^T M[:, f, p] A (M[:, f, p] as an
           alpha x alpha matrix) is the step x step block of out[n, f] at (step * tile_row, step * tile_column),
           cropped at the edge of out.
  D (alpha^2, F, P): dout's blocks A y A^T, laid out like M: D[:, f, p] comes from the block of dout[n, f] that
           M[:, f, p] gives to out[n, f] (zeros where it overhangs the edge).
  dV (alpha^2, C, P): the loss's gradient with respect to V, laid out like V.
  All four as empty_planes lays them out: each of the alpha^2 planes contiguous, a cache line between neighbours,
  and, for minicnn.winograd's fast functions, in the memory of a Workspace that a layer's chunks share.
"""
import numba
import numpy as np

from minicnn.winograd import TRANSFORMS, check_array_to_write

_jit = numba.njit(parallel=True, cache=True, fastmath=False)
CACHE_LINE_BYTES = 64
TILES_AT_ONCE = 64      # blocks the output transform and dout's take together; see _transform_dout


@numba.njit(cache=True, inline="always")
def _times_b_transpose(d, out):
    """out = B^T @ d for one row or column d of a tile: length 4 for F(2x2, 3x3), 5 for F(3x3, 3x3), 6 for F(4x4, 3x3)
    and F(2x2, 5x5) (the same six points, so the same B^T), 8 for F(6x6, 3x3) and F(4x4, 5x5) (the same eight)."""
    if d.shape[0] == 4:
        out[0], out[1], out[2], out[3] = d[0] - d[2], d[1] + d[2], d[2] - d[1], d[1] - d[3]
    elif d.shape[0] == 5:
        two, three = d.dtype.type(2), d.dtype.type(3)   # in the tile's dtype, as below
        out[0] = two * (d[0] - d[2]) - d[1] + d[3]
        out[1] = d[3] - two * d[1] - d[2]
        out[2] = two * d[1] - three * d[2] + d[3]
        out[3] = d[3] - d[1]
        out[4] = two * (d[1] - d[3]) - d[2] + d[4]
    elif d.shape[0] == 6:
        # The constants in the tile's own dtype: a bare 4 would be an int64, and make float32 arithmetic float64.
        two, four, five = d.dtype.type(2), d.dtype.type(4), d.dtype.type(5)
        out[0] = four * d[0] - five * d[2] + d[4]
        out[1] = -four * (d[1] + d[2]) + d[3] + d[4]
        out[2] = four * (d[1] - d[2]) - d[3] + d[4]
        out[3] = two * (d[3] - d[1]) - d[2] + d[4]
        out[4] = two * (d[1] - d[3]) - d[2] + d[4]
        out[5] = four * d[1] - five * d[3] + d[5]
    else:
        # The rows of minicnn.winograd.B_T_8x8. Rows 1 and 2 (the points 1 and -1) share their even and odd halves,
        # with opposite signs for the odd one; so do rows 3 and 4 (2 and -2) and rows 5 and 6 (1/2 and -1/2).
        half, quarter, two, four = d.dtype.type(0.5), d.dtype.type(0.25), d.dtype.type(2), d.dtype.type(4)
        five_halves, five_quarters = d.dtype.type(2.5), d.dtype.type(1.25)
        seventeen_quarters, twenty_one_quarters, five = d.dtype.type(4.25), d.dtype.type(5.25), d.dtype.type(5)
        out[0] = d[0] - d[6] + twenty_one_quarters * (d[4] - d[2])
        even, odd = d[2] + d[6] - seventeen_quarters * d[4], d[1] + d[5] - seventeen_quarters * d[3]
        out[1], out[2] = even + odd, even - odd
        even, odd = quarter * d[2] - five_quarters * d[4] + d[6], half * d[1] - five_halves * d[3] + two * d[5]
        out[3], out[4] = even + odd, even - odd
        even, odd = four * d[2] - five * d[4] + d[6], two * d[1] - five_halves * d[3] + half * d[5]
        out[5], out[6] = even + odd, even - odd
        out[7] = d[7] - d[1] + twenty_one_quarters * (d[3] - d[5])


@numba.njit(cache=True, inline="always")
def _times_b(v, out):
    """out = B @ v for one row or column v of a tile of the input gradient, B = (B^T)^T: length 4, 5, 6 or 8, as for
    _times_b_transpose. Each output is a column of B^T in minicnn.winograd, read downwards."""
    if v.shape[0] == 4:
        out[0], out[1], out[2], out[3] = v[0], v[1] - v[2] + v[3], v[1] + v[2] - v[0], -v[3]
    elif v.shape[0] == 5:
        two, three = v.dtype.type(2), v.dtype.type(3)   # not int64: see _times_b_transpose
        out[0] = two * v[0]
        out[1] = two * (v[2] - v[1] + v[4]) - v[0] - v[3]
        out[2] = -two * v[0] - v[1] - three * v[2] - v[4]
        out[3] = v[0] + v[1] + v[2] + v[3] - two * v[4]
        out[4] = v[4]
    elif v.shape[0] == 6:
        two, four, five = v.dtype.type(2), v.dtype.type(4), v.dtype.type(5)   # not int64: see _times_b_transpose
        out[0] = four * v[0]
        out[1] = four * (v[2] - v[1] + v[5]) + two * (v[4] - v[3])
        out[2] = -five * v[0] - four * (v[1] + v[2]) - v[3] - v[4]
        out[3] = v[1] - v[2] + two * (v[3] - v[4]) - five * v[5]
        out[4] = v[0] + v[1] + v[2] + v[3] + v[4]
        out[5] = v[5]
    else:
        # The columns of minicnn.winograd.B_T_8x8. Rows 1 and 2 of B^T (the points 1 and -1) enter as their sum where
        # their entries in a column agree and as their difference where they differ in sign; likewise rows 3 and 4,
        # and 5 and 6.
        half, quarter, two, four = v.dtype.type(0.5), v.dtype.type(0.25), v.dtype.type(2), v.dtype.type(4)
        five_halves, five_quarters = v.dtype.type(2.5), v.dtype.type(1.25)
        seventeen_quarters, twenty_one_quarters, five = v.dtype.type(4.25), v.dtype.type(5.25), v.dtype.type(5)
        sum1, difference1 = v[1] + v[2], v[1] - v[2]
        sum2, difference2 = v[3] + v[4], v[3] - v[4]
        sum_half, difference_half = v[5] + v[6], v[5] - v[6]
        out[0] = v[0]
        out[1] = difference1 + half * difference2 + two * difference_half - v[7]
        out[2] = sum1 + quarter * sum2 + four * sum_half - twenty_one_quarters * v[0]
        out[3] = twenty_one_quarters * v[7] - seventeen_quarters * difference1 - five_halves * (difference2
                                                                                               + difference_half)
        out[4] = twenty_one_quarters * v[0] - seventeen_quarters * sum1 - five_quarters * sum2 - five * sum_half
        out[5] = difference1 + two * difference2 + half * difference_half - twenty_one_quarters * v[7]
        out[6] = sum1 + sum2 + sum_half - v[0]
        out[7] = v[7]


@_jit
def _transform_input(x, V, alpha, step, pad, tiles_high, tiles_wide):
    N, C, H, W = x.shape
    overlap = alpha - step
    width = step * tiles_wide + overlap
    # One channel per iteration, all its images: it writes V[:, c] from start to end (tile p after tile p - 1), and no
    # other iteration writes there.
    for c in numba.prange(C):
        # The image plane with its zero border, which is set once: each image overwrites only the inside.
        padded = np.zeros((step * tiles_high + overlap, width), dtype=x.dtype)
        band = np.empty((alpha, width), dtype=x.dtype)
        p = 0
        for n in range(N):
            padded[pad:pad + H, pad:pad + W] = x[n, c]
            for tile_row in range(tiles_high):
                # B^T d for all the tiles of this row of tiles at once: B^T times each column of the band of alpha
                # rows they cover, column after column (a loop the compiler turns into vector instructions).
                top = step * tile_row
                for column in range(width):
                    _times_b_transpose(padded[top:top + alpha, column], band[:, column])
                # (B^T d) B: B^T times each tile's part of each row of the band, straight into V, where entry
                # (i, j) of tile p lands in plane alpha * i + j.
                for i in range(alpha):
                    for tile_column in range(tiles_wide):
                        left = step * tile_column
                        _times_b_transpose(band[i, left:left + alpha], V[alpha * i:alpha * (i + 1), c, p + tile_column])
                p += tiles_wide
    return V


@_jit
def _transform_output(M, out, A_T, tiles_high, tiles_wide):
    N, F, out_height, out_width = out.shape
    step, alpha = A_T.shape
    tiles_per_image = tiles_high * tiles_wide
    images_at_once = -(-TILES_AT_ONCE // tiles_per_image)          # whole images, at least TILES_AT_ONCE tiles
    most = images_at_once * tiles_per_image
    # One filter per iteration, all its images: it reads M[:, f] from start to end and writes only out[:, f].
    for f in numba.prange(F):
        lines = np.empty((alpha, most), dtype=M.dtype)
        half = np.empty((alpha, step, most), dtype=M.dtype)             # m A of each tile, row by row
        blocks = np.empty((step, step, most), dtype=M.dtype)            # A^T m A of each tile
        plane = np.empty((step * tiles_high, step * tiles_wide), dtype=M.dtype)    # out[n, f] before cropping
        for first_image in range(0, N, images_at_once):
            images = min(images_at_once, N - first_image)
            first, count = first_image * tiles_per_image, images * tiles_per_image
            for i in range(alpha):              # m A: A^T times row i of every tile's products (plane alpha * i + j)
                for j in range(alpha):
                    lines[j, :count] = M[alpha * i + j, f, first:first + count]
                _matrix_times_tiles(A_T, lines, half[i], count)
            for column in range(step):          # A^T (m A): A^T times each column of every m A
                lines[:, :count] = half[:, column, :count]
                _matrix_times_tiles(A_T, lines, blocks[:, column], count)
            t = 0
            for image in range(images):
                for tile_row in range(tiles_high):
                    for tile_column in range(tiles_wide):
                        top, left = step * tile_row, step * tile_column
                        plane[top:top + step, left:left + step] = blocks[:, :, t]
                        t += 1
                # The last blocks of an odd-sized output hang over its edge: that part is dropped.
                out[first_image + image, f] = plane[:out_height, :out_width]
    return out


@_jit
def _transform_input_transposed(dV, dx, alpha, step, pad, tiles_high, tiles_wide):
    N, C, H, W = dx.shape
    overlap = alpha - step
    width = step * tiles_wide + overlap
    # One channel per iteration, all its images, as in _transform_input: it reads dV[:, c] from start to end and
    # writes only dx[:, c].
    for c in numba.prange(C):
        padded = np.empty((step * tiles_high + overlap, width), dtype=dx.dtype)
        band = np.empty((alpha, width), dtype=dx.dtype)
        transformed = np.empty(alpha, dtype=dx.dtype)
        p = 0
        for n in range(N):
            padded[:] = 0
            for tile_row in range(tiles_high):
                # dv B^T for each tile dv of this row of tiles: B times row i of the tile (plane alpha * i + j
                # holds entry (i, j)), added into the band, where neighbouring tiles overlap.
                band[:] = 0
                for i in range(alpha):
                    for tile_column in range(tiles_wide):
                        left = step * tile_column
                        _times_b(dV[alpha * i:alpha * (i + 1), c, p + tile_column], transformed)
                        band[i, left:left + alpha] += transformed
                # B (dv B^T): B times each column of the band, added into the alpha rows of the plane it covers.
                top = step * tile_row
                for column in range(width):
                    _times_b(band[:, column], transformed)
                    padded[top:top + alpha, column] += transformed
                p += tiles_wide
            # The border of zeros the forward pass added is not part of x: its gradient is dropped.
            dx[n, c] = padded[pad:pad + H, pad:pad + W]
    return dx


@numba.njit(cache=True, inline="always")
def _matrix_times_tiles(matrix, tiles, out, count):
    """out[:, :count] = matrix @ tiles[:, :count]: each column of tiles one tile's row or column, many tiles side by
    side, so that the loop over them (the innermost) runs in vector instructions. Zero entries of matrix are skipped."""
    for row in range(matrix.shape[0]):
        out[row, :count] = 0
        for k in range(matrix.shape[1]):
            entry = matrix[row, k]
            if entry != 0:
                for t in range(count):
                    out[row, t] += entry * tiles[k, t]


@_jit
def _transform_dout(dout, D, A, tiles_high, tiles_wide):
    N, F, out_height, out_width = dout.shape
    alpha, step = A.shape
    tiles = D.shape[2]
    # One filter per iteration, all its images: it writes D[:, f] from start to end, as _transform_input does V[:, c].
    # TILES_AT_ONCE blocks at a time (see the module's docstring): the blocks do not overlap, so any TILES_AT_ONCE of
    # them can be transformed together, each step of it one loop across them.
    for f in numba.prange(F):
        blocks = np.empty((step, step, TILES_AT_ONCE), dtype=dout.dtype)    # blocks[i, j, t]: entry (i, j) of block t
        lines = np.empty((step, TILES_AT_ONCE), dtype=dout.dtype)
        half = np.empty((alpha, step, TILES_AT_ONCE), dtype=dout.dtype)     # A y of each block
        transformed = np.empty((alpha, TILES_AT_ONCE), dtype=dout.dtype)
        n = tile_row = tile_column = 0                                      # where block p = first + t lies
        for first in range(0, tiles, TILES_AT_ONCE):
            count = min(TILES_AT_ONCE, tiles - first)
            for t in range(count):
                # The block, with zeros where it overhangs the edge of dout.
                rows_inside, columns_inside = out_height - step * tile_row, out_width - step * tile_column
                for i in range(step):
                    for j in range(step):
                        inside = i < rows_inside and j < columns_inside
                        blocks[i, j, t] = dout[n, f, step * tile_row + i, step * tile_column + j] if inside else 0
                tile_column += 1
                if tile_column == tiles_wide:
                    tile_column, tile_row = 0, tile_row + 1
                    if tile_row == tiles_high:
                        tile_row, n = 0, n + 1
            for j in range(step):                       # A y: A times column j of every block
                lines[:, :count] = blocks[:, j, :count]
                _matrix_times_tiles(A, lines, half[:, j], count)
            for i in range(alpha):                      # (A y) A^T: A times row i of every A y, as (A (A y)^T)^T
                lines[:, :count] = half[i, :, :count]
                _matrix_times_tiles(A, lines, transformed, count)
                for j in range(alpha):                  # entry (i, j) of every block, a run of count numbers
                    D[alpha * i + j, f, first:first + count] = transformed[j, :count]
    return D


def planes_bytes(count, rows, columns, dtype):
    """The bytes empty_planes(count, rows, columns, dtype) takes, the cache line after each plane included."""
    itemsize = np.dtype(dtype).itemsize
    return count * (rows * columns * itemsize + CACHE_LINE_BYTES)


def empty_planes(count, rows, columns, dtype, memory=None):
    """An uninitialised (count, rows, columns) array, each (rows, columns) plane contiguous (as the BLAS wants it) but
    one cache line further from the next than its size; V, M, D and dV are laid out so. memory: a uint8 array of at
    least planes_bytes(...) to lay them in (a Workspace's buffer), else new memory.

    Why the extra line: a tile's alpha^2 entries go to (or come from) alpha^2 different planes, at the same offset in
    each. When the planes' size is a multiple of 4 KiB (64 channels of 288 tiles in float32: 18 times), those alpha^2
    addresses all fall in the same set of the processor's caches, which holds only 8 to 16 lines, and evict one
    another. The extra line moves each plane on to the next set. (Measured on the deep net's conv2 and conv3:
    winograd_conv 15 to 25% faster.)
    """
    size = rows * columns
    stride = size + CACHE_LINE_BYTES // np.dtype(dtype).itemsize
    if memory is None:
        planes = np.empty((count, stride), dtype=dtype)
    else:
        planes = memory[:planes_bytes(count, rows, columns, dtype)].view(dtype).reshape(count, stride)
    return planes[:, :size].reshape(count, rows, columns)


class Workspace:
    """Memory for the transformed tiles, shared by the calls that one layer makes for the chunks of its batch: one
    buffer for the input side (V, and dV, which takes V's place in the backward pass once the weight gradient is
    computed) and one for the output side (M, or D).

    Why share it: V, M, D and dV are tens of megabytes (the deep net's conv2, a chunk of 75 images: V 44 MB, M 88 MB),
    and every chunk needs the same again. A buffer grows to the largest size asked of it, which the layers' chunks
    bound (minicnn.layers.WINOGRAD_CHUNK_BYTES); the memory goes back when the layer drops the workspace, and with
    malloc told to keep freed memory (minicnn/allocator.py) the next layer or step reuses its pages without a page
    fault. (Kept from one step to the next instead, it held 126 MB through the deep net's whole step: the step's peak
    was 824 MB then, 702 MB now. Without that allocator setting a new workspace faults in anew each call, so
    minicnn.winograd.layer_workspace keeps one then; benchmarks/RESULTS.md.) One call at a time: two threads sharing a
    workspace would write over each other's tiles.
    """

    SIDES = ("input", "output")

    def __init__(self):
        self._buffers = {}

    def planes(self, side, count, rows, columns, dtype):
        """empty_planes(count, rows, columns, dtype) in the buffer of side ('input' or 'output'): valid until the next
        call for the same side, which reuses the memory."""
        if side not in self.SIDES:
            raise ValueError(f"Workspace.planes: side must be one of {self.SIDES}, got {side!r}")
        needed = planes_bytes(count, rows, columns, dtype)
        if side not in self._buffers or self._buffers[side].nbytes < needed:
            self._buffers.pop(side, None)              # before the bigger one is allocated, not after
            self._buffers[side] = np.empty(needed, dtype=np.uint8)
        return empty_planes(count, rows, columns, dtype, memory=self._buffers[side])

    def nbytes(self):
        """The bytes the workspace holds now."""
        return sum(buffer.nbytes for buffer in self._buffers.values())


def _check_tile_count(function, planes, tiles, shape):
    """Raise ValueError unless planes, an (alpha^2, rows, tiles) array, holds this many tiles (for an array of this
    shape): the kernels index it without bounds checks, so a wrong count would read past its end."""
    if planes.ndim != 3 or planes.shape[2] != tiles:
        raise ValueError(f"{function}: expected (alpha^2, rows, {tiles}) for the tiles of {tuple(shape)}, got "
                         f"{planes.shape}")


def transform_input(x, alpha, pad, tiles_high, tiles_wide, kernel_size=3, out=None):
    """x: (N, C, H, W) float32 or float64, alpha: 4, 5, 6 or 8, the tiles of a kernel_size x kernel_size filter -> V:
    (alpha^2, C, N * tiles_high * tiles_wide), the input tiles B^T d B in the layout above, written into out when
    given (a Workspace's planes), else into new empty_planes. The tiles must cover the output: step * tiles_high >=
    H + 2 * pad - (kernel_size - 1) with step = alpha - (kernel_size - 1), likewise W."""
    N, C = x.shape[:2]
    shape = (alpha * alpha, C, N * tiles_high * tiles_wide)
    V = empty_planes(*shape, x.dtype) if out is None else out
    check_array_to_write("transform_input", "out", V, shape, x.dtype)
    step = alpha - (kernel_size - 1)
    return _transform_input(np.ascontiguousarray(x), V, alpha, step, pad, tiles_high, tiles_wide)


def transform_output(M, out_shape, kernel_size=3, out=None):
    """M: (alpha^2, F, N * tiles_high * tiles_wide) (any strides; empty_planes' are the fast ones), alpha 4 to 8, the
    products for a kernel_size x kernel_size filter
    -> out: out_shape = (N, F, H', W'), each tile's A^T m A put in place, with tiles_high = ceil(H' / step),
    tiles_wide = ceil(W' / step), step = alpha - (kernel_size - 1); written into out when given (a slice of a
    layer's output, say), else a new array."""
    N, F, out_height, out_width = out_shape
    alpha = round(M.shape[0] ** 0.5)
    step = alpha - (kernel_size - 1)
    tiles_high, tiles_wide = -(-out_height // step), -(-out_width // step)
    _check_tile_count("transform_output", M, N * tiles_high * tiles_wide, out_shape)
    out = np.empty(out_shape, M.dtype) if out is None else out
    check_array_to_write("transform_output", "out", out, out_shape, M.dtype)
    A_T = np.ascontiguousarray(TRANSFORMS[kernel_size, step][2], dtype=M.dtype)      # (step, alpha)
    return _transform_output(M, out, A_T, tiles_high, tiles_wide)


def transform_dout(dout, alpha, tiles_high, tiles_wide, kernel_size=3, out=None):
    """dout: (N, F, H', W') float32 or float64, the gradient of a kernel_size x kernel_size convolution's output,
    alpha: 4 to 8 -> D: (alpha^2, F, N * tiles_high * tiles_wide), each step x step block y of dout taken to A y A^T,
    in the layout above, with step = alpha - (kernel_size - 1), tiles_high = ceil(H' / step), likewise tiles_wide;
    written into out when given (a Workspace's planes), else into new empty_planes."""
    N, F = dout.shape[:2]
    shape = (alpha * alpha, F, N * tiles_high * tiles_wide)
    D = empty_planes(*shape, dout.dtype) if out is None else out
    check_array_to_write("transform_dout", "out", D, shape, dout.dtype)
    A = np.ascontiguousarray(TRANSFORMS[kernel_size, alpha - (kernel_size - 1)][2].T, dtype=dout.dtype)  # (alpha, step)
    return _transform_dout(np.ascontiguousarray(dout), D, A, tiles_high, tiles_wide)


def transform_input_transposed(dV, x_shape, pad, kernel_size=3, out=None):
    """dV: (alpha^2, C, N * tiles_high * tiles_wide), the loss's gradient with respect to the input tiles V of
    transform_input(x, alpha, pad, tiles_high, tiles_wide, kernel_size), alpha 4 to 8 -> dx: x_shape = (N, C, H, W),
    the gradient with respect to x: each tile's B dv B^T added in where its tile was cut from x (tiles overlap by
    kernel_size - 1, so a pixel gathers from several), the zero border dropped. The transpose of transform_input, with
    tiles_high and tiles_wide those of the convolution's output, as transform_output finds them. Written into out
    when given, else a new array."""
    N, C, H, W = x_shape
    alpha = round(dV.shape[0] ** 0.5)
    step = alpha - (kernel_size - 1)
    out_height, out_width = H + 2 * pad - (kernel_size - 1), W + 2 * pad - (kernel_size - 1)
    tiles_high, tiles_wide = -(-out_height // step), -(-out_width // step)
    _check_tile_count("transform_input_transposed", dV, N * tiles_high * tiles_wide, x_shape)
    dx = np.empty(x_shape, dV.dtype) if out is None else out
    check_array_to_write("transform_input_transposed", "out", dx, x_shape, dV.dtype)
    return _transform_input_transposed(dV, dx, alpha, step, pad, tiles_high, tiles_wide)
