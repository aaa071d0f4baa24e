"""Winograd F(2x2, 3x3) convolution (minicnn/winograd.py, kernels/winograd_cpu.py) against the direct convolution.

Three computations of the same numbers: the Numba transforms (winograd_conv), the plain-NumPy transforms
(winograd_conv_reference) and the naive loops (conv_forward_naive); the input gradient against centred differences.
"""
import numpy as np
import pytest

from minicnn import layers, winograd
from minicnn.gradient_check import GRADIENT_TOLERANCE, eval_numerical_gradient_array, gradient_error
from minicnn.kernels import winograd_cpu

FLOAT32_ROUNDING = 2.0 ** -24       # unit round-off of float32

# (N, C, F, H, W, pad): the odd shapes of every pad, outputs of one row or column (H' = 1), and an even square.
CASES = [(3, 5, 7, 7, 9, 0), (3, 5, 7, 7, 9, 1), (3, 5, 7, 7, 9, 2), (2, 3, 4, 3, 8, 0), (1, 2, 3, 5, 1, 1),
         (2, 4, 3, 1, 1, 2), (2, 6, 5, 6, 6, 1)]


def case_id(case):
    return "N{}-C{}-F{}-{}x{}-pad{}".format(*case)


def inputs(case, dtype, seed=0):
    """x: (N, C, H, W) and w: (F, C, 3, 3), drawn in float64 (He scale for w) and rounded to dtype."""
    N, C, F, H, W, pad = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((F, C, 3, 3)) * np.sqrt(2.0 / (9 * C))
    return x.astype(dtype), w.astype(dtype), pad


def direct(x, w, pad):
    """The naive loops of conv_forward_naive, without a bias."""
    return layers.conv_forward_naive(x, w, np.zeros(w.shape[0], x.dtype), {"stride": 1, "pad": pad})[0]


def error_against_scale(ours, reference):
    """max |ours - reference| / max |reference|, in float64."""
    reference = np.asarray(reference, dtype=np.float64)
    return float(np.max(np.abs(ours - reference)) / np.max(np.abs(reference)))


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_numba_and_numpy_transforms_and_direct_convolution_agree_in_float64(case):
    x, w, pad = inputs(case, np.float64)
    expected = direct(x, w, pad)
    for function in (winograd.winograd_conv, winograd.winograd_conv_reference):
        out = function(x, w, pad)
        assert out.shape == expected.shape and out.dtype == np.float64
        error = error_against_scale(out, expected)
        print(f"{function.__name__}: {error:.1e}")
        assert error < 1e-12


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_numba_transforms_match_numpy_step_by_step(case, dtype):
    x, w, pad = inputs(case, dtype)
    N, C, F, H, W, _ = case
    out_shape = (N, F, H + 2 * pad - 2, W + 2 * pad - 2)
    tiles_high, tiles_wide = -(-out_shape[2] // 2), -(-out_shape[3] // 2)
    V = winograd_cpu.transform_input(x, pad, tiles_high, tiles_wide)
    V_reference = winograd.transform_input_reference(x, pad, tiles_high, tiles_wide)
    M = np.matmul(winograd.transform_filters(w), V)
    # float32: a transformed entry adds up to 4 values (out: up to 9), each sum rounded, in either order.
    tolerance = 1e-12 if dtype == np.float64 else 16 * FLOAT32_ROUNDING
    assert V.dtype == M.dtype == dtype
    assert error_against_scale(V, V_reference) < tolerance
    assert error_against_scale(winograd_cpu.transform_output(M, out_shape),
                               winograd.transform_output_reference(M, out_shape)) < tolerance


def test_float32_error_is_that_of_im2col():
    """Both float32 convolutions against the float64 convolution of the same (rounded) inputs.

    Each output sums K = 9 C products. Rounding errors of size FLOAT32_ROUNDING, of random sign, add up like a random
    walk: about sqrt(K) FLOAT32_ROUNDING of the output's scale for im2col. Winograd rounds a few more times (the
    transforms: sums of up to 4 values, each at most 4 times the largest of them) and sums 16 C products of
    transformed values instead; the bound allows 4 times the random walk of im2col. Measured here: both near 3e-7,
    against the bound 5.7e-6; im2col's own error is asserted too, as the yardstick.
    """
    N, C, F, H, W = 4, 64, 16, 12, 12
    x, w, pad = inputs((N, C, F, H, W, 1), np.float32)
    exact = layers.conv_forward(x.astype(np.float64), w.astype(np.float64), np.zeros(F), {"stride": 1, "pad": 1})[0]
    im2col = layers.conv_forward(x, w, np.zeros(F, np.float32), {"stride": 1, "pad": 1})[0]
    winograd_error = error_against_scale(winograd.winograd_conv(x, w, pad), exact)
    im2col_error = error_against_scale(im2col, exact)
    bound = 4 * np.sqrt(9 * C) * FLOAT32_ROUNDING
    print(f"float32 max error / max |out|: winograd {winograd_error:.2e}, im2col {im2col_error:.2e}, bound {bound:.1e}")
    assert winograd_error < bound and im2col_error < bound
    assert winograd_error < 4 * im2col_error


def transposed_but_not_flipped(dout, w, pad):
    """A broken input gradient: the filters transposed but not flipped."""
    return winograd.winograd_conv(dout, w.transpose(1, 0, 2, 3), 2 - pad)


def input_gradient_error(input_gradient, pad, seed=0):
    """gradient_error of input_gradient(dout, w, pad) against the centred differences of sum(winograd_conv * dout)."""
    x, w, pad = inputs((2, 3, 4, 5, 6, pad), np.float64, seed)
    dout = np.random.default_rng(seed + 1).standard_normal(winograd.winograd_conv(x, w, pad).shape)
    numerical = eval_numerical_gradient_array(lambda x: winograd.winograd_conv(x, w, pad), x, dout)
    return gradient_error(input_gradient(dout, w, pad), numerical)


@pytest.mark.parametrize("pad", [0, 1, 2])
def test_input_gradient_matches_numerical_gradient(pad):
    error = input_gradient_error(winograd.winograd_input_gradient, pad)
    print(f"pad {pad}: gradient error {error:.1e}")
    assert error < GRADIENT_TOLERANCE


@pytest.mark.parametrize("pad", [0, 1, 2])
def test_unflipped_filters_fail_the_gradient_check(pad):
    error = input_gradient_error(transposed_but_not_flipped, pad)
    print(f"pad {pad}: gradient error of the broken version {error:.1e}")
    assert error > 1e5 * GRADIENT_TOLERANCE     # fails by a wide margin, not by luck


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_input_gradient_matches_the_im2col_backward_pass(case, dtype):
    x, w, pad = inputs(case, dtype)
    out, cache = layers.conv_forward(x, w, np.zeros(w.shape[0], dtype), {"stride": 1, "pad": pad})
    dout = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
    expected = layers.conv_backward(dout, cache)[0]
    dx = winograd.winograd_input_gradient(dout, w, pad)
    error = error_against_scale(dx, expected)
    print(f"{np.dtype(dtype).name}: {error:.1e}")
    assert dx.shape == x.shape and dx.dtype == dtype
    assert error < (1e-12 if dtype == np.float64 else 16 * FLOAT32_ROUNDING)


def test_supports_exactly_3x3_stride_1_pad_up_to_2():
    assert winograd.supports((128, 512, 6, 6), (512, 512, 3, 3), 1, 1)
    assert winograd.supports((2, 3, 1, 1), (4, 3, 3, 3), 1, 2)
    assert not winograd.supports((2, 3, 8, 8), (4, 3, 3, 3), 2, 1)      # stride 2
    assert not winograd.supports((2, 3, 8, 8), (4, 3, 5, 5), 1, 2)      # 5x5 filters
    assert not winograd.supports((2, 3, 8, 8), (4, 3, 3, 3), 1, 3)      # pad 3
    assert not winograd.supports((2, 3, 2, 8), (4, 3, 3, 3), 1, 0)      # no output rows
    assert not winograd.supports((2, 3, 8, 8), (4, 2, 3, 3), 1, 1)      # channels differ


@pytest.mark.parametrize("x, w, pad, message", [
    (np.zeros((2, 3, 8, 8), np.float16), np.zeros((4, 3, 3, 3), np.float16), 1, "both be float32 or both float64"),
    (np.zeros((2, 3, 8, 8), np.float32), np.zeros((4, 3, 3, 3)), 1, "both be float32 or both float64"),
    (np.zeros((2, 3, 8, 8), np.int64), np.zeros((4, 3, 3, 3), np.int64), 1, "both be float32 or both float64"),
    (np.zeros((2, 3, 8, 8)), np.zeros((4, 3, 5, 5)), 2, r"w \(F, C, 3, 3\)"),
    (np.zeros((2, 3, 8, 8)), np.zeros((4, 2, 3, 3)), 1, "the same C"),
    (np.zeros((2, 3, 8, 8)), np.zeros((4, 3, 3, 3)), 3, "pad 0, 1 or 2"),
    (np.zeros((3, 8, 8)), np.zeros((4, 3, 3, 3)), 1, r"x \(N, C, H, W\)"),
    (np.zeros((2, 3, 2, 8)), np.zeros((4, 3, 3, 3)), 0, r"H \+ 2 \* pad >= 3"),
    ([[[[0.0]]]], np.zeros((4, 1, 3, 3)), 1, "numpy arrays"),
], ids=["float16", "mixed dtypes", "integers", "5x5", "channels", "pad 3", "3-D x", "too small", "a list"])
def test_unsupported_arguments_raise_a_clear_value_error(x, w, pad, message):
    with pytest.raises(ValueError, match=f"winograd_conv: .*{message}"):
        winograd.winograd_conv(x, w, pad)


def test_input_gradient_names_its_own_arguments():
    with pytest.raises(ValueError, match=r"winograd_input_gradient: .*\(dout: \(2, 5, 6, 6\), w: \(4, 3, 3, 3\)"):
        winograd.winograd_input_gradient(np.zeros((2, 5, 6, 6)), np.zeros((4, 3, 3, 3)), 1)
