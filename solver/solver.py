"""The Solver: trains a cs231n-style model by minibatch gradient descent, keeps its histories, writes checkpoints.

The Solver knows no layer. A model is any object with
  model.params          dict name -> array (numpy or cupy); the Solver updates these arrays.
  model.loss(X, y)      training mode: returns (loss, grads), grads[name] shaped like params[name].
  model.loss(X)         test mode (no dropout, batch-norm running statistics): returns scores (N, num_classes).
and, optionally, extra arrays that are not trained by gradient descent but belong in a checkpoint (batch-norm
running statistics, say):
  model.get_state()     dict name -> array;   model.set_state(dict)   puts such a dict back.

Example:
    from minicnn.preprocessing import random_flip
    data = {"X_train": X_train, "y_train": y_train, "X_val": X_val, "y_val": y_val}
    solver = Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-3}, lr_decay=0.95,
                    batch_size=128, num_epochs=20, augment=random_flip, seed=0, checkpoint_path="runs/last.npz")
    solver.train()          # model.params now hold the parameters of the best epoch by validation accuracy
    # a killed run continues with: Solver(model, data, ..., resume="runs/last.npz").train()
"""
import contextlib
import json
import math
import os
import signal
import sys
import threading
import time

import numpy as np

try:
    from tqdm import tqdm
except ImportError:  # a bare GPU machine may lack tqdm; training then prints per-epoch lines only
    tqdm = None

from minicnn.backend import get_array_module, is_gpu_array, move_model, to_device
from minicnn.solver import optim, schedules
from minicnn.solver.checkpoint import (DamagedFileError, check_same_shapes, damaged_checkpoint, load_arrays,
                                       previous_checkpoint, save_arrays, under_prefix)

# Checkpoint entries that are not grouped under a prefix ('param/', 'state/', 'best/', 'best_state/', 'optim/').
CHECKPOINT_SCALARS = ("epoch", "iteration", "best_val_acc", "loss_history", "train_acc_history",
                      "val_acc_history", "rng_state")
CHECKPOINT_PREFIXES = ("param/", "state/", "best/", "best_state/", "optim/")
# Entries that checkpoints written before schedules existed lack: such a checkpoint resumes with the Solver's schedule.
CHECKPOINT_SCHEDULE = ("schedule", "base_learning_rate")


class TrainingDiverged(RuntimeError):
    """The loss (or a parameter) became NaN or infinite. Attributes: epoch, iteration, learning_rate (1-based)."""

    def __init__(self, what, epoch, iteration, learning_rate):
        self.epoch, self.iteration, self.learning_rate = epoch, iteration, learning_rate
        super().__init__(f"training diverged: {what} at epoch {epoch}, iteration {iteration} (learning rate "
                         f"{learning_rate}). Lower the learning rate (try 10x smaller) and check that the inputs are "
                         "normalised; a checkpoint of an earlier epoch, if one was written, is left as it was.")


class TrainingInterrupted(RuntimeError):
    """Training stopped on request (Ctrl-C or SIGTERM) at the end of a step. Attributes: signal_name, epoch (the
    1-based epoch that was running), iteration, checkpoint_epoch (the epoch of the last checkpoint, 0 for none)."""

    def __init__(self, signal_name, epoch, iteration, checkpoint_epoch):
        self.signal_name, self.epoch, self.iteration = signal_name, epoch, iteration
        self.checkpoint_epoch = checkpoint_epoch
        super().__init__(f"training stopped by {signal_name} in epoch {epoch}, after iteration {iteration}")


class Solver:
    """Trains model on data = {'X_train', 'y_train', 'X_val', 'y_val'} (X: (N, ...) inputs, y: (N,) int labels).

    Keyword-only arguments (cs231n's, then ours); an unknown keyword is a TypeError that names it:
      update_rule        'sgd', 'sgd_momentum', 'rmsprop', 'adam' (see solver/optim.py) or an update function.
      optim_config       dict of hyper-parameters for the update rule, e.g. {'learning_rate': 1e-3}.
      lr_decay           the learning rate is multiplied by this after every epoch (default 1.0: constant);
                         shorthand for schedule=ExponentialDecay(lr_decay).
      batch_size         samples per gradient step (default 100).
      num_epochs         shuffled passes over the training set (default 10).
      num_train_samples  random training samples used for the per-epoch train accuracy (default 1000; None: all).
      num_val_samples    random validation samples used for the val accuracy (default None: all).
      print_every        iterations between progress updates (default 10).
      verbose            print one line per epoch and show the progress bar (default True).
      checkpoint_name    cs231n's name for checkpoint_path, accepted as an alias.
      augment            a function augment(X_batch, rng) -> X_batch applied to every training minibatch, with the
                         Solver's numpy Generator (default None: none), e.g. minicnn.preprocessing.random_flip.
      augment_flip       shorthand for augment=random_flip (mirror each image left-right with probability 1/2).
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
      schedule           a learning-rate schedule (solver/schedules.py): the learning rate of each epoch is
                         schedule.learning_rate(optim_config['learning_rate'], epoch, val_acc_history). Saved in
                         checkpoints: a resumed run continues the schedule it was saved with.
      weight_decay       decoupled weight decay (Loshchilov and Hutter's AdamW): every step first shrinks each
                         weight array, w <- w - learning_rate * weight_decay * w, apart from the gradient and so apart
                         from Adam's scaling of it (default 0: none). Arrays of one dimension (biases, batch-norm's
                         gamma and beta) are left alone, as with the model's L2 term.
      data_parallel      None, or a DataParallel (solver/data_parallel.py): this process is one of K that train the
                         model together, each computing the gradient of its share of every minibatch and scoring its
                         share of the accuracy samples; the shares are summed over the processes (MPI).
    """

    def __init__(self, model, data, *, update_rule="sgd", optim_config=None, lr_decay=1.0, batch_size=100,
                 num_epochs=10, num_train_samples=1000, num_val_samples=None, print_every=10, verbose=True,
                 checkpoint_name=None, augment=None, augment_flip=False, progress=True, seed=None,
                 checkpoint_path=None, resume=None, device=None, on_epoch_end=None, schedule=None,
                 weight_decay=0.0, data_parallel=None):
        self.model = model
        self.update_rule = optim.get_update_rule(update_rule)
        self.optim_config = dict(optim_config or {})
        self.schedule = _schedule(schedule, lr_decay)
        self.base_learning_rate = (self.optim_config["learning_rate"] if "learning_rate" in self.optim_config
                                   else _default_learning_rate(self.update_rule))
        self.weight_decay = float(weight_decay)
        self.batch_size = batch_size
        self.num_epochs = num_epochs
        self.num_train_samples = num_train_samples
        self.num_val_samples = num_val_samples
        self.print_every = print_every
        self.verbose = verbose
        self.augment = _augmentation(augment, augment_flip)
        self.progress = progress
        self.rng = np.random.default_rng(seed)
        self.checkpoint_path = _checkpoint_file(checkpoint_path, checkpoint_name)
        self.device = device
        self.on_epoch_end = on_epoch_end
        self.data_parallel = data_parallel
        self._stop_request = _StopRequest()   # replaced by train()'s, which its signal handlers fill in
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
        if self.augment is not None:
            # A trial run on one sample, with a Generator of its own: an augmentation that does not fit the data
            # fails here, before training starts, and the Solver's random numbers are left untouched.
            self.augment(take(self.X_train, slice(0, 1)), np.random.default_rng(0))

    def _to_device(self, x):
        if self.device is None:
            return x
        if isinstance(x, tuple):
            return tuple(to_device(part, self.device) for part in x)
        return to_device(x, self.device)

    def _move_model(self):
        """Copy the model's params and state to self.device (a no-op for arrays already there)."""
        if self.device is not None:
            move_model(self.model, self.device)

    def _reset(self):
        """Forget all training progress: histories, best parameters, optimizer state."""
        self.epoch = 0
        self.checkpoint_epoch = 0           # the epoch of the last checkpoint written or loaded (0: none)
        self.iteration = 0
        self.best_val_acc = 0.0
        self.best_params = {}
        self.best_state = {}
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        # Every parameter gets its own config: the update rules keep per-parameter state (velocity, m, v) in it.
        self.optim_configs = {name: dict(self.optim_config) for name in self.model.params}
        self._apply_schedule()

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
        if self.data_parallel is None:
            loss, grads = self.model.loss(X_batch, y_batch)
        else:  # a stop asked of any process stops them all after this step: none may wait for the others' gradients
            loss, grads, stop_anywhere = self.data_parallel.loss_and_gradients(
                self.model, X_batch, y_batch, stop_requested=self._stop_request.signal_name is not None)
            if stop_anywhere and self._stop_request.signal_name is None:
                self._stop_request.signal_name = "SIGTERM"
        loss = float(loss)
        if not math.isfinite(loss):
            raise TrainingDiverged(f"the loss is {loss}", self.epoch + 1, self.iteration + 1, self.learning_rate())
        for name in self.model.params:
            self._decay_weights(name)
            self.model.params[name], self.optim_configs[name] = self.update_rule(
                self.model.params[name], grads[name], self.optim_configs[name])
        self.iteration += 1
        self.loss_history.append(loss)
        return loss

    def train(self):
        """Train from epoch self.epoch + 1 to num_epochs, then put the best parameters (by validation accuracy)
        into the model.

        Ctrl-C or SIGTERM (a scheduler's stop) ends the running step and raises TrainingInterrupted; the checkpoint
        of the last finished epoch stays as it was, and resuming from it repeats the interrupted epoch exactly. A
        second Ctrl-C stops at once (KeyboardInterrupt).
        """
        with _stop_requests() as stop:
            self._stop_request = stop
            for _ in range(self.epoch, self.num_epochs):
                if stop.signal_name:   # asked during the last epoch's scoring or checkpoint: stop before the next
                    raise TrainingInterrupted(stop.signal_name, self.epoch + 1, self.iteration, self.checkpoint_epoch)
                self._train_one_epoch(stop)
        self._restore_best()

    def _train_one_epoch(self, stop):
        """One shuffled pass over the training set, then the end-of-epoch bookkeeping. stop: a _StopRequest,
        checked after every step."""
        started = time.perf_counter()
        bar = _progress_bar(self._iterations_per_epoch(), f"epoch {self.epoch + 1}/{self.num_epochs}",
                            enabled=self.verbose and self.progress)
        losses, batch_accuracies = [], []
        for X_batch, y_batch in self._minibatches():
            losses.append(self.step(X_batch, y_batch))
            bar.update(1)
            if stop.signal_name:
                bar.close()
                raise TrainingInterrupted(stop.signal_name, self.epoch + 1, self.iteration, self.checkpoint_epoch)
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
            if self.augment is not None:
                X_batch = self.augment(X_batch, self.rng)
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
        if self.data_parallel is not None:
            self.data_parallel.end_epoch(self.model, self.epoch + 1)
        self._check_params_finite()
        train_acc = self.check_accuracy(self.X_train, self.y_train, num_samples=self.num_train_samples)
        val_acc = self.check_accuracy(self.X_val, self.y_val, num_samples=self.num_val_samples)
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        if val_acc > self.best_val_acc or not self.best_params:
            self._remember_best(val_acc)
        learning_rate = self.learning_rate()
        self.epoch += 1
        self._apply_schedule()
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

    def _apply_schedule(self):
        """Set every parameter's learning rate to the schedule's rate for the coming epoch (self.epoch, from 0)."""
        if self.base_learning_rate is None:     # an update rule of the user's that takes no learning rate
            return
        rate = self.schedule.learning_rate(self.base_learning_rate, self.epoch, self.val_acc_history)
        for config in self.optim_configs.values():
            config["learning_rate"] = rate

    def _decay_weights(self, name):
        """Decoupled weight decay of parameter `name`, in place, when it is a weight array (2 dimensions or more)."""
        w = self.model.params[name]
        if self.weight_decay and w.ndim > 1:
            w *= 1.0 - float(self.optim_configs[name]["learning_rate"]) * self.weight_decay

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
        if self.data_parallel is not None:
            X, y = self.data_parallel.take_share(X, y)
        batch_size = batch_size or self.batch_size
        correct = sum(self._count_correct(take(X, slice(start, start + batch_size)), y[start:start + batch_size])
                      for start in range(0, len(y), batch_size))
        if self.data_parallel is not None:
            correct = self.data_parallel.sum_over_processes(correct)
        return correct / total

    def _count_correct(self, X_batch, y_batch):
        """How many samples of X_batch the model labels y_batch (compared where the scores are: one number travels)."""
        scores = self.model.loss(self._to_device(X_batch))
        xp = get_array_module(scores)
        return int((xp.argmax(scores, axis=1) == xp.asarray(y_batch)).sum())

    # ---------------------------------------------------------------------------------------------- checkpoints

    def save_checkpoint(self, path):
        """Write all that train() needs to continue later to the .npz file at path, atomically; the file it
        replaces is kept as previous_checkpoint(path) (checkpoint.prev.npz beside checkpoint.npz).

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
            "schedule": np.str_(json.dumps(schedules.config(self.schedule))),
            "base_learning_rate": np.nan if self.base_learning_rate is None else self.base_learning_rate,
        }
        arrays.update(_prefixed("param/", self.model.params))
        arrays.update(_prefixed("state/", self._model_state()))
        arrays.update(_prefixed("best/", self.best_params))
        arrays.update(_prefixed("best_state/", self.best_state))
        for name, config in self.optim_configs.items():
            arrays.update(_prefixed(f"optim/{name}/", config))
        save_arrays(path, arrays, keep_previous=previous_checkpoint(path))
        self.checkpoint_epoch = self.epoch

    def load_checkpoint(self, path):
        """Restore the model and this Solver from a file written by save_checkpoint.

        train() then goes on with the epoch after the saved one and ends where an uninterrupted run with the same
        seed would. Everything is checked before anything changes: a missing, unexpected or wrongly shaped key
        raises ValueError naming it and leaves the model and the Solver as they were. A checkpoint that is damaged
        (or missing, after a stop between the two renames of a save) is replaced by the previous one, when that
        exists, with a message saying so; that run then repeats one more epoch.
        """
        arrays, path = _load_checkpoint_or_previous(path)
        self._check_checkpoint(arrays, path)
        params, state = self.model.params, self._model_state()
        for name, value in under_prefix(arrays, "param/").items():
            params[name] = _like(value, params[name])
        if state:
            self.model.set_state(_all_like(under_prefix(arrays, "state/"), state))
        self.best_params = _all_like(under_prefix(arrays, "best/"), params)
        self.best_state = _all_like(under_prefix(arrays, "best_state/"), state)
        for name, config in _optim_groups(arrays).items():
            self.optim_configs[name] = {key: value.item() if value.ndim == 0 else _like(value, params[name])
                                        for key, value in config.items()}
        self.epoch = self.checkpoint_epoch = int(arrays["epoch"])
        self.iteration = int(arrays["iteration"])
        self.best_val_acc = float(arrays["best_val_acc"])
        self.loss_history = arrays["loss_history"].tolist()
        self.train_acc_history = arrays["train_acc_history"].tolist()
        self.val_acc_history = arrays["val_acc_history"].tolist()
        self.rng.bit_generator.state = json.loads(str(arrays["rng_state"]))
        if "schedule" in arrays:
            self.schedule = schedules.from_config(json.loads(str(arrays["schedule"])))
            base = float(arrays["base_learning_rate"])
            self.base_learning_rate = None if math.isnan(base) else base

    def _check_checkpoint(self, arrays, path):
        """Raise ValueError unless arrays (a loaded checkpoint) fit this model, naming the first key that does not."""
        for key in CHECKPOINT_SCALARS:
            if key not in arrays:
                raise ValueError(f"{path}: key {key!r} is missing; is this a checkpoint written by Solver?")
        if ("schedule" in arrays) != ("base_learning_rate" in arrays):
            raise ValueError(f"{path}: keys 'schedule' and 'base_learning_rate' come together; one is missing")
        for key in arrays:
            if key not in CHECKPOINT_SCALARS + CHECKPOINT_SCHEDULE and not key.startswith(CHECKPOINT_PREFIXES):
                raise ValueError(f"{path}: unexpected key {key!r}")
        params, state = self.model.params, self._model_state()
        check_same_shapes(under_prefix(arrays, "param/"), params, "param/", path)
        check_same_shapes(under_prefix(arrays, "state/"), state, "state/", path)
        # The best-so-far groups are empty in a checkpoint saved before the first epoch ended.
        for prefix, expected in (("best/", params), ("best_state/", state)):
            if under_prefix(arrays, prefix):
                check_same_shapes(under_prefix(arrays, prefix), expected, prefix, path)
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


def _load_checkpoint_or_previous(path):
    """(arrays, the path they came from): the checkpoint at path, else the previous one when path is damaged or
    missing; ValueError, saying what is left, when neither can be read.

    A damaged checkpoint is renamed aside (checkpoint.damaged.npz) before the previous one is used: the next save
    would otherwise keep it as the new 'previous' one and overwrite the good copy.
    """
    previous = previous_checkpoint(path)
    try:
        return load_arrays(path), path
    except (DamagedFileError, FileNotFoundError) as error:
        if not os.path.exists(previous):
            raise ValueError(f"{error}; there is no previous checkpoint ({previous}) to fall back on, so the run "
                             "must start again") from None
        problem = str(error)
    if os.path.exists(path):
        os.replace(path, damaged_checkpoint(path))
        problem += f" (kept as {damaged_checkpoint(path)})"
    print(f"{problem}\nResuming from the previous checkpoint, {previous}, instead.", file=sys.stderr)
    try:
        return load_arrays(previous), previous
    except DamagedFileError as error:
        raise ValueError(f"{problem}; its previous checkpoint is damaged too ({error.reason}): the run must start "
                         "again") from None


class _StopRequest:
    """The name of the signal (SIGINT or SIGTERM) that asked training to stop, or None."""
    signal_name = None


@contextlib.contextmanager
def _stop_requests():
    """While the block runs, SIGINT and SIGTERM ask for a stop (the yielded _StopRequest records it) instead of
    killing the process mid-step; a second Ctrl-C (SIGINT) raises KeyboardInterrupt at once, while a repeated SIGTERM,
    which schedulers send, only asks again. The old handlers come back after. Only the main thread can handle
    signals: elsewhere nothing changes."""
    request = _StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def ask_to_stop(number, frame):
        if request.signal_name and number == signal.SIGINT:
            raise KeyboardInterrupt
        request.signal_name = signal.Signals(number).name
        print(f"\n{request.signal_name}: stopping at the end of this step (Ctrl-C again stops at once)",
              file=sys.stderr)

    handlers = {number: signal.signal(number, ask_to_stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield request
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)


def count_samples(X):
    """N for inputs X: an array (N, ...) or a tuple of such arrays (images and features of the same N samples)."""
    return len(X[0]) if isinstance(X, tuple) else len(X)


def take(X, index):
    """The samples `index` (an index array or a slice) of X: an array, or a tuple of arrays taken alike."""
    return tuple(part[index] for part in X) if isinstance(X, tuple) else X[index]


def _augmentation(augment, augment_flip):
    """The augment function: augment, or random_flip for the shorthand augment_flip=True (not both)."""
    if not augment_flip:
        return augment
    if augment is not None:
        raise ValueError("Solver: give augment or augment_flip=True, not both (augment_flip=True means "
                         "augment=random_flip)")
    from minicnn.preprocessing import random_flip  # the Solver itself knows no data set and no augmentation
    return random_flip


def _schedule(schedule, lr_decay):
    """The Solver's learning-rate schedule: schedule, or ExponentialDecay(lr_decay) when none is given (not both)."""
    if schedule is None:
        return schedules.ExponentialDecay(lr_decay)
    if lr_decay != 1.0:
        raise ValueError(f"Solver: give schedule or lr_decay, not both (lr_decay={lr_decay} means "
                         f"schedule=ExponentialDecay({lr_decay}))")
    return schedule


def _default_learning_rate(update_rule):
    """The learning rate update_rule fills in when its config names none (None for a rule that takes none)."""
    _, config = update_rule(np.zeros(1), np.zeros(1), {})
    return config.get("learning_rate")


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
    for name, value in under_prefix(arrays, "optim/").items():
        param, key = name.rsplit("/", 1)
        configs.setdefault(param, {})[key] = value
    return configs


def _like(array, reference):
    """array (numpy, from a checkpoint) on reference's device with reference's dtype."""
    return to_device(array, "gpu" if is_gpu_array(reference) else "cpu").astype(reference.dtype, copy=False)


def _all_like(arrays, references):
    """arrays (name -> numpy array) each on the device and with the dtype of references[name]."""
    return {name: _like(value, references[name]) for name, value in arrays.items()}


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
