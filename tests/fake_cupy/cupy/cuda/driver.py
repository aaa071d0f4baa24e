"""cupy.cuda.driver of the stand-in: the error CuPy raises when a CUDA driver call fails (a launch out of CUDA's
limits, a kernel name that is not in the module)."""


class CUDADriverError(RuntimeError):
    """A failed CUDA driver call; the message starts with CUDA's error name, as CuPy's does."""
