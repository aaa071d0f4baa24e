"""The kernels in plain NumPy: the readable reference for the Numba kernels (cpu.py) and the CUDA kernels (gpu.py).

Same signatures, layouts (kernels/__init__.py) and results as those two, written the way Chainer writes im2col: one
vectorised slice per filter tap (i, j) instead of a loop over pixels. They compute their output sizes themselves, so
the tests that compare the three implementations do not share the formula they check. They check no arguments and
run on numpy arrays only; the layers use cpu.py and gpu.py, and use these only on a machine where Numba is missing.
"""
import numpy as np


def im2col(x, kernel_height, kernel_width, pad, stride):
    """x: (N, C, H, W) -> cols: (C * kernel_height * kernel_width, N * H' * W'), where tap (i, j) of channel c is
    row (c * kernel_height + i) * kernel_width + j, holding x_padded[n, c, oh * stride + i, ow * stride + j]."""
    N, C, H, W = x.shape
    out_height = 1 + (H + 2 * pad - kernel_height) // stride
    out_width = 1 + (W + 2 * pad - kernel_width) // stride
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = np.empty((C, kernel_height, kernel_width, N, out_height, out_width), dtype=x.dtype)
    for i in range(kernel_height):
        for j in range(kernel_width):
            # Tap (i, j) of every window at once: the pixels i, i + stride, i + 2 * stride, ... down, likewise across.
            taps = padded[:, :, i:i + stride * out_height:stride, j:j + stride * out_width:stride]
            cols[:, i, j] = taps.transpose(1, 0, 2, 3)
    return cols.reshape(C * kernel_height * kernel_width, N * out_height * out_width)


def col2im(cols, x_shape, kernel_height, kernel_width, pad, stride):
    """cols: (C * kernel_height * kernel_width, N * H' * W') -> dx: x_shape = (N, C, H, W), the adjoint of im2col:
    each tap's slice is added back where im2col took it from, so overlapping windows sum."""
    N, C, H, W = x_shape
    out_height = 1 + (H + 2 * pad - kernel_height) // stride
    out_width = 1 + (W + 2 * pad - kernel_width) // stride
    padded = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=cols.dtype)
    taps = cols.reshape(C, kernel_height, kernel_width, N, out_height, out_width)
    for i in range(kernel_height):
        for j in range(kernel_width):
            padded[:, :, i:i + stride * out_height:stride, j:j + stride * out_width:stride] += \
                taps[:, i, j].transpose(1, 0, 2, 3)
    return np.ascontiguousarray(padded[:, :, pad:pad + H, pad:pad + W])


def max_pool_forward(x, pool_height, pool_width, stride):
    """x: (N, C, H, W) -> out: (N, C, H', W'), argmax: (N, C, H', W') int32 (flat h * W + w of the winner).

    Scans the window taps in row-major order and moves only for a strictly larger value: the first maximum wins.
    """
    N, C, H, W = x.shape
    out_height = 1 + (H - pool_height) // stride
    out_width = 1 + (W - pool_width) // stride
    top, left = np.arange(out_height)[:, None] * stride, np.arange(out_width)[None, :] * stride
    out = x[:, :, :stride * out_height:stride, :stride * out_width:stride].copy()
    argmax = np.broadcast_to(top * W + left, out.shape).astype(np.int32)
    for i in range(pool_height):
        for j in range(pool_width):
            candidate = x[:, :, i:i + stride * out_height:stride, j:j + stride * out_width:stride]
            larger = candidate > out
            out = np.where(larger, candidate, out)
            argmax = np.where(larger, (top + i) * W + left + j, argmax).astype(np.int32)
    return out, argmax


def max_pool_backward(dout, argmax, x_shape, pool_height, pool_width, stride):
    """dout, argmax: (N, C, H', W') -> dx: x_shape = (N, C, H, W); each pixel sums the gradients of the windows it
    won (np.add.at adds repeated indices, which dx[index] += would not)."""
    N, C, H, W = x_shape
    dx = np.zeros((N * C, H * W), dtype=dout.dtype)
    np.add.at(dx, (np.arange(N * C)[:, None], argmax.reshape(N * C, -1)), dout.reshape(N * C, -1))
    return dx.reshape(x_shape)


def dropout_forward(x, p, seed):
    """x: any shape -> out, mask: x's shape, with the splitmix64 mask of kernels/__init__.py (uint64 arrays wrap
    modulo 2**64, as the hash needs)."""
    z = np.full(x.size, seed, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    z += np.arange(x.size, dtype=np.uint64) + np.uint64(1)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    uniform = (z >> np.uint64(40)).astype(np.float64) / 2.0 ** 24
    kept = x.dtype.type(1.0 / (1.0 - p))
    mask = np.where(uniform >= p, kept, x.dtype.type(0)).reshape(x.shape)
    return x * mask, mask
