"""A trained ConvNet as an ONNX graph, for ONNX Runtime and the other tools that read ONNX.

    onnx_model = export.to_onnx(models.pretrained(), "fer2013_deep.onnx")

The graph computes what ConvNet.probabilities computes in test mode, starting from raw pixels:

    image (N, C, H, W) float32, grey levels 0..255
      Sub mean_image                                          the centring of preprocessing.preprocess
      [Conv - (BatchNormalization) - Relu - (MaxPool 2x2)]    per conv block
      Flatten - (Concat with hog (N, D), the hybrid net's second input)
      [Gemm - (BatchNormalization) - Relu]                    per hidden affine block
      Gemm - Softmax -> probabilities (N, num_classes)

Dropout leaves no node, as it is the identity at test time; batch norm uses its running statistics. The mean image
is the graph's first node, a Sub, rather than folded into the first convolution: it differs from pixel to pixel, so
what it takes away after the convolution is a whole map, not one bias per filter. So the file holds everything
from pixels to emotions, and a user feeds it the face's grey levels. Weights are stored as float32 whatever the
model's dtype; the graph's metadata holds the class names and the model's info.

onnx is an optional extra: pip install "minicnn[onnx]" (onnx to write the graph, onnxruntime to run it).
"""
import json

import numpy as np

import minicnn
from minicnn import data, layers, preprocessing
from minicnn.backend import to_numpy
from minicnn.files import atomic_write

OPSET = 17                  # the ONNX operator set: ONNX Runtime has run it since version 1.13 (2022)
IMAGE_INPUT, HOG_INPUT, OUTPUT = "image", "hog", "probabilities"
POOLING = {"kernel_shape": [2, 2], "strides": [2, 2]}    # a ConvLayer's pool: 2x2 max pooling with stride 2
TOLERANCE = 1e-5            # the largest difference between ONNX Runtime's probabilities and minicnn's accepted


def import_onnx():
    """The onnx module; ImportError saying how to install it when it is missing."""
    try:
        import onnx
    except ImportError:
        raise ImportError('ONNX export needs the onnx package: pip install "minicnn[onnx]"') from None
    return onnx


def to_onnx(model, path=None):
    """The ONNX graph (onnx.ModelProto, checked by onnx.checker) of a ConvNet's test-mode probabilities; see the
    module's docstring. Written atomically to path when given.

    Inputs: image float32 (N, C, H, W) of raw pixels, and hog float32 (N, hog_dim) for the hybrid net.
    Output: probabilities float32 (N, num_classes). N is free.
    """
    if model.mean_image is None:
        raise ValueError("to_onnx: the model holds no mean training image, so the graph could not centre raw pixels; "
                         "set model.mean_image to the training images' mean first")
    onnx = import_onnx()
    graph = _Graph(onnx)
    x = graph.node("Sub", [IMAGE_INPUT, graph.weight("mean_image", model.mean_image)])
    architecture = model.architecture
    for index, layer in enumerate(architecture.conv_layers, start=1):
        x = _conv_block(graph, model, index, layer, x)
    x = graph.node("Flatten", [x], axis=1)          # (N, C * H * W), in the order of minicnn's reshape
    if architecture.hog_dim:
        x = graph.node("Concat", [x, HOG_INPUT], axis=1)
    for index, layer in enumerate(architecture.affine_layers, start=len(architecture.conv_layers) + 1):
        x = _affine_block(graph, model, index, layer, x)
    scores = graph.node("Gemm", [x, *graph.layer_weights(model, model.num_layers)])
    graph.node("Softmax", [scores], axis=1, output=OUTPUT)
    onnx_model = _model(onnx, graph, model)
    onnx.checker.check_model(onnx_model, full_check=True)
    if path is not None:
        with atomic_write(path) as file:
            file.write(onnx_model.SerializeToString())
    return onnx_model


class _Graph:
    """An ONNX graph while it is built: its nodes, its weights (initializers) and a new name for each node's output."""

    def __init__(self, onnx):
        self.onnx, self.nodes, self.weights = onnx, [], []

    def weight(self, name, array):
        """Store array as the float32 weight `name`; returns the name."""
        self.weights.append(self.onnx.numpy_helper.from_array(to_numpy(array).astype(np.float32), name))
        return name

    def layer_weights(self, model, index):
        """The names of layer index's weight W and bias b, stored."""
        return [self.weight(name, model.params[name]) for name in (f"W{index}", f"b{index}")]

    def node(self, operator, inputs, output=None, **attributes):
        """Append one node; returns the name of its output (output, else the operator and a number)."""
        output = output or f"{operator.lower()}{len(self.nodes) + 1}"
        self.nodes.append(self.onnx.helper.make_node(operator, inputs, [output], **attributes))
        return output


def _conv_block(graph, model, index, layer, x):
    """Conv - (BatchNormalization) - Relu - (MaxPool) of conv block index on x: (N, C, H, W)."""
    x = graph.node("Conv", [x, *graph.layer_weights(model, index)], kernel_shape=[layer.size, layer.size],
                   strides=[layer.stride, layer.stride], pads=[layer.padding()] * 4)
    x = graph.node("Relu", [_batchnorm(graph, model, index, x) if layer.batchnorm else x])
    return graph.node("MaxPool", [x], **POOLING) if layer.pool else x


def _affine_block(graph, model, index, layer, x):
    """Gemm - (BatchNormalization) - Relu of hidden affine block index on x: (N, D)."""
    x = graph.node("Gemm", [x, *graph.layer_weights(model, index)])
    return graph.node("Relu", [_batchnorm(graph, model, index, x) if layer.batchnorm else x])


def _batchnorm(graph, model, index, x):
    """BatchNormalization of layer index with its running statistics (test mode) on x: (N, C, ...)."""
    bn_param = model.bn_params[index]
    inputs = [graph.weight(f"gamma{index}", model.params[f"gamma{index}"]),
              graph.weight(f"beta{index}", model.params[f"beta{index}"]),
              graph.weight(f"running_mean{index}", bn_param["running_mean"]),
              graph.weight(f"running_var{index}", bn_param["running_var"])]
    return graph.node("BatchNormalization", [x, *inputs], epsilon=float(bn_param.get("eps", layers.BATCHNORM_EPS)))


def _model(onnx, graph, model):
    """The ModelProto around graph: typed inputs and output with a free batch size N, the opset, the metadata."""
    helper, architecture, float32 = onnx.helper, model.architecture, onnx.TensorProto.FLOAT
    inputs = [helper.make_tensor_value_info(IMAGE_INPUT, float32, ["N", *architecture.input_dim])]
    if architecture.hog_dim:
        inputs.append(helper.make_tensor_value_info(HOG_INPUT, float32, ["N", architecture.hog_dim]))
    output = helper.make_tensor_value_info(OUTPUT, float32, ["N", architecture.num_classes])
    opsets = [helper.make_opsetid("", OPSET)]
    onnx_model = helper.make_model(
        helper.make_graph(graph.nodes, "minicnn ConvNet", inputs, [output], graph.weights), opset_imports=opsets,
        ir_version=helper.find_min_ir_version_for(opsets), producer_name="minicnn",
        producer_version=minicnn.__version__,
        doc_string="Facial expression probabilities from grey faces: input 'image' holds raw grey levels 0..255, "
                   "centred by the graph's first node (Sub mean_image).")
    metadata = {"info": json.dumps(model.info)}
    if architecture.num_classes == len(data.CLASS_NAMES):
        metadata["classes"] = json.dumps(data.CLASS_NAMES)
    helper.set_model_props(onnx_model, metadata)
    return onnx_model


def onnxruntime_probabilities(onnx_model, images, hog=None):
    """Run onnx_model (a ModelProto or a file) in ONNX Runtime on the CPU: images (N, C, H, W) raw pixels, and hog
    (N, D) for a hybrid net -> probabilities float32 (N, num_classes)."""
    import onnxruntime
    source = onnx_model.SerializeToString() if hasattr(onnx_model, "SerializeToString") else str(onnx_model)
    session = onnxruntime.InferenceSession(source, providers=["CPUExecutionProvider"])
    feeds = {IMAGE_INPUT: np.asarray(images, dtype=np.float32)}
    if hog is not None:
        feeds[HOG_INPUT] = np.asarray(hog, dtype=np.float32)
    return session.run([OUTPUT], feeds)[0]


def difference_from_onnxruntime(model, onnx_model, images):
    """The largest absolute difference between model's probabilities and ONNX Runtime's with onnx_model (its
    export) on uint8 grey images (N, H, W); a hybrid net gets their HOG features as its second input."""
    X = preprocessing.model_inputs(model, images, hog_cache=False)
    ours = to_numpy(model.probabilities(X))
    hog = X[1] if model.architecture.hog_dim else None
    theirs = onnxruntime_probabilities(onnx_model, images[:, np.newaxis].astype(np.float32), hog)
    return float(np.abs(theirs - ours).max())
