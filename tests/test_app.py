"""minicnn.app, the page's server: what it answers for photos, faces and bad input, with the shipped model (so the
astronaut must come out happy), and the server itself started by its one command, `python examples/app.py`, on
127.0.0.1: its page and files, a small burst of photos, bad uploads answered with messages and no traceback, and
the server still answering afterwards. The browser's side is tests/test_app_browser.py. About 10 s on 2 cores.
"""
import asyncio
import base64
import io
import json
import socket
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from matplotlib import colormaps
from PIL import Image
from skimage import data as skimage_data

from minicnn import app, faces, models, preprocessing, visualize
from minicnn.models import ConvLayer, ConvNet

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import app_load  # noqa: E402 (benchmarks/ is a folder of scripts, not a package)

ASTRONAUT_FACE = (222, 118)  # x, y of the middle of the astronaut's face, between her eyes and her mouth
needs_the_extra = pytest.mark.skipif(app.MISSING_EXTRA is not None,
                                     reason="the page needs the [app] extra: pip install -e '.[app]'")


def file_bytes(pixels, format="PNG"):
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=format)
    return buffer.getvalue()


def decoded(data_url):
    """A "data:image/png;base64,..." URL -> its pixels."""
    header, payload = data_url.split(",", 1)
    assert header == "data:image/png;base64"
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(payload))))


def contains(box, point):
    x, y, width, height = box
    return x <= point[0] < x + width and y <= point[1] < y + height


@pytest.fixture(scope="module")
def model():
    return faces.load_model()


@pytest.fixture(scope="module")
def astronaut_answer(model):
    return app.analyse_photo(file_bytes(skimage_data.astronaut()), model, "astronaut.png")


def test_the_astronaut_is_one_happy_face_with_the_crop_the_network_read(astronaut_answer):
    assert (astronaut_answer["width"], astronaut_answer["height"]) == (512, 512)
    [face] = astronaut_answer["faces"]
    assert face["emotion"] == "happy" and contains(face["box"], ASTRONAUT_FACE), face["box"]
    assert set(face["emotions"]) == set(faces.data.CLASS_NAMES) and astronaut_answer["message"] == ""
    expected = faces.crop_faces(faces.grey_levels(skimage_data.astronaut()), [face["box"]])[0]
    np.testing.assert_array_equal(decoded(face["face"]), expected)


def test_a_huge_photo_is_shrunk_while_it_is_decoded(model):
    huge = np.asarray(Image.fromarray(skimage_data.astronaut()).resize((4096, 4096), Image.BILINEAR))
    answer = app.analyse_photo(file_bytes(huge, "JPEG"), model, "huge.jpg")
    assert (answer["width"], answer["height"]) == (app.ANALYSED_MAX_SIDE,) * 2
    scale = app.ANALYSED_MAX_SIDE / 512                       # boxes are in the pixels of the photo as analysed
    [face] = answer["faces"]
    assert face["emotion"] == "happy" and contains(face["box"], (scale * ASTRONAUT_FACE[0], scale * ASTRONAUT_FACE[1]))


def test_a_photo_without_a_face_gets_a_message(model):
    answer = app.analyse_photo(file_bytes(skimage_data.coffee()), model, "coffee.png")
    assert answer["faces"] == [] and answer["message"].startswith("no face found in coffee.png")


@pytest.mark.parametrize("content, message", [(b"", "the file is empty"), (b"hello\n", "not an image"),
                                              (file_bytes(skimage_data.coffee())[:5000], "cannot be read")])
def test_a_file_that_is_not_a_photo_gets_a_message_naming_it(model, content, message):
    with pytest.raises(ValueError, match=f"^upload.bin: {message}"):
        app.analyse_photo(content, model, "upload.bin")


def test_the_saliency_of_a_face_is_that_of_minicnn_visualize_for_the_emotion_asked(model, astronaut_answer):
    crop_url = astronaut_answer["faces"][0]["face"]
    crop_png = base64.b64decode(crop_url.split(",", 1)[1])
    happy = app.face_saliency(crop_png, model)                                   # the most likely emotion
    sad = app.face_saliency(crop_png, model, "sad")
    assert (happy["emotion"], sad["emotion"]) == ("happy", "sad")
    inputs = preprocessing.preprocess(decoded(crop_url)[np.newaxis], model.mean_image)[0]
    saliency = visualize.saliency_maps(model, inputs, [faces.data.CLASS_NAMES.index("happy")])[0][0]
    expected = np.round(255 * colormaps[app.SALIENCY_COLOURS](saliency / saliency.max())).astype(np.uint8)
    np.testing.assert_array_equal(decoded(happy["saliency"]), expected)
    assert not np.array_equal(decoded(sad["saliency"]), decoded(happy["saliency"]))


def test_the_saliency_refuses_a_face_of_another_size_and_an_unknown_emotion(model, astronaut_answer):
    with pytest.raises(ValueError, match="must be a 48x48 grey image .* got 512x512"):
        app.face_saliency(file_bytes(skimage_data.astronaut()), model)
    crop_png = base64.b64decode(astronaut_answer["faces"][0]["face"].split(",", 1)[1])
    with pytest.raises(ValueError, match="unknown emotion 'bored'"):
        app.face_saliency(crop_png, model, "bored")


def test_a_hybrid_net_has_no_saliency_map_and_says_why(astronaut_answer):
    hybrid = ConvNet([ConvLayer(2, 3, pool=True)], [4], input_dim=(1, 48, 48), hog_dim=10, seed=0)
    hybrid.mean_image = np.zeros((48, 48), dtype=np.float32)
    crop_png = base64.b64decode(astronaut_answer["faces"][0]["face"].split(",", 1)[1])
    with pytest.raises(ValueError, match="HOG features, which have no backward pass"):
        app.face_saliency(crop_png, hybrid)


def test_the_model_summary_reads_the_accuracy_from_model_info_and_invents_none(model, tmp_path):
    summary = app.model_summary(model)
    assert summary["name"].startswith(models.PRETRAINED_MODEL.name)
    assert summary["accuracy"] == {split: model.info["accuracy"][split] for split in ("PublicTest", "PrivateTest")}
    untold = ConvNet([ConvLayer(2, 3, pool=True)], [4], input_dim=(1, 48, 48), seed=0)
    untold.mean_image = np.zeros((48, 48), dtype=np.float32)
    untold.save(tmp_path / "mine.npz")
    summary = app.model_summary(models.load(tmp_path / "mine.npz"), tmp_path / "mine.npz")
    assert summary["name"] == "mine.npz" and summary["accuracy"] == {}


class StreamedRequest:
    """What _body reads of a Starlette request: its headers and its body, streamed in chunks (counted as read)."""

    def __init__(self, chunks, headers=None):
        self.chunks, self.headers, self.chunks_read = chunks, headers or {}, 0

    async def stream(self):
        for chunk in self.chunks:
            self.chunks_read += 1
            yield chunk


def test_a_body_over_the_limit_is_refused_before_it_is_read_whole(monkeypatch):
    monkeypatch.setattr(app, "MAX_UPLOAD_BYTES", 1000)
    assert asyncio.run(app._body(StreamedRequest([b"x" * 600, b"y" * 400]))) == b"x" * 600 + b"y" * 400
    streamed = StreamedRequest([b"x" * 600, b"y" * 600, b"z" * 600])         # sent without its length
    with pytest.raises(app.UploadTooLarge, match="larger than the page takes"):
        asyncio.run(app._body(streamed))
    assert streamed.chunks_read == 2
    declared = StreamedRequest([b"x" * 1001], {"content-length": "1001"})
    with pytest.raises(app.UploadTooLarge):
        asyncio.run(app._body(declared))
    assert declared.chunks_read == 0


@needs_the_extra
def test_the_command_explains_a_model_it_cannot_load_and_a_port_in_use(tmp_path, capsys):
    assert app.main(["--model", str(tmp_path / "missing.npz"), "--port", "0"]) == 2
    assert "missing.npz" in capsys.readouterr().err
    with socket.create_server(("127.0.0.1", 0)) as taken:
        assert app.main(["--port", str(taken.getsockname()[1])]) == 2
    assert "choose another --port" in capsys.readouterr().err


# ---------------------------------------------------------------------- the server, started by its command
@pytest.fixture(scope="module")
def server():
    with app_load.running_app() as running:
        yield running


@needs_the_extra
def test_one_command_serves_the_page_its_files_and_the_model_description(server, model):
    for path, text in (("", "Drop photos here"), ("static/app.js", "/api/emotions"), ("static/app.css", ".box")):
        with urllib.request.urlopen(server.url + path, timeout=30) as response:
            assert response.status == 200 and text in response.read().decode()
    with urllib.request.urlopen(server.url + "api/about", timeout=30) as response:
        about = json.loads(response.read())
    assert about["model"]["accuracy"]["PrivateTest"] == model.info["accuracy"]["PrivateTest"]
    assert about["max_upload_bytes"] == app.MAX_UPLOAD_BYTES


@needs_the_extra
def test_the_server_answers_a_burst_of_photos_and_keeps_answering_after_bad_uploads(server):
    photo = app_load.astronaut_png()
    url = app_load.emotions_url(server, "astronaut.png")
    results = app_load.timed_posts(url, photo, requests=6, concurrency=3)
    assert [(status, [face["emotion"] for face in answer["faces"]]) for status, answer, _ in results] == \
        [(200, ["happy"])] * 6
    for name, content in app_load.bad_uploads(photo).items():
        status, answer = app_load.post(app_load.emotions_url(server, name), content)
        assert status == 400 and answer["error"].startswith(f"{name}: "), (name, status, answer)
    status, answer = app_load.post_declared_too_large(server)
    assert status == 413 and "larger than the page takes" in answer["error"]
    status, answer = app_load.post(f"{server.url}api/saliency?emotion=bored", photo)
    assert status == 400 and "48x48" in answer["error"]
    status, answer = app_load.post(url, photo)
    assert status == 200 and answer["faces"][0]["emotion"] == "happy"
    assert "Traceback" not in server.errors(), server.errors()
