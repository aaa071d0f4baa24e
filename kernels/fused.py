"""Numba kernels that fuse memory-bound passes on the CPU: batch norm + ReLU + dropout, and the Adam update.

Written as a chain of NumPy layers, batch norm, ReLU and dropout read and write an array as big as a conv layer's
output some ten times forward and as often backward, and Adam makes a dozen passes over each parameter. Here each is
done in as few passes as the arithmetic allows:

  forward:   one pass sums each channel (for the batch mean and variance), one pass writes the output;
  backward:  one pass applies the dropout and ReLU masks and sums each channel (dbeta, dgamma), one pass writes dx;
  Adam:      one pass updates m, v and w together.

Kept for the backward pass are batch norm's input x (x_hat is recomputed from it) and a one-byte mask of the units
that passed ReLU and dropout, where the chain keeps x_hat, the ReLU input and the dropout mask, all as big as x. The
dropout mask is drawn with the hash of kernels/cpu.py, so it is that of kernels.cpu.dropout_forward bit for bit. The
arithmetic follows minicnn.layers and solver/optim.py operation by operation and in x's dtype, so a float32 network
stays float32; only the channel sums are accumulated in float64.

Arrays are seen as (N, C, S): C channels of S values per sample, S = H * W for spatial batch norm and 1 for the flat
batch norm of an affine layer. A parallel task owns whole channels, so no two tasks write the same sum; when S is small
a task takes several neighbouring channels, so that its inner loop still reads memory in order.
"""
import numba
import numpy as np

from minicnn.kernels import checks
from minicnn.kernels.cpu import _splitmix64_uniform

_jit = numba.njit(parallel=True, cache=True, fastmath=False)
# For the kernels that sum channels: "reassoc" lets LLVM add a sum in several vector lanes at once instead of one long
# chain of dependent additions (about 2.5 times faster here). Only the order of the float64 additions changes, still
# the same from run to run on a machine; those kernels' elementwise arithmetic gives the same values either way.
_jit_sums = numba.njit(parallel=True, cache=True, fastmath={"reassoc"})

_VALUES_PER_TASK_ROW = 64      # a task's inner loop covers at least this many neighbouring values of a sample


def _channels_per_task(values_per_channel):
    return max(1, -(-_VALUES_PER_TASK_ROW // values_per_channel))


@_jit_sums
def _channel_sums(x, shift, sums, squares, channels_per_task):
    N, C, S = x.shape
    for task in numba.prange(-(-C // channels_per_task)):
        for n in range(N):
            for c in range(task * channels_per_task, min(C, (task + 1) * channels_per_task)):
                total = total_square = 0.0
                for s in range(S):
                    deviation = np.float64(x[n, c, s]) - shift[c]
                    total += deviation
                    total_square += deviation * deviation
                sums[c] += total
                squares[c] += total_square
    return sums, squares


@_jit
def _normalise_relu_dropout(x, mean, inv_std, gamma, beta, p, scale, seed, out, passed, channels_per_task):
    N, C, S = x.shape
    zero = scale - scale          # a zero of out's dtype: with a literal 0 the select would be float64
    for task in numba.prange(-(-C // channels_per_task)):
        for n in range(N):
            for c in range(task * channels_per_task, min(C, (task + 1) * channels_per_task)):
                first = (n * C + c) * S                  # the flat index over (N, C, S) that dropout hashes
                for s in range(S):
                    y = (x[n, c, s] - mean[c]) * inv_std[c] * gamma[c] + beta[c]
                    # `&` and a select, not `and` and branches: y > 0 is a coin flip that no branch predictor guesses.
                    keep = y > 0
                    if p > 0:
                        keep = keep & (_splitmix64_uniform(seed, first + s) >= p)
                    passed[n, c, s] = keep
                    out[n, c, s] = y * scale if keep else zero
    return out, passed


@_jit_sums
def _masked_gradient_sums(dout, x, passed, mean, inv_std, scale, masked, sums, products, channels_per_task):
    N, C, S = x.shape
    for task in numba.prange(-(-C // channels_per_task)):
        for n in range(N):
            for c in range(task * channels_per_task, min(C, (task + 1) * channels_per_task)):
                total = total_product = 0.0
                for s in range(S):
                    # A product with the mask, not a select on it, so that the loop has no branch.
                    masked[n, c, s] = dout[n, c, s] * (scale * passed[n, c, s])
                    gradient = masked[n, c, s]              # read back: summed as stored, in dout's dtype
                    total += gradient
                    total_product += np.float64(gradient) * ((x[n, c, s] - mean[c]) * inv_std[c])
                sums[c] += total
                products[c] += total_product
    return masked, sums, products


@_jit
def _batchnorm_dx(masked, x, mean, inv_std, gamma_inv_std, mean_gradient, mean_product, dx, channels_per_task):
    N, C, S = x.shape
    for task in numba.prange(-(-C // channels_per_task)):
        for n in range(N):
            for c in range(task * channels_per_task, min(C, (task + 1) * channels_per_task)):
                for s in range(S):
                    x_hat = (x[n, c, s] - mean[c]) * inv_std[c]
                    dx[n, c, s] = gamma_inv_std[c] * (masked[n, c, s] - mean_gradient[c] - x_hat * mean_product[c])
    return dx


@_jit
def _adam(w, dw, m, v, beta1, one_minus_beta1, beta2, one_minus_beta2, second_correction, epsilon, step_size):
    for i in numba.prange(w.size):
        m[i] = m[i] * beta1 + dw[i] * one_minus_beta1
        v[i] = v[i] * beta2 + dw[i] * dw[i] * one_minus_beta2
        w[i] -= m[i] / (np.sqrt(v[i] / second_correction) + epsilon) * step_size
    return w


def _as_channels(x):
    """x: (N, C, ...) -> a contiguous (N, C, S) view (a copy only when x is not contiguous)."""
    return np.ascontiguousarray(x).reshape(x.shape[0], x.shape[1], -1)


def channel_mean_variance(x):
    """x: (N, C, ...) -> mean, var: (C,) float64, over every axis but the channels; var is the biased variance.

    One pass: the sums of (x - shift) and of its square, shift being each channel's first value. Without the shift,
    E[x^2] - E[x]^2 would cancel catastrophically for a channel whose mean is large against its spread.
    """
    x = _as_channels(x)
    N, C, S = x.shape
    shift = x[0, :, 0].astype(np.float64)
    sums, squares = _channel_sums(x, shift, np.zeros(C), np.zeros(C), _channels_per_task(S))
    count = N * S
    shifted_mean = sums / count
    return shift + shifted_mean, np.maximum(squares / count - shifted_mean ** 2, 0.0)


def _dropout_seed(x, p, seed):
    """The seed as a uint64, checked as kernels.cpu.dropout_forward checks it; 0 (unused) when p = 0."""
    return np.uint64(checks.dropout_seed(x, p, seed)) if p > 0 else np.uint64(0)


def _dropout_scale(x, p):
    """1 / (1 - p) in x's dtype, as the mask of kernels.cpu.dropout_forward holds it."""
    return x.dtype.type(1.0 / (1.0 - p))


def batchnorm_relu_dropout_forward(x, mean, inv_std, gamma, beta, p=0.0, seed=None):
    """out = dropout(relu((x - mean) * inv_std * gamma + beta)), one pass.

    x: (N, C, ...); mean, inv_std, gamma, beta: (C,) in x's dtype; p: probability of dropping (0: no dropout);
    seed: the dropout seed, element i of x (flat, row-major) dropped when splitmix64_uniform(seed, i) < p as in
    kernels.cpu.dropout_forward. -> out: x's shape; passed: x's shape, bool, True where a unit passed both ReLU and
    dropout: all the backward pass needs of them, in a quarter of a float32 array. (Recomputing the dropout mask from
    the seed instead would cost more than reading it back: the hash takes longer than a pass over memory.)
    """
    shape, x = x.shape, _as_channels(x)
    out, passed = np.empty_like(x), np.empty(x.shape, dtype=np.uint8)
    _normalise_relu_dropout(x, mean, inv_std, gamma, beta, float(p), _dropout_scale(x, p), _dropout_seed(x, p, seed),
                            out, passed, _channels_per_task(x.shape[2]))
    return out.reshape(shape), passed.view(np.bool_).reshape(shape)


def batchnorm_relu_dropout_backward(dout, x, passed, mean, inv_std, gamma, p=0.0, batch_statistics=True,
                                    overwrite_dout=False):
    """The gradients of batchnorm_relu_dropout_forward, two passes.

    dout, x, passed: (N, C, ...), passed as the forward pass returned it; mean, inv_std, gamma, p as given to it;
    batch_statistics: True when mean and inv_std were the batch's own (training), so that the gradient also flows
    through them (the closed form of minicnn.layers' batch-norm backward), False for fixed running statistics (test
    mode); overwrite_dout: True when the caller needs dout no more, so that dx may take its memory (it does when dout
    is C-contiguous in x's dtype: each pass reads an element before it writes it).
    -> dx: x's shape, dgamma, dbeta: (C,), all in x's dtype.
    """
    contiguous = dout.flags.c_contiguous and dout.dtype == x.dtype
    shape, x, dout = x.shape, _as_channels(x), _as_channels(dout).astype(x.dtype, copy=False)
    passed = _as_channels(passed).view(np.uint8)   # the kernel multiplies by it: Numba would branch on a bool
    N, C, S = x.shape
    channels_per_task = _channels_per_task(S)
    # The first pass leaves the gradient through dropout and ReLU in dx's buffer; the second overwrites it in place.
    dx = dout if overwrite_dout and contiguous else np.empty_like(x)
    _, sums, products = _masked_gradient_sums(dout, x, passed, mean, inv_std, _dropout_scale(x, p), dx, np.zeros(C),
                                              np.zeros(C), channels_per_task)
    dbeta, dgamma = sums.astype(x.dtype), products.astype(x.dtype)
    count = N * S
    mean_gradient, mean_product = ((dbeta / count, dgamma / count) if batch_statistics
                                   else (np.zeros_like(dbeta), np.zeros_like(dgamma)))
    _batchnorm_dx(dx, x, mean, inv_std, gamma * inv_std, mean_gradient, mean_product, dx, channels_per_task)
    return dx.reshape(shape), dgamma, dbeta


def adam_update(w, dw, m, v, learning_rate, beta1, beta2, epsilon, t):
    """One Adam step in one pass, w, m and v updated in place, every operation in w's dtype as solver/optim.adam.

    w, m, v: C-contiguous numpy arrays of one float dtype and shape; dw: w's shape and dtype; t: the step count, from 1.
    """
    constant = w.dtype.type
    flat_dw = np.ascontiguousarray(dw).reshape(-1)
    _adam(w.reshape(-1), flat_dw, m.reshape(-1), v.reshape(-1), constant(beta1), constant(1.0 - beta1),
          constant(beta2), constant(1.0 - beta2), constant(1.0 - beta2 ** t), constant(epsilon),
          constant(learning_rate / (1.0 - beta1 ** t)))
    return w
