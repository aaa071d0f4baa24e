"""Tests for solver/schedules.py and the Solver's use of them: each schedule's rates worked out by hand, their
configs, the Solver setting each epoch's rate, resuming mid-schedule, and decoupled weight decay."""
import math

import numpy as np
import pytest

from minicnn.solver import Solver, schedules
from minicnn.solver.checkpoint import load_arrays, save_arrays
from test_solver import Interrupted, TwoLayerNet, assert_same_training, make_data, quiet_solver, stop_after


def rates(schedule, epochs, history=()):
    return [schedule.learning_rate(1.0, epoch, list(history)) for epoch in range(epochs)]


def test_exponential_and_step_decay_by_hand():
    assert rates(schedules.ExponentialDecay(0.5), 4) == [1.0, 0.5, 0.25, 0.125]
    assert rates(schedules.StepDecay(0.1, every=2), 5) == pytest.approx([1.0, 1.0, 0.1, 0.1, 0.01])


def test_cosine_warms_up_then_falls_to_its_final_fraction():
    schedule = schedules.CosineWithWarmup(epochs=6, warmup_epochs=2, final_fraction=0.1)
    got = rates(schedule, 8)
    # warm-up: 1/3, 2/3; then 0.1 + 0.9 * (1 + cos(pi * k / 4)) / 2 for k = 0..3; past the end the final rate
    cosine = [0.1 + 0.9 * (1 + math.cos(math.pi * k / 4)) / 2 for k in range(4)]
    assert got == pytest.approx([1 / 3, 2 / 3, *cosine, 0.1, 0.1])
    assert got[2] == 1.0 and all(a > b for a, b in zip(got[2:6], got[3:6]))


def test_reduce_on_plateau_counts_epochs_without_a_gain():
    schedule = schedules.ReduceOnPlateau(factor=0.5, patience=2, threshold=0.01, min_rate=0.2)
    history = [0.50, 0.60, 0.605, 0.60, 0.70, 0.69, 0.68, 0.67, 0.66]
    # 0.605 is within the threshold of 0.60: epochs 3 and 4 bring no gain -> x0.5 from epoch 4 on; 0.70 is a gain;
    # then two more without -> x0.5 again (0.25), two more -> 0.125, held at min_rate 0.2.
    assert rates(schedule, 10, history) == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.2]


@pytest.mark.parametrize("schedule", [schedules.ExponentialDecay(0.9), schedules.StepDecay(0.5, 3),
                                      schedules.CosineWithWarmup(10, 1, 0.05), schedules.ReduceOnPlateau(0.3, 4)])
def test_config_round_trip(schedule):
    assert schedules.from_config(schedules.config(schedule)) == schedule


@pytest.mark.parametrize("settings, message", [({"name": "Linear"}, "unknown learning-rate schedule 'Linear'"),
                                               ({"name": "StepDecay", "gamma": 2}, "StepDecay.*gamma")])
def test_a_bad_config_is_refused_by_name(settings, message):
    with pytest.raises(ValueError, match=message):
        schedules.from_config(settings)


def test_the_solver_sets_each_epochs_rate_from_its_schedule():
    seen = []
    solver = quiet_solver(TwoLayerNet(6), make_data(), update_rule="sgd", optim_config={"learning_rate": 0.1},
                          schedule=schedules.CosineWithWarmup(4, warmup_epochs=1), num_epochs=4, batch_size=40,
                          on_epoch_end=lambda solver: seen.append(solver.learning_rate()))
    assert solver.learning_rate() == pytest.approx(0.05)     # the first epoch's rate, set before it starts
    solver.train()
    expected = [0.1 * (1 + math.cos(math.pi * k / 3)) / 2 for k in range(4)]   # epochs 1..4 after warm-up
    assert seen == pytest.approx(expected)                    # on_epoch_end sees the next epoch's rate


def test_schedule_and_lr_decay_together_are_refused():
    with pytest.raises(ValueError, match="schedule or lr_decay, not both"):
        quiet_solver(TwoLayerNet(6), make_data(), optim_config={"learning_rate": 0.1}, lr_decay=0.9,
                     schedule=schedules.StepDecay())


def test_resume_continues_the_schedule_saved_in_the_checkpoint(tmp_path):
    data = make_data(num_train=45)
    options = dict(update_rule="adam", optim_config={"learning_rate": 5e-2}, batch_size=10, num_val_samples=15,
                   num_train_samples=20, seed=3, weight_decay=0.1)
    plateau = schedules.ReduceOnPlateau(0.5, patience=1, threshold=0.5)      # x0.5 after every epoch but the first
    reference = quiet_solver(TwoLayerNet(6), data, num_epochs=4, schedule=plateau, **options)
    reference.train()
    path = tmp_path / "run.npz"
    with pytest.raises(Interrupted):
        quiet_solver(TwoLayerNet(6), data, num_epochs=4, schedule=plateau, checkpoint_path=path,
                     on_epoch_end=stop_after(2), **options).train()
    # Resumed with another schedule on the command line: the checkpoint's wins, as its learning rate does.
    resumed = quiet_solver(TwoLayerNet(6, seed=9), data, num_epochs=4, schedule=schedules.StepDecay(),
                           resume=path, **options)
    assert resumed.schedule == plateau and resumed.learning_rate() == pytest.approx(5e-2 * 0.5)
    resumed.train()
    assert_same_training(resumed, reference)


def test_a_checkpoint_from_before_schedules_resumes_with_the_solvers_own(tmp_path):
    path = tmp_path / "run.npz"
    options = dict(update_rule="sgd", optim_config={"learning_rate": 1.0}, lr_decay=0.5, batch_size=40)
    quiet_solver(TwoLayerNet(6), make_data(), num_epochs=2, checkpoint_path=path, **options).train()
    arrays = load_arrays(path)
    del arrays["schedule"], arrays["base_learning_rate"]
    save_arrays(path, arrays)
    resumed = quiet_solver(TwoLayerNet(6), make_data(), num_epochs=3, resume=path, **options)
    assert resumed.learning_rate() == 0.25
    resumed.train()
    assert resumed.learning_rate() == 0.125


def test_weight_decay_shrinks_weight_arrays_and_leaves_vectors_alone():
    model = TwoLayerNet(6)
    model.params["b1"] += 1.0
    before = {name: w.copy() for name, w in model.params.items()}
    solver = quiet_solver(model, make_data(), update_rule="sgd", optim_config={"learning_rate": 0.1},
                          weight_decay=0.5)
    zero_gradients = {name: np.zeros_like(w) for name, w in model.params.items()}
    model.loss = lambda X, y=None: (1.0, zero_gradients)
    solver.step(None, None)
    for name in ("W1", "W2"):
        np.testing.assert_allclose(model.params[name], before[name] * (1 - 0.1 * 0.5), rtol=1e-15, err_msg=name)
    for name in ("b1", "b2"):
        np.testing.assert_array_equal(model.params[name], before[name], err_msg=name)


def test_the_solver_finds_the_default_learning_rate_of_its_rule():
    solver = Solver(TwoLayerNet(6), make_data(), update_rule="adam", lr_decay=0.5, verbose=False)
    assert solver.learning_rate() == 1e-3
