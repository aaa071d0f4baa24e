"""The CUDA kernels of kernels/cuda/*.cu wrapped for cupy arrays: im2col, col2im, max pooling and dropout.

kernels/__init__.py imports this module only when a cupy array arrives, and documents the array layouts, which the
Numba kernels of kernels/cpu.py share. Each .cu file is compiled once per process, by cupy.RawModule (NVRTC), the
first time one of its kernels is needed; every kernel comes in a float32 and a float64 version (name_f32, name_f64).

A raw kernel checks nothing, so each wrapper checks what its kernel assumes, and raises ValueError naming the argument:
  dtype   float32 or float64, and int32 for argmax;
  shape   consistent with the other arguments and the window geometry.
The kernels index memory by the row-major flat index, so an input that is not C-contiguous (a transpose, a strided
slice) is copied into C order first, as numpy functions accept any layout; outputs are fresh C-contiguous arrays.

cupy itself is imported where a kernel is first compiled, so the shape and launch helpers here run without it.
"""
import operator
from pathlib import Path

import numpy as np

from minicnn.kernels.shapes import conv_output_size
from minicnn.backend import get_array_module

CUDA_SOURCES = Path(__file__).with_name("cuda")
THREADS_PER_BLOCK = 256
MAX_BLOCKS = 4096  # 4096 * 256 threads fill any current GPU; the grid-stride loops cover larger arrays
DTYPE_SUFFIXES = {np.dtype(np.float32): "f32", np.dtype(np.float64): "f64"}

_modules = {}


def launch_config(size):
    """(grid, block) for a grid-stride loop over size elements: one thread per element, up to MAX_BLOCKS blocks."""
    blocks = -(-size // THREADS_PER_BLOCK)
    return (min(max(blocks, 1), MAX_BLOCKS),), (THREADS_PER_BLOCK,)


def window_positions(function, height, width, window_height, window_width, pad, stride):
    """(H', W') of minicnn.kernels.shapes.conv_output_size, for a window sliding over an image padded by pad on every side.

    Raises ValueError when the window, pad or stride make no sense or the window does not fit the padded image.
    """
    if window_height < 1 or window_width < 1 or pad < 0 or stride < 1:
        raise ValueError(f"{function}: need a window of at least 1x1, pad >= 0 and stride >= 1, got a "
                         f"{window_height}x{window_width} window, pad {pad}, stride {stride}")
    out_height, out_width = conv_output_size(height, width, window_height, window_width, pad, stride)
    if out_height < 1 or out_width < 1:
        raise ValueError(f"{function}: a {window_height}x{window_width} window does not fit a {height}x{width} "
                         f"image with pad {pad}")
    return out_height, out_width


def check_float(function, name, array):
    """Raise ValueError unless array is float32 or float64."""
    if array.dtype not in DTYPE_SUFFIXES:
        raise ValueError(f"{function}: {name} must be float32 or float64, got {array.dtype}")


def check_image_shape(function, name, shape):
    """shape as a tuple (N, C, H, W) of ints; ValueError unless it has four dimensions."""
    if len(shape) != 4:
        raise ValueError(f"{function}: {name} must have 4 dimensions (N, C, H, W), got shape {tuple(shape)}")
    return tuple(int(size) for size in shape)


def check_shape(function, name, array, expected):
    """Raise ValueError unless array has the expected shape."""
    if tuple(array.shape) != tuple(expected):
        raise ValueError(f"{function}: {name} must have shape {tuple(expected)}, got {tuple(array.shape)}")


def int32s(*values):
    """The values as numpy.int32, which a raw kernel reads as int (a Python int would arrive as long long)."""
    return tuple(np.int32(value) for value in values)


def _kernel(source, name, dtype):
    """The kernel name_f32 or name_f64 (by dtype) from kernels/cuda/source, compiling the source on first use."""
    if source not in _modules:
        import cupy
        code = (CUDA_SOURCES / source).read_text()
        _modules[source] = cupy.RawModule(code=code, options=("-std=c++17",))
    return _modules[source].get_function(f"{name}_{DTYPE_SUFFIXES[np.dtype(dtype)]}")


def _launch(kernel, size, args):
    """Run kernel over size elements with launch_config(size)."""
    grid, block = launch_config(size)
    kernel(grid, block, args)


def im2col(x, kernel_height, kernel_width, pad, stride):
    """Unfold the zero-padded patches of x into columns.

    x: (N, C, H, W) -> cols: (C * kernel_height * kernel_width, N * H' * W'), same dtype as x, with
    H' = 1 + (H + 2 * pad - kernel_height) // stride and W' = 1 + (W + 2 * pad - kernel_width) // stride.
    """
    check_float("im2col", "x", x)
    N, C, H, W = check_image_shape("im2col", "x", x.shape)
    out_height, out_width = window_positions("im2col", H, W, kernel_height, kernel_width, pad, stride)
    xp = get_array_module(x)
    x = xp.ascontiguousarray(x)
    cols = xp.empty((C * kernel_height * kernel_width, N * out_height * out_width), dtype=x.dtype)
    dimensions = int32s(N, C, H, W, kernel_height, kernel_width, pad, stride, out_height, out_width)
    _launch(_kernel("im2col.cu", "im2col", x.dtype), cols.size, (x, cols) + dimensions)
    return cols


def col2im(cols, x_shape, kernel_height, kernel_width, pad, stride):
    """Fold columns back onto the image, summing the entries that im2col copied from the same pixel.

    cols: (C * kernel_height * kernel_width, N * H' * W') -> dx: x_shape = (N, C, H, W), same dtype as cols.
    """
    check_float("col2im", "cols", cols)
    N, C, H, W = check_image_shape("col2im", "x_shape", x_shape)
    out_height, out_width = window_positions("col2im", H, W, kernel_height, kernel_width, pad, stride)
    check_shape("col2im", "cols", cols, (C * kernel_height * kernel_width, N * out_height * out_width))
    xp = get_array_module(cols)
    cols = xp.ascontiguousarray(cols)
    dx = xp.empty((N, C, H, W), dtype=cols.dtype)
    dimensions = int32s(N, C, H, W, kernel_height, kernel_width, pad, stride, out_height, out_width)
    _launch(_kernel("im2col.cu", "col2im", cols.dtype), dx.size, (cols, dx) + dimensions)
    return dx


def max_pool_forward(x, pool_height, pool_width, stride):
    """Max over each pooling window (no padding).

    x: (N, C, H, W) -> out: (N, C, H', W'), same dtype as x, with H' = 1 + (H - pool_height) // stride, and
    argmax: (N, C, H', W') int32, the flat index h * W + w of the first maximum of each window in row-major order.
    """
    check_float("max_pool_forward", "x", x)
    N, C, H, W = check_image_shape("max_pool_forward", "x", x.shape)
    out_height, out_width = window_positions("max_pool_forward", H, W, pool_height, pool_width, 0, stride)
    xp = get_array_module(x)
    x = xp.ascontiguousarray(x)
    out = xp.empty((N, C, out_height, out_width), dtype=x.dtype)
    argmax = xp.empty((N, C, out_height, out_width), dtype=np.int32)
    dimensions = int32s(N, C, H, W, pool_height, pool_width, stride, out_height, out_width)
    _launch(_kernel("pooling.cu", "max_pool_forward", x.dtype), out.size, (x, out, argmax) + dimensions)
    return out, argmax


def max_pool_backward(dout, argmax, x_shape, pool_height, pool_width, stride):
    """Route each window's upstream gradient to the pixel that won it; a pixel sums the windows it won.

    dout: (N, C, H', W') float, argmax: (N, C, H', W') int32 -> dx: x_shape = (N, C, H, W), same dtype as dout.
    """
    check_float("max_pool_backward", "dout", dout)
    if argmax.dtype != np.int32:
        raise ValueError(f"max_pool_backward: argmax must be int32, got {argmax.dtype}")
    N, C, H, W = check_image_shape("max_pool_backward", "x_shape", x_shape)
    out_height, out_width = window_positions("max_pool_backward", H, W, pool_height, pool_width, 0, stride)
    check_shape("max_pool_backward", "dout", dout, (N, C, out_height, out_width))
    check_shape("max_pool_backward", "argmax", argmax, (N, C, out_height, out_width))
    xp = get_array_module(dout)
    dout = xp.ascontiguousarray(dout)
    argmax = xp.ascontiguousarray(argmax)
    dx = xp.empty((N, C, H, W), dtype=dout.dtype)
    dimensions = int32s(N, C, H, W, pool_height, pool_width, stride, out_height, out_width)
    _launch(_kernel("pooling.cu", "max_pool_backward", dout.dtype), dx.size, (dout, argmax, dx) + dimensions)
    return dx


def dropout_forward(x, p, seed):
    """Inverted dropout with the counter-based mask of kernels/__init__.py (the same mask as the CPU for a seed).

    x: any shape, p: probability of dropping, 0 <= p < 1, seed: int in [0, 2**64)
    -> out: x's shape, mask: x's shape and dtype (0 or 1 / (1 - p)), with out = x * mask.
    """
    check_float("dropout_forward", "x", x)
    if not 0 <= p < 1:
        raise ValueError(f"dropout_forward: p is the probability of dropping and must be in [0, 1), got {p}")
    seed = operator.index(seed)
    if not 0 <= seed < 2 ** 64:
        raise ValueError(f"dropout_forward: seed must be an int in [0, 2**64), got {seed}")
    xp = get_array_module(x)
    x = xp.ascontiguousarray(x)
    out = xp.empty_like(x)
    mask = xp.empty_like(x)
    arguments = (x, out, mask, np.int64(x.size), np.float64(p), np.uint64(seed))
    _launch(_kernel("dropout.cu", "dropout_forward", x.dtype), x.size, arguments)
    return out, mask
