"""Tests for solver/optim.py: each update rule against a step worked out by hand or by the textbook formula,
in-place updates, kept dtypes and no float64 temporaries for float32 parameters."""
import tracemalloc

import numpy as np
import pytest

from minicnn.backend import gpu_available
from minicnn.solver import optim

RULES = [optim.sgd, optim.sgd_momentum, optim.rmsprop, optim.adam]
STATE_KEYS = {optim.sgd: [], optim.sgd_momentum: ["velocity"], optim.rmsprop: ["cache"], optim.adam: ["m", "v"]}

BACKENDS = ["numpy", pytest.param("cupy", marks=[pytest.mark.gpu, pytest.mark.skipif(
    not gpu_available(), reason="needs cupy and a CUDA device")])]


def array_module(name):
    return pytest.importorskip(name)


def show(ours, reference):
    """Side by side, for the assertion message."""
    return f"\nours:      {ours}\nreference: {reference}"


def test_sgd_hand_computed_step():
    w, dw = np.array([1.0, -2.0, 3.0]), np.array([0.5, 0.5, -1.0])
    next_w, config = optim.sgd(w, dw, {"learning_rate": 0.1})
    expected = [1.0 - 0.05, -2.0 - 0.05, 3.0 + 0.1]
    np.testing.assert_allclose(next_w, expected, rtol=1e-15, err_msg=show(next_w, expected))
    assert config == {"learning_rate": 0.1}


def test_sgd_momentum_hand_computed_steps():
    w, dw = np.array([1.0, -2.0]), np.array([0.5, -1.0])
    config = {"learning_rate": 0.1, "momentum": 0.9}
    # Step 1, from zero velocity: v = -0.1 * dw = [-0.05, 0.1]; w = [0.95, -1.9].
    w, config = optim.sgd_momentum(w, dw, config)
    np.testing.assert_allclose(config["velocity"], [-0.05, 0.1], rtol=1e-15)
    np.testing.assert_allclose(w, [0.95, -1.9], rtol=1e-15)
    # Step 2: v = 0.9 * [-0.05, 0.1] - 0.1 * dw = [-0.095, 0.19]; w = [0.855, -1.71].
    w, config = optim.sgd_momentum(w, dw, config)
    np.testing.assert_allclose(config["velocity"], [-0.095, 0.19], rtol=1e-14)
    np.testing.assert_allclose(w, [0.855, -1.71], rtol=1e-14)


def test_rmsprop_hand_computed_step():
    w, dw = np.array([1.0, -2.0]), np.array([2.0, -4.0])
    config = {"learning_rate": 0.1, "decay_rate": 0.75, "epsilon": 0.0}
    # cache = 0.25 * dw ** 2 = [1, 4]; step = 0.1 * dw / sqrt(cache) = [0.2, -0.2].
    w, config = optim.rmsprop(w, dw, config)
    np.testing.assert_allclose(config["cache"], [1.0, 4.0], rtol=1e-15)
    np.testing.assert_allclose(w, [0.8, -1.8], rtol=1e-15)


def adam_textbook(w, grads, learning_rate, beta1, beta2, epsilon):
    """Kingma and Ba's Algorithm 1, written out as in the paper (no in-place tricks)."""
    m, v = np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g ** 2
        m_hat = m / (1 - beta1 ** t)
        v_hat = v / (1 - beta2 ** t)
        w = w - learning_rate * m_hat / (np.sqrt(v_hat) + epsilon)
    return w, m, v


def test_adam_matches_textbook_formula_for_three_steps():
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((4, 5))
    grads = [rng.standard_normal((4, 5)) for _ in range(3)]
    hyper = {"learning_rate": 0.05, "beta1": 0.8, "beta2": 0.95, "epsilon": 1e-6}
    w, config = w0.copy(), dict(hyper)
    for g in grads:
        w, config = optim.adam(w, g, config)
    expected_w, expected_m, expected_v = adam_textbook(w0, grads, **hyper)
    np.testing.assert_allclose(w, expected_w, rtol=1e-12, err_msg=show(w, expected_w))
    np.testing.assert_allclose(config["m"], expected_m, rtol=1e-12)
    np.testing.assert_allclose(config["v"], expected_v, rtol=1e-12)
    assert config["t"] == 3


def test_defaults_are_filled_in():
    w, dw = np.zeros(3), np.ones(3)
    _, config = optim.adam(w, dw)
    assert config["learning_rate"] == 1e-3 and config["beta1"] == 0.9 and config["beta2"] == 0.999
    assert config["epsilon"] == 1e-8 and config["t"] == 1
    _, config = optim.sgd_momentum(w, dw)
    assert config["learning_rate"] == 1e-2 and config["momentum"] == 0.9


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__)
def test_updates_in_place(rule):
    w, dw = np.ones((2, 3)), np.full((2, 3), 0.5)
    next_w, config = rule(w, dw, {"learning_rate": 0.1})
    states = {key: config[key] for key in STATE_KEYS[rule]}
    next_w_2, config_2 = rule(next_w, dw, config)
    assert next_w is w and next_w_2 is w and config_2 is config
    assert all(config[key] is array for key, array in states.items()), "state arrays must be updated in place"
    assert not np.allclose(w, 1.0)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__)
def test_float32_stays_float32(rule, backend):
    xp = array_module(backend)
    w, dw = xp.ones((3, 4), dtype=xp.float32), xp.full((3, 4), 0.25, dtype=xp.float32)
    # A numpy float64 hyper-parameter must not promote anything either.
    next_w, config = rule(w, dw, {"learning_rate": np.float64(1e-2)})
    next_w, config = rule(next_w, dw, config)
    assert next_w.dtype == xp.float32 and type(next_w) is type(w)
    assert all(config[key].dtype == xp.float32 and type(config[key]) is type(w) for key in STATE_KEYS[rule])


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__)
def test_no_float64_temporaries_for_float32_params(rule):
    """numpy reports its allocations to tracemalloc: a float64 temporary would double the peak."""
    w = np.ones(500_000, dtype=np.float32)
    dw = np.full_like(w, 0.5)
    w, config = rule(w, dw, {"learning_rate": np.float64(1e-3)})  # state arrays are allocated on this first call
    tracemalloc.start()
    try:
        rule(w, dw, config)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1.5 * w.nbytes, f"{rule.__name__} allocated {peak / w.nbytes:.2f} x the parameter's size"


@pytest.mark.parametrize("backend", BACKENDS)
def test_adam_same_on_every_backend(backend):
    xp = array_module(backend)
    rng = np.random.default_rng(1)
    w0, g = rng.standard_normal(6), rng.standard_normal(6)
    w, config = xp.asarray(w0.copy()), None
    for _ in range(3):
        w, config = optim.adam(w, xp.asarray(g), config)
    expected, _, _ = adam_textbook(w0, [g, g, g], 1e-3, 0.9, 0.999, 1e-8)
    np.testing.assert_allclose(w.get() if backend == "cupy" else w, expected, rtol=1e-12)


def test_get_update_rule():
    assert optim.get_update_rule("adam") is optim.adam
    assert optim.get_update_rule(optim.sgd) is optim.sgd
    with pytest.raises(ValueError, match="adamw"):
        optim.get_update_rule("adamw")


def test_nesterov_momentum_hand_computed_steps():
    w, dw = np.array([1.0, -2.0]), np.array([0.5, -1.0])
    config = {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}
    # Step 1: v = -0.1 * dw = [-0.05, 0.1]; w += 0.9 * v - 0.1 * dw = [-0.095, 0.19] -> [0.905, -1.81].
    w, config = optim.sgd_momentum(w, dw, config)
    np.testing.assert_allclose(config["velocity"], [-0.05, 0.1], rtol=1e-15)
    np.testing.assert_allclose(w, [0.905, -1.81], rtol=1e-15)
    # Step 2: v = [-0.095, 0.19]; w += 0.9 * v - 0.1 * dw = [-0.1355, 0.271] -> [0.7695, -1.539].
    w, config = optim.sgd_momentum(w, dw, config)
    np.testing.assert_allclose(w, [0.7695, -1.539], rtol=1e-14)


def test_nesterov_equals_the_lookahead_gradient_form():
    """Sutskever et al.'s form, on a quadratic: the gradient taken at w + momentum * v, then v and w updated.
    Our update tracks phi = w + momentum * v, on which it must agree with theirs step by step."""
    a = np.array([3.0, 0.5])                                  # loss 0.5 * sum(a * w ** 2), gradient a * w
    learning_rate, momentum = 0.1, 0.9
    w_lookahead, v_lookahead = np.array([1.0, -2.0]), np.zeros(2)
    phi, config = w_lookahead.copy(), {"learning_rate": learning_rate, "momentum": momentum, "nesterov": True}
    for _ in range(5):
        v_lookahead = momentum * v_lookahead - learning_rate * a * (w_lookahead + momentum * v_lookahead)
        w_lookahead = w_lookahead + v_lookahead
        phi, config = optim.sgd_momentum(phi, a * phi, config)
        np.testing.assert_allclose(phi, w_lookahead + momentum * v_lookahead, rtol=1e-12)
