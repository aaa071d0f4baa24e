"""Numba kernels for the CPU: im2col, col2im, max pooling and dropout on numpy arrays.

Layouts are those documented in kernels/__init__.py. Every kernel loops over whole rows so that memory is read and
written in order, runs its outer loop in parallel (numba.prange) over pieces that never write to the same place, and
is compiled once per dtype and cached on disk (cache=True), so a second run starts fast.
"""
import numba
import numpy as np

from kernels.shapes import conv_output_size, pool_output_size

_jit = numba.njit(parallel=True, cache=True, fastmath=False)


@_jit
def _im2col(x, cols, kernel_height, kernel_width, pad, stride, out_height, out_width):
    N, C, H, W = x.shape
    positions = out_height * out_width
    # One (row of cols, image) pair per iteration: the writes are contiguous and no two iterations share them.
    for task in numba.prange(C * kernel_height * kernel_width * N):
        row, n = task // N, task % N
        c = row // (kernel_height * kernel_width)
        i = (row // kernel_width) % kernel_height
        j = row % kernel_width
        base = n * positions
        for oh in range(out_height):
            h = oh * stride + i - pad
            for ow in range(out_width):
                w = ow * stride + j - pad
                inside = 0 <= h < H and 0 <= w < W
                cols[row, base + oh * out_width + ow] = x[n, c, h, w] if inside else 0
    return cols


@_jit
def _col2im(cols, dx, kernel_height, kernel_width, pad, stride, out_height, out_width):
    N, C, H, W = dx.shape
    positions = out_height * out_width
    # Each (image, channel) plane gathers its own sums, so the scatter-add needs no atomics and is deterministic.
    for plane in numba.prange(N * C):
        n, c = plane // C, plane % C
        dx[n, c] = 0
        for i in range(kernel_height):
            for j in range(kernel_width):
                row = (c * kernel_height + i) * kernel_width + j
                for oh in range(out_height):
                    h = oh * stride + i - pad
                    if h < 0 or h >= H:
                        continue
                    for ow in range(out_width):
                        w = ow * stride + j - pad
                        if 0 <= w < W:
                            dx[n, c, h, w] += cols[row, n * positions + oh * out_width + ow]
    return dx


@_jit
def _max_pool_forward(x, out, argmax, pool_height, pool_width, stride):
    N, C, H, W = x.shape
    _, _, out_height, out_width = out.shape
    for plane in numba.prange(N * C):
        n, c = plane // C, plane % C
        for oh in range(out_height):
            for ow in range(out_width):
                top, left = oh * stride, ow * stride
                best, best_index = x[n, c, top, left], top * W + left
                for i in range(pool_height):
                    for j in range(pool_width):
                        value = x[n, c, top + i, left + j]
                        if value > best:  # strict: ties keep the first maximum in row-major order
                            best, best_index = value, (top + i) * W + left + j
                out[n, c, oh, ow] = best
                argmax[n, c, oh, ow] = best_index
    return out, argmax


@_jit
def _max_pool_backward(dout, argmax, dx):
    N, C, out_height, out_width = dout.shape
    W = dx.shape[3]
    for plane in numba.prange(N * C):
        n, c = plane // C, plane % C
        dx[n, c] = 0
        for oh in range(out_height):
            for ow in range(out_width):
                index = argmax[n, c, oh, ow]
                dx[n, c, index // W, index % W] += dout[n, c, oh, ow]
    return dx


@numba.njit(cache=True, inline="always")
def _splitmix64_uniform(seed, i):
    """A uniform number in [0, 1) from 24 bits of splitmix64 hashed from (seed, i)."""
    z = seed * np.uint64(0x9E3779B97F4A7C15) + np.uint64(i) + np.uint64(1)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return np.float64(z >> np.uint64(40)) * (1.0 / 16777216.0)


@_jit
def _dropout(x, out, mask, p, seed):
    scale = 1.0 / (1.0 - p)
    for i in numba.prange(x.size):
        keep = _splitmix64_uniform(seed, i) >= p
        mask[i] = scale if keep else 0.0
        out[i] = x[i] * mask[i]
    return out, mask


def im2col(x, kernel_height, kernel_width, pad, stride):
    """x: (N, C, H, W) -> cols: (C * kernel_height * kernel_width, N * H' * W'); see kernels/__init__.py."""
    N, C, H, W = x.shape
    out_height, out_width = conv_output_size(H, W, kernel_height, kernel_width, pad, stride)
    cols = np.empty((C * kernel_height * kernel_width, N * out_height * out_width), dtype=x.dtype)
    return _im2col(np.ascontiguousarray(x), cols, kernel_height, kernel_width, pad, stride, out_height, out_width)


def col2im(cols, x_shape, kernel_height, kernel_width, pad, stride):
    """cols: (C * kernel_height * kernel_width, N * H' * W') -> dx: (N, C, H, W), overlaps summed."""
    N, C, H, W = x_shape
    out_height, out_width = conv_output_size(H, W, kernel_height, kernel_width, pad, stride)
    dx = np.empty(x_shape, dtype=cols.dtype)
    return _col2im(np.ascontiguousarray(cols), dx, kernel_height, kernel_width, pad, stride, out_height, out_width)


def max_pool_forward(x, pool_height, pool_width, stride):
    """x: (N, C, H, W) -> out: (N, C, H', W'), argmax: (N, C, H', W') int32 (flat h * W + w)."""
    N, C, H, W = x.shape
    out_height, out_width = pool_output_size(H, W, pool_height, pool_width, stride)
    out = np.empty((N, C, out_height, out_width), dtype=x.dtype)
    argmax = np.empty((N, C, out_height, out_width), dtype=np.int32)
    return _max_pool_forward(np.ascontiguousarray(x), out, argmax, pool_height, pool_width, stride)


def max_pool_backward(dout, argmax, x_shape, pool_height, pool_width, stride):
    """dout, argmax: (N, C, H', W') -> dx: (N, C, H, W)."""
    dx = np.empty(x_shape, dtype=dout.dtype)
    return _max_pool_backward(np.ascontiguousarray(dout), np.ascontiguousarray(argmax), dx)


def dropout_forward(x, p, seed):
    """x: any shape -> out, mask: x's shape; mask is 0 or 1 / (1 - p), drawn by the splitmix64 hash of (seed, i)."""
    x = np.ascontiguousarray(x)
    out, mask = np.empty_like(x), np.empty_like(x)
    _dropout(x.reshape(-1), out.reshape(-1), mask.reshape(-1), p, np.uint64(seed))
    return out, mask
