"""Training: the Solver (training loop, histories, checkpoints) and the update rules it applies (solver.optim)."""
from solver import optim
from solver.checkpoint import previous_checkpoint
from solver.solver import Solver, TrainingDiverged, TrainingInterrupted

__all__ = ["Solver", "TrainingDiverged", "TrainingInterrupted", "optim", "previous_checkpoint"]
