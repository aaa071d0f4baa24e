"""The test suite's one switch: which CuPy the GPU tests (marked gpu) run on.

MINICNN_FAKE_CUPY chooses what `import cupy` loads, in the tests and in the scripts they start:
  unset or 'auto'  the stand-in in tests/fake_cupy (NumPy underneath, the CUDA kernels compiled by the host compiler)
                   where CuPy is not installed and a C++ compiler is ($CXX, else g++), else CuPy itself, on a GPU;
  '1'              the stand-in, even where CuPy is installed;
  '0'              never the stand-in: without CuPy and a GPU the GPU tests are skipped.
The stand-in is put first on sys.path and on PYTHONPATH (for the scripts run as subprocesses) before any test module
is imported, so minicnn.backend finds it as it finds CuPy.
"""
import importlib.util
import os
import shutil
import sys
from pathlib import Path

FAKE_CUPY = Path(__file__).resolve().parent / "fake_cupy"
SWITCH_VALUES = ("auto", "1", "0")


def use_fake_cupy():
    """Whether the GPU tests run on the stand-in, from MINICNN_FAKE_CUPY (see the module's docstring)."""
    switch = os.environ.get("MINICNN_FAKE_CUPY", "auto")
    if switch not in SWITCH_VALUES:
        raise ValueError(f"MINICNN_FAKE_CUPY must be one of {', '.join(SWITCH_VALUES)}, got {switch!r}")
    if switch == "auto":
        return importlib.util.find_spec("cupy") is None and shutil.which(os.environ.get("CXX", "g++")) is not None
    return switch == "1"


if use_fake_cupy():
    sys.path.insert(0, str(FAKE_CUPY))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(FAKE_CUPY), os.environ.get("PYTHONPATH")]))
