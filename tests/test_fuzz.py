"""Property-based fuzzing (Hypothesis) of every reader of a user's files: the FER2013 loaders (CSV, csv.gz, tar.gz,
image folder, .npz), models.load, the Solver's checkpoints and faces' photo decoding.

Each test takes a good file, damages it at random (cuts it short, flips bytes, writes junk into it) and reads it.
The only outcomes allowed: a correct result, or a ValueError whose message names the file. Anything else (a
traceback from zipfile, gzip, PIL or NumPy) is a bug. Damage that once broke a reader is kept as an @example.
"""
import gzip
import io
import tarfile

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from minicnn import data, faces, models
from minicnn.models import AffineLayer, ConvNet
from minicnn.solver import Solver
from test_examples import write_synthetic_fer2013

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def damage(draw):
    """A recipe for damaging bytes: ('cut', fraction), ('flip', [(fraction, xor)]) or ('junk', fraction, bytes)."""
    kind = draw(st.sampled_from(["cut", "flip", "junk"]))
    fraction = st.floats(0, 1, exclude_max=True)
    if kind == "cut":
        return ("cut", draw(fraction))
    if kind == "flip":
        return ("flip", draw(st.lists(st.tuples(fraction, st.integers(1, 255)), min_size=1, max_size=8)))
    return ("junk", draw(fraction), draw(st.binary(min_size=1, max_size=64)))


def damaged(content, recipe):
    """content (bytes) after the damage that recipe describes."""
    if recipe[0] == "cut":
        return content[: int(recipe[1] * len(content))]
    if recipe[0] == "flip":
        changed = bytearray(content)
        for fraction, xor in recipe[1]:
            changed[int(fraction * len(changed))] ^= xor
        return bytes(changed)
    at = int(recipe[1] * len(content))
    return content[:at] + recipe[2] + content[at + len(recipe[2]):]


def assert_result_or_named_error(read, path):
    """read(path) must return, or raise a ValueError that names path's file."""
    try:
        read(path)
    except ValueError as error:
        assert path.name in str(error), f"the message does not name the file: {error}"


@pytest.fixture(scope="module")
def good_files(tmp_path_factory):
    """Good files of every format the loaders read, each holding the same small FER2013."""
    folder = tmp_path_factory.mktemp("good")
    csv = write_synthetic_fer2013(folder / "fer2013.csv")
    dataset = data.load_fer2013(csv, cache=False)
    with tarfile.open(folder / "fer2013.tar.gz", "w:gz") as archive:
        archive.add(csv, arcname="fer2013/fer2013.csv")
    np.savez(folder / "fer2013.npz", images=dataset.images, labels=dataset.labels, usage=dataset.usage)
    model = ConvNet([], [AffineLayer(4)], input_dim=(1, 8, 8), seed=0)
    model.save(folder / "model.npz")
    return {"fer2013.csv": csv.read_bytes(), "fer2013.csv.gz": gzip.compress(csv.read_bytes(), mtime=0),
            "fer2013.tar.gz": (folder / "fer2013.tar.gz").read_bytes(),
            "fer2013.npz": (folder / "fer2013.npz").read_bytes(), "model.npz": (folder / "model.npz").read_bytes()}


def read_fer2013(path):
    dataset = data.load_fer2013(path, cache=False)
    assert dataset.images.shape == (len(dataset.labels), 48, 48) and len(dataset.usage) == len(dataset.labels)


@pytest.mark.parametrize("name", ["fer2013.csv", "fer2013.csv.gz", "fer2013.tar.gz", "fer2013.npz"])
@FUZZ
@given(recipe=damage())
def test_damaged_data_files_load_or_are_refused_by_name(good_files, tmp_path, name, recipe):
    path = tmp_path / name
    path.write_bytes(damaged(good_files[name], recipe))
    assert_result_or_named_error(read_fer2013, path)


@FUZZ
@given(recipe=damage(), which=st.integers(0, 1000))
@example(recipe=("junk", 0.014575963223842471, b"\x00"), which=0)  # a broken PNG chunk: Pillow's SyntaxError
def test_damaged_images_in_an_image_folder_are_refused_by_path(tmp_path_factory, recipe, which):
    root = tmp_path_factory.mktemp("images")
    images = sorted(make_image_folder(root))
    victim = images[which % len(images)]
    victim.write_bytes(damaged(victim.read_bytes(), recipe))
    try:
        read_fer2013(root)
    except ValueError as error:
        assert str(victim) in str(error) or victim.name in str(error), f"the message does not name the image: {error}"


@pytest.fixture(scope="module")
def good_photos():
    """A small colour photo as PNG and as JPEG bytes."""
    from PIL import Image
    pixels = np.random.default_rng(1).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    photos = {}
    for kind in ("PNG", "JPEG"):
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, kind)
        photos[kind] = buffer.getvalue()
    return photos


@pytest.mark.parametrize("kind", ["PNG", "JPEG"])
@FUZZ
@given(recipe=damage())
@example(recipe=("junk", 0.0015736179529282977, b"\x00"))  # a PNG header's zero size: Pillow's ValueError
@example(recipe=("junk", 0.004857690202517789, b"\x00"))   # a broken PNG chunk: Pillow's SyntaxError
def test_damaged_photos_decode_or_are_refused_by_name(good_photos, kind, recipe):
    """What the page and faces.detect_emotions do with an upload: pixels, or a ValueError naming it."""
    content = damaged(good_photos[kind], recipe)
    try:
        faces.image_from_bytes(content, "upload.photo", max_side=1024)
    except ValueError as error:
        assert "upload.photo" in str(error), f"the message does not name the photo: {error}"


def make_image_folder(root):
    """train/<emotion>/<n>.png and test/<emotion>/<n>.png, one random 48x48 grey image each; returns the paths."""
    from skimage import io as image_io
    rng = np.random.default_rng(0)
    paths = []
    for split in ("train", "test"):
        for emotion in data.CLASS_NAMES[:2]:
            path = root / split / emotion / "0.png"
            path.parent.mkdir(parents=True)
            image_io.imsave(path, rng.integers(0, 256, (48, 48), dtype=np.uint8), check_contrast=False)
            paths.append(path)
    return paths


@FUZZ
@given(recipe=damage())
@example(recipe=("junk", 0.875, b"\x00\x00@"))   # a compression method that does not exist: NotImplementedError
@example(recipe=("junk", 0.98828125, b"\x00\x01"))  # an entry flagged as encrypted: RuntimeError
def test_damaged_model_files_load_or_are_refused_by_name(good_files, tmp_path, recipe):
    path = tmp_path / "model.npz"
    path.write_bytes(damaged(good_files["model.npz"], recipe))
    assert_result_or_named_error(models.load, path)


@pytest.fixture(scope="module")
def good_checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("checkpoint")
    solver = tiny_solver(checkpoint_path=folder / "checkpoint.npz", num_epochs=1)
    solver.train()
    return (folder / "checkpoint.npz").read_bytes()


def tiny_solver(**options):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((12, 1, 8, 8)), rng.integers(0, 7, 12)
    model = ConvNet([], [AffineLayer(4)], input_dim=(1, 8, 8), seed=0)
    return Solver(model, {"X_train": X, "y_train": y, "X_val": X, "y_val": y}, update_rule="adam", batch_size=6,
                  verbose=False, **options)


@FUZZ
@given(recipe=damage())
def test_damaged_checkpoints_resume_or_are_refused_by_name(good_checkpoint, tmp_path, recipe):
    path = tmp_path / "checkpoint.npz"
    path.write_bytes(damaged(good_checkpoint, recipe))
    assert_result_or_named_error(lambda path: tiny_solver(resume=path), path)


def test_the_damage_recipes_do_damage():
    content = bytes(range(100))
    assert damaged(content, ("cut", 0.5)) == content[:50]
    assert damaged(content, ("flip", [(0.1, 0xFF)]))[10] == 10 ^ 0xFF
    assert damaged(content, ("junk", 0.98, b"abcd")) == content[:98] + b"abcd"
