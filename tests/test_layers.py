"""The fast layers against their naive references, dtypes, modes, running statistics and numerical stability."""
import inspect

import numpy as np
import pytest

from kernel_cases import LAYER_CONV_CASES, LAYER_POOL_CASES
from minicnn import layers, winograd
from minicnn.gradient_check import rel_error
from minicnn.kernels.shapes import conv_output_size


def report(name, ours, reference, measure=rel_error):
    error = measure(ours, reference)
    print(f"{name}: {measure.__name__} {error:.2e}")
    return error


def error_of_the_scale(ours, reference):
    """max |ours - reference| over max |reference|: an entry that cancels to nearly zero keeps the absolute rounding
    error of its neighbours (Winograd adds and subtracts inputs before it multiplies; a GEMM's order of additions
    depends on the BLAS kernel), so entry by entry relative errors would pass or fail with the machine."""
    return np.abs(ours - reference).max() / np.abs(reference).max()


def columns_bytes_per_image(x_shape, w_shape, stride, pad):
    """The size of one image's im2col columns in float64, to set the chunk size in images."""
    out_height, out_width = conv_output_size(*x_shape[2:], *w_shape[2:], pad, stride)
    return int(np.prod(w_shape[1:])) * out_height * out_width * 8


# 3x3 and 5x5 stride-1 cases where Winograd applies, odd sizes (its 2x2 and 4x4 output tiles overhang), each padding
# it takes for 3x3 filters, the extremes for 5x5 (tests/kernel_cases.py has pad 2).
WINOGRAD_CONV_CASES = [((3, 5, 7, 9), (7, 5, 3, 3), 1, 1), ((3, 2, 4, 5), (3, 2, 3, 3), 1, 0),
                       ((2, 3, 3, 4), (4, 3, 3, 3), 1, 2), ((3, 2, 9, 6), (3, 2, 5, 5), 1, 0),
                       ((2, 3, 3, 2), (4, 3, 5, 5), 1, 4)]


@pytest.mark.parametrize("N, most", [(128, 42), (128, 128), (128, 200), (5, 2), (7, 1), (1, 3), (0, 3)])
def test_chunks_cover_the_batch_in_as_few_chunks_of_equal_size_as_the_budget_allows(N, most):
    chunks = layers._image_chunks(np.empty((N, 2)), bytes_per_image=10, budget_bytes=10 * most)
    sizes = [chunk.stop - chunk.start for chunk in chunks]
    assert [chunk.start for chunk in chunks] == [sum(sizes[:index]) for index in range(len(sizes))]
    assert sum(sizes) == N
    assert len(chunks) == -(-N // most) and (not sizes or max(sizes) - min(sizes) <= 1 and max(sizes) <= most)


@pytest.mark.parametrize("algorithm", ["im2col", "winograd"])
@pytest.mark.parametrize("images_per_chunk", [None, 1, 2])
@pytest.mark.parametrize("x_shape, w_shape, stride, pad", LAYER_CONV_CASES + WINOGRAD_CONV_CASES)
def test_conv_matches_naive(x_shape, w_shape, stride, pad, images_per_chunk, algorithm, monkeypatch):
    """The whole batch in one chunk (None: the default budget, for these small cases), or 1 or 2 images a chunk, so
    that the chunks' results must land in the right images and the last chunk may be shorter; by im2col, and by
    Winograd where it applies (3x3 or 5x5, stride 1, pad <= K - 1; im2col elsewhere)."""
    winograd_applies = w_shape[2:] in ((3, 3), (5, 5)) and stride == 1 and pad < w_shape[2]
    if images_per_chunk is not None:
        bytes_per_image = columns_bytes_per_image(x_shape, w_shape, stride, pad)
        monkeypatch.setattr(layers, "COLUMNS_CHUNK_BYTES", images_per_chunk * bytes_per_image)
    if images_per_chunk is not None and winograd_applies:
        # Winograd's chunks, the same in the forward and the backward pass.
        tile = winograd.tile_with_fewest_products(x_shape, w_shape, pad)
        winograd_bytes_per_image = winograd.workspace_bytes_per_image(x_shape, w_shape, pad, 8, tile)
        monkeypatch.setattr(layers, "WINOGRAD_CHUNK_BYTES", images_per_chunk * winograd_bytes_per_image)
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])
    conv_param = {"stride": stride, "pad": pad, "algorithm": algorithm}
    out, cache = layers.conv_forward(x, w, b, conv_param)
    assert layers.conv_algorithm(x, w, conv_param) == ("winograd" if algorithm == "winograd" and winograd_applies
                                                       else "im2col")
    reference, reference_cache = layers.conv_forward_naive(x, w, b, {"stride": stride, "pad": pad})
    assert report("out", out, reference, error_of_the_scale) < 1e-12
    dout = rng.standard_normal(out.shape)
    for name, ours, theirs in zip(("dx", "dw", "db"), layers.conv_backward(dout, cache),
                                  layers.conv_backward_naive(dout, reference_cache)):
        assert ours.shape == theirs.shape
        assert report(name, ours, theirs, error_of_the_scale) < 1e-12


@pytest.mark.parametrize("x_shape, pool_height, pool_width, stride", LAYER_POOL_CASES)
def test_max_pool_matches_naive(x_shape, pool_height, pool_width, stride):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(x_shape)
    pool_param = {"pool_height": pool_height, "pool_width": pool_width, "stride": stride}
    out, cache = layers.max_pool_forward(x, pool_param)
    reference, reference_cache = layers.max_pool_forward_naive(x, pool_param)
    np.testing.assert_array_equal(out, reference)
    dout = rng.standard_normal(out.shape)
    np.testing.assert_allclose(layers.max_pool_backward(dout, cache),
                               layers.max_pool_backward_naive(dout, reference_cache), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("pool_height, stride", [(2, 2), (3, 1)])
def test_max_pool_ties_send_the_gradient_to_one_position(pool_height, stride):
    x = np.zeros((2, 3, 6, 6))                                  # every window is one big tie
    pool_param = {"pool_height": pool_height, "pool_width": pool_height, "stride": stride}
    out, cache = layers.max_pool_forward(x, pool_param)
    dout = np.ones_like(out)
    dx = layers.max_pool_backward(dout, cache)
    assert dx.sum() == dout.sum()                               # no window counted twice
    np.testing.assert_array_equal(dx, layers.max_pool_backward_naive(dout, layers.max_pool_forward_naive(
        x, pool_param)[1]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_layer_keeps_its_dtype(dtype):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3, 6, 6)).astype(dtype)
    w, b = rng.standard_normal((2, 3, 3, 3)).astype(dtype), rng.standard_normal(2).astype(dtype)
    gamma, beta = np.ones(3, dtype), np.zeros(3, dtype)
    outputs = [
        layers.conv_forward(x, w, b, {"stride": 1, "pad": 1}),
        layers.max_pool_forward(x, {"pool_height": 2, "pool_width": 2, "stride": 2}),
        layers.max_pool_forward(x, {"pool_height": 3, "pool_width": 3, "stride": 1}),
        layers.relu_forward(x),
        layers.spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"}),
        layers.batchnorm_forward(x.reshape(4, -1), np.ones(108, dtype), np.zeros(108, dtype), {"mode": "train"}),
        layers.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 0}),
        layers.affine_forward(x, rng.standard_normal((108, 5)).astype(dtype), np.zeros(5, dtype)),
    ]
    backward = [layers.conv_backward, layers.max_pool_backward, layers.max_pool_backward, layers.relu_backward,
                layers.spatial_batchnorm_backward, layers.batchnorm_backward, layers.dropout_backward,
                layers.affine_backward]
    for (out, cache), backward_of in zip(outputs, backward):
        assert out.dtype == dtype
        grads = backward_of(np.ones_like(out), cache)
        for grad in grads if isinstance(grads, tuple) else (grads,):
            assert grad.dtype == dtype, backward_of.__name__
    loss, dscores = layers.softmax_loss(outputs[-1][0], np.array([0, 1, 2, 3]))
    assert dscores.dtype == dtype


def test_batchnorm_train_uses_batch_statistics_and_updates_running_ones():
    rng = np.random.default_rng(3)
    x = 3 * rng.standard_normal((200, 4)) + 5
    bn_param = {"mode": "train", "momentum": 0.8}
    out, _ = layers.batchnorm_forward(x, np.ones(4), np.zeros(4), bn_param)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), 1, atol=1e-4)
    np.testing.assert_allclose(bn_param["running_mean"], 0.2 * x.mean(axis=0))          # started at zeros
    np.testing.assert_allclose(bn_param["running_var"], 0.8 + 0.2 * x.var(axis=0))      # started at ones


def test_batchnorm_test_mode_uses_running_statistics():
    x = np.arange(12.0).reshape(4, 3)
    bn_param = {"mode": "test", "running_mean": np.array([1.0, 2.0, 3.0]), "running_var": np.array([4.0, 1.0, 9.0]),
                "eps": 0.0}
    out, _ = layers.batchnorm_forward(x, np.full(3, 2.0), np.full(3, 0.5), bn_param)
    expected = (x - bn_param["running_mean"]) / np.sqrt(bn_param["running_var"]) * 2.0 + 0.5
    np.testing.assert_allclose(out, expected)


def test_spatial_batchnorm_normalises_each_channel():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((10, 3, 4, 5)) * np.array([1.0, 5.0, 0.1])[None, :, None, None] + 7
    bn_param = {"mode": "train"}
    out, _ = layers.spatial_batchnorm_forward(x, np.ones(3), np.zeros(3), bn_param)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1, atol=1e-3)
    np.testing.assert_allclose(bn_param["running_mean"], 0.1 * x.mean(axis=(0, 2, 3)))


def test_dropout_drops_a_fraction_p_and_keeps_the_expectation():
    x = np.ones((500, 400))
    out, _ = layers.dropout_forward(x, {"p": 0.3, "mode": "train", "seed": 1})
    assert abs((out == 0).mean() - 0.3) < 0.01
    assert abs(out.mean() - 1.0) < 0.02                         # inverted dropout: no rescaling at test time
    np.testing.assert_array_equal(layers.dropout_forward(x, {"p": 0.3, "mode": "test"})[0], x)


def test_dropout_seed_repeats_the_mask_and_no_seed_varies_it():
    x = np.ones((50, 50))
    first = layers.dropout_forward(x, {"p": 0.5, "seed": 9})[0]
    np.testing.assert_array_equal(first, layers.dropout_forward(x, {"p": 0.5, "seed": 9})[0])
    assert not np.array_equal(layers.dropout_forward(x, {"p": 0.5})[0], layers.dropout_forward(x, {"p": 0.5})[0])


def test_softmax_loss_is_stable_for_huge_scores():
    scores = np.array([[1e4, 0.0, -1e4], [3e38, 3e38, 0.0]], dtype=np.float32)
    loss, dscores = layers.softmax_loss(scores, np.array([0, 2]))
    assert np.isfinite(loss) and np.all(np.isfinite(dscores))
    np.testing.assert_allclose(loss, 3e38 / 2, rtol=1e-6)       # -log softmax of the second row's label is 3e38


def test_softmax_loss_of_uniform_scores_is_log_of_classes():
    loss, _ = layers.softmax_loss(np.zeros((5, 7)), np.arange(5))
    np.testing.assert_allclose(loss, np.log(7))


def test_affine_accepts_any_trailing_shape():
    x = np.arange(24.0).reshape(2, 3, 4)
    out, cache = layers.affine_forward(x, np.ones((12, 2)), np.zeros(2))
    np.testing.assert_allclose(out, x.reshape(2, 12).sum(axis=1, keepdims=True) * np.ones((1, 2)))
    assert layers.affine_backward(np.ones((2, 2)), cache)[0].shape == x.shape


def test_layers_agree_with_pytorch_when_installed():
    torch = pytest.importorskip("torch", reason="PyTorch is an optional reference (pip install -e .[bench])")
    functional = torch.nn.functional
    rng = np.random.default_rng(5)
    x, w, b = rng.standard_normal((2, 3, 9, 7)), rng.standard_normal((4, 3, 5, 3)), rng.standard_normal(4)
    out, _ = layers.conv_forward(x, w, b, {"stride": 2, "pad": 1})
    reference = functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), stride=2, padding=1)
    assert report("conv vs torch", out, reference.numpy()) < 1e-12
    pooled, _ = layers.max_pool_forward(x, {"pool_height": 3, "pool_width": 3, "stride": 2})
    np.testing.assert_array_equal(pooled, functional.max_pool2d(torch.from_numpy(x), 3, 2).numpy())


@pytest.mark.parametrize("shape", [(1, 1, 2, 2), (2, 3, 8, 6), (3, 2, 10, 4)])
def test_max_pool_2x2_fast_path_matches_the_general_kernel(shape):
    from minicnn.kernels import cpu
    x = np.random.default_rng(6).integers(0, 3, shape).astype(np.float32)    # small integers: many ties
    general = cpu._max_pool_forward(x, np.empty_like(x[:, :, ::2, ::2]), np.empty(x[:, :, ::2, ::2].shape, np.int32),
                                    2, 2, 2)
    fast = cpu.max_pool_forward(x, 2, 2, 2)
    np.testing.assert_array_equal(fast[0], general[0])
    np.testing.assert_array_equal(fast[1], general[1])


def test_conv_algorithm_follows_the_request_the_environment_and_the_shape(monkeypatch):
    x, w = np.zeros((2, 64, 6, 6)), np.zeros((4, 64, 3, 3))
    monkeypatch.delenv("MINICNN_CONV_ALGORITHM", raising=False)
    assert layers.conv_algorithm(x, w, {"stride": 1, "pad": 1}) == "winograd"
    assert layers.conv_algorithm(x[:, :3], w[:, :3], {"stride": 1, "pad": 1}) == "im2col"   # too few channels
    assert layers.conv_algorithm(x[:, :32], w[:, :32], {"stride": 1, "pad": 1}) == "winograd"   # the shallow conv2
    assert layers.conv_algorithm(x[:, :31], w[:, :31], {"stride": 1, "pad": 1}) == "im2col"
    assert layers.conv_algorithm(x, w, {"stride": 2, "pad": 1}) == "im2col"                # does not apply
    assert layers.conv_algorithm(x[:, :3], w[:, :3], {"stride": 1, "pad": 1, "algorithm": "winograd"}) == "winograd"
    assert layers.conv_algorithm(x, np.zeros((4, 64, 5, 5)), {"stride": 1, "pad": 2}) == "winograd"   # F(4x4, 5x5)
    assert layers.conv_algorithm(x, np.zeros((4, 64, 7, 7)), {"stride": 1, "pad": 3}) == "im2col"     # no 7x7 tiles
    monkeypatch.setenv("MINICNN_CONV_ALGORITHM", "im2col")
    assert layers.conv_algorithm(x, w, {"stride": 1, "pad": 1}) == "im2col"
    assert layers.conv_algorithm(x, w, {"stride": 1, "pad": 1, "algorithm": "auto"}) == "winograd"
    with pytest.raises(ValueError, match=r"must be one of \('auto', 'im2col', 'winograd'\), got 'fft'"):
        layers.conv_forward(x, w, np.zeros(4), {"stride": 1, "pad": 1, "algorithm": "fft"})


def test_winograd_layers_transform_their_filters_once_per_call_not_per_chunk(monkeypatch):
    x_shape, w_shape = (4, 3, 6, 5), (2, 3, 3, 3)
    monkeypatch.setattr(layers, "COLUMNS_CHUNK_BYTES", 1)                  # one image a chunk, for every loop
    monkeypatch.setattr(layers, "WINOGRAD_CHUNK_BYTES", 1)
    calls = []
    transform_filters = winograd.transform_filters
    monkeypatch.setattr(winograd, "transform_filters",
                        lambda w, *tile: calls.append(w.shape) or transform_filters(w, *tile))
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(2)
    out, cache = layers.conv_forward(x, w, b, {"stride": 1, "pad": 1, "algorithm": "winograd"})
    layers.conv_backward(out, cache)
    assert calls == [w_shape, w_shape]              # once in each pass


@pytest.mark.parametrize("size, K, tile", [(12, 3, 6), (6, 3, 6), (8, 3, 4), (3, 3, 3), (8, 5, 4)])
def test_winograd_layers_take_the_tile_with_fewest_products(size, K, tile, monkeypatch):
    """A 3x3 layer on 12x12 or 6x6 maps by F(6x6, 3x3) (as the deep net's conv3 and conv4), on 8x8 by F(4x4, 3x3), on
    3x3 by F(3x3, 3x3), a 5x5 layer by F(4x4, 5x5) (conv2), in the forward and the backward pass
    (winograd.tile_with_fewest_products): a layer that fell back to another tile would still compute the right
    numbers, only slower."""
    tiles = []
    for name in ("winograd_conv", "winograd_backward"):
        function = getattr(winograd, name)
        monkeypatch.setattr(winograd, name, lambda *args, function=function, name=name, **kwargs:
                            tiles.append((name, inspect.signature(function).bind(*args, **kwargs).arguments["tile"]))
                            or function(*args, **kwargs))
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((2, 64, size, size)), rng.standard_normal((3, 64, K, K)), rng.standard_normal(3)
    out, cache = layers.conv_forward(x, w, b, {"stride": 1, "pad": K // 2})
    layers.conv_backward(out, cache)
    assert set(tiles) == {("winograd_conv", tile), ("winograd_backward", tile)}


@pytest.mark.parametrize("x_dtype, w_dtype", [(np.float32, np.float64), (np.float64, np.float32)])
def test_conv_of_mixed_dtypes_runs_by_im2col_as_before(x_dtype, w_dtype):
    """A float64 model given float32 images (a gradient check on preprocessed data) must not take Winograd, which
    needs one dtype; the gradients take the dtype of their products, as NumPy gives them."""
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 64, 5, 6)), rng.standard_normal((3, 64, 3, 3)), rng.standard_normal(3)
    conv_param = {"stride": 1, "pad": 1}
    out, cache = layers.conv_forward(x.astype(x_dtype), w.astype(w_dtype), b.astype(w_dtype), conv_param)
    reference, reference_cache = layers.conv_forward_naive(x, w, b, conv_param)
    assert layers.conv_algorithm(x.astype(x_dtype), w.astype(w_dtype), conv_param) == "im2col"
    assert report("out", out, reference, error_of_the_scale) < 1e-5
    dout = rng.standard_normal(out.shape)
    dx, dw, db = layers.conv_backward(dout, cache)
    assert dx.dtype == np.result_type(w_dtype, np.float64) and dw.dtype == np.result_type(x_dtype, np.float64)
    for name, ours, theirs in zip(("dx", "dw", "db"), (dx, dw, db), layers.conv_backward_naive(dout, reference_cache)):
        assert report(name, ours, theirs, error_of_the_scale) < 1e-5


@pytest.mark.parametrize("algorithm", ["im2col", "winograd"])
def test_conv_of_an_empty_batch_is_empty(algorithm):
    x, w, b = np.zeros((0, 16, 6, 6)), np.ones((4, 16, 3, 3)), np.ones(4)
    out, cache = layers.conv_forward(x, w, b, {"stride": 1, "pad": 1, "algorithm": algorithm})
    assert out.shape == (0, 4, 6, 6)
    dx, dw, db = layers.conv_backward(out, cache)
    assert dx.shape == x.shape and not dw.any() and not db.any()
