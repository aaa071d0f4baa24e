"""minicnn's thread settings reach OpenBLAS and OpenMP whatever the user imported first (minicnn/threads.py).

Each case runs in a fresh interpreter, since the libraries read their settings once per process.
"""
import os
import subprocess
import sys
import textwrap

import pytest

from minicnn.threads import SETTINGS

# Prints OpenBLAS's view of OPENBLAS_THREAD_TIMEOUT (the value its next thread pool starts with) and the process's
# thread count before and after the next GEMM, for the numpy OpenBLAS library loaded in the process.
OPENBLAS_PROBE = textwrap.dedent("""
    import ctypes, os
    def openblas():
        with open("/proc/self/maps") as maps:
            paths = {line.split()[5] for line in maps if len(line.split()) > 5 and "openblas" in line.lower()}
        return ctypes.CDLL(sorted(paths)[0])
    def threads():
        return len(os.listdir("/proc/self/task"))
    before_gemm = threads()
    a @ a
    print(openblas().openblas_thread_timeout(), before_gemm, threads(), os.environ["OPENBLAS_THREAD_TIMEOUT"])
""")


def run_python(program, **environment):
    """Run program in a fresh interpreter whose environment lacks minicnn's settings (plus `environment`)."""
    unset = set(SETTINGS) | {"OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"}  # a pool of one thread shows no restart
    env = {name: value for name, value in os.environ.items() if name not in unset}
    env.update(environment)
    result = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-c", program], env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="needs Linux's /proc/self/maps")


def test_openblas_takes_the_timeout_when_numpy_was_imported_first():
    setup = "import numpy as np\na = np.ones((300, 300))\na @ a\nimport minicnn\n"
    timeout, threads_after_import, threads_after_gemm, variable = run_python(setup + OPENBLAS_PROBE)
    assert (timeout, variable) == ("4", "4")
    if (os.cpu_count() or 1) > 1:
        # import minicnn stopped the pool that ran with the old timeout; the GEMM started one with the new timeout.
        assert int(threads_after_gemm) > int(threads_after_import), "the OpenBLAS thread pool was not restarted"


def test_openblas_reads_the_timeout_when_minicnn_comes_first():
    timeout, _, _, variable = run_python("import minicnn\nimport numpy as np\na = np.ones((300, 300))\n"
                                         + OPENBLAS_PROBE)
    assert (timeout, variable) == ("4", "4")


def test_a_value_the_user_set_wins():
    setup = "import numpy as np\na = np.ones((300, 300))\nimport minicnn\n"
    timeout, _, _, variable = run_python(setup + OPENBLAS_PROBE, OPENBLAS_THREAD_TIMEOUT="7")
    assert (timeout, variable) == ("7", "7")


def test_the_openmp_setting_is_in_time_after_numpy_and_numba():
    """Numba loads its OpenMP runtime at the first parallel kernel, so importing numpy and numba first is fine."""
    program = ("import numpy, numba, minicnn, os\nfrom minicnn.kernels import cpu\n"
               "cpu.im2col(numpy.ones((1, 1, 4, 4)), 3, 3, 1, 1)\nprint(os.environ['OMP_WAIT_POLICY'])")
    assert run_python(program) == ["passive"]


def test_an_openmp_runtime_loaded_before_minicnn_is_reported():
    program = "import ctypes\nctypes.CDLL('libgomp.so.1')\nimport minicnn\n"
    env = {name: value for name, value in os.environ.items() if name not in SETTINGS}
    try:
        import ctypes
        ctypes.CDLL("libgomp.so.1")
    except OSError:
        pytest.skip("no libgomp.so.1 on this machine to load before minicnn")
    result = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "OMP_WAIT_POLICY=passive cannot reach it" in result.stderr
