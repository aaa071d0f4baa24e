"""Hyper-parameter search for the paper's nets, scored on PublicTest: the search space, one trial (a short training
run with one setting), and the search, run by Ray Tune when it is installed, else one trial after another here.

On Ray Tune (pip install -e ".[search]") the engine schedules and minicnn trains:
  - Tune draws the settings (its random search by default, or another of its search algorithms by name) and runs
    the trials at once, each on cpus_per_trial cores, on this machine or on a Ray cluster;
  - every trial reports its PublicTest accuracy after each epoch, and ASHA (asynchronous successive halving) stops
    the trials in the lower part of each rung (after 1, 2, 4, ... epochs), so bad settings cost an epoch or two;
  - every trial hands its minicnn checkpoint (the Solver's checkpoint.npz) to Tune after each epoch, so a trial whose
    node is lost starts again on another node from its last epoch, and a stopped search continues (resume=True).
PrivateTest never reaches a trial: the search gets the Training and PublicTest splits only.
"""
import argparse
import contextlib
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from minicnn.solver import TrainingDiverged
from minicnn.training import build_model, make_solver

SEARCH_INSTALL_HINT = 'pip install -e ".[search]" (Ray Tune)'
SEARCH_SPLITS = ("X_train", "y_train", "X_val", "y_val")   # PublicTest scores; PrivateTest stays out
METRIC = "epoch_val_acc"    # what ASHA and the search algorithms compare: PublicTest accuracy of the latest epoch
CHECKPOINT_FILE = "checkpoint.npz"


@dataclasses.dataclass(frozen=True)
class LogUniform:
    """A number in [low, high] whose logarithm is uniform: 1e-4..1e-3 is as likely as 1e-3..1e-2."""
    low: float
    high: float

    def sample(self, rng):
        return float(np.exp(rng.uniform(np.log(self.low), np.log(self.high))))

    def for_tune(self, tune):
        return tune.loguniform(self.low, self.high)

    def describe(self):
        return ["log-uniform", self.low, self.high]


@dataclasses.dataclass(frozen=True)
class Choice:
    """One of values, each as likely."""
    values: tuple

    def sample(self, rng):
        return self.values[int(rng.integers(len(self.values)))]

    def for_tune(self, tune):
        return tune.choice(list(self.values))

    def describe(self):
        return ["choice", *self.values]


def search_space(arguments):
    """The dimensions searched, name -> LogUniform or Choice, from the command line's ranges and lists. The names
    are the training options they set (minicnn.training), but learning_rate (--lr) and fc_width (the units of
    every hidden FC block)."""
    return {"learning_rate": LogUniform(*arguments.lr_range), "reg": LogUniform(*arguments.reg_range),
            "fc_width": Choice(tuple(arguments.widths)), "weight_decay": Choice(tuple(arguments.weight_decays)),
            "augment": Choice(tuple(arguments.augment_strengths)), "schedule": Choice(tuple(arguments.schedules))}


def describe_setting(setting):
    """'learning rate 1.00e-03, reg 1.00e-06, FC width 512, weight decay 0.01, augment 0.5, schedule cosine'."""
    return (f"learning rate {setting['learning_rate']:.2e}, reg {setting['reg']:.2e}, FC width {setting['fc_width']}, "
            f"weight decay {setting['weight_decay']:g}, augment {setting['augment']:g}, schedule {setting['schedule']}")


# ------------------------------------------------------------------------------------------------- one trial

def run_trial(setting, splits, arguments, hidden_layers, on_epoch_end=None, resume=None):
    """Train the net of arguments.depth with one setting for arguments.epochs epochs; returns its result row.

    setting: a point of search_space (learning_rate, reg, fc_width, ...). splits: X_train, y_train, X_val, y_val.
    hidden_layers: the preset's hidden FC blocks, made setting['fc_width'] wide here. Every trial starts from the
    same seed, so trials differ by their hyper-parameters only. on_epoch_end and resume (a checkpoint) go to the
    Solver. A diverged trial is not an error: its row says so.
    """
    options = {name: value for name, value in setting.items() if name not in ("learning_rate", "fc_width")}
    trial_arguments = argparse.Namespace(**{**vars(arguments), **options, "lr": setting["learning_rate"],
                                            "quiet": True})
    affine_layers = [dataclasses.replace(layer, units=setting["fc_width"]) for layer in hidden_layers]
    model = build_model(arguments.depth, False, trial_arguments, affine_layers=affine_layers)
    solver = make_solver(model, splits, trial_arguments, hybrid=False, on_epoch_end=on_epoch_end, resume=resume)
    started = time.perf_counter()
    try:
        solver.train()
        diverged = False
    except TrainingDiverged as error:
        print(f"  {error}", file=sys.stderr)
        diverged = True
    return {**setting, **epoch_metrics(solver), "diverged": diverged, "failed": False,
            "seconds": round(time.perf_counter() - started, 1)}


def epoch_metrics(solver):
    """What a trial reports after each epoch: the epochs trained, the PublicTest accuracy of the last one (METRIC)
    and of the best one (val_acc), the train accuracy, and the PublicTest accuracy of every epoch."""
    return {"epochs": solver.epoch, METRIC: solver.val_acc_history[-1] if solver.val_acc_history else 0.0,
            "val_acc": solver.best_val_acc,
            "final_train_acc": solver.train_acc_history[-1] if solver.train_acc_history else 0.0,
            "val_acc_history": list(solver.val_acc_history)}


def rank(results):
    """results sorted best first by their best PublicTest accuracy, numbered from 1. A trial that diverged or failed
    ranks below every trial that did not: whatever it reached before, its setting does not train."""
    ranked = sorted(results, key=lambda result: (result["failed"], result["diverged"], -result["val_acc"]))
    return [{"rank": place, **result} for place, result in enumerate(ranked, start=1)]


# ------------------------------------------------------------------------------------ one trial after another

def search_one_after_another(space, splits, arguments, hidden_layers):
    """arguments.trials settings drawn at random (seeded by arguments.seed), trained one after another in this
    process, each for all its epochs. Returns their result rows, in the order they ran."""
    rng = np.random.default_rng(arguments.seed)
    results = []
    for number in range(1, arguments.trials + 1):
        setting = {name: dimension.sample(rng) for name, dimension in space.items()}
        print(f"trial {number}/{arguments.trials}: {describe_setting(setting)}")
        results.append(run_trial(setting, splits, arguments, hidden_layers))
    return results


# ----------------------------------------------------------------------------------------------- on Ray Tune

def ray_tune():
    """(ray, ray.tune), or ImportError saying how to install them."""
    try:
        import ray
        from ray import tune
    except ImportError as error:
        raise ImportError(f"Ray Tune is not installed: {SEARCH_INSTALL_HINT}") from error
    return ray, tune


def search_on_ray(space, splits, arguments, hidden_layers, run_dir):
    """Run the search as Ray Tune trials, with ASHA, into run_dir/tune (Tune's own records and the trials'
    checkpoints); continue the search stored there when arguments.resume. Returns the trials' result rows.

    arguments: trials, epochs, cpus_per_trial, address (None: a Ray started here for the search, on the cores this
    process may use), search_algorithm ('random' or the name of one of Tune's searchers), grace_period,
    max_failures, seed and the training options. ValueError, before anything starts, for a search algorithm Tune
    cannot make or a resume without a stored search.
    """
    ray, tune = ray_tune()
    folder = str(Path(run_dir, "tune").resolve())
    if arguments.resume and not tune.Tuner.can_restore(folder):
        raise ValueError(f"--resume: there is no search to continue in {folder}")
    config = None if arguments.resume else tune_config(tune, arguments)
    ray.init(address=arguments.address, num_cpus=None if arguments.address else free_cores(),
             include_dashboard=False, configure_logging=False)
    try:
        trainable = tune.with_resources(tune.with_parameters(tune_trial, splits=splits, arguments=arguments,
                                                             hidden_layers=hidden_layers),
                                        {"cpu": arguments.cpus_per_trial})
        if arguments.resume:
            tuner = tune.Tuner.restore(folder, trainable, resume_errored=True)
        else:
            tuner = tune.Tuner(trainable, param_space={name: dimension.for_tune(tune)
                                                       for name, dimension in space.items()},
                               tune_config=config, run_config=tune.RunConfig(
                                   name="tune", storage_path=str(Path(run_dir).resolve()),
                                   failure_config=tune.FailureConfig(max_failures=arguments.max_failures),
                                   checkpoint_config=tune.CheckpointConfig(num_to_keep=1), verbose=1))
        return [tune_result_row(result, space) for result in tuner.fit()]
    finally:
        ray.shutdown()


def free_cores():
    """The cores this process may run on (its affinity mask; a job scheduler may have given it fewer than all)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def tune_config(tune, arguments):
    """Tune's settings: maximise METRIC, arguments.trials samples, ASHA over epochs, and the search algorithm."""
    from ray.tune.schedulers import ASHAScheduler
    # ASHA compares the trials after grace_period epochs and then after every doubling: the upper half goes on.
    scheduler = ASHAScheduler(time_attr="epochs", max_t=arguments.epochs, grace_period=arguments.grace_period,
                              reduction_factor=2)
    return tune.TuneConfig(metric=METRIC, mode="max", num_samples=arguments.trials, scheduler=scheduler,
                           search_alg=search_algorithm(tune, arguments))


def search_algorithm(tune, arguments):
    """Tune's random search (seeded: the same settings for the same seed) or the searcher arguments.search_algorithm
    names ('optuna', 'hyperopt', 'bayesopt', ...), which needs its own package installed."""
    if arguments.search_algorithm == "random":
        from ray.tune.search.basic_variant import BasicVariantGenerator
        return BasicVariantGenerator(random_state=arguments.seed)
    try:
        return tune.create_searcher(arguments.search_algorithm, metric=METRIC, mode="max")
    except (ImportError, ValueError) as error:   # a name Tune does not know, or a searcher whose package is missing
        raise ValueError(f"--search-algorithm {arguments.search_algorithm}: {error}") from None


def tune_trial(setting, splits, arguments, hidden_layers):
    """One trial as Tune runs it: train with setting and report every epoch with its minicnn checkpoint; a trial
    that Tune hands a checkpoint (a resumed search, a trial restarted after its node was lost) continues from it."""
    from ray import tune
    given = tune.get_checkpoint()
    with threads_per_trial(arguments.cpus_per_trial), \
            given.as_directory() if given is not None else contextlib.nullcontext() as folder:
        resume = None if folder is None else Path(folder, CHECKPOINT_FILE)
        result = run_trial(setting, splits, arguments, hidden_layers, on_epoch_end=report_to_tune, resume=resume)
    if result["diverged"]:
        tune.report({key: result[key] for key in ("epochs", METRIC, "val_acc", "final_train_acc", "val_acc_history",
                                                  "diverged")})


def report_to_tune(solver):
    """After each epoch: the epoch's metrics to Tune, with the Solver's checkpoint of this epoch (Tune copies it into
    the search's folder, or the cluster's storage, and keeps the latest)."""
    from ray import tune
    with tempfile.TemporaryDirectory(prefix="minicnn_checkpoint_") as folder:
        solver.save_checkpoint(Path(folder, CHECKPOINT_FILE))
        tune.report({**epoch_metrics(solver), "diverged": False}, checkpoint=tune.Checkpoint.from_directory(folder))


@contextlib.contextmanager
def threads_per_trial(cores):
    """While the block runs, OpenBLAS (the GEMMs) and Numba's kernels use `cores` threads: a trial has that many
    cores of its own, and a process that Ray started before it was handed the trial may have set up more threads."""
    import numba
    from threadpoolctl import threadpool_limits
    numba.set_num_threads(max(1, min(cores, numba.config.NUMBA_NUM_THREADS)))
    with threadpool_limits(limits=cores):
        yield


def tune_result_row(result, space):
    """A Tune trial's result (ray.tune.Result: its setting and last report) as a result row like run_trial's."""
    metrics = result.metrics or {}
    return {**{name: result.config[name] for name in space}, "epochs": int(metrics.get("epochs", 0)),
            METRIC: float(metrics.get(METRIC, 0.0)), "val_acc": float(metrics.get("val_acc", 0.0)),
            "final_train_acc": float(metrics.get("final_train_acc", 0.0)),
            "val_acc_history": list(metrics.get("val_acc_history", [])), "diverged": bool(metrics.get("diverged")),
            "failed": result.error is not None, "seconds": round(float(metrics.get("time_total_s", 0.0)), 1)}
