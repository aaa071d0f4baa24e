"""Training: the Solver (training loop, histories, checkpoints) and the update rules it applies (optim.py).

Installed as minicnn.solver: from minicnn.solver import Solver, as cs231n's from cs231n.solver import Solver.
"""
from minicnn.solver import optim
from minicnn.solver.checkpoint import previous_checkpoint
from minicnn.solver.solver import Solver, TrainingDiverged, TrainingInterrupted

__all__ = ["Solver", "TrainingDiverged", "TrainingInterrupted", "optim", "previous_checkpoint"]
