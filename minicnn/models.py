"""The paper's configurable network, its presets, and saving/loading a trained model.

    [Conv-(SBN)-ReLU-(Dropout)-(MaxPool)] x M - [Affine-(BN)-ReLU-(Dropout)] x N - Affine - Softmax

With hog_dim > 0 the network is the paper's hybrid: HOG features are concatenated with the flattened output of the
last conv block before the first affine layer, and its input X is the pair (images, hog).

Parameters are named as in cs231n: layer i (1-based, conv layers first, then affine layers, then the scores layer)
has W{i}, b{i}, and gamma{i}, beta{i} when it has batch norm.
"""
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from minicnn import augmentation, layer_utils, layers
from minicnn.backend import get_array_module, move_model, to_device, to_numpy
from minicnn.files import DamagedFileError, load_arrays, save_arrays, under_prefix
from minicnn.kernels.checks import window_output_size
from minicnn.kernels.shapes import pool_output_size

NUM_CLASSES = 7
MODEL_FORMAT = "minicnn-convnet-1"
SCORES_WEIGHT_SCALE = 1e-2
PRETRAINED_FOLDER = Path(__file__).with_name("pretrained")
# The models that ship with minicnn, by name (pretrained(name)), and the one pretrained() returns.
PRETRAINED_FILES = {"paper-deep": "fer2013_deep.npz"}
DEFAULT_PRETRAINED = "paper-deep"
PRETRAINED_MODEL = PRETRAINED_FOLDER / PRETRAINED_FILES[DEFAULT_PRETRAINED]


@dataclass
class ConvLayer:
    """One conv block: `filters` filters of size x size, 'same' zero padding when pad is None."""
    filters: int
    size: int = 3
    stride: int = 1
    pad: int | None = None
    batchnorm: bool = True
    dropout: float = 0.0          # probability of dropping a unit; 0 means no dropout layer
    pool: bool = True             # 2x2 max pooling with stride 2

    def padding(self):
        """The zero padding on each side: pad, or for 'same' (pad None) (size - 1) // 2, which keeps H and W at
        stride 1 for an odd size."""
        return (self.size - 1) // 2 if self.pad is None else self.pad


@dataclass
class AffineLayer:
    """One hidden fully connected block of `units` units."""
    units: int
    batchnorm: bool = True
    dropout: float = 0.0


@dataclass
class Architecture:
    """Everything needed to rebuild a ConvNet; saved with the model as JSON."""
    conv_layers: list = field(default_factory=list)
    affine_layers: list = field(default_factory=list)
    input_dim: tuple = (1, 48, 48)
    num_classes: int = NUM_CLASSES
    hog_dim: int = 0

    def to_json(self):
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text):
        fields = json.loads(text)
        fields["conv_layers"] = [ConvLayer(**layer) for layer in fields["conv_layers"]]
        fields["affine_layers"] = [AffineLayer(**layer) for layer in fields["affine_layers"]]
        fields["input_dim"] = tuple(fields["input_dim"])
        return cls(**fields)


def _as_layer(spec, kind):
    return spec if isinstance(spec, kind) else kind(**spec) if isinstance(spec, dict) else kind(spec)


class ConvNet:
    """The paper's network, configurable layer by layer, with a cs231n model interface.

    conv_layers: ConvLayer, dict of its fields, or an int (a number of filters) per conv block.
    affine_layers: AffineLayer, dict, or int (a number of units) per hidden affine block.
    input_dim: (C, H, W) of one image. hog_dim: length of the HOG vector of the hybrid net (0: plain net).
    reg: L2 strength, loss += 0.5 * reg * sum(W ** 2) over the weights W (not biases, not batch-norm parameters).
    weight_scale: None for He initialisation (std sqrt(2 / fan_in), suited to ReLU), or a fixed std.
    dtype: float32 to train, float64 for gradient checks. seed: makes initialisation and dropout repeatable.
    label_smoothing: the training loss's label smoothing (layers.softmax_loss; 0: none). It shapes training only and
    is not saved with the model.
    """

    def __init__(self, conv_layers=(), affine_layers=(), input_dim=(1, 48, 48), num_classes=NUM_CLASSES, hog_dim=0,
                 reg=0.0, weight_scale=None, dtype=np.float32, seed=None, label_smoothing=0.0):
        self.architecture = Architecture([_as_layer(spec, ConvLayer) for spec in conv_layers],
                                         [_as_layer(spec, AffineLayer) for spec in affine_layers],
                                         tuple(input_dim), num_classes, hog_dim)
        self.reg, self.dtype, self.label_smoothing = reg, np.dtype(dtype), label_smoothing
        self.mean_image = None                      # the training mean subtracted from inputs; saved with the model
        self.info = {}                              # where a saved model comes from and how it scored; saved too
        rng = np.random.default_rng(seed)
        self.dropout_seed = int(rng.integers(2 ** 62))
        self.training_passes = 0                    # training passes so far: each one draws new dropout masks
        self.params, self.bn_params = {}, {}
        self._build(rng, weight_scale)

    # ----------------------------------------------------------------------------------------- construction
    def _build(self, rng, weight_scale):
        channels, height, width = self.architecture.input_dim
        for index, layer in enumerate(self.architecture.conv_layers, start=1):
            height, width = self._conv_output(index, height, width, layer)
            self._add_weights(index, (layer.filters, channels, layer.size, layer.size), rng, weight_scale)
            self._add_batchnorm(index, layer.filters, layer.batchnorm)
            channels = layer.filters
        features = channels * height * width + self.architecture.hog_dim
        first_affine = len(self.architecture.conv_layers) + 1
        for index, layer in enumerate(self.architecture.affine_layers, start=first_affine):
            self._add_weights(index, (features, layer.units), rng, weight_scale)
            self._add_batchnorm(index, layer.units, layer.batchnorm)
            features = layer.units
        # The scores layer feeds no ReLU: small weights make every class equally likely at first (loss ln 7).
        self._add_weights(self.num_layers, (features, self.architecture.num_classes), rng,
                          SCORES_WEIGHT_SCALE if weight_scale is None else weight_scale)

    def _conv_output(self, index, height, width, layer):
        """(H', W') after conv block `index` (and its pooling); a size that does not tile is an error now."""
        height, width = window_output_size(f"conv layer {index}", height, width, layer.size, layer.size,
                                           layer.padding(), layer.stride, tiled=True)
        if layer.pool:
            if height % 2 or width % 2:
                raise ValueError(f"conv layer {index}: 2x2 pooling needs an even input, got {height}x{width}")
            height, width = pool_output_size(height, width, 2, 2, 2)
        return height, width

    def _add_weights(self, index, shape, rng, weight_scale):
        fan_in = int(np.prod(shape[1:])) if len(shape) == 4 else shape[0]
        std = np.sqrt(2.0 / fan_in) if weight_scale is None else weight_scale
        self.params[f"W{index}"] = (std * rng.standard_normal(shape)).astype(self.dtype)
        self.params[f"b{index}"] = np.zeros(shape[0] if len(shape) == 4 else shape[1], dtype=self.dtype)

    def _add_batchnorm(self, index, size, enabled):
        if enabled:
            self.params[f"gamma{index}"] = np.ones(size, dtype=self.dtype)
            self.params[f"beta{index}"] = np.zeros(size, dtype=self.dtype)
            self.bn_params[index] = {"mode": "train", "running_mean": np.zeros(size, dtype=self.dtype),
                                     "running_var": np.ones(size, dtype=self.dtype)}

    @property
    def num_layers(self):
        """Layers with weights: conv blocks + hidden affine blocks + the scores layer."""
        return len(self.architecture.conv_layers) + len(self.architecture.affine_layers) + 1

    # ------------------------------------------------------------------------------------------ the network
    def loss(self, X, y=None):
        """Scores, or loss and gradients, cs231n style.

        X: images (N, C, H, W), or the pair (images, hog (N, hog_dim)) for the hybrid net; y: (N,) labels or None.
        y None -> scores (N, num_classes) in test mode (no dropout, batch-norm running statistics).
        y given -> (loss, grads) in training mode, grads[name] shaped like params[name].
        """
        images, hog = self._split_input(X)
        mode = "test" if y is None else "train"
        if mode == "train":
            self.training_passes += 1
        out, caches = images, []
        for index in range(1, len(self.architecture.conv_layers) + 1):
            out, cache = layer_utils.conv_block_forward(out, self.params[f"W{index}"], self.params[f"b{index}"],
                                                        **self._conv_block_arguments(index, mode))
            caches.append(cache)
        conv_shape = out.shape
        out = out.reshape(out.shape[0], -1)
        if hog is not None:
            out = get_array_module(out).concatenate([out, hog.astype(out.dtype, copy=False)], axis=1)
        for index in range(len(self.architecture.conv_layers) + 1, self.num_layers):
            out, cache = layer_utils.affine_block_forward(out, self.params[f"W{index}"], self.params[f"b{index}"],
                                                          **self._affine_block_arguments(index, mode))
            caches.append(cache)
        scores, scores_cache = layers.affine_forward(out, self.params[f"W{self.num_layers}"],
                                                     self.params[f"b{self.num_layers}"])
        if y is None:
            return scores
        loss, dscores = layers.softmax_loss(scores, y, self.label_smoothing)
        grads = self._backward(dscores, scores_cache, caches, conv_shape)
        if self.reg:
            for name, w in self.params.items():
                if name.startswith("W"):
                    loss += 0.5 * self.reg * (w * w).sum()
                    grads[name] += self.reg * w
        return loss, grads

    def _backward(self, dscores, scores_cache, caches, conv_shape):
        grads = {}
        num_conv = len(self.architecture.conv_layers)
        dout, grads[f"W{self.num_layers}"], grads[f"b{self.num_layers}"] = layers.affine_backward(dscores,
                                                                                                 scores_cache)
        for index in range(self.num_layers - 1, 0, -1):
            if index == num_conv:
                # The first affine layer read [conv features | hog]: only the conv part flows back into the convs.
                conv_features = int(np.prod(conv_shape[1:]))
                dout = dout[:, :conv_features].reshape(conv_shape)
            block_backward = layer_utils.conv_block_backward if index <= num_conv else layer_utils.affine_block_backward
            # pop: each block's cache is let go once used (caches is empty at the end), so the earlier blocks'
            # gradients need no memory of their own
            dout, dw, db, dgamma, dbeta = block_backward(dout, caches.pop())
            grads[f"W{index}"], grads[f"b{index}"] = dw, db
            if dgamma is not None:
                grads[f"gamma{index}"], grads[f"beta{index}"] = dgamma, dbeta
        return grads

    def _split_input(self, X):
        if self.architecture.hog_dim:
            if not isinstance(X, (tuple, list)) or len(X) != 2:
                raise ValueError("this hybrid ConvNet takes X = (images (N, C, H, W), hog (N, hog_dim))")
            images, hog = X
            if hog.shape != (len(images), self.architecture.hog_dim):
                raise ValueError(f"hog must be ({len(images)}, {self.architecture.hog_dim}), got {hog.shape}")
        else:
            images, hog = X, None
        if tuple(images.shape[1:]) != self.architecture.input_dim:
            raise ValueError(f"images must be (N, {', '.join(map(str, self.architecture.input_dim))}), "
                             f"got {tuple(images.shape)}")
        return images, hog

    def _conv_block_arguments(self, index, mode):
        layer = self.architecture.conv_layers[index - 1]
        arguments = {"conv_param": {"stride": layer.stride, "pad": layer.padding()},
                     "pool_param": {"pool_height": 2, "pool_width": 2, "stride": 2} if layer.pool else None}
        return {**arguments, **self._batchnorm_and_dropout_arguments(index, layer, mode)}

    def block_arguments(self, index, mode="test"):
        """The keyword arguments of layer_utils' block function for hidden layer `index` (1-based: conv blocks,
        then affine blocks) in `mode`, so that code outside the model (minicnn.visualize) can run its blocks one
        by one: conv_block_forward(x, params[f"W{index}"], params[f"b{index}"], **block_arguments(index))."""
        if not 1 <= index < self.num_layers:
            raise ValueError(f"layer {index} is not a hidden block: the model has blocks 1..{self.num_layers - 1} "
                             f"and the scores layer {self.num_layers}")
        if index <= len(self.architecture.conv_layers):
            return self._conv_block_arguments(index, mode)
        return self._affine_block_arguments(index, mode)

    def _affine_block_arguments(self, index, mode):
        layer = self.architecture.affine_layers[index - len(self.architecture.conv_layers) - 1]
        return self._batchnorm_and_dropout_arguments(index, layer, mode)

    def _batchnorm_and_dropout_arguments(self, index, layer, mode):
        """gamma, beta, bn_param and dropout_param of block `index`, each None when the block has none."""
        arguments = {"gamma": None, "beta": None, "bn_param": None, "dropout_param": None}
        if layer.batchnorm:
            self.bn_params[index]["mode"] = mode
            arguments.update(gamma=self.params[f"gamma{index}"], beta=self.params[f"beta{index}"],
                             bn_param=self.bn_params[index])
        if layer.dropout:
            # A new mask every training pass, yet the whole run repeats from the model's seed.
            seed = (self.dropout_seed + 1_000_003 * self.training_passes + 7919 * index) % 2 ** 63
            arguments["dropout_param"] = {"p": layer.dropout, "mode": mode, "seed": seed}
        return arguments

    # ------------------------------------------------------------------------------------------------- use
    def scores(self, X, batch_size=256):
        """Class scores in test mode, batch by batch. X: (N, C, H, W) or (images, hog) -> (N, num_classes)."""
        images, hog = self._split_input(X)
        xp = get_array_module(self.params["W1"])
        batches = []
        for start in range(0, len(images), batch_size):
            batch = to_device(images[start:start + batch_size], "gpu" if xp is not np else "cpu")
            if hog is not None:
                batch = (batch, to_device(hog[start:start + batch_size], "gpu" if xp is not np else "cpu"))
            batches.append(self.loss(batch))
        return xp.concatenate(batches) if batches else xp.zeros((0, self.architecture.num_classes), self.dtype)

    def probabilities(self, X, batch_size=256, mirror=False, crops=False):
        """Softmax class probabilities (N, num_classes) for X: (N, C, H, W), or (images, hog) for the hybrid net.

        mirror and crops are test-time augmentation: the probabilities of several views of each image, averaged.
        crops=True takes the five crops of augmentation.crop_views (the centre and the four corners, 7/8 of the
        side, scaled back up, as training's random zoom does) instead of the image itself; mirror=True adds the
        mirror image (flipped left to right, as in training) of each view. Both together average ten views, the
        "ten-crop" of Krizhevsky et al. (2012). The hybrid net can do neither: its HOG input belongs to the
        unchanged image.
        """
        if not (mirror or crops):
            return _softmax(self.scores(X, batch_size))
        if self.architecture.hog_dim:
            raise ValueError("test-time augmentation (mirror, crops) needs the HOG features of the changed images, "
                             "which the hybrid net's input does not hold; score the hybrid net without it")
        views = augmentation.crop_views(X) if crops else [X]
        views += [augmentation.mirrored(view) for view in views] if mirror else []
        return sum(_softmax(self.scores(view, batch_size)) for view in views) / len(views)

    def predict(self, X, batch_size=256, mirror=False, crops=False):
        """Predicted labels (N,) for X: (N, C, H, W), or (images, hog) for the hybrid net; mirror and crops as in
        probabilities."""
        return self.probabilities(X, batch_size, mirror, crops).argmax(axis=1)

    @property
    def hog_dim(self):
        """The length of the HOG vector the hybrid net takes beside the images (0: a plain net)."""
        return self.architecture.hog_dim

    def get_state(self):
        """The arrays a checkpoint needs beyond params: batch-norm running statistics and the dropout counter."""
        # The key keeps the name it had in the first files written ("forward_count"), so those files still load.
        state = {"forward_count": np.array(self.training_passes), "dropout_seed": np.array(self.dropout_seed)}
        for index, bn_param in self.bn_params.items():
            for statistic in ("running_mean", "running_var"):
                state[f"{statistic}{index}"] = bn_param[statistic]
        return state

    def set_state(self, state):
        """Put back what get_state returned."""
        self.training_passes = int(state.get("forward_count", self.training_passes))
        self.dropout_seed = int(state.get("dropout_seed", self.dropout_seed))
        for index, bn_param in self.bn_params.items():
            for statistic in ("running_mean", "running_var"):
                if f"{statistic}{index}" in state:
                    bn_param[statistic] = state[f"{statistic}{index}"]

    def to(self, device):
        """Move params and batch-norm statistics to 'cpu' or 'gpu' (or 'auto'); returns the model."""
        return move_model(self, device)

    def save(self, path, dtype=None):
        """Write the model to one .npz (params, state, architecture, mean image, info), loadable without pickle.

        dtype: the floating-point type to store params and statistics in (None: as they are). float16 halves a
        float32 file; load turns it back into float32. self.info (a dict of strings and numbers: where the model
        comes from, how it scored) is stored as JSON.
        """
        arrays = {f"param/{name}": _stored(name, w, dtype) for name, w in self.params.items()}
        arrays.update({f"state/{name}": _stored(name, a, dtype) for name, a in self.get_state().items()})
        arrays["format"] = np.array(MODEL_FORMAT)
        arrays["architecture"] = np.array(self.architecture.to_json())
        arrays["reg"] = np.array(self.reg)
        arrays["info"] = np.array(json.dumps(self.info))
        if self.mean_image is not None:
            arrays["mean_image"] = to_numpy(self.mean_image)
        save_arrays(path, arrays)


def _stored(name, array, dtype):
    """array on the host, its floating-point values in dtype (None: unchanged); integer arrays stay as they are.
    A value that dtype cannot hold (above 65504 in float16) is refused, naming the array."""
    array = to_numpy(array)
    if dtype is None or array.dtype.kind != "f":
        return array
    with np.errstate(over="ignore"):          # an overflow is refused below, by name
        narrowed = array.astype(dtype)
    if not np.isfinite(narrowed).all() and np.isfinite(array).all():
        raise ValueError(f"{name}: values up to {np.abs(array).max():.3g} do not fit in {np.dtype(dtype).name}; "
                         "save the model without dtype")
    return narrowed


def _softmax(scores):
    """Row-wise softmax of scores (N, K), stable for large scores."""
    xp = get_array_module(scores)
    exponentials = xp.exp(scores - scores.max(axis=1, keepdims=True))
    return exponentials / exponentials.sum(axis=1, keepdims=True)


def load(path):
    """Read a model written by ConvNet.save (no pickles) -> ConvNet on the CPU, ready to predict.

    A file that is missing, damaged, not a minicnn model or inconsistent with its own architecture raises a
    ValueError naming the file and the problem.
    """
    if not os.path.isfile(path):
        raise ValueError(f"{path}: no such model file (training writes one to runs/<name>/model.npz)")
    try:
        arrays = load_arrays(path)
    except DamagedFileError as error:
        raise ValueError(f"{path}: not a minicnn model file, or a damaged one: {error.reason}") from None
    if str(arrays.get("format", "")) != MODEL_FORMAT:
        raise ValueError(f"{path}: not a minicnn model file (format {MODEL_FORMAT!r} expected)")
    try:
        architecture = Architecture.from_json(str(arrays["architecture"]))
        reg = float(arrays["reg"])
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{path}: the architecture of the model cannot be read ({error!r})") from None
    params = _widened(under_prefix(arrays, "param/"))
    model = ConvNet(architecture.conv_layers, architecture.affine_layers, architecture.input_dim,
                    architecture.num_classes, architecture.hog_dim, reg=reg,
                    dtype=params["W1"].dtype if "W1" in params else np.float32)
    _check_shapes(path, "param/", params, model.params, exact=True)
    state = _widened(under_prefix(arrays, "state/"))
    _check_shapes(path, "state/", state, model.get_state(), exact=False)
    model.params = params
    model.set_state(state)
    model.info = _read_info(path, arrays)
    model.mean_image = arrays.get("mean_image")
    if model.mean_image is not None and model.mean_image.shape != tuple(architecture.input_dim[1:]):
        raise ValueError(f"{path}: the mean image is {model.mean_image.shape}, but the model takes "
                         f"{tuple(architecture.input_dim)} inputs, so it must be (H, W) = "
                         f"{tuple(architecture.input_dim[1:])}")
    return model


def _widened(arrays):
    """arrays (name -> array) with float16 ones, stored so to halve a file, made float32 again for computing."""
    return {name: a.astype(np.float32) if a.dtype == np.float16 else a for name, a in arrays.items()}


def _read_info(path, arrays):
    """The info dict saved with the model ({} for files written before models carried one)."""
    if "info" not in arrays:
        return {}
    try:
        info = json.loads(str(arrays["info"]))
    except ValueError as error:
        raise ValueError(f"{path}: the model's info is not valid JSON ({error})") from None
    if not isinstance(info, dict):
        raise ValueError(f"{path}: the model's info must be a JSON object, got {type(info).__name__}")
    return info


def pretrained(name=None):
    """A model trained on FER2013 that ships with minicnn (minicnn/pretrained/, each with its model card) -> ConvNet
    on the CPU, ready to predict 48x48 grey faces; model.info says how it was trained and scored.

    name: one of PRETRAINED_FILES ('paper-deep': the paper's deep net, which the paper's tables refer to), or None
    for the default, the most accurate one (DEFAULT_PRETRAINED).
    """
    if name is None:
        path = PRETRAINED_MODEL
    elif name in PRETRAINED_FILES:
        path = PRETRAINED_FOLDER / PRETRAINED_FILES[name]
    else:
        raise ValueError(f"no pretrained model is named {name!r}; minicnn ships {sorted(PRETRAINED_FILES)}")
    if not path.is_file():
        raise ValueError(f"{path}: this installation of minicnn holds no pretrained model; train one with "
                         "examples/train_deep.py and load it with minicnn.models.load(path)")
    return load(path)


def _check_shapes(path, prefix, found, expected, exact):
    """Every array of `expected` must be in `found` with the same shape (when exact, nothing else may be there)."""
    for name, array in expected.items():
        if name in found and found[name].shape == array.shape:
            continue
        if exact or name in found:
            raise ValueError(f"{path}: '{prefix}{name}' is missing or has the wrong shape for its architecture "
                             f"(expected {array.shape})")
    extra = sorted(set(found) - set(expected))
    if exact and extra:
        raise ValueError(f"{path}: '{prefix}{extra[0]}' does not belong to the model's architecture")


def shallow_net(hog=False, **overrides):
    """The paper's shallow net: conv 32 3x3 + SBN + dropout, conv 64 3x3 + SBN + dropout + 2x2 pool, FC 512.

    hog=True makes its hybrid twin (HOG of the default parameters, 900 features). overrides go to ConvNet.
    """
    arguments = dict(conv_layers=[ConvLayer(32, 3, dropout=0.25, pool=False), ConvLayer(64, 3, dropout=0.25)],
                     affine_layers=[AffineLayer(512, dropout=0.5)], hog_dim=_default_hog_dim() if hog else 0)
    return ConvNet(**{**arguments, **overrides})


def deep_net(hog=False, **overrides):
    """The paper's deep net: conv 64 3x3, 128 5x5, 512 3x3, 512 3x3, each with SBN, dropout and 2x2 pooling, then
    FC 256 and FC 512 with BN and dropout. hog=True makes its hybrid twin. overrides go to ConvNet."""
    conv = [ConvLayer(filters, size, dropout=0.25) for filters, size in ((64, 3), (128, 5), (512, 3), (512, 3))]
    arguments = dict(conv_layers=conv, affine_layers=[AffineLayer(256, dropout=0.5), AffineLayer(512, dropout=0.5)],
                     hog_dim=_default_hog_dim() if hog else 0)
    return ConvNet(**{**arguments, **overrides})


def vgg_net(hog=False, **overrides):
    """A VGG-style net, beyond the paper (after Simonyan and Zisserman's VGG, as Khaireddin and Chen, 2021, train it
    on FER2013): four stages of two 3x3 conv blocks with SBN and ReLU, 64, 128, 256 and 512 filters, the second block
    of each stage 2x2 max-pooled (48 -> 24 -> 12 -> 6 -> 3), then FC 512 and FC 512 with BN and dropout 0.5.

    Two small 3x3 convs see as far as one 5x5 (two ReLUs, fewer weights). About 7.3 million parameters, 15 MB in
    float16. hog=True makes its hybrid twin. overrides go to ConvNet.
    """
    conv = [ConvLayer(filters, 3, pool=pool) for filters in (64, 128, 256, 512) for pool in (False, True)]
    arguments = dict(conv_layers=conv, affine_layers=[AffineLayer(512, dropout=0.5), AffineLayer(512, dropout=0.5)],
                     hog_dim=_default_hog_dim() if hog else 0)
    return ConvNet(**{**arguments, **overrides})


def _default_hog_dim():
    from minicnn.features import hog_dim
    return hog_dim()
