"""Loop-by-loop reference versions of convolution and max pooling.

They are written to be read next to the textbook formula and to test the fast layers against; they are far too slow
for training. Same signatures, caches and layouts as the fast versions in minicnn.layers. They compute their output
sizes themselves, so that a test comparing them with the fast layers does not share the formula it checks.
"""
import numpy as np


def conv_forward_naive(x, w, b, conv_param):
    """out[n, f, i, j] = b[f] + sum over c, k, l of w[f, c, k, l] * x_padded[n, c, i * stride + k, j * stride + l].

    x: (N, C, H, W), w: (F, C, HH, WW), b: (F,), conv_param: {'stride', 'pad'}.
    out: (N, F, H', W') with H' = 1 + (H + 2 * pad - HH) // stride, W' likewise; cache: (x, w, b, conv_param).
    """
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    out_height, out_width = 1 + (H + 2 * pad - HH) // stride, 1 + (W + 2 * pad - WW) // stride
    x_padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((N, F, out_height, out_width), dtype=x.dtype)
    for n in range(N):
        for f in range(F):
            for i in range(out_height):
                for j in range(out_width):
                    window = x_padded[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    """Gradients of conv_forward_naive: each output position sends dout back to the window it read.

    dout: (N, F, H', W') -> dx: (N, C, H, W), dw: (F, C, HH, WW), db: (F,).
    """
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, out_height, out_width = dout.shape
    x_padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_padded = np.zeros_like(x_padded)
    dw = np.zeros_like(w)
    db = dout.sum(axis=(0, 2, 3))
    for n in range(N):
        for f in range(F):
            for i in range(out_height):
                for j in range(out_width):
                    rows = slice(i * stride, i * stride + HH)
                    columns = slice(j * stride, j * stride + WW)
                    dw[f] += dout[n, f, i, j] * x_padded[n, :, rows, columns]
                    dx_padded[n, :, rows, columns] += dout[n, f, i, j] * w[f]
    dx = dx_padded[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    """out[n, c, i, j] = max of the window x[n, c, i * stride : i * stride + ph, j * stride : j * stride + pw].

    x: (N, C, H, W), pool_param: {'pool_height', 'pool_width', 'stride'}.
    out: (N, C, H', W') with H' = 1 + (H - pool_height) // stride; cache: (x, pool_param).
    """
    pool_height, pool_width, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    out_height, out_width = 1 + (H - pool_height) // stride, 1 + (W - pool_width) // stride
    out = np.zeros((N, C, out_height, out_width), dtype=x.dtype)
    for i in range(out_height):
        for j in range(out_width):
            window = x[:, :, i * stride:i * stride + pool_height, j * stride:j * stride + pool_width]
            out[:, :, i, j] = window.max(axis=(2, 3))
    return out, (x, pool_param)


def max_pool_backward_naive(dout, cache):
    """Each window sends its gradient to its maximum; on ties, to the first maximum in row-major order.

    dout: (N, C, H', W') -> dx: (N, C, H, W).
    """
    x, pool_param = cache
    pool_height, pool_width, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, _, _ = x.shape
    _, _, out_height, out_width = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(out_height):
                for j in range(out_width):
                    window = x[n, c, i * stride:i * stride + pool_height, j * stride:j * stride + pool_width]
                    row, column = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * stride + row, j * stride + column] += dout[n, c, i, j]
    return dx
