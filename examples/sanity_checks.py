"""Sanity checks to run before a long training run: python examples/sanity_checks.py [--data PATH] [--skip-data].

1. Every layer's backward pass against numerical gradients (minicnn.layer_checks), one table row per gradient.
2. On real FER2013 images, the two checks of the paper (and of cs231n):
   - the initial loss of the shallow net without regularisation is close to ln 7 = 1.946, the loss of a network
     that gives all seven classes the same probability, as a freshly initialised one should;
   - the network can drive the training accuracy on 100 images to 100%: a network that cannot even memorise a
     handful of images has a bug, and no amount of training on 28,709 will show it as clearly.
When FER2013 cannot be found the data checks are skipped with a note. Exit status 1 when any check fails.
"""
import argparse
import dataclasses
import math
import sys


from minicnn import data, models
from minicnn.gradient_check import GRADIENT_TOLERANCE
from minicnn.layer_checks import run_layer_checks
from minicnn.solver import Solver
from minicnn.cli import run_script

NUM_CLASSES = len(data.CLASS_NAMES)
LOSS_BATCH = 128            # the paper's batch size: enough images for batch norm to see stable statistics
# Scores start near zero but not at zero (scores-layer weights of std 1e-2, dropout noise), which moves the loss a
# few hundredths off ln 7 either way; a loss off by more than 0.1 points to a bug in initialisation, the softmax
# or the data.
LOSS_TOLERANCE = 0.1
OVERFIT_IMAGES = 100
# Memorising 100 images: no dropout and no L2, which exist to prevent exactly that, and no flips, which would show
# the net 200 different images. Adam at the paper's 1e-3 without decay; batches of 20 give 5 steps per epoch and
# let the batch-norm running statistics (used to measure the accuracy) settle quickly. With seeds 0, 1 and 2 the
# net reached 100% after 4 or 5 epochs, at 10 to 25 s per epoch on 2 CPU cores; 10 epochs leave a wide margin.
OVERFIT_LEARNING_RATE = 1e-3
OVERFIT_BATCH_SIZE = 20
OVERFIT_MAX_EPOCHS = 10


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description="Gradient checks of every layer, then the paper's sanity checks "
                                                 "on real FER2013 images.")
    parser.add_argument("--data", help="FER2013 file or folder (default: $MINICNN_DATA, else data/fer2013.csv)")
    parser.add_argument("--skip-data", action="store_true", help="run the layer gradient checks only")
    parser.add_argument("--seed", type=int, default=0, help="default: %(default)s")
    return parser.parse_args(argv)


# ------------------------------------------------------------------------------------------------ layer checks

def layer_check_rows(seed):
    """One row per checked gradient: (check, gradient, gradient_error, tolerance, passed)."""
    rows = []
    for check, errors in run_layer_checks(seed).items():
        for gradient, error in errors.items():
            rows.append((check, gradient, error, GRADIENT_TOLERANCE, error <= GRADIENT_TOLERANCE))
    return rows


def print_layer_checks(rows):
    print(f"{'check':<24}{'gradient':<10}{'error/scale':>16}{'tolerance':>12}  result")
    for check, gradient, error, limit, passed in rows:
        print(f"{check:<24}{gradient:<10}{error:>16.2e}{limit:>12.0e}  {verdict(passed)}")


def verdict(passed):
    return "PASS" if passed else "FAIL"


# ------------------------------------------------------------------------------------------------- data checks

def check_initial_loss(splits, seed):
    """The training-mode loss of a fresh shallow net (reg 0) on LOSS_BATCH real images, against ln 7."""
    model = models.shallow_net(reg=0.0, seed=seed)
    loss, _ = model.loss(splits["X_train"][:LOSS_BATCH], splits["y_train"][:LOSS_BATCH])
    expected = math.log(NUM_CLASSES)
    passed = abs(float(loss) - expected) <= LOSS_TOLERANCE
    print(f"initial loss on {LOSS_BATCH} training images: {float(loss):.4f}, expected ln {NUM_CLASSES} = "
          f"{expected:.4f} (within {LOSS_TOLERANCE})  {verdict(passed)}")
    return passed


class Memorised(Exception):
    """Ends training once every training image is labelled right (the Solver itself has no early stopping)."""


def stop_when_memorised(solver):
    """A Solver epoch callback: print the epoch's accuracies and stop training at 100% training accuracy."""
    train_acc = solver.train_acc_history[-1]
    print(f"  epoch {solver.epoch}: train accuracy {train_acc:.2f}, validation accuracy "
          f"{solver.val_acc_history[-1]:.2f}")
    if train_acc == 1.0:
        raise Memorised


def overfit_model(seed):
    """The paper's shallow net without dropout and without L2: nothing in it works against memorising."""
    preset = models.shallow_net().architecture
    return models.shallow_net(conv_layers=without_dropout(preset.conv_layers),
                              affine_layers=without_dropout(preset.affine_layers), reg=0.0, seed=seed)


def without_dropout(layers):
    return [dataclasses.replace(layer, dropout=0.0) for layer in layers]


def check_overfitting(splits, seed):
    """Train on OVERFIT_IMAGES training images until they are all labelled right or OVERFIT_MAX_EPOCHS pass.

    The validation images (as many, from PublicTest) only show the other half of the lesson: memorising is not
    learning, so their accuracy stays near chance.
    """
    small = {"X_train": splits["X_train"][:OVERFIT_IMAGES], "y_train": splits["y_train"][:OVERFIT_IMAGES],
             "X_val": splits["X_val"][:OVERFIT_IMAGES], "y_val": splits["y_val"][:OVERFIT_IMAGES]}
    solver = Solver(overfit_model(seed), small, update_rule="adam",
                    optim_config={"learning_rate": OVERFIT_LEARNING_RATE}, batch_size=OVERFIT_BATCH_SIZE,
                    num_epochs=OVERFIT_MAX_EPOCHS, seed=seed, verbose=False, on_epoch_end=stop_when_memorised)
    print(f"overfitting {OVERFIT_IMAGES} training images (at most {OVERFIT_MAX_EPOCHS} epochs):")
    try:
        solver.train()
    except Memorised:
        pass
    reached = solver.train_acc_history[-1]
    passed = reached == 1.0
    print(f"training accuracy reached {100 * reached:.0f}% after {solver.epoch} epochs  {verdict(passed)}")
    return passed


def run_data_checks(data_path, seed):
    """Both checks on real images; True when both pass, or when FER2013 is not there (then they are skipped)."""
    try:
        path = data.find_data_path(data_path)
    except data.DataNotFoundError as error:
        print(f"skipping the checks on real data: {error}")
        return True
    try:
        splits = data.load_splits(path, subset=max(LOSS_BATCH, OVERFIT_IMAGES))
    except ValueError as error:  # a malformed file: a failed check, told plainly
        print(f"FAIL: the real data cannot be read: {error}")
        return False
    loss_passed = check_initial_loss(splits, seed)
    overfitting_passed = check_overfitting(splits, seed)  # run even after a failure: two symptoms say more than one
    return loss_passed and overfitting_passed


def main(argv=None):
    arguments = parse_arguments(argv)
    rows = layer_check_rows(arguments.seed)
    print_layer_checks(rows)
    passed = all(row[-1] for row in rows)
    if not arguments.skip_data:
        print()
        passed = run_data_checks(arguments.data, arguments.seed) and passed
    print(f"\n{'all checks passed' if passed else 'SOME CHECKS FAILED'}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(run_script(main))
