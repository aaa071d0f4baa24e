"""Draw what training's augmentation does to a face: python examples/show_augmentation.py --out augmentation.png

One FER2013 face (the first PublicTest face of --emotion, from --data, else $MINICNN_DATA, else data/fer2013.csv)
under each transform of minicnn.augmentation alone, at the strength of the VGG recipe's largest draw, then four
random draws of the whole standard augmentation (minicnn.augmentation.standard_augmentation), as the training sees
them. The face is drawn uncentred, so what comes in at the borders and the erased rectangles are black; in training,
on centred images, they are 0, the mean image.
"""
import argparse
import sys

import numpy as np

from minicnn import data, plots, preprocessing
from minicnn.augmentation import RandomErasing, affine_matrices, standard_augmentation, warp_affine
from minicnn.cli import run_script


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description="Draw one FER2013 face under each training augmentation.")
    parser.add_argument("--data", help="FER2013 (default: $MINICNN_DATA, else data/fer2013.csv)")
    parser.add_argument("--emotion", choices=data.CLASS_NAMES, default="happy", help="default: %(default)s")
    parser.add_argument("--out", default="augmentation.png", help="default: %(default)s")
    parser.add_argument("--seed", type=int, default=0, help="for the random draws (default: %(default)s)")
    return parser.parse_args(argv)


def single_transforms(x):
    """[(name, x transformed)] for x: (1, 1, H, W): each transform of RandomAffine alone, at its largest draw in the
    standard augmentation, and one erased rectangle."""
    _, _, H, W = x.shape
    settings = [("zoom x1.2", dict(zoom=1.2)), ("zoom x0.8", dict(zoom=0.8)),
                ("shift", dict(shift=(0.1 * H, -0.1 * W))), ("turn 10 deg", dict(rotation=10.0)),
                ("mirror", dict(flip=True))]
    transformed = []
    for name, setting in settings:
        parameters = {**dict(zoom=1.0, shift=(0.0, 0.0), rotation=0.0, flip=False), **setting}
        matrices = affine_matrices([parameters["zoom"]], [parameters["shift"]], [parameters["rotation"]],
                                   [parameters["flip"]], H, W)
        transformed.append((name, warp_affine(x, matrices)))
    erased = RandomErasing(p=1.0, area=(0.15, 0.15))(x, np.random.default_rng(1))
    return transformed + [("erase", erased)]


def main(argv=None):
    arguments = parse_arguments(argv)
    try:
        dataset = data.load_fer2013(data.find_data_path(arguments.data))
    except (ValueError, data.DataNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    images, labels = data.split(dataset, "PublicTest")
    face = images[np.flatnonzero(labels == data.CLASS_NAMES.index(arguments.emotion))[:1]]
    x, _ = preprocessing.preprocess(face, mean_image=np.zeros(face.shape[1:], np.float32))
    singles = single_transforms(x)
    augment, rng = standard_augmentation(), np.random.default_rng(arguments.seed)
    draws = [augment(x, rng)[0, 0] for _ in range(len(singles) + 1)]
    plots.plot_image_grid([[x[0, 0]] + [image[0, 0] for _, image in singles], draws], arguments.out,
                          row_titles=["one at a time", "all, random"],
                          column_titles=["original"] + [name for name, _ in singles],
                          title="Training augmentation of one FER2013 face")
    print(f"wrote {arguments.out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_script(main))
