"""Score a trained model on FER2013's test splits: minicnn evaluate [--model runs/deep/model.npz] (or
python examples/evaluate.py, the same code).

Without --model it scores the model that ships with minicnn (minicnn.models.pretrained); with several --model files,
their ensemble (minicnn.ensemble: the average of their probabilities). For each split (default: PublicTest, the
validation set, and PrivateTest, the test set) it prints the accuracy and the per-class table, and writes
report_<split>.json and confusion_<split>.png into --out (default: the first model's folder; for the shipped model
evaluation/). Test-time augmentation is reported beside the plain figure, never instead of it: --mirror averages each
image with its mirror image (report_<split>_mirror.json), --tta over ten views, its five crops and their mirror
images (report_<split>_tta.json). Images are centred on the mean training image saved with the model, exactly as in
training. --device gpu scores on the GPU (CuPy), with the same reports. PrivateTest is the paper's test set: score
it once per final model, never to choose between models (cross_validate.py and the training scripts choose on
PublicTest).
"""
import argparse
import os
import sys
from pathlib import Path

import numpy as np

from minicnn import data, evaluation, faces, plots, preprocessing
from minicnn.backend import GPUUnavailableError

EVALUATED_SPLITS = ("PublicTest", "PrivateTest")


def parse_arguments(argv=None, prog=None):
    parser = argparse.ArgumentParser(prog=prog, description="Score a trained minicnn model on FER2013's test splits.")
    parser.add_argument("--model", nargs="+", help="a model.npz written by a training script, or several: their "
                                                   "ensemble (default: the model that ships with minicnn)")
    parser.add_argument("--data", help="FER2013 file or folder (default: $MINICNN_DATA, else data/fer2013.csv)")
    parser.add_argument("--splits", nargs="+", choices=data.USAGES, default=list(EVALUATED_SPLITS),
                        help="default: %(default)s")
    parser.add_argument("--out", help="folder for the reports and plots (default: the model's folder, or "
                                      "evaluation/ for the shipped model)")
    parser.add_argument("--device", default=os.environ.get("MINICNN_DEVICE", "cpu"), choices=["cpu", "gpu", "auto"],
                        help="where the model runs (default: $MINICNN_DEVICE, else cpu; now: %(default)s)")
    parser.add_argument("--mirror", action="store_true",
                        help="also score with test-time augmentation: each image's probabilities averaged with its "
                             "mirror image's")
    parser.add_argument("--tta", action="store_true",
                        help="also score with ten-crop test-time augmentation: the probabilities of each image's five "
                             "crops (centre and corners) and their mirror images averaged")
    return parser.parse_args(argv)


# The test-time augmentations: the name in the report files and messages, and the options of ConvNet.predict.
AUGMENTATIONS = {"mirror": ("the mirror image averaged in", {"mirror": True}),
                 "tta": ("ten crops averaged", {"mirror": True, "crops": True})}


def evaluate_split(model, dataset, split_name, out_dir, augmentations=()):
    """Score model on one split, print the result and write its report and confusion matrix (and, for each of
    augmentations, keys of AUGMENTATIONS, the report with that test-time augmentation beside them); returns the plain
    report, or None when the data set has no images in that split."""
    images, labels = data.split(dataset, split_name)
    if len(images) == 0:
        print(f"{split_name}: the data set has no images in this split; skipped", file=sys.stderr)
        return None
    X = preprocessing.model_inputs(model, images)
    report = evaluation.evaluate(model, X, labels)
    report["split"] = split_name
    evaluation.write_report(out_dir / f"report_{split_name}.json", report)
    plots.plot_confusion_matrix(np.array(report["confusion_matrix"]), out_dir / f"confusion_{split_name}.png")
    print(f"{split_name} accuracy {report['accuracy']:.4f}")
    for name in augmentations:
        description, options = AUGMENTATIONS[name]
        augmented = evaluation.evaluate(model, X, labels, **options)
        augmented.update(split=split_name, **options)
        evaluation.write_report(out_dir / f"report_{split_name}_{name}.json", augmented)
        print(f"{split_name} accuracy with {description} {augmented['accuracy']:.4f}")
    print(evaluation.format_per_class_table(report) + "\n")
    return report


def main(argv=None, prog=None):
    """Parse the command line, load model and data, score every split asked for. Returns the exit status."""
    arguments = parse_arguments(argv, prog)
    try:
        model = faces.load_model(arguments.model).to(arguments.device)
        augmentations = [name for name in AUGMENTATIONS if getattr(arguments, name)]
        if augmentations and model.hog_dim:
            raise ValueError(f"--{augmentations[0]}: the hybrid net's HOG features belong to the unchanged image, so "
                             f"it cannot average in changed ones; score it without --{augmentations[0]}")
        dataset = data.load_fer2013(data.find_data_path(arguments.data))
    except (ValueError, GPUUnavailableError, data.DataNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out_dir = Path(arguments.out or (Path(arguments.model[0]).parent if arguments.model else "evaluation"))
    try:
        for split_name in arguments.splits:
            evaluate_split(model, dataset, split_name, out_dir, augmentations)
    except OSError as error:  # a full disk, a folder that cannot be written: each report is written whole or not
        print(f"error: cannot write into {out_dir}: {error.strerror or error} ({error.filename or 'a report'}); "
              "choose another folder with --out", file=sys.stderr)
        return 1
    print(f"reports and confusion matrices are in {out_dir}/")
    return 0
