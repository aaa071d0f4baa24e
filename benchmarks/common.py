"""What the benchmarks share: the timer, the device, optional PyTorch, the machine line, the layers of a network
with their shapes, the GEMMs an im2col network needs, and the Markdown report.

The benchmarks are scripts, run from the repository root as `python benchmarks/bench_layers.py` (or bench_train.py,
bench_epoch.py); Python then finds this module next to them. With --device gpu minicnn runs on CuPy arrays and
PyTorch on 'cuda'; the timer then waits for the GPU before it reads the clock, since a GPU call returns as soon as its
work is queued. Numba is only reported when it can be imported: a GPU machine may lack it.
"""
import os
import platform
import shlex
import statistics
import sys
import time
from dataclasses import dataclass

import numpy as np

from minicnn.kernels.shapes import conv_output_size, pool_output_size
from minicnn.backend import gpu_available, resolve_device
from minicnn.machine import (blas_description, cpu_model, gpu_description, numba_description, numpy_blas,
                             thread_settings, usable_cores)

WARMUP_ROUNDS = 2
DEVICES = ("cpu", "gpu")


# ------------------------------------------------------------------------------------------------------ timing
def median_times(functions, repeats, warmup=WARMUP_ROUNDS, consecutive=1):
    """Median wall-clock seconds of each no-argument function in `functions` (a dict name -> function).

    The functions take turns, round after round, so that a slow spell of the machine (another job, a clock that
    drops) lands on all of them instead of on one. Each round starts one function further on, so no function always
    runs right after the same neighbour. The first `warmup` rounds are not timed (Numba loading its cached kernels,
    CUDA kernels compiling, cuDNN choosing its algorithms, caches, the allocators). The GPU is synchronised before
    and after each call, so a time holds the GPU work the call queued. Returns a dict name -> seconds.

    consecutive > 1: each turn calls a function that many times in a row and times all calls but the first, as
    training runs a step right after a step of the same model; the first call of a turn pays for following another
    contestant (its memory and threads, left as that one left them). Each function then gets repeats * (consecutive
    - 1) timed calls.
    """
    names = list(functions)
    times = {name: [] for name in names}
    for round_index in range(warmup + repeats):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            for call in range(consecutive):
                elapsed = _timed_call(functions[name])
                if round_index >= warmup and (call > 0 or consecutive == 1):
                    times[name].append(elapsed)
    return {name: statistics.median(values) for name, values in times.items()}


def _timed_call(function):
    """Seconds that function() takes, the GPU work it queued included."""
    synchronize()
    start = time.perf_counter()
    function()
    synchronize()
    return time.perf_counter() - start


def synchronize():
    """Wait until the GPU has finished all the work that CuPy and PyTorch queued; nothing when neither uses a GPU.

    Only modules already imported are asked, so a CPU run never imports cupy or initialises CUDA here.
    """
    if "cupy" in sys.modules and gpu_available():
        sys.modules["cupy"].cuda.Device().synchronize()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        torch.cuda.synchronize()


# ---------------------------------------------------------------------------------------------- the device
def add_device_argument(parser):
    """The --device option: where minicnn (and PyTorch) run; default $MINICNN_DEVICE, else cpu."""
    default = os.environ.get("MINICNN_DEVICE", "cpu")
    parser.add_argument("--device", choices=DEVICES, default=default if default in DEVICES else "cpu",
                        help="cpu: NumPy + Numba, PyTorch on the CPU; gpu: CuPy + CUDA kernels, PyTorch on 'cuda' "
                             "(default: $MINICNN_DEVICE, else cpu)")


def check_device(parser, device):
    """Stop with a usage error, before any work, when device is 'gpu' and no GPU is usable."""
    if device == "gpu" and not gpu_available():
        parser.error("--device gpu: cupy is not installed or sees no usable CUDA device")


def array_module(device):
    """numpy for 'cpu', cupy for 'gpu' (an error naming the cause when no GPU is usable)."""
    if resolve_device(device) == "cpu":
        return np
    import cupy
    return cupy


def torch_device(device):
    """The PyTorch device that matches minicnn's: 'cpu' or 'cuda'."""
    return "cuda" if device == "gpu" else "cpu"


def set_tf32(torch, enabled):
    """Let PyTorch's float32 matrix products and convolutions on the GPU use TF32 tensor cores, or not.

    TF32 keeps 10 bits of mantissa instead of float32's 23: faster, and no longer the float32 arithmetic that minicnn
    does (CuPy leaves TF32 off unless CUPY_TF32=1), so the fair comparison is the one with TF32 off.
    """
    torch.backends.cuda.matmul.allow_tf32 = enabled
    torch.backends.cudnn.allow_tf32 = enabled


# ---------------------------------------------------------------------------------------------- the machine
def import_torch(enabled=True, device="cpu"):
    """The torch module, running on as many threads as numpy's BLAS, so both libraries get the same cores; None when
    disabled (--no-torch) or not installed, or, on device 'gpu', when this torch cannot use CUDA (said on stderr).

    On the GPU cuDNN may time its algorithms once per shape and keep the fastest (cudnn.benchmark), as PyTorch
    training scripts usually let it; the warm-up rounds of median_times absorb that search.
    """
    blas = numpy_blas()                 # asked before torch is imported, so that it is numpy's BLAS
    if not enabled:
        return None
    try:
        import torch
    except ImportError:
        return None
    threads = blas["num_threads"] if blas else usable_cores()
    torch.set_num_threads(threads)
    if device == "gpu":
        if not torch.cuda.is_available():
            print(f"PyTorch {torch.__version__} cannot use CUDA here, so it is left out", file=sys.stderr)
            return None
        torch.backends.cudnn.benchmark = True
    return torch


def machine_description(torch=None, device="cpu"):
    """One line: CPU, cores, Python, numpy and its BLAS, Numba, and torch (when used), each with its thread count;
    on device 'gpu' a second line describes the GPU, and torch's CUDA and cuDNN when torch is used."""
    torch_text = f"torch {torch.__version__}, {torch.get_num_threads()} threads" if torch else "torch not used"
    line = (f"{cpu_model()}, {usable_cores()} of {os.cpu_count()} cores usable | "
            f"Python {platform.python_version()} | numpy {np.__version__}, {blas_description()} | "
            f"{numba_description()} | {torch_text} | {thread_settings()}")
    if device == "gpu":
        line += f"  \nGPU: {gpu_description()}"
        if torch is not None:
            line += f" | torch CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}"
    return line


def command_line():
    """The command that started this process, quoted so that it can be pasted into a shell."""
    return shlex.join(["python", *sys.argv])


# ------------------------------------------------------------------------------------------ network shapes
@dataclass(frozen=True)
class Layer:
    """One conv, pool or affine layer of a network with the shapes it sees for a given batch.

    input_shape, output_shape: (N, C, H, W), or (N, D) for an affine layer. spec: the architecture's ConvLayer or
    AffineLayer (None for a pool and for the scores layer). pad: the conv's zero padding.
    """
    name: str
    kind: str
    input_shape: tuple
    output_shape: tuple
    spec: object = None
    pad: int = 0

    @property
    def gemm_shape(self):
        """(m, k, n) of the forward GEMM (m, k) @ (k, n): for a conv w (F, C*HH*WW) @ cols (C*HH*WW, N*H'*W'), for an
        affine layer x (N, D) @ w (D, M)."""
        if self.kind == "conv":
            N, C = self.input_shape[:2]
            _, F, out_height, out_width = self.output_shape
            return F, C * self.spec.size ** 2, N * out_height * out_width
        if self.kind == "affine":
            return self.input_shape[0], self.input_shape[1], self.output_shape[1]
        raise ValueError(f"{self.name}: a {self.kind} layer does no matrix product")


def network_layers(architecture, batch):
    """The layers of a plain (not hybrid) minicnn Architecture in order: conv{i} and pool{i} for each conv block,
    affine{i} for each hidden affine block, then 'scores'; shapes for `batch` images."""
    if architecture.hog_dim:
        raise ValueError("network_layers: the benchmarks time the plain nets, not the HOG hybrids")
    shape = (batch, *architecture.input_dim)
    layers = []
    for index, spec in enumerate(architecture.conv_layers, start=1):
        pad = (spec.size - 1) // 2 if spec.pad is None else spec.pad       # 'same' padding, as ConvNet does
        out_shape = (batch, spec.filters, *conv_output_size(*shape[2:], spec.size, spec.size, pad, spec.stride))
        layers.append(Layer(f"conv{index}", "conv", shape, out_shape, spec, pad))
        shape = out_shape
        if spec.pool:
            out_shape = (batch, spec.filters, *pool_output_size(*shape[2:], 2, 2, 2))
            layers.append(Layer(f"pool{index}", "pool", shape, out_shape))
            shape = out_shape
    features = int(np.prod(shape[1:]))
    for index, spec in enumerate(architecture.affine_layers, start=len(architecture.conv_layers) + 1):
        layers.append(Layer(f"affine{index}", "affine", (batch, features), (batch, spec.units), spec))
        features = spec.units
    layers.append(Layer("scores", "affine", (batch, features), (batch, architecture.num_classes)))
    return layers


def forward_backward_gemms(m, k, n, rng, xp=np):
    """The three float32 GEMMs of a layer whose forward pass is out = A @ B, A: (m, k), B: (k, n), and whose
    backward pass is dA = dout @ B.T and dB = A.T @ dout, laid out as minicnn's layers lay them out.

    For an im2col conv A is w (F, C*HH*WW) and B is cols (C*HH*WW, N*H'*W'); for an affine layer A is x (N, D) and
    B is w (D, M). xp: numpy (the BLAS) or cupy (cuBLAS). Returns (run, flops): run() computes the three into arrays
    allocated here once, so that it times the BLAS alone, and flops = 3 * 2 * m * k * n.
    """
    a = xp.asarray(rng.standard_normal((m, k), dtype=np.float32))
    b = xp.asarray(rng.standard_normal((k, n), dtype=np.float32))
    dout = xp.asarray(rng.standard_normal((m, n), dtype=np.float32))
    out, da, db = xp.empty((m, n), np.float32), xp.empty((m, k), np.float32), xp.empty((k, n), np.float32)

    def run():
        xp.matmul(a, b, out=out)
        xp.matmul(dout, b.T, out=da)
        xp.matmul(a.T, dout, out=db)

    return run, 3 * 2 * m * k * n


# --------------------------------------------------------------------------------------------------- report
def markdown_table(headers, rows):
    """A Markdown table, columns padded to line up; the first column left-aligned, the others (numbers) right."""
    cells = [list(map(str, headers))] + [list(map(str, row)) for row in rows]
    widths = [max(3, *(len(row[column]) for row in cells)) for column in range(len(headers))]
    rule = [":" + "-" * (widths[0] - 1)] + ["-" * (width - 1) + ":" for width in widths[1:]]

    def line(row):
        padded = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(row[1:], widths[1:])]
        return "| " + " | ".join(padded) + " |"

    return "\n".join([line(cells[0]), line(rule)] + [line(row) for row in cells[1:]])


def print_report(title, notes, table, torch, device="cpu"):
    """Print a Markdown section ready for benchmarks/RESULTS.md: title, notes, machine, command, then the table."""
    print(f"## {title}\n")
    for note in notes:
        print(note)
    if torch is None:
        print("PyTorch: not used (--no-torch, or torch is not installed).")
    print(f"\nMachine: {machine_description(torch, device)}  ")
    print(f"Command: `{command_line()}`\n")
    print(table)
