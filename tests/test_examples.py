"""End-to-end tests of the example scripts, run the way a user runs them: as subprocesses from the repository root,
on a tiny synthetic FER2013 CSV (random pixels, every class in every split). They check what each script writes and
its exit status, not how well it learns: 16 random images teach nothing.
"""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from minicnn.data import CLASS_NAMES, KAGGLE_URL, PIXELS
from minicnn.files import load_arrays, save_arrays

REPO_ROOT = Path(__file__).resolve().parents[1]
ROWS_PER_SPLIT = {"Training": 60, "PublicTest": 20, "PrivateTest": 20}
# Inputs this small gain nothing from threads, and on a busy machine handing each tiny kernel call to a thread
# pool costs more than the call itself (the layer gradient checks took 40 s instead of 2 s).
SINGLE_THREADED = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
# One minibatch per epoch: the shallow net takes about a second per batch of 16 on a laptop CPU.
TINY_TRAINING = ["--subset", "16", "--batch-size", "16", "--quiet"]


def write_synthetic_fer2013(path, seed=0):
    """A FER2013 CSV of ROWS_PER_SPLIT rows with random pixels; labels cycle through the classes, so that each
    split holds every class."""
    rng = np.random.default_rng(seed)
    lines = ["emotion,pixels,Usage"]
    for usage, rows in ROWS_PER_SPLIT.items():
        for row in range(rows):
            pixels = " ".join(map(str, rng.integers(0, 256, PIXELS)))
            lines.append(f"{row % len(CLASS_NAMES)},{pixels},{usage}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A folder holding the synthetic data set; the scripts' caches go into it too."""
    folder = tmp_path_factory.mktemp("examples")
    write_synthetic_fer2013(folder / "fer2013.csv")
    return folder


def run_script(script, *arguments, workspace):
    """Run examples/<script> with arguments from the repository root; returns the CompletedProcess."""
    environment = {**os.environ, "MINICNN_CACHE": str(workspace / "cache"), **SINGLE_THREADED}
    environment.pop("MINICNN_DATA", None)  # the data a test means is the data it names
    return subprocess.run([sys.executable, f"examples/{script}", *map(str, arguments)], cwd=REPO_ROOT,
                          env=environment, capture_output=True, text=True, timeout=300)


def assert_succeeded(result):
    assert result.returncode == 0, f"exit status {result.returncode}\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="module")
def trained_run(workspace):
    """The run folder of one epoch of train_shallow.py on the synthetic data."""
    result = run_script("train_shallow.py", "--data", workspace / "fer2013.csv", "--epochs", 1, *TINY_TRAINING,
                        "--runs-dir", workspace / "runs", "--name", "tiny", workspace=workspace)
    assert_succeeded(result)
    return workspace / "runs" / "tiny"


def test_train_shallow_writes_model_report_and_plots(trained_run):
    for name in ("model.npz", "checkpoint.npz", "report.json", "history.json", "config.json", "loss.png",
                 "accuracy.png", "confusion_val.png"):
        assert (trained_run / name).is_file(), f"{name} is missing"
    report = json.loads((trained_run / "report.json").read_text())
    assert report["split"] == "PublicTest" and report["count"] == ROWS_PER_SPLIT["PublicTest"]
    history = json.loads((trained_run / "history.json").read_text())
    assert len(history["epoch_seconds"]) == 1 and history["epoch_seconds"][0] > 0
    assert "cores, Python" in json.loads((trained_run / "config.json").read_text())["machine"]


def test_train_deep_arch_vgg_trains_with_its_own_recipe(workspace):
    result = run_script("train_deep.py", "--arch", "vgg", "--data", workspace / "fer2013.csv", "--epochs", 1,
                        *TINY_TRAINING, "--runs-dir", workspace / "runs", workspace=workspace)
    assert_succeeded(result)
    run = workspace / "runs" / "vgg"
    config = json.loads((run / "config.json").read_text())
    assert config["depth"] == "vgg" and len(config["architecture"]["conv_layers"]) == 8
    recipe = {key: config["arguments"][key] for key in ("optimizer", "schedule", "augment", "label_smoothing")}
    assert recipe == {"optimizer": "nesterov", "schedule": "cosine", "augment": 1.0, "label_smoothing": 0.1}
    assert (run / "model.npz").is_file()


def test_augment_is_refused_for_the_hybrid_net(workspace):
    result = run_script("train_hybrid.py", "--data", workspace / "fer2013.csv", "--augment", "1", *TINY_TRAINING,
                        "--runs-dir", workspace / "runs", workspace=workspace)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--augment changes the images" in result.stderr


def test_show_augmentation_draws_one_face_under_each_transform(workspace):
    out = workspace / "augmentation.png"
    result = run_script("show_augmentation.py", "--data", workspace / "fer2013.csv", "--out", out,
                        workspace=workspace)
    assert_succeeded(result)
    assert out.stat().st_size > 10_000


def test_train_shallow_resume_continues_from_the_checkpoint(trained_run, workspace):
    resumed = workspace / "runs" / "resumed"
    shutil.copytree(trained_run, resumed)
    # A mark in the checkpoint's loss history: only a run that really resumed carries it on.
    checkpoint = load_arrays(resumed / "checkpoint.npz")
    checkpoint["loss_history"] = np.array([123.0])
    save_arrays(resumed / "checkpoint.npz", checkpoint)
    result = run_script("train_shallow.py", "--data", workspace / "fer2013.csv", "--epochs", 2, *TINY_TRAINING,
                        "--runs-dir", workspace / "runs", "--name", "resumed", "--resume", workspace=workspace)
    assert_succeeded(result)
    history = json.loads((resumed / "history.json").read_text())
    assert len(history["train_acc_history"]) == len(history["val_acc_history"]) == 2
    assert len(history["loss_history"]) == 2 and history["loss_history"][0] == 123.0  # one minibatch per epoch
    assert len(history["epoch_seconds"]) == 2     # the first epoch's time came from the history.json it resumed


def test_evaluate_writes_a_report_per_split(trained_run, workspace):
    out = workspace / "evaluation"
    result = run_script("evaluate.py", "--model", trained_run / "model.npz", "--data", workspace / "fer2013.csv",
                        "--out", out, workspace=workspace)
    assert_succeeded(result)
    for split in ("PublicTest", "PrivateTest"):
        report = json.loads((out / f"report_{split}.json").read_text())
        assert report["split"] == split and report["count"] == ROWS_PER_SPLIT[split]
        assert (out / f"confusion_{split}.png").is_file()
    assert "PrivateTest accuracy" in result.stdout


def test_evaluate_reports_test_time_augmentation_beside_the_plain_figure(trained_run, workspace):
    out = workspace / "evaluation_mirror"
    result = run_script("evaluate.py", "--model", trained_run / "model.npz", "--data", workspace / "fer2013.csv",
                        "--splits", "PublicTest", "--mirror", "--out", out, workspace=workspace)
    assert_succeeded(result)
    plain = json.loads((out / "report_PublicTest.json").read_text())
    mirrored = json.loads((out / "report_PublicTest_mirror.json").read_text())
    assert mirrored["mirror"] is True and mirrored["count"] == plain["count"] == ROWS_PER_SPLIT["PublicTest"]
    assert f"PublicTest accuracy with the mirror image averaged in {mirrored['accuracy']:.4f}" in result.stdout


def test_evaluate_scores_an_ensemble_with_ten_crops(trained_run, workspace):
    out = workspace / "evaluation_ensemble"
    model = trained_run / "model.npz"
    result = run_script("evaluate.py", "--model", model, model, "--data", workspace / "fer2013.csv",
                        "--splits", "PublicTest", "--tta", "--out", out, workspace=workspace)
    assert_succeeded(result)
    plain = json.loads((out / "report_PublicTest.json").read_text())
    ten_crops = json.loads((out / "report_PublicTest_tta.json").read_text())
    assert ten_crops["crops"] is True and ten_crops["mirror"] is True and ten_crops["count"] == plain["count"]
    assert f"PublicTest accuracy with ten crops averaged {ten_crops['accuracy']:.4f}" in result.stdout


def test_evaluate_refuses_to_mirror_a_hybrid_net(workspace):
    from minicnn.models import AffineLayer, ConvNet
    hybrid = ConvNet([], [AffineLayer(4)], input_dim=(1, 48, 48), hog_dim=4, seed=0)
    hybrid.mean_image = np.zeros((48, 48), np.float32)
    hybrid.save(workspace / "hybrid.npz")
    result = run_script("evaluate.py", "--model", workspace / "hybrid.npz", "--data", workspace / "fer2013.csv",
                        "--mirror", workspace=workspace)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--mirror: the hybrid net's HOG features belong to the unchanged image" in result.stderr


def test_evaluate_refuses_a_file_that_is_not_a_model(workspace):
    result = run_script("evaluate.py", "--model", workspace / "fer2013.csv", "--data", workspace / "fer2013.csv",
                        workspace=workspace)
    assert result.returncode == 2
    assert "not a minicnn model" in result.stderr


@pytest.mark.parametrize("script", ["train_shallow.py", "evaluate.py", "cross_validate.py"])
def test_missing_data_exits_2_and_says_where_to_get_it(script, trained_run, workspace):
    # evaluate.py reads the model before the data, so it gets a real one; the others get a --runs-dir of their own
    # in case they ever wrote before looking for the data.
    extra = ["--model", trained_run / "model.npz"] if script == "evaluate.py" else ["--runs-dir", workspace / "runs"]
    result = run_script(script, "--data", workspace / "no_such_file.csv", *extra, workspace=workspace)
    assert result.returncode == 2
    assert "Kaggle" in result.stderr


@pytest.mark.parametrize("script", ["train_shallow.py", "evaluate.py", "cross_validate.py"])
def test_a_malformed_data_file_exits_2_and_names_the_line(script, trained_run, workspace):
    bad = workspace / "bad.csv"
    bad.write_text("emotion,pixels,Usage\n9,1 2 3,Training\n")
    extra = ["--model", trained_run / "model.npz"] if script == "evaluate.py" else ["--runs-dir", workspace / "runs"]
    result = run_script(script, "--data", bad, *extra, workspace=workspace)
    assert result.returncode == 2, result.stderr
    # One line says it (cross_validate.py may first note that Ray Tune is missing), and no traceback follows.
    lines = result.stderr.splitlines()
    assert any(line.startswith("error: bad.csv line 2: 'emotion' is '9'") for line in lines), result.stderr
    assert "Traceback" not in result.stderr


def test_train_hybrid_help_lists_depth(workspace):
    result = run_script("train_hybrid.py", "--help", workspace=workspace)
    assert_succeeded(result)
    assert "--depth {shallow,deep}" in result.stdout


def test_sanity_checks_pass_and_skip_the_data_checks_without_data(workspace):
    result = run_script("sanity_checks.py", "--data", workspace / "no_such_file.csv", workspace=workspace)
    assert_succeeded(result)
    assert "FAIL" not in result.stdout
    assert "skipping the checks on real data" in result.stdout


WITHOUT_RAY = """
import runpy, sys
sys.modules["ray"] = None     # import ray now fails, as where Ray is not installed
sys.argv = ["examples/cross_validate.py", *sys.argv[1:]]
runpy.run_path("examples/cross_validate.py", run_name="__main__")
"""


def test_cross_validate_without_ray_says_how_to_install_it_and_ranks_trials_run_one_after_another(workspace):
    environment = {**os.environ, "MINICNN_CACHE": str(workspace / "cache"), **SINGLE_THREADED}
    result = subprocess.run([sys.executable, "-c", WITHOUT_RAY, "--data", str(workspace / "fer2013.csv"), "--trials",
                             "2", "--epochs", "2", *TINY_TRAINING, "--runs-dir", str(workspace / "runs"), "--name",
                             "search"], cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=300)
    assert_succeeded(result)
    assert 'Ray Tune is not installed: pip install -e ".[search]"' in result.stderr
    results = json.loads((workspace / "runs" / "search" / "results.json").read_text())
    assert results["scored_on"] == "PublicTest" and results["engine"] == "one trial after another, each to the end"
    accuracies = [trial["val_acc"] for trial in results["trials"]]
    assert [trial["rank"] for trial in results["trials"]] == [1, 2]
    assert accuracies == sorted(accuracies, reverse=True)
    assert all(len(trial["val_acc_history"]) == trial["epochs"] == 2 for trial in results["trials"])
    assert (workspace / "runs" / "search" / "results.csv").is_file()
    assert (workspace / "runs" / "search" / "search.png").is_file()


def test_cross_validate_refuses_resume_without_ray(workspace):
    result = subprocess.run([sys.executable, "-c", WITHOUT_RAY, "--resume", "--runs-dir", str(workspace / "runs")],
                            cwd=REPO_ROOT, env={**os.environ, **SINGLE_THREADED}, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 2
    assert "--address and --resume need it" in result.stderr


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason='needs Ray Tune: pip install -e ".[search]"')
def test_cross_validate_on_ray_tune_reports_every_epoch_and_resumes(workspace):
    # About a minute: a local Ray starts, and every trial starts a Python process of its own.
    arguments = ["--data", workspace / "fer2013.csv", "--trials", 2, "--epochs", 2, *TINY_TRAINING, "--runs-dir",
                 workspace / "runs", "--name", "tune_search"]
    assert_succeeded(run_script("cross_validate.py", *arguments, workspace=workspace))
    run_dir = workspace / "runs" / "tune_search"
    results = json.loads((run_dir / "results.json").read_text())
    assert results["engine"].startswith("Ray Tune, random search, ASHA")
    assert len(results["trials"]) == 2 and (run_dir / "search.png").is_file()
    for trial in results["trials"]:    # ASHA may stop the worse trial after epoch 1 (not on a tie)
        assert len(trial["val_acc_history"]) == trial["epochs"] and trial["epochs"] in (1, 2)
    assert max(trial["epochs"] for trial in results["trials"]) == 2
    assert list(run_dir.glob("tune/*/checkpoint_*/checkpoint.npz")), "no trial handed Tune a minicnn checkpoint"
    resumed = run_script("cross_validate.py", *arguments, "--resume", workspace=workspace)   # a finished search
    assert_succeeded(resumed)
    def by_setting(trials):    # trials that tie may come back from Tune in another order
        return {trial["learning_rate"]: (trial["epochs"], trial["val_acc_history"]) for trial in trials}
    assert by_setting(json.loads((run_dir / "results.json").read_text())["trials"]) == by_setting(results["trials"])


def test_paper_report_puts_each_run_beside_the_paper(trained_run, workspace):
    runs = workspace / "paper_runs"
    shutil.copytree(trained_run, runs / "shallow")
    assert_succeeded(run_script("evaluate.py", "--model", runs / "shallow" / "model.npz", "--data",
                                workspace / "fer2013.csv", workspace=workspace))
    shutil.copytree(trained_run, runs / "deep")            # a run not scored yet: listed, without test figures
    out = workspace / "docs"
    result = subprocess.run([sys.executable, "benchmarks/paper_report.py", "--runs-dir", str(runs), "--out", str(out)],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
                            env={**os.environ, **SINGLE_THREADED})
    assert_succeeded(result)
    page = (out / "paper_results.md").read_text()
    private = json.loads((runs / "shallow" / "report_PrivateTest.json").read_text())
    assert "| Shallow net | 55.0% | 54.0% |" in page and f"{100 * private['accuracy']:.1f}%" in page
    assert "| Deep net | 65.0% | 64.0% | — | — | 1 of 1 |" in page
    for figure in ("shallow_loss", "shallow_accuracy", "shallow_confusion", "deep_loss"):
        assert (out / "figures" / f"paper_{figure}.png").is_file(), figure
    assert not (out / "figures" / "paper_deep_confusion.png").exists()


def test_ship_model_writes_a_loadable_model_with_its_card(trained_run, workspace):
    run = workspace / "to_ship"
    shutil.copytree(trained_run, run)
    assert run_script("ship_model.py", "--run", run, "--data", workspace / "fer2013.csv", "--out",
                      workspace / "shipped" / "model.npz", workspace=workspace).returncode == 2  # not scored yet
    assert_succeeded(run_script("evaluate.py", "--model", run / "model.npz", "--data", workspace / "fer2013.csv",
                                "--mirror", workspace=workspace))
    result = run_script("ship_model.py", "--run", run, "--data", workspace / "fer2013.csv", "--out",
                        workspace / "shipped" / "model.npz", workspace=workspace)
    assert_succeeded(result)
    from minicnn import models
    shipped = models.load(workspace / "shipped" / "model.npz")
    private = json.loads((run / "report_PrivateTest.json").read_text())
    assert shipped.info["accuracy"]["PrivateTest"] == private["accuracy"]
    assert shipped.info["epochs"] == 1 and shipped.info["storage"]["dtype"] in ("float16", "float32")
    card = (workspace / "shipped" / "MODEL_CARD.md").read_text()
    assert f"PrivateTest {100 * private['accuracy']:.1f}%" in card and "conv 32 3x3" in card
    assert "## Terms of use" in card and f"{KAGGLE_URL}/rules" in card  # FER2013's terms, beside the model


def test_minimal_train_trains_one_epoch_and_prints_the_validation_accuracy(workspace):
    result = run_script("minimal_train.py", workspace / "fer2013.csv", workspace=workspace)
    assert_succeeded(result)
    assert "(Epoch 1 / 1)" in result.stdout
    accuracy = float(result.stdout.rsplit("PublicTest (validation) accuracy: ", 1)[1])
    assert 0 <= accuracy <= 1


def test_evaluate_says_when_it_cannot_write_its_reports(trained_run, workspace):
    blocker = workspace / "a_file"
    blocker.write_text("a file where the output folder should be")
    result = run_script("evaluate.py", "--model", trained_run / "model.npz", "--data", workspace / "fer2013.csv",
                        "--splits", "PublicTest", "--out", blocker / "reports", workspace=workspace)
    assert result.returncode == 1, result.stderr
    assert f"cannot write into {blocker / 'reports'}" in result.stderr and "Traceback" not in result.stderr
