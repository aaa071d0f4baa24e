"""Learning-rate schedules: how the learning rate changes from one epoch to the next.

The Solver asks its schedule for the learning rate of every epoch, before the epoch starts:

    schedule.learning_rate(base_rate, epoch, val_acc_history) -> float

base_rate is optim_config['learning_rate'], epoch counts from 0, and val_acc_history holds the validation accuracy
of every epoch before this one. Each schedule here is a pure function of these three, so a run that resumes from a
checkpoint (which keeps the histories and the schedule's config()) continues its schedule exactly.

    ExponentialDecay(0.95)              the paper's: x0.95 after every epoch (cs231n's lr_decay)
    StepDecay(0.1, every=30)            x0.1 after every 30 epochs
    CosineWithWarmup(50, warmup_epochs=2)  up linearly for 2 epochs, then down along half a cosine to 0 at epoch 50
    ReduceOnPlateau(0.1, patience=5)    x0.1 whenever the validation accuracy has not improved for 5 epochs

Why decay at all: a large learning rate crosses the loss surface fast but bounces around the bottom of a valley; a
small one settles into it. Warm-up: at the start, with random weights and batch-norm statistics far from their
final values, a full-size step can throw the weights far away.
"""
import dataclasses
import math


@dataclasses.dataclass(frozen=True)
class ExponentialDecay:
    """base_rate * factor ** epoch. factor 1 keeps the rate constant."""
    factor: float = 1.0

    def learning_rate(self, base_rate, epoch, val_acc_history):
        return base_rate * self.factor ** epoch


@dataclasses.dataclass(frozen=True)
class StepDecay:
    """base_rate * factor ** (epoch // every): the rate drops by `factor` after every `every` epochs."""
    factor: float = 0.1
    every: int = 30

    def learning_rate(self, base_rate, epoch, val_acc_history):
        return base_rate * self.factor ** (epoch // self.every)


@dataclasses.dataclass(frozen=True)
class CosineWithWarmup:
    """Linear warm-up over warmup_epochs (epoch e < warmup_epochs runs at base_rate * (e + 1) / (warmup_epochs + 1)),
    then half a cosine from base_rate down to final_fraction * base_rate at epoch `epochs` (Loshchilov and Hutter's
    SGDR, without restarts); epochs past the end keep the final rate."""
    epochs: int
    warmup_epochs: int = 0
    final_fraction: float = 0.0

    def learning_rate(self, base_rate, epoch, val_acc_history):
        if epoch < self.warmup_epochs:
            return base_rate * (epoch + 1) / (self.warmup_epochs + 1)
        progress = min(1.0, (epoch - self.warmup_epochs) / max(1, self.epochs - self.warmup_epochs))
        cosine = (1 + math.cos(math.pi * progress)) / 2                       # 1 -> 0
        return base_rate * (self.final_fraction + (1 - self.final_fraction) * cosine)


@dataclasses.dataclass(frozen=True)
class ReduceOnPlateau:
    """The rate is multiplied by factor each time the validation accuracy has gone `patience` epochs without beating
    its best by more than `threshold`; never below min_rate. The count starts again after every reduction."""
    factor: float = 0.1
    patience: int = 5
    threshold: float = 1e-3
    min_rate: float = 0.0

    def learning_rate(self, base_rate, epoch, val_acc_history):
        rate, best, epochs_without_gain = base_rate, -math.inf, 0
        for accuracy in val_acc_history[:epoch]:
            if accuracy > best + self.threshold:
                best, epochs_without_gain = accuracy, 0
                continue
            epochs_without_gain += 1
            if epochs_without_gain >= self.patience:
                rate, epochs_without_gain = rate * self.factor, 0
        return max(rate, self.min_rate)


SCHEDULES = {schedule.__name__: schedule for schedule in (ExponentialDecay, StepDecay, CosineWithWarmup,
                                                          ReduceOnPlateau)}


def config(schedule):
    """A schedule as a dict of plain values, {'name': class name, field: value, ...}, for checkpoints and reports."""
    return {"name": type(schedule).__name__, **dataclasses.asdict(schedule)}


def from_config(settings):
    """The schedule that config() described; a ValueError names an unknown schedule or field."""
    settings = dict(settings)
    name = settings.pop("name", None)
    if name not in SCHEDULES:
        raise ValueError(f"unknown learning-rate schedule {name!r}; known: {sorted(SCHEDULES)}")
    try:
        return SCHEDULES[name](**settings)
    except TypeError as error:
        raise ValueError(f"schedule {name}: {error}") from None
