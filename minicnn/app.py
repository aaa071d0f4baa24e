"""The page: emotions on photos and from a webcam, in a browser on this machine.

    minicnn serve [--port 8000] [--model runs/deep/model.npz] [--host 127.0.0.1]    (or python examples/app.py)

needs the [app] extra (`pip install -e ".[app]"`: Starlette and uvicorn). One hand-written page
(minicnn/app_static/) talks to three routes, and everything it shows comes from minicnn.faces and
minicnn.visualize:

    GET  /api/about                 {"model": the model's name, network and accuracy, read from model.info,
                                    "max_upload_bytes": the largest photo the server reads}
    POST /api/emotions?name=NAME    body: a photo's bytes -> {"width", "height", "seconds", "message",
                                    "faces": [{"box", "emotion", "emotions", "face"}]}, boxes in the pixels of
                                    the photo as analysed (width x height), "face" the 48x48 crop as a PNG data URL
    POST /api/saliency?emotion=E    body: such a 48x48 face PNG -> {"emotion", "saliency"}: which pixels sway
                                    the score of E (the most likely emotion when E is not given)

A photo travels in the request body and stays in memory: nothing a user sends is written to disk. Input the page
cannot use (not an image, an empty or too large file, a face crop of the wrong size) is answered with status 400
or 413 and {"error": message}, which the page shows. A body declared larger than the limit is refused before it is
read (the page does not send such a file at all: it knows the limit from /api/about). The network runs one request
at a time, in a worker thread: the event loop keeps serving the page meanwhile, and the numerical libraries already
use every core.
"""
import argparse
import base64
import io
import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from PIL import Image

from minicnn import data, faces, models, preprocessing, visualize

try:  # the [app] extra: only the page needs a web server
    import uvicorn
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import FileResponse, JSONResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles
except ImportError as error:
    MISSING_EXTRA = error.name
else:
    MISSING_EXTRA = None

STATIC_FOLDER = Path(__file__).with_name("app_static")
MAX_UPLOAD_BYTES = 20 * 2**20    # a larger body is refused (413) before it is read whole
ANALYSED_MAX_SIDE = 2048         # pixels: a larger photo is shrunk while decoded; faces are found at 1024 anyway
SALIENCY_COLOURS = "hot"         # black (no effect on the score) -> red -> yellow -> white (the largest effect)
DEFAULT_PORT = 8000


class UploadTooLarge(ValueError):
    """A request body over MAX_UPLOAD_BYTES."""


# ------------------------------------------------------------------------------------------ what the page shows
def model_summary(model, path=None):
    """What the page says about the model: {"name", "network", "data", "accuracy": {split: fraction}}, read from
    model.info (a model saved without that info shows no accuracy rather than a made-up one)."""
    accuracy = model.info.get("accuracy", {})
    return {"name": Path(path).name if path else f"{models.PRETRAINED_MODEL.name} (shipped with minicnn)",
            "network": model.info.get("network", f"a ConvNet of {model.num_layers} layers"),
            "data": model.info.get("data", ""),
            "accuracy": {split: accuracy[split] for split in ("PublicTest", "PrivateTest") if split in accuracy}}


def analyse_photo(content, model, name="the photo"):
    """The emotions of the faces in one photo, as /api/emotions answers.

    content: the photo file's bytes. Returns {"width", "height": the photo's size as analysed (shrunk to
    ANALYSED_MAX_SIDE), "faces": detect_emotions' list with each face's 48x48 crop added as a PNG data URL,
    "message": why the list is empty, "seconds": the time taken}. ValueError naming the photo when it is empty or
    not an image.
    """
    started = time.perf_counter()
    image = faces.image_from_bytes(content, name, max_side=ANALYSED_MAX_SIDE)
    results = faces.detect_emotions(image, model)
    crops = faces.crop_faces(faces.grey_levels(image), [result["box"] for result in results])
    for result, crop in zip(results, crops):
        result["face"] = png_data_url(crop)
    message = "" if results else (f"no face found in {name}: the detector looks for frontal faces, upright, at least "
                                  f"1/{round(1 / faces.MIN_FACE_FRACTION)} of the photo's shorter side")
    return {"width": image.shape[1], "height": image.shape[0], "faces": results, "message": message,
            "seconds": round(time.perf_counter() - started, 3)}


def face_saliency(content, model, emotion=None, class_names=data.CLASS_NAMES):
    """Which pixels of a face sway the network's score of one emotion, as /api/saliency answers.

    content: a 48x48 grey face as a PNG file's bytes (the "face" of analyse_photo); emotion: a class name, None for
    the most likely one. Returns {"emotion", "saliency": |d score / d pixel| as a 48x48 PNG data URL, coloured
    from black (no effect) to white (the largest)}. ValueError for another image size or an unknown emotion.
    """
    face = faces.image_from_bytes(content, "the face")
    if face.shape != data.IMAGE_SHAPE:
        raise ValueError(f"the face must be a {data.IMAGE_SHAPE[1]}x{data.IMAGE_SHAPE[0]} grey image as "
                         f"/api/emotions returns it, got {'x'.join(map(str, face.shape[1::-1]))} pixels")
    if emotion is not None and emotion not in class_names:
        raise ValueError(f"unknown emotion '{emotion}': one of {', '.join(class_names)}")
    classes = None if emotion is None else [class_names.index(emotion)]
    inputs = preprocessing.preprocess(face[np.newaxis], model.mean_image)[0]
    saliency, classes = visualize.saliency_maps(model, inputs, classes)
    scaled = saliency[0] / max(float(saliency[0].max()), 1e-12)
    return {"emotion": class_names[int(classes[0])], "saliency": png_data_url(colormaps[SALIENCY_COLOURS](scaled))}


def png_data_url(pixels):
    """pixels: uint8 (H, W) grey, or float (H, W, 4) RGBA in 0..1 (a colour map's output) -> "data:image/png;..."."""
    if pixels.dtype.kind == "f":
        pixels = np.round(255 * pixels).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


# ------------------------------------------------------------------------------------------------ the web app
def create_app(model, model_path=None):
    """The Starlette app of the page for model (a ConvNet with its mean image, faces.load_model)."""
    network_lock = threading.Lock()   # one photo at a time: its GEMMs use every core, and layers may share a workspace

    async def run_network(function, *arguments):
        def locked():
            with network_lock:
                return function(*arguments)
        return await run_in_threadpool(locked)

    async def page(request):
        return FileResponse(STATIC_FOLDER / "index.html")

    async def about(request):
        return JSONResponse({"model": model_summary(model, model_path), "max_upload_bytes": MAX_UPLOAD_BYTES})

    async def emotions(request):
        name = request.query_params.get("name") or "the photo"
        return await _answer(request, lambda content: run_network(analyse_photo, content, model, name))

    async def saliency(request):
        emotion = request.query_params.get("emotion") or None
        return await _answer(request, lambda content: run_network(face_saliency, content, model, emotion))

    return Starlette(routes=[Route("/", page), Route("/api/about", about),
                             Route("/api/emotions", emotions, methods=["POST"]),
                             Route("/api/saliency", saliency, methods=["POST"]),
                             Mount("/static", StaticFiles(directory=STATIC_FOLDER))])


async def _answer(request, analyse):
    """Read the request's body, await analyse(body), answer its dict as JSON; a bad body gets {"error"} and 400 or
    413 instead."""
    try:
        return JSONResponse(await analyse(await _body(request)))
    except ValueError as error:
        return JSONResponse({"error": str(error)}, status_code=413 if isinstance(error, UploadTooLarge) else 400)


async def _body(request):
    """The request's body as bytes, read into memory; UploadTooLarge as soon as it passes MAX_UPLOAD_BYTES."""
    limit = f"the file is larger than the page takes ({MAX_UPLOAD_BYTES // 2**20} MB)"
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
        raise UploadTooLarge(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_UPLOAD_BYTES:
            raise UploadTooLarge(limit)
    return bytes(body)


# ---------------------------------------------------------------------------------------------- the command
def parse_arguments(argv=None, prog=None):
    parser = argparse.ArgumentParser(prog=prog, description="Serve a page that reads the emotions of the faces on "
                                                            "photos and from a webcam, in a browser.")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="default: %(default)s; 0 picks a free one")
    parser.add_argument("--host", default="127.0.0.1",
                        help="the address to listen on (default: %(default)s, this machine only; 0.0.0.0 opens the "
                             "page to the network, with no password)")
    parser.add_argument("--model", help="a model.npz written by a training script (default: the shipped model)")
    return parser.parse_args(argv)


def listening_socket(host, port):
    """A TCP socket listening on host:port (port 0: a free port the system picks); ValueError when it cannot be had.
    It listens from now on, so a browser that comes before the server has started waits instead of being refused."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        listener = socket.socket(family, socket.SOCK_STREAM)
    except OSError as error:
        raise ValueError(f"--host {host}: not an address of this machine ({error})") from None
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
        listener.listen()
    except OSError as error:
        listener.close()
        raise ValueError(f"cannot listen on {host}:{port} ({error.strerror}); choose another --port") from None
    return listener


def main(argv=None, prog=None):
    """Load the model, listen on --host:--port and serve the page until Ctrl-C (`minicnn serve`; prog: the name its
    --help shows). Returns the exit status."""
    arguments = parse_arguments(argv, prog)
    if MISSING_EXTRA:
        print(f"error: the page needs the [app] extra ({MISSING_EXTRA} is not installed): "
              f"pip install -e \".[app]\"", file=sys.stderr)
        return 2
    try:
        model = faces.load_model(arguments.model)
        listener = listening_socket(arguments.host, arguments.port)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    host, port = listener.getsockname()[:2]
    print(f"minicnn: the page is at http://{f'[{host}]' if ':' in host else host}:{port}/ (Ctrl-C stops it)",
          flush=True)
    server = uvicorn.Server(uvicorn.Config(create_app(model, arguments.model), log_level="warning"))
    server.run(sockets=[listener])
    return 0
