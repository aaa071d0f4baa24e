"""A page for the emotions of the faces on photos and from a webcam, served on this machine (minicnn.app).

    pip install -e ".[app]"
    python examples/app.py                                  # then open http://127.0.0.1:8000/
    python examples/app.py --port 8080 --model runs/deep/model.npz

Without --model the model shipped with minicnn is used. The page listens on 127.0.0.1 (this machine only) unless
--host says otherwise. Ctrl-C stops it.
"""
import sys

from minicnn.app import main
from minicnn.cli import run_script

if __name__ == "__main__":
    sys.exit(run_script(main))
