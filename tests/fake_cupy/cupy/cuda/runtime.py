"""cupy.cuda.runtime of the stand-in: one device, described as what it is."""
import os


class CUDARuntimeError(RuntimeError):
    """CuPy's error for a failed CUDA runtime call."""


def getDeviceCount():
    return 1


def getDeviceProperties(device):
    """The few properties minicnn reads: name and totalGlobalMem (the host's memory)."""
    if device != 0:
        raise CUDARuntimeError("cudaErrorInvalidDevice: invalid device ordinal")
    return {"name": b"CuPy stand-in on the CPU (tests/fake_cupy)",
            "totalGlobalMem": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
            "multiProcessorCount": os.cpu_count()}


def runtimeGetVersion():
    """0: no CUDA runtime is involved."""
    return 0


def driverGetVersion():
    """0: no CUDA driver is involved."""
    return 0
