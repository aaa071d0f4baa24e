"""A tiny data-parallel training run for tests/test_data_parallel.py, started by mpiexec.

    mpiexec -n K python tests/data_parallel_driver.py OUT.npz

Trains train_tiny_net() on all K processes together (one DataParallel over MPI.COMM_WORLD), then checks that the
end-of-epoch comparison catches a difference: process 1 (when there is one) changes one number of W1 and all call
end_epoch again. Process 0 writes OUT.npz with the trained parameters, the loss history and the message of that
check ('' when no process differed).
"""
import sys

import numpy as np

from minicnn.files import save_arrays
from minicnn.models import AffineLayer, ConvLayer, ConvNet
from minicnn.preprocessing import random_flip
from minicnn.solver import Solver, data_parallel

BATCH_SIZE = 16
SAMPLES = 50    # 3 full batches and one of 2 samples: with 3 processes, one of them gets no sample of it


def tiny_problem():
    """Random 8x8 images and labels: {'X_train': (SAMPLES, 1, 8, 8), 'y_train', 'X_val': (20, ...), 'y_val'}."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((SAMPLES + 20, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 7, SAMPLES + 20)
    return {"X_train": X[:SAMPLES], "y_train": y[:SAMPLES], "X_val": X[SAMPLES:], "y_val": y[SAMPLES:]}


def train_tiny_net(parallel=None, epochs=2):
    """A conv net without batch norm and dropout, trained with Adam, L2 and random flips on tiny_problem() in
    minibatches of BATCH_SIZE, alone (parallel None) or as one process of a DataParallel. Returns the Solver."""
    model = ConvNet(conv_layers=[ConvLayer(4, 3, batchnorm=False)], affine_layers=[AffineLayer(16, batchnorm=False)],
                    input_dim=(1, 8, 8), reg=1e-2, seed=0)
    solver = Solver(model, tiny_problem(), update_rule="adam", optim_config={"learning_rate": 1e-2}, lr_decay=0.9,
                    batch_size=BATCH_SIZE, num_epochs=epochs, augment=random_flip, num_train_samples=None, seed=0,
                    verbose=False, data_parallel=parallel)
    solver.train()
    return solver


def mismatch_message(parallel, model):
    """The message of ParametersDiverged after process 1 changed one number of W1 by one unit in the last place, or
    '' when the check let it pass (or there is no process 1)."""
    if parallel.rank == 1:
        model.params["W1"].reshape(-1)[0] = np.nextafter(model.params["W1"].reshape(-1)[0], np.float32(np.inf))
    try:
        parallel.end_epoch(model, epoch=3)
    except data_parallel.ParametersDiverged as error:
        return str(error)
    return ""


def main(out_path):
    parallel = data_parallel.world()
    solver = train_tiny_net(parallel)
    trained = {f"param/{name}": w.copy() for name, w in solver.model.params.items()}
    message = mismatch_message(parallel, solver.model)
    if parallel.is_root:
        save_arrays(out_path, {**trained, "loss_history": np.array(solver.loss_history),
                               "val_acc_history": np.array(solver.val_acc_history), "processes": parallel.size,
                               "mismatch_message": np.str_(message)})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
