"""The CUDA kernels of kernels/cuda/*.cu, launched through their wrappers in kernels/gpu.py, against plain loops and
the dropout hash written out below; then the sources as CUDA sees them.

The kernels run on the device (marked gpu): on a GPU with CuPy, and on a machine without one on the CuPy stand-in
(tests/fake_cupy, see conftest.py), which builds the .cu files with the host compiler through kernels/cuda/host_shim.h
and runs every thread of each launch. test_gpu_kernels.py compares the same kernels with their Numba twins. A last
group compiles each .cu file with nvcc, so a mistake that only CUDA rejects fails here too.
"""
import itertools
import shutil
import subprocess

import numpy as np
import pytest

from device_helpers import OnGpu, gpu_test
from kernel_cases import CONV_CASES, DTYPES, POOL_CASES, TOLERANCES, case_id, image_without_ties, random_image
from minicnn.kernels import gpu

CUDA_SOURCES = sorted(gpu.CUDA_SOURCES.glob("*.cu"))


# ---------------------------------------------------------------------------------------------------------------
# The kernels as they run: minicnn.kernels.gpu on the device, called with numpy arrays.

@pytest.fixture(scope="module")
def kernels():
    """minicnn.kernels.gpu taking and returning numpy arrays, its kernels launched on the device: CuPy's, or on a
    machine without a GPU the stand-in's (tests/fake_cupy), which builds the .cu files with the host compiler."""
    import cupy
    return OnGpu(cupy, gpu)


# ---------------------------------------------------------------------------------------------------------------
# Independent references, written the plain way.

def reference_im2col(x, kernel_height, kernel_width, pad, stride):
    """Visit each window position in turn and copy its (C, kernel_height, kernel_width) patch into one column."""
    N, C, H, W = x.shape
    out_height = 1 + (H + 2 * pad - kernel_height) // stride
    out_width = 1 + (W + 2 * pad - kernel_width) // stride
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = np.empty((C * kernel_height * kernel_width, N * out_height * out_width), dtype=x.dtype)
    for n, oh, ow in itertools.product(range(N), range(out_height), range(out_width)):
        top, left = oh * stride, ow * stride
        patch = padded[n, :, top:top + kernel_height, left:left + kernel_width]
        cols[:, (n * out_height + oh) * out_width + ow] = patch.reshape(-1)
    return cols


def reference_col2im(cols, x_shape, kernel_height, kernel_width, pad, stride):
    """The adjoint of reference_im2col: add each column back onto its patch of a padded image, then crop."""
    N, C, H, W = x_shape
    out_height = 1 + (H + 2 * pad - kernel_height) // stride
    out_width = 1 + (W + 2 * pad - kernel_width) // stride
    padded = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=cols.dtype)
    for n, oh, ow in itertools.product(range(N), range(out_height), range(out_width)):
        top, left = oh * stride, ow * stride
        column = cols[:, (n * out_height + oh) * out_width + ow]
        patch = column.reshape(C, kernel_height, kernel_width)
        padded[n, :, top:top + kernel_height, left:left + kernel_width] += patch
    return padded[:, :, pad:pad + H, pad:pad + W]


def reference_max_pool_forward(x, pool_height, pool_width, stride):
    """Each window's maximum, and where it sits: np.argmax returns the first maximum in row-major order."""
    N, C, H, W = x.shape
    out_height = 1 + (H - pool_height) // stride
    out_width = 1 + (W - pool_width) // stride
    out = np.empty((N, C, out_height, out_width), dtype=x.dtype)
    argmax = np.empty((N, C, out_height, out_width), dtype=np.int32)
    for n, c, oh, ow in itertools.product(range(N), range(C), range(out_height), range(out_width)):
        top, left = oh * stride, ow * stride
        window = x[n, c, top:top + pool_height, left:left + pool_width]
        i, j = divmod(int(np.argmax(window)), pool_width)
        out[n, c, oh, ow] = window[i, j]
        argmax[n, c, oh, ow] = (top + i) * W + left + j
    return out, argmax


def reference_max_pool_backward(dout, argmax, x_shape):
    """Add each window's upstream gradient onto the pixel that argmax names."""
    N, C, H, W = x_shape
    dx = np.zeros(x_shape, dtype=dout.dtype)
    for n, c, oh, ow in itertools.product(range(N), range(C), range(dout.shape[2]), range(dout.shape[3])):
        h, w = divmod(int(argmax[n, c, oh, ow]), W)
        dx[n, c, h, w] += dout[n, c, oh, ow]
    return dx


UINT64 = 2 ** 64 - 1
GOLDEN_GAMMA = 0x9E3779B97F4A7C15


def splitmix64(z):
    """splitmix64's output function on a Python int, wrapping every step to 64 bits."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & UINT64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & UINT64
    return z ^ (z >> 31)


def reference_uniform(seed, i):
    """The draw for element i: top 24 bits of splitmix64(seed * GOLDEN_GAMMA + i + 1), divided by 2**24."""
    return (splitmix64((seed * GOLDEN_GAMMA + i + 1) & UINT64) >> 40) / 2 ** 24


# ---------------------------------------------------------------------------------------------------------------
# im2col and col2im

@gpu_test
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV_CASES, ids=case_id)
def test_im2col_matches_reference(kernels, case, dtype):
    N, C, H, W, kernel_height, kernel_width, pad, stride = case
    x = random_image((N, C, H, W), dtype)
    cols = kernels.im2col(x, kernel_height, kernel_width, pad, stride)
    assert cols.dtype == dtype
    np.testing.assert_array_equal(cols, reference_im2col(x, kernel_height, kernel_width, pad, stride))


@gpu_test
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV_CASES, ids=case_id)
def test_col2im_matches_reference_and_repeats_bit_for_bit(kernels, case, dtype):
    N, C, H, W, kernel_height, kernel_width, pad, stride = case
    cols_shape = reference_im2col(np.zeros((N, C, H, W), dtype), kernel_height, kernel_width, pad, stride).shape
    cols = random_image(cols_shape, dtype)
    dx = kernels.col2im(cols, (N, C, H, W), kernel_height, kernel_width, pad, stride)
    assert dx.dtype == dtype
    np.testing.assert_allclose(dx, reference_col2im(cols, (N, C, H, W), kernel_height, kernel_width, pad, stride),
                               **TOLERANCES[dtype])
    again = kernels.col2im(cols, (N, C, H, W), kernel_height, kernel_width, pad, stride)
    assert dx.tobytes() == again.tobytes()


@gpu_test
@pytest.mark.parametrize("case", CONV_CASES, ids=case_id)
def test_col2im_is_the_adjoint_of_im2col(kernels, case):
    """<im2col(x), y> == <x, col2im(y)>: col2im is exactly the gradient of im2col."""
    N, C, H, W, kernel_height, kernel_width, pad, stride = case
    x = random_image((N, C, H, W), np.float64, seed=1)
    cols = kernels.im2col(x, kernel_height, kernel_width, pad, stride)
    y = random_image(cols.shape, np.float64, seed=2)
    dx = kernels.col2im(y, x.shape, kernel_height, kernel_width, pad, stride)
    assert np.isclose(np.sum(cols * y), np.sum(x * dx), rtol=1e-12)


@gpu_test
def test_im2col_and_col2im_accept_arrays_that_are_not_c_contiguous(kernels):
    x = random_image((5, 7, 3, 2), np.float64).transpose(3, 2, 1, 0)  # (2, 3, 7, 5), Fortran order
    np.testing.assert_array_equal(kernels.im2col(x, 3, 3, 1, 2), reference_im2col(x, 3, 3, 1, 2))
    cols = random_image((2 * 3 * 4, 3 * 3 * 3), np.float64).T  # (27, 24)
    np.testing.assert_allclose(kernels.col2im(cols, x.shape, 3, 3, 1, 2), reference_col2im(cols, x.shape, 3, 3, 1, 2))




# ---------------------------------------------------------------------------------------------------------------
# Max pooling

@gpu_test
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", POOL_CASES, ids=case_id)
def test_max_pool_forward_matches_reference(kernels, case, dtype):
    N, C, H, W, pool_height, pool_width, stride = case
    x = image_without_ties((N, C, H, W), dtype)
    out, argmax = kernels.max_pool_forward(x, pool_height, pool_width, stride)
    expected_out, expected_argmax = reference_max_pool_forward(x, pool_height, pool_width, stride)
    assert out.dtype == dtype and argmax.dtype == np.int32
    np.testing.assert_array_equal(out, expected_out)
    np.testing.assert_array_equal(argmax, expected_argmax)


@gpu_test
@pytest.mark.parametrize("dtype", DTYPES)
def test_max_pool_forward_picks_the_first_of_tied_maxima(kernels, dtype):
    x = np.random.default_rng(3).integers(0, 3, size=(2, 3, 7, 8)).astype(dtype)  # windows full of ties
    out, argmax = kernels.max_pool_forward(x, 3, 2, 1)
    expected_out, expected_argmax = reference_max_pool_forward(x, 3, 2, 1)
    np.testing.assert_array_equal(out, expected_out)
    np.testing.assert_array_equal(argmax, expected_argmax)


@gpu_test
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", POOL_CASES, ids=case_id)
def test_max_pool_backward_matches_reference_and_repeats_bit_for_bit(kernels, case, dtype):
    N, C, H, W, pool_height, pool_width, stride = case
    _, argmax = kernels.max_pool_forward(image_without_ties((N, C, H, W), dtype), pool_height, pool_width, stride)
    dout = random_image(argmax.shape, dtype, seed=1)
    dx = kernels.max_pool_backward(dout, argmax, (N, C, H, W), pool_height, pool_width, stride)
    assert dx.dtype == dtype
    np.testing.assert_allclose(dx, reference_max_pool_backward(dout, argmax, (N, C, H, W)), **TOLERANCES[dtype])
    again = kernels.max_pool_backward(dout, argmax, (N, C, H, W), pool_height, pool_width, stride)
    assert dx.tobytes() == again.tobytes()




# ---------------------------------------------------------------------------------------------------------------
# Dropout

def test_python_splitmix64_gives_the_published_values():
    """splitmix64 seeded with 1234567 steps its state by GOLDEN_GAMMA and outputs these (Vigna's reference code)."""
    outputs = [splitmix64((1234567 + k * GOLDEN_GAMMA) & UINT64) for k in range(1, 6)]
    assert outputs == [6457827717110365317, 3203168211198807973, 9817491932198370423, 4593380528125082431,
                       16408922859458223821]


@gpu_test
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("seed", [0, 7, 2 ** 64 - 1])
def test_dropout_mask_follows_the_python_hash(kernels, seed, p, dtype):
    x = random_image((3, 5, 7), dtype)
    out, mask = kernels.dropout_forward(x, p, seed)
    keep = np.array([reference_uniform(seed, i) >= p for i in range(x.size)]).reshape(x.shape)
    np.testing.assert_array_equal(mask, np.where(keep, dtype(1 / (1 - p)), dtype(0)))
    assert mask.dtype == dtype and out.dtype == dtype
    np.testing.assert_array_equal(out, x * mask)


@gpu_test
def test_dropout_keeps_an_element_whose_draw_equals_p(kernels):
    seed = 11
    draw = reference_uniform(seed, 0)
    assert 0 < draw < 1 - 2 ** -24
    _, mask = kernels.dropout_forward(np.ones(1), draw, seed)
    assert mask[0] == 1 / (1 - draw)
    _, mask = kernels.dropout_forward(np.ones(1), draw + 2 ** -25, seed)
    assert mask[0] == 0


@gpu_test
def test_dropout_draws_the_same_mask_in_float32_and_float64(kernels):
    """p = 0.1 is not a float32; comparing in double keeps the two dtypes (and the CPU) in step."""
    x = np.ones(100_000)
    _, mask64 = kernels.dropout_forward(x, 0.1, 5)
    _, mask32 = kernels.dropout_forward(x.astype(np.float32), 0.1, 5)
    np.testing.assert_array_equal(mask64 == 0, mask32 == 0)


@gpu_test
@pytest.mark.parametrize("p", [0.0, 0.25, 0.5, 0.8])
def test_dropout_drops_a_fraction_p(kernels, p):
    _, mask = kernels.dropout_forward(np.ones(1_000_000, dtype=np.float32), p, 2024)
    assert abs(np.mean(mask == 0) - p) < 0.003  # about 6 standard deviations of the fraction at p = 0.5




# ---------------------------------------------------------------------------------------------------------------
# The wrappers' helpers (no kernel runs; their argument checks are tested in test_kernels.py)

def test_launch_config_covers_the_array_with_at_most_max_blocks():
    assert gpu.launch_config(0) == ((1,), (gpu.THREADS_PER_BLOCK,))
    assert gpu.launch_config(gpu.THREADS_PER_BLOCK) == ((1,), (gpu.THREADS_PER_BLOCK,))
    assert gpu.launch_config(gpu.THREADS_PER_BLOCK + 1) == ((2,), (gpu.THREADS_PER_BLOCK,))
    assert gpu.launch_config(2 ** 40) == ((gpu.MAX_BLOCKS,), (gpu.THREADS_PER_BLOCK,))


# ---------------------------------------------------------------------------------------------------------------
# The sources as CUDA sees them

@pytest.mark.parametrize("source", CUDA_SOURCES, ids=lambda source: source.name)
def test_source_includes_only_the_host_shim_and_only_for_host_compilers(source):
    """NVRTC (cupy.RawModule) has no host headers, so a CUDA compile must need no #include at all."""
    lines = source.read_text().splitlines()
    includes = [number for number, line in enumerate(lines) if line.startswith("#include")]
    assert all(lines[number] == '#include "host_shim.h"' and lines[number - 1] == "#ifndef __CUDACC__"
               for number in includes)


@pytest.mark.parametrize("source", CUDA_SOURCES, ids=lambda source: source.name)
def test_source_compiles_with_nvcc(source, tmp_path):
    if shutil.which("nvcc") is None:
        pytest.skip("nvcc is not on PATH, so the sources are checked by the host build only")
    command = ["nvcc", "--cubin", "-arch=sm_90", "-std=c++17", "-Werror", "all-warnings", str(source),
               "-o", str(tmp_path / f"{source.stem}.cubin")]
    build = subprocess.run(command, capture_output=True, text=True)
    assert build.returncode == 0, f"{' '.join(command)}\n{build.stderr}"
