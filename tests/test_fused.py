"""The fused Numba passes of kernels/fused.py against the code they replace: layer_utils' blocks against their layer
chain (fused=False), in float64 and float32, train and test mode, with and without dropout; the dropout masks against
kernels.cpu.dropout_forward; numeric gradient checks of the fused blocks, and one broken on purpose; the fused Adam
step against solver/optim.py's array operations."""
import numpy as np
import pytest

from minicnn import layer_utils
from minicnn.gradient_check import GRADIENT_TOLERANCE
from minicnn.layer_checks import check_backward
from minicnn.solver import optim

fused = pytest.importorskip("minicnn.kernels.fused", reason="needs Numba")
cpu = pytest.importorskip("minicnn.kernels.cpu", reason="needs Numba")

# Largest difference between the two paths, relative to the largest reference value: rounding only.
TOLERANCES = {np.float64: 1e-12, np.float32: 2e-5}
DTYPES = [np.float64, np.float32]
MODES = ["train", "test"]
DROPOUT = [None, 0.3]


def relative_error(name, ours, reference):
    """max |ours - reference| / max |reference|, printed beside the two largest values."""
    ours, reference = np.asarray(ours), np.asarray(reference)
    assert (ours.shape, ours.dtype) == (reference.shape, reference.dtype), (name, ours.dtype, reference.dtype)
    error = float(np.abs(ours - reference).max() / max(np.abs(reference).max(), np.finfo(reference.dtype).tiny))
    print(f"{name:14s} max error {error:.2e} of its scale (ours max {np.abs(ours).max():.4g}, "
          f"reference max {np.abs(reference).max():.4g})")
    return error


# ---------------------------------------------------------------------------------------------- blocks: fused vs chain
def conv_block(dtype, rng, pooled=True):
    """A conv block of odd sizes (N=3, C=5, 7x9 images, 4 filters, 3x3 pooling, stride 2, or no pooling)
    -> forward(x, w, b, gamma, beta, bn_param, dropout_param, fused), backward, x, [w, b, gamma, beta]."""
    x = rng.standard_normal((3, 5, 7, 9)).astype(dtype)
    weights = [rng.standard_normal(shape).astype(dtype) for shape in ((4, 5, 3, 3), (4,), (4,), (4,))]
    pool_param = {"pool_height": 3, "pool_width": 3, "stride": 2} if pooled else None

    def forward(x, w, b, gamma, beta, bn_param, dropout_param, fused=True):
        return layer_utils.conv_block_forward(x, w, b, {"stride": 1, "pad": 1}, gamma, beta, bn_param, dropout_param,
                                              pool_param, fused=fused)
    return forward, layer_utils.conv_block_backward, x, weights


def affine_block(dtype, rng):
    """An affine block of odd sizes (N=3, 2x5 inputs, 7 units), as conv_block returns it."""
    x = rng.standard_normal((3, 2, 5)).astype(dtype)
    weights = [rng.standard_normal(shape).astype(dtype) for shape in ((10, 7), (7,), (7,), (7,))]
    return layer_utils.affine_block_forward, layer_utils.affine_block_backward, x, weights


def block_arguments(units, dtype, mode, p, rng):
    """bn_param (running statistics of its own in test mode, none yet in training) and dropout_param."""
    bn_param = {"mode": mode}
    if mode == "test":
        bn_param.update(running_mean=rng.standard_normal(units).astype(dtype),
                        running_var=(rng.random(units) + 0.5).astype(dtype))
    dropout_param = None if p is None else {"p": p, "mode": mode, "seed": 12345}
    return bn_param, dropout_param


def run_block(block, dtype, mode, p, fused_path):
    """Forward and backward of the block (same random inputs for both paths) -> ({name: array}, cache)."""
    rng = np.random.default_rng(0)
    forward, backward, x, (w, b, gamma, beta) = block(dtype, rng)
    bn_param, dropout_param = block_arguments(len(gamma), dtype, mode, p, rng)
    out, cache = forward(x, w, b, gamma, beta, bn_param, dropout_param, fused=fused_path)
    dout = rng.standard_normal(out.shape).astype(dtype)
    dx, dw, db, dgamma, dbeta = backward(dout, cache)
    return dict(out=out, running_mean=bn_param["running_mean"], running_var=bn_param["running_var"], dx=dx, dw=dw,
                db=db, dgamma=dgamma, dbeta=dbeta), cache


@pytest.mark.parametrize("p", DROPOUT, ids=["no dropout", "dropout"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("block", [conv_block, affine_block], ids=["conv", "affine"])
def test_fused_block_matches_the_layer_chain(block, dtype, mode, p):
    ours, ours_cache = run_block(block, dtype, mode, p, fused_path=True)
    reference, reference_cache = run_block(block, dtype, mode, p, fused_path=False)
    assert ours_cache[1][0] == "fused" and reference_cache[1][0] == "chain"
    for name in ours:
        if name == "db" and mode == "train":
            # Batch norm cancels the bias: in theory db is 0, and both paths give rounding noise of dw's scale.
            assert np.abs(ours[name]).max() < TOLERANCES[dtype] * np.abs(reference["dw"]).max()
            continue
        assert relative_error(name, ours[name], reference[name]) < TOLERANCES[dtype], name


def test_a_block_without_batch_norm_takes_the_chain():
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((2, 3, 4, 4)), rng.standard_normal((2, 3, 3, 3)), rng.standard_normal(2)
    _, cache = layer_utils.conv_block_forward(x, w, b, {"stride": 1, "pad": 1})
    assert cache[1][0] == "chain"
    _, cache = layer_utils.affine_block_forward(x, rng.standard_normal((48, 2)), b, np.ones(2), np.zeros(2),
                                                {"mode": "train"})
    assert cache[1][0] == "fused"


def test_without_numba_the_blocks_and_adam_run_their_array_code(monkeypatch):
    monkeypatch.setattr(layer_utils, "fused_cpu_kernels", lambda: None)
    monkeypatch.setattr(optim, "fused_cpu_kernels", lambda: None)
    ours, cache = run_block(conv_block, np.float32, "train", 0.3, fused_path=True)
    assert cache[1][0] == "chain"
    w = np.ones(5, dtype=np.float32)
    optim.adam(w, np.full(5, 0.5, dtype=np.float32), {"learning_rate": 0.1})
    np.testing.assert_allclose(w, 0.9, rtol=1e-6)


# ------------------------------------------------------------------------------------------------------ dropout masks
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("shape", [(3, 5, 7, 9), (4, 11), (2, 3, 1, 130)])
def test_dropout_mask_is_that_of_the_dropout_kernel(shape, dtype):
    # Batch norm as the identity and positive inputs, so that only dropout is left: the masks must agree bit for bit.
    x = np.random.default_rng(2).random(shape).astype(dtype) + 0.1
    channels = shape[1]
    zeros, ones = np.zeros(channels, dtype), np.ones(channels, dtype)       # mean and beta, inv_std and gamma
    expected, mask = cpu.dropout_forward(x, 0.4, 2 ** 64 - 5)
    out, passed = fused.batchnorm_relu_dropout_forward(x, zeros, ones, ones, zeros, 0.4, 2 ** 64 - 5)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(passed, mask != 0)
    dout = np.random.default_rng(3).standard_normal(shape).astype(dtype)
    dx, _, _ = fused.batchnorm_relu_dropout_backward(dout, x, passed, zeros, ones, ones, 0.4, batch_statistics=False)
    np.testing.assert_array_equal(dx, dout * mask)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_the_backward_pass_may_take_the_memory_of_dout_and_gives_the_same_bits(dtype):
    rng = np.random.default_rng(6)
    x, dout = rng.standard_normal((4, 3, 5, 5)).astype(dtype), rng.standard_normal((4, 3, 5, 5)).astype(dtype)
    mean, inv_std = x.mean(axis=(0, 2, 3)), 1 / x.std(axis=(0, 2, 3))
    gamma, beta = rng.standard_normal(3).astype(dtype), rng.standard_normal(3).astype(dtype)
    _, passed = fused.batchnorm_relu_dropout_forward(x, mean, inv_std, gamma, beta, 0.3, 99)
    kept = dout.copy()
    expected = fused.batchnorm_relu_dropout_backward(dout, x, passed, mean, inv_std, gamma, 0.3)
    np.testing.assert_array_equal(dout, kept)                               # not asked to: dout is left alone
    ours = fused.batchnorm_relu_dropout_backward(dout, x, passed, mean, inv_std, gamma, 0.3, overwrite_dout=True)
    assert np.shares_memory(ours[0], dout)
    for got, wanted in zip(ours, expected):
        np.testing.assert_array_equal(got, wanted)


@pytest.mark.parametrize("pooled", [True, False], ids=["pooled", "not pooled"])
def test_a_blocks_backward_leaves_the_callers_dout_alone(pooled):
    # Pooled, the middle's gradient may take the memory of the pooling's gradient; not pooled, dout is the caller's.
    rng = np.random.default_rng(7)
    forward, backward, x, (w, b, gamma, beta) = conv_block(np.float32, rng, pooled)
    out, cache = forward(x, w, b, gamma, beta, {"mode": "train"}, {"p": 0.3, "mode": "train", "seed": 1})
    assert cache[1][0] == "fused" and (cache[2] is not None) == pooled      # the fused path
    dout = rng.standard_normal(out.shape).astype(np.float32)
    kept = dout.copy()
    backward(dout, cache)
    np.testing.assert_array_equal(dout, kept)


def test_channel_statistics_survive_a_large_mean():
    # Mean 1e4, spread 1: E[x^2] - E[x]^2 unshifted would lose about 8 of float64's 16 digits.
    x = 1e4 + np.random.default_rng(4).standard_normal((8, 3, 5, 5))
    mean, var = fused.channel_mean_variance(x)
    np.testing.assert_allclose(mean, x.mean(axis=(0, 2, 3)), rtol=1e-14)
    np.testing.assert_allclose(var, x.var(axis=(0, 2, 3)), rtol=1e-11)


# ------------------------------------------------------------------------------------------------- gradient checks
def check_fused_block(block, mode, p, seed=0):
    """Numeric gradient check (float64) of the fused block -> {gradient name: gradient_error}."""
    rng = np.random.default_rng(seed)
    forward, backward, x, (w, b, gamma, beta) = block(np.float64, rng)
    bn_param, dropout_param = block_arguments(len(gamma), np.float64, mode, p, rng)

    def block_forward(x, w, b, gamma, beta):
        # A copy of bn_param each time: training mode updates its running statistics, and they must not drift
        # between the evaluations of a numerical gradient (they do not affect the output in training anyway).
        return forward(x, w, b, gamma, beta, dict(bn_param), dropout_param)
    return check_backward(block_forward, backward, (x, w, b, gamma, beta), ("dx", "dw", "db", "dgamma", "dbeta"), rng)


@pytest.mark.parametrize("p", DROPOUT, ids=["no dropout", "dropout"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("block", [conv_block, affine_block], ids=["conv", "affine"])
def test_fused_block_gradient_matches_numerical(block, mode, p):
    errors = check_fused_block(block, mode, p)
    print({name: f"{error:.2e}" for name, error in errors.items()})
    assert max(errors.values()) < GRADIENT_TOLERANCE


def fused_backward_without_the_variance_term(dout, x, passed, mean, inv_std, gamma, p=0.0, batch_statistics=True,
                                             overwrite_dout=False):
    """The gradient through the batch variance, x_hat * mean(dout * x_hat) in the closed form, left out."""
    dx, dgamma, dbeta = CORRECT_BACKWARD(dout, x, passed, mean, inv_std, gamma, p, batch_statistics, overwrite_dout)
    channels = (1, -1) + (1,) * (x.ndim - 2)
    x_hat = (x - mean.reshape(channels)) * inv_std.reshape(channels)
    count = x.size // x.shape[1]
    return dx + (gamma * inv_std * dgamma / count).reshape(channels) * x_hat, dgamma, dbeta


CORRECT_BACKWARD = fused.batchnorm_relu_dropout_backward


@pytest.mark.parametrize("block", [conv_block, affine_block], ids=["conv", "affine"])
def test_a_broken_fused_backward_fails_its_check(block, monkeypatch):
    monkeypatch.setattr(fused, "batchnorm_relu_dropout_backward", fused_backward_without_the_variance_term)
    errors = check_fused_block(block, "train", 0.3)
    print({name: f"{error:.2e}" for name, error in errors.items()})
    assert max(errors.values()) > 1e5 * GRADIENT_TOLERANCE


# ------------------------------------------------------------------------------------------------------------- Adam
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_fused_adam_matches_the_array_operations(dtype):
    rng = np.random.default_rng(5)
    w = rng.standard_normal((37, 11)).astype(dtype)
    reference_w, reference_m, reference_v = w.copy(), np.zeros_like(w), np.zeros_like(w)
    config = {"learning_rate": 3e-2, "beta1": 0.8, "epsilon": 1e-6}
    for t in range(1, 8):
        dw = rng.standard_normal(w.shape).astype(dtype)
        w, config = optim.adam(w, dw, config)
        optim.adam_with_array_operations(reference_w, dw, reference_m, reference_v, 3e-2, 0.8, 0.999, 1e-6, t)
    assert config["t"] == 7 and w.dtype == config["m"].dtype == config["v"].dtype == dtype
    # The same operations in the same order and dtype: equal to the last bit here; to rounding is what is asserted.
    for name, ours, reference in (("w", w, reference_w), ("m", config["m"], reference_m),
                                  ("v", config["v"], reference_v)):
        assert relative_error(name, ours, reference) <= np.finfo(dtype).eps, name


def test_adam_updates_a_strided_view_in_place_through_the_array_operations():
    # A view cannot be updated through a flat copy: adam must see that and take the array operations.
    storage = np.ones((4, 6), dtype=np.float32)
    w = storage[:, ::2]
    next_w, config = optim.adam(w, np.full(w.shape, 0.5, dtype=np.float32), {"learning_rate": 0.1})
    assert next_w is w
    np.testing.assert_allclose(storage[:, ::2], 0.9, rtol=1e-6)
    np.testing.assert_array_equal(storage[:, 1::2], 1.0)
