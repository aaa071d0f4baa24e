"""Look inside a trained network: minicnn visualize --model runs/deep/model.npz --out figures/ (or
python examples/visualize.py, the same code).

Writes into --out (default: the model's folder, or figures/ for the shipped model):
  filters.png       the first conv layer's filters (the paper's Figure 10)
  activations.png   the activation maps of every conv layer for one face (Figure 9)
  deepdream.png     DeepDream on one face per expression (Figure 11), amplifying conv layer --layer
  saliency.png      which pixels sway the predicted class's score, for the same faces
  class_models.png  one input optimised to maximise each class's score
The face of activations.png is the first face found in --image (a photo or a 48x48 crop), by default the
astronaut that scikit-image ships. The faces per expression are the first PublicTest face of each class in
--data (else $MINICNN_DATA, else data/fer2013.csv); without the data set the --image face is used alone.
A hybrid (HOG) net gets the first three figures only: HOG has no backward pass to carry a class score back.
"""
import argparse
import sys
from pathlib import Path

import numpy as np
from skimage import data as skimage_data

from minicnn import data, faces, preprocessing, visualize


def parse_arguments(argv=None, prog=None):
    parser = argparse.ArgumentParser(prog=prog, description="Draw the filters, activation maps, DeepDream images, "
                                                            "saliency maps and class models of a trained model.")
    parser.add_argument("--model", help="a model.npz written by a training script (default: the shipped model)")
    parser.add_argument("--image", help="a photo or a 48x48 face crop (default: scikit-image's astronaut)")
    parser.add_argument("--data", help="FER2013, for one face per expression (default: $MINICNN_DATA, else "
                                       "data/fer2013.csv; without it the --image face is used)")
    parser.add_argument("--out", help="folder for the figures (default: the model's folder, else figures/)")
    parser.add_argument("--layer", type=int, help="the conv layer DeepDream amplifies (default: the last one)")
    return parser.parse_args(argv)


def face_of(image):
    """uint8 (1, 48, 48): a 48x48 image as it is, else the largest face found in it, else the whole image."""
    grey = faces.grey_levels(image)
    boxes = faces.detect_faces(grey) if grey.shape != data.IMAGE_SHAPE else []
    if boxes:
        return faces.crop_faces(grey, boxes[:1])
    if grey.shape != data.IMAGE_SHAPE:
        print("no face found in the image: it is used whole, as a face crop", file=sys.stderr)
    return faces.crop_faces(grey, [[0, 0, grey.shape[1], grey.shape[0]]], margin=0)


def faces_per_expression(data_argument):
    """(faces uint8 (K, 48, 48), their class names) of the first PublicTest face of each class, or None when no
    data set was named or found (a data set named but not found is an error)."""
    try:
        dataset = data.load_fer2013(data.find_data_path(data_argument))
    except data.DataNotFoundError:
        if data_argument:
            raise
        return None
    images, labels = data.split(dataset, "PublicTest")
    firsts = [np.flatnonzero(labels == label)[0] for label in range(len(data.CLASS_NAMES)) if (labels == label).any()]
    return images[firsts], [data.CLASS_NAMES[labels[index]] for index in firsts]


def centred(model, face_images):
    """uint8 (N, 48, 48) -> the network's input (N, 1, 48, 48), centred on the model's mean image."""
    return preprocessing.preprocess(face_images, model.mean_image)[0]


def draw_figures(model, face, expression_faces, names, layer, out_dir):
    """Write every figure into out_dir; returns their paths."""
    as_pixels = expression_faces[:, np.newaxis].astype(np.float64)
    activations = [maps[0] for maps in visualize.activation_maps(model, centred(model, face))]
    dreams = visualize.deep_dream(model, as_pixels, layer)
    paths = [visualize.plot_filters(model.params["W1"], out_dir / "filters.png"),
             visualize.plot_activation_maps(face[0][np.newaxis], activations, out_dir / "activations.png"),
             visualize.plot_image_rows(out_dir / "deepdream.png", f"DeepDream: conv layer {layer} amplified",
                                       as_pixels, dreams, f"conv{layer}\namplified", names)]
    if model.architecture.hog_dim:
        print("a hybrid net: no saliency maps or class models (HOG has no backward pass)", file=sys.stderr)
        return paths
    saliency, predicted = visualize.saliency_maps(model, centred(model, expression_faces))
    titles = [f"{name}\npredicted {data.CLASS_NAMES[label]}" for name, label in zip(names, predicted)]
    paths.append(visualize.plot_image_rows(out_dir / "saliency.png", "Saliency: |d score / d pixel| of the "
                                           "predicted class", as_pixels, list(saliency), "saliency", titles, "hot",
                                           None))
    class_models = visualize.class_model_images(model, np.arange(model.architecture.num_classes))
    paths.append(visualize.plot_class_models(class_models, out_dir / "class_models.png"))
    return paths


def main(argv=None, prog=None):
    """Load the model and the faces, draw every figure. Returns the exit status."""
    arguments = parse_arguments(argv, prog)
    try:
        model = faces.load_model(arguments.model)
        face = face_of(faces.read_image(arguments.image) if arguments.image else skimage_data.astronaut())
        per_expression = faces_per_expression(arguments.data)
        layer = arguments.layer or len(model.architecture.conv_layers)
        if not 1 <= layer <= len(model.architecture.conv_layers):
            raise ValueError(f"--layer {layer}: the model's conv layers are 1..{len(model.architecture.conv_layers)}")
    except (ValueError, data.DataNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    expression_faces, names = per_expression or (face, ["your face"])
    out_dir = Path(arguments.out or (Path(arguments.model).parent if arguments.model else "figures"))
    for path in draw_figures(model, face, expression_faces, names, layer, out_dir):
        print(f"wrote {path}")
    return 0
