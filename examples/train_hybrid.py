"""Train the paper's hybrid network (HOG features joined to the conv features) on FER2013.

python examples/train_hybrid.py --depth shallow|deep, plus the options of train_shallow.py / train_deep.py.
The same command as `minicnn train hybrid`: its code is minicnn/commands/train.py and minicnn/training.py.
"""
import sys

from minicnn.cli import run_script
from minicnn.commands.train import train_net

if __name__ == "__main__":  # the guard lets hog_features start its worker processes safely
    sys.exit(run_script(lambda: train_net("hybrid")))
