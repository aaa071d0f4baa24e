"""Score a trained model on FER2013's test splits (python examples/evaluate.py --help for the options).

The same command as `minicnn evaluate`: its code is minicnn/commands/evaluate.py, behind both doors.
"""
import sys

from minicnn.cli import run_script
from minicnn.commands import evaluate

if __name__ == "__main__":  # the guard lets hog_features start its worker processes safely
    sys.exit(run_script(evaluate.main))
