"""Numeric gradient checks of every backward pass, on small float64 inputs.

Shared by the test suite (which asserts the errors) and examples/sanity_checks.py (which prints them). Each check
returns {gradient name: gradient_error of the analytic against the numerical gradient}, to be held under
minicnn.gradient_check.GRADIENT_TOLERANCE.
"""
import numpy as np

from minicnn import layer_utils, layers
from minicnn.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array, gradient_error


def check_backward(forward, backward, inputs, names, rng):
    """Check backward(dout, cache) against centred differences of sum(forward(*inputs) * dout) for each input."""
    out, cache = forward(*inputs)
    dout = rng.standard_normal(out.shape)
    analytic = backward(dout, cache)
    analytic = analytic if isinstance(analytic, tuple) else (analytic,)
    errors = {}
    for position, name in enumerate(names):
        def output_of(value, position=position):
            changed = list(inputs)
            changed[position] = value
            return forward(*changed)[0]
        numerical = eval_numerical_gradient_array(output_of, inputs[position], dout)
        errors[name] = gradient_error(analytic[position], numerical)
    return errors


def check_affine(rng):
    x, w, b = rng.standard_normal((3, 2, 5)), rng.standard_normal((10, 4)), rng.standard_normal(4)
    return check_backward(layers.affine_forward, layers.affine_backward, (x, w, b), ("dx", "dw", "db"), rng)


def check_relu(rng):
    x = rng.standard_normal((4, 7))
    x[np.abs(x) < 1e-3] = 0.5                     # keep clear of the kink, where differences are not derivatives
    return check_backward(layers.relu_forward, layers.relu_backward, (x,), ("dx",), rng)


def check_conv(rng, stride=2, pad=1, algorithm="im2col", filter_size=3):
    x, w = rng.standard_normal((2, 3, 7, 5)), rng.standard_normal((4, 3, filter_size, filter_size))
    b = rng.standard_normal(4)
    conv_param = {"stride": stride, "pad": pad, "algorithm": algorithm}
    return check_backward(lambda x, w, b: layers.conv_forward(x, w, b, conv_param), layers.conv_backward,
                    (x, w, b), ("dx", "dw", "db"), rng)


def check_max_pool(rng, pool_param=None):
    pool_param = pool_param or {"pool_height": 2, "pool_width": 2, "stride": 2}
    x = rng.permutation(2 * 3 * 6 * 8).reshape(2, 3, 6, 8) / 10.0   # distinct values: no ties, no kinks
    return check_backward(lambda x: layers.max_pool_forward(x, pool_param), layers.max_pool_backward, (x,), ("dx",),
                          rng)


def check_batchnorm(rng):
    x = 4 * rng.standard_normal((6, 5)) + 2
    gamma, beta = rng.standard_normal(5), rng.standard_normal(5)
    forward = lambda x, gamma, beta: layers.batchnorm_forward(x, gamma, beta, {"mode": "train"})  # noqa: E731
    return check_backward(forward, layers.batchnorm_backward, (x, gamma, beta), ("dx", "dgamma", "dbeta"), rng)


def check_spatial_batchnorm(rng):
    x = 4 * rng.standard_normal((3, 4, 5, 3)) + 2
    gamma, beta = rng.standard_normal(4), rng.standard_normal(4)
    forward = lambda x, gamma, beta: layers.spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})  # noqa: E731
    return check_backward(forward, layers.spatial_batchnorm_backward, (x, gamma, beta), ("dx", "dgamma", "dbeta"), rng)


def check_dropout(rng):
    x = rng.standard_normal((5, 9))
    dropout_param = {"p": 0.3, "mode": "train", "seed": 123}    # a fixed seed draws the same mask every call
    return check_backward(lambda x: layers.dropout_forward(x, dropout_param), layers.dropout_backward, (x,), ("dx",),
                          rng)


def check_softmax_loss(rng, label_smoothing=0.0):
    scores, y = rng.standard_normal((6, 7)), rng.integers(0, 7, size=6)
    _, dscores = layers.softmax_loss(scores, y, label_smoothing)
    numerical = eval_numerical_gradient(lambda scores: layers.softmax_loss(scores, y, label_smoothing)[0], scores)
    return {"dscores": gradient_error(dscores, numerical)}


def check_conv_block(rng, fused=True):
    """fused: as layer_utils' fused argument (True: the fused Numba passes on these numpy inputs; False: the chain)."""
    x = rng.standard_normal((2, 3, 6, 6))
    w, b = rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    gamma, beta = rng.standard_normal(4), rng.standard_normal(4)
    parts = dict(conv_param={"stride": 1, "pad": 1}, bn_param={"mode": "train"},
                 dropout_param={"p": 0.25, "mode": "train", "seed": 7},
                 pool_param={"pool_height": 2, "pool_width": 2, "stride": 2})

    def forward(x, w, b, gamma, beta):
        return layer_utils.conv_block_forward(x, w, b, gamma=gamma, beta=beta, fused=fused, **parts)
    return check_backward(forward, layer_utils.conv_block_backward, (x, w, b, gamma, beta),
                    ("dx", "dw", "db", "dgamma", "dbeta"), rng)


def check_affine_block(rng, fused=True):
    """fused: as in check_conv_block."""
    x = rng.standard_normal((5, 2, 3))
    w, b = rng.standard_normal((6, 4)), rng.standard_normal(4)
    gamma, beta = rng.standard_normal(4), rng.standard_normal(4)

    def forward(x, w, b, gamma, beta):
        return layer_utils.affine_block_forward(x, w, b, gamma, beta, bn_param={"mode": "train"},
                                                dropout_param={"p": 0.4, "mode": "train", "seed": 3}, fused=fused)
    return check_backward(forward, layer_utils.affine_block_backward, (x, w, b, gamma, beta),
                    ("dx", "dw", "db", "dgamma", "dbeta"), rng)


LAYER_CHECKS = {
    "affine": check_affine,
    "relu": check_relu,
    "conv (stride 2, pad 1)": check_conv,
    "conv (stride 1, pad 0)": lambda rng: check_conv(rng, stride=1, pad=0),
    "conv by Winograd (stride 1, pad 1)": lambda rng: check_conv(rng, stride=1, pad=1, algorithm="winograd"),
    "conv 5x5 by Winograd (stride 1, pad 2)": lambda rng: check_conv(rng, stride=1, pad=2, algorithm="winograd",
                                                                     filter_size=5),
    "max pool 2x2 stride 2": check_max_pool,
    "max pool 3x3 stride 1": lambda rng: check_max_pool(rng, {"pool_height": 3, "pool_width": 3, "stride": 1}),
    "batchnorm": check_batchnorm,
    "spatial batchnorm": check_spatial_batchnorm,
    "dropout": check_dropout,
    "softmax loss": check_softmax_loss,
    "softmax loss with label smoothing 0.1": lambda rng: check_softmax_loss(rng, label_smoothing=0.1),
    "conv block": check_conv_block,
    "conv block (layer chain)": lambda rng: check_conv_block(rng, fused=False),
    "affine block": check_affine_block,
    "affine block (layer chain)": lambda rng: check_affine_block(rng, fused=False),
}


def run_layer_checks(seed=0):
    """Run every check with its own seeded generator -> {check name: {gradient name: gradient_error}}."""
    return {name: check(np.random.default_rng(seed)) for name, check in LAYER_CHECKS.items()}
