"""Thread settings for a training step on few cores, applied by `import minicnn` whatever was imported before it.

A training step hands the cores back and forth between two thread pools: OpenBLAS's (the GEMMs) and OpenMP's (the
Numba kernels). By default each pool keeps its idle threads spinning for a while after its work, on the cores the
other pool needs next. On 2 cores, letting idle threads sleep at once made a training step 27-39% faster
(benchmarks/RESULTS.md). Two environment variables say so, and a value the user set always wins:

  OPENBLAS_THREAD_TIMEOUT=4   OpenBLAS threads spin at most 2**4 cycles before sleeping. OpenBLAS reads its variables
                              when it loads, i.e. when numpy is imported, and reads this one into its thread pool
                              when it starts the pool. When numpy came first, configure_threads asks OpenBLAS to read
                              its variables again (openblas_read_env) and stops its pool (blas_thread_shutdown_, the
                              call OpenBLAS makes itself before a fork); the next GEMM starts a pool with the new
                              timeout.
  OMP_WAIT_POLICY=passive     idle OpenMP threads sleep. The OpenMP runtime reads it when it loads, which for
                              Numba's kernels is at the first parallel kernel call, so setting it at import is in time
                              unless an OpenMP runtime is already loaded (by torch, say, or an earlier kernel call).

When a setting cannot take effect any more, configure_threads warns and says what to do instead.
"""
import ctypes
import os
import warnings

SETTINGS = {"OPENBLAS_THREAD_TIMEOUT": "4", "OMP_WAIT_POLICY": "passive"}


def configure_threads():
    """Set the variables of SETTINGS that the user left unset and make them reach libraries already loaded.

    Returns the names of the variables this call set. `import minicnn` calls it; calling it again does nothing.
    It stops OpenBLAS's idle worker threads, so import minicnn before starting threads of your own that use numpy.
    """
    newly_set = [name for name in SETTINGS if name not in os.environ]
    for name in newly_set:
        os.environ[name] = SETTINGS[name]  # os.environ also puts it into the C environment that the libraries read
    loaded = _loaded_libraries()
    if "OPENBLAS_THREAD_TIMEOUT" in newly_set:
        for path in (path for path in loaded if "openblas" in os.path.basename(path).lower()):
            _restart_openblas_pool(path)
    if "OMP_WAIT_POLICY" in newly_set and any(_is_openmp_runtime(path) for path in loaded):
        warnings.warn("minicnn: an OpenMP runtime was loaded before minicnn, so OMP_WAIT_POLICY=passive cannot reach "
                      "it and a training step may run slower; import minicnn first or export OMP_WAIT_POLICY=passive "
                      "in the shell", RuntimeWarning, stacklevel=3)
    return newly_set


def _loaded_libraries():
    """The paths of the shared libraries loaded into this process (Linux's /proc/self/maps; [] elsewhere)."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            return sorted({line.split(maxsplit=5)[5].strip() for line in maps
                           if line.count(" ") >= 5 and ".so" in line.rsplit("/", 1)[-1]})
    except OSError:
        return []


def _is_openmp_runtime(path):
    name = os.path.basename(path).lower()
    return name.startswith(("libgomp", "libiomp", "libomp"))


def _restart_openblas_pool(path):
    """Make the OpenBLAS library at path read its environment again and start its thread pool anew on next use."""
    library = ctypes.CDLL(path)  # already loaded: this returns the loaded copy, it loads nothing
    if not (hasattr(library, "openblas_read_env") and hasattr(library, "blas_thread_shutdown_")):
        warnings.warn(f"minicnn: {path} was loaded before minicnn and cannot be told OPENBLAS_THREAD_TIMEOUT=4, so a "
                      "training step may run slower; import minicnn before numpy or export OPENBLAS_THREAD_TIMEOUT=4 "
                      "in the shell", RuntimeWarning, stacklevel=4)
        return
    library.openblas_read_env()
    library.blas_thread_shutdown_()
