"""cupy.cuda.compiler of the stand-in: the error CuPy raises when a kernel source does not compile."""


class CompileException(Exception):
    """The source did not compile; the message holds the compiler's log (here the host compiler's, not NVRTC's)."""
