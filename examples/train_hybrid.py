"""Train the paper's hybrid network (HOG features joined to the conv features) on FER2013.

python examples/train_hybrid.py --depth shallow|deep, plus the options of train_shallow.py / train_deep.py.
"""
import argparse
import sys

from minicnn.cli import run_script
from minicnn.training import train

if __name__ == "__main__":
    chooser = argparse.ArgumentParser(add_help=False)
    chooser.add_argument("--depth", choices=["shallow", "deep"], default="shallow")
    known, rest = chooser.parse_known_args()
    sys.exit(run_script(lambda: train(known.depth, hybrid=True, argv=rest)))
