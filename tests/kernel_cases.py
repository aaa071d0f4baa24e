"""Inputs shared by the kernel and layer tests: the kernels' three implementations (test_kernels.py,
test_cuda_source.py, test_gpu_kernels.py) and the conv layer against its naive loops and on the GPU (test_layers.py,
test_gpu_layers.py)."""
import numpy as np

DTYPES = [np.float32, np.float64]
TOLERANCES = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}

# (N, C, H, W, kernel_height, kernel_width, pad, stride): non-square images, 1x1 to 5x5 and 2x3 filters.
CONV_CASES = [
    (1, 1, 5, 7, 3, 3, 1, 1),
    (2, 3, 8, 6, 3, 3, 0, 2),
    (2, 3, 7, 9, 5, 5, 2, 1),
    (1, 3, 9, 11, 5, 5, 2, 3),
    (2, 1, 6, 5, 1, 1, 0, 1),
    (3, 2, 7, 6, 1, 1, 0, 2),
    (2, 3, 10, 7, 2, 3, 1, 2),
    (1, 1, 11, 13, 2, 3, 0, 3),
    (2, 1, 3, 4, 3, 3, 2, 2),  # the padding is wider than half the image
    (1, 2, 9, 5, 3, 3, 0, 2),
    (1, 3, 11, 9, 3, 3, 2, 2),
    (2, 2, 6, 6, 2, 2, 0, 2),
]

# (N, C, H, W, pool_height, pool_width, stride): overlapping (stride 1), tiling and ragged windows.
POOL_CASES = [
    (1, 1, 4, 6, 2, 2, 2),
    (2, 3, 7, 5, 3, 3, 2),
    (2, 3, 6, 9, 2, 2, 1),
    (1, 3, 8, 7, 3, 3, 1),
    (2, 1, 9, 10, 3, 3, 3),
    (2, 3, 7, 8, 2, 3, 2),
    (2, 1, 5, 6, 2, 3, 1),
    (1, 1, 6, 4, 2, 2, 1),
]




def layer_case(case, filters=4):
    """A kernel case as (x shape, w shape, stride, pad) of a conv layer with `filters` filters."""
    N, C, H, W, kernel_height, kernel_width, pad, stride = case
    return (N, C, H, W), (filters, C, kernel_height, kernel_width), stride, pad


def tiles(case):
    """Whether the stride reaches the far edge of the padded image exactly, as the layers require."""
    N, C, H, W, kernel_height, kernel_width, pad, stride = case
    return (H + 2 * pad - kernel_height) % stride == 0 and (W + 2 * pad - kernel_width) % stride == 0


def pool_layer_case(case):
    """A POOL_CASE as (x shape, pool height, pool width, stride) of the max-pooling layer."""
    N, C, H, W, pool_height, pool_width, stride = case
    return (N, C, H, W), pool_height, pool_width, stride


# The layer cases: those kernel cases that the layers accept (the kernels take ragged windows, the layers not).
LAYER_CONV_CASES = [layer_case(case) for case in CONV_CASES if tiles(case)]
LAYER_POOL_CASES = [pool_layer_case(case) for case in POOL_CASES
                    if tiles(case[:6] + (0, case[6]))]  # a window without padding: pad 0 before the stride


def case_id(case):
    return "x".join(str(value) for value in case)


def assert_same_im2col_and_col2im(kernels, expected_kernels, case, dtype):
    """kernels' im2col equals expected_kernels' bit for bit, and col2im to TOLERANCES, on the inputs of a CONV_CASE."""
    N, C, H, W, kernel_height, kernel_width, pad, stride = case
    x = random_image((N, C, H, W), dtype)
    cols = kernels.im2col(x, kernel_height, kernel_width, pad, stride)
    np.testing.assert_array_equal(cols, expected_kernels.im2col(x, kernel_height, kernel_width, pad, stride))
    dout = random_image(cols.shape, dtype, seed=1)
    np.testing.assert_allclose(kernels.col2im(dout, x.shape, kernel_height, kernel_width, pad, stride),
                               expected_kernels.col2im(dout, x.shape, kernel_height, kernel_width, pad, stride),
                               **TOLERANCES[dtype])


def assert_same_max_pool(kernels, expected_kernels, x, pool_height, pool_width, stride):
    """kernels' max pooling equals expected_kernels' on x: out and argmax bit for bit, the backward to TOLERANCES."""
    out, argmax = kernels.max_pool_forward(x, pool_height, pool_width, stride)
    expected_out, expected_argmax = expected_kernels.max_pool_forward(x, pool_height, pool_width, stride)
    np.testing.assert_array_equal(out, expected_out)
    np.testing.assert_array_equal(argmax, expected_argmax)
    dout = random_image(out.shape, x.dtype, seed=1)
    np.testing.assert_allclose(kernels.max_pool_backward(dout, argmax, x.shape, pool_height, pool_width, stride),
                               expected_kernels.max_pool_backward(dout, argmax, x.shape, pool_height, pool_width,
                                                                  stride), **TOLERANCES[x.dtype.type])


def random_image(shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def image_without_ties(shape, dtype, seed=0):
    """A shuffled arange: every window has exactly one maximum."""
    values = np.random.default_rng(seed).permutation(int(np.prod(shape))).astype(dtype)
    return values.reshape(shape) / values.size
