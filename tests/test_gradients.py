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
