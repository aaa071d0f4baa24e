"""The argument checks of every kernel, shared by all three implementations (reference.py, cpu.py, gpu.py).

A compiled kernel checks nothing: a wrong shape makes it read or write the wrong memory. So each kernel's wrapper
first calls the check of that kernel here, which raises ValueError naming the function, the argument and the value,
and returns the sizes the kernel needs. The layers call window_output_size too, so a conv or pooling geometry is
judged by one function everywhere.
"""
import operator

import numpy as np

from minicnn.kernels.shapes import conv_output_size

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def window_output_size(function, height, width, window_height, window_width, pad, stride, tiled=False, details=""):
    """(H', W') = (1 + (H + 2 * pad - window_height) // stride, likewise for W) of a window sliding over an image
    zero-padded by pad on every side.

    Raises ValueError, starting with `function` and ending with `details` (say, the caller's shapes), when pad and
    stride are not integers >= 0 and >= 1, the window is empty or larger than the padded image, or, with tiled=True,
    the stride does not reach the far edge exactly (the layers ask for that: no row or column is silently dropped).
    """
    details = f" {details}" if details else ""
    if int(stride) != stride or stride < 1 or int(pad) != pad or pad < 0 or min(window_height, window_width) < 1:
        raise ValueError(f"{function}: stride must be an integer >= 1, pad an integer >= 0 and the window at least "
                         f"1x1, got stride {stride}, pad {pad}, a {window_height}x{window_width} window{details}")
    padded_height, padded_width = height + 2 * pad, width + 2 * pad
    padded = f"{'padded ' if pad else ''}input {padded_height}x{padded_width}"
    if window_height > padded_height or window_width > padded_width:
        raise ValueError(f"{function}: the {window_height}x{window_width} window is larger than the {padded}{details}")
    if tiled and ((padded_height - window_height) % stride or (padded_width - window_width) % stride):
        raise ValueError(f"{function}: stride {stride} does not tile the {padded} with a {window_height}x"
                         f"{window_width} window{details}")
    return conv_output_size(height, width, window_height, window_width, int(pad), int(stride))


def check_dropout_probability(function, name, p):
    """Raise ValueError unless 0 <= p < 1 (p is the probability of dropping a unit; name is how the caller calls it)."""
    if not 0 <= p < 1:
        raise ValueError(f"{function}: {name} is the probability of dropping a unit and must be in [0, 1), got {p}")


def check_float(function, name, array):
    """Raise ValueError unless array is float32 or float64."""
    if array.dtype not in FLOAT_DTYPES:
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


def output_array(out, shape, dtype, function, xp=np):
    """out, a caller's buffer for a kernel's result, after checking that it has this shape and dtype and is
    C-contiguous (the kernels write it by its row-major flat index); a new xp.empty array when out is None."""
    if out is None:
        return xp.empty(shape, dtype=dtype)
    check_shape(function, "out", out, shape)
    if out.dtype != dtype or not out.flags.c_contiguous:
        raise ValueError(f"{function}: out must be a C-contiguous {np.dtype(dtype)} array, got {out.dtype}"
                         f"{'' if out.flags.c_contiguous else ', not C-contiguous'}")
    return out


# ----------------------------------------------------------------------------------------- one check per kernel
def im2col_sizes(x, kernel_height, kernel_width, pad, stride):
    """Check im2col's arguments; x: (N, C, H, W) float -> (N, C, H, W, H', W')."""
    check_float("im2col", "x", x)
    N, C, H, W = check_image_shape("im2col", "x", x.shape)
    return (N, C, H, W) + window_output_size("im2col", H, W, kernel_height, kernel_width, pad, stride)


def col2im_sizes(cols, x_shape, kernel_height, kernel_width, pad, stride):
    """Check col2im's arguments; cols: (C * kernel_height * kernel_width, N * H' * W') -> (N, C, H, W, H', W')."""
    check_float("col2im", "cols", cols)
    N, C, H, W = check_image_shape("col2im", "x_shape", x_shape)
    out_height, out_width = window_output_size("col2im", H, W, kernel_height, kernel_width, pad, stride)
    check_shape("col2im", "cols", cols, (C * kernel_height * kernel_width, N * out_height * out_width))
    return N, C, H, W, out_height, out_width


def max_pool_forward_sizes(x, pool_height, pool_width, stride):
    """Check max_pool_forward's arguments; x: (N, C, H, W) float -> (N, C, H, W, H', W')."""
    check_float("max_pool_forward", "x", x)
    N, C, H, W = check_image_shape("max_pool_forward", "x", x.shape)
    return (N, C, H, W) + window_output_size("max_pool_forward", H, W, pool_height, pool_width, 0, stride)


def max_pool_backward_sizes(dout, argmax, x_shape, pool_height, pool_width, stride):
    """Check max_pool_backward's arguments; dout: (N, C, H', W') float, argmax: (N, C, H', W') int32
    -> (N, C, H, W, H', W')."""
    check_float("max_pool_backward", "dout", dout)
    if argmax.dtype != np.int32:
        raise ValueError(f"max_pool_backward: argmax must be int32, got {argmax.dtype}")
    N, C, H, W = check_image_shape("max_pool_backward", "x_shape", x_shape)
    out_height, out_width = window_output_size("max_pool_backward", H, W, pool_height, pool_width, 0, stride)
    check_shape("max_pool_backward", "dout", dout, (N, C, out_height, out_width))
    check_shape("max_pool_backward", "argmax", argmax, (N, C, out_height, out_width))
    return N, C, H, W, out_height, out_width


def dropout_seed(x, p, seed):
    """Check dropout_forward's arguments (x float, 0 <= p < 1, seed an int in [0, 2**64)) -> seed as an int."""
    check_float("dropout_forward", "x", x)
    check_dropout_probability("dropout_forward", "p", p)
    seed = operator.index(seed)
    if not 0 <= seed < 2 ** 64:
        raise ValueError(f"dropout_forward: seed must be an int in [0, 2**64), got {seed}")
    return seed
