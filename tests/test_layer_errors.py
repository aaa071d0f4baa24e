"""Bad arguments raise ValueError with a message that names the argument and the shapes or values."""
import numpy as np
import pytest

from minicnn import layer_utils, layers

x = np.zeros((8, 3, 48, 48))


@pytest.mark.parametrize("call, message", [
    (lambda: layers.conv_forward(x, np.zeros((32, 1, 3, 3)), np.zeros(32), {"stride": 1, "pad": 1}),
     r"x has 3 channels but w expects 1 \(x: \(8, 3, 48, 48\), w: \(32, 1, 3, 3\)"),
    (lambda: layers.conv_forward(x, np.zeros((4, 3, 3, 3)), np.zeros(5), {"stride": 1, "pad": 1}),
     r"b must have one bias per filter, \(4,\)"),
    (lambda: layers.conv_forward(x[:, :, :4, :4], np.zeros((4, 3, 7, 7)), np.zeros(4), {"stride": 1, "pad": 1}),
     r"the 7x7 window is larger than the padded input 6x6"),
    (lambda: layers.conv_forward(x, np.zeros((4, 3, 3, 3)), np.zeros(4), {"stride": 2, "pad": 0}),
     r"stride 2 does not tile the input 48x48 with a 3x3 window"),
    (lambda: layers.conv_forward(x[0], np.zeros((4, 3, 3, 3)), np.zeros(4), {"stride": 1, "pad": 1}),
     r"x must be \(N, C, H, W\)"),
    (lambda: layers.conv_forward(x, np.zeros((4, 3, 3, 3)), np.zeros(4), {"stride": 0, "pad": 1}),
     r"stride must be an integer >= 1"),
    (lambda: layers.max_pool_forward(x[:, :, :5, :5], {"pool_height": 2, "pool_width": 2, "stride": 2}),
     r"stride 2 does not tile the input 5x5 with a 2x2 window"),
    (lambda: layers.max_pool_forward(x[:, :, :2, :2], {"pool_height": 3, "pool_width": 3, "stride": 1}),
     r"the 3x3 window is larger than the input 2x2"),
    (lambda: layers.affine_forward(x, np.zeros((10, 4)), np.zeros(4)),
     r"x \(8, 3, 48, 48\) flattens to 6912 features, so w must be \(6912, M\)"),
    (lambda: layers.batchnorm_forward(np.zeros((4, 3)), np.ones(3), np.zeros(3), {"mode": "eval"}),
     r"bn_param\['mode'\] must be 'train' or 'test', got 'eval'"),
    (lambda: layers.batchnorm_forward(np.zeros((4, 3)), np.ones(2), np.zeros(2), {"mode": "train"}),
     r"gamma and beta must be \(3,\) for x \(4, 3\)"),
    (lambda: layers.spatial_batchnorm_forward(np.zeros((4, 3)), np.ones(3), np.zeros(3), {}),
     r"spatial_batchnorm_forward: x must be \(N, C, H, W\), got \(4, 3\)"),
    (lambda: layers.dropout_forward(x, {"p": 0.5, "mode": "training"}),
     r"dropout_param\['mode'\] must be 'train' or 'test', got 'training'"),
    (lambda: layers.dropout_forward(x, {"p": 1.0}), r"dropout_param\['p'\] .* must be in \[0, 1\), got 1.0"),
    (lambda: layers.softmax_loss(np.zeros((3, 7)), np.array([0, 7, 1])),
     r"labels must lie in 0..6, got values from 0 to 7"),
    (lambda: layers.softmax_loss(np.zeros((3, 7)), np.array([0, -1, 1])), r"labels must lie in 0..6"),
    (lambda: layers.softmax_loss(np.zeros((3, 7)), np.array([0, 1])), r"scores must be \(N, K\) and y \(N,\)"),
    (lambda: layers.softmax_loss(np.zeros((3, 7)), np.array([0.0, 1.0, 2.0])), r"labels y must be integers"),
    (lambda: layer_utils.conv_block_forward(x, np.zeros((4, 3, 3, 3)), np.zeros(4), {"stride": 1, "pad": 1},
                                            bn_param={"mode": "train"}),
     r"gamma and beta must be \(4,\)"),
])
def test_bad_arguments_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
