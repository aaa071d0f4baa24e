"""Find the faces in a photo, or in every photo of a folder, and read the emotion of each.

    minicnn predict photo.jpg --model runs/deep/model.npz --out photo_emotions.png
    minicnn predict photos/ --model runs/deep/model.npz --out annotated/ --json > emotions.json
    minicnn predict face48.png --model runs/deep/model.npz --no-detect    # a 48x48 FER2013-style crop

(python examples/predict.py runs the same code.)

Prints one line per face (its box as x, y, width, height and its three most likely emotions), or with --json one
JSON document: for a photo, the list of faces as minicnn.faces.detect_emotions returns it; for a folder, a dict
from each photo's path to that list. --out writes the photo with each face's box and emotion (a folder: one
<name>_emotions.png per photo, into --out). Without --model the model shipped with minicnn is used.
Exit status 2 on bad input (a file that is missing, empty or not an image, a model that cannot be loaded, one
photo without a face); in a folder, a photo without a face is not an error, and an unreadable file is reported,
skipped, and makes the exit status 2 once the others are done.
"""
import argparse
import json
import sys
from pathlib import Path

from tqdm import tqdm

from minicnn import data, faces

SHOWN_EMOTIONS = 3


def parse_arguments(argv=None, prog=None):
    parser = argparse.ArgumentParser(prog=prog, description="Find the faces in photos and read their emotions.")
    parser.add_argument("photo", help="an image file (JPEG, PNG, ...) or a folder of them")
    parser.add_argument("--model", nargs="+", help="a model.npz written by a training script, or several: their "
                                                   "ensemble (default: the shipped model)")
    parser.add_argument("--out", help="annotated PNG to write (for a folder: a folder to write them into)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--no-detect", action="store_true",
                        help="classify the whole image as one face (a 48x48 crop like FER2013's)")
    return parser.parse_args(argv)


def photos_in(path):
    """[path] for a file, the image files of a folder (sorted) for a folder; ValueError when there are none."""
    path = Path(path)
    if path.is_dir():
        photos = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in data.IMAGE_SUFFIXES)
        if not photos:
            raise ValueError(f"{path}: no images ({', '.join(data.IMAGE_SUFFIXES)}) in this folder")
        return photos
    if not path.exists():
        raise ValueError(f"{path}: no such file or folder")
    return [path]


def describe(photo, results):
    """One line per face: box and the most likely emotions; or "no face found"."""
    if not results:
        return f"{photo}: no face found"
    lines = []
    for number, result in enumerate(results, start=1):
        ranked = sorted(result["emotions"].items(), key=lambda item: item[1], reverse=True)[:SHOWN_EMOTIONS]
        emotions = ", ".join(f"{name} {100 * probability:.0f}%" for name, probability in ranked)
        lines.append(f"{photo}: face {number} at {tuple(result['box'])}: {emotions}")
    return "\n".join(lines)


def annotated_path(photo, out, folder_mode):
    """Where the annotated image of photo goes: out itself, or out/<name>_emotions.png in folder mode."""
    return Path(out) / f"{photo.stem}_emotions.png" if folder_mode else Path(out)


def main(argv=None, prog=None):
    """Read the photos, detect and classify their faces, print and draw the results. Returns the exit status."""
    arguments = parse_arguments(argv, prog)
    try:
        photos = photos_in(arguments.photo)
        model = faces.load_model(arguments.model)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    folder_mode = Path(arguments.photo).is_dir()
    found, unreadable = {}, 0
    for photo in tqdm(photos, desc="photos", unit="photo", disable=not folder_mode, file=sys.stderr):
        try:
            image = faces.read_image(photo)
            results = faces.detect_emotions(image, model, detect=not arguments.no_detect)
        except ValueError as error:
            tqdm.write(f"error: {error}", file=sys.stderr)
            unreadable += 1
            continue
        found[str(photo)] = results
        if not arguments.json:
            tqdm.write(describe(photo, results))
        if arguments.out:
            faces.plot_emotions(image, results, annotated_path(photo, arguments.out, folder_mode))
    if arguments.json:
        print(json.dumps(found if folder_mode else next(iter(found.values()), []), indent=1))
    if unreadable:
        print(f"error: {unreadable} of {len(photos)} files could not be read as images", file=sys.stderr)
        return 2
    if not folder_mode and not found[str(photos[0])]:
        print(f"error: {photos[0]}: no face found (for a face crop, use --no-detect)", file=sys.stderr)
        return 2
    return 0
