"""ONNX export (minicnn.export, `minicnn export`): the graph passes onnx.checker, and ONNX Runtime's probabilities
equal minicnn's to export.TOLERANCE (1e-5) for every preset (plain and hybrid) and every shipped model, on random
inputs and on 200 PrivateTest faces when FER2013 is present. Skipped without the onnx extra."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data as skimage_data

from minicnn import data, export, faces, features, models, training
from minicnn.cli import main as minicnn
from minicnn.commands.export import CHECK_IMAGES
from test_data import real_dataset  # noqa: F401 (a fixture: FER2013, skipped without it)

onnx = pytest.importorskip("onnx", reason='ONNX export needs the onnx extra: pip install "minicnn[onnx]"')
onnxruntime = pytest.importorskip("onnxruntime", reason='checking the export needs onnxruntime: pip install '
                                                        '"minicnn[onnx]"')

REPO_ROOT = Path(__file__).resolve().parents[1]
RANDOM_IMAGES = 8
PRIVATE_TEST_FACES = 200
OPERATORS = {"Sub", "Conv", "BatchNormalization", "Relu", "MaxPool", "Flatten", "Gemm", "Softmax"}
PRESETS = [(name, hybrid) for name in training.PRESETS for hybrid in (False, True)]


def preset(name, hybrid, seed=0):
    """The preset `name` (its hybrid twin when hybrid) with everything export must carry made non-trivial: batch-norm
    statistics and parameters drawn at random, a mean image, and scores scaled so that the probabilities of random
    faces are spread out rather than all 0 or 1 (a wrong graph could hide behind a saturated softmax)."""
    rng = np.random.default_rng(seed)
    model = training.PRESETS[name](hog=hybrid, seed=seed)
    for index, bn_param in model.bn_params.items():
        size = len(bn_param["running_mean"])
        bn_param["running_mean"] = rng.normal(0, 1, size).astype(np.float32)
        bn_param["running_var"] = rng.uniform(0.5, 2, size).astype(np.float32)
        model.params[f"gamma{index}"] = rng.uniform(0.5, 1.5, size).astype(np.float32)
        model.params[f"beta{index}"] = rng.normal(0, 0.2, size).astype(np.float32)
    model.mean_image = rng.uniform(100, 150, data.IMAGE_SHAPE).astype(np.float32)
    images = random_faces(RANDOM_IMAGES, seed)
    scores = model.loss(minicnn_inputs(model, images, random_hog(model, RANDOM_IMAGES, seed)))
    model.params[f"W{model.num_layers}"] *= np.float32(2 / scores.std())
    return model


def random_faces(count, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (count, *data.IMAGE_SHAPE), dtype=np.uint8)


def random_hog(model, count, seed=0):
    """HOG-like inputs for a hybrid net (non-negative, as HOG is), None for a plain one."""
    if not model.architecture.hog_dim:
        return None
    return np.random.default_rng(seed + 1).uniform(0, 0.5, (count, model.architecture.hog_dim)).astype(np.float32)


def minicnn_inputs(model, images, hog):
    """What minicnn's model takes: the images centred on its mean image, paired with hog for a hybrid net."""
    centred = images[:, np.newaxis].astype(np.float32) - model.mean_image
    return centred if hog is None else (centred, hog)


def onnxruntime_probabilities(path, images, hog):
    """ONNX Runtime alone, as the README shows it: raw grey levels in, probabilities out."""
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {"image": images[:, np.newaxis].astype(np.float32)}
    if hog is not None:
        feeds["hog"] = hog
    return session.run(["probabilities"], feeds)[0]


def assert_same_probabilities(model, path, images, hog):
    ours = model.probabilities(minicnn_inputs(model, images, hog))
    theirs = onnxruntime_probabilities(path, images, hog)
    difference = np.abs(theirs - ours).max()
    print(f"{len(images)} images: ONNX Runtime and minicnn differ by at most {difference:.2e}; minicnn's most "
          f"likely class has median probability {np.median(ours.max(axis=1)):.3f}")
    assert theirs.shape == ours.shape
    assert difference <= export.TOLERANCE


def shipped_models():
    """models.pretrained(), and every other model file that ships beside it."""
    return [models.pretrained()] + [models.load(path) for path in sorted(models.PRETRAINED_MODEL.parent.glob("*.npz"))
                                    if path != models.PRETRAINED_MODEL]


def exported(model, tmp_path):
    path = tmp_path / "model.onnx"
    export.to_onnx(model, path)
    return path


@pytest.fixture(scope="module")
def private_test_faces(request):
    """The first 200 PrivateTest faces of FER2013, uint8 (200, 48, 48), from test_data's real_dataset (skipped
    without the data)."""
    images, _ = data.split(request.getfixturevalue("real_dataset"), "PrivateTest")
    return images[:PRIVATE_TEST_FACES]


@pytest.fixture(scope="module", params=PRESETS, ids=[f"{name}{'-hybrid' * hybrid}" for name, hybrid in PRESETS])
def exported_preset(request, tmp_path_factory):
    """(a preset made non-trivial by preset(), the path of its ONNX file), once per preset for the tests below."""
    model = preset(*request.param)
    return model, exported(model, tmp_path_factory.mktemp("onnx"))


@pytest.fixture(scope="module")
def exported_shipped_models(tmp_path_factory):
    """[(a shipped model, the path of its ONNX file)] for every shipped model."""
    return [(model, exported(model, tmp_path_factory.mktemp("onnx"))) for model in shipped_models()]


def test_a_preset_exports_to_a_valid_graph_of_the_expected_operators(exported_preset):
    model, path = exported_preset
    onnx.checker.check_model(str(path), full_check=True)
    graph = onnx.load(str(path)).graph
    hybrid = bool(model.architecture.hog_dim)
    assert {node.op_type for node in graph.node} == OPERATORS | ({"Concat"} if hybrid else set())
    assert [value.name for value in graph.input] == ["image", "hog"][:1 + hybrid]
    assert [value.name for value in graph.output] == ["probabilities"]


def test_onnxruntime_equals_minicnn_on_random_inputs(exported_preset):
    model, path = exported_preset
    for seed in (1, 2):  # faces other than those the scores were scaled on
        images = random_faces(RANDOM_IMAGES, seed)
        assert_same_probabilities(model, path, images, random_hog(model, RANDOM_IMAGES, seed))


def test_onnxruntime_equals_minicnn_on_private_test_faces(exported_preset, private_test_faces):
    model, path = exported_preset
    hog = features.hog_features(private_test_faces, cache=False) if model.architecture.hog_dim else None
    assert_same_probabilities(model, path, private_test_faces, hog)


def test_every_shipped_model_exports_with_the_same_probabilities(exported_shipped_models):
    for model, path in exported_shipped_models:
        assert_same_probabilities(model, path, random_faces(RANDOM_IMAGES), None)


def test_every_shipped_model_gives_the_same_probabilities_on_private_test_faces(exported_shipped_models,
                                                                                 private_test_faces):
    for model, path in exported_shipped_models:
        assert_same_probabilities(model, path, private_test_faces, None)


def test_the_comparison_catches_a_graph_that_is_slightly_wrong(tmp_path):
    model = preset("shallow", False)
    onnx_model = export.to_onnx(model)
    variance = next(weight for weight in onnx_model.graph.initializer if weight.name == "running_var1")
    wrong = onnx.numpy_helper.to_array(variance) * 1.01        # one batch norm's variances 1% off
    variance.CopyFrom(onnx.numpy_helper.from_array(wrong, "running_var1"))
    onnx.save(onnx_model, str(tmp_path / "wrong.onnx"))
    images = random_faces(RANDOM_IMAGES, 1)
    ours = model.probabilities(minicnn_inputs(model, images, None))
    difference = np.abs(onnxruntime_probabilities(tmp_path / "wrong.onnx", images, None) - ours).max()
    print(f"1% off on one layer's variances: the probabilities differ by {difference:.2e}")
    assert difference > 100 * export.TOLERANCE


def test_the_graph_carries_the_class_names_and_the_models_info(tmp_path):
    model = preset("shallow", False)
    model.info = {"data": "FER2013", "accuracy": {"PublicTest": 0.5}}
    session = onnxruntime.InferenceSession(str(exported(model, tmp_path)), providers=["CPUExecutionProvider"])
    metadata = session.get_modelmeta().custom_metadata_map
    assert json.loads(metadata["classes"]) == list(data.CLASS_NAMES)
    assert json.loads(metadata["info"]) == model.info


def test_a_model_without_a_mean_image_is_refused():
    model = models.shallow_net(seed=0)
    with pytest.raises(ValueError, match="no mean training image"):
        export.to_onnx(model)


def test_minicnn_export_writes_and_checks_the_file(tmp_path, capsys):
    model = preset("shallow", True)
    model.save(tmp_path / "hybrid.npz")
    assert minicnn(["export", "--model", str(tmp_path / "hybrid.npz")]) == 0
    out = capsys.readouterr().out
    assert f"wrote {tmp_path / 'hybrid.onnx'}" in out and "hog (N, 900)" in out
    assert "checked: ONNX Runtime" in out and f"on {CHECK_IMAGES} random images" in out
    onnx.checker.check_model(str(tmp_path / "hybrid.onnx"), full_check=True)


def test_minicnn_export_says_what_is_wrong_with_its_model(tmp_path, capsys):
    (tmp_path / "not_a_model.npz").write_bytes(b"no zip")
    assert minicnn(["export", "--model", str(tmp_path / "not_a_model.npz")]) == 2
    assert "not_a_model.npz: not a minicnn model file" in capsys.readouterr().err
    assert not (tmp_path / "not_a_model.onnx").exists()


def readme_onnx_example():
    """The Python code of README.md's section "ONNX export"."""
    section = (REPO_ROOT / "README.md").read_text().split("\n## ONNX export\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readmes_example_runs_the_shipped_model_with_onnx_runtime_alone(tmp_path):
    model = models.pretrained()
    export.to_onnx(model, tmp_path / "fer2013_deep.onnx")
    grey = faces.grey_levels(skimage_data.astronaut())
    face = faces.crop_faces(grey, faces.detect_faces(grey)[:1])
    Image.fromarray(face[0]).save(tmp_path / "face.png")
    expected = data.CLASS_NAMES[int(model.predict(minicnn_inputs(model, face, None))[0])]
    # minicnn is made unimportable: the example must need ONNX Runtime, numpy and Pillow only.
    code = "import sys\nsys.modules['minicnn'] = None\n" + readme_onnx_example()
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{expected}\n"
