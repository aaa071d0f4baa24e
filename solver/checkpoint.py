"""Checkpoint files: a flat dict of arrays in one .npz, written atomically and read back without pickles
(minicnn.files), and the check that a checkpoint fits the model it is loaded into.

Related arrays share a key prefix ('param/W1', 'optim/W1/m'). Scalars are stored as 0-d arrays and strings as
np.str_ arrays, so every checkpoint opens with np.load(path, allow_pickle=False): opening a file cannot run code.
What goes into a training checkpoint is decided by Solver.save_checkpoint (solver.py); this module only knows the
file.
"""
import os

from minicnn.files import DamagedFileError, load_arrays, save_arrays, under_prefix  # noqa: F401 (the checkpoint file API)


def previous_checkpoint(path):
    """Where the checkpoint that path replaces is kept: checkpoint.npz -> checkpoint.prev.npz, beside it."""
    return _beside(path, "prev")


def damaged_checkpoint(path):
    """Where a damaged checkpoint is put aside when a run falls back on the previous one: checkpoint.damaged.npz."""
    return _beside(path, "damaged")


def _beside(path, tag):
    stem, extension = os.path.splitext(os.fspath(path))
    return f"{stem}.{tag}{extension}"


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
