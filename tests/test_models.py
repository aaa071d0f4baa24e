"""ConvNet: whole-model gradient checks, the paper's sanity checks, presets, saving and loading, resuming."""
import numpy as np
import pytest

from minicnn import models
from minicnn.files import load_arrays, save_arrays
from minicnn.gradient_check import GRADIENT_TOLERANCE, eval_numerical_gradient, gradient_error
from minicnn.models import AffineLayer, ConvLayer, ConvNet
from minicnn.solver import Solver

SMALL = dict(conv_layers=[ConvLayer(3, 3, dropout=0.25, pool=False), ConvLayer(4, 3, dropout=0.25)],
             affine_layers=[AffineLayer(5, dropout=0.5)], input_dim=(1, 6, 8))


def small_model(**overrides):
    return ConvNet(**{**SMALL, "dtype": np.float64, "seed": 0, "weight_scale": 0.5, **overrides})


def small_inputs(model, N=4, seed=1):
    rng = np.random.default_rng(seed)
    images = rng.standard_normal((N,) + model.architecture.input_dim)
    if model.architecture.hog_dim:
        return (images, rng.standard_normal((N, model.architecture.hog_dim))), rng.integers(0, 7, N)
    return images, rng.integers(0, 7, N)


@pytest.mark.parametrize("hog_dim", [0, 6], ids=["shallow-like", "hybrid"])
def test_whole_model_gradients_match_numerical(hog_dim):
    model = small_model(hog_dim=hog_dim, reg=0.1)
    X, y = small_inputs(model)

    def loss_of_params():
        model.training_passes = 0               # the same dropout masks in every evaluation
        return model.loss(X, y)

    _, grads = loss_of_params()
    for name, w in model.params.items():
        numerical = eval_numerical_gradient(lambda _: loss_of_params()[0], w, h=1e-6)
        error = gradient_error(grads[name], numerical)
        print(f"{name}: error {error:.2e} of the gradient's scale")
        assert error < GRADIENT_TOLERANCE, name


def test_initial_loss_is_log_of_seven_classes():
    model = models.shallow_net(seed=0)
    X = np.random.default_rng(0).standard_normal((32, 1, 48, 48)).astype(np.float32)
    loss, _ = model.loss(X, np.arange(32) % 7)
    print(f"initial loss {loss:.4f}, ln 7 = {np.log(7):.4f}")
    assert abs(loss - np.log(7)) < 0.05


def test_overfits_a_tiny_training_set():
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((20, 1, 6, 8)).astype(np.float32), rng.integers(0, 7, 20)
    model = ConvNet([ConvLayer(8, 3)], [AffineLayer(32)], input_dim=(1, 6, 8), seed=0)
    solver = Solver(model, {"X_train": X, "y_train": y, "X_val": X, "y_val": y}, update_rule="adam",
                    optim_config={"learning_rate": 1e-2}, batch_size=10, num_epochs=40, verbose=False, seed=0)
    solver.train()
    assert solver.check_accuracy(X, y) == 1.0


def test_presets_build_the_papers_networks():
    deep = models.deep_net()
    assert [deep.params[f"W{i}"].shape for i in range(1, 8)] == [
        (64, 1, 3, 3), (128, 64, 5, 5), (512, 128, 3, 3), (512, 512, 3, 3), (512 * 3 * 3, 256), (256, 512), (512, 7)]
    assert all(f"gamma{i}" in deep.params for i in range(1, 7)) and "gamma7" not in deep.params
    shallow = models.shallow_net()
    assert [shallow.params[f"W{i}"].shape for i in range(1, 4)] == [
        (32, 1, 3, 3), (64, 32, 3, 3), (64 * 24 * 24, 512)]
    assert shallow.params["W4"].shape == (512, 7)
    assert models.deep_net(hog=True).params["W5"].shape[0] == 512 * 3 * 3 + 900


def test_he_initialisation_scales_with_fan_in():
    model = models.deep_net(seed=0)
    np.testing.assert_allclose(model.params["W2"].std(), np.sqrt(2 / (64 * 25)), rtol=0.01)
    assert model.params["W2"].dtype == np.float32


def test_regularisation_adds_half_reg_sum_of_squared_weights():
    X, y = small_inputs(small_model())
    plain, regularised = small_model(), small_model(reg=0.3)
    weights = sum((w ** 2).sum() for name, w in plain.params.items() if name.startswith("W"))
    difference = regularised.loss(X, y)[0] - plain.loss(X, y)[0]
    np.testing.assert_allclose(difference, 0.5 * 0.3 * weights, rtol=1e-10)


@pytest.mark.parametrize("hog_dim", [0, 6])
def test_save_and_load_give_identical_scores(tmp_path, hog_dim):
    model = small_model(hog_dim=hog_dim)
    X, y = small_inputs(model, N=6)
    model.loss(X, y)                            # fills the batch-norm running statistics
    model.mean_image = np.full((6, 8), 0.5)
    model.save(tmp_path / "model.npz")
    loaded = models.load(tmp_path / "model.npz")
    np.testing.assert_array_equal(loaded.loss(X), model.loss(X))
    np.testing.assert_array_equal(loaded.mean_image, model.mean_image)
    np.load(tmp_path / "model.npz", allow_pickle=False)


def test_load_refuses_a_file_that_is_not_a_model(tmp_path):
    np.savez(tmp_path / "other.npz", W1=np.zeros(3))
    with pytest.raises(ValueError, match="not a minicnn model file"):
        models.load(tmp_path / "other.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match="text.npz: not a minicnn model file"):
        models.load(tmp_path / "text.npz")
    with pytest.raises(ValueError, match="missing.npz: no such model file"):
        models.load(tmp_path / "missing.npz")


def edited_model_file(tmp_path, edit):
    """The path of a saved small model whose arrays went through edit(dict) before being written back."""
    small_model().save(tmp_path / "model.npz")
    arrays = load_arrays(tmp_path / "model.npz")
    edit(arrays)
    save_arrays(tmp_path / "edited.npz", arrays)     # with a checksum of the edited arrays: it passes that check
    return tmp_path / "edited.npz"


@pytest.mark.parametrize("edit, message", [
    (lambda a: a.update(architecture=np.str_("{not json")), "the architecture of the model cannot be read"),
    (lambda a: a.pop("param/W2"), r"'param/W2' is missing or has the wrong shape"),
    (lambda a: a.update({"param/W9": np.zeros(2)}), r"'param/W9' does not belong"),
    (lambda a: a.update({"state/running_mean1": np.zeros(5)}), r"'state/running_mean1' is missing or has the wrong"),
    (lambda a: a.update(mean_image=np.zeros((48, 48))), r"the mean image is \(48, 48\), but the model takes"),
])
def test_load_names_what_is_wrong_inside_a_model_file(tmp_path, edit, message):
    with pytest.raises(ValueError, match=message):
        models.load(edited_model_file(tmp_path, edit))


def test_wrong_inputs_are_named():
    model = small_model()
    with pytest.raises(ValueError, match=r"images must be \(N, 1, 6, 8\), got \(2, 1, 8, 6\)"):
        model.loss(np.zeros((2, 1, 8, 6)))
    with pytest.raises(ValueError, match="hybrid ConvNet takes X = "):
        small_model(hog_dim=6).loss(np.zeros((2, 1, 6, 8)))
    with pytest.raises(ValueError, match="conv layer 1: 2x2 pooling needs an even input"):
        ConvNet([ConvLayer(2, 3)], input_dim=(1, 7, 7))


def test_resumed_training_continues_like_an_uninterrupted_run(tmp_path):
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((30, 1, 6, 8)).astype(np.float32), rng.integers(0, 7, 30)
    data = {"X_train": X, "y_train": y, "X_val": X[:10], "y_val": y[:10]}
    settings = dict(update_rule="adam", batch_size=8, verbose=False, seed=4)

    def params_after_last_epoch(model, **options):
        """The params as the last epoch left them: train() then puts back the best epoch's, which could be one
        that came from the checkpoint and so hide a resumed epoch that went differently."""
        last = {}
        Solver(model, data, on_epoch_end=lambda solver: last.update(
            {name: w.copy() for name, w in solver.model.params.items()}), **settings, **options).train()
        return last

    whole = params_after_last_epoch(ConvNet(**SMALL, seed=0), num_epochs=3)
    params_after_last_epoch(ConvNet(**SMALL, seed=0), num_epochs=2, checkpoint_path=tmp_path / "run.npz")
    # Other initial weights and another dropout seed: everything must come from the file.
    resumed = params_after_last_epoch(ConvNet(**SMALL, seed=5), num_epochs=3, resume=tmp_path / "run.npz")
    for name in whole:
        np.testing.assert_array_equal(resumed[name], whole[name], err_msg=name)
