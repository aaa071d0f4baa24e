"""Data-parallel training over MPI (solver/data_parallel.py): K processes with a global minibatch of B samples
train the same parameters as one process with B, the processes' parameters are compared every epoch, and the
training scripts run under mpiexec, stop together and resume under another K.

The runs start `mpiexec` (the one installed beside this Python first, as the mpich wheel of the extra [mpi] puts it)
and are skipped, with the reason, without mpi4py or mpiexec. About 20 s on 2 busy cores.
"""
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from data_parallel_driver import BATCH_SIZE, train_tiny_net
from minicnn.files import load_arrays
from minicnn.solver.data_parallel import DataParallel
from test_examples import REPO_ROOT, SINGLE_THREADED, TINY_TRAINING, run_script, write_synthetic_fer2013

DRIVER = Path(__file__).with_name("data_parallel_driver.py")


def find_mpiexec():
    """The mpiexec beside this Python (the mpich wheel's, which mpi4py then uses), else the one on PATH, else None."""
    beside = Path(sys.executable).with_name("mpiexec")
    return str(beside) if beside.exists() else shutil.which("mpiexec")


MPIEXEC = find_mpiexec()
needs_mpi = pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None or MPIEXEC is None,
                               reason='needs mpi4py and mpiexec: pip install -e ".[mpi]"')


def mpiexec_command(processes, *command):
    return [MPIEXEC, "-n", str(processes), sys.executable, *map(str, command)]


def environment(tmp_path):
    return {**os.environ, "MINICNN_CACHE": str(tmp_path / "cache"), **SINGLE_THREADED}


# ---------------------------------------------------------------------------------------- without MPI

class FakeCommunicator:
    """Stands in for an mpi4py communicator where only rank and size are asked for."""

    def __init__(self, rank, size):
        self.rank, self.size = rank, size

    def Get_rank(self):
        return self.rank

    def Get_size(self):
        return self.size


@pytest.mark.parametrize("size", [1, 2, 3, 5])
@pytest.mark.parametrize("count", [0, 1, 4, 16, 17])
def test_the_shares_cover_every_sample_once_and_differ_by_one_at_most(size, count):
    shares = [DataParallel(FakeCommunicator(rank, size)).share(count) for rank in range(size)]
    rows = [row for share in shares for row in range(count)[share]]
    assert rows == list(range(count))
    lengths = [len(range(count)[share]) for share in shares]
    assert max(lengths) - min(lengths) <= 1


def test_a_script_started_by_mpiexec_without_the_flag_is_refused(tmp_path):
    # MPICH's launcher says how many processes it started in PMI_SIZE; no MPI is needed to see it.
    result = subprocess.run([sys.executable, "examples/train_shallow.py", "--runs-dir", str(tmp_path)], cwd=REPO_ROOT,
                            env={**environment(tmp_path), "PMI_SIZE": "2"}, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2, result.stderr
    assert "one of 2 processes started by an MPI launcher, but --data-parallel is not given" in result.stderr
    assert not (tmp_path / "shallow").exists()


# ------------------------------------------------------------------------------------------- with MPI

@pytest.fixture(scope="module")
def one_process():
    """The tiny net trained in this process alone, with minibatches of BATCH_SIZE."""
    return train_tiny_net()


@pytest.fixture(scope="module", params=[2, 3])
def parallel_run(request, tmp_path_factory):
    """The arrays written by the driver on 2 processes (even shares) or 3 (uneven ones, and an empty one)."""
    out = tmp_path_factory.mktemp("data_parallel") / "out.npz"
    result = subprocess.run(mpiexec_command(request.param, DRIVER, out), cwd=REPO_ROOT,
                            env={**os.environ, **SINGLE_THREADED}, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    return load_arrays(out)


@needs_mpi
def test_k_processes_train_the_parameters_of_one_process_with_the_whole_batch(parallel_run, one_process):
    # No batch norm, no dropout: the sum of the shares' weighted gradients is the whole batch's gradient, and only
    # the order of float32 additions differs.
    assert int(parallel_run["processes"]) > 1 and BATCH_SIZE % 3 != 0
    initial = train_tiny_net(epochs=0).model.params
    for name, expected in one_process.model.params.items():
        found = parallel_run[f"param/{name}"]
        scale = np.abs(expected).max()
        assert np.abs(found - expected).max() <= 1e-5 * scale, f"{name}: ours {found.ravel()[:4]}, one process " \
                                                               f"{expected.ravel()[:4]}"
        assert np.abs(expected - initial[name]).max() > 100 * 1e-5 * scale   # training moved it: a real check
    np.testing.assert_allclose(parallel_run["loss_history"], one_process.loss_history, rtol=1e-5)


@needs_mpi
def test_a_parameter_that_differs_on_one_process_stops_the_run_by_name(parallel_run):
    message = str(parallel_run["mismatch_message"])
    assert "after epoch 3 the processes' parameters differ: 'W1' on process(es) 1 is not process 0's" in message


@needs_mpi
def test_a_script_on_two_processes_stops_together_on_sigterm_and_resumes_on_one(tmp_path):
    data_file = write_synthetic_fer2013(tmp_path / "fer2013.csv")
    arguments = ["--data", data_file, *TINY_TRAINING, "--batch-size", 8, "--runs-dir", tmp_path, "--name", "run"]
    process = subprocess.Popen(mpiexec_command(2, "examples/train_shallow.py", "--data-parallel", "--epochs", 50,
                                               *arguments), cwd=REPO_ROOT, env=environment(tmp_path),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    checkpoint = tmp_path / "run" / "checkpoint.npz"
    deadline = time.monotonic() + 240
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)    # mpiexec passes it on to both processes
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert "training stopped by SIGTERM" in stderr and "Continue with the same command and --resume" in stderr
    assert stderr.count("training stopped by SIGTERM") == 1      # process 0 alone speaks
    done = int(load_arrays(checkpoint)["epoch"])
    result = run_script("train_shallow.py", "--epochs", done + 1, "--resume", *arguments, workspace=tmp_path)
    assert result.returncode == 0, result.stderr
    resumed = load_arrays(checkpoint)
    assert int(resumed["epoch"]) == done + 1 and len(resumed["loss_history"]) == 2 * (done + 1)  # 16 samples, 8 a step
