"""Looking inside a trained ConvNet: its first layer's filters, the activation maps of its conv layers, DeepDream,
saliency maps and class-model images (the paper's Figures 9-11 and cs231n's third assignment).

Everything runs on minicnn's own backward passes. `forward` runs the network block by block in test mode (no
dropout, batch-norm running statistics) and keeps each block's output and cache; `backward` carries the gradient
of the last output it ran back to the input images, through the same layer_utils backward functions that training
uses. The Solver and the model's training code are not involved.

Two kinds of images appear here. The network's inputs are centred: float (N, C, H, W), pixels minus the model's
mean image (preprocessing.preprocess). DeepDream and class models work on pixels, (N, C, H, W) grey levels
0..255, and centre them for the network on every step, so that they can keep the picture within the grey levels a
photo can have.
"""
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter  # scipy comes with scikit-image
from skimage.transform import resize

from minicnn import layer_utils, layers
from minicnn.data import CLASS_NAMES
from minicnn.plots import saved_figure

PIXEL_RANGE = (0.0, 255.0)


# ------------------------------------------------------------------------------------ forward and backward
def forward(model, images, last_layer=None):
    """Run layers 1..last_layer (default: all of them, up to the scores) in test mode, keeping every output.

    images: (N, C, H, W) centred inputs of a plain ConvNet (the hybrid's HOG features have no backward pass, so
    only its conv layers can be run here). Conv layers take any H, W that their convolutions and poolings tile;
    affine layers need the model's input size.
    Returns (outputs, caches): outputs[i - 1] is layer i's output, (N, F, H', W') for a conv block (after its
    ReLU and pooling), (N, M) for an affine block, the class scores (N, K) for the last layer; caches for backward.
    """
    num_conv = len(model.architecture.conv_layers)
    last_layer = model.num_layers if last_layer is None else last_layer
    if not 1 <= last_layer <= model.num_layers:
        raise ValueError(f"layer {last_layer} does not exist: the model has layers 1..{model.num_layers}")
    if model.architecture.hog_dim and last_layer > num_conv:
        raise ValueError(f"layer {last_layer} of a hybrid net also reads HOG features, which have no backward "
                         f"pass: only its conv layers 1..{num_conv} can be looked into")
    out = images.astype(model.dtype, copy=False)
    outputs, caches = [], []
    for index in range(1, last_layer + 1):
        weights = model.params[f"W{index}"], model.params[f"b{index}"]
        if index == model.num_layers:
            out, cache = layers.affine_forward(out, *weights)
        elif index <= num_conv:
            out, cache = layer_utils.conv_block_forward(out, *weights, **model.block_arguments(index))
        else:
            out, cache = layer_utils.affine_block_forward(out, *weights, **model.block_arguments(index))
        outputs.append(out)
        caches.append(cache)
    return outputs, caches


def backward(model, dout, caches):
    """Gradient with respect to the input images of sum(dout * the last output that forward ran).

    dout: that output's shape; caches: the caches forward returned. Returns dimages: (N, C, H, W).
    """
    num_conv = len(model.architecture.conv_layers)
    for index in range(len(caches), 0, -1):
        if index == model.num_layers:
            dout = layers.affine_backward(dout, caches[index - 1])[0]
        elif index <= num_conv:
            dout = layer_utils.conv_block_backward(dout, caches[index - 1])[0]
        else:  # affine_backward gives dx the shape of its input: an affine block after the convs unflattens it
            dout = layer_utils.affine_block_backward(dout, caches[index - 1])[0]
    return dout


def activation_maps(model, images):
    """The output of every conv layer for images: (N, C, H, W) centred -> a list of (N, F_i, H_i, W_i)."""
    return forward(model, images, len(model.architecture.conv_layers))[0]


def saliency_maps(model, images, classes=None):
    """How much each pixel sways one class score: max over channels of |d score_c / d image| (Simonyan et al.).

    images: (N, C, H, W) centred; classes: (N,) the class of each image's score, None for the predicted class.
    Returns (saliency (N, H, W), classes (N,)).
    """
    outputs, caches = forward(model, images)
    scores = outputs[-1]
    classes = scores.argmax(axis=1) if classes is None else np.asarray(classes)
    dscores = np.zeros_like(scores)
    dscores[np.arange(len(scores)), classes] = 1
    return np.abs(backward(model, dscores, caches)).max(axis=1), classes


# ------------------------------------------------------------------------------ images made by gradient ascent
def _mean_face(model, height, width):
    """The model's mean training image resized to (height, width), float64 (zeros when the model has none)."""
    if model.mean_image is None:
        return np.zeros((height, width))
    return resize(np.asarray(model.mean_image, dtype=np.float64), (height, width), order=1)


def _centred(model, pixels):
    """pixels: (N, C, H, W) -> the network's input, pixels minus the mean face resized to H x W."""
    return pixels - _mean_face(model, *pixels.shape[2:])


def _ascent_step(pixels, gradient, step_size):
    """One gradient-ascent step of step_size grey levels on average in each image, kept within 0..255.
    pixels, gradient: (N, C, H, W)."""
    step = step_size * gradient / (np.abs(gradient).mean(axis=(1, 2, 3), keepdims=True) + 1e-12)
    return np.clip(pixels + step, *PIXEL_RANGE)


def _jittered_gradient(gradient_of, pixels, jitter, rng):
    """gradient_of(pixels) computed on the images rolled by a random shift of up to `jitter` pixels each way, then
    rolled back: the shift keeps the ascent from building the same high-frequency pattern at fixed places."""
    shift = tuple(int(s) for s in rng.integers(-jitter, jitter + 1, size=2))
    gradient = gradient_of(np.roll(pixels, shift, axis=(2, 3)))
    return np.roll(gradient, (-shift[0], -shift[1]), axis=(2, 3))


def _size_multiple(model, layer):
    """What H and W must be multiples of for conv layers 1..layer to tile them: each pooling halves, each stride
    divides."""
    multiple = 1
    for conv in model.architecture.conv_layers[:layer]:
        multiple *= conv.stride * (2 if conv.pool else 1)
    return multiple


def _octave_sizes(height, width, octaves, octave_scale, multiple):
    """(H, W) of each octave, smallest first and the image's own size last, each a multiple of `multiple`."""
    sizes = []
    for octave in range(octaves - 1, 0, -1):
        shrink = octave_scale ** octave
        sizes.append(tuple(max(multiple, int(round(size / shrink / multiple)) * multiple) for size in (height, width)))
    return sizes + [(height, width)]


def deep_dream(model, pixels, layer, steps=10, step_size=1.5, jitter=2, octaves=3, octave_scale=1.4, seed=0):
    """DeepDream: change images so that conv layer `layer` responds more, by gradient ascent on the input.

    pixels: (N, C, H, W) grey levels 0..255 (H, W multiples of the layer's total pooling and stride). The
    objective of each image is 0.5 * ||its activations at layer||^2, whose gradient with respect to the
    activations is the activations themselves. Each of the `steps` steps per octave moves step_size grey levels on
    average, on a randomly jittered copy; octaves: the dream starts on the images shrunk by
    octave_scale ** (octaves - 1), and the details it adds are enlarged and carried on to each larger octave, up
    to the images' own size. Returns the dreamed images (N, C, H, W) float64, within 0..255.
    """
    if not 1 <= layer <= len(model.architecture.conv_layers):
        raise ValueError(f"deep_dream works on conv layers 1..{len(model.architecture.conv_layers)}, got {layer}")
    rng = np.random.default_rng(seed)
    pixels = np.asarray(pixels, dtype=np.float64)

    def gradient_of(images):
        outputs, caches = forward(model, _centred(model, images), layer)
        return backward(model, outputs[-1], caches).astype(np.float64)

    detail = None
    for size in _octave_sizes(*pixels.shape[2:], octaves, octave_scale, _size_multiple(model, layer)):
        base = resize(pixels, (*pixels.shape[:2], *size), order=1, preserve_range=True)
        detail = np.zeros_like(base) if detail is None else resize(detail, base.shape, order=1)
        dream = np.clip(base + detail, *PIXEL_RANGE)
        for _ in range(steps):
            dream = _ascent_step(dream, _jittered_gradient(gradient_of, dream, jitter, rng), step_size)
        detail = dream - base
    return dream


def class_model_images(model, classes, steps=100, step_size=2.0, l2_reg=1e-5, blur_every=10, blur_sigma=0.5,
                       jitter=2, seed=0):
    """For each class c of classes, an image the network scores as c: gradient ascent on score[c] - l2_reg *
    ||x||^2 from a little noise around the mean face, where x is the centred image (cs231n, Simonyan et al.).

    The L2 term keeps x near the mean face and a Gaussian blur of blur_sigma pixels every blur_every steps removes
    the high-frequency noise that the ascent would otherwise build. Each step moves step_size grey levels on
    average. classes: (N,) class indices. Returns pixels (N, C, H, W) float64 within 0..255, of the model's input
    size; all N images are made together, one forward and backward pass per step.
    """
    classes = np.asarray(classes)
    if classes.ndim != 1 or classes.min(initial=0) < 0 or classes.max(initial=0) >= model.architecture.num_classes:
        raise ValueError(f"classes must be a list of class indices in 0..{model.architecture.num_classes - 1}, "
                         f"got {classes.tolist()}")
    rng = np.random.default_rng(seed)
    shape = (len(classes), *model.architecture.input_dim)
    pixels = np.clip(_mean_face(model, *shape[2:]) + rng.normal(0, 10, size=shape), *PIXEL_RANGE)

    def gradient_of(images):
        centred = _centred(model, images)
        outputs, caches = forward(model, centred)
        dscores = np.zeros_like(outputs[-1])
        dscores[np.arange(len(classes)), classes] = 1
        return backward(model, dscores, caches).astype(np.float64) - 2 * l2_reg * centred

    for step in range(1, steps + 1):
        pixels = _ascent_step(pixels, _jittered_gradient(gradient_of, pixels, jitter, rng), step_size)
        if blur_every and step % blur_every == 0:
            pixels = gaussian_filter(pixels, sigma=(0, 0, blur_sigma, blur_sigma))
    return pixels


# ---------------------------------------------------------------------------------------------------- figures
@dataclass
class Panel:
    """One small image of a figure grid: image (H, W) or (H, W, 3), its title, colour map and value range (None:
    the image's own minimum and maximum)."""
    image: np.ndarray
    title: str = ""
    cmap: str = "gray"
    value_range: tuple | None = PIXEL_RANGE


def plot_grid(rows, path, title=None, row_labels=None, panel_size=1.4):
    """Draw rows of Panels (a list of lists; None leaves a cell empty) as one figure and write it to path (PNG).

    row_labels: a label written left of each row. Returns path.
    """
    ncols = max(len(row) for row in rows)
    figsize = (panel_size * ncols + (1.2 if row_labels else 0), panel_size * 1.15 * len(rows) + (0.5 if title else 0))
    with saved_figure(path, figsize, nrows=len(rows), ncols=ncols) as (fig, axes):
        for row_index, row in enumerate(rows):
            for column in range(ncols):
                ax = axes[row_index, column]
                ax.set_xticks([])
                ax.set_yticks([])
                panel = row[column] if column < len(row) else None
                if panel is None:
                    ax.set_axis_off()
                    continue
                vmin, vmax = panel.value_range or (None, None)
                ax.imshow(panel.image, cmap=panel.cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
                ax.set_title(panel.title, fontsize=8)
            if row_labels:
                axes[row_index, 0].set_ylabel(row_labels[row_index], fontsize=8)
        if title:
            fig.suptitle(title, fontsize=10)
    return path


def displayable(image):
    """(C, H, W) -> what imshow draws: (H, W) for one channel, (H, W, C) otherwise."""
    image = np.asarray(image)
    return image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)


def plot_filters(weights, path, columns=8, title=None):
    """The filters of a conv layer as a grid of small images (the paper's Figure 10).

    weights: (F, C, HH, WW), e.g. model.params["W1"]; each filter is stretched to its own minimum..maximum, so
    dark is its most negative weight and light its most positive. Returns path.
    """
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 4:
        raise ValueError(f"plot_filters: weights must be (F, C, HH, WW), got {weights.shape}")
    lows = weights.min(axis=(1, 2, 3), keepdims=True)
    spans = np.maximum(weights.max(axis=(1, 2, 3), keepdims=True) - lows, 1e-12)
    stretched = (weights - lows) / spans
    panels = [Panel(displayable(w), f"{index}", value_range=(0, 1)) for index, w in enumerate(stretched)]
    rows = [panels[start:start + columns] for start in range(0, len(panels), columns)]
    title = title or (f"First conv layer: {len(weights)} filters of {weights.shape[2]}x{weights.shape[3]}\n"
                      f"(dark: each filter's most negative weight, light: its most positive)")
    return plot_grid(rows, path, title, panel_size=0.9)


def plot_activation_maps(face, activations, path, channels_per_layer=8):
    """The activation maps of every conv layer for one face (the paper's Figure 9).

    face: (C, H, W) pixels 0..255; activations: a list of (F_i, H_i, W_i), one per conv layer, e.g.
    [a[0] for a in activation_maps(model, X)]. Each row shows the channels_per_layer channels of one layer with
    the largest mean activation, each map stretched to its own range and titled with its channel number.
    Returns path.
    """
    rows, labels = [[Panel(displayable(face), "input")]], ["face"]
    for layer, maps in enumerate(activations, start=1):
        strongest = np.argsort(-maps.mean(axis=(1, 2)), kind="stable")[:channels_per_layer]
        rows.append([Panel(maps[channel], f"ch {channel}", "viridis", None) for channel in strongest])
        labels.append(f"conv{layer}\n{maps.shape[0]}@{maps.shape[1]}x{maps.shape[2]}")
    return plot_grid(rows, path, "Activation maps: the most active channels of each conv layer", labels)


def plot_image_rows(path, title, faces, results, result_label, titles, result_cmap="gray", result_range=PIXEL_RANGE):
    """Faces above what a method made of them (DeepDream, saliency): faces: a list of (C, H, W) pixels 0..255,
    results: a list of (C, H, W) or (H, W) images, titles: one per column. Returns path."""
    top = [Panel(displayable(face), title) for face, title in zip(faces, titles)]
    bottom = [Panel(displayable(result) if result.ndim == 3 else result, "", result_cmap, result_range)
              for result in results]
    return plot_grid([top, bottom], path, title, ["face", result_label])


def plot_class_models(images, path, class_names=CLASS_NAMES):
    """One class-model image per class, titled with its class: images: a list of (C, H, W) pixels. Each image is
    stretched to its own darkest..lightest grey, since the L2 term keeps them all close to the mean face.
    Returns path."""
    panels = [Panel(displayable(image), name, value_range=None) for image, name in zip(images, class_names)]
    return plot_grid([panels], path, "Class models: inputs that maximise each class score (contrast stretched)",
                     panel_size=1.6)
