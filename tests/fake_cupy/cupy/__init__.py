"""A stand-in for CuPy that runs on the CPU, so that minicnn's GPU path runs in every test run.

Put its folder first on the path (PYTHONPATH=tests/fake_cupy, or MINICNN_FAKE_CUPY=1 for the test suite, see
tests/conftest.py) and `import cupy` loads it:
  - cupy.ndarray (_array.py) is a distinct array type kept in NumPy memory, with CuPy's strictness: no implicit
    conversion to NumPy, no NumPy array as an operand;
  - the functions below are NumPy's, taking and returning cupy arrays as CuPy's twins do; cupy.asarray and
    cupy.array copy host data to the "device", cupy.asnumpy and ndarray.get copy it back;
  - cupy.RawModule and cupy.RawKernel (_raw.py) compile CUDA C with the host compiler through
    kernels/cuda/host_shim.h and run each launch's threads, checking every argument against the kernel's signature;
  - cupy.cuda (cuda/) has one device, whose work is done when each call returns.

What it proves: the logic of the GPU path, its launches (grid, block, what each thread computes) and the types of
its kernel arguments. What it cannot: speed, NVRTC's own compile errors, and the GPU's memory (its size, its speed,
threads that run side by side).
"""
import functools
import sys

import numpy

from cupy import cuda  # noqa: F401 (cupy.cuda, as in CuPy)
from cupy._array import ndarray, run_on_device
from cupy._raw import RawKernel, RawModule  # noqa: F401 (part of this module's API)

__version__ = "stand-in (tests/fake_cupy)"

# CuPy's scalar types and constants are NumPy's (and numpy.dtype is cupy.dtype, set at the end).
from numpy import (bool_, e, float16, float32, float64, inf, int8, int16, int32, int64, intp, nan,  # noqa: E402,F401
                   newaxis, pi, uint8, uint16, uint32, uint64)

# CuPy's twins of NumPy functions that minicnn, its tests and benchmarks use (and a few neighbours of those).
ARRAY_FUNCTIONS = (
    "empty", "zeros", "ones", "full", "arange", "linspace", "eye", "empty_like", "zeros_like", "ones_like",
    "full_like", "ascontiguousarray", "concatenate", "stack", "where", "reshape", "transpose", "moveaxis", "flip",
    "pad", "roll", "take", "take_along_axis", "broadcast_to", "expand_dims", "squeeze", "add", "subtract",
    "multiply", "divide", "true_divide", "negative", "power", "maximum", "minimum", "exp", "log", "sqrt", "square",
    "abs", "absolute", "floor", "ceil", "rint", "clip", "tanh", "equal", "not_equal", "less", "less_equal", "greater",
    "greater_equal", "logical_and", "logical_or", "logical_not", "isfinite", "isnan", "matmul", "dot", "tensordot",
    "einsum", "sum", "mean", "var", "std", "max", "min", "amax", "amin", "argmax", "argmin", "all", "any", "prod",
    "cumsum", "sort", "argsort", "count_nonzero", "result_type",
)


def _twin(name):
    numpy_function = getattr(numpy, name)

    @functools.wraps(numpy_function)
    def function(*args, **kwargs):
        return run_on_device(numpy_function, args, kwargs)
    function.__module__ = __name__
    return function


for _name in ARRAY_FUNCTIONS:
    globals()[_name] = _twin(_name)


def array(obj, dtype=None, copy=True, order="K", ndmin=0):
    """A new cupy array holding obj (host data or a cupy array), copied: device memory is not host memory."""
    host = obj._host if isinstance(obj, ndarray) else obj
    return ndarray.wrap(numpy.array(host, dtype=dtype, order=order, ndmin=ndmin))


def asarray(a, dtype=None, order=None):
    """a itself when it is a cupy array of that dtype, else a copy of it on the device."""
    if isinstance(a, ndarray) and (dtype is None or a.dtype == dtype) and order is None:
        return a
    return array(a, dtype=dtype, order=order or "K")


def asnumpy(a, stream=None, order="C", out=None):
    """A NumPy copy of a cupy array (other input goes through numpy.asarray)."""
    if isinstance(a, ndarray):
        return a.get(order=order, out=out)
    return numpy.asarray(a, order=order)


def get_array_module(*args):
    """This module when any argument is a cupy array, else numpy."""
    for arg in args:   # a loop, since `any` here is cupy.any
        if isinstance(arg, ndarray):
            return sys.modules[__name__]
    return numpy


dtype = numpy.dtype
