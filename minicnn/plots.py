"""Figures of a training run and its evaluation, saved as PNG files: the loss per iteration (the paper's Figure 3),
train and validation accuracy per epoch (Figure 4) and the confusion matrix (Figures 5 and 6).

Every function takes the numbers and a file path, creates the file's folder, writes the figure, closes it and
returns the path. Closing matters: pyplot keeps every open figure alive, and a long run that plots after each
epoch would otherwise grow without bound.
"""
import contextlib
import os

import matplotlib

# Agg draws into memory and writes files without a screen, so plotting works on a headless training server.
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator
import numpy as np

from minicnn.backend import to_numpy
from minicnn.data import CLASS_NAMES
from minicnn.evaluation import check_confusion_matrix

DPI = 120  # pixels per inch of the PNG files


@contextlib.contextmanager
def saved_figure(path, figsize=(8, 5), nrows=1, ncols=1):
    """Open a figure with one axes (or an (nrows, ncols) array of axes), yield (fig, ax), then save it to path as a
    PNG and close it, even when drawing fails."""
    fig, ax = plt.subplots(nrows, ncols, figsize=figsize, squeeze=nrows == ncols == 1)
    try:
        yield fig, ax
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        fig.savefig(path, dpi=DPI, bbox_inches="tight")
    finally:
        plt.close(fig)


def _history(values, name):
    """values (a list of numbers, or an array) as a float64 vector (T,); an empty history is an error."""
    values = np.asarray(to_numpy(values), dtype=np.float64).ravel()
    if values.size == 0:
        raise ValueError(f"{name} is empty: there is nothing to plot (did training run at least one iteration?)")
    return values


def moving_average(values, window):
    """Mean of each run of `window` consecutive values: (T,) -> (T - window + 1,)."""
    return np.convolve(values, np.ones(window) / window, mode="valid")


def plot_loss(loss_history, path, smoothing=100, title="Training loss"):
    """Plot the training loss of every iteration (faint) and its moving average over `smoothing` iterations.

    loss_history: (T,) one loss per minibatch, as Solver.loss_history. A single minibatch loss is noisy, so the
    trend is read from the average; the window shrinks to T when the run is shorter. Returns path.
    """
    loss = _history(loss_history, "loss_history")
    if int(smoothing) != smoothing or smoothing < 1:
        raise ValueError(f"plot_loss: smoothing must be a whole number of iterations >= 1, got {smoothing!r}")
    window = min(int(smoothing), loss.size)
    iterations = np.arange(1, loss.size + 1)
    with saved_figure(path) as (fig, ax):
        ax.plot(iterations, loss, color="tab:blue", alpha=0.25, linewidth=0.8, label="loss per iteration")
        # The average of iterations t-window+1..t is drawn at t, so it never uses losses from the future.
        ax.plot(iterations[window - 1:], moving_average(loss, window), color="tab:blue", linewidth=2,
                label=f"moving average ({window} iterations)")
        ax.set(xlabel="iteration", ylabel="training loss", title=title)
        ax.grid(alpha=0.3)
        ax.legend()
    return path


def plot_accuracy(train_acc_history, val_acc_history, path, title="Accuracy per epoch"):
    """Plot train and validation accuracy after each epoch, in %.

    train_acc_history, val_acc_history: (E,) fractions in [0, 1], one per epoch, as Solver keeps them. A widening
    gap between the two curves is the sign of overfitting. Returns path.
    """
    train = _history(train_acc_history, "train_acc_history")
    val = _history(val_acc_history, "val_acc_history")
    if train.size != val.size:
        raise ValueError(f"plot_accuracy: train_acc_history has {train.size} epochs but val_acc_history has "
                         f"{val.size}; both hold one value per epoch")
    epochs = np.arange(1, train.size + 1)
    with saved_figure(path) as (fig, ax):
        ax.plot(epochs, 100 * train, marker="o", label="train")
        ax.plot(epochs, 100 * val, marker="o", label="validation")
        ax.set(xlabel="epoch", ylabel="accuracy (%)", title=title)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))  # whole epochs: no tick at 2.5
        ax.set_xlim(0.5, train.size + 0.5)                     # half an epoch of margin, so even one epoch gets a tick
        ax.grid(alpha=0.3)
        ax.legend()
    return path


def plot_confusion_matrix(confusion, path, class_names=CLASS_NAMES, normalize=True, title="Confusion matrix"):
    """Draw the confusion matrix as a heat map with the value of every cell written in it.

    confusion: (K, K) counts, rows = true class, columns = predicted class, as evaluation.confusion_matrix
    returns; class_names: K labels for the axes. With normalize=True each row is divided by its sum and shown in
    %, so a cell reads "this share of class i was predicted as j" whatever the class sizes (FER2013 has 16 times
    more happy than disgust faces); a class with no samples shows a row of zeros. With normalize=False the cells
    show the raw counts. title goes above the matrix. Returns path.
    """
    confusion = check_confusion_matrix(confusion, "plot_confusion_matrix")
    if len(class_names) != len(confusion):
        raise ValueError(f"plot_confusion_matrix: {len(class_names)} class names for a "
                         f"{len(confusion)}x{len(confusion)} confusion matrix")
    cells = _row_percentages(confusion) if normalize else confusion.astype(np.float64)
    with saved_figure(path, figsize=(7, 6)) as (fig, ax):
        image = ax.imshow(cells, cmap="Blues", vmin=0, vmax=100 if normalize else None)
        fig.colorbar(image, ax=ax, label="% of the true class" if normalize else "samples")
        _write_cell_values(ax, image, cells, "{:.1f}" if normalize else "{:.0f}")
        ticks = np.arange(len(class_names))
        ax.set_xticks(ticks, labels=class_names, rotation=45, ha="right")
        ax.set_yticks(ticks, labels=class_names)
        ax.set(xlabel="Predicted", ylabel="True", title=title)
    return path


def _row_percentages(confusion):
    """(K, K) counts -> (K, K) float64 where each row sums to 100, or is all 0 for a class with no samples."""
    counts = confusion.sum(axis=1, keepdims=True).astype(np.float64)
    return np.divide(100 * confusion, counts, out=np.zeros(confusion.shape), where=counts > 0)


def _write_cell_values(ax, image, cells, number_format):
    """Write each value of cells: (K, K) at the centre of its square, white on dark squares to stay readable.

    image is the heat map drawn from cells; its norm maps a value to its place (0 to 1) on the colour scale.
    """
    for (row, column), value in np.ndenumerate(cells):
        ax.text(column, row, number_format.format(value), ha="center", va="center", fontsize=9,
                color="white" if image.norm(value) > 0.5 else "black")


def plot_training_run(history_dict, folder):
    """Write loss.png and accuracy.png of a training run into folder.

    history_dict: a dict (or any mapping) with loss_history, train_acc_history and val_acc_history, the lists that
    Solver keeps. Returns (loss_path, accuracy_path).
    """
    loss_path = plot_loss(history_dict["loss_history"], os.path.join(folder, "loss.png"))
    accuracy_path = plot_accuracy(history_dict["train_acc_history"], history_dict["val_acc_history"],
                                  os.path.join(folder, "accuracy.png"))
    return loss_path, accuracy_path


def plot_search(trials, path, title="Hyper-parameter search, scored on PublicTest"):
    """Draw a search's trials side by side: where each setting lies (learning rate against L2 strength, coloured by
    its best PublicTest accuracy, numbered by its rank) and the PublicTest accuracy of every trial after each epoch,
    where a trial that early stopping (ASHA) ended, or that diverged, ends early.

    trials: result rows (dicts) with rank, learning_rate, reg, val_acc (the best PublicTest accuracy), val_acc_history
    (one accuracy per epoch trained), diverged and failed, as examples/cross_validate.py writes them. Returns path.
    """
    if not trials:
        raise ValueError("plot_search: there are no trials to plot")
    accuracies = 100 * np.array([trial["val_acc"] for trial in trials])
    colours = plt.get_cmap("viridis")
    norm = matplotlib.colors.Normalize(accuracies.min(), max(accuracies.max(), accuracies.min() + 1e-9))
    with saved_figure(path, figsize=(13, 5), ncols=2) as (fig, axes):
        where, curves = axes[0]
        for trial, accuracy in zip(trials, accuracies):
            failed = trial["diverged"] or trial["failed"]
            where.scatter(trial["learning_rate"], trial["reg"], s=80, marker="x" if failed else "o",
                          color="tab:red" if failed else colours(norm(accuracy)), zorder=3)
            where.annotate(str(trial["rank"]), (trial["learning_rate"], trial["reg"]), textcoords="offset points",
                           xytext=(6, 4), fontsize=8)
            history = 100 * np.asarray(trial["val_acc_history"], dtype=np.float64)
            if history.size:
                curves.plot(np.arange(1, history.size + 1), history, marker="o", markersize=4, alpha=0.8,
                            color="tab:red" if failed else colours(norm(accuracy)))
                curves.annotate(str(trial["rank"]), (history.size, history[-1]), textcoords="offset points",
                                xytext=(6, -3), fontsize=8)
        fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=colours), ax=where,
                     label="best PublicTest accuracy (%)")
        where.set(xscale="log", yscale="log", xlabel="learning rate", ylabel="L2 strength (reg)",
                  title="settings, numbered by rank (x: diverged)")
        where.margins(0.1)
        where.grid(alpha=0.3)
        curves.set(xlabel="epoch", ylabel="PublicTest accuracy (%)",
                   title="every trial, epoch by epoch, numbered by rank (stopped early: ends early)")
        curves.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        curves.grid(alpha=0.3)
        fig.suptitle(title)
    return path


def plot_image_grid(rows, path, row_titles=(), column_titles=(), title=None):
    """Grey images in a grid, one (H, W) image per cell, as many columns as the longest row; returns path.

    rows: lists of (H, W) arrays (any scale: each is shown from its own minimum to its maximum). row_titles and
    column_titles label the rows and the top row.
    """
    ncols = max(len(row) for row in rows)
    with saved_figure(path, figsize=(1.5 * ncols, 1.6 * len(rows)), nrows=len(rows), ncols=ncols) as (fig, axes):
        axes = np.asarray(axes).reshape(len(rows), ncols)
        for r, row in enumerate(rows):
            for c, ax in enumerate(axes[r]):
                ax.set_axis_off()
                if c < len(row):
                    ax.imshow(to_numpy(row[c]), cmap="gray")
                if r == 0 and c < len(column_titles):
                    ax.set_title(column_titles[c], fontsize=9)
            if r < len(row_titles):
                axes[r, 0].text(-0.1, 0.5, row_titles[r], transform=axes[r, 0].transAxes, ha="right",
                                va="center", fontsize=9)
        if title:
            fig.suptitle(title)
    return path
