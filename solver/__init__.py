"""Training: the Solver (training loop, histories, checkpoints) and the update rules it applies (minicnn.solver.optim)."""
from minicnn.solver import optim
from minicnn.solver.solver import Solver, TrainingDiverged

__all__ = ["Solver", "TrainingDiverged", "optim"]
