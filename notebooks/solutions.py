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
