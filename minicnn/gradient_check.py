"""Numerical gradients by centred differences, to check every hand-written backward pass."""
import numpy as np


def rel_error(x, y):
    """The largest elementwise relative error max |x - y| / max(1e-8, |x| + |y|); near 1e-7 or below means equal."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def gradient_error(analytic, numerical):
    """rel_error, except for a gradient that is zero in theory (a bias followed by batch norm): there both sides
    are round-off noise, whose relative error means nothing, so the largest absolute difference is returned."""
    if np.max(np.abs(numerical)) < 1e-7 and np.max(np.abs(analytic)) < 1e-7:
        return float(np.max(np.abs(np.asarray(analytic) - np.asarray(numerical))))
    return rel_error(analytic, numerical)


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
