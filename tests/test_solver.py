"""Tests for solver/solver.py and solver/checkpoint.py, on tiny models written here (minicnn.layers is not used):
keyword checks, overfitting, shuffling and flips, per-epoch atomic checkpoints, exact resume, divergence, best params.
"""
import os
import stat

import numpy as np
import pytest

from minicnn.backend import get_array_module, gpu_available, to_numpy
from minicnn.solver import Solver, TrainingDiverged
from minicnn.solver.checkpoint import load_arrays, save_arrays


class TwoLayerNet:
    """affine - relu - affine - softmax, cs231n style, on inputs of any shape (N, ...) flattened to (N, D).

    It also keeps a non-trained `running_mean` of its inputs, updated in training mode only, as batch norm would,
    so that get_state / set_state have something to carry.
    """

    def __init__(self, input_dim, hidden_dim=10, num_classes=3, weight_scale=0.5, seed=0):
        rng = np.random.default_rng(seed)
        self.params = {
            "W1": weight_scale * rng.standard_normal((input_dim, hidden_dim)),
            "b1": np.zeros(hidden_dim),
            "W2": weight_scale * rng.standard_normal((hidden_dim, num_classes)),
            "b2": np.zeros(num_classes),
        }
        self.running_mean = np.zeros(input_dim)

    def get_state(self):
        return {"running_mean": self.running_mean}

    def set_state(self, state):
        self.running_mean = state["running_mean"]

    def loss(self, X, y=None):
        """X: (N, ...), y: (N,) or None. Returns scores (N, num_classes) when y is None, else (loss, grads)."""
        xp = get_array_module(X)
        W1, b1, W2, b2 = (self.params[name] for name in ("W1", "b1", "W2", "b2"))
        x = X.reshape(len(X), -1)
        hidden = xp.maximum(0, x @ W1 + b1)
        scores = hidden @ W2 + b2
        if y is None:
            return scores
        self.running_mean *= 0.9
        self.running_mean += 0.1 * x.mean(axis=0)
        shifted = scores - scores.max(axis=1, keepdims=True)
        probs = xp.exp(shifted) / xp.exp(shifted).sum(axis=1, keepdims=True)
        rows = xp.arange(len(x))
        loss = -xp.log(probs[rows, y]).mean()
        dscores = probs.copy()
        dscores[rows, y] -= 1
        dscores /= len(x)
        dhidden = (dscores @ W2.T) * (hidden > 0)
        grads = {"W1": x.T @ dhidden, "b1": dhidden.sum(axis=0), "W2": hidden.T @ dscores, "b2": dscores.sum(axis=0)}
        return loss, grads


class SpyModel:
    """Records the inputs of every training call; the first pixel of each input is the sample's id."""

    def __init__(self):
        self.params = {"w": np.zeros(1)}
        self.seen = []

    def loss(self, X, y=None):
        if y is None:
            return np.zeros((len(X), 2))
        self.seen.append(X.copy())
        return 0.0, {"w": np.zeros(1)}


class ScriptedModel:
    """With sgd at learning rate 1 and one batch per epoch, w counts the epochs: w = 1, 2, 3, ...
    It predicts class 1 only while w == 2, so the validation accuracy per epoch is 0, 1, 0, 0: best at epoch 2."""

    def __init__(self):
        self.params = {"w": np.zeros(1)}

    def loss(self, X, y=None):
        if y is None:
            scores = np.zeros((len(X), 2))
            scores[:, 1 if self.params["w"][0] == 2 else 0] = 1
            return scores
        return 1.0, {"w": -np.ones(1)}


class DivergingNet(TwoLayerNet):
    """A TwoLayerNet whose loss becomes NaN at training call number nan_at (1-based)."""

    def __init__(self, input_dim, nan_at):
        super().__init__(input_dim)
        self.calls, self.nan_at = 0, nan_at

    def loss(self, X, y=None):
        result = super().loss(X, y)
        if y is None:
            return result
        self.calls += 1
        return (float("nan") if self.calls == self.nan_at else result[0]), result[1]


def make_data(num_train=40, num_val=20, shape=(1, 2, 3), num_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "X_train": rng.standard_normal((num_train, *shape)), "y_train": rng.integers(num_classes, size=num_train),
        "X_val": rng.standard_normal((num_val, *shape)), "y_val": rng.integers(num_classes, size=num_val),
    }


def quiet_solver(model, data, **kwargs):
    return Solver(model, data, verbose=False, **kwargs)


# ------------------------------------------------------------------------------------------------ arguments


def test_unknown_keyword_argument_is_rejected():
    """Python names the misspelt keyword (cs231n's Solver raised ValueError; a keyword-only signature, TypeError)."""
    data = make_data()
    with pytest.raises(TypeError, match="unexpected keyword argument 'learing_rate'"):
        Solver(TwoLayerNet(6), data, learing_rate=1e-3)


def test_unknown_update_rule_is_rejected():
    with pytest.raises(ValueError, match="adamw"):
        Solver(TwoLayerNet(6), make_data(), update_rule="adamw")


def test_flip_needs_images():
    data = make_data(shape=(6,))
    with pytest.raises(ValueError, match=r"random_flip: x must be \(N, C, H, W\), got shape \(1, 6\)"):
        Solver(TwoLayerNet(6), data, augment_flip=True)


def test_augment_gets_every_training_minibatch_and_the_solvers_generator():
    seen = []

    def augment(X_batch, rng):
        seen.append((len(X_batch), rng))
        return X_batch

    solver = quiet_solver(TwoLayerNet(6), make_data(num_train=100), augment=augment, batch_size=40, num_epochs=1)
    seen.clear()                                    # the trial call on one sample made when the Solver was built
    solver.train()
    assert [size for size, _ in seen] == [40, 40, 20] and all(rng is solver.rng for _, rng in seen)
    with pytest.raises(ValueError, match="not both"):
        Solver(TwoLayerNet(6), make_data(), augment=augment, augment_flip=True)


def test_checkpoint_folder_and_cs231n_name(tmp_path):
    assert quiet_solver(TwoLayerNet(6), make_data(), checkpoint_path=tmp_path).checkpoint_path == \
        os.path.join(tmp_path, "checkpoint.npz")
    named = quiet_solver(TwoLayerNet(6), make_data(), checkpoint_name=str(tmp_path / "run.npz"))
    assert named.checkpoint_path == str(tmp_path / "run.npz")


# ------------------------------------------------------------------------------------------------ training


@pytest.mark.parametrize("update_rule, learning_rate", [("adam", 2e-2), ("sgd_momentum", 1e-1)])
def test_overfits_a_tiny_dataset(update_rule, learning_rate):
    data = make_data(num_train=20, shape=(8,), num_classes=4)
    data["X_val"], data["y_val"] = data["X_train"], data["y_train"]  # so that the best epoch is a perfect one
    model = TwoLayerNet(8, hidden_dim=40, num_classes=4)
    solver = quiet_solver(model, data, update_rule=update_rule, optim_config={"learning_rate": learning_rate},
                          batch_size=10, num_epochs=100, seed=0)
    solver.train()
    assert solver.check_accuracy(data["X_train"], data["y_train"]) == 1.0
    assert solver.loss_history[-1] < 0.1 * solver.loss_history[0]
    assert len(solver.loss_history) == 100 * 2 and len(solver.train_acc_history) == 100


def test_every_sample_once_per_epoch_in_a_new_order():
    num_train, batch_size = 23, 5
    data = make_data(num_train=num_train)
    data["X_train"][:, 0, 0, 0] = np.arange(num_train)  # the id
    model = SpyModel()
    quiet_solver(model, data, batch_size=batch_size, num_epochs=3, seed=0).train()
    batches_per_epoch = 5  # four of 5 samples and the remaining 3: the partial batch is kept
    assert len(model.seen) == 3 * batches_per_epoch
    assert [len(batch) for batch in model.seen[:batches_per_epoch]] == [5, 5, 5, 5, 3]
    orders = [np.concatenate(model.seen[i:i + batches_per_epoch])[:, 0, 0, 0] for i in range(0, 15, 5)]
    for order in orders:
        assert sorted(order.tolist()) == list(range(num_train))
    assert not np.array_equal(orders[0], orders[1])


def test_flip_mirrors_about_half_of_each_batch_and_leaves_the_data_alone():
    data = make_data(num_train=200, shape=(1, 2, 3))
    data["X_train"][:, 0, 0, 0] = np.arange(200) + 1000  # the id, at the left edge; mirrored it is at the right
    original = data["X_train"].copy()
    model = SpyModel()
    quiet_solver(model, data, batch_size=50, num_epochs=2, augment_flip=True, seed=0).train()
    flipped = 0
    for image in np.concatenate(model.seen):
        sample = original[int(max(image[0, 0, 0], image[0, 0, -1])) - 1000]
        assert np.array_equal(image, sample) or np.array_equal(image, sample[..., ::-1])
        flipped += not np.array_equal(image, sample)
    assert 150 < flipped < 250, f"{flipped} of 400 images flipped"
    np.testing.assert_array_equal(data["X_train"], original)


def test_check_accuracy_in_batches_and_on_a_subset():
    data = make_data(num_train=37)
    model = TwoLayerNet(6)
    solver = quiet_solver(model, data, seed=0)
    expected = np.mean(model.loss(data["X_train"]).argmax(axis=1) == data["y_train"])
    assert solver.check_accuracy(data["X_train"], data["y_train"], batch_size=5) == pytest.approx(expected)
    subset_acc = solver.check_accuracy(data["X_train"], data["y_train"], num_samples=10)
    assert subset_acc * 10 == pytest.approx(round(subset_acc * 10))


def test_best_params_are_restored():
    data = make_data(num_train=10, num_val=10)
    data["y_val"][:] = 1
    model = ScriptedModel()
    solver = quiet_solver(model, data, update_rule="sgd", optim_config={"learning_rate": 1.0}, batch_size=10,
                          num_epochs=4)
    solver.train()
    assert solver.val_acc_history == [0.0, 1.0, 0.0, 0.0]
    assert solver.best_val_acc == 1.0
    assert model.params["w"][0] == 2 and solver.best_params["w"][0] == 2
    assert model.params["w"] is not solver.best_params["w"], "the model must get a copy"


def test_lr_decay_per_epoch():
    solver = quiet_solver(TwoLayerNet(6), make_data(), update_rule="sgd", optim_config={"learning_rate": 1.0},
                          lr_decay=0.5, num_epochs=3, batch_size=40)
    solver.train()
    assert all(config["learning_rate"] == 0.125 for config in solver.optim_configs.values())


def test_verbose_prints_one_line_per_epoch(capsys):
    solver = Solver(TwoLayerNet(6), make_data(), num_epochs=2, batch_size=10, progress=False, print_every=2)
    solver.train()
    out = capsys.readouterr().out
    assert out.count("(Epoch") == 2 and "train acc" in out and "val acc" in out and "lr: 0.01" in out
    assert "(Iteration 2 / 8) loss:" in out


def test_progress_bar_shows_the_epoch_loss_and_train_accuracy(capsys):
    pytest.importorskip("tqdm")
    Solver(TwoLayerNet(6), make_data(), num_epochs=1, batch_size=10, progress=True, print_every=1).train()
    bar = capsys.readouterr().err
    assert "epoch 1/1" in bar and "loss=" in bar and "train_acc=" in bar, bar


def test_infinite_parameters_stop_training_even_without_checkpoints():
    def explode(w, dw, config):  # a finite loss, but an update that leaves inf behind
        return np.full_like(w, np.inf), config
    solver = quiet_solver(TwoLayerNet(6), make_data(), batch_size=40, num_epochs=2, update_rule=explode)
    with pytest.raises(TrainingDiverged, match=r"holds NaN or inf at epoch 1, iteration 1"):
        solver.train()
    assert solver.best_params == {} and solver.val_acc_history == []


@pytest.mark.parametrize("options, message", [
    (dict(batch_size=0), "batch_size must be >= 1"),
    (dict(data=make_data(num_val=0)), "the val split is empty"),
])
def test_bad_sizes_are_refused_before_training(options, message):
    data = options.pop("data", make_data())
    with pytest.raises(ValueError, match=message):
        Solver(TwoLayerNet(6), data, verbose=False, **options)


def test_nan_loss_stops_training_and_keeps_the_last_checkpoint(tmp_path):
    path = tmp_path / "run.npz"
    data = make_data(num_train=40)
    model = DivergingNet(6, nan_at=6)  # 4 batches per epoch: the 2nd batch of epoch 2
    after_epoch = {}
    solver = quiet_solver(model, data, batch_size=10, num_epochs=3, checkpoint_path=path, seed=0,
                          on_epoch_end=lambda s: after_epoch.update(bytes=path.read_bytes()))
    with pytest.raises(TrainingDiverged, match=r"epoch 2, iteration 6 \(learning rate 0.01\)\. Lower") as error:
        solver.train()
    assert isinstance(error.value, RuntimeError)
    assert (error.value.epoch, error.value.iteration, error.value.learning_rate) == (2, 6, 0.01)
    assert path.read_bytes() == after_epoch["bytes"]
    assert os.listdir(tmp_path) == ["run.npz"]
    assert int(load_arrays(path)["epoch"]) == 1


# ------------------------------------------------------------------------------------------------ checkpoints


def test_checkpoint_written_atomically_every_epoch_keeping_the_previous_one(tmp_path):
    path = tmp_path / "run.npz"
    seen = []

    def look(solver):
        files = sorted(os.listdir(tmp_path))
        assert files == ["run.npz"] + (["run.prev.npz"] if solver.epoch > 1 else []), "no temporary file may be left"
        epochs = [int(load_arrays(tmp_path / name)["epoch"]) for name in files]
        seen.append((epochs, len(load_arrays(path)["val_acc_history"]), solver.checkpoint_epoch))

    quiet_solver(TwoLayerNet(6), make_data(), batch_size=10, num_epochs=3, checkpoint_path=path,
                 update_rule="adam", on_epoch_end=look).train()
    assert seen == [([1], 1, 1), ([2, 1], 2, 2), ([3, 2], 3, 3)]
    arrays = load_arrays(path)
    assert {"param/W1", "state/running_mean", "best/W1", "best_state/running_mean", "optim/W1/m",
            "optim/W1/t", "optim/W1/learning_rate", "rng_state", "iteration"} <= arrays.keys()


def test_a_checkpoint_gets_the_usual_permissions_of_a_new_file(tmp_path):
    quiet_solver(TwoLayerNet(6), make_data(), batch_size=10, num_epochs=1, checkpoint_path=tmp_path / "run.npz").train()
    (tmp_path / "plain").write_bytes(b"")  # a file made the ordinary way, under the same umask
    assert stat.S_IMODE((tmp_path / "run.npz").stat().st_mode) == stat.S_IMODE((tmp_path / "plain").stat().st_mode)


def test_a_failed_write_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "run.npz"
    save_arrays(path, {"epoch": 1})
    before = path.read_bytes()

    def broken_savez(file, **arrays):
        file.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        save_arrays(path, {"epoch": 2})
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["run.npz"]


def test_objects_are_refused_in_a_checkpoint(tmp_path):
    with pytest.raises(ValueError, match="'note'"):
        save_arrays(tmp_path / "run.npz", {"note": None})


class Interrupted(Exception):
    pass


def stop_after(epoch):
    def on_epoch_end(solver):
        if solver.epoch == epoch:
            raise Interrupted
    return on_epoch_end


def assert_same_training(ours, reference):
    for name in reference.model.params:
        np.testing.assert_array_equal(ours.model.params[name], reference.model.params[name], err_msg=name)
        np.testing.assert_array_equal(ours.best_params[name], reference.best_params[name], err_msg=name)
        np.testing.assert_array_equal(ours.optim_configs[name]["m"], reference.optim_configs[name]["m"])
        assert ours.optim_configs[name]["t"] == reference.optim_configs[name]["t"]
    np.testing.assert_array_equal(ours.model.running_mean, reference.model.running_mean)
    assert ours.loss_history == reference.loss_history
    assert ours.train_acc_history == reference.train_acc_history
    assert ours.val_acc_history == reference.val_acc_history
    assert (ours.best_val_acc, ours.epoch, ours.iteration) == (reference.best_val_acc, 4, reference.iteration)
    assert ours.learning_rate() == reference.learning_rate()


def snapshot_into(snapshots):
    """An on_epoch_end that keeps copies of the live parameters and model state (train() later swaps in the best)."""
    def on_epoch_end(solver):
        live = {name: w.copy() for name, w in solver.model.params.items()}
        snapshots[solver.epoch] = live, solver.model.running_mean.copy()
    return on_epoch_end


def test_resume_gives_the_same_result_as_an_uninterrupted_run(tmp_path):
    data = make_data(num_train=45)
    options = dict(update_rule="adam", optim_config={"learning_rate": 5e-2}, lr_decay=0.8, batch_size=10,
                   num_train_samples=20, num_val_samples=15, augment_flip=True, seed=7)
    reference_snapshots, resumed_snapshots = {}, {}
    reference = quiet_solver(TwoLayerNet(6), data, num_epochs=4, on_epoch_end=snapshot_into(reference_snapshots),
                             **options)
    reference.train()

    path = tmp_path / "run.npz"
    killed = quiet_solver(TwoLayerNet(6), data, num_epochs=4, checkpoint_path=path, on_epoch_end=stop_after(2),
                          **options)
    with pytest.raises(Interrupted):
        killed.train()
    resumed = quiet_solver(TwoLayerNet(6, seed=99), data, num_epochs=4, resume=path,
                           on_epoch_end=snapshot_into(resumed_snapshots), **options)
    assert resumed.epoch == 2
    resumed.train()
    assert_same_training(resumed, reference)
    for epoch in (3, 4):
        params, running_mean = resumed_snapshots[epoch]
        reference_params, reference_mean = reference_snapshots[epoch]
        for name in params:
            np.testing.assert_array_equal(params[name], reference_params[name], err_msg=f"{name} after epoch {epoch}")
        np.testing.assert_array_equal(running_mean, reference_mean, err_msg=f"running_mean after epoch {epoch}")


def corrupt(path, edit):
    arrays = load_arrays(path)
    edit(arrays)
    save_arrays(path, arrays)


@pytest.mark.parametrize("edit, message", [
    (lambda a: a.update({"param/W9": a.pop("param/W1")}), "'param/W1' is missing"),
    (lambda a: a.update({"param/W1": a["param/W1"][:, :2]}), r"'param/W1' has shape \(6, 2\).*\(6, 10\)"),
    (lambda a: a.update({"state/extra": np.zeros(2)}), "unexpected key 'state/extra'"),
    (lambda a: a.update({"optim/W2/m": np.zeros(3)}), r"'optim/W2/m' has shape \(3,\)"),
    (lambda a: [a.pop(key) for key in list(a) if key.startswith("optim/b1/")], "'optim/b1/...' are missing"),
    (lambda a: a.pop("epoch"), "'epoch' is missing"),
    (lambda a: a.update({"junk": np.zeros(1)}), "unexpected key 'junk'"),
])
def test_a_corrupt_checkpoint_is_refused_by_name(tmp_path, edit, message):
    path = tmp_path / "run.npz"
    quiet_solver(TwoLayerNet(6), make_data(), num_epochs=1, update_rule="adam", checkpoint_path=path).train()
    corrupt(path, edit)
    model = TwoLayerNet(6, seed=5)
    before = {name: w.copy() for name, w in model.params.items()}
    with pytest.raises(ValueError, match=message):
        quiet_solver(model, make_data(), update_rule="adam", resume=path)
    for name in before:
        np.testing.assert_array_equal(model.params[name], before[name], err_msg="a refused checkpoint changed " + name)


def test_device_cpu_keeps_numpy():
    solver = quiet_solver(TwoLayerNet(6), make_data(), num_epochs=1, device="cpu")
    solver.train()
    assert type(solver.X_train) is np.ndarray and type(solver.model.params["W1"]) is np.ndarray


@pytest.mark.gpu
@pytest.mark.skipif(not gpu_available(), reason="needs cupy and a CUDA device")
def test_gpu_training_checkpoint_and_resume_match_the_cpu(tmp_path):
    data = make_data(num_train=45)
    options = dict(update_rule="adam", optim_config={"learning_rate": 5e-2}, batch_size=10, augment_flip=True,
                   num_epochs=4, seed=7)
    on_cpu = quiet_solver(TwoLayerNet(6), data, device="cpu", **options)
    on_cpu.train()
    path = tmp_path / "run.npz"
    killed = quiet_solver(TwoLayerNet(6), data, device="gpu", checkpoint_path=path, on_epoch_end=stop_after(2),
                          **options)
    with pytest.raises(Interrupted):
        killed.train()
    on_gpu = quiet_solver(TwoLayerNet(6), data, device="gpu", resume=path, **options)
    on_gpu.train()
    assert not isinstance(on_gpu.model.params["W1"], np.ndarray)
    for name in on_cpu.model.params:
        np.testing.assert_allclose(to_numpy(on_gpu.model.params[name]), on_cpu.model.params[name], rtol=1e-5,
                                   atol=1e-7, err_msg=name)
    np.testing.assert_allclose(on_gpu.loss_history, on_cpu.loss_history, rtol=1e-5)
