"""A tiny training run for the fault-injection tests (tests/test_faults.py) and the soak (benchmarks/soak_faults.py).

    python tests/fault_driver.py RUN_DIR [--die-before-rename K] [--epochs E]

Trains a small ConvNet (conv, batch norm, dropout, pooling, an affine layer) on 40 random images with Adam and
random flips, a checkpoint after every epoch, resuming from RUN_DIR's checkpoint when one is there; then writes
RUN_DIR/model.npz. Everything is seeded: an interrupted and resumed run must end with the same bits as one that ran
through. --die-before-rename K kills the process (SIGKILL, as a power cut would) just before the K-th file rename
of this process: that is inside a checkpoint or model write, after the temporary file is complete, and between the
two renames that keep the previous checkpoint.
"""
import argparse
import os
import signal
import sys
from pathlib import Path

import numpy as np

from minicnn.models import AffineLayer, ConvLayer, ConvNet
from minicnn.preprocessing import random_flip
from minicnn.solver import Solver, previous_checkpoint


def tiny_problem():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 7, 40)
    return {"X_train": X[:30], "y_train": y[:30], "X_val": X[30:], "y_val": y[30:]}


def die_before_rename(count):
    """Make the count-th os.replace of this process kill the process instead."""
    real_replace, calls = os.replace, []

    def replace(source, target):
        calls.append(target)
        if len(calls) == count:
            os.kill(os.getpid(), signal.SIGKILL)
        real_replace(source, target)
    os.replace = replace


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir")
    parser.add_argument("--die-before-rename", type=int)
    parser.add_argument("--epochs", type=int, default=4)
    arguments = parser.parse_args(argv)
    run_dir = Path(arguments.run_dir)
    checkpoint = run_dir / "checkpoint.npz"
    if arguments.die_before_rename:
        die_before_rename(arguments.die_before_rename)
    model = ConvNet([ConvLayer(4, 3, dropout=0.25)], [AffineLayer(16, dropout=0.5)], input_dim=(1, 8, 8), seed=0)
    resume = checkpoint if checkpoint.exists() or Path(previous_checkpoint(checkpoint)).exists() else None
    solver = Solver(model, tiny_problem(), update_rule="adam", optim_config={"learning_rate": 1e-2}, batch_size=8,
                    num_epochs=arguments.epochs, augment=random_flip, seed=0, verbose=False, checkpoint_path=checkpoint,
                    resume=resume)
    solver.train()
    model.save(run_dir / "model.npz")
    return 0


if __name__ == "__main__":
    sys.exit(main())
