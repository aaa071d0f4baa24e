"""The few operations that plain array code does badly, written three times with the same functions and results:

  reference.py  plain NumPy, one slice per filter tap: the one to read first, and the tests' reference;
  cpu.py        Numba, for numpy arrays;
  gpu.py        CUDA (the .cu files in cuda/), for cupy arrays.

Each module has im2col(x, kernel_height, kernel_width, pad, stride), col2im(cols, x_shape, kernel_height,
kernel_width, pad, stride), max_pool_forward(x, pool_height, pool_width, stride), max_pool_backward(dout, argmax,
x_shape, pool_height, pool_width, stride) and dropout_forward(x, p, seed); im2col and col2im of cpu.py and gpu.py also
take out=, a buffer to write the result into (the layers reuse one buffer for every chunk of a batch).
minicnn.layers picks cpu.py or gpu.py by the device of its input; cpu.py and gpu.py check their arguments with the
same functions (checks.py). This file imports nothing, so importing one of them loads no layer.

winograd_cpu.py holds the Numba input and output transforms of Winograd convolution for minicnn/winograd.py, which
keeps their plain-NumPy twins next to the transform matrices; there is no CUDA version (cupy arrays keep im2col).

Layouts shared by the three (tests/ compare them on the same inputs):
  im2col:  x (N, C, H, W) -> cols (C * HH * WW, N * H' * W'), where row (c * HH + i) * WW + j and column
           (n * H' + oh) * W' + ow hold x[n, c, oh * stride + i - pad, ow * stride + j - pad] (0 outside x),
           H' = 1 + (H + 2 * pad - HH) // stride, W' = 1 + (W + 2 * pad - WW) // stride.
  col2im:  the adjoint of im2col: dx[n, c, h, w] sums every entry of cols that im2col copied from x[n, c, h, w].
  max pool: out (N, C, H', W') with H' = 1 + (H - pool_height) // stride; argmax (N, C, H', W') int32 holds the flat
           index h * W + w, inside its (n, c) plane, of the first maximum of each window in row-major order; the
           backward pass sends each window's gradient to that pixel, a pixel summing the windows it won.
  dropout: element i is dropped when uniform(seed, i) < p, where uniform is splitmix64 of
           (seed * 0x9E3779B97F4A7C15 + i + 1), top 24 bits, divided by 2**24; kept elements are scaled by 1 / (1 - p),
           so the CPU and the GPU draw the same mask for a seed. out = x * mask, mask 0 or 1 / (1 - p), x's shape.

fused.py (Numba, numpy arrays only) is apart from the three: it fuses whole layers, batch norm + ReLU + dropout and
the Adam update, into a few passes over memory; minicnn.layer_utils and solver/optim.py call it and run their plain
array code on cupy arrays (and where Numba is missing).
"""
