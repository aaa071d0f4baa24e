"""Training: the Solver (training loop, histories, checkpoints) and the update rules it applies (solver.optim)."""
from solver import optim
from solver.solver import Solver, TrainingDiverged

__all__ = ["Solver", "TrainingDiverged", "optim"]
