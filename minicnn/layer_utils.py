"""The paper's two building blocks as sandwich layers, each a forward/backward pair:

    conv block:   Conv - (SpatialBN) - ReLU - (Dropout) - (MaxPool)
    affine block: Affine - (BN) - ReLU - (Dropout)

A part in parentheses is skipped when its argument is None. The backward passes return the gradients of every
parameter, with None for the batch-norm gradients when the block has no batch norm.
"""
from minicnn import layers


def conv_block_forward(x, w, b, conv_param, gamma=None, beta=None, bn_param=None, dropout_param=None,
                       pool_param=None):
    """x: (N, C, H, W), w: (F, C, HH, WW), b, gamma, beta: (F,) -> out: (N, F, H', W') (pooled when pool_param).

    Batch norm runs when bn_param is given (then gamma and beta are needed); dropout when dropout_param is given;
    max pooling when pool_param is given. cache: what conv_block_backward needs.
    """
    out, conv_cache = layers.conv_forward(x, w, b, conv_param)
    bn_cache = dropout_cache = pool_cache = None
    if bn_param is not None:
        out, bn_cache = layers.spatial_batchnorm_forward(out, gamma, beta, bn_param)
    out, relu_cache = layers.relu_forward(out)
    if dropout_param is not None:
        out, dropout_cache = layers.dropout_forward(out, dropout_param)
    if pool_param is not None:
        out, pool_cache = layers.max_pool_forward(out, pool_param)
    return out, (conv_cache, bn_cache, relu_cache, dropout_cache, pool_cache)


def conv_block_backward(dout, cache):
    """dout: the block's output shape -> dx: (N, C, H, W), dw, db, dgamma, dbeta (None without batch norm)."""
    conv_cache, bn_cache, relu_cache, dropout_cache, pool_cache = cache
    if pool_cache is not None:
        dout = layers.max_pool_backward(dout, pool_cache)
    if dropout_cache is not None:
        dout = layers.dropout_backward(dout, dropout_cache)
    dout = layers.relu_backward(dout, relu_cache)
    dgamma = dbeta = None
    if bn_cache is not None:
        dout, dgamma, dbeta = layers.spatial_batchnorm_backward(dout, bn_cache)
    dx, dw, db = layers.conv_backward(dout, conv_cache)
    return dx, dw, db, dgamma, dbeta


def affine_block_forward(x, w, b, gamma=None, beta=None, bn_param=None, dropout_param=None):
    """x: (N, d1, ..., dk), w: (D, M), b, gamma, beta: (M,) -> out: (N, M); cache for affine_block_backward."""
    out, affine_cache = layers.affine_forward(x, w, b)
    bn_cache = dropout_cache = None
    if bn_param is not None:
        out, bn_cache = layers.batchnorm_forward(out, gamma, beta, bn_param)
    out, relu_cache = layers.relu_forward(out)
    if dropout_param is not None:
        out, dropout_cache = layers.dropout_forward(out, dropout_param)
    return out, (affine_cache, bn_cache, relu_cache, dropout_cache)


def affine_block_backward(dout, cache):
    """dout: (N, M) -> dx: x's shape, dw: (D, M), db: (M,), dgamma, dbeta (None without batch norm)."""
    affine_cache, bn_cache, relu_cache, dropout_cache = cache
    if dropout_cache is not None:
        dout = layers.dropout_backward(dout, dropout_cache)
    dout = layers.relu_backward(dout, relu_cache)
    dgamma = dbeta = None
    if bn_cache is not None:
        dout, dgamma, dbeta = layers.batchnorm_backward(dout, bn_cache)
    dx, dw, db = layers.affine_backward(dout, affine_cache)
    return dx, dw, db, dgamma, dbeta
