"""Faults a user meets during training: kills at any moment, damaged checkpoints, Ctrl-C and SIGTERM, a full disk.

The kills run tests/fault_driver.py (a tiny seeded training run) as a subprocess: killed with SIGKILL before each
file rename it makes and at random moments, then resumed, it must end with the same bits as a run that was never
interrupted. The longer soak is benchmarks/soak_faults.py.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fault_driver import tiny_problem
from minicnn.files import DamagedFileError, load_arrays, save_arrays
from minicnn.models import AffineLayer, ConvNet
from minicnn.solver import Solver, TrainingInterrupted
from test_examples import REPO_ROOT, TINY_TRAINING, run_script, write_synthetic_fer2013

DRIVER = Path(__file__).with_name("fault_driver.py")
EPOCHS = 4
RENAMES = 1 + 2 * (EPOCHS - 1) + 1   # the first checkpoint, then each one and its previous, then the model
RANDOM_KILLS = 4
SINGLE_THREADED = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def start_driver(run_dir, *options):
    return subprocess.Popen([sys.executable, str(DRIVER), str(run_dir), *map(str, options)], cwd=REPO_ROOT,
                            env={**os.environ, **SINGLE_THREADED}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def run_driver(run_dir, *options):
    process = start_driver(run_dir, *options)
    stdout, stderr = process.communicate(timeout=300)
    return process.returncode, stderr


def final_arrays(run_dir):
    """The parameters a run ended with: the last checkpoint's and the saved (best) model's."""
    checkpoint = {name: a for name, a in load_arrays(run_dir / "checkpoint.npz").items() if name.startswith("param/")}
    model = {name: a for name, a in load_arrays(run_dir / "model.npz").items() if name.startswith("param/")}
    return checkpoint, model


def assert_same_bits(run_dir, reference_dir):
    for ours, reference in zip(final_arrays(run_dir), final_arrays(reference_dir)):
        assert ours.keys() == reference.keys()
        for name in reference:
            np.testing.assert_array_equal(ours[name], reference[name], err_msg=name)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """(folder, seconds) of the tiny run, never interrupted. The seconds are those of a second run: the first one
    may also compile and cache the Numba kernels, which later launches do not repeat."""
    folders = [tmp_path_factory.mktemp("reference"), tmp_path_factory.mktemp("warm")]
    for folder in folders:
        started = time.perf_counter()
        status, stderr = run_driver(folder)
        assert status == 0, stderr
    return folders[0], time.perf_counter() - started


@pytest.mark.parametrize("rename", range(1, RENAMES + 1))
def test_a_kill_inside_any_file_write_loses_nothing(rename, reference, tmp_path):
    status, _ = run_driver(tmp_path, "--die-before-rename", rename)
    assert status == -signal.SIGKILL
    assert list(tmp_path.glob("*.tmp")), "the kill came after a temporary file was written"
    status, stderr = run_driver(tmp_path)
    assert status == 0, stderr
    assert_same_bits(tmp_path, reference[0])
    assert not list(tmp_path.glob("*.tmp")), "the next write of the same file removes what the kill left behind"


def test_kills_at_random_moments_lose_nothing(reference, tmp_path):
    rng = np.random.default_rng(0)
    kills = 0
    while kills < RANDOM_KILLS:
        process = start_driver(tmp_path)
        try:  # a moment early enough that the launch is still running: it starts, trains or writes
            process.wait(timeout=rng.uniform(0.05, 0.8) * reference[1])
            break
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            kills += 1
    status, stderr = run_driver(tmp_path)
    assert status == 0, stderr
    print(f"{kills} kills survived")
    assert kills >= 1
    assert_same_bits(tmp_path, reference[0])


def test_a_damaged_checkpoint_falls_back_on_the_previous_one(reference, tmp_path):
    for name in ("checkpoint.npz", "checkpoint.prev.npz"):
        (tmp_path / name).write_bytes((reference[0] / name).read_bytes())
    damaged = tmp_path / "checkpoint.npz"
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 2])
    damaged_size = damaged.stat().st_size
    status, stderr = run_driver(tmp_path, "--epochs", EPOCHS + 1)
    assert status == 0, stderr
    assert "checkpoint.npz: not an .npz file, or damaged" in stderr
    assert "Resuming from the previous checkpoint" in stderr
    assert int(load_arrays(tmp_path / "checkpoint.npz")["epoch"]) == EPOCHS + 1
    # The damaged file was put aside, so the saves after the fallback never made it the 'previous' checkpoint.
    assert (tmp_path / "checkpoint.damaged.npz").stat().st_size == damaged_size
    assert int(load_arrays(tmp_path / "checkpoint.prev.npz")["epoch"]) == EPOCHS


def test_a_changed_byte_is_caught_by_name(tmp_path):
    path = tmp_path / "arrays.npz"
    save_arrays(path, {"w": np.arange(1000, dtype=np.float64)})
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0xFF
    path.write_bytes(bytes(content))
    with pytest.raises(DamagedFileError, match="arrays.npz: damaged"):
        load_arrays(path)


def test_when_both_checkpoints_are_damaged_the_message_says_to_start_again(tmp_path):
    for name in ("checkpoint.npz", "checkpoint.prev.npz"):
        (tmp_path / name).write_bytes(b"PK\x03\x04 not a whole file")
    model = ConvNet([], [AffineLayer(4)], input_dim=(1, 8, 8), seed=0)
    with pytest.raises(ValueError, match="previous checkpoint is damaged too.*the run must start again"):
        Solver(model, tiny_problem(), resume=tmp_path / "checkpoint.npz")


def test_sigterm_stops_at_the_end_of_the_step_and_keeps_the_checkpoint(tmp_path):
    model = ConvNet([], [AffineLayer(4)], input_dim=(1, 8, 8), seed=0)
    solver = Solver(model, tiny_problem(), batch_size=5, num_epochs=5, verbose=False,
                    checkpoint_path=tmp_path / "checkpoint.npz")
    loss = model.loss

    def loss_that_gets_a_sigterm(X, y=None):
        if y is not None and solver.iteration == 8:        # in the second epoch (6 steps each)
            os.kill(os.getpid(), signal.SIGTERM)
        return loss(X, y)
    model.loss = loss_that_gets_a_sigterm
    handler_before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(TrainingInterrupted) as stop:
        solver.train()
    assert (stop.value.signal_name, stop.value.epoch, stop.value.iteration, stop.value.checkpoint_epoch) == (
        "SIGTERM", 2, 9, 1)
    assert int(load_arrays(tmp_path / "checkpoint.npz")["epoch"]) == 1
    assert signal.getsignal(signal.SIGTERM) is handler_before


# ------------------------------------------------------------------------------------------------- the scripts

@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    return write_synthetic_fer2013(tmp_path_factory.mktemp("faults") / "fer2013.csv")


def test_a_script_stopped_by_sigterm_says_how_to_resume_and_resumes(data_file, tmp_path):
    command = [sys.executable, "examples/train_shallow.py", "--data", str(data_file), "--epochs", "50",
               *TINY_TRAINING, "--runs-dir", str(tmp_path), "--name", "run"]
    environment = {**os.environ, "MINICNN_CACHE": str(tmp_path / "cache"), **SINGLE_THREADED}
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=environment, stderr=subprocess.PIPE, text=True)
    checkpoint = tmp_path / "run" / "checkpoint.npz"
    deadline = time.monotonic() + 240
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert "training stopped by SIGTERM" in stderr and "Continue with the same command and --resume" in stderr
    assert "Traceback" not in stderr
    done = int(load_arrays(checkpoint)["epoch"])
    result = run_script("train_shallow.py", "--data", data_file, "--epochs", done + 1, *TINY_TRAINING,
                        "--runs-dir", tmp_path, "--name", "run", "--resume", workspace=tmp_path)
    assert result.returncode == 0, result.stderr
    assert int(load_arrays(checkpoint)["epoch"]) == done + 1


FULL_DISK_AT_THE_SECOND_SAVE = """
import errno, sys, traceback
import numpy as np
real_savez, checkpoints = np.savez, []
def savez(file, *args, **kwargs):
    if any(frame.name == "save_checkpoint" for frame in traceback.extract_stack()):
        checkpoints.append(file)
        if len(checkpoints) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
    real_savez(file, *args, **kwargs)
np.savez = savez
from minicnn.training import train
sys.exit(train("shallow", argv=sys.argv[1:]))
"""


def test_a_full_disk_ends_with_a_message_and_the_last_checkpoint_intact(data_file, tmp_path):
    environment = {**os.environ, "MINICNN_CACHE": str(tmp_path / "cache"), **SINGLE_THREADED}
    result = subprocess.run([sys.executable, "-c", FULL_DISK_AT_THE_SECOND_SAVE, "--data", str(data_file),
                             "--epochs", "3", *TINY_TRAINING, "--runs-dir", str(tmp_path), "--name", "run"],
                            cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr
    assert "No space left on device" in result.stderr
    assert "The checkpoint of epoch 1, the last good one" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(path.name for path in (tmp_path / "run").glob("*.npz*")) == ["checkpoint.npz"]
    assert int(load_arrays(tmp_path / "run" / "checkpoint.npz")["epoch"]) == 1
