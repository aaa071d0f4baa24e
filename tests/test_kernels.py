"""The NumPy reference kernels (kernels/reference.py) against the Numba kernels (kernels/cpu.py), and the argument
checks that the Numba and the CUDA wrappers share (kernels/checks.py).

The CUDA kernels are compared with both elsewhere: through a host build in test_cuda_source.py, on a GPU in
test_gpu_kernels.py.
"""
import numpy as np
import pytest

from kernel_cases import (CONV_CASES, DTYPES, POOL_CASES, assert_same_im2col_and_col2im, assert_same_max_pool, case_id,
                          image_without_ties, random_image)
from minicnn.kernels import checks, gpu, reference


@pytest.fixture(scope="module")
def cpu():
    try:
        from minicnn.kernels import cpu
    except ImportError as error:
        pytest.skip(f"Numba cannot be imported ({error}), so there is nothing to compare the NumPy kernels with")
    return cpu


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV_CASES, ids=case_id)
def test_reference_im2col_and_col2im_match_numba(cpu, case, dtype):
    assert_same_im2col_and_col2im(reference, cpu, case, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", POOL_CASES + [(2, 3, 6, 6, 3, 2, 1)], ids=case_id)
def test_reference_max_pool_matches_numba_also_on_ties(cpu, case, dtype):
    N, C, H, W, pool_height, pool_width, stride = case
    for x in (image_without_ties((N, C, H, W), dtype),
              np.random.default_rng(0).integers(0, 3, size=(N, C, H, W)).astype(dtype)):  # ties: the first max wins
        assert_same_max_pool(reference, cpu, x, pool_height, pool_width, stride)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", [0, 123456789, 2 ** 64 - 1])
def test_reference_dropout_draws_the_numba_mask(cpu, seed, dtype):
    x = random_image((4, 5, 3, 3), dtype)
    for ours, numba_result in zip(reference.dropout_forward(x, 0.3, seed), cpu.dropout_forward(x, 0.3, seed)):
        np.testing.assert_array_equal(ours, numba_result)


def test_window_output_size_follows_the_formula_and_names_what_is_wrong():
    assert checks.window_output_size("f", 48, 48, 3, 3, 1, 1) == (48, 48)
    assert checks.window_output_size("f", 7, 9, 2, 3, 0, 2) == (3, 4)
    with pytest.raises(ValueError, match=r"f: the 5x5 window is larger than the padded input 4x11"):
        checks.window_output_size("f", 2, 9, 5, 5, 1, 1)
    with pytest.raises(ValueError, match="f: stride must be an integer >= 1, .* got stride 0"):
        checks.window_output_size("f", 8, 8, 3, 3, 1, 0)
    with pytest.raises(ValueError, match=r"f: stride 2 does not tile the input 7x9 with a 2x3 window \(x\)"):
        checks.window_output_size("f", 7, 9, 2, 3, 0, 2, tiled=True, details="(x)")


@pytest.mark.parametrize("implementation", ["cpu", "gpu"])
def test_both_wrappers_name_the_argument_they_reject(implementation, request):
    """The Numba and the CUDA wrappers run the same checks (on numpy arrays the CUDA wrapper fails before any
    kernel is compiled, so this runs without a GPU)."""
    kernels = request.getfixturevalue("cpu") if implementation == "cpu" else gpu
    x = np.zeros((2, 3, 8, 8), np.float32)
    with pytest.raises(ValueError, match="im2col: x must be float32 or float64, got int64"):
        kernels.im2col(np.zeros((2, 3, 8, 8), np.int64), 3, 3, 1, 1)
    with pytest.raises(ValueError, match=r"im2col: x must have 4 dimensions .* got shape \(3, 8, 8\)"):
        kernels.im2col(x[0], 3, 3, 1, 1)
    with pytest.raises(ValueError, match=r"col2im: cols must have shape \(27, 128\), got \(27, 100\)"):
        kernels.col2im(np.zeros((27, 100), np.float32), x.shape, 3, 3, 1, 1)
    with pytest.raises(ValueError, match="max_pool_forward: the 9x9 window is larger than the input 8x8"):
        kernels.max_pool_forward(x, 9, 9, 1)
    with pytest.raises(ValueError, match="max_pool_backward: argmax must be int32, got int64"):
        kernels.max_pool_backward(np.zeros((2, 3, 4, 4)), np.zeros((2, 3, 4, 4), np.int64), x.shape, 2, 2, 2)
    with pytest.raises(ValueError, match=r"max_pool_backward: dout must have shape \(2, 3, 4, 4\)"):
        kernels.max_pool_backward(np.zeros((2, 3, 3, 3)), np.zeros((2, 3, 3, 3), np.int32), x.shape, 2, 2, 2)
    with pytest.raises(ValueError, match=r"dropout_forward: p .* must be in \[0, 1\), got 1"):
        kernels.dropout_forward(x, 1, 0)
    with pytest.raises(ValueError, match="dropout_forward: seed must be an int in"):
        kernels.dropout_forward(x, 0.5, -1)
    with pytest.raises(ValueError, match=r"im2col: out must have shape \(27, 128\), got \(27, 100\)"):
        kernels.im2col(x, 3, 3, 1, 1, out=np.zeros((27, 100), np.float32))
    with pytest.raises(ValueError, match="col2im: out must be a C-contiguous float32 array, got float64"):
        kernels.col2im(np.zeros((27, 128), np.float32), x.shape, 3, 3, 1, 1, out=np.zeros(x.shape))
    with pytest.raises(ValueError, match="im2col: out must be .*, not C-contiguous"):
        kernels.im2col(x, 3, 3, 1, 1, out=np.zeros((128, 27), np.float32).T)


@pytest.mark.parametrize("dtype", DTYPES)
def test_im2col_and_col2im_write_into_the_buffer_given(cpu, dtype):
    """out= gets exactly what a new array would hold, also where it held other numbers before (a reused buffer)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 2, 7, 5)).astype(dtype)
    expected_cols = cpu.im2col(x, 3, 3, 1, 1)
    buffer = np.full(expected_cols.shape, np.nan, dtype)
    assert cpu.im2col(x, 3, 3, 1, 1, out=buffer) is buffer
    np.testing.assert_array_equal(buffer, expected_cols)
    dx = np.full((4, 2, 7, 5), np.nan, dtype)
    cpu.col2im(expected_cols, x.shape, 3, 3, 1, 1, out=dx[1:])
    np.testing.assert_array_equal(dx[1:], cpu.col2im(expected_cols, x.shape, 3, 3, 1, 1))
    assert np.isnan(dx[0]).all()
