"""minicnn.faces and examples/predict.py: reading photos (EXIF rotation, bad files), finding faces in the images
scikit-image ships (the astronaut has one face, the coffee cup none), cropping and classifying them, and the
script's output and exit status. The model is a tiny untrained 48x48 net: these tests check the plumbing, not
how well it reads emotions."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data as skimage_data
from skimage.transform import rescale

from minicnn import data, faces, features, models, preprocessing
from minicnn.models import ConvLayer, ConvNet

REPO_ROOT = Path(__file__).resolve().parents[1]
ASTRONAUT_FACE = (222, 118)  # x, y of the middle of the astronaut's face, between her eyes and her mouth


def tiny_face_model(hog_dim=0):
    model = ConvNet([ConvLayer(2, 3, pool=True)], [4], input_dim=(1, 48, 48), hog_dim=hog_dim, seed=0)
    model.mean_image = np.full(data.IMAGE_SHAPE, 120, dtype=np.float32)
    return model


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """A folder with the astronaut (a JPEG), the coffee cup (a PNG) and a text file."""
    folder = tmp_path_factory.mktemp("photos")
    Image.fromarray(skimage_data.astronaut()).save(folder / "astronaut.jpg", quality=95)
    Image.fromarray(skimage_data.coffee()).save(folder / "coffee.png")
    return folder


def contains(box, point):
    x, y, width, height = box
    return x <= point[0] < x + width and y <= point[1] < y + height


def test_one_face_in_the_astronaut_and_none_in_the_coffee_cup():
    boxes = faces.detect_faces(faces.grey_levels(skimage_data.astronaut()))
    assert len(boxes) == 1 and contains(boxes[0], ASTRONAUT_FACE), boxes
    assert 70 <= boxes[0][2] <= 130, f"the face is about 100 pixels wide, found {boxes[0]}"
    assert faces.detect_faces(faces.grey_levels(skimage_data.coffee())) == []


def test_a_large_photo_is_searched_shrunk_and_its_boxes_are_in_its_own_pixels():
    big = rescale(faces.grey_levels(skimage_data.astronaut()), 2, order=1)         # 1024x1024
    boxes = faces.detect_faces(big, max_side=512)                                  # searched at 512x512
    assert len(boxes) == 1 and contains(boxes[0], (2 * ASTRONAUT_FACE[0], 2 * ASTRONAUT_FACE[1])), boxes
    assert 140 <= boxes[0][2] <= 260, boxes


def test_a_face_found_twice_at_two_scales_is_one_face():
    assert faces._merge_nested([[10, 10, 50, 50], [0, 0, 80, 80], [200, 0, 40, 40]]) == [[0, 0, 80, 80],
                                                                                          [200, 0, 40, 40]]


def test_read_image_turns_a_photo_upright_by_its_exif_orientation(tmp_path):
    upright = skimage_data.astronaut()
    stored = Image.fromarray(np.rot90(upright).copy())           # the camera stored it lying on its side
    exif = stored.getexif()
    exif[0x0112] = 6                                             # "rotate 90 degrees clockwise to display"
    stored.save(tmp_path / "rotated.jpg", exif=exif, quality=95)
    pixels = faces.read_image(tmp_path / "rotated.jpg")
    assert pixels.shape == upright.shape
    assert np.abs(pixels.astype(int) - upright).mean() < 5      # equal up to JPEG's losses


def test_read_image_keeps_grey_photos_grey(tmp_path):
    Image.fromarray(skimage_data.camera()).save(tmp_path / "camera.png")
    assert faces.read_image(tmp_path / "camera.png").shape == (512, 512)


@pytest.mark.parametrize("name, content, message", [("empty.png", b"", "the file is empty"),
                                                    ("notes.jpg", b"not a picture", "not an image"),
                                                    ("cut.png", None, "cannot be read as an image"),
                                                    ("missing.png", "absent", "no such file")])
def test_read_image_names_the_file_and_the_problem(tmp_path, name, content, message):
    path = tmp_path / name
    if content is None:                                          # a PNG cut off in the middle of its pixels
        Image.fromarray(skimage_data.coffee()).save(path)
        path.write_bytes(path.read_bytes()[:5000])
    elif content != "absent":
        path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as error:
        faces.read_image(path)
    assert name in str(error.value)


def test_grey_levels_refuses_what_is_not_an_image():
    with pytest.raises(ValueError, match=r"got shape \(4, 4, 2\)"):
        faces.grey_levels(np.zeros((4, 4, 2)))


def test_crop_faces_makes_48x48_faces_also_at_the_border():
    grey = np.tile(np.arange(100, dtype=np.float64), (80, 1))
    crops = faces.crop_faces(grey, [[0, 0, 40, 40], [70, 50, 30, 30]])
    assert crops.shape == (2, 48, 48) and crops.dtype == np.uint8
    assert crops[0, 0, 0] < 5 and crops[1, 0, -1] > 90          # the left and right edges of the image


def test_detect_emotions_returns_the_shape_of_the_fer_package():
    model = tiny_face_model()
    results = faces.detect_emotions(skimage_data.astronaut(), model)
    assert len(results) == 1 and set(results[0]) == {"box", "emotion", "emotions"}
    emotions = results[0]["emotions"]
    assert list(emotions) == list(data.CLASS_NAMES) and abs(sum(emotions.values()) - 1) < 1e-3
    assert results[0]["emotion"] == max(emotions, key=emotions.get)
    assert faces.detect_emotions(skimage_data.coffee(), model) == []


def test_a_crop_is_classified_as_the_model_classifies_its_preprocessed_image():
    model = tiny_face_model()
    crop = np.random.default_rng(0).integers(0, 256, data.IMAGE_SHAPE, dtype=np.uint8)
    (result,) = faces.detect_emotions(crop, model, detect=False)
    assert result["box"] == [0, 0, 48, 48]
    X, _ = preprocessing.preprocess(crop[np.newaxis], model.mean_image)
    assert result["emotion"] == data.CLASS_NAMES[int(model.predict(X)[0])]


def test_a_hybrid_model_reads_faces_with_their_hog_features():
    model = tiny_face_model(hog_dim=features.hog_dim())
    crop = np.random.default_rng(0).integers(0, 256, data.IMAGE_SHAPE, dtype=np.uint8)
    (result,) = faces.detect_emotions(crop, model, detect=False)
    X, _ = preprocessing.preprocess(crop[np.newaxis], model.mean_image)
    hog = features.hog_features(crop[np.newaxis], cache=False)
    assert result["emotions"]["happy"] == round(float(model.probabilities((X, hog))[0, 3]), 4)


def test_fer2013_crops_get_the_labels_the_model_predicts_for_them():
    path = os.environ.get("MINICNN_DATA", str(REPO_ROOT.parent / "shared" / "data" / "fer2013.csv.gz"))
    if not os.path.exists(path):
        pytest.skip(f"FER2013 not found at {path} (set MINICNN_DATA)")
    images, _ = data.split(data.load_fer2013(path), "PublicTest")
    model = tiny_face_model()
    labels = [faces.detect_emotions(image, model, detect=False)[0]["emotion"] for image in images[:20]]
    expected = model.predict(preprocessing.preprocess(images[:20], model.mean_image)[0])
    assert labels == [data.CLASS_NAMES[label] for label in expected]


def test_without_a_shipped_model_the_error_says_so(monkeypatch):
    monkeypatch.setattr(models, "PRETRAINED_MODEL", Path("/nowhere/fer2013_deep.npz"))
    with pytest.raises(ValueError, match="holds no pretrained model"):
        faces.detect_emotions(skimage_data.astronaut())


def test_plot_emotions_draws_the_photo_with_its_boxes(tmp_path):
    image = skimage_data.astronaut()
    results = [{"box": [177, 72, 94, 94], "emotion": "happy", "emotions": {"happy": 0.9}}]
    path = faces.plot_emotions(image, results, tmp_path / "annotated.png")
    drawn = np.asarray(Image.open(path).convert("RGB"))
    assert drawn.std() > 20
    assert ((drawn[..., 0] > 200) & (drawn[..., 1] > 200) & (drawn[..., 2] < 80)).sum() > 500  # the yellow box


# ------------------------------------------------------------------------------------------- examples/predict.py
def run_predict(*arguments, model_path):
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}  # this checkout's minicnn, not an installed one
    return subprocess.run([sys.executable, "examples/predict.py", *map(str, arguments), "--model", str(model_path)],
                          cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.npz"
    tiny_face_model().save(path)
    return path


def test_predict_on_a_folder_reports_every_photo_and_a_faceless_one_is_no_error(photos, model_path, tmp_path):
    result = run_predict(photos, "--json", "--out", tmp_path / "annotated", model_path=model_path)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert len(found[str(photos / "astronaut.jpg")]) == 1 and found[str(photos / "coffee.png")] == []
    assert sorted(p.name for p in (tmp_path / "annotated").iterdir()) == ["astronaut_emotions.png",
                                                                           "coffee_emotions.png"]


def test_predict_on_a_photo_prints_its_faces(photos, model_path):
    result = run_predict(photos / "astronaut.jpg", model_path=model_path)
    assert result.returncode == 0, result.stderr
    assert "astronaut.jpg: face 1 at (" in result.stdout


def write_input(folder, name):
    """coffee.png (a photo without a face), notes.png (text, not an image), nowhere.jpg (left missing) or
    no_photos (a folder holding only a text file)."""
    if name == "coffee.png":
        Image.fromarray(skimage_data.coffee()).save(folder / name)
    elif name == "notes.png":
        (folder / name).write_text("hello")
    elif name == "no_photos":
        (folder / name).mkdir()
        (folder / name / "readme.txt").write_text("no photos here")
    return folder / name


@pytest.mark.parametrize("name, message", [("coffee.png", "coffee.png: no face found"),
                                           ("nowhere.jpg", "nowhere.jpg: no such file or folder"),
                                           ("notes.png", "notes.png: not an image"),
                                           ("no_photos", "no_photos: no images (.png")])
def test_predict_says_what_is_wrong_with_its_input_and_exits_with_2(tmp_path, model_path, name, message):
    result = run_predict(write_input(tmp_path, name), model_path=model_path)
    assert result.returncode == 2 and message in result.stderr, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
