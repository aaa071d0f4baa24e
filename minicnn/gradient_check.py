"""Numerical gradients by centred differences, to check every hand-written backward pass."""
import numpy as np


# A centred difference in float64 is off by about 1e-10 of the gradient's scale (round-off eps * |f| / h, plus a
# truncation error of h**2 / 6 times the third derivative); a wrong backward pass (a dropped term, a transposed
# axis, a flipped kernel) is off by 1e-2 of it or more (tests/test_gradients.py breaks each layer on purpose and
# shows it). This bound lies between the two, with a wide margin to either side: it holds on every BLAS and still
# catches every such bug.
GRADIENT_TOLERANCE = 1e-7

# Below this both gradients are round-off noise: the gradient is zero in theory (a bias followed by batch norm).
ZERO_GRADIENT = 1e-7


def rel_error(x, y):
    """The largest elementwise relative error max |x - y| / max(1e-8, |x| + |y|); near 1e-7 or below means equal.

    cs231n's measure, for two computations of the same values. To compare gradients use gradient_error.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def gradient_error(analytic, numerical):
    """The largest difference between two gradients, measured against the largest entry of either:
    max |analytic - numerical| / max(max |analytic|, max |numerical|). analytic, numerical: the same shape.

    Why not entry by entry (rel_error): the error of a centred difference is absolute, about the same for every
    entry. An entry that sums many terms of both signs (a conv weight's gradient sums over the batch and every
    position) can cancel to almost zero, and its own relative error then reaches 1e-6; which entries cancel that far
    depends on the order in which the BLAS adds, so an entrywise bound passes on one CPU and fails on another.
    Against the scale of the whole gradient the error stays near 1e-10 on every BLAS. A gradient that is zero in
    theory (both sides below ZERO_GRADIENT) has no scale: there the largest absolute difference is returned.
    """
    analytic = np.asarray(analytic, dtype=np.float64)
    numerical = np.asarray(numerical, dtype=np.float64)
    difference = float(np.max(np.abs(analytic - numerical)))
    scale = max(float(np.max(np.abs(analytic))), float(np.max(np.abs(numerical))))
    return difference if scale < ZERO_GRADIENT else difference / scale


def _centred_difference(f, x, index, h):
    """(f(x + h e) - f(x - h e)) / (2h) for the unit vector e at index; x is changed in place and restored."""
    original = x[index]
    x[index] = original + h
    f_plus = np.array(f(x), copy=True)          # a copy: f may return a buffer it overwrites on the next call
    x[index] = original - h
    f_minus = np.array(f(x), copy=True)
    x[index] = original
    return (f_plus - f_minus) / (2 * h)


def eval_numerical_gradient(f, x, h=1e-5):
    """Gradient of a scalar function f at x by centred differences; x is changed in place and restored.

    f: callable taking x and returning a float; x: array of any shape -> grad: x's shape.
    """
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        grad[index] = _centred_difference(f, x, index, h)
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Gradient of sum(f(x) * df) at x, for an array-valued f whose upstream gradient is df.

    f: callable taking x and returning an array of df's shape; x: any shape -> grad: x's shape.
    """
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        grad[index] = np.sum(_centred_difference(f, x, index, h) * df)
    return grad


def grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5, seed=0):
    """Compare analytic_grad with centred differences at num_checks random entries of x.

    f: scalar function of x; x, analytic_grad: the same shape. Prints and returns the relative errors (num_checks,).
    """
    rng = np.random.default_rng(seed)
    errors = []
    for _ in range(num_checks):
        index = tuple(int(rng.integers(size)) for size in x.shape)
        numerical = float(_centred_difference(f, x, index, h))
        errors.append(rel_error(numerical, analytic_grad[index]))
        print(f"numerical: {numerical:+.6e} analytic: {float(analytic_grad[index]):+.6e} "
              f"relative error: {errors[-1]:.2e}")
    return np.array(errors)
