from pathlib import Path

from setuptools import setup

setup(
    name="minicnn",
    version="0.1.0",
    description="A from-scratch CNN library for facial expression recognition (FER2013), NumPy/Numba and CuPy",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    packages=["minicnn", "kernels", "solver"],
    package_data={"kernels": ["cuda/*.cu", "cuda/*.h"]},
    python_requires=">=3.10",
    install_requires=["numpy", "numba", "pandas", "scikit-image", "matplotlib", "tqdm"],
    extras_require={
        "cuda12": ["cupy-cuda12x"],     # install one of the two CUDA extras, never both
        "cuda13": ["cupy-cuda13x"],
        "test": ["pytest", "hypothesis"],
        "bench": ["torch"],
    },
)
