"""Random search for the learning rate, the L2 strength and the hidden FC width, as the paper chose its own.

python examples/cross_validate.py --depth shallow --trials 8 --subset 5000 --epochs 3

Each trial draws the learning rate and the L2 strength log-uniformly (a decade is a decade, whichever decade it
is) and the width of the hidden FC layers from a short list, trains the net on the first --subset training images
for --epochs epochs with the paper's recipe (minicnn.training), and is scored by its best validation (PublicTest)
accuracy. PrivateTest is never scored here: a test set that helped choose the hyper-parameters no longer measures
how the chosen net does on faces it has never seen.

Random rather than grid search (Bergstra and Bengio, 2012): 8 trials of a grid give each hyper-parameter 2 values,
8 random trials give each 8, and usually only one or two hyper-parameters matter much.

Writes RUNS_DIR/NAME/results.json and results.csv, trials ranked best first.
"""
import argparse
import csv
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

from minicnn import data, evaluation
from minicnn.files import atomic_write
from minicnn.solver import TrainingDiverged

from minicnn.training import PRESETS, build_model, load_data, make_solver, training_parser
from minicnn.cli import run_script

NAME_PATTERN = "cv_<depth>"  # the default --name, filled in once --depth is known
RESULT_FIELDS = ("rank", "learning_rate", "reg", "fc_width", "val_acc", "final_train_acc", "diverged", "seconds")


def parse_arguments(argv=None):
    parser = training_parser("Random search over learning rate, L2 strength and hidden FC width, scored on "
                             "PublicTest (validation) only. Trains on the first --subset (default 5000) images.",
                             epochs=3, name=NAME_PATTERN)
    parser.set_defaults(subset=5000)
    parser.add_argument("--depth", choices=["shallow", "deep"], default="shallow", help="default: %(default)s")
    parser.add_argument("--trials", type=int, default=8, help="default: %(default)s")
    parser.add_argument("--lr-range", type=float, nargs=2, default=[1e-4, 1e-2], metavar=("LOW", "HIGH"),
                        help="Adam learning rates, drawn log-uniformly (default: %(default)s)")
    parser.add_argument("--reg-range", type=float, nargs=2, default=[1e-7, 1e-3], metavar=("LOW", "HIGH"),
                        help="L2 strengths, drawn log-uniformly (default: %(default)s)")
    parser.add_argument("--widths", type=int, nargs="+", default=[256, 512, 1024],
                        help="units of each hidden FC layer, drawn uniformly (default: %(default)s)")
    arguments = parser.parse_args(argv)
    if arguments.name == NAME_PATTERN:
        arguments.name = f"cv_{arguments.depth}"
    return arguments


def log_uniform(rng, low, high):
    """A number in [low, high] whose logarithm is uniform: 1e-4..1e-3 is as likely as 1e-3..1e-2."""
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def sample_trials(arguments):
    """arguments.trials hyper-parameter settings, drawn from the search space with arguments.seed."""
    rng = np.random.default_rng(arguments.seed)
    return [{"learning_rate": log_uniform(rng, *arguments.lr_range), "reg": log_uniform(rng, *arguments.reg_range),
             "fc_width": int(rng.choice(arguments.widths))} for _ in range(arguments.trials)]


def run_trial(setting, hidden_layers, splits, arguments):
    """Train the net with one hyper-parameter setting; returns the setting with its scores.

    hidden_layers: the preset's hidden FC blocks, made setting['fc_width'] wide here. Every trial starts from the
    same seed, so trials differ by their hyper-parameters only.
    """
    trial_arguments = argparse.Namespace(**{**vars(arguments), "lr": setting["learning_rate"],
                                            "reg": setting["reg"]})
    affine_layers = [dataclasses.replace(layer, units=setting["fc_width"]) for layer in hidden_layers]
    model = build_model(arguments.depth, False, trial_arguments, affine_layers=affine_layers)
    solver = make_solver(model, splits, trial_arguments, hybrid=False)
    started = time.perf_counter()
    try:
        solver.train()
        diverged = False
    except TrainingDiverged as error:
        print(f"  {error}", file=sys.stderr)
        diverged = True
    return {**setting, "val_acc": solver.best_val_acc,
            "final_train_acc": solver.train_acc_history[-1] if solver.train_acc_history else 0.0,
            "diverged": diverged, "seconds": round(time.perf_counter() - started, 1)}


def rank(results):
    """results sorted best first, numbered from 1. A trial that diverged ranks below every trial that did not:
    its learning rate is too high, whatever it reached before blowing up."""
    ranked = sorted(results, key=lambda result: (result["diverged"], -result["val_acc"]))
    return [{"rank": place, **result} for place, result in enumerate(ranked, start=1)]


def format_table(ranked):
    lines = [f"{'rank':>4}  {'lr':>9}  {'reg':>9}  {'fc width':>8}  {'val acc':>7}  {'train acc':>9}"]
    for result in ranked:
        lines.append(f"{result['rank']:>4}  {result['learning_rate']:>9.2e}  {result['reg']:>9.2e}  "
                     f"{result['fc_width']:>8d}  {result['val_acc']:>7.3f}  {result['final_train_acc']:>9.3f}"
                     f"{'  diverged' if result['diverged'] else ''}")
    return "\n".join(lines)


def write_results(run_dir, ranked, arguments):
    """results.json (the search space and the ranked trials) and results.csv (the trials alone)."""
    space = {"learning_rate": ["log-uniform", *arguments.lr_range], "reg": ["log-uniform", *arguments.reg_range],
             "fc_width": ["choice", *arguments.widths]}
    evaluation.write_report(run_dir / "results.json", {
        "depth": arguments.depth, "subset": arguments.subset, "epochs": arguments.epochs, "seed": arguments.seed,
        "scored_on": "PublicTest", "search_space": space, "trials": ranked})
    with atomic_write(run_dir / "results.csv", "w") as file:
        writer = csv.DictWriter(file, fieldnames=RESULT_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(ranked)


def main(argv=None):
    """Parse the command line, run every trial, print and write the ranking. Returns the exit status."""
    arguments = parse_arguments(argv)
    try:
        splits = load_data(arguments, hybrid=False)  # make_solver passes on the train and val splits only
    except (data.DataNotFoundError, ValueError) as error:  # no data, or a malformed file
        print(f"error: {error}", file=sys.stderr)
        return 2
    hidden_layers = PRESETS[arguments.depth]().architecture.affine_layers
    settings = sample_trials(arguments)
    results = []
    for number, setting in enumerate(settings, start=1):
        print(f"trial {number}/{len(settings)}: learning rate {setting['learning_rate']:.2e}, "
              f"reg {setting['reg']:.2e}, FC width {setting['fc_width']}")
        results.append(run_trial(setting, hidden_layers, splits, arguments))
    ranked = rank(results)
    run_dir = Path(arguments.runs_dir) / arguments.name
    write_results(run_dir, ranked, arguments)
    print(format_table(ranked))
    print(f"ranked by PublicTest (validation) accuracy; results.json and results.csv are in {run_dir}/")
    return 0


if __name__ == "__main__":
    sys.exit(run_script(main))
