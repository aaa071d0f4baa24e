"""The CUDA kernels of kernels/cuda/*.cu wrapped for cupy arrays: im2col, col2im, max pooling and dropout.

minicnn.layers imports this module only when a cupy array arrives; kernels/__init__.py documents the array layouts,
which the Numba kernels of kernels/cpu.py share. Each .cu file is compiled once per process, by cupy.RawModule
(NVRTC), the first time one of its kernels is needed; every kernel comes in a float32 and a float64 version
(name_f32, name_f64).

A raw kernel checks nothing, so each wrapper first runs the check of its kernel in kernels/checks.py (dtype float32 or
float64, int32 for argmax; shapes consistent with each other and with the window geometry), as the Numba wrappers do.
The kernels index memory by the row-major flat index, so an input that is not C-contiguous (a transpose, a strided
slice) is copied into C order first, as numpy functions accept any layout; outputs are fresh C-contiguous arrays.

cupy itself is imported where a kernel is first compiled, so the shape and launch helpers here run without it.
"""
from pathlib import Path

import numpy as np

from minicnn.backend import get_array_module
from minicnn.kernels import checks

CUDA_SOURCES = Path(__file__).with_name("cuda")
THREADS_PER_BLOCK = 256
MAX_BLOCKS = 4096  # 4096 * 256 threads fill any current GPU; the grid-stride loops cover larger arrays
DTYPE_SUFFIXES = dict(zip(checks.FLOAT_DTYPES, ("f32", "f64")))

_modules = {}


def launch_config(size):
    """(grid, block) for a grid-stride loop over size elements: one thread per element, up to MAX_BLOCKS blocks."""
    blocks = -(-size // THREADS_PER_BLOCK)
    return (min(max(blocks, 1), MAX_BLOCKS),), (THREADS_PER_BLOCK,)


def as_c_ints(*values):
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


def im2col(x, kernel_height, kernel_width, pad, stride, out=None):
    """Unfold the zero-padded patches of x into columns.

    x: (N, C, H, W) -> cols: (C * kernel_height * kernel_width, N * H' * W'), same dtype as x, with
    H' = 1 + (H + 2 * pad - kernel_height) // stride and W' = 1 + (W + 2 * pad - kernel_width) // stride.
    out: an array of cols' shape and x's dtype to write into, or None.
    """
    N, C, H, W, out_height, out_width = checks.im2col_sizes(x, kernel_height, kernel_width, pad, stride)
    xp = get_array_module(x)
    x = xp.ascontiguousarray(x)
    cols_shape = (C * kernel_height * kernel_width, N * out_height * out_width)
    cols = checks.output_array(out, cols_shape, x.dtype, "im2col", xp)
    dimensions = as_c_ints(N, C, H, W, kernel_height, kernel_width, pad, stride, out_height, out_width)
    _launch(_kernel("im2col.cu", "im2col", x.dtype), cols.size, (x, cols) + dimensions)
    return cols


def col2im(cols, x_shape, kernel_height, kernel_width, pad, stride, out=None):
    """Fold columns back onto the image, summing the entries that im2col copied from the same pixel.

    cols: (C * kernel_height * kernel_width, N * H' * W') -> dx: x_shape = (N, C, H, W), same dtype as cols.
    out: an array of x_shape and cols' dtype to write dx into, or None.
    """
    N, C, H, W, out_height, out_width = checks.col2im_sizes(cols, x_shape, kernel_height, kernel_width, pad, stride)
    xp = get_array_module(cols)
    cols = xp.ascontiguousarray(cols)
    dx = checks.output_array(out, (N, C, H, W), cols.dtype, "col2im", xp)
    dimensions = as_c_ints(N, C, H, W, kernel_height, kernel_width, pad, stride, out_height, out_width)
    _launch(_kernel("im2col.cu", "col2im", cols.dtype), dx.size, (cols, dx) + dimensions)
    return dx


def max_pool_forward(x, pool_height, pool_width, stride):
    """Max over each pooling window (no padding).

    x: (N, C, H, W) -> out: (N, C, H', W'), same dtype as x, with H' = 1 + (H - pool_height) // stride, and
    argmax: (N, C, H', W') int32, the flat index h * W + w of the first maximum of each window in row-major order.
    """
    N, C, H, W, out_height, out_width = checks.max_pool_forward_sizes(x, pool_height, pool_width, stride)
    xp = get_array_module(x)
    x = xp.ascontiguousarray(x)
    out = xp.empty((N, C, out_height, out_width), dtype=x.dtype)
    argmax = xp.empty((N, C, out_height, out_width), dtype=np.int32)
    dimensions = as_c_ints(N, C, H, W, pool_height, pool_width, stride, out_height, out_width)
    _launch(_kernel("pooling.cu", "max_pool_forward", x.dtype), out.size, (x, out, argmax) + dimensions)
    return out, argmax


def max_pool_backward(dout, argmax, x_shape, pool_height, pool_width, stride):
    """Route each window's upstream gradient to the pixel that won it; a pixel sums the windows it won.

    dout: (N, C, H', W') float, argmax: (N, C, H', W') int32 -> dx: x_shape = (N, C, H, W), same dtype as dout.
    """
    N, C, H, W, out_height, out_width = checks.max_pool_backward_sizes(dout, argmax, x_shape, pool_height, pool_width,
                                                                       stride)
    xp = get_array_module(dout)
    dout = xp.ascontiguousarray(dout)
    argmax = xp.ascontiguousarray(argmax)
    dx = xp.empty((N, C, H, W), dtype=dout.dtype)
    dimensions = as_c_ints(N, C, H, W, pool_height, pool_width, stride, out_height, out_width)
    _launch(_kernel("pooling.cu", "max_pool_backward", dout.dtype), dx.size, (dout, argmax, dx) + dimensions)
    return dx


def dropout_forward(x, p, seed):
    """Inverted dropout with the counter-based mask of kernels/__init__.py (the same mask as the CPU for a seed).

    x: any shape, p: probability of dropping, 0 <= p < 1, seed: int in [0, 2**64)
    -> out: x's shape, mask: x's shape and dtype (0 or 1 / (1 - p)), with out = x * mask.
    """
    seed = checks.dropout_seed(x, p, seed)
    xp = get_array_module(x)
    x = xp.ascontiguousarray(x)
    out = xp.empty_like(x)
    mask = xp.empty_like(x)
    arguments = (x, out, mask, np.int64(x.size), np.float64(p), np.uint64(seed))
    _launch(_kernel("dropout.cu", "dropout_forward", x.dtype), x.size, arguments)
    return out, mask
