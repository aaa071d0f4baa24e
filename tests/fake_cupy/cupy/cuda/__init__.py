"""cupy.cuda of the stand-in: one pretend device, the CPU, whose work is finished by the time each call returns."""
from cupy.cuda import compiler, driver, runtime  # noqa: F401 (cupy.cuda.runtime etc., as in CuPy)


class Device:
    """cupy.cuda.Device(id): the stand-in has device 0 only."""

    def __init__(self, device=None):
        self.id = 0 if device is None else int(device)
        if not 0 <= self.id < runtime.getDeviceCount():
            raise runtime.CUDARuntimeError("cudaErrorInvalidDevice: invalid device ordinal")

    def synchronize(self):
        """Wait for the device's work: there is none left, since the stand-in computes before each call returns."""

    def use(self):
        """Make this the current device: it is the only one."""

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        return False
