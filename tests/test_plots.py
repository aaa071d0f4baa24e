"""Tests for minicnn/plots.py: each function writes a real PNG that matplotlib reads back, closes its figure, and
refuses empty histories and malformed confusion matrices with a clear error."""
import matplotlib.pyplot as plt
import numpy as np
import pytest

from minicnn.plots import (moving_average, plot_accuracy, plot_confusion_matrix, plot_loss,
                           plot_training_run)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path):
    """path is a non-empty PNG that matplotlib reads back as an RGB(A) image of a plausible size."""
    with open(path, "rb") as file:
        assert file.read(8) == PNG_SIGNATURE
    image = plt.imread(path)
    height, width, channels = image.shape
    assert 200 <= height <= 2000 and 200 <= width <= 2000
    assert channels in (3, 4)
    assert image.std() > 0  # something was drawn, not a blank page


@pytest.fixture
def history():
    """A short fake training run: 300 noisy decreasing losses and 5 epochs of accuracies."""
    rng = np.random.default_rng(0)
    return {
        "loss_history": list(1.9 * np.exp(-np.arange(300) / 150) + 0.1 * rng.random(300)),
        "train_acc_history": [0.30, 0.42, 0.51, 0.58, 0.63],
        "val_acc_history": [0.29, 0.39, 0.46, 0.49, 0.50],
    }


@pytest.fixture(autouse=True)
def no_figure_left_open():
    """Every test checks that the plot functions closed all the figures they opened."""
    yield
    assert plt.get_fignums() == []


def test_moving_average_of_each_window():
    np.testing.assert_allclose(moving_average(np.array([1.0, 2.0, 3.0, 6.0]), 2), [1.5, 2.5, 4.5])


def test_plot_loss_writes_a_png_in_a_new_folder(tmp_path, history):
    path = tmp_path / "plots" / "loss.png"
    assert plot_loss(history["loss_history"], path, smoothing=20) == path
    assert_png(path)


def test_plot_loss_with_fewer_iterations_than_the_window(tmp_path):
    assert_png(plot_loss(np.array([2.0, 1.5, 1.2]), tmp_path / "loss.png", smoothing=100))


def test_plot_accuracy_writes_a_png(tmp_path, history):
    path = plot_accuracy(history["train_acc_history"], history["val_acc_history"], str(tmp_path / "acc.png"))
    assert path == str(tmp_path / "acc.png")
    assert_png(path)


@pytest.mark.parametrize("normalize", [True, False])
def test_plot_confusion_matrix_writes_a_png(tmp_path, normalize):
    confusion = np.random.default_rng(1).integers(0, 50, size=(7, 7)) + np.diag(np.arange(100, 800, 100))
    confusion[1] = 0  # a class without samples must not divide by zero
    path = plot_confusion_matrix(confusion, tmp_path / "confusion.png", normalize=normalize)
    assert_png(path)


def test_plot_training_run_writes_loss_and_accuracy(tmp_path, history):
    loss_path, accuracy_path = plot_training_run(history, tmp_path / "run")
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["accuracy.png", "loss.png"]
    assert_png(loss_path)
    assert_png(accuracy_path)


@pytest.mark.parametrize("call", [
    lambda path: plot_loss([], path),
    lambda path: plot_accuracy([], [0.5], path),
    lambda path: plot_accuracy([0.5], [], path),
    lambda path: plot_training_run({"loss_history": [], "train_acc_history": [], "val_acc_history": []}, path),
], ids=["loss", "train-accuracy", "val-accuracy", "training-run"])
def test_empty_histories_are_refused(tmp_path, call):
    with pytest.raises(ValueError, match="empty"):
        call(tmp_path / "plot.png")


def test_accuracy_histories_of_different_lengths_are_refused(tmp_path):
    with pytest.raises(ValueError, match="3 epochs.*2"):
        plot_accuracy([0.1, 0.2, 0.3], [0.1, 0.2], tmp_path / "acc.png")


@pytest.mark.parametrize("smoothing", [0, -3, 2.5])
def test_bad_smoothing_is_refused(tmp_path, smoothing):
    with pytest.raises(ValueError, match="smoothing"):
        plot_loss([1.0, 0.5], tmp_path / "loss.png", smoothing=smoothing)


@pytest.mark.parametrize("shape", [(7, 6), (49,), (2, 2, 2)])
def test_non_square_confusion_matrix_is_refused(tmp_path, shape):
    with pytest.raises(ValueError, match="square"):
        plot_confusion_matrix(np.ones(shape), tmp_path / "confusion.png")


def test_class_names_must_match_the_matrix(tmp_path):
    with pytest.raises(ValueError, match="3 class names for a 7x7"):
        plot_confusion_matrix(np.eye(7), tmp_path / "confusion.png", class_names=("a", "b", "c"))

