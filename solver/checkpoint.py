"""Checkpoint files: a flat dict of arrays in one .npz, written atomically and read back without pickles.

Related arrays share a key prefix ('param/W1', 'optim/W1/m'). Scalars are stored as 0-d arrays and strings as
np.str_ arrays, so every checkpoint opens with np.load(path, allow_pickle=False): opening a file cannot run code.
What goes into a training checkpoint is decided by solver.Solver.save_checkpoint; this module only knows the file.
"""
import os
import tempfile

import numpy as np

from minicnn.backend import to_numpy


def save_arrays(path, arrays):
    """Write arrays (name -> array, scalar or string) to the .npz file at path, atomically.

    The data go to a temporary file in the same folder, which then replaces path with os.replace. A rename within
    one folder is atomic, so a run killed mid-write leaves the previous checkpoint whole instead of half a file.
    GPU arrays are copied to the host first.
    """
    arrays = {name: _storable(name, value) for name, value in arrays.items()}
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, temp_path = tempfile.mkstemp(dir=folder, prefix=os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, **arrays)
            file.flush()
            os.fsync(file.fileno())  # the bytes must be on disk before the rename makes them the checkpoint
        os.replace(temp_path, path)
    except BaseException:  # Ctrl-C included: never leave a stray temporary file behind
        if os.path.exists(temp_path):
            os.remove(temp_path)
        raise


def _storable(name, value):
    """value as a numpy array that np.savez stores without pickling; objects (None, dicts, ...) are refused."""
    array = to_numpy(value)
    if array.dtype == object:
        raise ValueError(f"checkpoint entry {name!r} holds a {type(value).__name__}, which cannot be stored without "
                         "pickle; store numbers, strings or arrays")
    return array


def load_arrays(path):
    """Every array in the .npz file at path, as a dict name -> numpy array (pickled entries are refused)."""
    with np.load(path, allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def group(arrays, prefix):
    """The entries of arrays whose name starts with prefix, with the prefix cut off: group(a, 'param/')['W1']."""
    return {name[len(prefix):]: value for name, value in arrays.items() if name.startswith(prefix)}


def check_same_shapes(found, expected, prefix, source):
    """Raise ValueError unless found and expected (name -> array) hold the same names with the same shapes.

    prefix (the group's key prefix in the file) and source (the file's path) only go into the message.
    """
    missing = sorted(expected.keys() - found.keys())
    if missing:
        name = missing[0]
        raise ValueError(f"{source}: key '{prefix}{name}' is missing (the model has {name!r} with shape "
                         f"{tuple(expected[name].shape)})")
    unexpected = sorted(found.keys() - expected.keys())
    if unexpected:
        raise ValueError(f"{source}: unexpected key '{prefix}{unexpected[0]}' (the model has no "
                         f"{unexpected[0]!r}; it has {sorted(expected)})")
    for name in sorted(found):
        if tuple(found[name].shape) != tuple(expected[name].shape):
            raise ValueError(f"{source}: '{prefix}{name}' has shape {tuple(found[name].shape)}, but the model's "
                             f"{name!r} has shape {tuple(expected[name].shape)}")
