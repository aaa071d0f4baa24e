"""The CUDA kernels (minicnn.kernels.gpu, on cupy arrays) against their Numba twins (minicnn.kernels.cpu) on the same
random inputs.

Needs cupy and a CUDA device; skipped otherwise. Copies and comparisons (im2col, max pool, argmax, dropout) must
agree bit for bit; sums (col2im, max pool backward) may differ in the order of their additions, so they are compared
tightly in float64 and loosely in float32.
"""
import numpy as np
import pytest

from kernel_cases import CONV_CASES, DTYPES, POOL_CASES, TOLERANCES, case_id, image_without_ties, random_image
from minicnn.backend import gpu_available

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not gpu_available(), reason="needs cupy and a usable CUDA device "
                                                    "(minicnn.backend.gpu_available() is False)"),
]

# The shared cases, plus cases with more elements than a launch has threads (gpu.MAX_BLOCKS * THREADS_PER_BLOCK,
# about a million): every block busy, and the grid-stride loops go round again (im2col's 1.3 million columns entries,
# max pooling's 1.2 million outputs).
GPU_CONV_CASES = CONV_CASES + [(16, 16, 24, 24, 3, 3, 1, 1)]
GPU_POOL_CASES = POOL_CASES + [(64, 32, 48, 48, 2, 2, 2)]


@pytest.fixture(scope="module")
def cupy():
    return pytest.importorskip("cupy")


@pytest.fixture(scope="module")
def gpu():
    from minicnn.kernels import gpu
    return gpu


@pytest.fixture(scope="module")
def cpu():
    """The CPU twins: the Numba kernels, or where Numba is missing (a bare GPU machine) the NumPy reference kernels,
    which test_kernels.py checks against Numba."""
    try:
        from minicnn.kernels import cpu
    except ImportError:
        from minicnn.kernels import reference as cpu
    return cpu


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", GPU_CONV_CASES, ids=case_id)
def test_im2col_and_col2im_match_cpu(cupy, gpu, cpu, case, dtype):
    N, C, H, W, kernel_height, kernel_width, pad, stride = case
    x = random_image((N, C, H, W), dtype)
    cols = gpu.im2col(cupy.asarray(x), kernel_height, kernel_width, pad, stride)
    assert isinstance(cols, cupy.ndarray) and cols.dtype == dtype
    np.testing.assert_array_equal(cols.get(), cpu.im2col(x, kernel_height, kernel_width, pad, stride))

    dout = random_image(cols.shape, dtype, seed=1)
    dx = gpu.col2im(cupy.asarray(dout), x.shape, kernel_height, kernel_width, pad, stride)
    assert dx.dtype == dtype
    np.testing.assert_allclose(dx.get(), cpu.col2im(dout, x.shape, kernel_height, kernel_width, pad, stride),
                               **TOLERANCES[dtype])
    again = gpu.col2im(cupy.asarray(dout), x.shape, kernel_height, kernel_width, pad, stride)
    assert dx.get().tobytes() == again.get().tobytes()
    into_buffers = gpu.col2im(cupy.asarray(dout), x.shape, kernel_height, kernel_width, pad, stride,
                              out=cupy.full(x.shape, cupy.nan, dtype))
    assert into_buffers.get().tobytes() == dx.get().tobytes()
    cols_buffer = cupy.full(cols.shape, cupy.nan, dtype)
    assert gpu.im2col(cupy.asarray(x), kernel_height, kernel_width, pad, stride, out=cols_buffer) is cols_buffer
    np.testing.assert_array_equal(cols_buffer.get(), cols.get())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", GPU_POOL_CASES, ids=case_id)
def test_max_pool_matches_cpu(cupy, gpu, cpu, case, dtype):
    N, C, H, W, pool_height, pool_width, stride = case
    x = image_without_ties((N, C, H, W), dtype)
    out, argmax = gpu.max_pool_forward(cupy.asarray(x), pool_height, pool_width, stride)
    cpu_out, cpu_argmax = cpu.max_pool_forward(x, pool_height, pool_width, stride)
    assert out.dtype == dtype and argmax.dtype == np.int32
    np.testing.assert_array_equal(out.get(), cpu_out)
    np.testing.assert_array_equal(argmax.get(), cpu_argmax)

    dout = random_image(cpu_out.shape, dtype, seed=1)
    dx = gpu.max_pool_backward(cupy.asarray(dout), argmax, x.shape, pool_height, pool_width, stride)
    np.testing.assert_allclose(dx.get(), cpu.max_pool_backward(dout, cpu_argmax, x.shape, pool_height, pool_width,
                                                               stride), **TOLERANCES[dtype])
    again = gpu.max_pool_backward(cupy.asarray(dout), argmax, x.shape, pool_height, pool_width, stride)
    assert dx.get().tobytes() == again.get().tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
def test_max_pool_ties_go_to_the_first_maximum_as_on_cpu(cupy, gpu, cpu, dtype):
    x = np.random.default_rng(3).integers(0, 3, size=(2, 3, 7, 8)).astype(dtype)
    out, argmax = gpu.max_pool_forward(cupy.asarray(x), 3, 2, 1)
    cpu_out, cpu_argmax = cpu.max_pool_forward(x, 3, 2, 1)
    np.testing.assert_array_equal(out.get(), cpu_out)
    np.testing.assert_array_equal(argmax.get(), cpu_argmax)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [0.1, 0.5])
@pytest.mark.parametrize("seed", [0, 123456789, 2 ** 64 - 1])
def test_dropout_draws_the_cpu_mask_bit_for_bit(cupy, gpu, cpu, seed, p, dtype):
    x = random_image((64, 256, 3, 3), dtype)
    out, mask = gpu.dropout_forward(cupy.asarray(x), p, seed)
    cpu_out, cpu_mask = cpu.dropout_forward(x, p, seed)
    assert out.dtype == dtype and mask.dtype == dtype
    np.testing.assert_array_equal(mask.get(), cpu_mask)
    np.testing.assert_array_equal(out.get(), cpu_out)


def test_inputs_that_are_not_c_contiguous_are_copied_first(cupy, gpu, cpu):
    x = random_image((5, 7, 3, 2), np.float32).transpose(3, 2, 1, 0)  # (2, 3, 7, 5) in Fortran order
    np.testing.assert_array_equal(gpu.im2col(cupy.asarray(x), 3, 3, 1, 2).get(), cpu.im2col(x, 3, 3, 1, 2))
    out, argmax = gpu.max_pool_forward(cupy.asarray(x), 2, 2, 2)
    np.testing.assert_array_equal(out.get(), cpu.max_pool_forward(x, 2, 2, 2)[0])
    _, mask = gpu.dropout_forward(cupy.asarray(x), 0.5, 9)
    np.testing.assert_array_equal(mask.get(), cpu.dropout_forward(x, 0.5, 9)[1])


def test_wrong_dtype_is_a_value_error_not_garbage(cupy, gpu):
    with pytest.raises(ValueError, match="im2col: x must be float32 or float64"):
        gpu.im2col(cupy.zeros((2, 3, 8, 8), dtype=cupy.float16), 3, 3, 1, 1)
