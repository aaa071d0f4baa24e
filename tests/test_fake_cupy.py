"""The CuPy stand-in (tests/fake_cupy) held to what it claims: it refuses what CuPy refuses, launches exactly the
threads a GPU launches, and refuses kernel arguments that a GPU would misread. test_gpu_kernels.py checks its results
against the Numba kernels on the shared kernel cases.

These tests run where `import cupy` loads the stand-in (see conftest.py), and are skipped where it loads CuPy.
"""
import io
import os

import numpy as np
import pytest

from minicnn.kernels import gpu

cupy = pytest.importorskip("cupy", reason="no cupy, and no stand-in in its place (see conftest.py)")
pytestmark = pytest.mark.skipif("fake_cupy" not in cupy.__file__,
                                reason=f"`import cupy` loads {cupy.__file__}, not the stand-in (MINICNN_FAKE_CUPY)")

# One thread per element, no grid-stride loop: a launch with fewer threads than elements leaves the rest alone.
ONE_THREAD_PER_ELEMENT = r'''
extern "C" __global__ void write_thread_index(int* out, int size)
{
    const int index = blockIdx.x * blockDim.x + threadIdx.x;
    if (index < size) {
        out[index] = index;
    }
}
'''

# Each thread of a 3-D launch writes what it sees of the built-ins, at its own place in the launch.
BUILT_INS = r'''
extern "C" __global__ void write_built_ins(unsigned int* out)
{
    const unsigned int block = (blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
    const unsigned int thread = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
    unsigned int* seen = out + 12 * (block * blockDim.x * blockDim.y * blockDim.z + thread);
    const dim3_values values[4] = {blockIdx, threadIdx, blockDim, gridDim};
    for (int which = 0; which < 4; ++which) {
        seen[3 * which] = values[which].x;
        seen[3 * which + 1] = values[which].y;
        seen[3 * which + 2] = values[which].z;
    }
}
'''.replace("dim3_values", "HostShimDim3")


def kernel(code, name):
    return cupy.RawModule(code=code, options=("-std=c++17",)).get_function(name)


# ---------------------------------------------------------------------------------------------------------------
# Arrays: CuPy's strictness

def test_arrays_are_a_type_of_their_own_named_cupy():
    x = cupy.asarray(np.arange(6.0).reshape(2, 3))
    assert type(x) is cupy.ndarray and type(x).__module__ == "cupy" and not isinstance(x, np.ndarray)
    assert isinstance(x.sum(), cupy.ndarray) and x.sum().shape == ()      # reductions stay on the device
    assert isinstance(x[1, 2], cupy.ndarray)
    assert cupy.get_array_module(x) is cupy and cupy.get_array_module(x.get()) is np


def test_implicit_conversion_to_numpy_raises_as_in_cupy():
    x = cupy.asarray(np.arange(6.0).reshape(2, 3))
    for convert in (np.asarray, np.array, lambda x: float(x), lambda x: np.save(io.BytesIO(), x)):
        with pytest.raises(TypeError):
            convert(x)
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"):
        np.asarray(x)
    assert float(x.sum()) == 15.0 and float(x[1, 2]) == 5.0               # a single value is an explicit copy


def test_numpy_arrays_are_refused_as_operands_but_taken_as_indices():
    x = cupy.asarray(np.arange(6.0))
    host = np.ones(6)
    for mix in (lambda: x + host, lambda: host + x, lambda: cupy.maximum(x, host), lambda: x.__setitem__(..., host)):
        with pytest.raises(TypeError, match="Unsupported type"):
            mix()
    np.testing.assert_array_equal(x[np.array([4, 1])].get(), [4.0, 1.0])
    with pytest.raises(TypeError):
        list(range(10))[cupy.asarray(np.array(3))]                       # no __index__: no hidden copy
    with pytest.raises(TypeError):
        np.linalg.norm(x)                                               # a NumPy function CuPy has no twin of here


def test_numpy_functions_with_a_cupy_twin_run_on_the_device():
    x = cupy.asarray(np.arange(6.0))
    for result in (np.concatenate([x, x]), np.exp(x), np.mean(x), np.add(x, 1.0, out=cupy.empty(6))):
        assert isinstance(result, cupy.ndarray)
    out = cupy.empty(6)
    assert cupy.multiply(x, 2.0, out=out) is out and x.astype(x.dtype, copy=False) is x


def test_host_data_is_copied_to_and_from_the_device():
    host = np.arange(4.0)
    x = cupy.asarray(host)
    host[0] = 99
    assert float(x[0]) == 0.0
    back = x.get()
    back[1] = 99
    assert float(x[1]) == 1.0 and cupy.asarray(x) is x


# ---------------------------------------------------------------------------------------------------------------
# Launches: exactly the threads of the grid and the block

def test_a_launch_with_too_few_threads_leaves_the_tail_unwritten():
    out = cupy.full(12, -1, dtype=np.int32)
    kernel(ONE_THREAD_PER_ELEMENT, "write_thread_index")((2,), (4,), (out, np.int32(12)))
    np.testing.assert_array_equal(out.get(), list(range(8)) + [-1] * 4)
    kernel(ONE_THREAD_PER_ELEMENT, "write_thread_index")((3,), (4,), (out, np.int32(12)))
    np.testing.assert_array_equal(out.get(), np.arange(12))


def test_every_thread_sees_its_own_block_and_thread_index():
    grid, block = (3, 2, 2), (4, 2, 3)
    threads = np.prod(grid) * np.prod(block)
    out = cupy.zeros(12 * threads, dtype=np.uint32)
    kernel(BUILT_INS, "write_built_ins")(grid, block, (out,))
    seen = out.get().reshape(np.prod(grid), np.prod(block), 4, 3)
    for block_number, (bz, by, bx) in enumerate(np.ndindex(grid[::-1])):
        for thread_number, (tz, ty, tx) in enumerate(np.ndindex(block[::-1])):
            np.testing.assert_array_equal(seen[block_number, thread_number],
                                          [[bx, by, bz], [tx, ty, tz], block, grid])


def test_a_grid_stride_loop_covers_the_array_with_any_grid(monkeypatch):
    """The other side: im2col's grid-stride loop lets any grid cover the array, one block of 32 threads too."""
    x = np.random.default_rng(0).standard_normal((2, 3, 9, 9)).astype(np.float32)
    expected = gpu.im2col(cupy.asarray(x), 3, 3, 1, 1).get()
    monkeypatch.setattr(gpu, "launch_config", lambda size: ((1,), (32,)))
    np.testing.assert_array_equal(gpu.im2col(cupy.asarray(x), 3, 3, 1, 1).get(), expected)


def test_launches_out_of_cuda_limits_fail_as_on_a_gpu():
    launch = kernel(ONE_THREAD_PER_ELEMENT, "write_thread_index")
    out = cupy.zeros(4, dtype=np.int32)
    for grid, block in (((1,), (2048,)), ((1,), (32, 32, 2)), ((0,), (4,)), ((1, 70000), (4,))):
        with pytest.raises(cupy.cuda.driver.CUDADriverError, match="CUDA_ERROR_INVALID_VALUE"):
            launch(grid, block, (out, np.int32(4)))
    with pytest.raises(TypeError, match="tuple"):
        launch([1], (4,), (out, np.int32(4)))
    with pytest.raises(cupy.cuda.driver.CUDADriverError, match="CUDA_ERROR_NOT_FOUND"):
        kernel(ONE_THREAD_PER_ELEMENT, "no_such_kernel")


# ---------------------------------------------------------------------------------------------------------------
# Arguments: converted as CuPy converts them, refused where the kernel would misread them

def test_arguments_a_gpu_would_misread_are_refused():
    launch = cupy.RawModule(code=(gpu.CUDA_SOURCES / "im2col.cu").read_text()).get_function("im2col_f32")
    x, cols = cupy.zeros((1, 1, 3, 3), dtype=np.float32), cupy.zeros((9, 9), dtype=np.float32)
    dimensions = gpu.as_c_ints(1, 1, 3, 3, 3, 3, 1, 1, 3, 3)
    launch((1,), (32,), (x, cols) + dimensions)                          # as minicnn.kernels.gpu passes them
    wrong = {
        "Python int": ((x, cols, 1) + dimensions[1:], "CuPy passes int 1 as 8-byte int64"),
        "int64 scalar": ((x, cols, np.int64(1)) + dimensions[1:], "4-byte int32"),
        "float64 array": ((x.astype(np.float64), cols) + dimensions, "points to float32"),
        "numpy array": ((x.get(), cols) + dimensions, "takes a cupy array"),
        "array for a value": ((x, cols, x) + dimensions[1:], "is a value"),
        "too few": ((x, cols) + dimensions[1:], "11 arguments for 12 parameters"),
    }
    for what, (arguments, message) in wrong.items():
        with pytest.raises(TypeError, match=message):
            launch((1,), (32,), arguments)


def test_scalars_are_passed_as_cupy_passes_them():
    """CuPy's user guide: a Python float is a double, an int a long long (unsigned from 2**63 on), a NumPy scalar or
    a NumPy array of size one its own type; a larger NumPy array is no kernel argument."""
    source = (gpu.CUDA_SOURCES / "dropout.cu").read_text()
    launch = cupy.RawModule(code=source).get_function("dropout_forward_f64")
    x = cupy.ones(64)
    out, mask = cupy.empty(64), cupy.empty(64)
    launch((1,), (64,), (x, out, mask, 64, 0.5, 2 ** 64 - 1))             # long long, double, unsigned long long
    launch((1,), (64,), (x, out, mask, np.int64(64), np.array([0.5]), np.uint64(7)))
    with pytest.raises(TypeError, match="CuPy passes int 7 as 8-byte int64"):
        launch((1,), (64,), (x, out, mask, 64, 0.5, 7))                    # a small Python int is signed
    with pytest.raises(TypeError, match="Only numpy.ndarrays of size one"):
        launch((1,), (64,), (x, out, mask, 64, np.array([0.5, 0.5]), np.uint64(7)))


# ---------------------------------------------------------------------------------------------------------------
# Compiling

def test_sources_whose_threads_cooperate_are_refused():
    shared = r'''extern "C" __global__ void reverse(float* x) {
        __shared__ float tile[32];
        tile[threadIdx.x] = x[threadIdx.x];
        __syncthreads();
        x[threadIdx.x] = tile[31 - threadIdx.x];
    }'''
    with pytest.raises(NotImplementedError, match="one after another"):
        kernel(shared, "reverse")
    with pytest.raises(NotImplementedError, match="NVRTC's option '--use_fast_math'"):
        cupy.RawModule(code=ONE_THREAD_PER_ELEMENT, options=("--use_fast_math",)).get_function("write_thread_index")


def test_a_source_the_host_compiler_rejects_is_a_compile_exception():
    with pytest.raises(cupy.cuda.compiler.CompileException, match="not_declared"):
        kernel('extern "C" __global__ void broken(int* x) { x[0] = not_declared; }', "broken")


def test_libraries_are_compiled_once_per_source_and_kept_whole(tmp_path, monkeypatch):
    monkeypatch.setenv("MINICNN_FAKE_CUPY_CACHE", str(tmp_path))
    kernel(ONE_THREAD_PER_ELEMENT, "write_thread_index")
    built = sorted(tmp_path.iterdir())
    assert len(built) == 1 and built[0].suffix == ".so"                  # no scratch files left behind
    modified = os.stat(built[0]).st_mtime_ns
    kernel(ONE_THREAD_PER_ELEMENT, "write_thread_index")
    assert sorted(tmp_path.iterdir()) == built and os.stat(built[0]).st_mtime_ns == modified
    kernel(ONE_THREAD_PER_ELEMENT.replace("index;", "index + 1;"), "write_thread_index")
    assert len(list(tmp_path.iterdir())) == 2                            # another source, another library
