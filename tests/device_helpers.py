"""What the GPU tests share: their mark, and moving inputs and results between the host and the device (CuPy on a
GPU, or its stand-in in tests/fake_cupy; see conftest.py)."""
import numpy as np
import pytest

from minicnn.backend import gpu_available, is_gpu_array, to_numpy


def gpu_test(function):
    """Mark a test gpu, and skip it with the reason when no GPU (nor the stand-in) is usable."""
    needs_gpu = pytest.mark.skipif(not gpu_available(), reason="needs cupy and a usable CUDA device "
                                                              "(minicnn.backend.gpu_available() is False)")
    return pytest.mark.gpu(needs_gpu(function))


def on_gpu(cupy, value):
    """value with every numpy array in it (also inside tuples, lists and dicts, which are copied) put on the GPU."""
    if isinstance(value, np.ndarray):
        return cupy.asarray(value)
    if isinstance(value, dict):
        return {key: on_gpu(cupy, item) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value)(on_gpu(cupy, item) for item in value)
    return value


def on_host(value):
    """value with every GPU array in it (also inside tuples and lists) copied to the host."""
    if is_gpu_array(value):
        return to_numpy(value)
    if isinstance(value, (tuple, list)):
        return type(value)(on_host(item) for item in value)
    return value


class OnGpu:
    """Stands in for a module of functions (minicnn.kernels.gpu, minicnn.layers, ...) for tests written for numpy:
    each function gets GPU copies of its numpy arguments and runs on them, and what it returns comes back as numpy
    arrays. With keep_caches, the cache that a function named *_forward returns beside its output stays on the GPU,
    for the backward pass."""

    def __init__(self, cupy, module, keep_caches=False):
        self._cupy, self._module, self._keep_caches = cupy, module, keep_caches

    def __getattr__(self, name):
        function = getattr(self._module, name)

        def run(*args, **kwargs):
            result = function(*on_gpu(self._cupy, args), **on_gpu(self._cupy, kwargs))
            if self._keep_caches and name.endswith("_forward"):
                out, cache = result
                return on_host(out), cache
            return on_host(result)
        return run


def biases_before_batchnorm(names):
    """{'b<i>': 'W<i>'} for the layers with batch norm among a ConvNet's parameter (or gradient) names. Batch norm
    subtracts any bias before it, so such a bias's gradient is zero but for rounding, and the bias moves by that
    noise alone: it can only be compared at the scale of its layer's weights."""
    return {f"b{name[5:]}": f"W{name[5:]}" for name in names if name.startswith("gamma")}
