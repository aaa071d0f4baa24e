"""minicnn: convolutional networks for facial expression recognition, every layer written by hand.

Floors of the library, each importing only from those below it:
  minicnn.threads, minicnn.allocator   thread and memory-allocator settings, applied by importing minicnn
  minicnn.machine                      what minicnn runs on: CPU, BLAS, Numba, GPU
  minicnn.backend                      numpy or cupy
  minicnn.kernels                      im2col, col2im, max pooling, dropout: NumPy, Numba, CUDA (folder kernels/);
                                       fused batch norm + ReLU + dropout and Adam: Numba
  minicnn.layers, minicnn.naive        forward/backward pairs of every layer
  minicnn.layer_utils                  the paper's conv and affine blocks
  minicnn.preprocessing                centring and augmenting images
  minicnn.models, data, features, plots  networks, FER2013, HOG, figures
  minicnn.export                       a trained network as an ONNX graph
  minicnn.solver                       the training loop and the update rules (folder solver/)
  minicnn.training                     one paper run and the command line of the training scripts
  minicnn.cli, minicnn.commands        the `minicnn` command, one module per command (examples/ run the same code)

minicnn.kernels and minicnn.solver live in the folders kernels/ and solver/ beside this one and are installed as
parts of minicnn (package_dir in setup.py). This file imports only minicnn.threads and minicnn.allocator (the standard
library), so importing minicnn.kernels or minicnn.backend loads no layer or model.
"""
from minicnn.allocator import keep_freed_memory
from minicnn.threads import configure_threads

configure_threads()  # idle threads sleep at once: see minicnn/threads.py
keep_freed_memory()  # a step reuses the memory of the step before: see minicnn/allocator.py

__version__ = "0.1.0"  # the one source of the version: setup.py reads it, CHANGELOG.md and CITATION.cff name it
