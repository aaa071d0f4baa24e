from pathlib import Path

from setuptools import setup

setup(
    name="minicnn",
    version="0.1.0",
    description="A from-scratch CNN library for facial expression recognition (FER2013), NumPy/Numba and CuPy",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    # One installed package, minicnn; the kernels and the Solver keep their folders beside it in the repository and
    # are installed as its parts minicnn.kernels and minicnn.solver.
    packages=["minicnn", "minicnn.kernels", "minicnn.solver"],
    package_dir={"minicnn": "minicnn", "minicnn.kernels": "kernels", "minicnn.solver": "solver"},
    package_data={"minicnn.kernels": ["cuda/*.cu", "cuda/*.h"],
                  "minicnn": ["pretrained/*.npz", "pretrained/*.md", "app_static/*"]},
    python_requires=">=3.10",
    install_requires=["numpy", "numba", "pandas", "scikit-image", "matplotlib", "pillow", "tqdm"],
    extras_require={
        "cuda12": ["cupy-cuda12x"],     # install one of the two CUDA extras, never both
        "cuda13": ["cupy-cuda13x"],
        "test": ["pytest", "hypothesis", "ruff", "nbclient", "nbformat", "ipykernel",  # these three run notebooks/
                 "selenium"],   # drives Chromium in the page's tests (the browser itself comes from the system)
        "app": ["starlette", "uvicorn"],   # the page (minicnn/app.py): a small ASGI app and its server
        "bench": ["torch", "threadpoolctl"],   # threadpoolctl names the BLAS kernel in the reports
        "search": ["ray[tune]", "threadpoolctl"],   # examples/cross_validate.py's trials as Ray Tune trials
        "mpi": ["mpi4py", "mpich"],            # --data-parallel: mpi4py with MPICH's wheel (mpiexec included)
    },
)
