"""One paper run, end to end, and its command line: `minicnn train` (minicnn/commands/train.py) and
examples/train_shallow.py, train_deep.py and train_hybrid.py call train(), examples/cross_validate.py builds on the
pieces.

Everything a run makes goes into RUNS_DIR/NAME/: config.json, checkpoint.npz (each epoch), history.json and the loss
and accuracy plots (each epoch), model.npz (the best epoch by validation accuracy), and report.json with the
PublicTest (validation) accuracy, per-class accuracy and confusion matrix. PrivateTest, the test set, is left to
examples/evaluate.py, to be touched once per final model.
"""
import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np

from minicnn import data, evaluation, machine, models, plots
from minicnn.preprocessing import random_flip
from minicnn.solver import Solver, TrainingDiverged, TrainingInterrupted, previous_checkpoint

# The paper's recipe (its tables): Adam, learning rate decayed x0.95 per epoch, batch 128.
RECIPES = {
    "shallow": dict(lr=1e-3, reg=1e-6, epochs=30),
    "deep": dict(lr=1e-2, reg=1e-7, epochs=35),
}
PRESETS = {"shallow": models.shallow_net, "deep": models.deep_net}


def training_parser(description, epochs, name, prog=None):
    """An ArgumentParser holding the options that every script training on FER2013 shares: the data, the schedule
    (all but the learning rate and L2 strength), the device and where the run goes. prog: the command's name in
    --help (None: the script's file name)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--data", help="fer2013.csv(.gz), fer2013.tar.gz, an image folder or a minicnn .npz(.xz) "
                                       "(default: $MINICNN_DATA, else data/fer2013.csv)")
    parser.add_argument("--epochs", type=int, default=epochs, help="default: %(default)s")
    parser.add_argument("--lr-decay", type=float, default=0.95, help="per-epoch factor (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=128, help="default: %(default)s")
    parser.add_argument("--subset", type=int, help="train on the first N training images only, for quick tries")
    parser.add_argument("--no-flip", action="store_true", help="do not mirror training images at random")
    parser.add_argument("--device", default=os.environ.get("MINICNN_DEVICE", "cpu"), choices=["cpu", "gpu", "auto"],
                        help="default: $MINICNN_DEVICE, else cpu (now: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="default: %(default)s")
    parser.add_argument("--name", default=name, help="default: %(default)s")
    parser.add_argument("--runs-dir", default="runs", help="folder of all runs (default: %(default)s)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar: the loss every 10 iterations and "
                                                                    "one line per epoch instead (for logs)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no per-epoch lines")
    return parser


def parse_arguments(depth, hybrid, argv=None, prog=None):
    """The options of a paper run, with the paper's recipe for `depth` as defaults; prog as in training_parser."""
    recipe = RECIPES[depth]
    kind = f"{'hybrid ' if hybrid else ''}{depth}"
    parser = training_parser(f"Train the paper's {kind} network on FER2013.", recipe["epochs"],
                             f"{'hybrid_' if hybrid else ''}{depth}", prog)
    parser.add_argument("--lr", type=float, default=recipe["lr"], help="Adam learning rate (default: %(default)s)")
    parser.add_argument("--reg", type=float, default=recipe["reg"], help="L2 strength (default: %(default)s)")
    if hybrid:  # chosen before this parser runs (commands/train.py), since the defaults above depend on it
        parser.add_argument("--depth", choices=list(RECIPES), default=depth,
                            help="the conv part: the paper's shallow or deep net (default: shallow)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run from RUNS_DIR/NAME/checkpoint.npz, with the learning rate and "
                             "optimiser state saved there (--lr is then ignored); a larger --epochs trains longer")
    return parser.parse_args(argv)


def load_data(arguments, hybrid):
    """The splits of FER2013 for training; for the hybrid net X is the pair (images, HOG features)."""
    splits = data.load_splits(data.find_data_path(arguments.data), subset=arguments.subset, keep_images=hybrid)
    if hybrid:
        from minicnn import features  # scikit-image is needed by the hybrid net only
        for split in ("train", "val"):
            hog = features.hog_features(splits.pop(f"images_{split}"))
            splits[f"X_{split}"] = (splits[f"X_{split}"], hog)
    return splits


def build_model(depth, hybrid, arguments, **overrides):
    """The paper's `depth` net (its hybrid twin when hybrid) with arguments.reg and arguments.seed; overrides, such
    as affine_layers, go to the preset."""
    return PRESETS[depth](hog=hybrid, reg=arguments.reg, seed=arguments.seed, **overrides)


def make_solver(model, splits, arguments, hybrid, **options):
    """The paper's Solver for model: Adam at arguments.lr, decayed per epoch, on splits' train and val parts.

    Random flips stay off for the hybrid net, whose HOG features belong to the unflipped image. options (the
    checkpoint, resume, on_epoch_end) go to Solver unchanged.
    """
    return Solver(model, {name: splits[name] for name in ("X_train", "y_train", "X_val", "y_val")},
                  update_rule="adam", optim_config={"learning_rate": arguments.lr}, lr_decay=arguments.lr_decay,
                  batch_size=arguments.batch_size, num_epochs=arguments.epochs,
                  augment=None if arguments.no_flip or hybrid else random_flip, device=arguments.device,
                  seed=arguments.seed, verbose=not arguments.quiet, progress=not arguments.no_progress, **options)


def epoch_writer(run_dir):
    """A Solver callback that writes history.json and the loss and accuracy plots after every epoch.

    history.json also keeps epoch_seconds, the wall time of each epoch (training and scoring), carried over from
    the file when a run resumes; the first epoch after a resume includes the time to load the data and start.
    """
    seconds = _earlier_epoch_seconds(run_dir / "history.json")
    last_end = time.perf_counter()

    def write(solver):
        nonlocal last_end
        # A repeated epoch replaces its old time; epochs run before times were kept get None.
        seconds[solver.epoch - 1:] = [None] * (solver.epoch - 1 - len(seconds)) + [time.perf_counter() - last_end]
        last_end = time.perf_counter()
        history = {"loss_history": solver.loss_history, "train_acc_history": solver.train_acc_history,
                   "val_acc_history": solver.val_acc_history, "learning_rate": solver.learning_rate(),
                   "epoch_seconds": seconds}
        evaluation.write_report(run_dir / "history.json", history)
        plots.plot_training_run(history, run_dir)
    return write


def _earlier_epoch_seconds(history_path):
    """The epoch_seconds of an existing history.json ([] for none, or for one written before they were kept)."""
    try:
        return list(json.loads(history_path.read_text()).get("epoch_seconds", []))
    except (OSError, ValueError, AttributeError):
        return []


def machine_description():
    """What the run ran on, for its config.json: the processor, its cores, Python and NumPy."""
    import platform
    return (f"{machine.cpuinfo_field('model name') or platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, NumPy {np.__version__}")


def kept_checkpoint(solver, checkpoint):
    """A sentence telling the user which checkpoint survived a stop."""
    if not solver.checkpoint_epoch:
        return "No epoch had finished, so there is no checkpoint to resume from."
    return f"The checkpoint of epoch {solver.checkpoint_epoch}, the last good one, is {checkpoint}."


def train(depth, hybrid=False, argv=None, prog=None):
    """Parse the command line (argv, None: sys.argv[1:]), train, save the best model and its validation report.
    Returns the exit status. prog: the command's name in --help (None: the script's file name)."""
    arguments = parse_arguments(depth, hybrid, argv, prog)
    run_dir = Path(arguments.runs_dir) / arguments.name
    checkpoint = run_dir / "checkpoint.npz"
    if arguments.resume and not (checkpoint.exists() or Path(previous_checkpoint(checkpoint)).exists()):
        print(f"error: --resume: there is no checkpoint at {checkpoint}", file=sys.stderr)
        return 2
    try:
        splits = load_data(arguments, hybrid)
        model = build_model(depth, hybrid, arguments)
        solver = make_solver(model, splits, arguments, hybrid, checkpoint_path=checkpoint,
                             resume=checkpoint if arguments.resume else None, on_epoch_end=epoch_writer(run_dir))
    except (data.DataNotFoundError, ValueError) as error:  # no data, a malformed file, a checkpoint that misfits
        print(f"error: {error}", file=sys.stderr)
        return 2
    model.mean_image = splits["mean_image"]
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        evaluation.write_report(run_dir / "config.json", {"arguments": vars(arguments), "depth": depth,
                                                          "hybrid": hybrid, "machine": machine_description(),
                                                          "architecture": json.loads(model.architecture.to_json())})
        train_and_save(solver, model, splits, run_dir)
    except TrainingDiverged as error:
        print(f"error: {error}\n{kept_checkpoint(solver, checkpoint)}", file=sys.stderr)
        return 1
    except TrainingInterrupted as error:
        print(f"{error}. {kept_checkpoint(solver, checkpoint)} Continue with the same command and --resume "
              f"(epoch {error.epoch} then starts over).", file=sys.stderr)
        return 128 + signal.Signals[error.signal_name]
    except OSError as error:  # a full disk, a folder made read-only: each file is written whole or not at all
        print(f"error: cannot write {error.filename or run_dir}: {error.strerror or error}. The unfinished file was "
              f"removed. {kept_checkpoint(solver, checkpoint)} Make room (or fix the folder's permissions), then "
              "run the same command with --resume.", file=sys.stderr)
        return 1
    return 0


def train_and_save(solver, model, splits, run_dir):
    """Train, then write the best model, its PublicTest report and confusion matrix into run_dir and print them."""
    started = time.perf_counter()
    solver.train()
    # Scored where it was trained (fast on the GPU), then saved from the host: the file loads on any machine.
    report = evaluation.evaluate(model, splits["X_val"], splits["y_val"])
    model.to("cpu").save(run_dir / "model.npz")
    report.update(split="PublicTest", best_val_acc=solver.best_val_acc, train_seconds=time.perf_counter() - started)
    evaluation.write_report(run_dir / "report.json", report)
    plots.plot_confusion_matrix(np.array(report["confusion_matrix"]), run_dir / "confusion_val.png")
    print(evaluation.format_per_class_table(report))
    print(f"PublicTest accuracy {report['accuracy']:.4f}; everything is in {run_dir}/")
