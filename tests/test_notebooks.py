"""The course in notebooks/: every notebook runs top to bottom, and is stored without outputs.

Each notebook is executed by nbclient (the Jupyter project's own executor, which nbconvert uses too) in a fresh
kernel started in notebooks/, as Jupyter starts one, with MINICNN_COURSE_QUICK=1 (small sizes: seconds per notebook)
and MINICNN_COURSE_SOLUTIONS=1 (every exercise's check runs on the solution in notebooks/solutions.py). FER2013 is
used when $MINICNN_DATA names it, else the notebooks run on their synthetic stand-in.
"""
import json
import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="nbformat comes with the test extra: pip install -e '.[test]'")
nbclient = pytest.importorskip("nbclient", reason="nbclient comes with the test extra: pip install -e '.[test]'")

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_FOLDER = REPO_ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_FOLDER.glob("*.ipynb"))
KERNEL_NAME = "minicnn-course-tests"
CELL_TIMEOUT = 300  # seconds; a cell that hangs fails instead of stalling the suite
# Small arrays gain nothing from threads, and on a busy machine a thread pool costs more than it saves.
SINGLE_THREADED = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def test_the_course_has_notebooks():
    assert len(NOTEBOOKS) == 8, f"expected the course's notebooks in {NOTEBOOK_FOLDER}, found {NOTEBOOKS}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_is_stored_without_outputs(notebook):
    """Outputs are stripped (clean diffs, no embedded images): run `python notebooks/strip_outputs.py` before a
    commit."""
    cells = nbformat.read(notebook, as_version=4).cells
    with_outputs = [index for index, cell in enumerate(cells)
                    if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)]
    assert not with_outputs, f"{notebook.name}: cells {with_outputs} hold outputs; run notebooks/strip_outputs.py"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_readme_links_the_notebook(notebook):
    assert f"notebooks/{notebook.name}" in (REPO_ROOT / "README.md").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def kernel_folder(tmp_path_factory):
    """A Jupyter data folder holding one kernel spec, KERNEL_NAME, that runs this test's own Python: a 'python3'
    kernel installed for the user could start another Python, one without this minicnn."""
    folder = tmp_path_factory.mktemp("jupyter")
    spec = folder / "kernels" / KERNEL_NAME / "kernel.json"
    spec.parent.mkdir(parents=True)
    spec.write_text(json.dumps({"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                                "display_name": "minicnn course tests", "language": "python"}))
    return folder


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_top_to_bottom(notebook, monkeypatch, kernel_folder):
    settings = {"MINICNN_COURSE_QUICK": "1", "MINICNN_COURSE_SOLUTIONS": "1", "JUPYTER_PATH": str(kernel_folder)}
    for name, value in {**settings, **SINGLE_THREADED}.items():
        monkeypatch.setenv(name, value)
    contents = nbformat.read(notebook, as_version=4)
    client = nbclient.NotebookClient(contents, timeout=CELL_TIMEOUT, kernel_name=KERNEL_NAME,
                                     resources={"metadata": {"path": str(NOTEBOOK_FOLDER)}})
    started = time.perf_counter()
    client.execute()     # raises CellExecutionError, with the cell and its traceback, when a cell fails
    print(f"{notebook.name}: {time.perf_counter() - started:.1f} s")
