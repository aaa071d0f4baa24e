"""Train the paper's shallow network on FER2013 (python examples/train_shallow.py --help for the options)."""
import sys

from minicnn.cli import run_script
from minicnn.training import train

if __name__ == "__main__":
    sys.exit(run_script(lambda: train("shallow")))
