"""Draw what a trained network learned: filters, activation maps, DeepDream, saliency maps and class models
(python examples/visualize.py --help for the options).

The same command as `minicnn visualize`: its code is minicnn/commands/visualize.py, behind both doors.
"""
import sys

from minicnn.cli import run_script
from minicnn.commands import visualize

if __name__ == "__main__":
    sys.exit(run_script(visualize.main))
