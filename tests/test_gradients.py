"""Numeric gradient checks in float64 of every backward pass and of both sandwich blocks, and proof that the checks
catch a backward pass broken on purpose."""
import numpy as np
import pytest

from minicnn import layers, winograd
from minicnn.gradient_check import GRADIENT_TOLERANCE, gradient_error
from minicnn.layer_checks import LAYER_CHECKS


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", list(LAYER_CHECKS))
def test_gradient_matches_numerical(name, seed):
    errors = LAYER_CHECKS[name](np.random.default_rng(seed))
    print(name, {gradient: f"{error:.2e}" for gradient, error in errors.items()})
    for gradient, error in errors.items():
        assert error < GRADIENT_TOLERANCE, f"{name}: {gradient} error {error:.2e} of the gradient's scale"


# ------------------------------------------------------------------------------------ backward passes broken on purpose
# Each is a bug a student writes: a term dropped, an axis transposed, a kernel flipped, a scale forgotten. The
# checks above must fail on every one of them, and by far more than the bound's margin.

def affine_dx_with_transposed_axes(dout, cache):
    x, w, _ = cache
    dx, dw, db = CORRECT["affine_backward"](dout, cache)
    N, *rest = x.shape
    return (dout @ w.T).reshape(N, *rest[::-1]).transpose(0, *range(len(rest), 0, -1)), dw, db


def relu_without_its_mask(dout, cache):
    return dout


def conv_dw_with_flipped_kernel(dout, cache):
    dx, dw, db = CORRECT["conv_backward"](dout, cache)
    return dx, dw[:, :, ::-1, ::-1], db


def max_pool_to_the_window_corner(dout, cache):
    x_shape, argmax, pool_height, pool_width, stride = cache
    W = x_shape[3]
    out_rows, out_columns = np.indices(argmax.shape[2:])
    corners = (out_rows * stride * W + out_columns * stride).astype(argmax.dtype)
    return CORRECT["max_pool_backward"](dout, (x_shape, np.broadcast_to(corners, argmax.shape).copy(), pool_height,
                                               pool_width, stride))


def batchnorm_without_the_variance_term(dout, cache):
    """The x_hat * mean(dout * x_hat) term, the gradient through the batch variance, left out."""
    _, x_hat, gamma, inv_std, axes, broadcast = cache
    dx, dgamma, dbeta = CORRECT["batchnorm_backward"](dout, cache)
    count = dout.size // dbeta.size
    return dx + (gamma * inv_std).reshape(broadcast) * x_hat * (dgamma / count).reshape(broadcast), dgamma, dbeta


def dropout_without_the_scaling(dout, cache):
    _, mask = cache
    return dout * (mask != 0)


def softmax_loss_without_the_mean(scores, y, label_smoothing=0.0):
    loss, dscores = CORRECT["softmax_loss"](scores, y, label_smoothing)
    return loss, dscores * scores.shape[0]


def label_smoothing_left_out_of_the_gradient(scores, y, label_smoothing=0.0):
    loss, _ = CORRECT["softmax_loss"](scores, y, label_smoothing)
    return loss, CORRECT["softmax_loss"](scores, y)[1]


CORRECT = {name: getattr(layers, name) for name in (
    "affine_backward", "conv_backward", "max_pool_backward", "batchnorm_backward", "softmax_loss")}
BROKEN = [  # (check, the layers function replaced, its broken version)
    ("affine", "affine_backward", affine_dx_with_transposed_axes),
    ("relu", "relu_backward", relu_without_its_mask),
    ("conv (stride 1, pad 0)", "conv_backward", conv_dw_with_flipped_kernel),
    ("max pool 2x2 stride 2", "max_pool_backward", max_pool_to_the_window_corner),
    ("max pool 3x3 stride 1", "max_pool_backward", max_pool_to_the_window_corner),
    ("batchnorm", "batchnorm_backward", batchnorm_without_the_variance_term),
    ("spatial batchnorm", "spatial_batchnorm_backward", batchnorm_without_the_variance_term),
    ("dropout", "dropout_backward", dropout_without_the_scaling),
    ("softmax loss", "softmax_loss", softmax_loss_without_the_mean),
    ("softmax loss with label smoothing 0.1", "softmax_loss", label_smoothing_left_out_of_the_gradient),
    ("conv block", "conv_backward", conv_dw_with_flipped_kernel),
    # The blocks' fused batch norm (kernels/fused.py) is broken on purpose in test_fused.py.
    ("conv block (layer chain)", "spatial_batchnorm_backward", batchnorm_without_the_variance_term),
    ("affine block (layer chain)", "batchnorm_backward", batchnorm_without_the_variance_term),
]


@pytest.mark.parametrize("check, function, broken", BROKEN, ids=[f"{c}: {b.__name__}" for c, _, b in BROKEN])
def test_a_broken_backward_pass_fails_its_check(check, function, broken, monkeypatch):
    monkeypatch.setattr(layers, function, broken)
    errors = LAYER_CHECKS[check](np.random.default_rng(0))
    print(check, broken.__name__, {gradient: f"{error:.2e}" for gradient, error in errors.items()})
    assert max(errors.values()) > 1e5 * GRADIENT_TOLERANCE      # fails by a wide margin, not by luck


CORRECT_WINOGRAD_BACKWARD = winograd.winograd_backward


def winograd_input_gradient_without_the_flip(x, dout, w, pad, tile=2, U=None, dx=None):
    """dx as the correlation of dout with the filters transposed but not flipped; dw right."""
    dx = winograd.winograd_conv(dout, np.ascontiguousarray(w.transpose(1, 0, 2, 3)), w.shape[2] - 1 - pad, tile,
                                out=dx)
    return dx, CORRECT_WINOGRAD_BACKWARD(x, dout, w, pad, tile, U)[1]


def winograd_filter_gradient_with_swapped_taps(x, dout, w, pad, tile=2, U=None, dx=None):
    """dw with each filter's rows and columns swapped; dx right."""
    dx, dw = CORRECT_WINOGRAD_BACKWARD(x, dout, w, pad, tile, U, dx)
    return dx, dw.transpose(0, 1, 3, 2)


WINOGRAD_CHECKS = ["conv by Winograd (stride 1, pad 1)", "conv 5x5 by Winograd (stride 1, pad 2)"]
BROKEN_WINOGRAD = [("dx", winograd_input_gradient_without_the_flip), ("dw", winograd_filter_gradient_with_swapped_taps)]


@pytest.mark.parametrize("gradient, broken", BROKEN_WINOGRAD, ids=[broken.__name__ for _, broken in BROKEN_WINOGRAD])
@pytest.mark.parametrize("check", WINOGRAD_CHECKS)
def test_a_broken_winograd_backward_pass_fails_the_conv_check(check, gradient, broken, monkeypatch):
    assert max(LAYER_CHECKS[check](np.random.default_rng(0)).values()) < GRADIENT_TOLERANCE
    monkeypatch.setattr(winograd, "winograd_backward", broken)
    errors = LAYER_CHECKS[check](np.random.default_rng(0))
    print(check, {name: f"{error:.2e}" for name, error in errors.items()})
    right = {"dx": "dw", "dw": "dx"}[gradient]
    assert errors[gradient] > 1e5 * GRADIENT_TOLERANCE and errors[right] < GRADIENT_TOLERANCE


def test_gradient_error_is_measured_against_the_whole_gradient():
    # An entry that cancelled to almost nothing keeps the absolute error of its neighbours: against its own size
    # it would look wrong, against the gradient's scale it is as good as the rest.
    analytic = np.array([1.0, -2.0, 3e-9])
    numerical = analytic + 1e-10
    assert gradient_error(analytic, numerical) == pytest.approx(1e-10 / 2.0)
    assert gradient_error(analytic, analytic * [1, 1, -1]) == pytest.approx(6e-9 / 2.0)
    # A gradient that is zero in theory is compared by its absolute difference: both sides are round-off.
    assert gradient_error(np.zeros(3), np.full(3, 1e-11)) == pytest.approx(1e-11)


def test_sparse_gradient_check_agrees_with_a_known_gradient():
    from minicnn.gradient_check import grad_check_sparse
    x = np.random.default_rng(0).standard_normal((4, 5))
    errors = grad_check_sparse(lambda x: float(np.sum(x ** 3)), x, 3 * x ** 2, num_checks=5)
    assert errors.shape == (5,) and errors.max() < 1e-7
    assert grad_check_sparse(lambda x: float(np.sum(x ** 3)), x, 2 * x ** 2, num_checks=5).max() > 1e-2
