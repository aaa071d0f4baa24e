"""Find the faces in a photo, or in every photo of a folder, and read the emotion of each
(python examples/predict.py --help for the options).

The same command as `minicnn predict`: its code is minicnn/commands/predict.py, behind both doors.
"""
import sys

from minicnn.cli import run_script
from minicnn.commands import predict

if __name__ == "__main__":
    sys.exit(run_script(predict.main))
