"""Winograd minimal filtering: 3x3 stride-1 convolution with 2.25 times fewer multiplications than im2col.

The idea in one dimension, F(2, 3): two outputs of a 3-tap filter g over four inputs d,

    y0 = d0 g0 + d1 g1 + d2 g2
    y1 = d1 g0 + d2 g1 + d3 g2,                                       6 multiplications done directly,

come out of only 4 products,

    m0 = (d0 - d2) g0                 m1 = (d1 + d2) (g0 + g1 + g2) / 2
    m3 = (d1 - d3) g2                 m2 = (d2 - d1) (g0 - g1 + g2) / 2
    y0 = m0 + m1 + m2                 y1 = m1 - m2 - m3              (expand them: every other term cancels).

The filter's factors (g0, (g0 + g1 + g2) / 2, ...) are computed once per filter and reused by every tile of every
image, so they cost nothing per output. In matrices: y = A^T [(G g) * (B^T d)], * elementwise, with B^T, G, A^T below.

Where the matrices come from (Lavin & Gray 2016, "Fast Algorithms for Convolutional Neural Networks", after Toom and
Cook): a correlation is a product of polynomials, and the product of a degree-1 and a degree-2 polynomial (degree 3,
4 coefficients) is fixed by its values at 4 points, here 0, 1, -1 and infinity (the leading coefficient). G evaluates
the filter g0 + g1 t + g2 t^2 there: g(0), g(1) / 2, g(-1) / 2 and g2 (the 1/2 is part of the interpolation, moved
into G because the filter side is computed once). Multiplying the 4 values is the 4 products; B^T and A^T are the
evaluation of the data and the interpolation back to coefficients, with their roles swapped by transposing because a
correlation reads one factor backwards.

Two dimensions, F(2x2, 3x3): nest the 1-D algorithm along rows and columns. A 4x4 input tile d and a 3x3 filter g
give the 2x2 output tile
    Y = A^T [(G g G^T) * (B^T d B)] A,          16 multiplications instead of 2 * 2 * 9 = 36, 2.25 times fewer.
Output tiles are 2x2, so neighbouring 4x4 input tiles overlap by 2 rows or columns.

Over channels the elementwise products are summed, and for each of the 16 positions (i, j) that sum is a matrix
product: with U = G g G^T for every (filter, channel) and V = B^T d B for every (channel, tile),
    M[i, j] (F, tiles) = U[i, j] (F, C) @ V[i, j] (C, tiles),
16 GEMMs that np.matmul hands to the BLAS in one batched call. The transforms are cheap additions next to them.

Module layout: the matrices; the transforms in plain NumPy (the ones to read first: short einsums); winograd_conv,
which runs the same steps with the Numba transforms of kernels/winograd_cpu.py; winograd_input_gradient; supports.
numpy arrays only: for cupy arrays the layers keep their im2col path.
"""
import numpy as np

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

KERNEL_SIZE = 3
MAX_PAD = 2        # pad 2 is the "full" convolution the input gradient needs; more would only add zero rows


# ---------------------------------------------------------------------------------------------------- checks
def supports(x_shape, w_shape, stride, pad):
    """True when winograd_conv computes this convolution: a 3x3 filter, stride 1, 0 <= pad <= 2, a non-empty output.

    x_shape: (N, C, H, W), w_shape: (F, C, HH, WW). Shapes only: the caller also needs numpy float32 or float64 arrays.
    """
    if len(x_shape) != 4 or len(w_shape) != 4 or x_shape[1] != w_shape[1]:
        return False
    H, W = x_shape[2:]
    return (tuple(w_shape[2:]) == (KERNEL_SIZE, KERNEL_SIZE) and stride == 1 and pad in range(MAX_PAD + 1)
            and min(H, W) + 2 * pad >= KERNEL_SIZE)


def _check_arguments(function, x, w, pad):
    """Raise ValueError, naming function and every shape, unless supports() holds for numpy float arrays x and w of
    one dtype."""
    described = f"(x: {getattr(x, 'shape', '?')} {getattr(x, 'dtype', type(x).__name__)}, " \
                f"w: {getattr(w, 'shape', '?')} {getattr(w, 'dtype', type(w).__name__)}, pad {pad})"
    if not isinstance(x, np.ndarray) or not isinstance(w, np.ndarray):
        raise ValueError(f"{function}: x and w must be numpy arrays (cupy arrays take the im2col path) {described}")
    if x.dtype != w.dtype or x.dtype not in (np.float32, np.float64):
        raise ValueError(f"{function}: x and w must both be float32 or both float64 {described}")
    if not supports(x.shape, w.shape, 1, pad):
        raise ValueError(f"{function}: needs x (N, C, H, W), w (F, C, 3, 3) with the same C, pad 0, 1 or 2 and "
                         f"H + 2 * pad >= 3, W + 2 * pad >= 3 {described}")


# ------------------------------------------------------------------------------------- the steps, in NumPy
def _tile_counts(out_height, out_width):
    """2x2 output tiles per column and per row: the last one hangs over an odd edge, and is cropped afterwards."""
    return -(-out_height // 2), -(-out_width // 2)


def transform_filters(w):
    """w: (F, C, 3, 3) -> U: (16, F, C) with U[4 * i + j, f, c] = (G w[f, c] G^T)[i, j], in w's dtype.

    Entry (i, j) of G g G^T is the sum over k, l of G[i, k] G[j, l] g[k, l]: the Kronecker product kron(G, G), a
    16x9 matrix, times the 9 taps of g in row-major order. So one GEMM transforms all F * C filters; cheap next to the
    convolution's, so it is redone on every call rather than cached.
    """
    F, C = w.shape[:2]
    G_twice = np.kron(G, G).astype(w.dtype)                                     # (16, 9)
    return (G_twice @ w.reshape(F * C, 9).T).reshape(16, F, C)


def transform_input_reference(x, pad, tiles_high, tiles_wide):
    """x: (N, C, H, W) -> V: (16, C, N * tiles_high * tiles_wide), the input tiles B^T d B (layout in
    kernels/winograd_cpu.py); the plain-NumPy twin of kernels.winograd_cpu.transform_input."""
    N, C, H, W = x.shape
    # Zero rows and columns: pad on every side, and below and to the right as many more as the last tiles overhang.
    padded = np.pad(x, ((0, 0), (0, 0), (pad, 2 * tiles_high + 2 - H - pad), (pad, 2 * tiles_wide + 2 - W - pad)))
    tiles = np.lib.stride_tricks.sliding_window_view(padded, (4, 4), axis=(2, 3))[:, :, ::2, ::2]
    B_T_ = B_T.astype(x.dtype)
    V = np.einsum("ik,nctukl,jl->ijcntu", B_T_, tiles, B_T_, optimize=True)    # (4, 4, C, N, rows, columns)
    return np.ascontiguousarray(V.reshape(16, C, -1))


def transform_output_reference(M, out_shape):
    """M: (16, F, N * tiles_high * tiles_wide) -> out: out_shape = (N, F, H', W'), the output tiles A^T m A side by
    side, cropped; the plain-NumPy twin of kernels.winograd_cpu.transform_output."""
    N, F, out_height, out_width = out_shape
    tiles_high, tiles_wide = _tile_counts(out_height, out_width)
    products = M.reshape(4, 4, F, N, tiles_high, tiles_wide)
    A_T_ = A_T.astype(M.dtype)
    Y = np.einsum("ik,klfntu,jl->nftiuj", A_T_, products, A_T_, optimize=True)  # (N, F, rows, 2, columns, 2)
    return np.ascontiguousarray(Y.reshape(N, F, 2 * tiles_high, 2 * tiles_wide)[:, :, :out_height, :out_width])


def _winograd(x, w, pad, transform_input, transform_output):
    """The algorithm, with the input and output transforms given: 16 GEMMs between two transforms."""
    N, F = x.shape[0], w.shape[0]
    out_height, out_width = x.shape[2] + 2 * pad - 2, x.shape[3] + 2 * pad - 2
    U = transform_filters(w)                                                    # (16, F, C)
    V = transform_input(x, pad, *_tile_counts(out_height, out_width))          # (16, C, tiles)
    M = np.matmul(U, V)                                                         # (16, F, tiles): the BLAS
    return transform_output(M, (N, F, out_height, out_width))


def winograd_conv_reference(x, w, pad):
    """winograd_conv with the plain-NumPy transforms: slower, and the version to read first."""
    _check_arguments("winograd_conv_reference", x, w, pad)
    return _winograd(x, w, pad, transform_input_reference, transform_output_reference)


# -------------------------------------------------------------------------------------- the fast versions
def winograd_conv(x, w, pad):
    """Convolution (cross-correlation, as conv_forward) of x with 3x3 filters, stride 1, zero padding pad, no bias.

    x: (N, C, H, W), w: (F, C, 3, 3), both numpy float32 or both float64; pad: 0, 1 or 2.
    out: (N, F, H', W') with H' = H + 2 * pad - 2, W' = W + 2 * pad - 2, x's dtype. ValueError when not supports().
    """
    from minicnn.kernels import winograd_cpu        # on first use, as minicnn.layers imports its kernels
    _check_arguments("winograd_conv", x, w, pad)
    return _winograd(x, w, pad, winograd_cpu.transform_input, winograd_cpu.transform_output)


def winograd_input_gradient(dout, w, pad):
    """dx of out = winograd_conv(x, w, pad).

    dout: (N, F, H', W'), w: (F, C, 3, 3), pad: 0, 1 or 2 -> dx: (N, C, H, W) with H = H' + 2 - 2 * pad, likewise W.

    Input pixel x[h, w] met filter tap (k, l) in output (h + pad - k, w + pad - l), so
        dx[n, c, h, w] = sum over f, k, l of dout[n, f, h + pad - k, w + pad - l] * w[f, c, k, l].
    With k' = 2 - k that is a correlation again, of dout with the filters flipped (w[f, c, 2 - k', 2 - l']) and
    transposed (output channel c, input channel f), reading dout at h + (pad - 2) + k': padding 2 - pad. So the
    backward pass is winograd_conv once more, with the same 2.25 times fewer multiplications.
    """
    if pad not in range(MAX_PAD + 1) or getattr(w, "ndim", 0) != 4 or getattr(dout, "ndim", 0) != 4 \
            or dout.shape[1] != w.shape[0]:
        raise ValueError(f"winograd_input_gradient: needs dout (N, F, H', W'), w (F, C, 3, 3) and pad 0, 1 or 2 "
                         f"(dout: {getattr(dout, 'shape', '?')}, w: {getattr(w, 'shape', '?')}, pad {pad})")
    flipped_and_transposed = w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1]         # (C, F, 3, 3)
    return winograd_conv(dout, flipped_and_transposed, MAX_PAD - pad)
