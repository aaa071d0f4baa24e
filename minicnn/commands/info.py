"""What this installation of minicnn is and what it runs on: minicnn info.

Prints the version and where minicnn is installed; the CPU, numpy's BLAS and the kernel it picked, the code path of
minicnn's own kernels (Numba and the CPU it compiles for, the convolution algorithm) and the thread settings; the
devices (the GPU, when CuPy sees one); where FER2013 is found and where the caches go; the shipped models; and the
optional packages. Paste it into a bug report.
"""
import argparse
import importlib.metadata
import importlib.util
import os
import platform
from pathlib import Path

import numpy as np

import minicnn
from minicnn import backend, data, layers, machine, models, winograd
from minicnn.files import cache_root

OPTIONAL_PACKAGES = {"onnx": "minicnn export", "onnxruntime": "minicnn export's check, and running the ONNX file",
                     "starlette": "minicnn serve", "uvicorn": "minicnn serve",
                     "cupy-cuda12x": "the GPU (CUDA 12)", "cupy-cuda13x": "the GPU (CUDA 13)"}


def parse_arguments(argv=None, prog=None):
    parser = argparse.ArgumentParser(prog=prog, description="Print minicnn's version, the devices, the BLAS and "
                                                            "kernel code path, and where the data and caches are.")
    return parser.parse_args(argv)


def report():
    """The lines of the report: (topic, what minicnn found)."""
    return [("minicnn", f"{minicnn.__version__} in {Path(minicnn.__file__).parent}"),
            ("Python", f"{platform.python_version()}, numpy {np.__version__}"),
            ("CPU", f"{machine.cpu_model()}; {machine.usable_cores()} of {os.cpu_count()} cores usable"),
            ("BLAS", f"{machine.blas_description()}: the GEMMs of affine layers, im2col and Winograd"),
            ("CPU kernels", cpu_kernels()),
            ("convolution", convolution_algorithm()),
            ("threads", machine.thread_settings()),
            ("devices", devices()),
            ("data", data_location()),
            ("caches", caches()),
            *(("shipped model", describe_model(path)) for path in shipped_models()),
            ("optional", optional_packages())]


def cpu_kernels():
    """Numba, the CPU it compiles minicnn's kernels for, and where the compiled kernels are kept."""
    target = machine.numba_target()
    if target is None:
        return f"{machine.numba_description()}: the CPU runs minicnn's plain NumPy code"
    kernels_folder = Path(importlib.util.find_spec("minicnn.kernels").origin).parent
    cache = os.environ.get("NUMBA_CACHE_DIR") or kernels_folder / "__pycache__"
    return (f"{machine.numba_description()}, compiled for {target} (NUMBA_CPU_NAME overrides), kept in {cache}; "
            f"fused batch norm + ReLU + dropout and Adam: {'on' if backend.fused_cpu_kernels() else 'off'}")


def convolution_algorithm():
    """Which algorithm the convolutions take, as MINICNN_CONV_ALGORITHM sets it."""
    chosen = os.environ.get("MINICNN_CONV_ALGORITHM", "auto")
    sizes = " and ".join(f"{size}x{size}" for size in winograd.KERNEL_SIZES)
    rules = {"auto": f"Winograd for stride-1 {sizes} filters from {layers.WINOGRAD_MIN_CHANNELS} input channels on "
                     "the CPU, im2col and GEMM otherwise",
             "im2col": "im2col and GEMM everywhere",
             "winograd": f"Winograd for every stride-1 {sizes} filter on the CPU, im2col and GEMM otherwise"}
    return f"MINICNN_CONV_ALGORITHM={chosen}: {rules.get(chosen, 'not a valid choice (auto, im2col, winograd)')}"


def devices():
    """The CPU always; the GPU when CuPy sees one, else why not; and the default device."""
    if backend.gpu_available():
        gpu = f"gpu ({machine.gpu_description()}; minicnn's CUDA kernels: kernels/cuda/*.cu, compiled by CuPy)"
    elif importlib.util.find_spec("cupy") is None:
        gpu = 'no gpu (CuPy is not installed: pip install "minicnn[cuda12]" or "minicnn[cuda13]")'
    else:
        gpu = "no gpu (CuPy is installed but sees no usable CUDA device)"
    return f"cpu, {gpu}; MINICNN_DEVICE={os.environ.get('MINICNN_DEVICE', 'unset (cpu)')}"


def data_location():
    """Where FER2013 is found (as --data would find it without the option), or what was tried."""
    try:
        path = data.find_data_path()
    except data.DataNotFoundError:
        tried = os.environ.get("MINICNN_DATA") or ", ".join(data.DEFAULT_DATA_PATHS)
        return f"FER2013 not found (tried {tried}); give --data PATH or set MINICNN_DATA (see {data.KAGGLE_URL})"
    cached = [str(file) for file in data.cache_files(path) if file.exists()]
    return f"FER2013 at {path.resolve()}" + (f", parsed arrays cached in {cached[0]}" if cached else ", not cached yet")


def caches():
    """Where minicnn keeps what it computes once: parsed data sets and HOG features."""
    return (f"{cache_root()} ($MINICNN_CACHE, else ~/.cache/minicnn): data/ parsed data sets (unless written beside "
            "the data file), hog/ HOG features")


def shipped_models():
    """The model files that ship with minicnn (minicnn/pretrained/*.npz)."""
    return sorted(models.PRETRAINED_MODEL.parent.glob("*.npz"))


def describe_model(path):
    """One line: the file, its size and what its info says it scored."""
    try:
        info = models.load(path).info
    except ValueError as error:
        return f"{path}: cannot be loaded ({error})"
    accuracy = ", ".join(f"{split} {100 * value:.1f}%" for split, value in info.get("accuracy", {}).items())
    return f"{path} ({path.stat().st_size / 1e6:.1f} MB): {info.get('network', 'a ConvNet')}; {accuracy}"


def optional_packages():
    """The optional packages, each with its version or 'not installed', and what it is for."""
    return "; ".join(f"{name} {_version(name)} ({purpose})" for name, purpose in OPTIONAL_PACKAGES.items())


def _version(distribution):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def main(argv=None, prog=None):
    """minicnn info: print the report. Returns the exit status (0)."""
    parse_arguments(argv, prog)
    lines = report()
    width = max(len(topic) for topic, _ in lines)
    for topic, text in lines:
        print(f"{topic:>{width}}: {text}")
    return 0
