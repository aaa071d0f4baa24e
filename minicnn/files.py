"""Files that never come out half-written, and arrays stored without pickles.

Every data file minicnn writes (checkpoints, models, caches, JSON reports) goes through atomic_write (plots are
left to matplotlib: a lost plot is redrawn from the history at the next epoch): the bytes go to a
temporary file in the same folder, which then replaces the target with os.replace. A rename within one folder is
atomic, so a run killed mid-write leaves the previous file whole instead of half a file.

Arrays go into .npz files as plain arrays: scalars as 0-d arrays, strings as np.str_ arrays, so every file opens
with np.load(path, allow_pickle=False) and opening a file cannot run code.
"""
import contextlib
import os
import tempfile
from pathlib import Path

import numpy as np

from minicnn.backend import to_numpy


def cache_root():
    """The folder for minicnn's caches: $MINICNN_CACHE when set, else ~/.cache/minicnn."""
    return Path(os.environ.get("MINICNN_CACHE") or Path.home() / ".cache" / "minicnn")


@contextlib.contextmanager
def atomic_write(path, mode="wb"):
    """Open a temporary file beside path for writing; on success it replaces path, on any error it is removed.

    with atomic_write("report.json", "w") as file: file.write(text)
    Creates path's folder when needed.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, temp_path = tempfile.mkstemp(dir=folder, prefix=os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(handle, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())  # the bytes must be on disk before the rename makes them the file
        os.chmod(temp_path, 0o666 & ~_umask())  # mkstemp makes the file private; give it a new file's usual mode
        os.replace(temp_path, path)
    except BaseException:  # Ctrl-C included: never leave a stray temporary file behind
        if os.path.exists(temp_path):
            os.remove(temp_path)
        raise


def save_arrays(path, arrays):
    """Write arrays (name -> array, number or string) to the .npz file at path, atomically.

    GPU arrays are copied to the host first; objects that would need pickle (None, dicts, ...) are refused.
    """
    arrays = {name: _storable(name, value) for name, value in arrays.items()}
    with atomic_write(path) as file:
        np.savez(file, **arrays)


def _storable(name, value):
    array = to_numpy(value)
    if array.dtype == object:
        raise ValueError(f"entry {name!r} holds a {type(value).__name__}, which cannot be stored without pickle; "
                         "store numbers, strings or arrays")
    return array


def load_arrays(path):
    """Every array in the .npz file at path, as a dict name -> numpy array (pickled entries are refused)."""
    with np.load(path, allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def under_prefix(arrays, prefix):
    """The entries of arrays whose name starts with prefix, with the prefix cut off: under_prefix(a, 'param/')['W1']."""
    return {name[len(prefix):]: value for name, value in arrays.items() if name.startswith(prefix)}


def _umask():
    """The process's file-creation mask; reading it means setting it, so it is put straight back."""
    mask = os.umask(0)
    os.umask(mask)
    return mask
