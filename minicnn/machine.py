"""What minicnn runs on: the CPU and its widest vector instructions, the cores, numpy's BLAS and the kernel it
picked, Numba and the CPU it compiles for, and the GPU. `minicnn info` prints them; the benchmarks write them into
their reports (benchmarks/common.py) and the training runs into their config.json.

Each function answers on any machine: what cannot be known there (no /proc/cpuinfo, no Numba, no GPU) is said so,
never raised.
"""
import functools
import os
import platform

from minicnn.threads import SETTINGS


def usable_cores():
    """The cores this process may run on (its affinity mask where the system has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def cpuinfo_field(name):
    """The value of the first `name` line of /proc/cpuinfo (Linux), or None where there is none."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.split(":", 1)[0].strip() == name:
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_model():
    """The CPU's model name and its widest vector instructions ('AMD EPYC, AVX-512'): OpenBLAS, Numba and oneDNN each
    pick their kernels by the latter, so it tells two machines of the same name apart."""
    name = cpuinfo_field("model name") or platform.processor() or "unknown CPU"
    flags = set((cpuinfo_field("flags") or "").split())
    vectors = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else None
    return f"{name}, {vectors}" if vectors else name


@functools.cache
def numpy_blas():
    """numpy's BLAS as threadpoolctl sees it: {'internal_api', 'version', 'architecture', 'num_threads', ...}, or None
    when it finds none. Cached from the first call, so that asking before torch loads a BLAS of its own into the
    process (as the benchmarks do) keeps the answer numpy's."""
    from threadpoolctl import threadpool_info
    pools = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    return pools[0] if pools else None


def blas_kernel(blas):
    """The kernel OpenBLAS runs ('SkylakeX'), and whether OPENBLAS_CORETYPE forced it rather than the CPU chose it."""
    architecture = blas.get("architecture") or "kernel not reported"
    return f"{architecture}, forced by OPENBLAS_CORETYPE" if os.environ.get("OPENBLAS_CORETYPE") else architecture


def blas_description():
    """numpy's BLAS, its version, its kernel and its threads ('openblas 0.3.30 (SkylakeX), 2 threads')."""
    blas = numpy_blas()
    if blas is None:
        return "no BLAS found by threadpoolctl"
    return f"{blas['internal_api']} {blas['version']} ({blas_kernel(blas)}), {blas['num_threads']} threads"


def numba_description():
    """Numba's version and thread count, or why it is missing (a GPU machine needs no Numba)."""
    try:
        import numba
    except ImportError as error:
        return f"Numba not importable ({error})"
    return f"Numba {numba.__version__}, {numba.get_num_threads()} threads"


def numba_target():
    """The CPU Numba compiles minicnn's kernels for, by LLVM's name ('skylake-avx512'): the host's unless
    NUMBA_CPU_NAME names another; None without Numba."""
    try:
        import numba
        from llvmlite import binding
    except ImportError:
        return None
    return numba.config.CPU_NAME or binding.get_host_cpu_name()


def gpu_description():
    """One line: the GPU, its memory, driver and CUDA runtime, and CuPy. Needs a usable GPU (backend.gpu_available)."""
    import cupy
    properties = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    name = properties["name"]
    name = name.decode() if isinstance(name, bytes) else name
    memory = properties["totalGlobalMem"] / 2 ** 30
    return (f"{name}, {memory:.0f} GiB, driver {cuda_version(cupy.cuda.runtime.driverGetVersion())} | "
            f"CuPy {cupy.__version__}, CUDA runtime {cuda_version(cupy.cuda.runtime.runtimeGetVersion())}")


def cuda_version(number):
    """CUDA's integer version (12040) as text ('12.4')."""
    return f"{number // 1000}.{number % 1000 // 10}"


def thread_settings():
    """The variables minicnn/threads.py sets for the thread pools, as this process sees them."""
    return ", ".join(f"{name}={os.environ.get(name, 'unset')}" for name in SETTINGS)
