"""The layers, the gradient checks, whole models, a short training run and model files on the GPU (CuPy arrays).

The GPU tests (marked gpu, run by `python -m pytest -m gpu`) need cupy and a usable CUDA device and are skipped
otherwise. Their reference is the same code run on numpy arrays: float64 must agree to 1e-10 and float32 to 1e-4,
relative to the largest value compared. The numpy path runs the Numba kernels of kernels/cpu.py when Numba imports;
a GPU machine may lack Numba, and then the numpy path runs the plain NumPy kernels of kernels/reference.py, which
tests/test_kernels.py checks against Numba wherever both exist.

Tests that read FER2013 take it from $MINICNN_DATA, else from ../shared/data/fer2013_train_public.npz.xz, and are
skipped when neither exists.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from device_helpers import OnGpu, biases_before_batchnorm, gpu_test, on_gpu
from kernel_cases import LAYER_CONV_CASES, LAYER_POOL_CASES
from minicnn import augmentation, layer_checks, layer_utils, layers, models, winograd
from minicnn.kernels import reference
from minicnn.backend import is_gpu_array, to_numpy
from minicnn.gradient_check import GRADIENT_TOLERANCE
from minicnn.models import AffineLayer, ConvLayer, ConvNet
from minicnn.solver import optim

REPOSITORY = Path(__file__).resolve().parents[1]
SHARED_DATA = REPOSITORY.parent / "shared" / "data"
TOLERANCES = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-10}
DTYPES = [np.float32, np.float64]
# The shared layer cases, plus the deep net's second conv at a batch of 16 and its first pooling.
CONV_CASES = LAYER_CONV_CASES + [((16, 64, 24, 24), (128, 64, 5, 5), 1, 2)]
POOL_CASES = LAYER_POOL_CASES + [((16, 64, 48, 48), 2, 2, 2)]
# Enough for the shallow net to learn in two epochs of minibatches of 32, few enough for the CuPy stand-in (the CPU).
SHALLOW_TRAINING_IMAGES, VALIDATION_IMAGES = 128, 128


# get_state() entries that are plain counters kept on the host, not arrays of the model's device.
HOST_COUNTERS = ("forward_count", "dropout_seed")


def kernels_without_numba(x):
    """minicnn.layers._kernels, with the NumPy kernels of minicnn.kernels.reference in place of minicnn.kernels.cpu."""
    if is_gpu_array(x):
        from minicnn.kernels import gpu
        return gpu
    return reference


@pytest.fixture(scope="module")
def numpy_path():
    """Make numpy arrays runnable through the layers: with the Numba kernels when they import, else with the
    NumPy kernels of minicnn.kernels.reference. Yields which of the two runs."""
    try:
        from minicnn.kernels import cpu  # noqa: F401 (imported only to learn whether Numba works)
    except ImportError as error:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(layers, "_kernels", kernels_without_numba)
            yield f"NumPy kernels (Numba cannot be imported: {error})"
        return
    yield "Numba kernels"


@pytest.fixture(scope="module")
def cupy():
    import cupy
    return cupy


# ---------------------------------------------------------------------------------------------------------------
# Helpers

def assert_close(name, ours, reference, scale=None):
    """ours (a GPU array) equals reference (numpy) in shape and dtype, and in value to the dtype's tolerance relative
    to scale (default: the largest reference value); on failure numpy prints both side by side."""
    assert is_gpu_array(ours), f"{name}: the GPU result is a {type(ours).__name__}, not a cupy array"
    ours, reference = to_numpy(ours), np.asarray(reference)
    assert ours.shape == reference.shape, f"{name}: GPU shape {ours.shape}, numpy shape {reference.shape}"
    assert ours.dtype == reference.dtype, f"{name}: GPU dtype {ours.dtype}, numpy dtype {reference.dtype}"
    tolerance = TOLERANCES[reference.dtype]
    scale = float(np.abs(reference).max(initial=0.0)) if scale is None else scale
    np.testing.assert_allclose(ours, reference, rtol=tolerance, atol=tolerance * scale,
                               err_msg=f"{name}: GPU (actual) against the numpy path (desired)")


def compare_layer(cupy, forward, backward, inputs, names, seed=0, compare_at=None):
    """Run forward and backward on numpy inputs and on GPU copies of them, with the same upstream gradient, and
    compare the outputs and the gradients named by names (the first len(names) that backward returns).

    compare_at: see assert_all_close.
    Returns (inputs, gpu_inputs, cache, gpu_cache), so that a caller can look at what the layer changed or kept.
    """
    gpu_inputs = on_gpu(cupy, inputs)               # copied first: the numpy run may change dicts in inputs
    out, cache = forward(*inputs)
    gpu_out, gpu_cache = forward(*gpu_inputs)
    assert_close("out", gpu_out, out)
    dout = np.random.default_rng(seed).standard_normal(out.shape).astype(out.dtype)
    grads, gpu_grads = backward(dout, cache), backward(cupy.asarray(dout), gpu_cache)
    if not isinstance(grads, tuple):
        grads, gpu_grads = (grads,), (gpu_grads,)
    assert_all_close(dict(zip(names, gpu_grads)), dict(zip(names, grads)), compare_at)
    return inputs, gpu_inputs, cache, gpu_cache


def assert_all_close(gpu_arrays, arrays, compare_at=None):
    """Each GPU array (name -> array) equals the numpy one, as assert_close says.

    compare_at: {name: other name} for arrays that are rounding noise (see biases_before_batchnorm), compared at the
    scale of the other array.
    """
    for name, array in arrays.items():
        other = (compare_at or {}).get(name)
        assert_close(name, gpu_arrays[name], array, None if other is None else float(np.abs(arrays[other]).max()))


def random(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


# ---------------------------------------------------------------------------------------------------------------
# Runs without a GPU: the imports a GPU machine without Numba depends on

def test_the_gpu_path_imports_without_numba_and_the_data_libraries():
    """A GPU machine may lack Numba (or have one that refuses its NumPy): the layers, the models, the CUDA kernels'
    wrappers and the Solver must import without it. The layers and models must not need pandas, scikit-image,
    tqdm or matplotlib either."""
    blocker = ("import sys\n"
               "class Block:\n"
               "    def find_spec(self, name, path=None, target=None):\n"
               "        if name.split('.')[0] in BLOCKED:\n"
               "            raise ImportError(name + ' is blocked by the test')\n"
               "sys.meta_path.insert(0, Block())\n")
    checks = {
        "minicnn.layers, minicnn.models, minicnn.kernels.gpu": ({"numba", "pandas", "skimage", "tqdm", "matplotlib"},
                                                        "import minicnn.layers, minicnn.models, minicnn.kernels.gpu"),
        "minicnn.solver": ({"numba"}, "import minicnn.solver"),
    }
    for what, (blocked, statement) in checks.items():
        program = f"BLOCKED = {sorted(blocked)!r}\n{blocker}{statement}\n"
        result = subprocess.run([sys.executable, "-c", program], cwd=REPOSITORY, capture_output=True, text=True)
        assert result.returncode == 0, f"{what} does not import without {', '.join(sorted(blocked))}:\n{result.stderr}"


# ---------------------------------------------------------------------------------------------------------------
# Every layer on the GPU against the numpy path

@gpu_test
@pytest.mark.parametrize("dtype", DTYPES)
def test_affine_and_relu(cupy, numpy_path, dtype):
    rng = np.random.default_rng(0)
    x, w, b = random(rng, (5, 3, 2, 4), dtype), random(rng, (24, 7), dtype), random(rng, 7, dtype)
    compare_layer(cupy, layers.affine_forward, layers.affine_backward, (x, w, b), ("dx", "dw", "db"))
    compare_layer(cupy, layers.relu_forward, layers.relu_backward, (random(rng, (6, 9), dtype),), ("dx",))


@gpu_test
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, w_shape, stride, pad", CONV_CASES)
def test_conv(cupy, numpy_path, x_shape, w_shape, stride, pad, dtype):
    rng = np.random.default_rng(1)
    x, w, b = random(rng, x_shape, dtype), random(rng, w_shape, dtype), random(rng, w_shape[0], dtype)
    conv_param = {"stride": stride, "pad": pad}
    compare_layer(cupy, lambda x, w, b: layers.conv_forward(x, w, b, conv_param), layers.conv_backward, (x, w, b),
                  ("dx", "dw", "db"))


@gpu_test
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, pool_height, pool_width, stride", POOL_CASES)
def test_max_pool(cupy, numpy_path, x_shape, pool_height, pool_width, stride, dtype):
    x = np.random.default_rng(2).permutation(int(np.prod(x_shape))).reshape(x_shape).astype(dtype)  # no ties
    pool_param = {"pool_height": pool_height, "pool_width": pool_width, "stride": stride}
    *_, cache, gpu_cache = compare_layer(cupy, lambda x: layers.max_pool_forward(x, pool_param),
                                         layers.max_pool_backward, (x,), ("dx",))
    np.testing.assert_array_equal(to_numpy(gpu_cache[1]), cache[1], err_msg="argmax")


@gpu_test
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("spatial", [False, True], ids=["batchnorm", "spatial_batchnorm"])
def test_batchnorm_train_then_test_mode(cupy, numpy_path, spatial, dtype):
    rng = np.random.default_rng(3)
    forward = layers.spatial_batchnorm_forward if spatial else layers.batchnorm_forward
    backward = layers.spatial_batchnorm_backward if spatial else layers.batchnorm_backward
    x = 3 * random(rng, (6, 4, 5, 3) if spatial else (8, 4), dtype) + 1
    gamma, beta = random(rng, 4, dtype), random(rng, 4, dtype)
    inputs, gpu_inputs, *_ = compare_layer(cupy, forward, backward, (x, gamma, beta, {"mode": "train"}),
                                           ("dx", "dgamma", "dbeta"))
    bn_param, gpu_bn_param = inputs[3], gpu_inputs[3]
    for statistic in ("running_mean", "running_var"):
        assert_close(statistic, gpu_bn_param[statistic], bn_param[statistic])
    bn_param["mode"] = "test"                       # with the running statistics of the numpy run, now checked equal
    compare_layer(cupy, forward, backward, (x, gamma, beta, bn_param), ("dx", "dgamma", "dbeta"))


@gpu_test
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [0.25, 0.5])
def test_dropout_draws_the_numpy_mask_bit_for_bit(cupy, numpy_path, p, dtype):
    x = random(np.random.default_rng(4), (16, 32, 6, 6), dtype)
    dropout_param = {"p": p, "mode": "train", "seed": 2 ** 62 + 12345}
    *_, cache, gpu_cache = compare_layer(cupy, layers.dropout_forward, layers.dropout_backward, (x, dropout_param),
                                         ("dx",))
    np.testing.assert_array_equal(to_numpy(gpu_cache[1]), cache[1], err_msg="mask")
    out, _ = layers.dropout_forward(cupy.asarray(x), {"p": p, "mode": "test"})
    np.testing.assert_array_equal(to_numpy(out), x, err_msg="test mode is the identity")


@gpu_test
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_softmax_loss(cupy, numpy_path, label_smoothing, dtype):
    rng = np.random.default_rng(5)
    scores, y = 5 * random(rng, (32, 7), dtype), rng.integers(0, 7, size=32)
    loss, dscores = layers.softmax_loss(scores, y, label_smoothing)
    gpu_loss, gpu_dscores = layers.softmax_loss(cupy.asarray(scores), cupy.asarray(y), label_smoothing)
    assert_close("loss", gpu_loss, np.asarray(loss))
    assert_close("dscores", gpu_dscores, dscores)


@gpu_test
@pytest.mark.parametrize("augment", [augmentation.standard_augmentation(), augmentation.RandomAffine(flip=False),
                                     augmentation.RandomErasing(p=1.0)], ids=repr)
def test_batch_augmentations_draw_the_numpy_batch(cupy, numpy_path, augment):
    """The same seed gives the same batch on both devices: the numpy path warps with Numba (kernels/warp_cpu.py),
    cupy arrays with whole-batch array operations."""
    x = random(np.random.default_rng(11), (6, 2, 12, 10), np.float32)
    expected = augment(x, np.random.default_rng(3))
    assert_close(repr(augment), augment(cupy.asarray(x), np.random.default_rng(3)), expected)


@gpu_test
@pytest.mark.parametrize("dtype", DTYPES)
def test_conv_and_affine_blocks(cupy, numpy_path, dtype):
    rng = np.random.default_rng(6)
    x, w, b = random(rng, (4, 3, 8, 8), dtype), random(rng, (5, 3, 3, 3), dtype), random(rng, 5, dtype)
    gamma, beta = random(rng, 5, dtype), random(rng, 5, dtype)

    def conv_block(x, w, b, gamma, beta, bn_param):
        return layer_utils.conv_block_forward(x, w, b, {"stride": 1, "pad": 1}, gamma, beta, bn_param,
                                              {"p": 0.25, "mode": "train", "seed": 7},
                                              {"pool_height": 2, "pool_width": 2, "stride": 2})
    # Batch norm takes out any bias before it, so db is zero but for rounding (see biases_before_batchnorm).
    compare_layer(cupy, conv_block, layer_utils.conv_block_backward, (x, w, b, gamma, beta, {"mode": "train"}),
                  ("dx", "dw", "db", "dgamma", "dbeta"), compare_at={"db": "dw"})

    x, w, b = random(rng, (6, 2, 5), dtype), random(rng, (10, 4), dtype), random(rng, 4, dtype)
    gamma, beta = random(rng, 4, dtype), random(rng, 4, dtype)

    def affine_block(x, w, b, gamma, beta, bn_param):
        return layer_utils.affine_block_forward(x, w, b, gamma, beta, bn_param, {"p": 0.4, "mode": "train", "seed": 3})
    compare_layer(cupy, affine_block, layer_utils.affine_block_backward, (x, w, b, gamma, beta, {"mode": "train"}),
                  ("dx", "dw", "db", "dgamma", "dbeta"), compare_at={"db": "dw"})


# ---------------------------------------------------------------------------------------------------------------
# The gradient checks of minicnn.layer_checks, with every layer running on the GPU

@gpu_test
@pytest.mark.parametrize("check", list(layer_checks.LAYER_CHECKS))
def test_layer_gradient_checks_on_gpu(cupy, check, monkeypatch):
    monkeypatch.setattr(layer_checks, "layers", OnGpu(cupy, layers, keep_caches=True))
    monkeypatch.setattr(layer_checks, "layer_utils", OnGpu(cupy, layer_utils, keep_caches=True))
    errors = layer_checks.LAYER_CHECKS[check](np.random.default_rng(0))
    for name, error in errors.items():
        print(f"{check} {name}: error {error:.2e} of the gradient's scale")
    assert max(errors.values()) < GRADIENT_TOLERANCE


# ---------------------------------------------------------------------------------------------------------------
# The CPU-only fast paths step aside for cupy arrays

@gpu_test
def test_fused_passes_and_winograd_are_never_given_cupy_arrays(cupy, monkeypatch):
    """The fused Numba passes (kernels/fused.py) and Winograd (minicnn/winograd.py) take numpy arrays only. On cupy
    arrays a block runs its chain of layers, Adam its array operations and convolution im2col, Winograd asked for or
    not; here each fast path fails the test if it is reached."""
    def refuse(*args, **kwargs):
        raise AssertionError("a CPU-only fast path was reached with cupy arrays")
    for module, name in ((layer_utils, "fused_cpu_kernels"), (optim, "fused_cpu_kernels"),
                         (winograd, "winograd_conv"), (winograd, "winograd_backward")):
        monkeypatch.setattr(module, name, refuse)
    monkeypatch.setenv("MINICNN_CONV_ALGORITHM", "winograd")
    rng = np.random.default_rng(10)
    x, w = random(rng, (2, 64, 6, 6), np.float32), random(rng, (8, 64, 3, 3), np.float32)
    b, gamma, beta = (random(rng, 8, np.float32) for _ in range(3))
    assert layers.conv_algorithm(x, w, {"stride": 1, "pad": 1}) == "winograd"          # on the CPU it would be
    x, w, b, gamma, beta = on_gpu(cupy, (x, w, b, gamma, beta))
    assert layers.conv_algorithm(x, w, {"stride": 1, "pad": 1}) == "im2col"

    out, cache = layer_utils.conv_block_forward(x, w, b, {"stride": 1, "pad": 1}, gamma, beta, {"mode": "train"},
                                                {"p": 0.5, "seed": 1}, {"pool_height": 2, "pool_width": 2})
    gradients = layer_utils.conv_block_backward(cupy.ones_like(out), cache)
    assert all(is_gpu_array(array) for array in (out, *gradients))
    config = {}
    for _ in range(2):
        w, config = optim.adam(w, gradients[1], config)
    assert is_gpu_array(w) and is_gpu_array(config["m"]) and config["t"] == 2


# ---------------------------------------------------------------------------------------------------------------
# Whole models

def small_convnet(hog_dim=0, dtype=np.float64):
    """Every kind of block: conv with and without pooling, batch norm on and off, dropout, a hidden affine layer."""
    return ConvNet([ConvLayer(4, 3, dropout=0.25), ConvLayer(6, 5, stride=1, batchnorm=False, pool=False),
                    ConvLayer(5, 3, dropout=0.1)],
                   [AffineLayer(12, dropout=0.5), AffineLayer(9, batchnorm=False)], input_dim=(2, 12, 12),
                   hog_dim=hog_dim, reg=1e-3, dtype=dtype, seed=0)


def model_input(rng, model, count):
    images = rng.standard_normal((count, *model.architecture.input_dim)).astype(model.dtype)
    if not model.architecture.hog_dim:
        return images
    return images, rng.standard_normal((count, model.architecture.hog_dim))


@gpu_test
@pytest.mark.parametrize("hog_dim", [0, 10])
def test_whole_model_loss_gradients_and_scores_match_the_numpy_path(cupy, numpy_path, hog_dim):
    rng = np.random.default_rng(7)
    on_cpu, on_device = small_convnet(hog_dim), small_convnet(hog_dim).to("gpu")
    X, y = model_input(rng, on_cpu, 6), rng.integers(0, 7, size=6)
    for _ in range(2):                              # the second pass draws new dropout masks, alike on both
        loss, grads = on_cpu.loss(X, y)
        gpu_loss, gpu_grads = on_device.loss(on_gpu(cupy, X), cupy.asarray(y))
        assert_close("loss", gpu_loss, np.asarray(loss))
        assert grads.keys() == gpu_grads.keys()
        assert_all_close(gpu_grads, grads, compare_at=biases_before_batchnorm(grads))
    for name, statistic in on_cpu.get_state().items():
        if name in HOST_COUNTERS:
            assert int(on_device.get_state()[name]) == int(statistic), name
        else:
            assert_close(name, on_device.get_state()[name], statistic)
    assert_close("scores", on_device.scores(X, batch_size=4), on_cpu.scores(X, batch_size=4))
    if not hog_dim:                                 # test-time augmentation: ten views of each image
        assert_close("ten-crop probabilities", on_device.probabilities(X, mirror=True, crops=True),
                     on_cpu.probabilities(X, mirror=True, crops=True))


@gpu_test
def test_convnet_to_gpu_and_back_keeps_every_array(cupy, numpy_path):
    rng = np.random.default_rng(8)
    model = small_convnet(dtype=np.float32)
    for bn_param in model.bn_params.values():
        bn_param["running_mean"] = rng.standard_normal(bn_param["running_mean"].shape).astype(np.float32)
        bn_param["running_var"] = rng.uniform(0.5, 2, bn_param["running_var"].shape).astype(np.float32)
    model.training_passes = 5
    params = {name: w.copy() for name, w in model.params.items()}
    state = {name: np.array(a, copy=True) for name, a in model.get_state().items()}
    X = model_input(rng, model, 20)
    cpu_scores = model.scores(X)

    assert model.to("gpu") is model
    assert all(is_gpu_array(w) for w in model.params.values())
    assert all(is_gpu_array(a) for name, a in model.get_state().items() if name not in HOST_COUNTERS)
    assert model.training_passes == 5
    gpu_scores = model.scores(X)                    # numpy input, copied batch by batch to the model's device
    assert_close("scores", gpu_scores, cpu_scores)
    assert_close("scores from GPU input", model.scores(cupy.asarray(X)), cpu_scores)

    model.to("cpu")
    for name, w in model.params.items():
        assert type(w) is np.ndarray and w.dtype == np.float32
        np.testing.assert_array_equal(w, params[name], err_msg=name)
    for name, a in model.get_state().items():
        np.testing.assert_array_equal(a, state[name], err_msg=name)
    np.testing.assert_array_equal(model.scores(X), cpu_scores)


def assert_same_predictions(gpu_scores, cpu_scores):
    """GPU and CPU float32 arithmetic differ in rounding only: the same labels for at least 99% of the samples, and
    scores within 1e-3."""
    gpu_scores = to_numpy(gpu_scores)
    agreement = float(np.mean(gpu_scores.argmax(axis=1) == cpu_scores.argmax(axis=1)))
    print(f"argmax agreement {agreement:.4f}, largest score difference {np.abs(gpu_scores - cpu_scores).max():.2e}")
    assert agreement >= 0.99
    np.testing.assert_allclose(gpu_scores, cpu_scores, rtol=1e-3, atol=1e-3)


@gpu_test
def test_the_vgg_recipe_trains_alike_on_both_devices(cupy, numpy_path):
    """SGD with Nesterov momentum, a cosine schedule after a warm-up, decoupled weight decay, label smoothing and the
    standard augmentation: the same losses and weights on the GPU as on the CPU."""
    from minicnn.solver import Solver, schedules
    rng = np.random.default_rng(12)
    X, y = random(rng, (32, 2, 12, 12), np.float32), rng.integers(0, 7, size=32)
    data = {"X_train": X[:24], "y_train": y[:24], "X_val": X[24:], "y_val": y[24:]}
    solvers = {}
    for device in ("cpu", "gpu"):
        model = small_convnet(dtype=np.float32)
        model.label_smoothing = 0.1
        solvers[device] = Solver(model, data, update_rule="sgd_momentum",
                                 optim_config={"learning_rate": 1e-2, "nesterov": True},
                                 schedule=schedules.CosineWithWarmup(3, warmup_epochs=1), weight_decay=1e-3,
                                 augment=augmentation.standard_augmentation(), batch_size=8, num_epochs=3,
                                 device=device, seed=0, verbose=False)
        solvers[device].train()
    on_cpu, on_gpu = solvers["cpu"], solvers["gpu"]
    assert is_gpu_array(on_gpu.model.params["W1"])
    np.testing.assert_allclose(on_gpu.loss_history, on_cpu.loss_history, rtol=1e-4)
    assert on_gpu.learning_rate() == on_cpu.learning_rate()
    params = on_cpu.model.params
    assert_all_close(on_gpu.model.params, params, compare_at=biases_before_batchnorm(params))


@gpu_test
def test_a_model_trained_on_gpu_saves_a_file_that_predicts_alike_on_cpu(cupy, numpy_path, tmp_path):
    from minicnn.solver import Solver
    rng = np.random.default_rng(9)
    model = models.shallow_net(input_dim=(1, 16, 16), seed=0)
    X, y = rng.standard_normal((96, 1, 16, 16)).astype(np.float32), rng.integers(0, 7, size=96)
    Solver(model, {"X_train": X[:64], "y_train": y[:64], "X_val": X[64:], "y_val": y[64:]}, update_rule="adam",
           optim_config={"learning_rate": 1e-3}, batch_size=16, num_epochs=2, augment_flip=True, device="gpu",
           seed=0, verbose=False).train()
    assert is_gpu_array(model.params["W1"])
    model.save(tmp_path / "model.npz")
    loaded = models.load(tmp_path / "model.npz")
    assert type(loaded.params["W1"]) is np.ndarray
    assert_same_predictions(model.scores(X), loaded.scores(X))


# ---------------------------------------------------------------------------------------------------------------
# Training on FER2013

@pytest.fixture(scope="module")
def fer2013_subset():
    """The first SHALLOW_TRAINING_IMAGES Training and VALIDATION_IMAGES PublicTest images, centred on the mean."""
    path = Path(os.environ.get("MINICNN_DATA") or SHARED_DATA / "fer2013_train_public.npz.xz")
    if not path.exists():
        pytest.skip(f"FER2013 not found at {path}; set MINICNN_DATA to a FER2013 file to train on real data")
    from minicnn import data
    splits = data.load_splits(path, subset=SHALLOW_TRAINING_IMAGES, cache=False)
    return {"X_train": splits["X_train"], "y_train": splits["y_train"],
            "X_val": splits["X_val"][:VALIDATION_IMAGES], "y_val": splits["y_val"][:VALIDATION_IMAGES]}


@gpu_test
def test_shallow_net_learns_fer2013_on_gpu_and_predicts_alike_on_cpu(cupy, numpy_path, fer2013_subset, tmp_path):
    from minicnn.solver import Solver
    model = models.shallow_net(seed=0)
    solver = Solver(model, fer2013_subset, update_rule="adam", optim_config={"learning_rate": 1e-3}, batch_size=32,
                    num_epochs=2, augment_flip=True, device="gpu", seed=0, num_train_samples=None, verbose=False)
    assert is_gpu_array(solver.X_train) and is_gpu_array(solver.y_val) and is_gpu_array(model.params["W1"])
    solver.train()
    steps_per_epoch = len(solver.loss_history) // 2
    first, last = np.mean(solver.loss_history[:steps_per_epoch]), np.mean(solver.loss_history[steps_per_epoch:])
    print(f"mean loss epoch 1 {first:.3f}, epoch 2 {last:.3f}; train accuracy {solver.train_acc_history}, "
          f"validation accuracy {solver.val_acc_history}")
    assert last < first
    assert solver.train_acc_history[-1] > 0.3           # chance is 1/7; always 'happy' scores 0.25
    assert max(solver.val_acc_history) > 1 / 7

    model.save(tmp_path / "shallow.npz")
    loaded = models.load(tmp_path / "shallow.npz")
    X_val = fer2013_subset["X_val"]
    assert_same_predictions(model.scores(X_val), loaded.scores(X_val))
