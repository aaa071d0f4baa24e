"""Train the paper's shallow network on FER2013 (python examples/train_shallow.py --help for the options).

The same command as `minicnn train shallow`: its code is minicnn/commands/train.py and minicnn/training.py.
"""
import sys

from minicnn.cli import run_script
from minicnn.commands.train import train_net

if __name__ == "__main__":
    sys.exit(run_script(lambda: train_net("shallow")))
