// The page of minicnn's app (minicnn/app.py): photos and webcam frames go to /api/emotions, a face's saliency map
// comes from /api/saliency, the model's description from /api/model. Everything is drawn here, in plain DOM.
"use strict";

const EMOTION_COLOURS = {
  angry: "#d64545", disgust: "#5f8f2f", fear: "#8e5cc2", happy: "#e8a317",
  sad: "#3b7dd8", surprise: "#e0662b", neutral: "#8a96a8",
};
const WEBCAM_MAX_RATE = 5;        // frames a second at most: one frame is sent when the answer to the last is in
const WEBCAM_FRAME_WIDTH = 640;   // pixels: frames are scaled to this width before they are sent
const RATE_WINDOW_MS = 3000;      // the frame rate shown is that of the answers of the last 3 seconds

const $ = (id) => document.getElementById(id);

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function percent(probability) {
  return `${Math.round(100 * probability)}%`;
}

// ------------------------------------------------------------------------------------------- the server
// POST body (a Blob) to path; resolves with the answer's JSON, rejects with an Error whose message the page shows.
async function post(path, body) {
  let response;
  try {
    response = await fetch(path, { method: "POST", body });
  } catch (error) {
    throw new Error("the server did not answer: is minicnn's app still running?");
  }
  let answer;
  try {
    answer = await response.json();
  } catch (error) {
    throw new Error(`the server answered ${response.status} ${response.statusText} without an explanation`);
  }
  if (!response.ok) throw new Error(answer.error || `the server answered ${response.status}`);
  return answer;
}

const server = { maxUploadBytes: Infinity };   // set from /api/about

async function showAbout() {
  try {
    const about = await (await fetch("/api/about")).json();
    const model = about.model;
    const accuracy = Object.entries(model.accuracy)
      .map(([split, value]) => `${(100 * value).toFixed(1)}% (${split})`).join(", ");
    $("model").textContent = `Model: ${model.name}, ${model.network}. ` + (accuracy
      ? `Accuracy on FER2013's 7 emotions: ${accuracy}; people score about 65%.`
      : "Its accuracy is not recorded in the model file.");
    $("model").title = model.data;
    server.maxUploadBytes = about.max_upload_bytes;
    $("size-limit").textContent = `${Math.floor(about.max_upload_bytes / 2 ** 20)} MB`;
  } catch (error) {
    $("model").textContent = "The model's description could not be read: is minicnn's app still running?";
  }
}

// ----------------------------------------------------------------------------------- boxes and bar charts
// Draw a box and its top emotion for each face over a photo or a video shown at any size: positions are
// fractions of the analysed image (width x height pixels).
function drawBoxes(layer, faces, width, height) {
  layer.replaceChildren(...faces.map((face, index) => {
    const [x, y, w, h] = face.box;
    const box = element("div", "box");
    Object.assign(box.style, {
      left: `${100 * x / width}%`, top: `${100 * y / height}%`,
      width: `${100 * w / width}%`, height: `${100 * h / height}%`,
      borderColor: EMOTION_COLOURS[face.emotion] || "#fff",
    });
    const label = element("span", "label", `${faces.length > 1 ? `${index + 1}: ` : ""}${face.emotion} ` +
      percent(face.emotions[face.emotion]));
    label.style.background = EMOTION_COLOURS[face.emotion] || "#fff";
    box.append(label);
    return box;
  }));
}

// A bar for each emotion, in the model's order, the most likely one in bold.
function fillBars(list, face) {
  list.replaceChildren(...Object.entries(face.emotions).map(([name, probability]) => {
    const row = element("li", name === face.emotion ? "bar top-emotion" : "bar");
    const track = element("span", "track");
    const fill = element("span", "fill");
    fill.style.width = percent(probability);
    fill.style.background = EMOTION_COLOURS[name] || "#888";
    track.append(fill);
    row.append(element("span", "name", name), track, element("span", "value", percent(probability)));
    return row;
  }));
}

function faceCard(face, title) {
  const card = $("face-card").content.firstElementChild.cloneNode(true);
  card.querySelector(".crop").src = face.face;
  card.querySelector(".title").textContent = title;
  card.querySelector(".top").textContent = `${face.emotion} ${percent(face.emotions[face.emotion])}`;
  fillBars(card.querySelector(".bars"), face);
  const select = card.querySelector(".inside-emotion");
  select.replaceChildren(...Object.keys(face.emotions).map((name) => new Option(name, name, false,
    name === face.emotion)));
  card.querySelector(".inside-button").addEventListener("click", () => toggleInside(card, face));
  select.addEventListener("change", () => showSaliency(card, face, select.value));
  return card;
}

// ------------------------------------------------------------------------------- the network's insides
function toggleInside(card, face) {
  const panel = card.querySelector(".inside");
  panel.hidden = !panel.hidden;
  card.querySelector(".inside-button").textContent = panel.hidden ? "Look inside the network" : "Hide the insides";
  if (!panel.hidden && !panel.dataset.shown) showSaliency(card, face, card.querySelector(".inside-emotion").value);
}

async function showSaliency(card, face, emotion) {
  const note = card.querySelector(".inside-note");
  note.textContent = "Computing the gradient of the score with respect to each pixel\u2026";
  note.classList.remove("error");
  try {
    const crop = await (await fetch(face.face)).blob();
    const answer = await post(`/api/saliency?emotion=${encodeURIComponent(emotion)}`, crop);
    card.querySelectorAll(".inside-face").forEach((image) => { image.src = face.face; });
    card.querySelectorAll(".inside-map").forEach((image) => { image.src = answer.saliency; });
    card.querySelector(".inside").dataset.shown = "yes";
    note.textContent = `Bright pixels are those whose change would move the ${answer.emotion} score most: ` +
      "what the network looks at for this emotion.";
  } catch (error) {
    note.textContent = error.message;
    note.classList.add("error");
  }
}

// --------------------------------------------------------------------------------------------- photos
function photoCard(name) {
  const card = element("article", "photo-card");
  const status = element("p", "message", "Waiting\u2026");
  card.append(element("h2", "", name), status);
  return { card, status };
}

function showPhoto({ card, status }, url, answer) {
  const figure = element("div", "photo");
  const image = element("img");
  image.src = url;
  image.alt = "the photo";
  const boxes = element("div", "boxes");
  figure.append(image, boxes);
  drawBoxes(boxes, answer.faces, answer.width, answer.height);
  const faces = element("div", "faces");
  faces.append(...answer.faces.map((face, index) => faceCard(face, `Face ${index + 1}`)));
  const found = answer.faces.length === 1 ? "1 face" : `${answer.faces.length} faces`;
  status.textContent = answer.message || `${found} in ${answer.seconds.toFixed(2)} s`;
  status.classList.toggle("error", answer.faces.length === 0);
  image.addEventListener("load", () => {
    if (image.naturalWidth > answer.width) {
      status.textContent += ` (analysed at ${answer.width}\u00d7${answer.height} pixels, the photo is ` +
        `${image.naturalWidth}\u00d7${image.naturalHeight})`;
    }
  }, { once: true });
  const body = element("div", "photo-body");
  body.append(figure, faces);
  card.append(body);
}

// The photos of one choice or drop, in their order above the earlier ones, analysed one after the other: the
// server runs the network on one photo at a time anyway.
async function analyseFiles(files) {
  const places = files.map((file) => photoCard(file.name));
  $("results").prepend(...places.map((place) => place.card));
  for (const [index, file] of files.entries()) {
    const place = places[index];
    place.status.textContent = "Looking for faces\u2026";
    try {
      if (file.size > server.maxUploadBytes) {
        throw new Error(`the file is larger than the page takes (${$("size-limit").textContent})`);
      }
      const answer = await post(`/api/emotions?name=${encodeURIComponent(file.name)}`, file);
      showPhoto(place, URL.createObjectURL(file), answer);
    } catch (error) {
      place.status.textContent = error.message;
      place.status.classList.add("error");
    }
  }
}

function setUpPhotos() {
  const drop = $("drop");
  $("files").addEventListener("change", (event) => {
    analyseFiles([...event.target.files]);
    event.target.value = "";   // choosing the same file again is a new choice
  });
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    analyseFiles([...event.dataTransfer.files]);
  });
}

// --------------------------------------------------------------------------------------------- webcam
const webcam = { stream: null, answers: [], running: false };

function frameBlob(video, type) {
  const canvas = element("canvas");
  const scale = Math.min(1, WEBCAM_FRAME_WIDTH / video.videoWidth);
  canvas.width = Math.round(video.videoWidth * scale);
  canvas.height = Math.round(video.videoHeight * scale);
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve) => canvas.toBlob(resolve, type, 0.85));
}

// The frame rate over the answers of the last RATE_WINDOW_MS (shown from the second answer on).
function showRate(now, secondsOnServer) {
  webcam.answers = webcam.answers.filter((time) => now - time < RATE_WINDOW_MS);
  webcam.answers.push(now);
  const onServer = `${Math.round(1000 * secondsOnServer)} ms a frame on the server`;
  const count = webcam.answers.length;
  $("rate").textContent = count > 1
    ? `${((count - 1) / ((now - webcam.answers[0]) / 1000)).toFixed(1)} frames/s, ${onServer}` : onServer;
}

function showLiveFaces(answer) {
  drawBoxes($("live-boxes"), answer.faces, answer.width, answer.height);
  $("live-faces").replaceChildren(...answer.faces.map((face, index) => {
    const card = element("article", "face live-face");
    const bars = element("ol", "bars");
    fillBars(bars, face);
    card.append(element("strong", "title", `Face ${index + 1}: ${face.emotion}`), bars);
    return card;
  }));
  if (!answer.faces.length) $("live-faces").append(element("p", "message", "No face in view."));
}

async function frameLoop() {
  const video = $("video");
  while (webcam.running) {
    const started = performance.now();
    if (video.videoWidth) {
      try {
        const answer = await post("/api/emotions?name=the%20webcam%20frame", await frameBlob(video, "image/jpeg"));
        if (!webcam.running) break;
        showLiveFaces(answer);
        showRate(performance.now(), answer.seconds);
        $("camera-message").hidden = true;
      } catch (error) {
        $("camera-message").textContent = error.message;
        $("camera-message").hidden = false;
      }
    }
    const wait = 1000 / WEBCAM_MAX_RATE - (performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, Math.max(wait, 0)));
  }
}

async function startCamera() {
  try {
    webcam.stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
  } catch (error) {
    $("camera-message").textContent = `The browser gave no camera (${error.name}: ${error.message}). Allow ` +
      "this page to use the camera: a page served from 127.0.0.1 or localhost may ask for it.";
    $("camera-message").hidden = false;
    return;
  }
  $("video").srcObject = webcam.stream;
  $("stage").hidden = false;
  $("camera").textContent = "Stop the camera";
  $("snapshot").disabled = false;
  webcam.running = true;
  frameLoop();
}

function stopCamera() {
  webcam.running = false;
  if (webcam.stream) webcam.stream.getTracks().forEach((track) => track.stop());
  webcam.stream = null;
  webcam.answers = [];
  $("stage").hidden = true;
  $("live-boxes").replaceChildren();
  $("live-faces").replaceChildren();
  $("rate").textContent = "";
  $("camera").textContent = "Start the camera";
  $("snapshot").disabled = true;
}

// The current frame becomes a photo: its faces get bar charts and saliency maps like any photo's.
async function takePhoto() {
  const frame = await frameBlob($("video"), "image/png");
  const name = `webcam ${new Date().toLocaleTimeString()}.png`;
  selectTab("photos");
  analyseFiles([new File([frame], name, { type: "image/png" })]);
}

function setUpWebcam() {
  $("camera").addEventListener("click", () => (webcam.running ? stopCamera() : startCamera()));
  $("snapshot").addEventListener("click", takePhoto);
}

// ----------------------------------------------------------------------------------------------- tabs
function selectTab(name) {
  for (const panel of ["photos", "webcam"]) {
    $(panel).hidden = panel !== name;
    $(`tab-${panel}`).setAttribute("aria-selected", String(panel === name));
  }
  if (name !== "webcam" && webcam.running) stopCamera();
}

document.addEventListener("DOMContentLoaded", () => {
  $("tab-photos").addEventListener("click", () => selectTab("photos"));
  $("tab-webcam").addEventListener("click", () => selectTab("webcam"));
  setUpPhotos();
  setUpWebcam();
  showAbout();
});
