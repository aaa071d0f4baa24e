"""Files that never come out half-written, and arrays stored without pickles.

Every data file minicnn writes (checkpoints, models, caches, JSON reports) goes through atomic_write (plots are
left to matplotlib: a lost plot is redrawn from the history at the next epoch): the bytes go to a
temporary file in the same folder, which then replaces the target with os.replace. A rename within one folder is
atomic, so a run killed mid-write leaves the previous file whole instead of half a file.

Arrays go into .npz files as plain arrays: scalars as 0-d arrays, strings as np.str_ arrays, so every file opens
with np.load(path, allow_pickle=False) and opening a file cannot run code. Each file also carries the SHA-256 of
its arrays, checked when it is read: a file damaged on disk or in a copy is refused by name, not half-used.
"""
import contextlib
import hashlib
import os
import tempfile
import zipfile
import zlib
from glob import escape as glob_escape
from pathlib import Path

import numpy as np

from minicnn.backend import to_numpy


def cache_root():
    """The folder for minicnn's caches: $MINICNN_CACHE when set, else ~/.cache/minicnn."""
    return Path(os.environ.get("MINICNN_CACHE") or Path.home() / ".cache" / "minicnn")


CHECKSUM_KEY = "sha256"       # the entry of an .npz file that holds the SHA-256 of all its other arrays
# What reading a damaged .npz can raise: zipfile's own errors, the inflater's, a cut-short stream, a header that
# names a compression method that does not exist (NotImplementedError) or an encryption (RuntimeError), and the
# .npy parser's complaints.
NPZ_READ_ERRORS = (OSError, ValueError, zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)


class DamagedFileError(ValueError):
    """An array file that cannot be read back whole: truncated, changed on disk, or not an .npz file at all.
    Attributes: path, reason (what is wrong, without the path)."""

    def __init__(self, path, reason):
        self.path, self.reason = path, reason
        super().__init__(f"{path}: {reason}")


@contextlib.contextmanager
def atomic_write(path, mode="wb", keep_previous=None):
    """Open a temporary file beside path for writing; on success it replaces path, on any error it is removed.

    with atomic_write("report.json", "w") as file: file.write(text)
    Creates path's folder when needed. keep_previous: a path that the file being replaced is renamed to first, so
    that the last two versions exist; a stop between the two renames leaves the previous version there. A process
    killed while writing (SIGKILL, a power cut) leaves its temporary file behind: the next successful write of the
    same path removes it, so one writer per file is assumed.
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
        if keep_previous is not None and os.path.exists(path):
            os.replace(path, keep_previous)
        os.replace(temp_path, path)
        _fsync_folder(folder)      # the renames themselves must reach the disk too, or a power cut can undo them
        _remove_leftovers(folder, os.path.basename(path))
    except BaseException:  # Ctrl-C included: never leave a stray temporary file behind
        if os.path.exists(temp_path):
            os.remove(temp_path)
        raise


def _fsync_folder(folder):
    """Flush folder's entries (the names that renames changed) to the disk."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _remove_leftovers(folder, name):
    """Remove the temporary files of earlier writes of folder/name that were killed before they could clean up."""
    for leftover in Path(folder).glob(f"{glob_escape(name)}.*.tmp"):
        leftover.unlink(missing_ok=True)


def save_arrays(path, arrays, keep_previous=None):
    """Write arrays (name -> array, number or string) and their checksum to the .npz file at path, atomically.

    GPU arrays are copied to the host first; objects that would need pickle (None, dicts, ...) are refused.
    keep_previous: as for atomic_write, where the file being replaced goes.
    """
    arrays = {name: _storable(name, value) for name, value in arrays.items()}
    if CHECKSUM_KEY in arrays:
        raise ValueError(f"entry name {CHECKSUM_KEY!r} is reserved for the file's checksum")
    arrays[CHECKSUM_KEY] = np.str_(checksum(arrays))
    with atomic_write(path, keep_previous=keep_previous) as file:
        np.savez(file, **arrays)


def _storable(name, value):
    array = to_numpy(value)
    if array.dtype == object:
        raise ValueError(f"entry {name!r} holds a {type(value).__name__}, which cannot be stored without pickle; "
                         "store numbers, strings or arrays")
    return array


def load_arrays(path):
    """Every array in the .npz file at path, as a dict name -> numpy array, its checksum verified.

    A file that is not an .npz file, is truncated or damaged, holds pickled entries or fails its checksum raises
    DamagedFileError naming it; a missing file raises FileNotFoundError. Files written before minicnn stored
    checksums are read without one (the zip format's CRC-32 of each entry still guards them).
    """
    with open(path, "rb"):  # a missing or unreadable file raises its own OSError (FileNotFoundError, say) here
        pass
    if not zipfile.is_zipfile(path):  # np.load would try the file as a pickle and say so, which misleads
        raise DamagedFileError(path, "not an .npz file, or damaged beyond reading (truncated, say)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except NPZ_READ_ERRORS as error:
        raise DamagedFileError(path, f"damaged, cannot be read ({error})") from None
    stored = arrays.pop(CHECKSUM_KEY, None)
    if stored is not None and str(stored) != checksum(arrays):
        raise DamagedFileError(path, "damaged: its arrays do not match the checksum written with them")
    return arrays


def checksum(arrays):
    """The SHA-256 (hex) of arrays (name -> numpy array): every name, dtype, shape and byte, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.reshape(-1).view(np.uint8))     # the array's own bytes, without a copy
    return digest.hexdigest()


def under_prefix(arrays, prefix):
    """The entries of arrays whose name starts with prefix, with the prefix cut off: under_prefix(a, 'param/')['W1']."""
    return {name[len(prefix):]: value for name, value in arrays.items() if name.startswith(prefix)}


def _umask():
    """The process's file-creation mask; reading it means setting it, so it is put straight back."""
    mask = os.umask(0)
    os.umask(mask)
    return mask
