"""The functional layer API: every layer as a forward/backward pair, cs231n style.

Each `X_forward(...)` returns `(out, cache)` and each `X_backward(dout, cache)` returns the gradients of its inputs.
Every function keeps the dtype it is given and runs unchanged on numpy or cupy arrays: the array module `xp` is taken
from the input. Convolution, pooling and dropout hand their memory-bound parts to the kernels of `minicnn.kernels`
(kernels/cpu.py, Numba, for numpy arrays; kernels/gpu.py, CUDA, for cupy arrays) and their arithmetic to the BLAS
through `xp.matmul`. Convolution runs a few images at a time on the CPU (see _image_chunks), by im2col and a GEMM or,
for 3x3 and 5x5 stride-1 filters, by Winograd's minimal filtering (minicnn.winograd; see conv_algorithm).
"""
import os

import numpy as np

from minicnn import winograd
from minicnn.backend import get_array_module, is_gpu_array
from minicnn.kernels.checks import FLOAT_DTYPES, check_dropout_probability, window_output_size
from minicnn.kernels.shapes import conv_output_size
from minicnn.naive import (conv_backward_naive, conv_forward_naive,  # noqa: F401 (part of this module's API)
                           max_pool_backward_naive, max_pool_forward_naive)

MODES = ("train", "test")
COLUMNS_CHUNK_BYTES = 8 * 2 ** 20   # im2col columns unfolded at once on the CPU; see _image_chunks
WINOGRAD_CHUNK_BYTES = 64 * 2 ** 20   # Winograd's transformed tiles and products held at once; see _winograd_chunks
CONV_ALGORITHMS = ("auto", "im2col", "winograd")
WINOGRAD_MIN_CHANNELS = 32          # 'auto' takes Winograd from this many input channels on; see conv_algorithm
BATCHNORM_EPS = 1e-5                # batch norm's eps when bn_param has none: out = (x - mean) / sqrt(var + eps)


def _kernels(x):
    """The kernels for x's device: minicnn.kernels.cpu for a numpy array, minicnn.kernels.gpu for a cupy array.

    Imported on first use, so that a machine without Numba can run on the GPU and one without cupy on the CPU.
    """
    if is_gpu_array(x):
        from minicnn.kernels import gpu
        return gpu
    from minicnn.kernels import cpu
    return cpu


# ----------------------------------------------------------------------------------------------------- affine
def affine_forward(x, w, b):
    """out = x.reshape(N, D) @ w + b.

    x: (N, d1, ..., dk) with D = d1 * ... * dk, w: (D, M), b: (M,) -> out: (N, M); cache: (x, w, b).
    """
    D = int(np.prod(x.shape[1:]))
    if w.ndim != 2 or w.shape[0] != D or b.shape != (w.shape[1],):
        raise ValueError(f"affine_forward: x {tuple(x.shape)} flattens to {D} features, so w must be ({D}, M) and "
                         f"b (M,), got w {tuple(w.shape)} and b {tuple(b.shape)}")
    out = x.reshape(x.shape[0], D) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    """dout: (N, M) -> dx: x's shape (N, d1, ..., dk), dw: (D, M), db: (M,)."""
    x, w, b = cache
    x_flat = x.reshape(x.shape[0], -1)
    dx = (dout @ w.T).reshape(x.shape)
    dw = x_flat.T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


# ------------------------------------------------------------------------------------------------------- relu
def relu_forward(x):
    """out = max(0, x), elementwise. x: any shape -> out: x's shape; cache: x."""
    return get_array_module(x).maximum(x, 0), x


def relu_backward(dout, cache):
    """dx = dout where x > 0, else 0. dout: x's shape -> dx: x's shape."""
    x = cache
    return dout * (x > 0)


# ---------------------------------------------------------------------------------------------- convolution
def _check_conv_arguments(x, w, b, conv_param):
    """(stride, pad, H', W') of conv_forward, or a ValueError that shows every shape involved."""
    stride, pad = conv_param.get("stride", 1), conv_param.get("pad", 0)
    shapes = f"(x: {tuple(x.shape)}, w: {tuple(w.shape)}, b: {tuple(b.shape)}, stride {stride}, pad {pad})"
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"conv_forward: x must be (N, C, H, W) and w (F, C, HH, WW) {shapes}")
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"conv_forward: x has {x.shape[1]} channels but w expects {w.shape[1]} {shapes}")
    if b.shape != (w.shape[0],):
        raise ValueError(f"conv_forward: b must have one bias per filter, ({w.shape[0]},) {shapes}")
    out_height, out_width = window_output_size("conv_forward", *x.shape[2:], *w.shape[2:], pad, stride, tiled=True,
                                               details=shapes)
    return int(stride), int(pad), out_height, out_width


def _image_chunks(x, bytes_per_image, budget_bytes=None):
    """Slices of the batch axis of x: (N, ...) that cut it into chunks of at most budget_bytes (default
    COLUMNS_CHUNK_BYTES) on the CPU (at least one image each), given what one image costs, as few as that allows and
    of equal sizes (give or take an image: a last chunk of a few images would run its GEMMs slowly); on the GPU the
    whole batch is one chunk.

    Why chunks: the im2col columns of a whole batch are big (the deep net's conv2 at batch 128: 1600 x 73,728
    floats, 472 MB), so they would be written to memory and read back by each GEMM; a chunk's columns are still in
    the processor's cache when its GEMMs read them, and only one chunk is held at a time. A GPU has the memory
    bandwidth and memory, and wants the biggest GEMMs it can get.
    """
    N = x.shape[0]
    if N == 0:
        return []
    budget_bytes = COLUMNS_CHUNK_BYTES if budget_bytes is None else budget_bytes
    most = N if is_gpu_array(x) else max(1, min(N, budget_bytes // bytes_per_image))
    count = -(-N // most)                                               # chunks
    bounds = [-(-N * chunk // count) for chunk in range(count + 1)]    # rounded up: the largest chunks come first
    return [slice(start, stop) for start, stop in zip(bounds, bounds[1:])]


def _columns_shape(x_shape, kernel_height, kernel_width, pad, stride):
    """(rows, positions): one image's im2col columns are (rows, positions) = (C * HH * WW, H' * W')."""
    _, C, H, W = x_shape
    out_height, out_width = conv_output_size(H, W, kernel_height, kernel_width, pad, stride)
    return C * kernel_height * kernel_width, out_height * out_width


def _chunks_of(x, kernel_height, kernel_width, pad, stride):
    """_image_chunks of x for a convolution with this window: chunks sized by their im2col columns."""
    rows, positions = _columns_shape(x.shape, kernel_height, kernel_width, pad, stride)
    return _image_chunks(x, rows * positions * x.dtype.itemsize)


def _winograd_chunks(x, w, pad, tile):
    """_image_chunks of x: (N, C, H, W) for winograd_conv with w: (F, C, K, K) and this tile, sized by its transformed
    tiles and products (WINOGRAD_CHUNK_BYTES). The backward pass (winograd_backward) holds no more per image: dout's
    tiles in place of the products, and the tiles of x, then their gradients.

    Bigger than im2col's chunks, because Winograd's GEMMs are alpha^2 (16, 25, 36 or 64) small ones per chunk, (F, C) @
    (C, tiles), that each read all of one transformed filter matrix: more tiles per chunk make them faster. (Measured
    on the deep net with F(3x3, 3x3) for conv4: 128 MB, the whole batch for conv3 and conv4, made conv4's backward
    pass 10 to 20% faster than 32 MB; benchmarks/RESULTS.md. With F(6x6, 3x3), whose tiles are fewer, 64 MB holds
    the whole batch of conv4 and most of conv3's; it was chosen to keep a training step's peak memory low.)
    """
    bytes_per_image = winograd.workspace_bytes_per_image(x.shape, w.shape, pad, x.dtype.itemsize, tile)
    return _image_chunks(x, bytes_per_image, WINOGRAD_CHUNK_BYTES)


def _columns_by_chunk(x, kernel_height, kernel_width, pad, stride):
    """Yield (images, cols) for the chunks of _chunks_of: images is a slice of the batch axis and
    cols = im2col(x[images]): (C * HH * WW, n * H' * W') for its n images.

    Every chunk is written into the same buffer, so each cols is only valid until the next one is asked for.
    """
    chunks = _chunks_of(x, kernel_height, kernel_width, pad, stride)
    if not chunks:                                                      # an empty batch
        return
    rows, positions = _columns_shape(x.shape, kernel_height, kernel_width, pad, stride)
    largest = max(chunk.stop - chunk.start for chunk in chunks)
    buffer = get_array_module(x).empty(rows * largest * positions, dtype=x.dtype)
    kernels = _kernels(x)
    for images in chunks:
        columns = buffer[:rows * (images.stop - images.start) * positions].reshape(rows, -1)
        yield images, kernels.im2col(x[images], kernel_height, kernel_width, pad, stride, out=columns)


def conv_algorithm(x, w, conv_param):
    """The algorithm conv_forward runs for x: (N, C, H, W) and w: (F, C, HH, WW): 'im2col' or 'winograd'.

    conv_param['algorithm'] (default: the environment variable MINICNN_CONV_ALGORITHM, else 'auto') chooses:
      'im2col'    always im2col and GEMM;
      'winograd'  Winograd (minicnn.winograd) wherever it applies: x and w numpy arrays of one dtype, float32 or
                  float64, 3x3 or 5x5 filters, stride 1, pad at most K - 1, with the output tile of
                  winograd.tile_with_fewest_products (F(4x4, 5x5) for the deep net's conv2, F(6x6, 3x3) for conv3
                  and conv4); im2col elsewhere;
      'auto'      Winograd where it applies and was measured faster (at least WINOGRAD_MIN_CHANNELS input
                  channels), else im2col. With few channels its transforms, passes over 1.8 to 4 times the input
                  and the output, cost more than its alpha^2 small GEMMs (F, C) @ (C, tiles) save. Measured on 3x3
                  filters, 48x48 maps, 64 filters, forward + backward (benchmarks/RESULTS.md): with 32 input channels
                  (the shallow net's conv2) F(6x6, 3x3) took 0.54 times im2col's time, with 16 0.81, with 8 1.05
                  (no faster); the deep net's conv3 and conv4 (128 and 512 input channels) ran faster by
                  Winograd, and its 5x5 conv2 (64 input channels) twice as fast. The deep net has no 5x5 layer with
                  fewer channels.
    The backward pass follows: Winograd computes the input and weight gradients of a Winograd convolution too.
    """
    requested = conv_param.get("algorithm", os.environ.get("MINICNN_CONV_ALGORITHM", "auto"))
    if requested not in CONV_ALGORITHMS:
        raise ValueError(f"conv_forward: conv_param['algorithm'] (or MINICNN_CONV_ALGORITHM) must be one of "
                         f"{CONV_ALGORITHMS}, got {requested!r}")
    applies = (not is_gpu_array(x) and x.dtype in FLOAT_DTYPES and w.dtype == x.dtype
               and winograd.supports(x.shape, w.shape, conv_param.get("stride", 1), conv_param.get("pad", 0),
                                     kernel_sizes=winograd.KERNEL_SIZES))
    if requested == "winograd" and applies or requested == "auto" and applies and x.shape[1] >= WINOGRAD_MIN_CHANNELS:
        return "winograd"
    return "im2col"


def conv_forward(x, w, b, conv_param):
    """Convolution (cross-correlation), chunk by chunk of the batch, by im2col and a GEMM or by Winograd.

    x: (N, C, H, W), w: (F, C, HH, WW), b: (F,), conv_param: {'stride': s, 'pad': p, 'algorithm' (optional, see
    conv_algorithm)} with zero padding p on each side.
    out: (N, F, H', W') with H' = 1 + (H + 2p - HH) // s, W' = 1 + (W + 2p - WW) // s.
    cache: (x, w, stride, pad, algorithm). The backward pass unfolds x again (im2col) or transforms its tiles again
    (Winograd), chunk by chunk, rather than keep the columns or tiles of the whole batch: they are HH * WW (or 4)
    times bigger than x.
    """
    stride, pad, out_height, out_width = _check_conv_arguments(x, w, b, conv_param)
    algorithm = conv_algorithm(x, w, conv_param)
    xp = get_array_module(x)
    N, F, (HH, WW) = x.shape[0], w.shape[0], w.shape[2:]
    filters = w.reshape(F, -1)                                          # (F, C * HH * WW)
    out = xp.empty((N, F, out_height, out_width), dtype=x.dtype)
    if algorithm == "winograd":
        tile = winograd.tile_with_fewest_products(x.shape, w.shape, pad)
        transformed_filters, workspace = winograd.transform_filters(w, tile), winograd.layer_workspace()  # all chunks
        for images in _winograd_chunks(x, w, pad, tile):
            winograd.winograd_conv(x[images], w, pad, tile, U=transformed_filters, out=out[images], workspace=workspace)
            out[images] += b.reshape(F, 1, 1)
        return out, (x, w, stride, pad, algorithm)
    for images, cols in _columns_by_chunk(x, HH, WW, pad, stride):
        out_columns = filters @ cols                                    # (F, n * H' * W')
        # One pass both adds the bias and brings the filters axis after the batch axis: (F, n, ...) -> (n, F, ...).
        xp.add(out_columns.reshape(F, -1, out_height, out_width).transpose(1, 0, 2, 3), b.reshape(F, 1, 1),
               out=out[images])
    return out, (x, w, stride, pad, algorithm)


def conv_backward(dout, cache):
    """dout: (N, F, H', W') -> dx: (N, C, H, W), dw: (F, C, HH, WW), db: (F,).

    By the algorithm of the forward pass (see _conv_backward_by_im2col and _conv_backward_by_winograd); db is dout
    summed over images and positions either way.
    """
    x, w, stride, pad, algorithm = cache
    if algorithm == "winograd" and dout.dtype == w.dtype:
        return _conv_backward_by_winograd(dout, x, w, pad)
    return _conv_backward_by_im2col(dout, x, w, stride, pad)


def _conv_backward_by_im2col(dout, x, w, stride, pad):
    """conv_backward for each chunk of images: dw += dout @ im2col(x)^T, and dx = col2im(w^T @ dout), itself a
    convolution: the transposed convolution of dout with w."""
    xp, kernels = get_array_module(dout), _kernels(dout)
    F, _, HH, WW = w.shape
    filters = w.reshape(F, -1)                                          # (F, C * HH * WW)
    # Each gradient takes the dtype its product would have: float64 when either factor is (a gradient check).
    dw = xp.zeros(filters.shape, dtype=xp.result_type(dout.dtype, x.dtype))
    db = xp.zeros(F, dtype=dout.dtype)
    dx = xp.empty(x.shape, dtype=xp.result_type(w.dtype, dout.dtype))
    for images, cols in _columns_by_chunk(x, HH, WW, pad, stride):
        dout_columns = dout[images].transpose(1, 0, 2, 3).reshape(F, -1)  # (F, n * H' * W'), one copy
        db += dout_columns.sum(axis=1)
        dw += dout_columns @ cols.T
        kernels.col2im(filters.T @ dout_columns, dx[images].shape, HH, WW, pad, stride, out=dx[images])
    return dx, dw.reshape(w.shape), db


def _conv_backward_by_winograd(dout, x, w, pad):
    """conv_backward of a Winograd convolution (x, w and dout numpy arrays of one dtype), in the forward pass's chunks
    and with its tile: dx and dw by the algorithm transposed (winograd.winograd_backward), with its savings."""
    tile = winograd.tile_with_fewest_products(x.shape, w.shape, pad)
    transformed_filters, workspace = winograd.transform_filters(w, tile), winograd.layer_workspace()  # all chunks
    dw = np.zeros(w.shape, dtype=w.dtype)
    dx = np.empty(x.shape, dtype=x.dtype)
    for images in _winograd_chunks(x, w, pad, tile):
        # dx[images] is written in place, so only dw is taken from what the call returns.
        _, dw_of_chunk = winograd.winograd_backward(x[images], dout[images], w, pad, tile, U=transformed_filters,
                                                    dx=dx[images], workspace=workspace)
        dw += dw_of_chunk
    return dx, dw, dout.sum(axis=(0, 2, 3))


# ------------------------------------------------------------------------------------------------ max pooling
def _check_pool_arguments(x, pool_param):
    pool_height, pool_width = pool_param.get("pool_height", 2), pool_param.get("pool_width", 2)
    stride = pool_param.get("stride", 2)
    described = f"(x: {tuple(x.shape)}, pool {pool_height}x{pool_width}, stride {stride})"
    if x.ndim != 4:
        raise ValueError(f"max_pool_forward: x must be (N, C, H, W) {described}")
    window_output_size("max_pool_forward", *x.shape[2:], pool_height, pool_width, 0, stride, tiled=True,
                       details=described)
    return int(pool_height), int(pool_width), int(stride)


def max_pool_forward(x, pool_param):
    """Max pooling over windows of any size and stride.

    x: (N, C, H, W), pool_param: {'pool_height', 'pool_width', 'stride'} (default 2, 2, 2).
    out: (N, C, H', W') with H' = 1 + (H - pool_height) // stride, W' likewise.
    cache: (x_shape, argmax, pool_height, pool_width, stride), argmax: (N, C, H', W') int32, the flat index h * W + w
    of each window's maximum in its (n, c) plane: all the backward pass needs of x.
    """
    pool_height, pool_width, stride = _check_pool_arguments(x, pool_param)
    out, argmax = _kernels(x).max_pool_forward(x, pool_height, pool_width, stride)
    return out, (x.shape, argmax, pool_height, pool_width, stride)


def max_pool_backward(dout, cache):
    """dout: (N, C, H', W') -> dx: (N, C, H, W); each window's gradient goes to one maximum only, even on ties.

    A scatter-add of dout to the argmax positions: the transpose of the gather the forward pass did.
    """
    x_shape, argmax, pool_height, pool_width, stride = cache
    return _kernels(dout).max_pool_backward(dout, argmax, x_shape, pool_height, pool_width, stride)


# -------------------------------------------------------------------------------------- batch normalisation
def _check_bn_param(bn_param, function):
    mode = bn_param.get("mode", "train")
    if mode not in MODES:
        raise ValueError(f"{function}: bn_param['mode'] must be 'train' or 'test', got {mode!r}")
    return mode


def batchnorm_settings(x, gamma, beta, bn_param, function):
    """Check batch norm's arguments (x: (N, C, ...), gamma, beta: (C,)) and create bn_param's running statistics
    (zeros and ones, x's dtype) when missing -> (mode, eps, momentum). Shared with the fused blocks (layer_utils)."""
    mode = _check_bn_param(bn_param, function)
    channels = x.shape[1]
    if getattr(gamma, "shape", None) != (channels,) or getattr(beta, "shape", None) != (channels,):
        raise ValueError(f"{function}: gamma and beta must be ({channels},) for x {tuple(x.shape)}, "
                         f"got gamma {getattr(gamma, 'shape', None)} and beta {getattr(beta, 'shape', None)}")
    if "running_mean" not in bn_param:  # not setdefault: that would allocate (on the GPU, too) on every call
        xp = get_array_module(x)
        bn_param["running_mean"] = xp.zeros(channels, dtype=x.dtype)
        bn_param["running_var"] = xp.ones(channels, dtype=x.dtype)
    return mode, bn_param.get("eps", BATCHNORM_EPS), bn_param.get("momentum", 0.9)


def update_running_statistics(bn_param, mean, var, momentum):
    """running = momentum * running + (1 - momentum) * batch statistic, for the mean and the variance."""
    bn_param["running_mean"] = momentum * bn_param["running_mean"] + (1 - momentum) * mean
    bn_param["running_var"] = momentum * bn_param["running_var"] + (1 - momentum) * var


def _batchnorm(x, gamma, beta, bn_param, axes, function):
    """Normalise x over `axes`, statistics of shape gamma.shape; shared by the flat and the spatial layers."""
    mode, eps, momentum = batchnorm_settings(x, gamma, beta, bn_param, function)
    xp = get_array_module(x)
    broadcast = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    # The arithmetic below works in place where it can: these arrays are as big as the layer's output.
    if mode == "train":
        mean = x.mean(axis=axes)
        x_hat = x - mean.reshape(broadcast)
        var = xp.square(x_hat).mean(axis=axes)                          # biased variance, as in the paper
        update_running_statistics(bn_param, mean, var, momentum)
    else:
        mean, var = bn_param["running_mean"], bn_param["running_var"]
        x_hat = x - mean.reshape(broadcast)
    inv_std = (1 / xp.sqrt(var + eps)).astype(x.dtype)
    x_hat *= inv_std.reshape(broadcast)
    out = x_hat * gamma.reshape(broadcast)
    out += beta.reshape(broadcast)
    return out, (mode, x_hat, gamma, inv_std, axes, broadcast)


def _batchnorm_backward(dout, cache):
    mode, x_hat, gamma, inv_std, axes, broadcast = cache
    scale = (gamma * inv_std).reshape(broadcast)
    dbeta = dout.sum(axis=axes)
    dx = dout * x_hat
    dgamma = dx.sum(axis=axes)
    if mode == "test":                                                  # fixed statistics: a per-channel affine map
        return dout * scale, dgamma, dbeta
    # Closed form of the gradient through the batch mean and variance:
    # dx = gamma / sigma * (dout - mean(dout) - x_hat * mean(dout * x_hat)), means over the normalised axes.
    # It is built in the buffer of dout * x_hat, which is no longer needed once dgamma is summed.
    count = dout.size // dbeta.size
    get_array_module(dx).multiply(x_hat, (-dgamma / count).reshape(broadcast), out=dx)
    dx += dout
    dx -= (dbeta / count).reshape(broadcast)
    dx *= scale
    return dx, dgamma, dbeta


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalisation of each feature.

    x: (N, D), gamma, beta: (D,), bn_param: {'mode': 'train'|'test', 'eps' (1e-5), 'momentum' (0.9),
    'running_mean', 'running_var'}. Training normalises with the batch mean and biased variance and updates
    running = momentum * running + (1 - momentum) * batch_statistic in bn_param (zeros and ones at first); test mode
    normalises with the running statistics. out: (N, D).
    cache: (mode, x_hat, gamma, inv_std, axes, broadcast), with x_hat: (N, D) the normalised input and inv_std: (D,)
    1 / sqrt(var + eps), from which the backward pass rebuilds the gradient through the batch statistics.
    """
    if x.ndim != 2:
        raise ValueError(f"batchnorm_forward: x must be (N, D), got {tuple(x.shape)}")
    return _batchnorm(x, gamma, beta, bn_param, (0,), "batchnorm_forward")


def batchnorm_backward(dout, cache):
    """dout: (N, D) -> dx: (N, D), dgamma: (D,), dbeta: (D,)."""
    return _batchnorm_backward(dout, cache)


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalisation of each channel over the batch and all positions.

    x: (N, C, H, W), gamma, beta: (C,), bn_param as in batchnorm_forward. out: (N, C, H, W).
    cache: as batchnorm_forward's, with x_hat: (N, C, H, W) and inv_std: (C,).
    """
    if x.ndim != 4:
        raise ValueError(f"spatial_batchnorm_forward: x must be (N, C, H, W), got {tuple(x.shape)}")
    return _batchnorm(x, gamma, beta, bn_param, (0, 2, 3), "spatial_batchnorm_forward")


def spatial_batchnorm_backward(dout, cache):
    """dout: (N, C, H, W) -> dx: (N, C, H, W), dgamma: (C,), dbeta: (C,)."""
    return _batchnorm_backward(dout, cache)


# ---------------------------------------------------------------------------------------------------- dropout
def dropout_forward(x, dropout_param):
    """Inverted dropout: in training each unit is dropped with probability p and the rest scaled by 1 / (1 - p).

    x: any shape, dropout_param: {'p': probability of DROPPING a unit (as torch.nn.Dropout), 'mode': 'train'|'test',
    'seed': optional int, the same seed gives the same mask on the CPU and the GPU}. Test mode is the identity.
    out: x's shape; cache: (dropout_param, mask), mask: x's shape, 0 or 1 / (1 - p) (None in test mode or for p = 0).
    """
    p, seed = dropout_settings(dropout_param)
    if p == 0:
        return x, (dropout_param, None)
    out, mask = _kernels(x).dropout_forward(x, p, seed)
    return out, (dropout_param, mask)


def dropout_settings(dropout_param):
    """Check dropout_param -> (p, seed): p = 0 when nothing is dropped (test mode or p = 0), and then seed = None;
    otherwise the given seed, or a new one drawn from np.random. Shared with the fused blocks (layer_utils)."""
    p, mode = dropout_param.get("p", 0.5), dropout_param.get("mode", "train")
    if mode not in MODES:
        raise ValueError(f"dropout_forward: dropout_param['mode'] must be 'train' or 'test', got {mode!r}")
    check_dropout_probability("dropout_forward", "dropout_param['p']", p)
    if mode == "test" or p == 0:
        return 0, None
    seed = dropout_param.get("seed")
    if seed is None:
        seed = np.random.randint(0, 2 ** 63 - 1, dtype=np.int64)    # follows np.random.seed, as cs231n's did
    return p, seed


def dropout_backward(dout, cache):
    """dout: x's shape -> dx: the upstream gradient through the kept units, scaled like them."""
    _, mask = cache
    return dout if mask is None else dout * mask


# ---------------------------------------------------------------------------------------------------- softmax
def softmax_loss(scores, y, label_smoothing=0.0):
    """Mean cross-entropy of a softmax over the classes, stable for huge scores.

    scores: (N, K) class scores, y: (N,) integer labels in 0..K-1 -> loss: float, dscores: (N, K).
    label_smoothing: eps in [0, 1); the target of each sample is then 1 - eps on its label plus eps / K on every
    class (Szegedy et al., 2016), instead of all on its label: the net is no longer pushed towards infinite scores,
    which also tempers its trust in FER2013's mislabelled faces. loss = -sum_k target_k log p_k, averaged over N,
    and dscores = (p - target) / N.
    """
    xp = get_array_module(scores)
    if scores.ndim != 2 or y.shape != (scores.shape[0],):
        raise ValueError(f"softmax_loss: scores must be (N, K) and y (N,), got scores {tuple(scores.shape)} "
                         f"and y {tuple(y.shape)}")
    if y.dtype.kind not in "iu":
        raise ValueError(f"softmax_loss: labels y must be integers, got dtype {y.dtype}")
    if not 0 <= label_smoothing < 1:
        raise ValueError(f"softmax_loss: label_smoothing must be in [0, 1), got {label_smoothing}")
    if xp is np and y.size and (y.min() < 0 or y.max() >= scores.shape[1]):
        # On the GPU this check would stop the device on every step; the data loader validates labels once.
        raise ValueError(f"softmax_loss: labels must lie in 0..{scores.shape[1] - 1}, got values from "
                         f"{y.min()} to {y.max()}")
    N, K = scores.shape
    shifted = scores - scores.max(axis=1, keepdims=True)               # exp never overflows
    log_probs = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
    rows = xp.arange(N)
    loss = -(1 - label_smoothing) * log_probs[rows, y].mean()
    dscores = xp.exp(log_probs)
    dscores[rows, y] -= 1 - label_smoothing
    if label_smoothing:
        loss -= label_smoothing / K * log_probs.sum(axis=1).mean()
        dscores -= label_smoothing / K
    return loss, dscores / N
