"""What the course's notebooks share: the size switch, the data (FER2013, or a synthetic stand-in) and the checks of
the exercises. The notebooks import it from this folder; everything they teach comes from minicnn itself.

MINICNN_COURSE_QUICK=1 shrinks every run to seconds (the test suite sets it); unset, the notebooks use the sizes
they were written for, a few minutes each on a laptop CPU. MINICNN_COURSE_SOLUTIONS=1 (the test suite sets it too)
makes `check` run the solution in solutions.py of an exercise that is not done yet, so the checks themselves are
tested.
"""
import os

import numpy as np

from minicnn import data
from minicnn.gradient_check import rel_error
from minicnn.preprocessing import preprocess

QUICK = os.environ.get("MINICNN_COURSE_QUICK") == "1"
SHOW_SOLUTIONS = os.environ.get("MINICNN_COURSE_SOLUTIONS") == "1"
AGREEMENT = 1e-7          # rel_error below this: two float64 computations of the same values
SYNTHETIC_SPLIT_SIZES = {"Training": 1400, "PublicTest": 350, "PrivateTest": 350}


def size(full, quick):
    """full for a reader's run, quick under the test suite (MINICNN_COURSE_QUICK=1)."""
    return quick if QUICK else full


# ---------------------------------------------------------------------------------------------------- exercises
def check(student_function, minicnn_function, *inputs):
    """Run the student's function and minicnn's on copies of the same inputs and compare every output by rel_error.

    student_function, minicnn_function: take *inputs and return an array or a tuple of arrays of the same shapes.
    A student function that still raises NotImplementedError is reported as not done yet (under the test suite,
    MINICNN_COURSE_SOLUTIONS=1, solutions.py's function of the same name is checked in its place). Prints the
    errors; raises AssertionError when an output differs by more than AGREEMENT.
    """
    name = student_function.__name__
    try:
        ours = student_function(*_copies(inputs))
    except NotImplementedError:
        if not SHOW_SOLUTIONS:
            print(f"{name}: not done yet (remove the `raise NotImplementedError` and write it; a solution is in "
                  f"notebooks/solutions.py)")
            return
        import solutions
        ours = getattr(solutions, name)(*_copies(inputs))
        name = f"solutions.{name}"
    theirs = minicnn_function(*_copies(inputs))
    ours, theirs = _as_tuple(ours), _as_tuple(theirs)
    if len(ours) != len(theirs):
        raise AssertionError(f"{name} returns {len(ours)} outputs, minicnn's {len(theirs)}")
    for position, (mine, reference) in enumerate(zip(ours, theirs)):
        if np.shape(mine) != np.shape(reference):
            raise AssertionError(f"{name}: output {position} has shape {np.shape(mine)}, minicnn's "
                                 f"{np.shape(reference)}")
        error = rel_error(mine, reference)
        print(f"{name}: output {position} {np.shape(mine)}, relative error {error:.1e}")
        if error > AGREEMENT:
            raise AssertionError(f"{name}: output {position} differs from minicnn's (relative error {error:.1e})")
    print(f"{name} agrees with minicnn.")


def _copies(inputs):
    return [np.array(value, copy=True) if isinstance(value, np.ndarray) else value for value in inputs]


def _as_tuple(outputs):
    return outputs if isinstance(outputs, tuple) else (outputs,)


# --------------------------------------------------------------------------------------------------------- data
def course_splits(train_images, val_images):
    """FER2013 as data.load_splits gives it (keep_images=True), cut to the first train_images Training images and
    the first val_images of PublicTest and of PrivateTest; a synthetic stand-in when FER2013 is not found.

    Returns the dict of load_splits: X_train, X_val, X_test float32 (N, 1, 48, 48), y_* int64 (N,), images_* uint8
    (N, 48, 48), mean_image float32 (48, 48); and 'synthetic': True or False.
    """
    try:
        path = data.find_data_path()
    except data.DataNotFoundError as error:
        print(f"{error}\n\nSo this notebook runs on a synthetic stand-in: 48x48 images of 7 classes, each class a "
              f"pattern of blobs under noise. The code path is the same, the numbers say nothing about faces.")
        return _cut(_synthetic_splits(), train_images, val_images)
    print(f"FER2013: {path}")
    splits = data.load_splits(path, subset=train_images, keep_images=True)
    return _cut({**splits, "synthetic": False}, train_images, val_images)


def _cut(splits, train_images, val_images):
    """splits with at most train_images Training and val_images PublicTest and PrivateTest images."""
    limits = {"train": train_images, "val": val_images, "test": val_images}
    return {name: value[:limits[name.split("_")[-1]]] if name.split("_")[-1] in limits else value
            for name, value in splits.items()}


def synthetic_images(labels, rng):
    """Grey 48x48 images whose class can be learned: class k is a fixed pattern of blobs (the same for every
    image of the class, drawn from a generator seeded with 0) plus noise. labels: (N,) in 0..6 -> uint8 (N, 48, 48).
    """
    rows, columns = np.mgrid[0:48, 0:48]
    pattern_rng = np.random.default_rng(0)
    patterns = np.zeros((len(data.CLASS_NAMES), 48, 48))
    for pattern in patterns:
        for row, column in pattern_rng.uniform(8, 40, size=(3, 2)):
            pattern += 40 * np.exp(-((rows - row) ** 2 + (columns - column) ** 2) / 40)
    images = 100 + patterns[labels] + rng.normal(0, 55, size=(len(labels), 48, 48))
    return np.clip(images, 0, 255).astype(np.uint8)


def _synthetic_splits(seed=0):
    """Splits shaped like load_splits(..., keep_images=True) of SYNTHETIC_SPLIT_SIZES synthetic images."""
    rng = np.random.default_rng(seed)
    splits = {"synthetic": True}
    mean_image = None
    for usage, suffix in (("Training", "train"), ("PublicTest", "val"), ("PrivateTest", "test")):
        labels = rng.integers(0, len(data.CLASS_NAMES), size=SYNTHETIC_SPLIT_SIZES[usage])
        images = synthetic_images(labels, rng)
        splits[f"X_{suffix}"], mean_image = preprocess(images, mean_image)
        splits[f"y_{suffix}"], splits[f"images_{suffix}"] = labels, images
    splits["mean_image"] = mean_image
    return splits
