"""Numeric gradient checks in float64 of every backward pass and of both sandwich blocks."""
import numpy as np
import pytest

from minicnn.layer_checks import LAYER_CHECKS, tolerance


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", list(LAYER_CHECKS))
def test_gradient_matches_numerical(name, seed):
    errors = LAYER_CHECKS[name](np.random.default_rng(seed))
    print(name, {gradient: f"{error:.2e}" for gradient, error in errors.items()})
    for gradient, error in errors.items():
        assert error < tolerance(name), f"{name}: {gradient} relative error {error:.2e}"


def test_sparse_gradient_check_agrees_with_a_known_gradient():
    from minicnn.gradient_check import grad_check_sparse
    x = np.random.default_rng(0).standard_normal((4, 5))
    errors = grad_check_sparse(lambda x: float(np.sum(x ** 3)), x, 3 * x ** 2, num_checks=5)
    assert errors.shape == (5,) and errors.max() < 1e-7
    assert grad_check_sparse(lambda x: float(np.sum(x ** 3)), x, 2 * x ** 2, num_checks=5).max() > 1e-2
