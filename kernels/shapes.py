"""Output sizes of convolution and pooling, shared by the layers and by both kernel implementations."""


def conv_output_size(H, W, kernel_height, kernel_width, pad, stride):
    """(H', W') with H' = 1 + (H + 2 * pad - kernel_height) // stride, and likewise W'."""
    return 1 + (H + 2 * pad - kernel_height) // stride, 1 + (W + 2 * pad - kernel_width) // stride


def pool_output_size(H, W, pool_height, pool_width, stride):
    """(H', W') with H' = 1 + (H - pool_height) // stride, and likewise W'."""
    return conv_output_size(H, W, pool_height, pool_width, 0, stride)
