"""Write a trained model as an ONNX graph: minicnn export [--model M.npz] [--out M.onnx].

The graph (minicnn.export) takes raw grey levels 0..255 as its input `image` (N, 1, 48, 48) float32, plus `hog`
(N, D) for a hybrid net, and gives `probabilities` (N, 7). Without --model the shipped model is exported. When
onnxruntime is installed, the file is then run on CHECK_IMAGES random images and its probabilities compared with
minicnn's: a difference above export.TOLERANCE ends with exit status 1.
"""
import argparse
import sys
from pathlib import Path

import numpy as np

from minicnn import export, faces, models

CHECK_IMAGES = 16


def parse_arguments(argv=None, prog=None):
    parser = argparse.ArgumentParser(prog=prog, description="Write a trained minicnn model as an ONNX graph (needs "
                                                            "the onnx package: pip install \"minicnn[onnx]\").")
    parser.add_argument("--model", help="a model.npz written by a training script (default: the shipped model)")
    parser.add_argument("--out", help="the ONNX file to write (default: the model's path with .onnx, or "
                                      f"{default_out(None)} in the current folder for the shipped model)")
    parser.add_argument("--no-check", action="store_true", help="do not compare ONNX Runtime's probabilities with "
                                                                "minicnn's (done when onnxruntime is installed)")
    return parser.parse_args(argv)


def default_out(model_path):
    """Where the ONNX file goes without --out: beside the model, or in the current folder for the shipped model."""
    return Path(model_path).with_suffix(".onnx") if model_path else Path(models.PRETRAINED_MODEL.stem + ".onnx")


def describe(model, out):
    """One line: the file written, its inputs and its output."""
    architecture = model.architecture
    inputs = f"image (N, {', '.join(map(str, architecture.input_dim))}) of grey levels 0..255"
    if architecture.hog_dim:
        inputs += f" and hog (N, {architecture.hog_dim}) of HOG features"
    return (f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, opset {export.OPSET}): inputs {inputs}; output "
            f"probabilities (N, {architecture.num_classes})")


def check(model, onnx_model):
    """Compare ONNX Runtime's probabilities with minicnn's on random images; returns the exit status."""
    try:
        import onnxruntime
    except ImportError:
        print("onnxruntime is not installed, so the file was checked by onnx.checker only "
              '(pip install "minicnn[onnx]" to run it)')
        return 0
    height, width = model.architecture.input_dim[1:]
    images = np.random.default_rng(0).integers(0, 256, (CHECK_IMAGES, height, width), dtype=np.uint8)
    difference = export.difference_from_onnxruntime(model, onnx_model, images)
    verdict = f"at most {difference:.1e} from minicnn's on {CHECK_IMAGES} random images"
    if difference > export.TOLERANCE:
        print(f"error: ONNX Runtime {onnxruntime.__version__}'s probabilities are {verdict}, more than "
              f"{export.TOLERANCE:g}", file=sys.stderr)
        return 1
    print(f"checked: ONNX Runtime {onnxruntime.__version__}'s probabilities are {verdict}")
    return 0


def main(argv=None, prog=None):
    """Load the model, write its ONNX graph, check it. Returns the exit status."""
    arguments = parse_arguments(argv, prog)
    out = Path(arguments.out) if arguments.out else default_out(arguments.model)
    try:
        model = faces.load_model(arguments.model)
        onnx_model = export.to_onnx(model, out)
    except (ValueError, ImportError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(describe(model, out))
    return 0 if arguments.no_check else check(model, onnx_model)
