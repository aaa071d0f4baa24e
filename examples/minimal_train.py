"""The shortest path through minicnn: load FER2013, build the paper's shallow net, train it briefly, score it.

python examples/minimal_train.py [fer2013.csv(.gz) or any form minicnn reads] (default: $MINICNN_DATA)
One epoch on the first 1,000 training images: a start, not a result (train_shallow.py trains the real thing).
From here to the im2col loop: models.py (ConvNet.loss), layer_utils.py, layers.py (conv_forward), kernels/cpu.py.
"""
import sys

from minicnn import data, models
from minicnn.preprocessing import random_flip
from minicnn.solver import Solver

try:
    splits = data.load_splits(data.find_data_path(sys.argv[1] if len(sys.argv) > 1 else None), subset=1000)
except data.DataNotFoundError as error:                             # says where to get FER2013
    sys.exit(f"error: {error}")
model = models.shallow_net(reg=1e-6, seed=0)                       # X: (N, 1, 48, 48) -> scores: (N, 7)
solver = Solver(model, {name: splits[name] for name in ("X_train", "y_train", "X_val", "y_val")},
                update_rule="adam", optim_config={"learning_rate": 1e-3}, batch_size=128, num_epochs=1,
                augment=random_flip, seed=0)
solver.train()
print(f"PublicTest (validation) accuracy: {solver.check_accuracy(splits['X_val'], splits['y_val']):.3f}")
