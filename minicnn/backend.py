"""Device selection: which array module (numpy or cupy) an array lives in, and moving arrays (and models) between
devices.

CuPy is optional. "cupy can be imported" and "a GPU is usable" are two different facts; both are checked once,
lazily, the first time a GPU is asked for, and neither is ever an error on the CPU path.
"""
import functools
import os

import numpy as np

DEVICES = ("cpu", "gpu", "auto")

_cupy = None
_cupy_checked = False


def _import_cupy():
    """Return the cupy module if it imports and sees at least one GPU, else None (checked once per process)."""
    global _cupy, _cupy_checked
    if not _cupy_checked:
        _cupy_checked = True
        try:
            import cupy
            if cupy.cuda.runtime.getDeviceCount() > 0:
                _cupy = cupy
        except Exception:  # no cupy, no driver, or no device: all mean "CPU only"
            _cupy = None
    return _cupy


class GPUUnavailableError(RuntimeError):
    """The GPU was asked for, but cupy is not installed or sees no usable CUDA device."""


def gpu_available():
    """True when cupy is installed and a CUDA device is usable."""
    return _import_cupy() is not None


def default_device():
    """The device named by MINICNN_DEVICE ('cpu', 'gpu' or 'auto'; default 'cpu'), resolved to 'cpu' or 'gpu'."""
    return resolve_device(os.environ.get("MINICNN_DEVICE", "cpu"))


def resolve_device(device):
    """Turn 'cpu', 'gpu' or 'auto' into 'cpu' or 'gpu'; 'gpu' without a usable GPU is a GPUUnavailableError."""
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
    if device == "auto":
        return "gpu" if gpu_available() else "cpu"
    if device == "gpu" and not gpu_available():
        raise GPUUnavailableError("device 'gpu' was asked for, but cupy is not installed or no CUDA device is usable; "
                           "install minicnn[cuda12] or minicnn[cuda13], or use device 'cpu'")
    return device


def get_array_module(*arrays):
    """numpy, or cupy when any of the arrays is a cupy array."""
    for array in arrays:
        if type(array).__module__.startswith("cupy"):
            return _import_cupy() or __import__("cupy")
    return np


def is_gpu_array(x):
    """True for a cupy array."""
    return get_array_module(x) is not np


@functools.cache
def fused_cpu_kernels():
    """minicnn.kernels.fused (Numba kernels for numpy arrays), or None where Numba cannot be imported: the callers
    then run their plain array code, as they do on the GPU. Imported on first use, so that no caller loads Numba
    before it needs it."""
    try:
        from minicnn.kernels import fused
    except ImportError:
        return None
    return fused


def to_device(x, device=None):
    """Copy x to 'cpu' (a numpy array) or 'gpu' (a cupy array); an array already there is returned as is.

    device: 'cpu', 'gpu', 'auto' or None (None means MINICNN_DEVICE).
    """
    device = default_device() if device is None else resolve_device(device)
    if device == "cpu":
        return to_numpy(x)
    return _import_cupy().asarray(x)


def to_numpy(x):
    """x as a numpy array, copied from the GPU when it lives there."""
    if is_gpu_array(x):
        return x.get()
    return np.asarray(x)


def move_model(model, device):
    """Copy a cs231n-style model's arrays to 'cpu', 'gpu' or 'auto' (arrays already there stay as they are).

    model.params (name -> array) is replaced by the moved arrays, and so is model.get_state() through
    model.set_state() when the model has them (batch-norm running statistics, say). Returns the model.
    """
    model.params = {name: to_device(w, device) for name, w in model.params.items()}
    if hasattr(model, "get_state"):
        model.set_state({name: to_device(a, device) for name, a in model.get_state().items()})
    return model
