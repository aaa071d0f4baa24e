"""Train the paper's deep network on FER2013, or with --arch vgg minicnn's VGG-style network and its recipe
(python examples/train_deep.py --help for the options)."""
import argparse
import sys

from minicnn.cli import run_script
from minicnn.training import ARCHITECTURES, train

if __name__ == "__main__":
    chooser = argparse.ArgumentParser(add_help=False)
    chooser.add_argument("--arch", choices=ARCHITECTURES, default="deep")
    known, rest = chooser.parse_known_args()
    sys.exit(run_script(lambda: train(known.arch, argv=rest)))
