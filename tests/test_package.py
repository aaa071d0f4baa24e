"""The package a user installs: the wheel and the sdist built from the repository hold every file of the package
(the kernels' CUDA sources, the shipped models and their card included), the licence, and no tests or runs; twine
passes them; and the wheel installed alone into a new virtual environment outside the repository gives a working
`minicnn` command: info, predict on a photo with the shipped model, and one epoch of train on a small data set.

The new environment gets no copy of numpy and the rest: a .pth file puts the site-packages of the Python running the
tests after its own. Python reads that file's lines as folders and runs no .pth file inside them, so an editable
install of minicnn there (a finder hooked in by a .pth) stays out, and the tests check that minicnn is imported from
the wheel. The three commands run at once, each on its own core, since most of their time is Numba compiling
minicnn's kernels anew for the new installation.
"""
import json
import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from skimage import data as skimage_data

import minicnn
from minicnn import models
from test_examples import ROWS_PER_SPLIT, SINGLE_THREADED, TINY_TRAINING, write_synthetic_fer2013

REPO_ROOT = Path(__file__).resolve().parents[1]
# Where each folder of the repository goes in the installed package (package_dir in setup.py).
PACKAGE_FOLDERS = {"minicnn": "minicnn", "kernels": "minicnn/kernels", "solver": "minicnn/solver"}
LEFT_OUT = ("tests/", "runs/", "examples/", "notebooks/", "benchmarks/", "docs/")
TIMEOUT = 600


def run(command, **options):
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, **options)


def assert_succeeded(result):
    assert result.returncode == 0, f"exit status {result.returncode}\n{result.stdout}\n{result.stderr}"


def package_files():
    """Every file of the package folders that git tracks or would track (untracked but not ignored), links aside, by
    its path in the repository (kernels/cpu.py)."""
    listed = run(["git", "ls-files", "--cached", "--others", "--exclude-standard", *PACKAGE_FOLDERS], cwd=REPO_ROOT)
    if listed.returncode != 0:
        pytest.skip(f"the package's files are read from git, which could not list them: {listed.stderr.strip()}")
    # minicnn/kernels and minicnn/solver are links to kernels/ and solver/, for a checkout used without an install;
    # the wheel holds the files they point to, under their installed names.
    return {path for path in listed.stdout.split() if not (REPO_ROOT / path).is_symlink()}


def installed_path(path):
    """Where a file of the repository goes in the installed package: kernels/cpu.py -> minicnn/kernels/cpu.py."""
    folder, rest = path.split("/", 1)
    return f"{PACKAGE_FOLDERS[folder]}/{rest}"


def test_the_citation_and_the_changelog_name_the_version():
    assert f"\nversion: {minicnn.__version__}\n" in (REPO_ROOT / "CITATION.cff").read_text()
    assert f"\n## [{minicnn.__version__}] - " in (REPO_ROOT / "CHANGELOG.md").read_text()


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    """(wheel, sdist) built from the repository by `python -m build`, the wheel from the sdist, as pip would."""
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation builds with the setuptools and wheel of this Python instead of downloading fresh ones.
    assert_succeeded(run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(REPO_ROOT)]))
    return next(out.glob("*.whl")), next(out.glob("*.tar.gz"))


def test_twine_passes_the_wheel_and_the_sdist(dists):
    result = run([sys.executable, "-m", "twine", "check", "--strict", *map(str, dists)])
    assert_succeeded(result)
    assert result.stdout.count("PASSED") == 2, result.stdout


def test_the_wheel_holds_the_package_and_its_licence_and_nothing_else(dists):
    names = set(zipfile.ZipFile(dists[0]).namelist())
    wanted = {installed_path(path) for path in package_files()}
    assert {"minicnn/kernels/cuda/im2col.cu", "minicnn/pretrained/MODEL_CARD.md"} <= wanted   # the list is real
    assert not wanted - names, f"missing from the wheel: {sorted(wanted - names)}"
    dist_info = f"minicnn-{minicnn.__version__}.dist-info"
    extra = {name for name in names - wanted if not name.startswith(dist_info)}
    assert not extra, f"in the wheel but not in the package: {sorted(extra)}"
    assert any(name.startswith(dist_info) and name.endswith("LICENSE") for name in names)
    metadata = zipfile.ZipFile(dists[0]).read(f"{dist_info}/METADATA").decode()
    assert "License: MIT" in metadata and f"Version: {minicnn.__version__}" in metadata
    assert "minicnn = minicnn.cli:main" in zipfile.ZipFile(dists[0]).read(f"{dist_info}/entry_points.txt").decode()


def test_the_sdist_holds_the_sources_licence_citation_and_changelog_but_no_tests(dists):
    root = f"minicnn-{minicnn.__version__}/"
    names = {name.removeprefix(root) for name in tarfile.open(dists[1]).getnames()}
    assert not package_files() - names, f"missing from the sdist: {sorted(package_files() - names)}"
    assert {"LICENSE", "CITATION.cff", "CHANGELOG.md", "README.md", "setup.py", "pyproject.toml"} <= names
    assert not [name for name in names if name.startswith(LEFT_OUT)]


@pytest.fixture(scope="module")
def venv(dists, tmp_path_factory):
    """A new virtual environment outside the repository with the wheel installed alone (no dependencies)."""
    folder = tmp_path_factory.mktemp("venv")
    assert_succeeded(run([sys.executable, "-m", "venv", "--without-pip", str(folder)]))
    python = folder / "bin" / "python"
    site_packages = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
                         .stdout.strip())
    outer = {sysconfig.get_paths()[key] for key in ("purelib", "platlib")}
    (site_packages / "outer_site_packages.pth").write_text("\n".join(sorted(outer)) + "\n")
    assert_succeeded(run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                          "--quiet", str(dists[0])]))
    return folder


@pytest.fixture(scope="module")
def commands(venv, tmp_path_factory):
    """The results of `minicnn info`, `minicnn predict` on a photo and `minicnn train` for one epoch, run at once
    by the installed command from a folder outside the repository."""
    work = tmp_path_factory.mktemp("work")
    Image.fromarray(skimage_data.astronaut()).save(work / "astronaut.jpg")
    write_synthetic_fer2013(work / "fer2013.csv")
    environment = {**os.environ, "MINICNN_CACHE": str(work / "cache"), **SINGLE_THREADED}
    for variable in ("PYTHONPATH", "MINICNN_DATA", "NUMBA_CACHE_DIR"):  # nothing may lead back to the repository
        environment.pop(variable, None)
    minicnn_command = str(venv / "bin" / "minicnn")
    command_lines = {
        "info": [minicnn_command, "info"],
        "predict": [minicnn_command, "predict", "astronaut.jpg", "--json"],
        "train": [minicnn_command, "train", "shallow", "--data", "fer2013.csv", "--epochs", "1", *TINY_TRAINING],
        "imported": [str(venv / "bin" / "python"), "-c", "import minicnn.kernels; print(minicnn.kernels.__file__)"],
    }
    processes = {name: subprocess.Popen(line, cwd=work, env=environment, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True) for name, line in command_lines.items()}
    results = {}
    for name, process in processes.items():
        stdout, stderr = process.communicate(timeout=TIMEOUT)
        results[name] = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    return work, results


def test_the_installed_minicnn_is_the_wheels(venv, commands):
    _, results = commands
    assert_succeeded(results["imported"])
    imported = Path(results["imported"].stdout.strip()).resolve()
    assert imported.is_relative_to(venv.resolve()) and not imported.is_relative_to(REPO_ROOT)


def test_minicnn_info_describes_the_installation(venv, commands):
    _, results = commands
    assert_succeeded(results["info"])
    lines = dict(line.strip().split(": ", 1) for line in results["info"].stdout.splitlines())
    assert lines["minicnn"].startswith(f"{minicnn.__version__} in {venv.resolve()}")
    assert {"CPU", "BLAS", "CPU kernels", "convolution", "devices", "data", "caches"} <= set(lines)
    assert models.PRETRAINED_MODEL.name in lines["shipped model"] and "PrivateTest" in lines["shipped model"]


def test_minicnn_predict_reads_the_faces_of_a_photo_with_the_shipped_model(commands):
    _, results = commands
    assert_succeeded(results["predict"])
    found = json.loads(results["predict"].stdout)
    assert len(found) >= 1
    assert set(found[0]) == {"box", "emotion", "emotions"} and found[0]["emotion"] in found[0]["emotions"]
    assert abs(sum(found[0]["emotions"].values()) - 1) < 1e-3


def test_minicnn_train_runs_an_epoch_and_saves_the_model(commands):
    work, results = commands
    assert_succeeded(results["train"])
    run_dir = work / "runs" / "shallow"
    report = json.loads((run_dir / "report.json").read_text())
    assert report["count"] == ROWS_PER_SPLIT["PublicTest"]
    assert models.load(run_dir / "model.npz").mean_image is not None
