"""First-order update rules, cs231n style: every rule is `update(w, dw, config=None) -> (next_w, config)`.

w:      a parameter array (numpy or cupy), any shape.
dw:     the gradient of the loss with respect to w, same shape.
config: a dict of hyper-parameters and optimizer state (moving averages, step count). Missing keys are filled with
        the defaults listed in each rule, and state arrays are created on w's device with w's dtype on the first
        call. The same dict is returned, updated, and must be passed back in on the next call for this w.

The rules update w and their state arrays in place, so the returned next_w is w itself: a network with millions of
weights then needs no second copy of them per step. Hyper-parameters are turned into Python floats before use,
because a Python float keeps a float32 array float32, whereas a numpy float64 scalar would promote every temporary
to float64 (NumPy 2 promotion rules).
"""
import numpy as np

from minicnn.backend import fused_cpu_kernels, get_array_module


def _fill_defaults(config, **defaults):
    """config (a new dict when None) with every missing key set to its default."""
    if config is None:
        config = {}
    for key, value in defaults.items():
        config.setdefault(key, value)
    return config


def _state_array(config, key, w):
    """config[key], created as zeros shaped and typed like w (and on w's device) on the first call."""
    if key not in config:
        config[key] = get_array_module(w).zeros_like(w)
    return config[key]


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent: w <- w - learning_rate * dw.

    config: learning_rate (default 1e-2).
    """
    config = _fill_defaults(config, learning_rate=1e-2)
    w -= float(config["learning_rate"]) * dw
    return w, config


def sgd_momentum(w, dw, config=None):
    """SGD with momentum: v <- momentum * v - learning_rate * dw; w <- w + v.

    The velocity v is a running sum of past steps that decays by `momentum` each step, so the update keeps moving
    along directions where successive gradients agree and cancels out where they oscillate.
    With nesterov=True, Nesterov's accelerated gradient in the form of Sutskever et al. (2013):
    w <- w + momentum * v - learning_rate * dw, the velocity step taken from the point the momentum is about to carry
    w to, which corrects an overshoot one step sooner.
    config: learning_rate (default 1e-2), momentum (default 0.9), nesterov (default False), velocity (state, shaped
            like w).
    """
    config = _fill_defaults(config, learning_rate=1e-2, momentum=0.9, nesterov=False)
    velocity = _state_array(config, "velocity", w)
    momentum, learning_rate = float(config["momentum"]), float(config["learning_rate"])
    velocity *= momentum
    velocity -= learning_rate * dw
    if config["nesterov"]:
        w += momentum * velocity
        w -= learning_rate * dw
    else:
        w += velocity
    return w, config


def rmsprop(w, dw, config=None):
    """RMSProp: a per-weight learning rate scaled by a moving average of the squared gradient.

        cache <- decay_rate * cache + (1 - decay_rate) * dw ** 2
        w     <- w - learning_rate * dw / (sqrt(cache) + epsilon)

    config: learning_rate (default 1e-2), decay_rate (default 0.99), epsilon (default 1e-8),
            cache (state, shaped like w).
    """
    xp = get_array_module(w)
    config = _fill_defaults(config, learning_rate=1e-2, decay_rate=0.99, epsilon=1e-8)
    cache = _state_array(config, "cache", w)
    decay_rate = float(config["decay_rate"])
    scratch = xp.multiply(dw, dw, out=xp.empty_like(w))  # one buffer, reused for every temporary below
    scratch *= 1.0 - decay_rate
    cache *= decay_rate
    cache += scratch
    xp.sqrt(cache, out=scratch)
    scratch += float(config["epsilon"])
    xp.divide(dw, scratch, out=scratch)
    scratch *= float(config["learning_rate"])
    w -= scratch
    return w, config


def _fusable(w, dw, *state):
    """Whether one fused Numba pass (kernels/fused.py) can update w and its state arrays in place: all numpy arrays
    of w's dtype, float32 or float64, w and the state C-contiguous (so that their flat views are themselves)."""
    arrays = (w, dw, *state)
    return (all(type(array) is np.ndarray and array.dtype == w.dtype for array in arrays)
            and w.dtype in (np.float32, np.float64) and all(array.flags.c_contiguous for array in (w, *state)))


def adam(w, dw, config=None):
    """Adam (Kingma and Ba, 2015): momentum on the gradient plus RMSProp scaling, both bias-corrected.

        t <- t + 1
        m <- beta1 * m + (1 - beta1) * dw                  (first moment: the mean gradient)
        v <- beta2 * v + (1 - beta2) * dw ** 2             (second moment: the mean squared gradient)
        w <- w - learning_rate * (m / (1 - beta1 ** t)) / (sqrt(v / (1 - beta2 ** t)) + epsilon)

    m and v start at zero, so early on they are biased towards zero; dividing by (1 - beta ** t) undoes that.
    On numpy arrays (where Numba imports) the step is one fused Numba pass over w, m and v (kernels/fused.py)
    instead of a dozen NumPy passes, with the same operations in the same order and dtype.
    config: learning_rate (default 1e-3), beta1 (default 0.9), beta2 (default 0.999), epsilon (default 1e-8),
            m and v (state, shaped like w), t (step count, default 0).
    """
    config = _fill_defaults(config, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8, t=0)
    m = _state_array(config, "m", w)
    v = _state_array(config, "v", w)
    config["t"] = int(config["t"]) + 1
    hyper_parameters = [float(config[key]) for key in ("learning_rate", "beta1", "beta2", "epsilon")]
    fused = fused_cpu_kernels() if _fusable(w, dw, m, v) else None
    if fused is not None:
        fused.adam_update(w, dw, m, v, *hyper_parameters, config["t"])
    else:
        adam_with_array_operations(w, dw, m, v, *hyper_parameters, config["t"])
    return w, config


def adam_with_array_operations(w, dw, m, v, learning_rate, beta1, beta2, epsilon, t):
    """Adam's step t (from 1) as array operations, w, m and v updated in place: the readable version of
    kernels.fused.adam_update, and the one cupy arrays run."""
    xp = get_array_module(w)
    # A single scratch buffer of w's dtype holds every temporary, so a float32 network never needs float64 copies.
    scratch = xp.multiply(dw, 1.0 - beta1, out=xp.empty_like(w))
    m *= beta1
    m += scratch
    xp.multiply(dw, dw, out=scratch)
    scratch *= 1.0 - beta2
    v *= beta2
    v += scratch
    xp.divide(v, 1.0 - beta2 ** t, out=scratch)
    xp.sqrt(scratch, out=scratch)
    scratch += epsilon
    xp.divide(m, scratch, out=scratch)
    scratch *= learning_rate / (1.0 - beta1 ** t)
    w -= scratch
    return w


UPDATE_RULES = {"sgd": sgd, "sgd_momentum": sgd_momentum, "rmsprop": rmsprop, "adam": adam}


def get_update_rule(update_rule):
    """The update function named by update_rule ('sgd', 'sgd_momentum', 'rmsprop', 'adam'), or update_rule itself
    when it is already a callable with the `update(w, dw, config) -> (next_w, config)` signature."""
    if callable(update_rule):
        return update_rule
    if update_rule not in UPDATE_RULES:
        raise ValueError(f"unknown update_rule {update_rule!r}; use one of {sorted(UPDATE_RULES)} or a callable")
    return UPDATE_RULES[update_rule]
