"""The page (minicnn/app.py) in a real browser, used as a person would: Debian's headless Chromium, driven by
Selenium through chromium-driver (no browser download), against `python examples/app.py` on 127.0.0.1 with the
shipped model. It uploads scikit-image's astronaut and finds her face labelled happy, with its bar chart and its
saliency map; uploads files that are not photos of faces and finds the messages; and turns the webcam on, with
Chromium's fake camera playing the astronaut, and finds a box drawn over the video.

A screenshot of each state is written to $MINICNN_SCREENSHOTS (docs/figures for the README's), else to a temporary
folder, named in the test's output. Skipped, with the reason, without Selenium, Chromium, chromium-driver or the
[app] extra. About 15 s on 2 busy cores, most of it the server's and the browser's start.
"""
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from PIL import Image
from skimage import data as skimage_data

from minicnn import app, faces

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from app_load import running_app  # noqa: E402 (benchmarks/ is a folder of scripts, not a package)

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
WAIT_SECONDS = 60        # for an answer of the server, on a busy machine
WINDOW = (1280, 900)

pytestmark = [
    pytest.mark.skipif(app.MISSING_EXTRA is not None, reason="the page needs the [app] extra: pip install -e '.[app]'"),
    pytest.mark.skipif(importlib.util.find_spec("selenium") is None,
                       reason="needs selenium (pip install -e '.[test]')"),
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="needs Debian's chromium and chromium-driver "
                                                               "(apt-get install chromium chromium-driver)"),
]


def write_y4m(path, rgb, frames=10, rate=10):
    """A raw video file (YUV4MPEG2, 4:2:0) showing the picture rgb (H, W, 3), H and W even, for `frames` frames:
    what Chromium's fake camera plays (--use-file-for-fake-video-capture)."""
    height, width = rgb.shape[:2]
    luma, *chroma = Image.fromarray(rgb).convert("YCbCr").split()
    quarters = [plane.resize((width // 2, height // 2), Image.BILINEAR) for plane in chroma]   # 4:2:0
    frame = b"FRAME\n" + b"".join(plane.tobytes() for plane in [luma, *quarters])
    path.write_bytes(f"YUV4MPEG2 W{width} H{height} F{rate}:1 Ip A1:1 C420jpeg\n".encode() + frame * frames)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("uploads")
    Image.fromarray(skimage_data.astronaut()).save(folder / "astronaut.png")
    Image.fromarray(skimage_data.coffee()).save(folder / "coffee.png")
    (folder / "notes.txt").write_text("a text file, not a photo\n")
    (folder / "empty.jpg").write_bytes(b"")
    write_y4m(folder / "astronaut.y4m", skimage_data.astronaut())
    return folder


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory):
    folder = Path(os.environ.get("MINICNN_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"screenshots of the page: {folder}")
    return folder


@pytest.fixture(scope="module")
def page_url():
    with running_app() as server:
        yield server.url


@pytest.fixture(scope="module")
def browser(files):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="minicnn-chromium-")
    # Headless, and nothing that reaches out to the network (updates, sync, first-run pages); the camera is a fake
    # one that plays the astronaut, and the browser grants it without asking.
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                     f"--window-size={WINDOW[0]},{WINDOW[1]}", "--use-fake-ui-for-media-stream",
                     "--use-fake-device-for-media-stream",
                     f"--use-file-for-fake-video-capture={files / 'astronaut.y4m'}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver, condition, what):
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, WAIT_SECONDS, poll_frequency=0.2).until(condition, message=f"waited for {what}")


def save_screenshot(driver, folder, name):
    """The whole page as a PNG in folder: the window is made as tall as the page first."""
    height = driver.execute_script("return document.documentElement.scrollHeight + outerHeight - innerHeight")
    driver.set_window_size(WINDOW[0], max(WINDOW[1], height))
    path = folder / name
    driver.save_screenshot(str(path))
    driver.set_window_size(*WINDOW)
    return path


def by_css(driver, selector):
    from selenium.webdriver.common.by import By
    return driver.find_elements(By.CSS_SELECTOR, selector)


def open_page(driver, url):
    driver.get(url)
    wait_for(driver, lambda d: "%" in by_css(d, "#model")[0].text, "the model's description")


def upload(driver, *paths):
    by_css(driver, "#files")[0].send_keys("\n".join(str(path) for path in paths))


def test_the_astronaut_is_found_happy_with_her_bar_chart_and_saliency_map(browser, page_url, files, screenshots):
    open_page(browser, page_url)
    accuracy = faces.load_model().info["accuracy"]["PrivateTest"]
    assert f"{100 * accuracy:.1f}% (PrivateTest)" in by_css(browser, "#model")[0].text   # read from model.info
    upload(browser, files / "astronaut.png")
    wait_for(browser, lambda d: by_css(d, ".photo .box"), "a box over the photo")
    boxes = by_css(browser, ".photo .box")
    assert len(boxes) == 1 and boxes[0].text.startswith("happy"), [box.text for box in boxes]
    # The box is drawn over her face: its middle lies between her eyes and her mouth.
    photo, box = by_css(browser, ".photo img")[0].rect, boxes[0].rect
    middle = ((box["x"] + box["width"] / 2 - photo["x"]) / photo["width"],
              (box["y"] + box["height"] / 2 - photo["y"]) / photo["height"])
    assert abs(middle[0] - 222 / 512) < 0.05 and abs(middle[1] - 118 / 512) < 0.05, middle
    bars = by_css(browser, ".face .bar")
    assert len(bars) == 7 and by_css(browser, ".face .top-emotion .name")[0].text == "happy"
    by_css(browser, ".inside-button")[0].click()
    wait_for(browser, lambda d: d.execute_script(
        "const map = document.querySelector('.inside-images .inside-map'); return map.complete && map.naturalWidth"),
        "the saliency map")
    assert "happy" in by_css(browser, ".inside-note")[0].text
    assert by_css(browser, ".inside-images .inside-map")[0].get_property("naturalWidth") == 48
    save_screenshot(browser, screenshots, "app_photo.png")


def test_files_that_are_not_photos_of_faces_get_a_message(browser, page_url, files, screenshots):
    open_page(browser, page_url)
    upload(browser, files / "notes.txt", files / "empty.jpg", files / "coffee.png")
    wait_for(browser, lambda d: len(by_css(d, ".photo-card .message.error")) == 3, "three messages")
    messages = {card.find_element("css selector", "h2").text: card.find_element("css selector", ".message").text
                for card in by_css(browser, ".photo-card")}
    assert "not an image" in messages["notes.txt"], messages
    assert "the file is empty" in messages["empty.jpg"], messages
    assert "no face found" in messages["coffee.png"], messages
    save_screenshot(browser, screenshots, "app_messages.png")


def test_the_webcam_shows_a_box_over_the_live_video(browser, page_url, screenshots):
    open_page(browser, page_url)
    by_css(browser, "#tab-webcam")[0].click()
    by_css(browser, "#camera")[0].click()
    wait_for(browser, lambda d: by_css(d, "#live-boxes .box") and "frames/s" in by_css(d, "#rate")[0].text,
             "a box over the video and the frame rate")
    assert by_css(browser, "#live-boxes .box")[0].text.startswith("happy")
    assert by_css(browser, "#camera-message")[0].get_property("hidden")
    save_screenshot(browser, screenshots, "app_webcam.png")
    by_css(browser, "#camera")[0].click()
    assert by_css(browser, "#stage")[0].get_property("hidden")
