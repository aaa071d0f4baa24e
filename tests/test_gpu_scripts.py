"""The user's GPU path end to end, run as a user runs it: the training and scoring scripts with --device gpu, a
checkpoint moving from the GPU to the CPU and back, and the scripts for GPU machines (benchmarks/gpu_check.sh and
gpu_train.sh, in their short modes) from a fresh copy of the checkout with nothing installed.

Those marked gpu run on a GPU with CuPy, and elsewhere on the CuPy stand-in, which conftest.py puts first on
PYTHONPATH for the scripts too; one more checks what --device gpu says where no cupy can be imported. The data is the
tiny synthetic FER2013 of test_examples.py: these tests check what the scripts do and write, not what a network
learns.
"""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from device_helpers import biases_before_batchnorm, gpu_test
from minicnn import models
from minicnn.files import load_arrays
from test_examples import (REPO_ROOT, ROWS_PER_SPLIT, SINGLE_THREADED, TINY_TRAINING, assert_succeeded, run_script,
                           write_synthetic_fer2013)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A folder holding the synthetic data set; the scripts' runs and caches go into it too."""
    folder = tmp_path_factory.mktemp("gpu_scripts")
    write_synthetic_fer2013(folder / "fer2013.csv")
    return folder


def train(script, workspace, name, device, epochs, *options):
    """Run a training script on the synthetic data into workspace/runs/name; returns the run folder."""
    result = run_script(script, "--device", device, "--data", workspace / "fer2013.csv", "--epochs", epochs,
                        *TINY_TRAINING, "--runs-dir", workspace / "runs", "--name", name, *options, workspace=workspace)
    assert_succeeded(result)
    return workspace / "runs" / name


@pytest.fixture(scope="module")
def deep_run(workspace):
    """One epoch of examples/train_deep.py --device gpu."""
    return train("train_deep.py", workspace, "deep_gpu", "gpu", 1)


@gpu_test
def test_train_deep_on_the_gpu_writes_its_run_folder(deep_run):
    for name in ("model.npz", "checkpoint.npz", "report.json", "history.json", "config.json", "loss.png",
                 "accuracy.png", "confusion_val.png"):
        assert (deep_run / name).is_file(), f"{name} is missing"
    assert json.loads((deep_run / "config.json").read_text())["arguments"]["device"] == "gpu"
    model = models.load(deep_run / "model.npz")                          # saved from the host: loads anywhere
    assert all(type(w) is np.ndarray for w in model.params.values())


@gpu_test
def test_evaluate_on_the_gpu_reports_what_the_cpu_reports(deep_run, workspace):
    reports = {}
    for device in ("gpu", "cpu"):
        out = workspace / f"evaluation_{device}"
        assert_succeeded(run_script("evaluate.py", "--device", device, "--model", deep_run / "model.npz", "--data",
                                    workspace / "fer2013.csv", "--out", out, workspace=workspace))
        reports[device] = [json.loads((out / f"report_{split}.json").read_text())
                           for split in ("PublicTest", "PrivateTest")]
    assert reports["gpu"] == reports["cpu"]
    assert [report["count"] for report in reports["gpu"]] == [ROWS_PER_SPLIT["PublicTest"],
                                                              ROWS_PER_SPLIT["PrivateTest"]]


@gpu_test
def test_a_checkpoint_goes_from_the_gpu_to_the_cpu_and_back(workspace):
    """Epoch 1 on the GPU, epoch 2 resumed on the CPU, epoch 3 resumed on the GPU: the same run as three epochs on
    the CPU, to the rounding of the two devices."""
    for epochs, device in ((1, "gpu"), (2, "cpu"), (3, "gpu")):
        hops = train("train_shallow.py", workspace, "hops", device, epochs, *(["--resume"] if epochs > 1 else []))
    straight = train("train_shallow.py", workspace, "straight", "cpu", 3)
    history, expected = (json.loads((run / "history.json").read_text()) for run in (hops, straight))
    assert len(history["loss_history"]) == 3
    np.testing.assert_allclose(history["loss_history"], expected["loss_history"], rtol=1e-4)
    # Adam steps a weight by up to the learning rate (1e-3) whatever its gradient's size, so where a gradient is
    # nearly 0 the two devices' rounding can move the weight by up to a step. A bias before batch norm moves by
    # rounding alone (see biases_before_batchnorm), Adam making each step a full one: it is left out.
    resumed, uninterrupted = models.load(hops / "model.npz"), models.load(straight / "model.npz")
    noise = biases_before_batchnorm(uninterrupted.params)
    for name, w in uninterrupted.params.items():
        if name not in noise:
            np.testing.assert_allclose(resumed.params[name], w, rtol=1e-3, atol=1e-3, err_msg=name)


def test_device_gpu_without_a_gpu_is_a_one_line_error(workspace):
    """Run where no cupy can be imported (the stand-in off PYTHONPATH), both scripts say so and stop, at once."""
    environment = {**os.environ, "MINICNN_CACHE": str(workspace / "cache")}
    environment.pop("PYTHONPATH", None)
    if subprocess.run([sys.executable, "-c", "import cupy"], env=environment, capture_output=True).returncode == 0:
        pytest.skip("cupy can be imported here without the stand-in")
    for script in ("train_deep.py", "evaluate.py"):
        result = subprocess.run([sys.executable, f"examples/{script}", "--device", "gpu", "--data",
                                 str(workspace / "fer2013.csv")], cwd=REPO_ROOT, env=environment,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert "error: device 'gpu' was asked for, but cupy is not installed" in result.stderr


# ---------------------------------------------------------------------------------------------------------------
# The scripts for GPU machines, from a fresh copy of the checkout

def fresh_checkout(destination):
    """Copy what a clone of this checkout's state holds (the files git tracks or would track, links as links: no
    build output, no installed package, no cache) to destination; returns it."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO_ROOT,
                            capture_output=True)
    if listed.returncode != 0:
        pytest.skip(f"{REPO_ROOT} is not a git checkout, so there is no clean copy of it to make")
    for name in filter(None, listed.stdout.split(b"\0")):
        source, target = REPO_ROOT / os.fsdecode(name), destination / os.fsdecode(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            os.symlink(os.readlink(source), target)
        elif source.exists():                                           # not a file deleted but not yet committed
            shutil.copy2(source, target)
    return destination


def run_gpu_script(script, checkout, workspace, **settings):
    """bash benchmarks/<script> in checkout on the synthetic data, as on a fresh machine: only the stand-in (when it
    is the CuPy in use) on PYTHONPATH, the checkout itself not installed anywhere."""
    import cupy
    environment = {**os.environ, **SINGLE_THREADED, "PYTHON": sys.executable, "MINICNN_CACHE": str(workspace / "cache"),
                   **settings}
    environment.pop("PYTHONPATH")
    if "fake_cupy" in cupy.__file__:
        environment["PYTHONPATH"] = str(checkout / "tests" / "fake_cupy")
    return subprocess.run(["bash", f"benchmarks/{script}", str(workspace / "fer2013.csv")], cwd=checkout,
                          env=environment, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    return fresh_checkout(tmp_path_factory.mktemp("fresh_checkout"))


@gpu_test
def test_gpu_check_runs_every_step_from_a_fresh_checkout(checkout, workspace):
    result = run_gpu_script("gpu_check.sh", checkout, workspace, QUICK="1", OUT=str(workspace / "gpu_check"))
    assert result.returncode == 0, f"exit status {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "All 5 steps passed." in result.stdout
    # The kernels came from the fresh copy, through its links, and not from an installed minicnn.
    assert (f"minicnn from {checkout}/minicnn/__init__.py and its kernels from {checkout}/minicnn/kernels/gpu.py"
            in result.stdout)
    assert (workspace / "gpu_check" / "gpu_check.log").read_text() == result.stdout


@gpu_test
@pytest.mark.parametrize("arch, conv_layers", [("deep", 4), ("vgg", 8)])
def test_gpu_train_trains_and_brings_back_the_model_from_a_fresh_checkout(checkout, workspace, arch, conv_layers):
    out = workspace / f"gpu_train_{arch}"
    result = run_gpu_script("gpu_train.sh", checkout, workspace, EPOCHS="1", TRAIN_ARGS="--subset 16 --batch-size 16",
                            RUNS_DIR=str(workspace / "gpu_train_runs"), OUT=str(out), ARCH=arch)
    assert result.returncode == 0, f"exit status {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert load_arrays(out / "model_float16.npz")["param/W1"].dtype == np.float16
    model = models.load(out / "model_float16.npz")
    assert model.params["W1"].shape == (64, 1, 3, 3) and len(model.architecture.conv_layers) == conv_layers
    assert len(json.loads((out / "history.json").read_text())["val_acc_history"]) == 1
    assert f"model: {out}/model_float16.npz" in (out / "gpu_train.log").read_text()
