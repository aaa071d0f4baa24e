"""The paper's two building blocks as sandwich layers, each a forward/backward pair:

    conv block:   Conv - (SpatialBN) - ReLU - (Dropout) - (MaxPool)
    affine block: Affine - (BN) - ReLU - (Dropout)

A part in parentheses is skipped when its argument is None. The backward passes return the gradients of every
parameter, with None for the batch-norm gradients when the block has no batch norm.

On float32 and float64 numpy arrays (where Numba imports), a block with batch norm runs BN - ReLU - (Dropout) as two
fused Numba passes forward and two backward (kernels/fused.py) instead of a chain of layers, and keeps for the
backward pass only BN's input and a one-byte mask where the chain keeps three arrays of the output's size. The
results are those of the chain up to rounding, with the same running statistics and dropout masks. fused=False runs
the chain, layer by layer: the readable reference, and what cupy arrays and blocks without batch norm run.
"""
import numpy as np

from minicnn import layers
from minicnn.backend import fused_cpu_kernels


def conv_block_forward(x, w, b, conv_param, gamma=None, beta=None, bn_param=None, dropout_param=None,
                       pool_param=None, fused=True):
    """x: (N, C, H, W), w: (F, C, HH, WW), b, gamma, beta: (F,) -> out: (N, F, H', W') (pooled when pool_param).

    Batch norm runs when bn_param is given (then gamma and beta are needed); dropout when dropout_param is given;
    max pooling when pool_param is given. fused: see the module's docstring. cache: what conv_block_backward needs.
    """
    out, conv_cache = layers.conv_forward(x, w, b, conv_param)
    out, middle_cache = _batchnorm_relu_dropout_forward(out, gamma, beta, bn_param, dropout_param, fused,
                                                        layers.spatial_batchnorm_forward,
                                                        layers.spatial_batchnorm_backward)
    pool_cache = None
    if pool_param is not None:
        out, pool_cache = layers.max_pool_forward(out, pool_param)
    return out, (conv_cache, middle_cache, pool_cache)


def conv_block_backward(dout, cache):
    """dout: the block's output shape -> dx: (N, C, H, W), dw, db, dgamma, dbeta (None without batch norm)."""
    conv_cache, middle_cache, pool_cache = cache
    del cache           # its parts are let go one by one below (from Python 3.11; 3.10's caller holds it till return)
    if pool_cache is not None:
        dout = layers.max_pool_backward(dout, pool_cache)
    # After the pooling dout is this block's own array: the middle's gradient may take its memory (one array of the
    # conv's output size less at a training step's peak). The caller's dout is never written.
    dout, dgamma, dbeta = _batchnorm_relu_dropout_backward(dout, middle_cache, overwrite_dout=pool_cache is not None)
    # Batch norm's input, the mask and the pooling's argmax, as big as the conv's output, are needed no more: they go
    # before the conv's backward pass, the busiest moment of a training step, when the caller let go of the cache too
    # (ConvNet pops it from its list).
    del middle_cache, pool_cache
    dx, dw, db = layers.conv_backward(dout, conv_cache)
    return dx, dw, db, dgamma, dbeta


def affine_block_forward(x, w, b, gamma=None, beta=None, bn_param=None, dropout_param=None, fused=True):
    """x: (N, d1, ..., dk), w: (D, M), b, gamma, beta: (M,) -> out: (N, M); cache for affine_block_backward.

    fused: see the module's docstring.
    """
    out, affine_cache = layers.affine_forward(x, w, b)
    out, middle_cache = _batchnorm_relu_dropout_forward(out, gamma, beta, bn_param, dropout_param, fused,
                                                        layers.batchnorm_forward, layers.batchnorm_backward)
    return out, (affine_cache, middle_cache)


def affine_block_backward(dout, cache):
    """dout: (N, M) -> dx: x's shape, dw: (D, M), db: (M,), dgamma, dbeta (None without batch norm)."""
    affine_cache, middle_cache = cache
    dout, dgamma, dbeta = _batchnorm_relu_dropout_backward(dout, middle_cache)
    dx, dw, db = layers.affine_backward(dout, affine_cache)
    return dx, dw, db, dgamma, dbeta


# ------------------------------------------------------------------------------- the middle: (BN) - ReLU - (Dropout)
def _batchnorm_relu_dropout_forward(x, gamma, beta, bn_param, dropout_param, fused, batchnorm_forward,
                                    batchnorm_backward):
    """x: (N, C) or (N, C, H, W) -> out: x's shape; cache, whose first entry names the path taken: 'fused' or 'chain'.

    batchnorm_forward, batchnorm_backward: the batch-norm layer of the chain, flat or spatial.
    """
    if (fused and bn_param is not None and isinstance(x, np.ndarray) and x.dtype in (np.float32, np.float64)
            and fused_cpu_kernels() is not None):
        return _fused_forward(x, gamma, beta, bn_param, dropout_param, batchnorm_forward.__name__)
    bn_cache = dropout_cache = None
    if bn_param is not None:
        x, bn_cache = batchnorm_forward(x, gamma, beta, bn_param)
    out, relu_cache = layers.relu_forward(x)
    if dropout_param is not None:
        out, dropout_cache = layers.dropout_forward(out, dropout_param)
    return out, ("chain", bn_cache, relu_cache, dropout_cache, batchnorm_backward)


def _batchnorm_relu_dropout_backward(dout, cache, overwrite_dout=False):
    """dout: the middle's output shape -> dx: the same shape, dgamma, dbeta (None without batch norm).

    overwrite_dout: the caller needs dout no more; the fused path then writes dx into its memory."""
    if cache[0] == "fused":
        return _fused_backward(dout, cache, overwrite_dout)
    _, bn_cache, relu_cache, dropout_cache, batchnorm_backward = cache
    if dropout_cache is not None:
        dout = layers.dropout_backward(dout, dropout_cache)
    dout = layers.relu_backward(dout, relu_cache)
    if bn_cache is None:
        return dout, None, None
    return batchnorm_backward(dout, bn_cache)


def _fused_forward(x, gamma, beta, bn_param, dropout_param, function):
    """The chain's forward pass in two Numba passes over x (one in test mode): the batch's channel statistics, then
    the output and the mask of the units that passed ReLU and dropout."""
    fused = fused_cpu_kernels()
    mode, eps, momentum = layers.batchnorm_settings(x, gamma, beta, bn_param, function)
    p, seed = layers.dropout_settings(dropout_param) if dropout_param is not None else (0, None)
    if mode == "train":
        mean, var = (statistic.astype(x.dtype) for statistic in fused.channel_mean_variance(x))
        layers.update_running_statistics(bn_param, mean, var, momentum)
    else:
        mean, var = bn_param["running_mean"], bn_param["running_var"]
    mean, inv_std = mean.astype(x.dtype, copy=False), (1 / np.sqrt(var + eps)).astype(x.dtype)
    gamma, beta = gamma.astype(x.dtype, copy=False), beta.astype(x.dtype, copy=False)
    out, passed = fused.batchnorm_relu_dropout_forward(x, mean, inv_std, gamma, beta, p, seed)
    # x, not x_hat: both backward passes recompute x_hat from x.
    return out, ("fused", mode, x, passed, mean, inv_std, gamma, p)


def _fused_backward(dout, cache, overwrite_dout):
    fused = fused_cpu_kernels()
    _, mode, x, passed, mean, inv_std, gamma, p = cache
    return fused.batchnorm_relu_dropout_backward(dout, x, passed, mean, inv_std, gamma, p,
                                                 batch_statistics=mode == "train", overwrite_dout=overwrite_dout)
