"""Time a training step with numpy or minicnn imported first: python benchmarks/import_order.py numpy|minicnn.

Imports the named module, then runs bench_train.py --no-torch --steps 4, to show that minicnn's thread settings
(minicnn/threads.py) reach OpenBLAS whichever comes first.
"""
import runpy
import sys
from pathlib import Path

if __name__ == "__main__":
    __import__(sys.argv[1])
    sys.path.insert(0, str(Path(__file__).parent))
    sys.argv = ["bench_train.py", "--no-torch", "--steps", "4"]
    runpy.run_path(str(Path(__file__).with_name("bench_train.py")), run_name="__main__")
