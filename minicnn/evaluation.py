"""Scoring a trained model on a labelled set: accuracy, per-class accuracy, confusion matrix, and the JSON report.

A report is a plain dict that json can write: numbers, strings, lists and dicts keyed by class name, so that
report.json opens in any tool. format_per_class_table prints it the way the paper's Table 3 does.
"""
import json
import math

import numpy as np

from minicnn.backend import is_gpu_array, to_numpy
from minicnn.data import CLASS_NAMES
from minicnn.files import atomic_write


def confusion_matrix(y_true, y_pred, num_classes=len(CLASS_NAMES)):
    """Count how often each true class was predicted as each class.

    y_true, y_pred: (N,) integer labels in 0..num_classes-1, numpy or cupy.
    Returns confusion: (K, K) int64 with K = num_classes; confusion[i, j] is the number of samples of true
    class i predicted as class j, so row i sums to the number of samples of class i and the diagonal holds
    the correct predictions.
    """
    y_true = _labels(y_true, "y_true", num_classes)
    y_pred = _labels(y_pred, "y_pred", num_classes)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"confusion_matrix: y_true has shape {y_true.shape} but y_pred has {y_pred.shape}")
    # Each (true, predicted) pair gets its own cell number true * K + predicted, so one bincount fills the matrix.
    cells = np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes)
    return cells.reshape(num_classes, num_classes).astype(np.int64)


def _labels(y, name, num_classes):
    """y as a numpy int64 vector (N,), after checking it holds whole numbers in 0..num_classes-1."""
    y = to_numpy(y)
    if y.ndim != 1:
        raise ValueError(f"confusion_matrix: {name} must be a vector (N,), got shape {y.shape}")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"confusion_matrix: {name} must hold integer labels, got dtype {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"confusion_matrix: {name} has labels from {y.min()} to {y.max()}, "
                         f"outside 0..{num_classes - 1}")
    return y.astype(np.int64)


def per_class_accuracy(confusion):
    """The share of each class's samples that were predicted correctly (the recall of each class).

    confusion: (K, K) counts, rows = true class, as confusion_matrix returns.
    Returns (K,) float64 in [0, 1]. A class with no samples has no accuracy at all, so it gets NaN rather than a
    made-up 0 or 1; callers skip it (format_per_class_table does) or test it with np.isnan.
    """
    confusion = check_confusion_matrix(confusion, "per_class_accuracy")
    counts = confusion.sum(axis=1)
    accuracy = np.full(len(confusion), np.nan)
    has_samples = counts > 0
    accuracy[has_samples] = np.diag(confusion)[has_samples] / counts[has_samples]
    return accuracy


def check_confusion_matrix(confusion, caller):
    """confusion as a numpy array, after checking that it is a square (K, K) matrix; caller names the culprit."""
    confusion = to_numpy(confusion)
    if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1]:
        raise ValueError(f"{caller}: the confusion matrix must be square (K, K), got shape {confusion.shape}")
    return confusion


def evaluate(model, X, y, batch_size=256, class_names=CLASS_NAMES, mirror=False, crops=False):
    """Score model on the labelled set (X, y).

    model: any object with predict(X, batch_size) -> (N,) labels, numpy or cupy (minicnn.models.ConvNet and
    minicnn.ensemble.Ensemble have it).
    X: the inputs predict takes, e.g. (N, 1, 48, 48); y: (N,) true labels in 0..K-1, K = len(class_names).
    mirror, crops: test-time augmentation, each image's prediction averaged over its mirror image and/or its five
    crops (model.predict must take them, as ConvNet.predict does).
    Returns the report dict:
      accuracy            float, share of the N samples predicted correctly
      count               int, N
      per_class_accuracy  {class name: float in [0, 1], NaN for a class with no samples}
      per_class_count     {class name: int, samples of that class}
      confusion_matrix    K lists of K ints, rows = true class, columns = predicted class
    """
    # A student's own model may not know the options.
    options = {name: True for name, wanted in (("mirror", mirror), ("crops", crops)) if wanted}
    y_pred = model.predict(X, batch_size=batch_size, **options)
    confusion = confusion_matrix(y, y_pred, num_classes=len(class_names))
    count = int(confusion.sum())
    if count == 0:
        raise ValueError("evaluate: the set is empty, so it has no accuracy")
    return {
        "accuracy": float(np.trace(confusion) / count),
        "count": count,
        "per_class_accuracy": dict(zip(class_names, per_class_accuracy(confusion).tolist())),
        "per_class_count": dict(zip(class_names, confusion.sum(axis=1).tolist())),
        "confusion_matrix": confusion.tolist(),
    }


def write_report(path, report):
    """Write report (a dict, as evaluate returns) to the JSON file at path, atomically; returns path.

    numpy and cupy arrays and scalars become plain lists and numbers. NaN, which strict JSON does not have,
    is written as null (read back as None).
    """
    text = json.dumps(_plain(report), indent=2, allow_nan=False) + "\n"
    with atomic_write(path, "w") as file:
        file.write(text)
    return path


def _plain(value):
    """value with every array and numpy scalar turned into Python lists and numbers, and NaN into None."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, np.ndarray) or is_gpu_array(value):
        return _plain(to_numpy(value).tolist())
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def format_per_class_table(report):
    """The per-class accuracies of report as a plain-text table, like the paper's Table 3.

    One row per class (name, accuracy in %, number of samples), then the overall row. Classes without samples
    have no accuracy (NaN, or None in a report read back from JSON) and are left out.
    """
    lines = [f"{'emotion':<10}{'accuracy':>10}{'count':>8}"]
    for name, accuracy in report["per_class_accuracy"].items():
        if accuracy is None or math.isnan(accuracy):
            continue
        lines.append(f"{name:<10}{100 * accuracy:>9.1f}%{report['per_class_count'][name]:>8d}")
    lines.append(f"{'overall':<10}{100 * report['accuracy']:>9.1f}%{report['count']:>8d}")
    return "\n".join(lines)
