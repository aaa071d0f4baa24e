"""Train the paper's deep network on FER2013 (python examples/train_deep.py --help for the options)."""
import sys

from minicnn.cli import run_script
from minicnn.training import train

if __name__ == "__main__":
    sys.exit(run_script(lambda: train("deep")))
