"""Solutions of the course's exercises, one function per exercise, named as in its notebook.

Read one after trying it yourself. course.check runs them in place of an unfinished exercise when
MINICNN_COURSE_SOLUTIONS=1 (the test suite sets it), so every check cell is tested against minicnn.
They are written the plain way, as a student would, not the fast way minicnn's layers are.
"""
import numpy as np


# ---------------------------------------------------------------------------------------- notebook 1: layers
def affine_forward(x, w, b):
    """x: (N, d1, ..., dk), w: (D, M), b: (M,) -> out: (N, M)."""
    return x.reshape(len(x), -1) @ w + b


def affine_backward(dout, x, w):
    """dout: (N, M) -> dx: x's shape, dw: (D, M), db: (M,)."""
    return (dout @ w.T).reshape(x.shape), x.reshape(len(x), -1).T @ dout, dout.sum(axis=0)


def relu_backward(dout, x):
    """dout, x: the same shape -> dx."""
    return np.where(x > 0, dout, 0.0)


def numerical_gradient(f, x, h=1e-5):
    """Centred differences of a scalar f at every entry of x (x: any shape) -> grad: x's shape."""
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        kept = x[index]
        x[index] = kept + h
        above = f(x)
        x[index] = kept - h
        below = f(x)
        x[index] = kept
        grad[index] = (above - below) / (2 * h)
    return grad


# ----------------------------------------------------------------------------------- notebook 2: convolution
def conv_forward(x, w, b, stride, pad):
    """x: (N, C, H, W), w: (F, C, HH, WW), b: (F,) -> out: (N, F, H', W'), by loops over the output."""
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    out = np.zeros((N, F, 1 + (H + 2 * pad - HH) // stride, 1 + (W + 2 * pad - WW) // stride))
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    for n, f, i, j in np.ndindex(out.shape):
        out[n, f, i, j] = np.sum(padded[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW] * w[f]) + b[f]
    return out


def conv_backward(dout, x, w, stride, pad):
    """dout: (N, F, H', W') -> dx: x's shape, dw: w's shape, db: (F,), through im2col and col2im."""
    from minicnn.kernels import reference
    F, _, HH, WW = w.shape
    dout_rows = dout.transpose(1, 0, 2, 3).reshape(F, -1)
    cols = reference.im2col(x, HH, WW, pad, stride)
    dcols = w.reshape(F, -1).T @ dout_rows
    return (reference.col2im(dcols, x.shape, HH, WW, pad, stride), (dout_rows @ cols.T).reshape(w.shape),
            dout_rows.sum(axis=1))


# ---------------------------------------------------------------- notebook 3: pooling, batch norm, dropout
def max_pool_forward(x):
    """x: (N, C, H, W), H and W even -> out: (N, C, H / 2, W / 2)."""
    N, C, H, W = x.shape
    return x.reshape(N, C, H // 2, 2, W // 2, 2).max(axis=(3, 5))


def max_pool_backward(dout, x):
    """dout: (N, C, H / 2, W / 2), x: (N, C, H, W) without ties -> dx: x's shape."""
    N, C, H, W = x.shape
    windows = x.reshape(N, C, H // 2, 2, W // 2, 2)
    winners = windows == windows.max(axis=(3, 5), keepdims=True)
    return (winners * dout[:, :, :, None, :, None]).reshape(x.shape)


def batchnorm_backward(dout, x, gamma, eps=1e-5):
    """dout, x: (N, D), gamma: (D,) -> dx: (N, D), dgamma: (D,), dbeta: (D,), in training mode."""
    std = np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - x.mean(axis=0)) / std
    dx = gamma / std * (dout - dout.mean(axis=0) - x_hat * (dout * x_hat).mean(axis=0))
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


# ---------------------------------------------------------------------------- notebook 4: the update rules
def sgd_momentum_step(w, dw, velocity, learning_rate=1e-2, momentum=0.9):
    """w, dw, velocity: the same shape -> (next_w, next_velocity)."""
    velocity = momentum * velocity - learning_rate * dw
    return w + velocity, velocity


def adam_step(w, dw, m, v, t, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """w, dw, m, v: the same shape; t: steps taken before this one -> (next_w, next_m, next_v)."""
    t += 1
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw ** 2
    step = learning_rate * (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta2 ** t)) + epsilon)
    return w - step, m, v


# --------------------------------------------------------------------------------------------- notebook 7: GPU
def im2col_by_threads(x, kernel_height, kernel_width, pad, stride):
    """x: (N, C, H, W) -> cols, each entry computed from its flat index alone, as a CUDA thread computes it."""
    N, C, H, W = x.shape
    out_height = 1 + (H + 2 * pad - kernel_height) // stride
    out_width = 1 + (W + 2 * pad - kernel_width) // stride
    cols = np.empty((C * kernel_height * kernel_width, N * out_height * out_width), dtype=x.dtype)
    flat = cols.reshape(-1)
    for index in range(flat.size):
        rest, ow = divmod(index, out_width)
        rest, oh = divmod(rest, out_height)
        rest, n = divmod(rest, N)
        rest, j = divmod(rest, kernel_width)
        c, i = divmod(rest, kernel_height)
        h, w = oh * stride + i - pad, ow * stride + j - pad
        flat[index] = x[n, c, h, w] if 0 <= h < H and 0 <= w < W else 0
    return cols


# ---------------------------------------------------------------------------------- notebook 6: looking inside
def saliency(model, images, classes):
    """images: (N, C, H, W) centred, classes: (N,) -> saliency: (N, H, W), max over channels of |d score_c / dx|."""
    from minicnn import visualize
    outputs, caches = visualize.forward(model, images)
    dscores = np.zeros_like(outputs[-1])
    dscores[np.arange(len(images)), classes] = 1
    return np.abs(visualize.backward(model, dscores, caches)).max(axis=1)


# ------------------------------------------------------------------------------- notebook 8: beyond the paper
def smoothed_softmax_loss(scores, y, smoothing):
    """scores: (N, K), y: (N,) labels, smoothing: eps -> (loss, dscores (N, K)) against the targets
    (1 - eps) * onehot(y) + eps / K."""
    N, K = scores.shape
    shifted = scores - scores.max(axis=1, keepdims=True)
    probabilities = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    targets = np.full((N, K), smoothing / K)
    targets[np.arange(N), y] += 1 - smoothing
    loss = -np.sum(targets * np.log(probabilities)) / N
    return loss, (probabilities - targets) / N
