"""Remove the outputs of the course's notebooks before a commit: python notebooks/strip_outputs.py [notebook ...]

The notebooks are stored without outputs (tests/test_notebooks.py checks it), so that a diff shows only what was
written and the repository holds no images; Jupyter, or `python -m pytest tests/test_notebooks.py`, runs them.
"""
import sys
from pathlib import Path

import nbformat


def strip_outputs(path):
    """Empty the outputs and execution counts of every code cell of the notebook at path, in place."""
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(notebook, path)


if __name__ == "__main__":
    for notebook in sys.argv[1:] or sorted(Path(__file__).parent.glob("*.ipynb")):
        strip_outputs(notebook)
