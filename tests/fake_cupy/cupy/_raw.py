"""The stand-in's cupy.RawModule and cupy.RawKernel: CUDA C sources compiled by the host compiler, launched thread by
thread.

A source is compiled as C++ through kernels/cuda/host_shim.h, which makes CUDA's qualifiers nothing and threadIdx,
blockIdx, blockDim and gridDim ordinary variables. For each extern "C" __global__ kernel a launcher is added to the
source: it runs the kernel once for every thread of the launch, block by block and thread by thread (in C, not in
Python), with the built-ins set as a GPU sets them. So a launch computes exactly what its threads compute on a GPU:
a grid too small for a kernel without a grid-stride loop leaves work undone here too. Threads run one after another,
which is only right for threads that do not cooperate; a source using __shared__ memory or __syncthreads is refused.

CuPy passes kernel arguments unchecked (a wrong type reaches the GPU as wrong bytes); the stand-in checks each one
against the kernel's C signature, after converting it as CuPy does, and refuses what a GPU would misread.

Compiled libraries are kept in a cache folder by the hash of everything that goes into them, written atomically, so
test processes running at the same time share them safely: MINICNN_FAKE_CUPY_CACHE, else
<temporary folder>/minicnn-fake-cupy-<user id>. CXX names the compiler (default g++).
"""
import ctypes
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy

from cupy._array import ndarray
from cupy.cuda import compiler, driver

HOST_SHIM = Path(__file__).resolve().parents[3] / "kernels" / "cuda" / "host_shim.h"
KERNEL_SIGNATURE = re.compile(r'extern\s+"C"\s+__global__\s+void\s+(\w+)\s*\(([^)]*)\)')
COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
COOPERATING_THREADS = re.compile(r"\b(__shared__|__syncthreads)\b")
# C types of kernel parameters as NumPy dtypes: the element type of a pointer, or the type of a value. CuPy's table
# of NumPy types and CUDA types is in its user guide (link in _passed_dtype).
C_TYPES = {
    "bool": numpy.bool_, "char": numpy.int8, "signed char": numpy.int8, "unsigned char": numpy.uint8,
    "short": numpy.int16, "unsigned short": numpy.uint16, "int": numpy.int32, "unsigned int": numpy.uint32,
    "long long": numpy.int64, "unsigned long long": numpy.uint64, "float": numpy.float32, "double": numpy.float64,
}
# CUDA's launch limits (compute capability 3.0 on): blocks per grid along x, y, z and threads per block.
MAX_GRID = (2 ** 31 - 1, 65535, 65535)
MAX_BLOCK = (1024, 1024, 64)
MAX_THREADS_PER_BLOCK = 1024


@dataclass(frozen=True)
class Parameter:
    """One parameter of a kernel: `const float* x` is Parameter('x', 'const float*', float32, is_pointer=True)."""
    name: str
    declared: str        # the C type as written
    dtype: numpy.dtype   # the element type of a pointer, or the type of a value
    is_pointer: bool


def kernel_signatures(code):
    """{kernel name: (Parameter, ...)} for every extern "C" __global__ kernel of a CUDA source."""
    signatures = {}
    for match in KERNEL_SIGNATURE.finditer(COMMENT.sub("", code)):
        name, parameters = match.group(1), match.group(2).split(",") if match.group(2).strip() else []
        signatures[name] = tuple(_parameter(name, " ".join(parameter.split())) for parameter in parameters)
    return signatures


def _parameter(kernel, text):
    declared, name = text.replace("*", "* ").rsplit(maxsplit=1)
    declared = declared.replace(" *", "*").strip()
    base = " ".join(word for word in declared.replace("*", " ").split() if word not in ("const", "__restrict__"))
    if base not in C_TYPES or declared.count("*") > 1:
        raise NotImplementedError(f"{kernel}: parameter {text!r} has a C type the CuPy stand-in does not know; "
                                  f"it knows {', '.join(C_TYPES)} and pointers to them")
    return Parameter(name, declared, numpy.dtype(C_TYPES[base]), "*" in declared)


def _launcher(name, parameters):
    """C++ for host_launch_<name>(grid, block, args): the kernel run for every thread of a launch, args being the
    addresses of the argument values, as CUDA's cuLaunchKernel takes them."""
    values = ", ".join(f"*({parameter.declared}*)args[{index}]" for index, parameter in enumerate(parameters))
    return (f'extern "C" void host_launch_{name}(const unsigned int* grid, const unsigned int* block, void** args)\n'
            f"{{\n    host_shim_launch(grid, block, [args] {{ {name}({values}); }});\n}}\n")


def translation_unit(code):
    """The C++ the host compiler builds from a CUDA source: the shim, the source, a launcher per kernel."""
    launchers = "".join(_launcher(name, parameters) for name, parameters in kernel_signatures(code).items())
    return f'#include "host_shim.h"\n{code}\n\n// Launchers added by the CuPy stand-in\n{launchers}'


def cache_folder():
    default = Path(tempfile.gettempdir()) / f"minicnn-fake-cupy-{os.getuid()}"
    return Path(os.environ.get("MINICNN_FAKE_CUPY_CACHE") or default)


def _compile_command(options):
    """The host compiler's command line for NVRTC's options; only -std= means something to both."""
    standard = "-std=c++17"
    for option in options:
        if not isinstance(option, str) or not option.lstrip("-").startswith("std="):
            raise NotImplementedError(f"RawModule: the CuPy stand-in does not know what NVRTC's option {option!r} "
                                      "means for the host compiler; teach tests/fake_cupy/cupy/_raw.py")
        standard = "-" + option.lstrip("-")
    return [os.environ.get("CXX", "g++"), "-x", "c++", standard, "-O2", "-Wall", "-Wextra", "-Werror", "-fPIC",
            "-shared", "-I", str(HOST_SHIM.parent)]


def compile_library(code, options):
    """The path of the shared library built from a CUDA source with NVRTC's options, compiled on the first call
    for this source, shim and command and then taken from the cache folder."""
    if COOPERATING_THREADS.search(COMMENT.sub("", code)):
        raise NotImplementedError("RawModule: the source uses __shared__ memory or __syncthreads, whose threads must "
                                  "run side by side; the CuPy stand-in runs a block's threads one after another")
    command, source = _compile_command(options), translation_unit(code)
    if shutil.which(command[0]) is None:
        raise compiler.CompileException(f"the CuPy stand-in compiles kernels with {command[0]}, which is not on PATH "
                                        "(set CXX to another C++ compiler)")
    key = hashlib.sha256("\0".join([*command, HOST_SHIM.read_text(), source]).encode()).hexdigest()[:32]
    library = cache_folder() / f"{key}.so"
    if not library.exists():
        _build(command, source, library)
    return library


def _build(command, source, library):
    """Compile source into library: into a file of its own first, renamed into place when whole, so that processes
    building the same library at the same time each rename a complete file."""
    library.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=library.parent) as scratch:
        source_file, built = Path(scratch) / "kernels.cpp", Path(scratch) / "kernels.so"
        source_file.write_text(source)
        build = subprocess.run([*command, str(source_file), "-o", str(built)], capture_output=True, text=True)
        if build.returncode != 0:
            raise compiler.CompileException(f"the host compiler rejected the kernel source:\n{build.stderr}")
        os.replace(built, library)


class RawModule:
    """cupy.RawModule(code=..., options=...): the kernels of a CUDA source, compiled on first use."""

    def __init__(self, *, code, options=()):
        if not isinstance(options, tuple):  # CuPy declares options a tuple and refuses a list
            raise TypeError(f"RawModule: options must be a tuple of str, got {type(options).__name__}")
        self.code, self.options = code, options
        self._library, self._signatures = None, kernel_signatures(code)

    def get_function(self, name):
        """The kernel called name, as a RawKernel; a name the source does not define is CUDA's 'not found'."""
        if name not in self._signatures:
            raise driver.CUDADriverError("CUDA_ERROR_NOT_FOUND: named symbol not found")
        if self._library is None:
            self._library = ctypes.CDLL(str(compile_library(self.code, self.options)))
        return RawKernel(self.code, name, self.options, _module=self)


class RawKernel:
    """cupy.RawKernel(code, name, options): one kernel, launched as kernel(grid, block, args)."""

    def __init__(self, code, name, options=(), *, _module=None):
        self.code, self.name, self.options = code, name, options
        self._module = _module or RawModule(code=code, options=options)
        self._parameters = self._module._signatures.get(name)

    def __call__(self, grid, block, args, *, shared_mem=0):
        """Run the kernel for every thread of grid (1 to 3 block counts) blocks of block (1 to 3 thread counts)
        threads. args: one value per parameter, converted and checked as _c_argument says."""
        if self._module._library is None:
            self._module.get_function(self.name)
        if shared_mem:
            raise NotImplementedError("RawKernel: dynamic shared memory needs threads that run side by side, and the "
                                      "CuPy stand-in runs them one after another")
        grid, block = _launch_dimensions(grid, MAX_GRID, "grid"), _launch_dimensions(block, MAX_BLOCK, "block")
        if block[0] * block[1] * block[2] > MAX_THREADS_PER_BLOCK:
            raise driver.CUDADriverError("CUDA_ERROR_INVALID_VALUE: invalid argument (more than "
                                         f"{MAX_THREADS_PER_BLOCK} threads per block: {block})")
        args = tuple(args)
        if len(args) != len(self._parameters):
            raise TypeError(f"{self.name}: {len(args)} arguments for {len(self._parameters)} parameters; CuPy would "
                            "launch it anyway, and the kernel would read garbage")
        values = [_c_argument(self.name, index, value, parameter)
                  for index, (value, parameter) in enumerate(zip(args, self._parameters))]
        addresses = (ctypes.c_void_p * max(len(values), 1))(*(value.ctypes.data for value in values))
        launch = getattr(self._module._library, f"host_launch_{self.name}")
        launch((ctypes.c_uint * 3)(*grid), (ctypes.c_uint * 3)(*block), addresses)


def _launch_dimensions(sizes, limits, what):
    """A launch's grid or block as three counts (x, y, z), missing ones 1; CUDA's error for a count out of range."""
    if not isinstance(sizes, tuple) or not 1 <= len(sizes) <= 3:
        raise TypeError(f"RawKernel: {what} must be a tuple of 1 to 3 ints, got {sizes!r}")
    sizes = tuple(int(size) for size in sizes) + (1,) * (3 - len(sizes))
    if not all(1 <= size <= limit for size, limit in zip(sizes, limits)):
        raise driver.CUDADriverError(f"CUDA_ERROR_INVALID_VALUE: invalid argument ({what} {sizes}, limits {limits})")
    return sizes


def _passed_dtype(value):
    """The type CuPy gives a kernel argument that is passed by value, as a NumPy dtype.

    CuPy's user guide, "Kernel arguments" (https://docs.cupy.dev/en/stable/user_guide/kernel.html#kernel-arguments):
    "Python primitive types, int, float, complex and bool map to long long, double, cuDoubleComplex and bool,
    respectively", and "NumPy scalars (numpy.generic) and NumPy arrays (numpy.ndarray) of size one are passed to the
    kernel by value", each as its own type; cupy/_core/_scalar.pyx (numpy_dtype_from_pyscalar) passes an int from
    2**63 on as unsigned long long. A NumPy array of another size is refused with CuPy's message
    (cupy/cuda/function.pyx), and any other object is "Unsupported type".
    """
    if isinstance(value, bool):
        return numpy.dtype(numpy.bool_)
    if isinstance(value, int):
        return numpy.dtype(numpy.uint64 if value >= 2 ** 63 else numpy.int64)
    if isinstance(value, (float, complex)):
        return numpy.dtype(numpy.float64 if isinstance(value, float) else numpy.complex128)
    if isinstance(value, numpy.generic):
        return value.dtype
    if isinstance(value, numpy.ndarray):
        if value.size != 1:
            raise TypeError(f"You are trying to pass a numpy.ndarray of shape {value.shape} as a kernel parameter. "
                            "Only numpy.ndarrays of size one can be passed by value. If you meant to pass a pointer "
                            "to __global__ memory, you need to pass a cupy.ndarray instead.")
        return value.dtype
    raise TypeError(f"Unsupported type {type(value)}")


def _c_argument(kernel, index, value, parameter):
    """A NumPy array holding the bytes the kernel receives for parameter from value: a cupy array's address for a
    pointer, the value itself otherwise. A value that the parameter's C type would misread is a TypeError."""
    where = f"{kernel}: argument {index} ({parameter.declared} {parameter.name})"
    if parameter.is_pointer:
        if not isinstance(value, ndarray):
            raise TypeError(f"{where} is a pointer, so it takes a cupy array, got {type(value).__name__} {value!r}")
        if value.dtype != parameter.dtype:
            raise TypeError(f"{where} points to {parameter.dtype}, but the cupy array passed holds {value.dtype}")
        return numpy.array(value._host.ctypes.data, dtype=numpy.uintp)
    if isinstance(value, ndarray):
        raise TypeError(f"{where} is a value, got a cupy array")
    passed = _passed_dtype(value)
    if passed != parameter.dtype:
        raise TypeError(f"{where} is a {parameter.dtype.itemsize}-byte {parameter.dtype}, but CuPy passes "
                        f"{type(value).__name__} {value!r} as {passed.itemsize}-byte {passed}, which the kernel "
                        f"would misread; pass numpy.{parameter.dtype}({value!r})")
    return numpy.array(value, dtype=passed)
