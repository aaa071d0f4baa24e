"""minicnn: convolutional networks for facial expression recognition, every layer written by hand.

Floors of the library, each importing only from those below it:
  minicnn.backend                      numpy or cupy
  minicnn.kernels                      im2col, col2im, max pooling, dropout: Numba or CUDA (folder kernels/)
  minicnn.layers, minicnn.naive        forward/backward pairs of every layer
  minicnn.layer_utils                  the paper's conv and affine blocks
  minicnn.models, data, features, plots  networks, FER2013, HOG, figures
  minicnn.solver                       the training loop and the update rules (folder solver/)

minicnn.kernels and minicnn.solver live in the folders kernels/ and solver/ beside this one and are installed as
parts of minicnn (package_dir in setup.py). This file imports nothing, so importing minicnn.kernels or minicnn.backend
loads no layer or model.
"""
import os

# A training step hands the cores back and forth between two thread pools: OpenBLAS's (the GEMMs) and OpenMP's (the
# Numba kernels). By default each pool keeps its idle threads spinning for a while after its work, on the cores the
# other pool needs next; on 2 cores, letting idle threads sleep at once makes a training step 27-39% faster
# (benchmarks/RESULTS.md). Both libraries read these variables when they load: they take effect only when minicnn is
# imported before numpy (the scripts in examples/ and benchmarks/ do so), and a value the user set wins.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")   # spin at most 2**4 cycles before sleeping
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

__version__ = "0.1.0"
