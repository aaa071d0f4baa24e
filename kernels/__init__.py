"""The few operations that plain array code does badly, one function per operation.

Each function takes numpy or cupy arrays and runs the Numba kernel (kernels/cpu.py) or the CUDA kernel
(kernels/gpu.py, loaded only when a cupy array arrives) that matches; the layers never know which ran.

Layouts shared by both implementations (the CUDA kernels and the Numba kernels are tested against each other):
  im2col:  x (N, C, H, W) -> cols (C * HH * WW, N * H' * W'), where row (c * HH + i) * WW + j and column
           (n * H' + oh) * W' + ow hold x[n, c, oh * stride + i - pad, ow * stride + j - pad] (0 outside x),
           H' = 1 + (H + 2 * pad - HH) // stride, W' = 1 + (W + 2 * pad - WW) // stride.
  col2im:  the adjoint of im2col: dx[n, c, h, w] sums every entry of cols that im2col copied from x[n, c, h, w].
  max pool: out (N, C, H', W') with H' = 1 + (H - pool_height) // stride; argmax (N, C, H', W') int32 holds the flat
           index h * W + w, inside its (n, c) plane, of the first maximum of each window in row-major order.
"""
from minicnn.backend import is_gpu_array


def _implementation(x):
    if is_gpu_array(x):
        from minicnn.kernels import gpu
        return gpu
    from minicnn.kernels import cpu
    return cpu


def im2col(x, kernel_height, kernel_width, pad, stride):
    """Unfold the zero-padded patches of x into columns.

    x: (N, C, H, W) -> cols: (C * kernel_height * kernel_width, N * H' * W'), same dtype as x.
    """
    return _implementation(x).im2col(x, kernel_height, kernel_width, pad, stride)


def col2im(cols, x_shape, kernel_height, kernel_width, pad, stride):
    """Fold columns back onto the image, summing overlaps (the gradient of im2col).

    cols: (C * kernel_height * kernel_width, N * H' * W') -> dx: x_shape = (N, C, H, W), same dtype as cols.
    """
    return _implementation(cols).col2im(cols, x_shape, kernel_height, kernel_width, pad, stride)


def max_pool_forward(x, pool_height, pool_width, stride):
    """Max over each pooling window.

    x: (N, C, H, W) -> out: (N, C, H', W'), argmax: (N, C, H', W') int32 (flat h * W + w of the chosen pixel).
    """
    return _implementation(x).max_pool_forward(x, pool_height, pool_width, stride)


def max_pool_backward(dout, argmax, x_shape, pool_height, pool_width, stride):
    """Route each window's upstream gradient to the pixel that won it; a pixel sums the windows it won.

    dout, argmax: (N, C, H', W') -> dx: x_shape = (N, C, H, W), same dtype as dout.
    """
    return _implementation(dout).max_pool_backward(dout, argmax, x_shape, pool_height, pool_width, stride)


def dropout_forward(x, p, seed):
    """Inverted dropout with a mask drawn from a counter-based hash, so CPU and GPU draw the same mask for a seed.

    Element i is dropped when uniform(seed, i) < p, where uniform is splitmix64 of (seed * 0x9E3779B97F4A7C15 + i + 1),
    top 24 bits, divided by 2**24; kept elements are scaled by 1 / (1 - p).
    x: any shape -> out: x's shape, mask: x's shape and dtype (0 or 1 / (1 - p)), with out = x * mask.
    """
    return _implementation(x).dropout_forward(x, p, seed)
