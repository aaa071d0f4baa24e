"""Tests for minicnn/evaluation.py: the confusion matrix and per-class accuracy against small examples counted by
hand, evaluate() on a fake model, the JSON report round trip and the printed table."""
import json
import math
import os

import numpy as np
import pytest

from minicnn.data import CLASS_NAMES
from minicnn.evaluation import (confusion_matrix, evaluate, format_per_class_table, per_class_accuracy,
                                write_report)


class FixedPredictions:
    """A stand-in for a model: predict() ignores X and returns labels fixed in advance, and records its calls."""

    def __init__(self, labels):
        self.labels = np.asarray(labels)
        self.batch_sizes = []

    def predict(self, X, batch_size=256):
        self.batch_sizes.append(batch_size)
        return self.labels


# Ten samples of 3 classes, counted by hand:
#   true 0 (4 samples): predicted 0, 0, 0, 1   -> row [3, 1, 0]
#   true 1 (3 samples): predicted 1, 2, 1      -> row [0, 2, 1]
#   true 2 (3 samples): predicted 0, 2, 2      -> row [1, 0, 2]
Y_TRUE = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
Y_PRED = np.array([0, 0, 0, 1, 1, 2, 1, 0, 2, 2])
EXPECTED = np.array([[3, 1, 0],
                     [0, 2, 1],
                     [1, 0, 2]])


def test_confusion_matrix_matches_hand_count():
    confusion = confusion_matrix(Y_TRUE, Y_PRED, num_classes=3)
    assert confusion.dtype == np.int64
    np.testing.assert_array_equal(confusion, EXPECTED)


def test_confusion_matrix_defaults_to_the_seven_emotions():
    confusion = confusion_matrix(np.array([6, 0]), np.array([6, 3]))
    assert confusion.shape == (7, 7)
    assert confusion[6, 6] == 1 and confusion[0, 3] == 1 and confusion.sum() == 2


@pytest.mark.parametrize("y_true, y_pred, message", [
    (np.array([0, 1]), np.array([0]), "shape"),
    (np.array([0, 3]), np.array([0, 1]), "outside 0..2"),
    (np.array([0, -1]), np.array([0, 1]), "outside 0..2"),
    (np.array([0.0, 1.0]), np.array([0, 1]), "integer"),
    (np.array([[0, 1]]), np.array([[0, 1]]), "vector"),
])
def test_confusion_matrix_rejects_bad_labels(y_true, y_pred, message):
    with pytest.raises(ValueError, match=message):
        confusion_matrix(y_true, y_pred, num_classes=3)


def test_per_class_accuracy_is_the_recall_of_each_class():
    np.testing.assert_allclose(per_class_accuracy(EXPECTED), [3 / 4, 2 / 3, 2 / 3])


def test_per_class_accuracy_of_a_class_without_samples_is_nan():
    confusion = np.array([[2, 0], [0, 0]])
    accuracy = per_class_accuracy(confusion)
    assert accuracy[0] == 1.0 and np.isnan(accuracy[1])


def test_per_class_accuracy_rejects_a_non_square_matrix():
    with pytest.raises(ValueError, match=r"square.*\(2, 3\)"):
        per_class_accuracy(np.zeros((2, 3)))


def test_evaluate_reports_accuracy_per_class_and_confusion():
    model = FixedPredictions(Y_PRED)
    report = evaluate(model, X=np.zeros((10, 1, 4, 4)), y=Y_TRUE, batch_size=32, class_names=("a", "b", "c"))
    assert model.batch_sizes == [32]
    assert report["count"] == 10
    assert report["accuracy"] == pytest.approx(7 / 10)
    assert report["per_class_accuracy"] == pytest.approx({"a": 3 / 4, "b": 2 / 3, "c": 2 / 3})
    assert report["per_class_count"] == {"a": 4, "b": 3, "c": 3}
    assert report["confusion_matrix"] == EXPECTED.tolist()


def test_evaluate_uses_the_seven_emotions_by_default():
    y = np.arange(7)
    report = evaluate(FixedPredictions(y), X=np.zeros((7, 1, 4, 4)), y=y)
    assert list(report["per_class_accuracy"]) == list(CLASS_NAMES)
    assert report["accuracy"] == 1.0


def test_evaluate_refuses_an_empty_set():
    empty = np.array([], dtype=np.int64)
    with pytest.raises(ValueError, match="empty"):
        evaluate(FixedPredictions(empty), X=np.zeros((0, 1, 4, 4)), y=empty)


def test_report_round_trips_through_json(tmp_path):
    y_true = np.array([0, 0, 3, 3, 3, 6])  # no disgust, fear, sad or surprise: their accuracy is NaN
    y_pred = np.array([0, 4, 3, 3, 2, 6])
    report = evaluate(FixedPredictions(y_pred), X=None, y=y_true)
    path = write_report(tmp_path / "new" / "report.json", report)
    assert path == tmp_path / "new" / "report.json"
    assert os.listdir(tmp_path / "new") == ["report.json"]  # the temporary file is gone

    with open(path, encoding="utf-8") as file:
        loaded = json.load(file)
    assert loaded["confusion_matrix"] == report["confusion_matrix"]
    assert loaded["count"] == 6 and loaded["accuracy"] == pytest.approx(4 / 6)
    assert loaded["per_class_accuracy"]["happy"] == pytest.approx(2 / 3)
    assert loaded["per_class_accuracy"]["disgust"] is None  # NaN is not JSON: it is written as null


def test_write_report_converts_numpy_types(tmp_path):
    report = {"accuracy": np.float32(0.5), "count": np.int64(4), "matrix": np.eye(2, dtype=np.int64),
              "missing": np.float64("nan")}
    path = write_report(str(tmp_path / "report.json"), report)
    with open(path, encoding="utf-8") as file:
        assert json.load(file) == {"accuracy": 0.5, "count": 4, "matrix": [[1, 0], [0, 1]], "missing": None}


def test_write_report_replaces_an_old_report(tmp_path):
    path = tmp_path / "report.json"
    path.write_text("old, and not even JSON")
    write_report(path, {"accuracy": 1.0})
    assert json.loads(path.read_text()) == {"accuracy": 1.0}


def test_table_lists_each_class_with_samples_then_the_total():
    report = {
        "accuracy": 0.65, "count": 10,
        "per_class_accuracy": {"angry": 0.5, "disgust": math.nan, "happy": 0.875},
        "per_class_count": {"angry": 2, "disgust": 0, "happy": 8},
    }
    lines = format_per_class_table(report).splitlines()
    assert len(lines) == 4  # header, angry, happy, overall: disgust has no samples
    assert lines[1].split() == ["angry", "50.0%", "2"]
    assert lines[2].split() == ["happy", "87.5%", "8"]
    assert lines[3].split() == ["overall", "65.0%", "10"]


def test_table_reads_a_report_loaded_from_json(tmp_path):
    y = np.array([0, 3, 3])
    path = write_report(tmp_path / "report.json", evaluate(FixedPredictions(y), X=None, y=y))
    with open(path, encoding="utf-8") as file:
        table = format_per_class_table(json.load(file))
    assert [line.split()[0] for line in table.splitlines()] == ["emotion", "angry", "happy", "overall"]
