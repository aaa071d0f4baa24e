"""Train the paper's deep network on FER2013, or with --arch vgg minicnn's VGG-style network and its recipe
(python examples/train_deep.py --help for the options).

The same command as `minicnn train deep`: its code is minicnn/commands/train.py and minicnn/training.py.
"""
import sys

from minicnn.cli import run_script
from minicnn.commands.train import train_net

if __name__ == "__main__":
    sys.exit(run_script(lambda: train_net("deep")))
