"""One training run, end to end, and its command line: `minicnn train` (minicnn/commands/train.py, which
examples/train_shallow.py, train_deep.py and train_hybrid.py run too) calls train(), examples/cross_validate.py builds
on the pieces.

Three recipes (RECIPES): the paper's shallow and deep nets (Adam, x0.95 per epoch, random mirroring), and minicnn's
VGG-style net (train_deep.py --arch vgg) with the methods that took FER2013 past the paper: SGD with Nesterov
momentum, a cosine schedule after a short warm-up, decoupled weight decay, label smoothing, and random zoom, shift,
rotation, mirroring and erasing (minicnn.augmentation). Every part of a recipe is an option, so each method can be
switched on or off alone.

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
from minicnn.augmentation import standard_augmentation
from minicnn.backend import GPUUnavailableError, resolve_device
from minicnn.preprocessing import random_flip
from minicnn.solver import (Solver, TrainingDiverged, TrainingInterrupted, data_parallel, previous_checkpoint,
                            schedules)

# The paper's recipe (its tables): Adam, learning rate decayed x0.95 per epoch, batch 128, mirroring. The VGG recipe
# (after Khaireddin and Chen, 2021, on a shorter budget): SGD with Nesterov momentum, a cosine schedule after a
# two-epoch warm-up, decoupled weight decay, label smoothing and the standard augmentation.
RECIPES = {
    "shallow": dict(lr=1e-3, reg=1e-6, epochs=30),
    "deep": dict(lr=1e-2, reg=1e-7, epochs=35),
    "vgg": dict(lr=1e-2, reg=0.0, epochs=50, optimizer="nesterov", schedule="cosine", warmup_epochs=2,
                weight_decay=5e-4, label_smoothing=0.1, augment=1.0),
}
ARCHITECTURES = ["deep", "vgg"]     # train_deep.py --arch
HYBRID_DEPTHS = ["shallow", "deep"]  # train_hybrid.py --depth
PRESETS = {"shallow": models.shallow_net, "deep": models.deep_net, "vgg": models.vgg_net}
# --optimizer: the update rule and its settings besides the learning rate.
OPTIMIZERS = {"adam": ("adam", {}), "sgd": ("sgd", {}), "momentum": ("sgd_momentum", {"momentum": 0.9}),
              "nesterov": ("sgd_momentum", {"momentum": 0.9, "nesterov": True})}
SCHEDULES = ("exponential", "step", "cosine", "plateau")


def training_parser(description, epochs, name, prog=None):
    """An ArgumentParser holding the options that every script training on FER2013 shares: the data, the schedule
    (all but the learning rate and L2 strength), the device and where the run goes. prog: the command's name in
    --help (None: the script's file name)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--data", help="fer2013.csv(.gz), fer2013.tar.gz, an image folder or a minicnn .npz(.xz) "
                                       "(default: $MINICNN_DATA, else data/fer2013.csv)")
    parser.add_argument("--epochs", type=int, default=epochs, help="default: %(default)s")
    parser.add_argument("--lr-decay", type=float, default=0.95,
                        help="per-epoch factor of --schedule exponential (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=128, help="default: %(default)s")
    parser.add_argument("--subset", type=int, help="train on the first N training images only, for quick tries")
    parser.add_argument("--no-flip", action="store_true", help="do not mirror training images at random")
    parser.add_argument("--augment", type=float, metavar="STRENGTH",
                        help="random zoom, shift, rotation, mirroring and erasing (minicnn.augmentation."
                             "standard_augmentation) at this strength, 1 the standard one (default: %(default)s; "
                             "None: mirroring alone)")
    parser.add_argument("--optimizer", choices=list(OPTIMIZERS), default="adam", help="default: %(default)s")
    parser.add_argument("--schedule", choices=SCHEDULES, default="exponential",
                        help="the learning rate per epoch: x--lr-decay per epoch, x0.1 at every third of the run, "
                             "a cosine to 0 after --warmup-epochs, or x0.1 after --patience epochs without a better "
                             "PublicTest accuracy (default: %(default)s)")
    parser.add_argument("--warmup-epochs", type=int, default=0, help="for --schedule cosine (default: %(default)s)")
    parser.add_argument("--patience", type=int, default=5, help="for --schedule plateau (default: %(default)s)")
    parser.add_argument("--weight-decay", type=float, default=0.0,
                        help="decoupled weight decay, beside the L2 term --reg (default: %(default)s)")
    parser.add_argument("--label-smoothing", type=float, default=0.0, help="default: %(default)s")
    parser.add_argument("--device", default=os.environ.get("MINICNN_DEVICE", "cpu"), choices=["cpu", "gpu", "auto"],
                        help="default: $MINICNN_DEVICE, else cpu (now: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="default: %(default)s")
    parser.add_argument("--name", default=name, help="default: %(default)s")
    parser.add_argument("--runs-dir", default="runs", help="folder of all runs (default: %(default)s)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar: the loss every 10 iterations and "
                                                                    "one line per epoch instead (for logs)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no per-epoch lines")
    return parser


def net_name(depth, hybrid=False):
    """What a run of the `depth` net trains, in words: "the paper's hybrid deep network"."""
    if depth == "vgg":
        return "minicnn's VGG-style network"
    return f"the paper's {'hybrid ' if hybrid else ''}{depth} network"


def parse_arguments(depth, hybrid, argv=None, prog=None):
    """The options of a run of the `depth` net ('shallow', 'deep' or 'vgg'), with its recipe as defaults; prog as in
    training_parser."""
    recipe = RECIPES[depth]
    parser = training_parser(f"Train {net_name(depth, hybrid)} on FER2013.", recipe["epochs"],
                             f"{'hybrid_' if hybrid else ''}{depth}", prog)
    parser.set_defaults(**{key: value for key, value in recipe.items() if key not in ("lr", "reg", "epochs")})
    parser.add_argument("--lr", type=float, default=recipe["lr"], help="learning rate (default: %(default)s)")
    parser.add_argument("--reg", type=float, default=recipe["reg"], help="L2 strength (default: %(default)s)")
    # --depth and --arch are chosen before this parser runs (minicnn/commands/train.py), since the defaults above
    # depend on them; they are declared again here for --help.
    if hybrid:
        parser.add_argument("--depth", choices=HYBRID_DEPTHS, default=depth,
                            help="the conv part: the paper's shallow or deep net (default: shallow)")
    elif depth in ARCHITECTURES:
        parser.add_argument("--arch", choices=ARCHITECTURES, default=depth,
                            help="the paper's deep net, or minicnn's VGG-style net with its own recipe (default: "
                                 "deep)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run from RUNS_DIR/NAME/checkpoint.npz, with the learning rate, its "
                             "schedule and the optimiser state saved there (--lr and the schedule's options are then "
                             "ignored); a larger --epochs trains longer")
    parser.add_argument("--data-parallel", action="store_true",
                        help="train one model on all the processes that mpiexec started, each on its share of every "
                             f"minibatch (--batch-size is the whole minibatch); needs {data_parallel.INSTALL_HINT}")
    return parser.parse_args(argv)


def start_data_parallel(arguments):
    """(DataParallel or None, error message or None) for a run: a DataParallel over mpiexec's processes when
    --data-parallel asks for one; an error when mpi4py is missing, or when mpiexec started several processes
    without the flag (each would train a model of its own, all writing the same files)."""
    if arguments.data_parallel:
        try:
            return data_parallel.world(), None
        except ImportError as error:
            return None, str(error)
    processes = data_parallel.processes_started_by_launcher()
    if processes > 1:
        return None, (f"this is one of {processes} processes started by an MPI launcher, but --data-parallel is not "
                      "given: each would train a model of its own into the same files. Add --data-parallel to train "
                      "one model on all of them, or start one process")
    return None, None


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
    """The `depth` net (its hybrid twin when hybrid) with arguments.reg, arguments.label_smoothing and
    arguments.seed; overrides, such as affine_layers, go to the preset."""
    return PRESETS[depth](hog=hybrid, reg=arguments.reg, seed=arguments.seed,
                          label_smoothing=arguments.label_smoothing, **overrides)


def make_solver(model, splits, arguments, hybrid, **options):
    """The Solver of arguments' recipe for model, on splits' train and val parts: the update rule, schedule, weight
    decay and augmentation that arguments name.

    Augmentation stays off for the hybrid net, whose HOG features belong to the unchanged image. options (the
    checkpoint, resume, on_epoch_end) go to Solver unchanged.
    """
    update_rule, settings = OPTIMIZERS[arguments.optimizer]
    return Solver(model, {name: splits[name] for name in ("X_train", "y_train", "X_val", "y_val")},
                  update_rule=update_rule, optim_config={"learning_rate": arguments.lr, **settings},
                  schedule=make_schedule(arguments), weight_decay=arguments.weight_decay,
                  batch_size=arguments.batch_size, num_epochs=arguments.epochs,
                  augment=make_augmentation(arguments, hybrid), device=arguments.device,
                  seed=arguments.seed, verbose=not arguments.quiet, progress=not arguments.no_progress, **options)


def make_schedule(arguments):
    """The learning-rate schedule arguments.schedule names, set by the other options."""
    if arguments.schedule == "step":
        return schedules.StepDecay(0.1, every=max(1, arguments.epochs // 3))
    if arguments.schedule == "cosine":
        return schedules.CosineWithWarmup(arguments.epochs, warmup_epochs=arguments.warmup_epochs)
    if arguments.schedule == "plateau":
        return schedules.ReduceOnPlateau(0.1, patience=arguments.patience)
    return schedules.ExponentialDecay(arguments.lr_decay)


def make_augmentation(arguments, hybrid):
    """The augment function of a run: none for the hybrid net or with --no-flip, the standard augmentation at
    --augment's strength, else (the paper's) random mirroring."""
    if hybrid or arguments.no_flip:
        if arguments.augment is not None:
            raise ValueError("--augment changes the images, so it cannot be used with --no-flip, nor on the hybrid "
                             "net, whose HOG features belong to the unchanged image")
        return None
    return random_flip if arguments.augment is None else standard_augmentation(arguments.augment)


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
    parallel, problem = start_data_parallel(arguments)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if parallel is None:
        return train_run(depth, hybrid, arguments)
    return parallel.run_everywhere(lambda: train_run(depth, hybrid, arguments, parallel))


def train_run(depth, hybrid, arguments, parallel=None):
    """The run that train() parsed: in this process alone, or as one process of a DataParallel, where only process 0
    (the root) prints and writes files, and every process reads the same data and checkpoint. Returns the exit
    status."""
    is_root = parallel is None or parallel.is_root
    run_dir = Path(arguments.runs_dir) / arguments.name
    checkpoint = run_dir / "checkpoint.npz"
    if arguments.resume and not (checkpoint.exists() or Path(previous_checkpoint(checkpoint)).exists()):
        print(f"error: --resume: there is no checkpoint at {checkpoint}", file=sys.stderr)
        return 2
    if not is_root:
        arguments = argparse.Namespace(**{**vars(arguments), "quiet": True})
    try:
        resolve_device(arguments.device)  # a missing GPU is said at once, before the data is read
        splits = load_data(arguments, hybrid)
        model = build_model(depth, hybrid, arguments)
        solver = make_solver(model, splits, arguments, hybrid, checkpoint_path=checkpoint if is_root else None,
                             resume=checkpoint if arguments.resume else None,
                             on_epoch_end=epoch_writer(run_dir) if is_root else None, data_parallel=parallel)
    except (data.DataNotFoundError, GPUUnavailableError, ValueError) as error:
        # no data or no GPU, a malformed file, a checkpoint that misfits
        print(f"error: {error}", file=sys.stderr)
        return 2
    model.mean_image = splits["mean_image"]
    try:
        if not is_root:
            solver.train()
            return 0
        run_dir.mkdir(parents=True, exist_ok=True)
        evaluation.write_report(run_dir / "config.json", {"arguments": vars(arguments), "depth": depth,
                                                          "hybrid": hybrid, "machine": machine_description(),
                                                          "processes": 1 if parallel is None else parallel.size,
                                                          "architecture": json.loads(model.architecture.to_json())})
        train_and_save(solver, model, splits, run_dir)
        if parallel is not None:
            print(f"The {parallel.size} processes held identical parameters at the end of every epoch.")
    except (TrainingDiverged, data_parallel.ParametersDiverged) as error:  # every process stops at the same step
        if is_root:
            print(f"error: {error}\n{kept_checkpoint(solver, checkpoint)}", file=sys.stderr)
        return 1
    except TrainingInterrupted as error:
        if is_root:
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
