import re
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).parent


def version():
    """minicnn.__version__, read from minicnn/__init__.py (its one source) without importing minicnn."""
    text = (HERE / "minicnn" / "__init__.py").read_text(encoding="utf-8")
    return re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE).group(1)


setup(
    name="minicnn",
    version=version(),
    description="A from-scratch CNN library for facial expression recognition (FER2013), NumPy/Numba and CuPy",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="MIT",                  # the License field of the metadata; the text is LICENSE, shipped in both dists
    license_files=["LICENSE"],
    classifiers=["Programming Language :: Python :: 3", "Topic :: Scientific/Engineering :: Artificial Intelligence"],
    # One installed package, minicnn; the kernels and the Solver keep their folders beside it in the repository and
    # are installed as its parts minicnn.kernels and minicnn.solver.
    packages=["minicnn", "minicnn.commands", "minicnn.kernels", "minicnn.solver"],
    package_dir={"minicnn": "minicnn", "minicnn.kernels": "kernels", "minicnn.solver": "solver"},
    package_data={"minicnn.kernels": ["cuda/*.cu", "cuda/*.h"],
                  "minicnn": ["pretrained/*.npz", "pretrained/*.md", "app_static/*"]},
    entry_points={"console_scripts": ["minicnn = minicnn.cli:main"]},
    python_requires=">=3.10",
    # threadpoolctl names numpy's BLAS and its kernel (minicnn info, the benchmarks) and holds its threads (the search).
    install_requires=["numpy", "numba", "pandas", "scikit-image", "matplotlib", "pillow", "tqdm", "threadpoolctl"],
    extras_require={
        "cuda12": ["cupy-cuda12x"],     # install one of the two CUDA extras, never both
        "cuda13": ["cupy-cuda13x"],
        "test": ["pytest", "hypothesis", "ruff", "nbclient", "nbformat", "ipykernel",  # these three run notebooks/
                 "selenium",    # drives Chromium in the page's tests (the browser itself comes from the system)
                 "build", "wheel", "twine"],  # build the wheel and the sdist and check them (tests/test_package.py)
        "app": ["starlette", "uvicorn"],   # the page (minicnn/app.py): a small ASGI app and its server
        "onnx": ["onnx", "onnxruntime"],  # minicnn export writes with onnx and checks the file with onnxruntime
        "bench": ["torch"],
        "search": ["ray[tune]"],   # examples/cross_validate.py's trials as Ray Tune trials
        "mpi": ["mpi4py", "mpich"],            # --data-parallel: mpi4py with MPICH's wheel (mpiexec included)
    },
)
