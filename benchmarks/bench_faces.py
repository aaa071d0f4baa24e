"""Time reading emotions on photos: python benchmarks/bench_faces.py [--model M.npz] [--repeats 5].

Face detection (scikit-image's LBP cascade) on photos that scikit-image ships, at three sizes; classification of
one face and of a batch of 64; detect_emotions end to end. Prints the best and the median of --repeats runs, after
one warm-up (the cascade file and the Numba kernels load once). Without --model it uses the shipped model.
"""
import argparse
import time

import numpy as np
from skimage import data as skimage_data
from skimage.transform import rescale

from minicnn import faces


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description="Time face detection and classification on photos.")
    parser.add_argument("--model", help="a model.npz (default: the shipped model)")
    parser.add_argument("--repeats", type=int, default=5, help="default: %(default)s")
    return parser.parse_args(argv)


def timed(function, repeats):
    """(best, median) seconds of repeats calls of function()."""
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - started)
    return min(seconds), float(np.median(seconds))


def photos():
    """name -> RGB uint8 photo (H, W, 3): the astronaut (one face), the coffee cup (none), the astronaut x3."""
    astronaut = skimage_data.astronaut()
    large = (rescale(astronaut, 3, channel_axis=2, order=1) * 255).astype(np.uint8)
    return {"astronaut 512x512": astronaut, "coffee 400x600": skimage_data.coffee(), "astronaut 1536x1536": large}


def main(argv=None):
    arguments = parse_arguments(argv)
    model = faces.load_model(arguments.model)
    astronaut = skimage_data.astronaut()
    faces.detect_emotions(astronaut, model)                          # warm-up
    print("| step | faces | best | median |\n| :-- | --: | --: | --: |")
    for name, photo in photos().items():
        grey = faces.grey_levels(photo)
        found = len(faces.detect_faces(grey))
        best, median = timed(lambda: faces.detect_faces(grey), arguments.repeats)
        print(f"| detect, {name} | {found} | {best:.2f} s | {median:.2f} s |")
    grey = faces.grey_levels(astronaut)
    crop = faces.crop_faces(grey, faces.detect_faces(grey))[:1]
    for count in (1, 64):
        batch = np.repeat(crop, count, axis=0)
        best, median = timed(lambda: faces.emotion_probabilities(model, batch), arguments.repeats)
        print(f"| classify a batch of {count} | {count} | {1000 * best / count:.1f} ms a face | "
              f"{1000 * median / count:.1f} ms a face |")
    best, median = timed(lambda: faces.detect_emotions(astronaut, model), arguments.repeats)
    print(f"| detect_emotions, astronaut, end to end | 1 | {best:.2f} s | {median:.2f} s |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
