"""Numba kernels for the CPU: im2col, col2im, max pooling and dropout on numpy arrays.

Layouts are those documented in kernels/__init__.py; the arguments are checked by kernels/checks.py, as on the GPU, and
kernels/reference.py does the same work in plain NumPy, to read first. Every kernel loops over whole rows so that
memory is read and written in order, runs its outer loop in parallel (numba.prange) over pieces that never write to
the same place, and is compiled once per dtype and cached on disk (cache=True), so a second run starts fast.
"""
import numba
import numpy as np

from minicnn.kernels import checks

_jit = numba.njit(parallel=True, cache=True, fastmath=False)


@numba.njit(cache=True, inline="always")
def _valid_outputs(size, out_size, offset, stride):
    """The range [first, last) of outputs o whose input o * stride + offset lies inside 0..size-1."""
    first = 0 if offset >= 0 else (stride - 1 - offset) // stride
    last = min(out_size, (size - offset + stride - 1) // stride) if size > offset else 0
    return first, max(first, last)


@numba.njit(cache=True, inline="always")
def _copy_row(source, destination, first, stride, count):
    """destination[k] = source[first + k * stride] for k < count; stride 1, the common case, as a plain copy that the
    compiler turns into vector instructions."""
    if stride == 1:
        for k in range(count):
            destination[k] = source[first + k]
    else:
        for k in range(count):
            destination[k] = source[first + k * stride]


@numba.njit(cache=True, inline="always")
def _add_row(source, destination, first, stride, count):
    """destination[first + k * stride] += source[k] for k < count: _copy_row's transpose, with the same fast case."""
    if stride == 1:
        for k in range(count):
            destination[first + k] += source[k]
    else:
        for k in range(count):
            destination[first + k * stride] += source[k]


@_jit
def _im2col(x, cols, kernel_height, kernel_width, pad, stride, out_height, out_width):
    N, C, H, W = x.shape
    positions = out_height * out_width
    # One (channel, image) plane per iteration: it is read while in cache for all its taps, and no two
    # iterations write the same part of cols.
    for task in numba.prange(C * N):
        c, n = task // N, task % N
        for i in range(kernel_height):
            first_oh, last_oh = _valid_outputs(H, out_height, i - pad, stride)
            for j in range(kernel_width):
                first_ow, last_ow = _valid_outputs(W, out_width, j - pad, stride)
                column = cols[(c * kernel_height + i) * kernel_width + j, n * positions:(n + 1) * positions]
                # The zero padding: whole rows above and below the image, and each row's ends.
                column[:first_oh * out_width] = 0
                column[last_oh * out_width:] = 0
                for oh in range(first_oh, last_oh):
                    row = column[oh * out_width:(oh + 1) * out_width]
                    row[:first_ow] = 0
                    row[last_ow:] = 0
                    _copy_row(x[n, c, oh * stride + i - pad], row[first_ow:], first_ow * stride + j - pad, stride,
                              last_ow - first_ow)
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
            first_oh, last_oh = _valid_outputs(H, out_height, i - pad, stride)
            for j in range(kernel_width):
                first_ow, last_ow = _valid_outputs(W, out_width, j - pad, stride)
                column = cols[(c * kernel_height + i) * kernel_width + j, n * positions:(n + 1) * positions]
                for oh in range(first_oh, last_oh):
                    _add_row(column[oh * out_width + first_ow:], dx[n, c, oh * stride + i - pad],
                             first_ow * stride + j - pad, stride, last_ow - first_ow)
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
def _max_pool_2x2_forward(x, out, argmax):
    N, C, H, W = x.shape
    # The common 2x2 stride 2 window, unrolled: three comparisons per output instead of two loops.
    for plane in numba.prange(N * C):
        n, c = plane // C, plane % C
        for oh in range(H // 2):
            top, bottom = x[n, c, 2 * oh], x[n, c, 2 * oh + 1]
            for ow in range(W // 2):
                left = 2 * ow
                best, best_index = top[left], 2 * oh * W + left
                if top[left + 1] > best:
                    best, best_index = top[left + 1], best_index + 1
                if bottom[left] > best:
                    best, best_index = bottom[left], (2 * oh + 1) * W + left
                if bottom[left + 1] > best:
                    best, best_index = bottom[left + 1], (2 * oh + 1) * W + left + 1
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


def im2col(x, kernel_height, kernel_width, pad, stride, out=None):
    """x: (N, C, H, W) -> cols: (C * kernel_height * kernel_width, N * H' * W'); see kernels/__init__.py.

    out: an array of cols' shape and x's dtype to write into (reused buffers spare the allocation), or None."""
    N, C, H, W, out_height, out_width = checks.im2col_sizes(x, kernel_height, kernel_width, pad, stride)
    cols = checks.output_array(out, (C * kernel_height * kernel_width, N * out_height * out_width), x.dtype, "im2col")
    return _im2col(np.ascontiguousarray(x), cols, kernel_height, kernel_width, pad, stride, out_height, out_width)


def col2im(cols, x_shape, kernel_height, kernel_width, pad, stride, out=None):
    """cols: (C * kernel_height * kernel_width, N * H' * W') -> dx: (N, C, H, W), overlaps summed.

    out: an array of x_shape and cols' dtype to write dx into (say, a slice of a bigger batch), or None."""
    N, C, H, W, out_height, out_width = checks.col2im_sizes(cols, x_shape, kernel_height, kernel_width, pad, stride)
    dx = checks.output_array(out, (N, C, H, W), cols.dtype, "col2im")
    return _col2im(np.ascontiguousarray(cols), dx, kernel_height, kernel_width, pad, stride, out_height, out_width)


def max_pool_forward(x, pool_height, pool_width, stride):
    """x: (N, C, H, W) -> out: (N, C, H', W'), argmax: (N, C, H', W') int32 (flat h * W + w)."""
    N, C, H, W, out_height, out_width = checks.max_pool_forward_sizes(x, pool_height, pool_width, stride)
    out = np.empty((N, C, out_height, out_width), dtype=x.dtype)
    argmax = np.empty((N, C, out_height, out_width), dtype=np.int32)
    if pool_height == pool_width == stride == 2:
        return _max_pool_2x2_forward(np.ascontiguousarray(x), out, argmax)
    return _max_pool_forward(np.ascontiguousarray(x), out, argmax, pool_height, pool_width, stride)


def max_pool_backward(dout, argmax, x_shape, pool_height, pool_width, stride):
    """dout, argmax: (N, C, H', W') -> dx: (N, C, H, W)."""
    N, C, H, W, _, _ = checks.max_pool_backward_sizes(dout, argmax, x_shape, pool_height, pool_width, stride)
    dx = np.empty((N, C, H, W), dtype=dout.dtype)
    return _max_pool_backward(np.ascontiguousarray(dout), np.ascontiguousarray(argmax), dx)


def dropout_forward(x, p, seed):
    """x: any shape -> out, mask: x's shape; mask is 0 or 1 / (1 - p), drawn by the splitmix64 hash of (seed, i)."""
    seed = checks.dropout_seed(x, p, seed)
    x = np.ascontiguousarray(x)
    out, mask = np.empty_like(x), np.empty_like(x)
    _dropout(x.reshape(-1), out.reshape(-1), mask.reshape(-1), p, np.uint64(seed))
    return out, mask
