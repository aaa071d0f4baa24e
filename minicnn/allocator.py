"""The C allocator told to keep the memory that a training step frees, for the next step; applied by `import minicnn`.

A training step allocates the same arrays every step, many of them tens of megabytes: the layers' outputs, batch
norm's caches, the gradients, Winograd's tiles. glibc's malloc serves a request above its mmap threshold (128 KB at
first, raised as big blocks are freed, up to 32 MB) with new pages from the operating system and gives them back on
free. So every step the kernel maps and zeroes those pages again: on the 2-core development machine a deep-net step
took some 15,000 page faults without the settings below and 220 with them (benchmarks/RESULTS.md). Without them
minicnn.winograd keeps one workspace for all the layers' calls, and a deep-net step ran 1.2 times slower.
Two mallopt settings make the steady state fault-free:

  M_MMAP_THRESHOLD = 1 GiB   requests up to 1 GiB come from malloc's heap, whose freed blocks the next requests
                             reuse, pages and all;
  M_TRIM_THRESHOLD = 2 GiB   free memory at the top of the heap goes back to the system only past 2 GiB (less
                             one byte: mallopt takes a C int).

A process then keeps the memory of its busiest moment until it ends (the peak itself is the same), as jemalloc and
tcmalloc, the allocators that PyTorch's CPU tuning guides advise, do by default. Only glibc's malloc is touched, and
only when the user left it alone: nothing changes on another C library, or when MINICNN_KEEP_FREED_MEMORY=0 or any of
MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_, a glibc.malloc tunable (GLIBC_TUNABLES) or a preloaded allocator
(LD_PRELOAD naming a malloc) is set.
"""
import ctypes
import os

M_TRIM_THRESHOLD = -1          # the mallopt parameters, from glibc's malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 2 ** 30
OLD_GLIBC_MMAP_THRESHOLD_BYTES = 32 * 2 ** 20  # the most that older glibc versions take
TRIM_THRESHOLD_BYTES = 2 ** 31 - 1  # mallopt takes a C int
OFF_SWITCH = "MINICNN_KEEP_FREED_MEMORY"
USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
_settings = {"made": False}    # whether keep_freed_memory made them in this process


def keep_freed_memory():
    """Set glibc's mmap and trim thresholds as the module's docstring says, unless the user chose the allocator's
    behaviour. Returns True when both settings were made; `import minicnn` calls it."""
    if not _allocator_left_to_minicnn(os.environ):
        return False
    libc = _glibc()
    if libc is None:
        return False
    # Each setting on its own: older glibc versions refuse an mmap threshold above 32 MiB (mallopt returns
    # 0); minicnn then asks for that largest one, which still keeps most of a step's arrays.
    mmap_set = bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
                    or libc.mallopt(M_MMAP_THRESHOLD, OLD_GLIBC_MMAP_THRESHOLD_BYTES))
    trim_set = bool(libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
    _settings["made"] = mmap_set and trim_set
    return _settings["made"]


def freed_memory_is_kept():
    """True when this process's malloc keeps the memory a step frees: keep_freed_memory made its settings, or the
    user preloaded an allocator (jemalloc, tcmalloc), which does so by itself. The user's own MALLOC_* values may be
    anything, so they do not count."""
    return _settings["made"] or _preloaded_malloc(os.environ)


def _allocator_left_to_minicnn(environment):
    """False when the environment says how malloc should behave (see the module's docstring), else True."""
    return (environment.get(OFF_SWITCH) != "0" and not any(environment.get(name) for name in USER_SETTINGS)
            and "glibc.malloc." not in environment.get("GLIBC_TUNABLES", "")
            and not _preloaded_malloc(environment))


def _preloaded_malloc(environment):
    """True when LD_PRELOAD names an allocator (a library with malloc in its name)."""
    return "malloc" in environment.get("LD_PRELOAD", "")


def _glibc():
    """The C library of this process when it is glibc (it has gnu_get_libc_version and mallopt), else None."""
    try:
        libc = ctypes.CDLL(None)
    except (OSError, TypeError):    # Windows: no process-wide handle (TypeError on its ctypes)
        return None
    if not (hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt")):
        return None
    libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return libc
