"""The Solver: trains a cs231n-style model by minibatch gradient descent, keeps its histories, writes checkpoints.

The Solver knows no layer. A model is any object with
  model.params          dict name -> array (numpy or cupy); the Solver updates these arrays.
  model.loss(X, y)      training mode: returns (loss, grads), grads[name] shaped like params[name].
  model.loss(X)         test mode (no dropout, batch-norm running statistics): returns scores (N, num_classes).
and, optionally, extra arrays that are not trained by gradient descent but belong in a checkpoint (batch-norm
running statistics, say):
  model.get_state()     dict name -> array;   model.set_state(dict)   puts such a dict back.

Example:
    data = {"X_train": X_train, "y_train": y_train, "X_val": X_val, "y_val": y_val}
    solver = Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-3}, lr_decay=0.95,
                    batch_size=128, num_epochs=20, augment_flip=True, seed=0, checkpoint_path="runs/last.npz")
    solver.train()          # model.params now hold the parameters of the best epoch by validation accuracy
    # a killed run continues with: Solver(model, data, ..., resume="runs/last.npz").train()
"""
import json
import math
import os
import time

import numpy as np

try:
    from tqdm import tqdm
except ImportError:  # a bare GPU machine may lack tqdm; training then prints per-epoch lines only
    tqdm = None

from minicnn.backend import get_array_module, is_gpu_array, to_device
from minicnn.data import random_flip
from minicnn.solver import optim
from minicnn.solver.checkpoint import check_same_shapes, group, load_arrays, save_arrays

# Checkpoint entries that are not grouped under a prefix ('param/', 'state/', 'best/', 'best_state/', 'optim/').
CHECKPOINT_SCALARS = ("epoch", "iteration", "best_val_acc", "loss_history", "train_acc_history",
                      "val_acc_history", "rng_state")
CHECKPOINT_PREFIXES = ("param/", "state/", "best/", "best_state/", "optim/")


class TrainingDiverged(RuntimeError):
    """The loss (or a parameter) became NaN or infinite. Attributes: epoch, iteration, learning_rate (1-based)."""

    def __init__(self, what, epoch, iteration, learning_rate):
        self.epoch, self.iteration, self.learning_rate = epoch, iteration, learning_rate
        super().__init__(f"training diverged: {what} at epoch {epoch}, iteration {iteration} (learning rate "
                         f"{learning_rate}). Lower the learning rate (try 10x smaller) and check that the inputs are "
                         "normalised; a checkpoint of an earlier epoch, if one was written, is left as it was.")


class Solver:
    """Trains model on data = {'X_train', 'y_train', 'X_val', 'y_val'} (X: (N, ...) inputs, y: (N,) int labels).

    Keyword arguments (cs231n's, then ours):
      update_rule        'sgd', 'sgd_momentum', 'rmsprop', 'adam' (see solver/optim.py) or an update function.
      optim_config       dict of hyper-parameters for the update rule, e.g. {'learning_rate': 1e-3}.
      lr_decay           the learning rate is multiplied by this after every epoch (default 1.0: constant).
      batch_size         samples per gradient step (default 100).
      num_epochs         shuffled passes over the training set (default 10).
      num_train_samples  random training samples used for the per-epoch train accuracy (default 1000; None: all).
      num_val_samples    random validation samples used for the val accuracy (default None: all).
      print_every        iterations between progress updates (default 10).
      verbose            print one line per epoch and show the progress bar (default True).
      checkpoint_name    cs231n's name for checkpoint_path, accepted as an alias.
      augment_flip       mirror each training image left-right with probability 1/2; needs X: (N, C, H, W).
      progress           show a tqdm bar per epoch with the loss and the running train accuracy (default True).
      seed               seeds the Solver's random numbers: shuffling, flips and accuracy subsets (default None).
                         Dropout masks are drawn by the model, which has its own seed.
      checkpoint_path    file (or folder, then 'checkpoint.npz' in it) rewritten atomically after every epoch.
      resume             a checkpoint to continue from: params, model state, optimizer state, histories and the
                         random-number state (which overrides seed) come from it, and train() goes on with the
                         epoch after the saved one.
      device             None (leave data and model where they are), 'cpu', 'gpu' or 'auto': copy the data and
                         the model's params (and state) to that device once, before training.
      on_epoch_end       a function called as on_epoch_end(solver) after every epoch (plots, logs).
    """

    def __init__(self, model, data, **kwargs):
        self.model = model
        self.update_rule = optim.get_update_rule(kwargs.pop("update_rule", "sgd"))
        self.optim_config = dict(kwargs.pop("optim_config", None) or {})
        self.lr_decay = kwargs.pop("lr_decay", 1.0)
        self.batch_size = kwargs.pop("batch_size", 100)
        self.num_epochs = kwargs.pop("num_epochs", 10)
        self.num_train_samples = kwargs.pop("num_train_samples", 1000)
        self.num_val_samples = kwargs.pop("num_val_samples", None)
        self.print_every = kwargs.pop("print_every", 10)
        self.verbose = kwargs.pop("verbose", True)
        checkpoint_name = kwargs.pop("checkpoint_name", None)
        self.augment_flip = kwargs.pop("augment_flip", False)
        self.progress = kwargs.pop("progress", True)
        self.rng = np.random.default_rng(kwargs.pop("seed", None))
        self.checkpoint_path = _checkpoint_file(kwargs.pop("checkpoint_path", None), checkpoint_name)
        resume = kwargs.pop("resume", None)
        self.device = kwargs.pop("device", None)
        self.on_epoch_end = kwargs.pop("on_epoch_end", None)
        if kwargs:
            raise ValueError(f"Solver: unrecognized keyword arguments {sorted(kwargs)}")
        if int(self.batch_size) < 1 or int(self.num_epochs) < 0:
            raise ValueError(f"Solver: batch_size must be >= 1 and num_epochs >= 0, got {self.batch_size} and "
                             f"{self.num_epochs}")

        self._set_data(data)
        self._move_model()
        self._reset()
        if resume is not None:
            self.load_checkpoint(resume)

    def _set_data(self, data):
        """Check the four splits and keep them on self.device (copied there once, not per minibatch)."""
        for split in ("train", "val"):
            X, y = data[f"X_{split}"], data[f"y_{split}"]
            if count_samples(X) != len(y):
                raise ValueError(f"data: X_{split} has {count_samples(X)} samples but y_{split} has {len(y)} labels")
            if len(y) == 0:
                raise ValueError(f"data: the {split} split is empty (X_{split} has no samples)")
        self.X_train, self.y_train = self._to_device(data["X_train"]), self._to_device(data["y_train"])
        self.X_val, self.y_val = self._to_device(data["X_val"]), self._to_device(data["y_val"])
        if self.augment_flip and (isinstance(self.X_train, tuple) or self.X_train.ndim != 4):
            # Features computed from the unflipped images (HOG, say) would no longer match a flipped image.
            raise ValueError("augment_flip needs X_train to be images (N, C, H, W) alone, not "
                             f"{_describe(self.X_train)}")

    def _to_device(self, x):
        if self.device is None:
            return x
        if isinstance(x, tuple):
            return tuple(to_device(part, self.device) for part in x)
        return to_device(x, self.device)

    def _move_model(self):
        """Copy the model's params and state to self.device (a no-op for arrays already there)."""
        if self.device is None:
            return
        for name, w in self.model.params.items():
            self.model.params[name] = self._to_device(w)
        if hasattr(self.model, "get_state"):
            self.model.set_state({name: self._to_device(a) for name, a in self.model.get_state().items()})

    def _reset(self):
        """Forget all training progress: histories, best parameters, optimizer state."""
        self.epoch = 0
        self.iteration = 0
        self.best_val_acc = 0.0
        self.best_params = {}
        self.best_state = {}
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        # Every parameter gets its own config: the update rules keep per-parameter state (velocity, m, v) in it.
        self.optim_configs = {name: dict(self.optim_config) for name in self.model.params}

    def _model_state(self):
        """The model's non-trained arrays (model.get_state()), or {} for a model without any."""
        return self.model.get_state() if hasattr(self.model, "get_state") else {}

    def learning_rate(self):
        """The current learning rate (lr_decay keeps it equal for all parameters); None until the update rule has
        filled in its default, when optim_config names none."""
        first_config = next(iter(self.optim_configs.values()), {})
        return first_config.get("learning_rate")

    # ---------------------------------------------------------------------------------------------- training

    def step(self, X_batch, y_batch):
        """One gradient step on one minibatch: loss and gradients, then every parameter updated. Returns the loss.

        X_batch: (B, ...) inputs and y_batch: (B,) labels, on the model's device.
        A NaN or infinite loss raises TrainingDiverged before any parameter is changed.
        """
        loss, grads = self.model.loss(X_batch, y_batch)
        loss = float(loss)
        if not math.isfinite(loss):
            raise TrainingDiverged(f"the loss is {loss}", self.epoch + 1, self.iteration + 1, self.learning_rate())
        for name in self.model.params:
            self.model.params[name], self.optim_configs[name] = self.update_rule(
                self.model.params[name], grads[name], self.optim_configs[name])
        self.iteration += 1
        self.loss_history.append(loss)
        return loss

    def train(self):
        """Train from epoch self.epoch + 1 to num_epochs, then put the best parameters (by validation accuracy)
        into the model."""
        for _ in range(self.epoch, self.num_epochs):
            self._train_one_epoch()
        self._restore_best()

    def _train_one_epoch(self):
        """One shuffled pass over the training set, then the end-of-epoch bookkeeping."""
        started = time.perf_counter()
        bar = _progress_bar(self._iterations_per_epoch(), f"epoch {self.epoch + 1}/{self.num_epochs}",
                            enabled=self.verbose and self.progress)
        losses, batch_accuracies = [], []
        for X_batch, y_batch in self._minibatches():
            losses.append(self.step(X_batch, y_batch))
            bar.update(1)
            if self.verbose and self.iteration % self.print_every == 0:
                self._show_progress(bar, losses, batch_accuracies, X_batch, y_batch)
        bar.close()
        self._end_epoch(float(np.mean(losses)), started)

    def _iterations_per_epoch(self):
        return math.ceil(count_samples(self.X_train) / self.batch_size)

    def _minibatches(self):
        """Yield (X_batch, y_batch) pairs that together hold every training sample once, in a fresh random order.

        The last batch keeps the N % batch_size left-over samples rather than dropping them: otherwise those
        samples, different ones every epoch, would silently go unused.
        """
        xp = get_array_module(self.y_train)
        order = xp.asarray(self.rng.permutation(count_samples(self.X_train)))  # one copy to the device per epoch
        for start in range(0, len(order), self.batch_size):
            index = order[start:start + self.batch_size]
            X_batch, y_batch = take(self.X_train, index), self.y_train[index]
            if self.augment_flip:
                # A face mirrored is still a face with the same expression: twice the variety of training images.
                X_batch = random_flip(X_batch, self.rng)
            yield X_batch, y_batch

    def _show_progress(self, bar, losses, batch_accuracies, X_batch, y_batch):
        """Show the running loss and train accuracy on the bar or, with the bar off, print the latest loss.

        The train accuracy is measured on every print_every-th minibatch only, since it costs a forward pass.
        """
        if bar.disable:
            total = self.num_epochs * self._iterations_per_epoch()
            print(f"(Iteration {self.iteration} / {total}) loss: {losses[-1]:.4f}")
            return
        batch_accuracies.append(self._count_correct(X_batch, y_batch) / len(y_batch))
        bar.set_postfix(loss=f"{np.mean(losses):.4f}", train_acc=f"{np.mean(batch_accuracies):.3f}")

    def _end_epoch(self, epoch_loss, started):
        """Check the parameters, measure the accuracies, remember the best parameters, decay the learning rate,
        checkpoint, report."""
        self._check_params_finite()
        train_acc = self.check_accuracy(self.X_train, self.y_train, num_samples=self.num_train_samples)
        val_acc = self.check_accuracy(self.X_val, self.y_val, num_samples=self.num_val_samples)
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        if val_acc > self.best_val_acc or not self.best_params:
            self._remember_best(val_acc)
        learning_rate = self.learning_rate()
        self.epoch += 1
        self._decay_learning_rate()
        if self.checkpoint_path is not None:
            self.save_checkpoint(self.checkpoint_path)
        if self.verbose:
            print(f"(Epoch {self.epoch} / {self.num_epochs}) train acc: {train_acc:.3f}; val acc: {val_acc:.3f}; "
                  f"loss: {epoch_loss:.4f}; lr: {_format_rate(learning_rate)}; {time.perf_counter() - started:.1f} s")
        if self.on_epoch_end is not None:
            self.on_epoch_end(self)

    def _remember_best(self, val_acc):
        """Copy the current parameters (and model state): the update rules change the live arrays in place."""
        self.best_val_acc = val_acc
        self.best_params = {name: w.copy() for name, w in self.model.params.items()}
        self.best_state = {name: a.copy() for name, a in self._model_state().items()}

    def _restore_best(self):
        """Put copies of the best parameters (and the model state of that epoch) into the model."""
        for name, w in self.best_params.items():
            self.model.params[name] = w.copy()
        if self.best_state:
            self.model.set_state({name: a.copy() for name, a in self.best_state.items()})

    def _decay_learning_rate(self):
        for config in self.optim_configs.values():
            if "learning_rate" in config:
                config["learning_rate"] *= self.lr_decay

    def _check_params_finite(self):
        """Stop before NaN or inf parameters (a finite loss with an infinite gradient can make them) are scored,
        kept as the best or checkpointed."""
        for name, w in self.model.params.items():
            if not bool(get_array_module(w).isfinite(w).all()):
                raise TrainingDiverged(f"parameter {name!r} holds NaN or inf", self.epoch + 1, self.iteration,
                                       self.learning_rate())

    # ---------------------------------------------------------------------------------------------- evaluation

    def check_accuracy(self, X, y, num_samples=None, batch_size=None):
        """The fraction of samples whose highest score is their label, with the model in test mode.

        X: (N, ...) inputs and y: (N,) labels. num_samples: score a random subset of that size instead of all N
        (None: all). batch_size: samples per forward pass (default: the training batch size), to bound memory.
        """
        total = count_samples(X)
        if num_samples is not None and num_samples < total:
            xp = get_array_module(y)
            subset = xp.asarray(self.rng.choice(total, num_samples, replace=False))
            X, y = take(X, subset), y[subset]
            total = num_samples
        batch_size = batch_size or self.batch_size
        correct = sum(self._count_correct(take(X, slice(start, start + batch_size)), y[start:start + batch_size])
                      for start in range(0, total, batch_size))
        return correct / total

    def _count_correct(self, X_batch, y_batch):
        """How many samples of X_batch the model labels y_batch (compared where the scores are: one number travels)."""
        scores = self.model.loss(self._to_device(X_batch))
        xp = get_array_module(scores)
        return int((xp.argmax(scores, axis=1) == xp.asarray(y_batch)).sum())

    # ---------------------------------------------------------------------------------------------- checkpoints

    def save_checkpoint(self, path):
        """Write all that train() needs to continue later to the .npz file at path, atomically.

        Keys: param/<name>, state/<name> (model.get_state()), best/<name>, best_state/<name>,
        optim/<param>/<key> (learning rate, moments, step count), epoch, iteration, best_val_acc, the three
        histories, and rng_state (the Generator's state as JSON). Readable with np.load(allow_pickle=False).
        """
        arrays = {
            "epoch": self.epoch,
            "iteration": self.iteration,
            "best_val_acc": self.best_val_acc,
            "loss_history": np.array(self.loss_history, dtype=np.float64),
            "train_acc_history": np.array(self.train_acc_history, dtype=np.float64),
            "val_acc_history": np.array(self.val_acc_history, dtype=np.float64),
            "rng_state": np.str_(json.dumps(self.rng.bit_generator.state)),
        }
        arrays.update(_prefixed("param/", self.model.params))
        arrays.update(_prefixed("state/", self._model_state()))
        arrays.update(_prefixed("best/", self.best_params))
        arrays.update(_prefixed("best_state/", self.best_state))
        for name, config in self.optim_configs.items():
            arrays.update(_prefixed(f"optim/{name}/", config))
        save_arrays(path, arrays)

    def load_checkpoint(self, path):
        """Restore the model and this Solver from a file written by save_checkpoint.

        train() then goes on with the epoch after the saved one and ends where an uninterrupted run with the same
        seed would. Everything is checked before anything changes: a missing, unexpected or wrongly shaped key
        raises ValueError naming it and leaves the model and the Solver as they were.
        """
        arrays = load_arrays(path)
        self._check_checkpoint(arrays, path)
        params, state = self.model.params, self._model_state()
        for name, value in group(arrays, "param/").items():
            params[name] = _like(value, params[name])
        if state:
            self.model.set_state({name: _like(value, state[name]) for name, value in group(arrays, "state/").items()})
        self.best_params = {name: _like(value, params[name]) for name, value in group(arrays, "best/").items()}
        self.best_state = {name: _like(value, state[name]) for name, value in group(arrays, "best_state/").items()}
        for name, config in _optim_groups(arrays).items():
            self.optim_configs[name] = {key: value.item() if value.ndim == 0 else _like(value, params[name])
                                        for key, value in config.items()}
        self.epoch = int(arrays["epoch"])
        self.iteration = int(arrays["iteration"])
        self.best_val_acc = float(arrays["best_val_acc"])
        self.loss_history = arrays["loss_history"].tolist()
        self.train_acc_history = arrays["train_acc_history"].tolist()
        self.val_acc_history = arrays["val_acc_history"].tolist()
        self.rng.bit_generator.state = json.loads(str(arrays["rng_state"]))

    def _check_checkpoint(self, arrays, path):
        """Raise ValueError unless arrays (a loaded checkpoint) fit this model, naming the first key that does not."""
        for key in CHECKPOINT_SCALARS:
            if key not in arrays:
                raise ValueError(f"{path}: key {key!r} is missing; is this a checkpoint written by Solver?")
        for key in arrays:
            if key not in CHECKPOINT_SCALARS and not key.startswith(CHECKPOINT_PREFIXES):
                raise ValueError(f"{path}: unexpected key {key!r}")
        params, state = self.model.params, self._model_state()
        check_same_shapes(group(arrays, "param/"), params, "param/", path)
        check_same_shapes(group(arrays, "state/"), state, "state/", path)
        # The best-so-far groups are empty in a checkpoint saved before the first epoch ended.
        for prefix, expected in (("best/", params), ("best_state/", state)):
            if group(arrays, prefix):
                check_same_shapes(group(arrays, prefix), expected, prefix, path)
        self._check_optim_groups(_optim_groups(arrays), path, int(arrays["iteration"]) > 0)

    def _check_optim_groups(self, optim_groups, path, after_first_step):
        """Every optimizer state array must be shaped like its parameter; after the first step every parameter
        has a config (before it, a config can be empty and so leave no key in the file)."""
        params = self.model.params
        unexpected = sorted(optim_groups.keys() - params.keys())
        if unexpected:
            raise ValueError(f"{path}: unexpected key 'optim/{unexpected[0]}/...' (the model has no parameter "
                             f"{unexpected[0]!r})")
        missing = sorted(params.keys() - optim_groups.keys())
        if missing and after_first_step:
            raise ValueError(f"{path}: keys 'optim/{missing[0]}/...' are missing (the optimizer state of parameter "
                             f"{missing[0]!r})")
        for name, config in optim_groups.items():
            for key, value in config.items():
                if value.ndim > 0 and value.shape != params[name].shape:
                    raise ValueError(f"{path}: 'optim/{name}/{key}' has shape {value.shape}, but the model's "
                                     f"{name!r} has shape {tuple(params[name].shape)}")


def count_samples(X):
    """N for inputs X: an array (N, ...) or a tuple of such arrays (images and features of the same N samples)."""
    return len(X[0]) if isinstance(X, tuple) else len(X)


def take(X, index):
    """The samples `index` (an index array or a slice) of X: an array, or a tuple of arrays taken alike."""
    return tuple(part[index] for part in X) if isinstance(X, tuple) else X[index]


def _describe(X):
    return f"a tuple of arrays {[part.shape for part in X]}" if isinstance(X, tuple) else f"shape {X.shape}"


def _checkpoint_file(checkpoint_path, checkpoint_name):
    """The file the per-epoch checkpoint is written to, or None for no checkpoints.

    checkpoint_name is cs231n's keyword for it. A folder (one that exists, or a path ending in a separator) gets
    'checkpoint.npz' inside it.
    """
    if checkpoint_path is not None and checkpoint_name is not None and checkpoint_path != checkpoint_name:
        raise ValueError(f"checkpoint_path {checkpoint_path!r} and checkpoint_name {checkpoint_name!r} disagree; "
                         "give only one of them")
    path = checkpoint_path if checkpoint_path is not None else checkpoint_name
    if path is None:
        return None
    path = os.fspath(path)
    if os.path.isdir(path) or path.endswith(("/", os.sep)):
        return os.path.join(path, "checkpoint.npz")
    return path


def _format_rate(learning_rate):
    return "the update rule's default" if learning_rate is None else f"{learning_rate:.3g}"


def _prefixed(prefix, arrays):
    """arrays (name -> value) with prefix put in front of every name."""
    return {prefix + name: value for name, value in arrays.items()}


def _optim_groups(arrays):
    """The 'optim/<param>/<key>' entries of a checkpoint as {param: {key: array}} (a param name may hold '/')."""
    configs = {}
    for name, value in group(arrays, "optim/").items():
        param, key = name.rsplit("/", 1)
        configs.setdefault(param, {})[key] = value
    return configs


def _like(array, reference):
    """array (numpy, from a checkpoint) on reference's device with reference's dtype."""
    return to_device(array, "gpu" if is_gpu_array(reference) else "cpu").astype(reference.dtype, copy=False)


class _NoBar:
    """Stands in for a tqdm bar when the bar is off or tqdm is not installed."""
    disable = True

    def update(self, n=1):
        pass

    def set_postfix(self, **values):
        pass

    def close(self):
        pass


def _progress_bar(total, description, enabled):
    """A tqdm bar over total minibatches, or a _NoBar when enabled is False or tqdm is missing."""
    if not enabled or tqdm is None:
        return _NoBar()
    return tqdm(total=total, desc=description, leave=False)
