"""Winograd minimal filtering: 3x3 and 5x5 stride-1 convolution with 2.25 (or 3.24, 4 or 5.06) and 6.25 (or 2.78)
times fewer multiplications than im2col.

The idea in one dimension, F(2, 3): two outputs of a 3-tap filter g over four inputs d,

    y0 = d0 g0 + d1 g1 + d2 g2
    y1 = d1 g0 + d2 g1 + d3 g2,                                       6 multiplications done directly,

come out of only 4 products,

    m0 = (d0 - d2) g0                 m1 = (d1 + d2) (g0 + g1 + g2) / 2
    m3 = (d1 - d3) g2                 m2 = (d2 - d1) (g0 - g1 + g2) / 2
    y0 = m0 + m1 + m2                 y1 = m1 - m2 - m3              (expand them: the cross terms cancel).

The filter's factors (g0, (g0 + g1 + g2) / 2, ...) are computed once per filter and reused by every tile of every
image, so they cost nothing per output. In matrices: y = A^T [(G g) * (B^T d)], * elementwise, with B^T, G, A^T below.

Where the matrices come from (Lavin & Gray 2016, "Fast Algorithms for Convolutional Neural Networks", after Toom and
Cook). Multiplying the filter polynomial g0 + g1 t + g2 t^2 by a degree-1 polynomial h0 + h1 t gives a polynomial of
degree 3, fixed by its values at 4 points, here 0, 1, -1 and infinity (where the "value" is the leading coefficient).
So: evaluate both factors at the 4 points (G does it for g: g(0), g(1) / 2, g(-1) / 2, g2; the 1/2 belongs to the
interpolation and is moved into G, which is computed once per filter), multiply the 4 values, and interpolate the
product's 4 coefficients back: 4 multiplications. Our correlation, 2 outputs from 4 inputs, is that computation
transposed (a product spreads each h_k over the outputs; a correlation gathers the inputs into each y_k), and
transposing swaps the roles of the outer matrices: B^T is the interpolation matrix transposed, A^T the evaluation
matrix of h0 + h1 t transposed (with the sign of the point at infinity flipped in both, so the flips cancel). G
stays as it is.

Two dimensions, F(2x2, 3x3): nest the 1-D algorithm along rows and columns. A 4x4 input tile d and a 3x3 filter g
give the 2x2 output tile
    Y = A^T [(G g G^T) * (B^T d B)] A,          16 multiplications instead of 2 * 2 * 9 = 36, 2.25 times fewer.
Output tiles are 2x2, so neighbouring 4x4 input tiles overlap by 2 rows or columns.

Over channels the elementwise products are summed, and for each of the 16 positions (i, j) that sum is a matrix
product: with U = G g G^T for every (filter, channel) and V = B^T d B for every (channel, tile),
    M[i, j] (F, tiles) = U[i, j] (F, C) @ V[i, j] (C, tiles),
16 GEMMs that np.matmul hands to the BLAS in one batched call. The transforms are additions (and, in the larger
tiles, multiplications by constants), but they carry every tile through memory: on the CPU they take about as long as
the GEMMs (benchmarks/RESULTS.md).

Larger tiles save more: F(4x4, 3x3) takes a 6x6 tile to a 4x4 output block with 36 products instead of 144 (the option
tile=4), at the price of 10 to 40 times the float32 rounding error of F(2x2, 3x3) (about 1e-5 of the output's scale on
the deep net's layers). In between, F(3x3, 3x3) (tile=3: 5 points, 0, 1, -1, 2 and infinity) takes a 5x5 tile to a 3x3
block with 25 products instead of 81; it fits 6x6 maps exactly, where the 4x4 blocks would compute 8x8, with 8 to 11
times im2col's float32 error (its weight gradient 3 times). Larger again, F(6x6, 3x3) (tile=6) takes an 8x8 tile,
with the 8 points of F(4x4, 5x5) below, to a 6x6 block: 64 products instead of 324, 5.06 times fewer, at 28 to 41
times im2col's float32 error (1e-5 of the scale). Which one pays depends on the map's size: see "Which tile".

Larger filters work the same way. F(2x2, 5x5) multiplies a degree-1 polynomial by the 5-tap filter polynomial
g0 + g1 t + ... + g4 t^4: the product has degree 5, so it needs 6 points, the same 0, 1, -1, 2, -2 and infinity as
F(4x4, 3x3). B^T, which interpolates from those points, depends on nothing else and is the same matrix; G evaluates
the 5 taps there (row [1, a, a^2, a^3, a^4] for the point a, with the same scale factors); A^T is the evaluation of
h0 + h1 t (row [1, a]) transposed. A 6x6 tile gives a 2x2 output block from 36 products instead of 2 * 2 * 25 = 100,
2.78 times fewer, at 10 to 20 times im2col's float32 rounding error (G's entries reach 2/3 at t^4, B^T's 5). It pays
little on the CPU for the deep net's conv2 (64 -> 128 channels, 24x24): the tiles hold 36 numbers per 4 outputs, so
the transforms move 9 times the data of x and out; forward + backward it ran 1.0 to 1.13 times as fast as im2col.
F(4x4, 5x5) takes 8x8 tiles with 8 points (0, 1, -1, 2, -2, 1/2, -1/2, infinity) to 4x4 output blocks: 64 products
for 16 outputs instead of 400, 6.25 times fewer, and tiles of 64 numbers per 16 outputs, 4 times the data of x and
out. On conv2 it runs twice as fast as im2col at 16 to 37 times im2col's float32 error (1e-5 of the scale), and the
layers take it for 5x5 filters (see "Which tile" below). supports() admits 5x5 filters when asked to.

The backward pass runs the same algorithm with every matrix transposed. Per tile and filter the forward pass computes
Y = A^T M A with M = sum over channels c of U_c * V_c, U_c = G g_c G^T, V_c = B^T d_c B. Y is linear in M, and the
transpose of the map M -> A^T M A is dY -> A dY A^T: so the loss's gradient with respect to M is D = A dY A^T, with
respect to U_c it is D * V_c, and with respect to V_c the sum over filters of D * U_c. For each of the alpha^2
positions (i, j), summed over the tiles of every image:
    dU[i, j] (F, C) = D[i, j] (F, tiles) @ V[i, j]^T (tiles, C),    then dw = G^T dU G for every (filter, channel);
    dV[i, j] (C, tiles) = U[i, j]^T (C, F) @ D[i, j] (F, tiles),    then dx: each tile's B dV B^T, added in where the
                                                                    tile was cut from x (tiles overlap: they add up).
Twice alpha^2 GEMMs, with V the input tiles of the forward pass (transformed again from x) and dout's tiles D shared.
Each transform meets its transpose: A^T becomes the transform of dout's tiles, A; G becomes G^T, the last step of dw;
B^T becomes B, and cutting overlapping tiles out of x becomes adding them back. (dx is also a convolution, of dout
with the filters flipped and their channel axes swapped, which winograd_conv could compute; but that transforms dout a
second time, with as many channels as the layer has filters.)

Which tile: tile_with_fewest_products, the one whose image needs the fewest products (alpha^2 for each output tile;
on a tie the smaller tile, for its smaller rounding errors): both the GEMMs' work and the transforms' data grow with
that count. On the deep net: F(4x4, 5x5) for conv2, F(6x6, 3x3) for conv3 (12x12: 4 tiles of 64 products against 9
of 36, 16 of 25 or 36 of 16) and for conv4 (6x6: one tile of 64 against 4 of 25, 4 of 36 or 9 of 16). Measured on
the tiles before F(6x6, 3x3) (benchmarks/RESULTS.md), the order of the counts was the order of the times.

Module layout: the matrices; the transforms in plain NumPy (the ones to read first: short einsums); winograd_conv,
which runs the same steps with the Numba transforms of kernels/winograd_cpu.py; winograd_backward; supports and
tile_with_fewest_products.
numpy arrays only: for cupy arrays the layers keep their im2col path.
"""
import functools

import numpy as np

from minicnn.allocator import freed_memory_is_kept

# F(2x2, 3x3): B^T (4x4) transforms a 4x4 input tile, G (4x3) a 3x3 filter, A^T (2x4) the 4x4 products to 2x2 outputs.
B_T = np.array([[1, 0, -1, 0],
                [0, 1, 1, 0],
                [0, -1, 1, 0],
                [0, 1, 0, -1]], dtype=np.float64)
G = np.array([[1, 0, 0],
              [1 / 2, 1 / 2, 1 / 2],
              [1 / 2, -1 / 2, 1 / 2],
              [0, 0, 1]], dtype=np.float64)
A_T = np.array([[1, 1, 1, 0],
                [0, 1, -1, -1]], dtype=np.float64)

# F(4x4, 3x3): the same construction with the 6 points 0, 1, -1, 2, -2 and infinity (Lavin & Gray, section 4.2). A 6x6
# tile gives a 4x4 output block from 36 products instead of 4 * 4 * 9 = 144, 4 times fewer; but the larger entries
# (up to 8, and 1/24 in G) amplify rounding errors, about 10 to 40 times those of F(2x2, 3x3) in float32
# (tests/test_winograd.py measures them).
B_T_4x4 = np.array([[4, 0, -5, 0, 1, 0],
                    [0, -4, -4, 1, 1, 0],
                    [0, 4, -4, -1, 1, 0],
                    [0, -2, -1, 2, 1, 0],
                    [0, 2, -1, -2, 1, 0],
                    [0, 4, 0, -5, 0, 1]], dtype=np.float64)
G_4x4 = np.array([[1 / 4, 0, 0],
                  [-1 / 6, -1 / 6, -1 / 6],
                  [-1 / 6, 1 / 6, -1 / 6],
                  [1 / 24, 1 / 12, 1 / 6],
                  [1 / 24, -1 / 12, 1 / 6],
                  [0, 0, 1]], dtype=np.float64)
A_T_4x4 = np.array([[1, 1, 1, 1, 1, 0],
                    [0, 1, -1, 2, -2, 0],
                    [0, 1, 1, 4, 4, 0],
                    [0, 1, -1, 8, -8, 1]], dtype=np.float64)

# F(3x3, 3x3): 5 points, 0, 1, -1, 2 and infinity, for a 3x3 output block from a 5x5 tile with 25 products instead
# of 3 * 3 * 9 = 81, 3.24 times fewer: made for 6x6 maps (the deep net's conv4), which it covers with 4 tiles of 25
# products where F(2x2, 3x3) needs 9 of 16 and F(4x4, 3x3) 4 of 36. The recipe: row a of B^T holds the coefficients
# (of 1, t, ..., t^4) of the product of (t - b) over the other finite points b (the last row: over all four), row a of
# G is [1, a, a^2] divided by the product of (a - b) over the other finite points (the last row: [0, 0, 1]), column a
# of A^T is [1, a, a^2] (the last: [0, 0, 1]). Row 0 of G starts 1/2, not 1: no sign flip is needed, unlike F(4x4, 5x5)
# below, and the 1/2 costs no accuracy.
B_T_3x3_3x3 = np.array([[2, -1, -2, 1, 0],
                        [0, -2, -1, 1, 0],
                        [0, 2, -3, 1, 0],
                        [0, -1, 0, 1, 0],
                        [0, 2, -1, -2, 1]], dtype=np.float64)
G_3x3_3x3 = np.array([[1 / 2, 0, 0],
                      [-1 / 2, -1 / 2, -1 / 2],
                      [-1 / 6, 1 / 6, -1 / 6],
                      [1 / 6, 1 / 3, 2 / 3],
                      [0, 0, 1]], dtype=np.float64)
A_T_3x3_3x3 = np.array([[1, 1, 1, 1, 0],
                        [0, 1, -1, 2, 0],
                        [0, 1, 1, 4, 1]], dtype=np.float64)

# F(2x2, 5x5): the 6 points of F(4x4, 3x3), so B^T is B_T_4x4. G (6x5) evaluates the 5 taps at 0, 1, -1, 2, -2 and
# infinity, with that construction's scale factors 1/4, -1/6, -1/6, 1/24, 1/24, 1 (the interpolation's divisions,
# moved into G as for F(2, 3)); A^T (2x6) evaluates h0 + h1 t at the same points (the last column: infinity, h1).
G_5x5 = np.array([[1 / 4, 0, 0, 0, 0],
                  [-1 / 6, -1 / 6, -1 / 6, -1 / 6, -1 / 6],
                  [-1 / 6, 1 / 6, -1 / 6, 1 / 6, -1 / 6],
                  [1 / 24, 1 / 12, 1 / 6, 1 / 3, 2 / 3],
                  [1 / 24, -1 / 12, 1 / 6, -1 / 3, 2 / 3],
                  [0, 0, 0, 0, 1]], dtype=np.float64)
A_T_5x5 = np.array([[1, 1, 1, 1, 1, 0],
                    [0, 1, -1, 2, -2, 1]], dtype=np.float64)

# F(4x4, 5x5): 8 points, 0, 1, -1, 2, -2, 1/2, -1/2 and infinity, for a 4x4 output block from an 8x8 tile with 64
# products instead of 4 * 4 * 25 = 400, 6.25 times fewer. The same recipe: row a of B^T holds the coefficients (of 1,
# t, ..., t^7) of the product of (t - b) over the other finite points b (the last row: over all of them), row a of G
# is [1, a, ..., a^4] divided by the product of (a - b) over the other finite points, column a of A^T is
# [1, a, a^2, a^3]. Point 0's row of B^T and of G are both negated (the product of their signs is what counts), so
# that G starts [1, 0, ...]. The points 1/2 and -1/2 (rather than 3 and -3) keep the entries of B^T and G between 1/90
# and 21/4 (A^T's between 1/8 and 8), so that float32 loses not much more than with F(2x2, 5x5) (tests/test_winograd.py
# measures both).
B_T_8x8 = np.array([[1, 0, -21 / 4, 0, 21 / 4, 0, -1, 0],
                    [0, 1, 1, -17 / 4, -17 / 4, 1, 1, 0],
                    [0, -1, 1, 17 / 4, -17 / 4, -1, 1, 0],
                    [0, 1 / 2, 1 / 4, -5 / 2, -5 / 4, 2, 1, 0],
                    [0, -1 / 2, 1 / 4, 5 / 2, -5 / 4, -2, 1, 0],
                    [0, 2, 4, -5 / 2, -5, 1 / 2, 1, 0],
                    [0, -2, 4, 5 / 2, -5, -1 / 2, 1, 0],
                    [0, -1, 0, 21 / 4, 0, -21 / 4, 0, 1]], dtype=np.float64)
G_5x5_4x4 = np.array([[1, 0, 0, 0, 0],
                      [-2 / 9, -2 / 9, -2 / 9, -2 / 9, -2 / 9],
                      [-2 / 9, 2 / 9, -2 / 9, 2 / 9, -2 / 9],
                      [1 / 90, 2 / 90, 4 / 90, 8 / 90, 16 / 90],
                      [1 / 90, -2 / 90, 4 / 90, -8 / 90, 16 / 90],
                      [32 / 45, 16 / 45, 8 / 45, 4 / 45, 2 / 45],
                      [32 / 45, -16 / 45, 8 / 45, -4 / 45, 2 / 45],
                      [0, 0, 0, 0, 1]], dtype=np.float64)
A_T_8x8 = np.array([[1, 1, 1, 1, 1, 1, 1, 0],
                    [0, 1, -1, 2, -2, 1 / 2, -1 / 2, 0],
                    [0, 1, 1, 4, 4, 1 / 4, 1 / 4, 0],
                    [0, 1, -1, 8, -8, 1 / 8, -1 / 8, 1]], dtype=np.float64)

# F(6x6, 3x3): the 8 points of F(4x4, 5x5), so B^T is B_T_8x8; a 6x6 output block from an 8x8 tile with 64 products
# instead of 6 * 6 * 9 = 324, 5.06 times fewer (NNPACK's choice for 3x3 filters, with the same points). G (8x3) is the
# first three columns of G_5x5_4x4 (the rows [1, a, a^2] with the same scale factors), with [0, 0, 1] at infinity;
# column a of A^T (6x8) is [1, a, ..., a^5] (at infinity [0, ..., 0, 1]). A^T's entries reach 32 and 1/32, so the
# output and its gradients carry 2 to 5 times the float32 error of F(4x4, 3x3), 1e-5 of the scale on the deep net's
# conv3 and conv4, as F(4x4, 5x5) does on conv2 (tests/test_winograd.py measures them).
G_3x3_6x6 = np.vstack([G_5x5_4x4[:-1, :3], [0, 0, 1]])
A_T_6x6 = np.array([[1, 1, 1, 1, 1, 1, 1, 0],
                    [0, 1, -1, 2, -2, 1 / 2, -1 / 2, 0],
                    [0, 1, 1, 4, 4, 1 / 4, 1 / 4, 0],
                    [0, 1, -1, 8, -8, 1 / 8, -1 / 8, 0],
                    [0, 1, 1, 16, 16, 1 / 16, 1 / 16, 0],
                    [0, 1, -1, 32, -32, 1 / 32, -1 / 32, 1]], dtype=np.float64)

# (filter size, output tile size) -> (B^T, G, A^T). A K x K filter and m x m output tiles read input tiles of
# alpha = m + K - 1 rows and columns (the rows of B^T), which overlap by K - 1.
TRANSFORMS = {(3, 2): (B_T, G, A_T), (3, 3): (B_T_3x3_3x3, G_3x3_3x3, A_T_3x3_3x3),
              (3, 4): (B_T_4x4, G_4x4, A_T_4x4), (3, 6): (B_T_8x8, G_3x3_6x6, A_T_6x6),
              (5, 2): (B_T_4x4, G_5x5, A_T_5x5), (5, 4): (B_T_8x8, G_5x5_4x4, A_T_8x8)}
KERNEL_SIZES = (3, 5)


# ---------------------------------------------------------------------------------------------------- checks
def supports(x_shape, w_shape, stride, pad, kernel_sizes=(3,)):
    """True when winograd_conv computes this convolution: a K x K filter with K in kernel_sizes, stride 1,
    0 <= pad <= K - 1, a non-empty output.

    x_shape: (N, C, H, W), w_shape: (F, C, K, K). Shapes only: the caller also needs numpy float32 or float64 arrays.
    kernel_sizes: (3,) by default; (3, 5) admits 5x5 filters too, as minicnn.layers asks.
    Pad K - 1 is the most that still lets every output see a pixel of x; more would only add outputs of zeros.
    """
    if len(x_shape) != 4 or len(w_shape) != 4 or x_shape[1] != w_shape[1]:
        return False
    H, W = x_shape[2:]
    K = w_shape[2]
    return (K in kernel_sizes and w_shape[3] == K and stride == 1 and pad in range(K)
            and min(H, W) + 2 * pad >= K)


def _output_shape(x_shape, w_shape, pad):
    """(N, F, H', W'), the output of the convolution of x_shape: (N, C, H, W) with w_shape: (F, C, K, K), stride 1."""
    K = w_shape[2]
    return (x_shape[0], w_shape[0], *(size + 2 * pad - (K - 1) for size in x_shape[2:]))


def tile_with_fewest_products(x_shape, w_shape, pad):
    """The output tile the layers hand to winograd_conv for x_shape: (N, C, H, W), w_shape: (F, C, K, K) and pad: among
    the tiles TRANSFORMS has for K x K filters, the one whose image needs the fewest products (alpha^2 for each
    tile of the output), and on a tie the smaller (see the module's docstring, "Which tile")."""
    K = w_shape[2]
    out_height, out_width = _output_shape(x_shape, w_shape, pad)[2:]

    def products_per_image(tile):
        tiles_high, tiles_wide = _tile_counts(out_height, out_width, tile)
        return (tile + K - 1) ** 2 * tiles_high * tiles_wide

    return min((tile for size, tile in TRANSFORMS if size == K), key=lambda tile: (products_per_image(tile), tile))


def _described(arrays, details):
    """'(x: (2, 3, 8, 8) float32, w: ..., details)' for the arrays {name: array} of an error message."""
    shapes = [f"{name}: {getattr(array, 'shape', '?')} {getattr(array, 'dtype', type(array).__name__)}"
              for name, array in arrays.items()]
    return f"({', '.join(shapes + [details])})"


def _check_numpy_floats(function, arrays, described):
    """Raise ValueError unless the arrays {name: array} are numpy arrays, all float32 or all float64."""
    names = " and ".join(arrays)
    if not all(isinstance(array, np.ndarray) for array in arrays.values()):
        raise ValueError(f"{function}: {names} must be numpy arrays (cupy arrays take the im2col path) {described}")
    dtypes = {array.dtype for array in arrays.values()}
    if len(dtypes) != 1 or dtypes.pop() not in (np.float32, np.float64):
        raise ValueError(f"{function}: {names} must both be float32 or both float64 {described}")


def check_array_to_write(function, name, array, shape, dtype):
    """Raise ValueError, naming function and its argument name, unless array is a writable numpy array of this shape
    and dtype: the transforms and winograd_conv write into arrays a caller hands them, the Numba kernels without
    bounds checks."""
    if isinstance(array, np.ndarray) and array.shape == tuple(shape) and array.dtype == dtype \
            and array.flags.writeable:
        return
    if isinstance(array, np.ndarray):
        got = f"{array.shape} {array.dtype}" + ("" if array.flags.writeable else ", read-only")
    else:
        got = type(array).__name__
    raise ValueError(f"{function}: {name} must be a writable numpy array {tuple(shape)} {np.dtype(dtype)}, got {got}")


def _tile_choices(K):
    """The tiles TRANSFORMS has for K x K filters, as an error message lists them: '2 (F(2x2, 3x3)) or 4 (...)'."""
    return " or ".join(f"{m} (F({m}x{m}, {K}x{K}))" for size, m in TRANSFORMS if size == K)


def _check_arguments(function, x, w, pad, tile):
    """Raise ValueError, naming function and every shape, unless supports() holds (for 3x3 or 5x5 filters) for numpy
    float arrays x and w of one dtype, and TRANSFORMS has that filter size and tile."""
    described = _described({"x": x, "w": w}, f"pad {pad}, tile {tile}")
    _check_numpy_floats(function, {"x": x, "w": w}, described)
    if not supports(x.shape, w.shape, 1, pad, KERNEL_SIZES):
        raise ValueError(f"{function}: needs x (N, C, H, W), w (F, C, K, K) with K 3 or 5 and the same C, pad 0 to "
                         f"K - 1 and H + 2 * pad >= K, W + 2 * pad >= K {described}")
    K = w.shape[2]
    if (K, tile) not in TRANSFORMS:
        raise ValueError(f"{function}: tile must be {_tile_choices(K)} for {K}x{K} filters {described}")


# ------------------------------------------------------------------------------------- the steps, in NumPy
def _tile_counts(out_height, out_width, tile):
    """Output tiles per column and per row: the last one hangs over an odd edge, and is cropped afterwards."""
    return -(-out_height // tile), -(-out_width // tile)


def _result(function, values, out):
    """values as a new contiguous array, or copied into out, a writable array of their shape and dtype, when given.
    Each transform takes an out as its fast twin in kernels/winograd_cpu.py does, which writes there directly."""
    if out is None:
        return np.ascontiguousarray(values)
    check_array_to_write(function, "out", out, values.shape, values.dtype)
    out[...] = values
    return out


def transform_filters(w, tile=2):
    """w: (F, C, K, K) -> U: (alpha^2, F, C) with U[alpha * i + j, f, c] = (G w[f, c] G^T)[i, j], alpha = tile + K - 1,
    in w's dtype.

    Entry (i, j) of G g G^T is the sum over k, l of G[i, k] G[j, l] g[k, l]: the Kronecker product kron(G, G), an
    alpha^2 x K^2 matrix, times the K^2 taps of g in row-major order. So one GEMM transforms all F * C filters; cheap
    next to the convolution, but not next to one small chunk of it: a caller that convolves its batch chunk by chunk
    (minicnn.layers) transforms once and hands U to winograd_conv for every chunk.
    """
    F, C, K = w.shape[:3]
    G_tile = TRANSFORMS[K, tile][1]
    G_twice = np.kron(G_tile, G_tile).astype(w.dtype)                           # (alpha^2, K^2)
    return (G_twice @ w.reshape(F * C, K * K).T).reshape(-1, F, C)


def transform_input_reference(x, alpha, pad, tiles_high, tiles_wide, kernel_size=3, out=None):
    """x: (N, C, H, W), alpha: 4, 5, 6 or 8, the tiles of a kernel_size x kernel_size filter -> V: (alpha^2, C, N *
    tiles_high * tiles_wide), the input tiles B^T d B (layout in kernels/winograd_cpu.py); the plain-NumPy twin of
    kernels.winograd_cpu.transform_input, out included."""
    N, C, H, W = x.shape
    overlap = kernel_size - 1
    step = alpha - overlap
    B_T_tile = TRANSFORMS[kernel_size, step][0].astype(x.dtype)
    # Zero rows and columns: pad on every side, and below and to the right as many more as the last tiles overhang.
    below, right = step * tiles_high + overlap - H - pad, step * tiles_wide + overlap - W - pad
    padded = np.pad(x, ((0, 0), (0, 0), (pad, below), (pad, right)))
    tiles = np.lib.stride_tricks.sliding_window_view(padded, (alpha, alpha), axis=(2, 3))[:, :, ::step, ::step]
    # tiles: (N, C, rows, columns, alpha, alpha) -> V: (alpha, alpha, C, N, rows, columns)
    V = np.einsum("ik,nctukl,jl->ijcntu", B_T_tile, tiles, B_T_tile, optimize=True)
    return _result("transform_input_reference", V.reshape(alpha * alpha, C, -1), out)


def transform_output_reference(M, out_shape, kernel_size=3, out=None):
    """M: (alpha^2, F, N * tiles_high * tiles_wide), the products for a kernel_size x kernel_size filter -> out:
    out_shape = (N, F, H', W'), the output tiles A^T m A side by side, cropped; the plain-NumPy twin of
    kernels.winograd_cpu.transform_output, out included."""
    N, F, out_height, out_width = out_shape
    alpha = round(M.shape[0] ** 0.5)
    step = alpha - (kernel_size - 1)
    A_T_tile = TRANSFORMS[kernel_size, step][2].astype(M.dtype)
    tiles_high, tiles_wide = _tile_counts(out_height, out_width, step)
    products = M.reshape(alpha, alpha, F, N, tiles_high, tiles_wide)
    # products: (alpha, alpha, F, N, rows, columns) -> Y: (N, F, rows, step, columns, step)
    Y = np.einsum("ik,klfntu,jl->nftiuj", A_T_tile, products, A_T_tile, optimize=True)
    Y = Y.reshape(N, F, step * tiles_high, step * tiles_wide)
    return _result("transform_output_reference", Y[:, :, :out_height, :out_width], out)


def transform_dout_reference(dout, alpha, tiles_high, tiles_wide, kernel_size=3, out=None):
    """dout: (N, F, H', W'), the gradient of a kernel_size x kernel_size convolution's output -> D: (alpha^2, F, N *
    tiles_high * tiles_wide), each step x step block y of dout (zeros where the last blocks overhang) taken to
    A y A^T, in M's layout: the output transform, transposed. The plain-NumPy twin of
    kernels.winograd_cpu.transform_dout, out included."""
    N, F, out_height, out_width = dout.shape
    step = alpha - (kernel_size - 1)
    A_T_tile = TRANSFORMS[kernel_size, step][2].astype(dout.dtype)
    padded = np.pad(dout, ((0, 0), (0, 0), (0, step * tiles_high - out_height), (0, step * tiles_wide - out_width)))
    blocks = padded.reshape(N, F, tiles_high, step, tiles_wide, step)
    # blocks: (N, F, rows, step, columns, step) -> D: (alpha, alpha, F, N, rows, columns); (A y A^T)[i, j] is the sum
    # over k, l of A^T[k, i] y[k, l] A^T[l, j].
    D = np.einsum("ki,nftkul,lj->ijfntu", A_T_tile, blocks, A_T_tile, optimize=True)
    return _result("transform_dout_reference", D.reshape(alpha * alpha, F, -1), out)


def transform_input_transposed_reference(dV, x_shape, pad, kernel_size=3, out=None):
    """dV: (alpha^2, C, N * tiles_high * tiles_wide), the loss's gradient with respect to the input tiles V of
    transform_input_reference(x, ...) -> dx: x_shape = (N, C, H, W), its gradient with respect to x: each tile's
    B dv B^T added into the pixels the tile was cut from, the zero border dropped: the input transform, transposed. The
    plain-NumPy twin of kernels.winograd_cpu.transform_input_transposed, out included."""
    N, C, H, W = x_shape
    alpha = round(dV.shape[0] ** 0.5)
    overlap = kernel_size - 1
    step = alpha - overlap
    B_T_tile = TRANSFORMS[kernel_size, step][0].astype(dV.dtype)
    tiles_high, tiles_wide = _tile_counts(H + 2 * pad - overlap, W + 2 * pad - overlap, step)
    gradients = dV.reshape(alpha, alpha, C, N, tiles_high, tiles_wide)
    # gradients: (alpha, alpha, C, N, rows, columns) -> tiles: (N, C, rows, columns, alpha, alpha); (B dv B^T)[k, l] is
    # the sum over i, j of B^T[i, k] dv[i, j] B^T[j, l].
    tiles = np.einsum("ik,ijcntu,jl->nctukl", B_T_tile, gradients, B_T_tile, optimize=True)
    padded = np.zeros((N, C, step * tiles_high + overlap, step * tiles_wide + overlap), dtype=dV.dtype)
    # Entry (row, column) of the tile in row t, column u of tiles was cut from pixel (step * t + row, step * u +
    # column): one strided slice of the padded plane per entry, all tiles at once. Tiles overlap: their entries add up.
    for row in range(alpha):
        for column in range(alpha):
            padded[:, :, row:row + step * tiles_high:step, column:column + step * tiles_wide:step] += \
                tiles[..., row, column]
    return _result("transform_input_transposed_reference", padded[:, :, pad:pad + H, pad:pad + W], out)


def filter_gradient(dU, kernel_size, tile=2):
    """dU: (alpha^2, F, C), the loss's gradient with respect to U = transform_filters(w, tile) -> dw: (F, C, K, K)
    with K = kernel_size, G^T dU[:, f, c] G for every filter f and channel c: transform_filters transposed (the same
    Kronecker matrix kron(G, G), transposed)."""
    _, F, C = dU.shape
    G_tile = TRANSFORMS[kernel_size, tile][1]
    G_twice = np.kron(G_tile, G_tile).astype(dU.dtype)                          # (alpha^2, K^2)
    return (G_twice.T @ dU.reshape(len(dU), F * C)).T.reshape(F, C, kernel_size, kernel_size)


def workspace_bytes_per_image(x_shape, w_shape, pad, itemsize, tile=2):
    """What winograd_conv holds per image of x: (N, C, H, W) with w: (F, C, K, K): its transformed input tiles V
    (alpha^2, C, tiles) and products M (alpha^2, F, tiles), in bytes, for items of itemsize bytes."""
    F, C, K = w_shape[:3]
    tiles_high, tiles_wide = _tile_counts(*_output_shape(x_shape, w_shape, pad)[2:], tile)
    return (tile + K - 1) ** 2 * (C + F) * tiles_high * tiles_wide * itemsize


def _checked_filters(U, w, tile):
    """U, if it has the shape and dtype of transform_filters(w, tile), else a ValueError that says what it should be."""
    F, C, K = w.shape[:3]
    expected = ((tile + K - 1) ** 2, F, C)
    if getattr(U, "shape", None) != expected or getattr(U, "dtype", None) != w.dtype:
        raise ValueError(f"winograd_conv: U must be transform_filters(w, tile={tile}), {expected} {w.dtype}, got "
                         f"{getattr(U, 'shape', type(U).__name__)} {getattr(U, 'dtype', '')}")
    return U


def _winograd(x, w, pad, tile, transform_input, transform_output, workspace, U=None, out=None):
    """The algorithm, with the input and output transforms given: alpha^2 GEMMs between two transforms. V and M in
    the planes of workspace (a kernels.winograd_cpu.Workspace); out as transform_output's."""
    N, C, F, K = x.shape[0], x.shape[1], w.shape[0], w.shape[2]
    alpha = tile + K - 1
    out_shape = _output_shape(x.shape, w.shape, pad)                           # (N, F, H', W')
    U = transform_filters(w, tile) if U is None else _checked_filters(U, w, tile)  # (alpha^2, F, C)
    tiles_high, tiles_wide = _tile_counts(out_shape[2], out_shape[3], tile)
    tiles = N * tiles_high * tiles_wide
    V = transform_input(x, alpha, pad, tiles_high, tiles_wide, K,
                        out=workspace.planes("input", alpha * alpha, C, tiles, x.dtype))  # (alpha^2, C, tiles)
    M = np.matmul(U, V, out=workspace.planes("output", alpha * alpha, F, tiles, x.dtype))  # (alpha^2, F, tiles)
    return transform_output(M, out_shape, K, out=out)


def _backward(x, dout, w, pad, tile, U, transform_input, transform_dout, transform_input_transposed, workspace,
              dx=None):
    """The input and weight gradients, with the transforms given: dout's tiles D, then alpha^2 GEMMs with the tiles of
    x for dw and alpha^2 with the filters' for dx. D, V and dV in the planes of workspace, dV in V's once dw is
    computed; dx as transform_input_transposed's out."""
    N, C, F, K = x.shape[0], x.shape[1], w.shape[0], w.shape[2]
    alpha = tile + K - 1
    U = transform_filters(w, tile) if U is None else _checked_filters(U, w, tile)  # (alpha^2, F, C)
    tiles_high, tiles_wide = _tile_counts(dout.shape[2], dout.shape[3], tile)
    tiles = N * tiles_high * tiles_wide
    D = transform_dout(dout, alpha, tiles_high, tiles_wide, K,
                       out=workspace.planes("output", alpha * alpha, F, tiles, x.dtype))  # (alpha^2, F, tiles)
    V = transform_input(x, alpha, pad, tiles_high, tiles_wide, K,
                        out=workspace.planes("input", alpha * alpha, C, tiles, x.dtype))  # (alpha^2, C, tiles)
    dw = filter_gradient(np.matmul(D, V.transpose(0, 2, 1)), K, tile)           # dU: (alpha^2, F, C), the BLAS
    # V is not needed any more: dV takes its memory, so the pass holds no more than the forward pass's V and M.
    del V
    dV = np.matmul(U.transpose(0, 2, 1), D, out=workspace.planes("input", alpha * alpha, C, tiles, x.dtype))
    return transform_input_transposed(dV, x.shape, pad, K, out=dx), dw


def winograd_conv_reference(x, w, pad, tile=2):
    """winograd_conv with the plain-NumPy transforms: slower, and the version to read first."""
    _check_arguments("winograd_conv_reference", x, w, pad, tile)
    return _winograd(x, w, pad, tile, transform_input_reference, transform_output_reference, new_workspace())


# -------------------------------------------------------------------------------------- the fast versions
def new_workspace():
    """A kernels.winograd_cpu.Workspace: memory for the tiles of winograd_conv and winograd_backward, which a layer
    hands to the calls for all the chunks of its batch; given back when the layer drops it."""
    from minicnn.kernels.winograd_cpu import Workspace   # on first use, as minicnn.layers imports its kernels
    return Workspace()


def layer_workspace():
    """The workspace for the chunks of one layer call. Where malloc keeps freed memory (minicnn/allocator.py), a new
    one: its pages come back from the call before without a page fault, and the memory goes when the layer is done.
    Elsewhere (MINICNN_KEEP_FREED_MEMORY=0, a C library other than glibc) the one workspace kept from call to call:
    tens of fresh megabytes every call made the deep net's training step 2.2 times slower (benchmarks/RESULTS.md),
    which is worth the 126 MB it holds through the step. That one serves one call at a time: threads would share it."""
    return new_workspace() if freed_memory_is_kept() else _kept_workspace()


@functools.cache
def _kept_workspace():
    """The workspace that layer_workspace keeps for the whole process."""
    return new_workspace()


def winograd_conv(x, w, pad, tile=2, U=None, out=None, workspace=None):
    """Convolution (cross-correlation, as conv_forward) of x with 3x3 or 5x5 filters, stride 1, zero padding pad, no
    bias.

    x: (N, C, H, W), w: (F, C, K, K) with K 3 or 5, both numpy float32 or both float64; pad: 0 to K - 1; tile: the
    output tile's size: for 3x3 filters 2, F(2x2, 3x3) (the default: as accurate as im2col), 3, F(3x3, 3x3) (made for
    6x6 maps, 8 to 11 times im2col's float32 rounding error), 4, F(4x4, 3x3) (10 to 40 times) or 6, F(6x6, 3x3) (28
    to 41 times, 1e-5 of the scale on the deep net's layers); for 5x5 filters 2,
    F(2x2, 5x5), or 4, F(4x4, 5x5) (2.25 times fewer products again, up to 1.7 times the error). The layers take
    tile_with_fewest_products.
    U: transform_filters(w, tile), (alpha^2, F, C), when the caller has it already: a layer that convolves its batch
    chunk by chunk transforms its filters once, not once a chunk.
    out: where to write the result, (N, F, H', W') with H' = H + 2 * pad - (K - 1), likewise W', x's dtype (a slice of
    a layer's output, say); when None, a new array.
    workspace: new_workspace()'s, where the transformed tiles and products go (a layer passes one to the calls for
    all its chunks), or None for memory of this call's own; nothing returned lives there.
    -> out. ValueError when not supports(..., kernel_sizes=(3, 5)).
    """
    from minicnn.kernels import winograd_cpu        # on first use, as minicnn.layers imports its kernels
    _check_arguments("winograd_conv", x, w, pad, tile)
    if out is not None:
        check_array_to_write("winograd_conv", "out", out, _output_shape(x.shape, w.shape, pad), x.dtype)
    return _winograd(x, w, pad, tile, winograd_cpu.transform_input, winograd_cpu.transform_output,
                     new_workspace() if workspace is None else workspace, U, out)


def _check_backward_arguments(function, x, dout, w, pad, tile):
    """Raise ValueError, naming function and the shapes, unless winograd_conv(x, w, pad, tile) is computable and dout
    is a numpy array of x's dtype in the shape of its output."""
    _check_arguments(function, x, w, pad, tile)
    described = _described({"x": x, "dout": dout, "w": w}, f"pad {pad}, tile {tile}")
    _check_numpy_floats(function, {"x": x, "dout": dout}, described)
    out_shape = _output_shape(x.shape, w.shape, pad)
    if dout.shape != out_shape:
        raise ValueError(f"{function}: dout must be {out_shape}, the output shape of this convolution {described}")


def winograd_backward(x, dout, w, pad, tile=2, U=None, dx=None, workspace=None):
    """The input and weight gradients of out = winograd_conv(x, w, pad, tile) (the bias's gradient is dout's sum, as
    ever), by the same algorithm with its matrices transposed (see the module's docstring).

    x: (N, C, H, W), dout: (N, F, H', W') with H' = H + 2 * pad - (K - 1), likewise W', w: (F, C, K, K) with K 3 or 5,
    all numpy float32 or all float64; pad, tile: as winograd_conv's; U: transform_filters(w, tile), (alpha^2, F, C),
    when the caller has it already (else computed here); dx: where to write the input gradient, (N, C, H, W) in x's
    dtype, or None for a new array
    -> dx: (N, C, H, W), dw: (F, C, K, K), in x's dtype. A layer that runs its batch in chunks adds up the chunks' dw.
    workspace: as winograd_conv's.
    """
    from minicnn.kernels import winograd_cpu
    _check_backward_arguments("winograd_backward", x, dout, w, pad, tile)
    if dx is not None:
        check_array_to_write("winograd_backward", "dx", dx, x.shape, x.dtype)
    return _backward(x, dout, w, pad, tile, U, winograd_cpu.transform_input, winograd_cpu.transform_dout,
                     winograd_cpu.transform_input_transposed, new_workspace() if workspace is None else workspace, dx)


def winograd_backward_reference(x, dout, w, pad, tile=2):
    """winograd_backward with the plain-NumPy transforms: slower, and the version to read first."""
    _check_backward_arguments("winograd_backward_reference", x, dout, w, pad, tile)
    return _backward(x, dout, w, pad, tile, None, transform_input_reference, transform_dout_reference,
                     transform_input_transposed_reference, new_workspace())
