"""From a photo to the emotion of each face in it: read the photo (turned upright by its EXIF tag), find the faces
with scikit-image's LBP cascade, crop each to a 48x48 grey face like FER2013's, and classify it.

    detect_emotions(image, model) -> [{"box": [x, y, width, height], "emotion": "happy",
                                       "emotions": {"angry": 0.01, ..., "neutral": 0.05}}, ...]

the shape of the `fer` package's detect_emotions, one dict per face, boxes in the photo's own pixel coordinates
(x from the left, y from the top). The cascade is the frontal-face file that scikit-image ships: no OpenCV and
no download. A large photo is shrunk for the detection only; the faces are cropped from the full-size photo.
"""
import functools
import io
import os

import numpy as np
from matplotlib.patches import Rectangle
from PIL import Image, ImageOps, UnidentifiedImageError
from skimage import color
from skimage.data import lbp_frontal_face_cascade_filename
from skimage.feature import Cascade
from skimage.transform import resize

from minicnn import data, models, preprocessing
from minicnn.ensemble import Ensemble
from minicnn.plots import DPI, saved_figure

DETECTION_MAX_SIDE = 1024      # photos are shrunk to this longer side for detection: its time grows with the area
MIN_FACE_FRACTION = 1 / 16     # the smallest face searched for, as a fraction of the photo's shorter side
SCALE_FACTOR = 1.2             # the search window grows by this factor from one scale to the next
MIN_NEIGHBOURS = 6             # overlapping hits needed to accept a face; fewer let textures pass as faces
OVERLAP_TO_MERGE = 0.5         # a box that covers more than this share of a larger face is the same face
FACE_MARGIN = 0.1              # the crop adds this share of the box on each side: FER2013's faces show the chin
ANNOTATED_MAX_SIDE = 1200      # pixels: the annotated copy of a larger photo is shrunk to this


def read_image(path):
    """The image file at path as uint8 (H, W) grey or (H, W, 3) RGB, turned upright by its EXIF orientation.

    Raises ValueError naming the file when it is missing, empty, not an image or damaged.
    """
    if not os.path.exists(path):
        raise ValueError(f"{path}: no such file")
    if os.path.isfile(path) and os.path.getsize(path) == 0:
        raise ValueError(f"{path}: the file is empty")
    return _decoded(path, path)


def image_from_bytes(content, name, max_side=None):
    """An image file's bytes (an upload, kept in memory) as read_image returns a file: uint8 (H, W) or (H, W, 3).

    max_side: when given, a larger image is shrunk to that many pixels on its longer side while it is decoded (a
    JPEG is decoded at a fraction of its size straight away), so a huge photo never fills the memory. Raises
    ValueError starting with name when content is empty, not an image or damaged.
    """
    if not content:
        raise ValueError(f"{name}: the file is empty")
    return _decoded(io.BytesIO(content), name, max_side)


def _decoded(source, name, max_side=None):
    """Decode source (a path or a binary file) with Pillow, upright by its EXIF tag, to uint8 grey or RGB pixels."""
    try:
        with Image.open(source) as image:
            if max_side:
                image.draft(image.mode, (max_side, max_side))   # JPEG only: decodes at 1/2, 1/4 or 1/8 of the size
            image = ImageOps.exif_transpose(image)
            if max_side:
                image.thumbnail((max_side, max_side))
            pixels = np.asarray(image.convert("L" if image.mode in ("1", "L", "LA") else "RGB"))
    except UnidentifiedImageError:
        raise ValueError(f"{name}: not an image (or an image format Pillow cannot read)") from None
    except (*data.DAMAGED_IMAGE_ERRORS, Image.DecompressionBombError) as error:
        raise ValueError(f"{name}: cannot be read as an image ({error})") from None
    if pixels.size == 0:
        raise ValueError(f"{name}: the image is empty ({pixels.shape[1]}x{pixels.shape[0]} pixels)")
    return pixels


def grey_levels(image):
    """image: (H, W) grey or (H, W, 3 or 4) colour, uint8 or float in 0..1 -> float64 (H, W) grey levels 0..255."""
    image = np.asarray(image)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)) or 0 in image.shape[:2]:
        raise ValueError(f"an image must be (H, W) grey or (H, W, 3|4) colour with H, W > 0, got shape {image.shape}")
    unit = image.astype(np.float64) / (1.0 if image.dtype.kind == "f" else 255.0)   # float images are in 0..1
    grey = color.rgb2gray(unit[..., :3]) if image.ndim == 3 else unit                # luminance, as Pillow's "L"
    return 255.0 * grey


@functools.lru_cache(maxsize=1)
def _cascade():
    """The LBP frontal-face cascade, read from its XML file once."""
    return Cascade(lbp_frontal_face_cascade_filename())


def detect_faces(grey, min_face_fraction=MIN_FACE_FRACTION, max_side=DETECTION_MAX_SIDE):
    """Boxes of the frontal faces in grey: (H, W) grey levels -> list of [x, y, width, height] in grey's pixels,
    largest first. The search runs on grey shrunk to max_side pixels on its longer side, for faces from
    min_face_fraction of the shorter side up to the whole image."""
    shrink = min(1.0, max_side / max(grey.shape))
    small = resize(grey, (round(grey.shape[0] * shrink), round(grey.shape[1] * shrink)), anti_aliasing=shrink < 1,
                   preserve_range=True) / 255.0
    min_size = max(24, round(min(small.shape) * min_face_fraction))   # the cascade's own window is 24x24
    if min_size > min(small.shape):
        return []
    hits = _cascade().detect_multi_scale(small, scale_factor=SCALE_FACTOR, step_ratio=1, min_size=(min_size, min_size),
                                         max_size=small.shape, min_neighbor_number=MIN_NEIGHBOURS)
    boxes = [[hit["c"] / shrink, hit["r"] / shrink, hit["width"] / shrink, hit["height"] / shrink] for hit in hits]
    return [[int(round(value)) for value in box] for box in _merge_nested(boxes)]


def _merge_nested(boxes):
    """Drop each box that lies mostly (OVERLAP_TO_MERGE) inside a larger one kept: the cascade often reports one
    face at two scales. boxes: [x, y, width, height] -> the kept ones, largest first."""
    kept = []
    for box in sorted(boxes, key=lambda box: box[2] * box[3], reverse=True):
        if all(_intersection(box, larger) <= OVERLAP_TO_MERGE * box[2] * box[3] for larger in kept):
            kept.append(box)
    return kept


def _intersection(a, b):
    """Area shared by two [x, y, width, height] boxes."""
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return max(0, width) * max(0, height)


def crop_faces(grey, boxes, margin=FACE_MARGIN):
    """The faces of grey at boxes, as the network's inputs: grey (H, W) 0..255, boxes [x, y, width, height] ->
    uint8 (N, 48, 48). Each box grows by margin on every side (within the image) before it is resized."""
    faces = np.zeros((len(boxes), *data.IMAGE_SHAPE), dtype=np.uint8)
    for index, (x, y, width, height) in enumerate(boxes):
        top, left = max(0, round(y - margin * height)), max(0, round(x - margin * width))
        bottom = min(grey.shape[0], round(y + (1 + margin) * height))
        right = min(grey.shape[1], round(x + (1 + margin) * width))
        face = resize(grey[top:bottom, left:right], data.IMAGE_SHAPE, anti_aliasing=True, preserve_range=True)
        faces[index] = np.clip(np.round(face), 0, 255)
    return faces


def emotion_probabilities(model, faces):
    """faces: uint8 (N, 48, 48) -> (N, K) softmax probabilities of the model's classes, each row summing to 1.

    The faces are centred on the model's mean training image, as in training (with their HOG features for the
    hybrid net).
    """
    if model.mean_image is None:
        raise ValueError("the model holds no mean training image, so faces cannot be prepared as in training")
    # No HOG cache: a photo's faces are seldom seen twice, and each batch would leave a file behind.
    return np.asarray(model.probabilities(preprocessing.model_inputs(model, faces, hog_cache=False)), dtype=np.float64)


def load_model(paths=None):
    """The model to read faces with: the shipped one (models.pretrained) for None, the one saved at a path
    (models.load), or for a list of several paths their Ensemble; checked to hold the mean training image its
    inputs are centred on. ValueError naming the file and the problem otherwise."""
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths or [])
    if len(paths) > 1:
        return Ensemble.load(paths)
    model = models.load(paths[0]) if paths else models.pretrained()
    if model.mean_image is None:
        raise ValueError(f"{paths[0] if paths else 'the shipped model'} holds no mean training image, so its inputs "
                         "cannot be prepared as in training")
    return model


def detect_emotions(image, model=None, detect=True, class_names=data.CLASS_NAMES):
    """The faces in an image and the emotion of each, as the `fer` package returns them.

    image: (H, W) grey or (H, W, 3|4) colour, uint8 0..255 or float 0..1 (read_image reads a file). model: a
    ConvNet with its mean image (models.load) or an Ensemble (load_model), None for the shipped model.
    detect=False takes the whole image as one face (a FER2013-style crop). Returns a list, largest face first, of
    {"box": [x, y, width, height], "emotion": the most likely class name, "emotions": {class name: probability}};
    [] when no face is found.
    """
    model = load_model() if model is None else model
    grey = grey_levels(image)
    boxes = detect_faces(grey) if detect else [[0, 0, grey.shape[1], grey.shape[0]]]
    if not boxes:
        return []
    probabilities = emotion_probabilities(model, crop_faces(grey, boxes, margin=FACE_MARGIN if detect else 0))
    return [{"box": box, "emotion": class_names[int(p.argmax())],
             "emotions": {name: round(float(value), 4) for name, value in zip(class_names, p)}}
            for box, p in zip(boxes, probabilities)]


def plot_emotions(image, results, path):
    """The image with each face's box and its most likely emotion and probability written above it; returns path.

    image: as detect_emotions takes it; results: what detect_emotions returned for it.
    """
    image = np.asarray(image)
    height, width = image.shape[:2]
    # The photo's own size (one pixel of the PNG per pixel of the photo), up to ANNOTATED_MAX_SIDE pixels
    inches_per_pixel = min(1, ANNOTATED_MAX_SIDE / max(height, width)) / DPI
    with saved_figure(path, figsize=(width * inches_per_pixel, height * inches_per_pixel)) as (fig, ax):
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=255 if image.dtype.kind != "f" else 1)
        for result in results:
            x, y, box_width, box_height = result["box"]
            # imshow centres pixel (0, 0) on (0, 0): a box from pixel x starts half a pixel to the left
            ax.add_patch(Rectangle((x - 0.5, y - 0.5), box_width, box_height, fill=False, edgecolor="yellow",
                                   linewidth=2.5))
            label = f"{result['emotion']} {100 * result['emotions'][result['emotion']]:.0f}%"
            ax.text(x, y - 4, label, color="black", fontsize=11, va="bottom",
                    bbox={"facecolor": "yellow", "edgecolor": "none", "pad": 2})
        ax.set_axis_off()
        if not results:
            ax.set_title("no face found")
    return path

