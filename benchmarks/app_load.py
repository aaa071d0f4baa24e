"""Load test of the page's server: python benchmarks/app_load.py [--requests 50] [--concurrency 8] [--model M.npz]

Starts the page as a user does (`python examples/app.py --port 0`: a free port on 127.0.0.1), posts
scikit-image's astronaut photo --requests times, --concurrency at a time, and prints how many were answered, the
latency (median and 95th percentile, from the request's start to the answer, so it includes the wait for the
network: the server runs one photo at a time) and the photos a second. Then a burst of bad uploads (text, an empty
file, a truncated JPEG, random bytes, a file over the size limit), each of which must be answered with its
message, and one more photo, which must still be answered. Traffic goes to 127.0.0.1 only, every request has a
timeout, and the server is stopped at the end.
"""
import argparse
import http.client
import io
import json
import select
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data as skimage_data

from common import command_line, machine_description, markdown_table
from minicnn.app import MAX_UPLOAD_BYTES

REPO_ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 60       # seconds for the server to load its model and listen
REQUEST_TIMEOUT = 120    # seconds for one answer, waiting behind the others included


@dataclass
class RunningApp:
    url: str             # http://127.0.0.1:PORT/
    log: io.IOBase       # the server's stderr, kept in a temporary file

    def errors(self):
        """What the server has written to stderr so far."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")


@contextmanager
def running_app(*arguments):
    """Start `python examples/app.py --port 0 *arguments`, yield a RunningApp once it listens, stop it at the end."""
    log = tempfile.TemporaryFile()
    server = subprocess.Popen([sys.executable, str(REPO_ROOT / "examples" / "app.py"), "--port", "0", *arguments],
                              stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        yield RunningApp(_announced_url(server, log), log)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server.stdout.close()
        log.close()


def _announced_url(server, log):
    """The URL the server prints once it listens; RuntimeError with its stderr when it stops or takes too long."""
    ready, _, _ = select.select([server.stdout], [], [], START_TIMEOUT)
    line = server.stdout.readline() if ready else ""
    if "http://" not in line:
        server.kill()
        log.seek(0)
        raise RuntimeError(f"the app did not start within {START_TIMEOUT} s: {line}{log.read().decode()}")
    return line[line.index("http://"):].split()[0]


def post(url, body, timeout=REQUEST_TIMEOUT):
    """POST body to url -> (HTTP status, the answer's JSON)."""
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def emotions_url(app, name):
    return f"{app.url}api/emotions?name={urllib.parse.quote(name)}"


def astronaut_png():
    buffer = io.BytesIO()
    Image.fromarray(skimage_data.astronaut()).save(buffer, format="PNG")
    return buffer.getvalue()


def timed_posts(url, body, requests, concurrency):
    """Post body to url `requests` times from `concurrency` threads -> a list of (status, answer, seconds)."""
    def timed_post(_):
        started = time.perf_counter()
        status, answer = post(url, body)
        return status, answer, time.perf_counter() - started
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(timed_post, range(requests)))


def bad_uploads(photo):
    """name -> the bytes of an upload the server must refuse with a message (photo: a valid PNG file's bytes)."""
    rng = np.random.default_rng(0)
    return {"notes.txt": b"not a photo\n", "empty.jpg": b"", "truncated.png": photo[:len(photo) // 3],
            "noise.jpg": rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()}


def post_declared_too_large(app, timeout=REQUEST_TIMEOUT):
    """Announce a photo over the size limit and wait for the answer before sending it, as the server refuses such
    a body unread -> (HTTP status, the answer's JSON)."""
    connection = http.client.HTTPConnection(urllib.parse.urlsplit(app.url).netloc, timeout=timeout)
    try:
        connection.putrequest("POST", "/api/emotions?name=too_large.png")
        connection.putheader("Content-Length", str(MAX_UPLOAD_BYTES + 1))
        connection.endheaders()
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def percentile(values, fraction):
    """The value below which `fraction` of values lie (linear interpolation between the nearest ranks)."""
    return float(np.percentile(values, 100 * fraction))


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description="Load test of the page's server on 127.0.0.1.")
    parser.add_argument("--requests", type=int, default=50, help="default: %(default)s")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight at once (default: %(default)s)")
    parser.add_argument("--model", help="a model.npz (default: the shipped model)")
    return parser.parse_args(argv)


def main(argv=None):
    """Run the load test and the bad uploads, print a Markdown section for RESULTS.md. Exit status 1 when a photo
    went unanswered."""
    arguments = parse_arguments(argv)
    photo = astronaut_png()
    with running_app(*(["--model", arguments.model] if arguments.model else [])) as app:
        url = emotions_url(app, "astronaut.png")
        post(url, photo)                                                      # warm-up: caches, first allocations
        started = time.perf_counter()
        results = timed_posts(url, photo, arguments.requests, arguments.concurrency)
        elapsed = time.perf_counter() - started
        refused = {name: post(emotions_url(app, name), body) for name, body in bad_uploads(photo).items()}
        refused["too_large.png (declared)"] = post_declared_too_large(app)
        status_after, answer_after = post(url, photo)
        tracebacks = app.errors().count("Traceback")
    answered = sum(status == 200 and len(answer["faces"]) == 1 for status, answer, _ in results)
    seconds = [seconds for _, _, seconds in results]
    print(f"## The page's server under load (astronaut photo, {arguments.concurrency} requests at a time)\n")
    print(f"Machine: {machine_description()}  \nCommand: `{command_line()}`\n")
    print(markdown_table(["photos answered (one face)", "latency median", "latency 95th percentile", "photos/s",
                          "server time a photo (median)"],
                         [[f"{answered} of {arguments.requests}", f"{statistics.median(seconds):.2f} s",
                           f"{percentile(seconds, 0.95):.2f} s", f"{arguments.requests / elapsed:.2f}",
                           f"{statistics.median(answer['seconds'] for _, answer, _ in results):.2f} s"]]))
    print()
    print(markdown_table(["bad upload", "status", "message on the page"],
                         [[name, status, answer.get("error", "")] for name, (status, answer) in refused.items()]))
    print(f"\nThen the astronaut again: status {status_after}, {len(answer_after.get('faces', []))} face. "
          f"Tracebacks in the server's log: {tracebacks}.")
    return 0 if answered == arguments.requests and status_after == 200 and not tracebacks else 1


if __name__ == "__main__":
    sys.exit(main())
