"""minicnn: convolutional networks for facial expression recognition, every layer written by hand.

Floors of the library, each importing only from those below it:
  minicnn.backend                      numpy or cupy
  minicnn.layers, minicnn.naive        forward/backward pairs of every layer
  minicnn.layer_utils                  the paper's conv and affine blocks
  minicnn.models, data, features, plots  networks, FER2013, HOG, figures
"""
__version__ = "0.1.0"
