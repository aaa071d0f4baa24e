"""python -m minicnn: the `minicnn` command (minicnn.cli), for an install whose scripts folder is not on the PATH."""
import sys

from minicnn.cli import main

if __name__ == "__main__":
    sys.exit(main())
