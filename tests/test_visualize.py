"""minicnn.visualize: the input gradients against numerical ones, DeepDream and class models doing what they claim,
and every figure written with something drawn in it. Tiny nets, so each test takes well under a second."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from minicnn import visualize
from minicnn.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array, rel_error
from minicnn.models import ConvLayer, ConvNet

REPO_ROOT = Path(__file__).resolve().parents[1]


def tiny_net(dtype=np.float64, hog_dim=0):
    """Two conv blocks (the second pooled, both with batch norm and dropout) and one affine block, 8x8 inputs, with
    batch-norm running statistics that are not the identity, as after training."""
    model = ConvNet([ConvLayer(3, 3, dropout=0.25, pool=False), ConvLayer(4, 3, dropout=0.25)], [32],
                    input_dim=(1, 8, 8), hog_dim=hog_dim, dtype=dtype, seed=0)
    rng = np.random.default_rng(1)
    for bn_param in model.bn_params.values():
        bn_param["running_mean"] = rng.normal(0, 0.5, bn_param["running_mean"].shape).astype(dtype)
        bn_param["running_var"] = rng.uniform(0.5, 2, bn_param["running_var"].shape).astype(dtype)
    model.mean_image = rng.uniform(80, 160, (8, 8)).astype(np.float32)
    return model


def random_images(n=2, seed=2):
    return np.random.default_rng(seed).normal(0, 1, (n, 1, 8, 8))


@pytest.mark.parametrize("layer", [1, 2, 3, 4])
def test_input_gradient_of_every_layer_matches_numerical_gradient(layer):
    model, images = tiny_net(), random_images()
    outputs, caches = visualize.forward(model, images, layer)
    dout = np.random.default_rng(3).normal(size=outputs[-1].shape)
    dimages = visualize.backward(model, dout, caches)
    numerical = eval_numerical_gradient_array(lambda x: visualize.forward(model, x, layer)[0][-1], images, dout)
    assert rel_error(dimages, numerical) < 1e-6


def test_forward_matches_the_model_scores_in_test_mode():
    model, images = tiny_net(), random_images()
    np.testing.assert_allclose(visualize.forward(model, images)[0][-1], model.loss(images), rtol=1e-12)


def test_saliency_is_the_absolute_gradient_of_the_chosen_score():
    model, images = tiny_net(), random_images(n=1)
    saliency, classes = visualize.saliency_maps(model, images, classes=[4])
    numerical = eval_numerical_gradient(lambda x: visualize.forward(model, x)[0][-1][0, 4], images)
    assert saliency.shape == (1, 8, 8) and list(classes) == [4]
    assert rel_error(saliency, np.abs(numerical).max(axis=1)) < 1e-6


def test_hybrid_net_can_be_looked_into_up_to_its_last_conv_layer_only():
    model = tiny_net(hog_dim=5)
    assert len(visualize.activation_maps(model, random_images())) == 2
    with pytest.raises(ValueError, match="HOG"):
        visualize.forward(model, random_images(), 3)


def test_deep_dream_raises_the_activation_norm_of_the_chosen_layer():
    model = tiny_net(np.float32)
    pixels = np.random.default_rng(4).uniform(60, 200, (2, 1, 8, 8))
    dream = visualize.deep_dream(model, pixels, layer=2, steps=5, octaves=2, octave_scale=2.0, jitter=1)

    def norms(images):
        activations = visualize.forward(model, visualize._centred(model, images), 2)[0][-1]
        return np.sqrt((activations ** 2).sum(axis=(1, 2, 3)))

    assert dream.shape == pixels.shape and dream.min() >= 0 and dream.max() <= 255
    assert np.all(norms(dream) > 1.1 * norms(pixels)), (norms(dream), norms(pixels))


def test_deep_dream_refuses_a_layer_that_is_not_a_conv_layer():
    with pytest.raises(ValueError, match="conv layers 1..2"):
        visualize.deep_dream(tiny_net(), np.zeros((1, 1, 8, 8)), layer=3)


def test_class_model_images_score_their_class_higher_than_the_start_and_than_the_other_class_model():
    model = tiny_net(np.float32)

    def scores(pixels):
        return model.loss(visualize._centred(model, pixels).astype(np.float32))

    start = scores(np.broadcast_to(model.mean_image, (1, 1, 8, 8)))[0]
    # Without jitter and blur, which are made for 48x48 faces and would swamp an 8x8 image.
    made_for_2, made_for_5 = scores(visualize.class_model_images(model, [2, 5], steps=20, jitter=0, blur_every=0))
    assert made_for_2[2] > max(start[2], made_for_5[2]), (start, made_for_2, made_for_5)
    assert made_for_5[5] > max(start[5], made_for_2[5]), (start, made_for_2, made_for_5)


def test_class_model_images_refuse_a_class_the_model_does_not_have():
    with pytest.raises(ValueError, match=r"0\.\.6, got \[7\]"):
        visualize.class_model_images(tiny_net(), [7])


def assert_drawn(path):
    """The PNG exists and is not one flat colour."""
    pixels = np.asarray(Image.open(path).convert("L"), dtype=np.float64)
    assert pixels.std() > 10, f"{path} looks blank (grey levels {pixels.min()}..{pixels.max()})"


def test_every_figure_is_written_and_not_blank(tmp_path):
    model = tiny_net(np.float32)
    images = random_images(n=2).astype(np.float32)
    faces = [model.mean_image + 40 * image for image in images]  # pixels around the mean face
    activations = [maps[0] for maps in visualize.activation_maps(model, images)]
    saliency, _ = visualize.saliency_maps(model, images)
    paths = [visualize.plot_filters(model.params["W1"], tmp_path / "filters.png"),
             visualize.plot_activation_maps(faces[0], activations, tmp_path / "activations.png"),
             visualize.plot_image_rows(tmp_path / "saliency.png", "Saliency", faces, list(saliency), "saliency",
                                       ["a", "b"], "hot", None),
             visualize.plot_class_models(faces, tmp_path / "class_models.png", ["a", "b"])]
    for path in paths:
        assert_drawn(path)


def test_plot_filters_refuses_weights_that_are_not_conv_filters(tmp_path):
    with pytest.raises(ValueError, match=r"\(F, C, HH, WW\)"):
        visualize.plot_filters(np.zeros((3, 4)), tmp_path / "filters.png")


# ----------------------------------------------------------------------------------------- examples/visualize.py
def run_visualize(*arguments, tmp_path):
    """Run examples/visualize.py on a tiny untrained 48x48 model, from the repository root, without FER2013."""
    model = ConvNet([ConvLayer(4, 3), ConvLayer(4, 3)], [8], input_dim=(1, 48, 48), seed=0)
    model.mean_image = np.full((48, 48), 120, dtype=np.float32)
    model.save(tmp_path / "model.npz")
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}   # this checkout's minicnn, not an installed one
    environment.pop("MINICNN_DATA", None)
    return subprocess.run([sys.executable, "examples/visualize.py", "--model", str(tmp_path / "model.npz"),
                           *map(str, arguments)], cwd=REPO_ROOT, env=environment, capture_output=True, text=True,
                          timeout=300)


def test_visualize_script_writes_every_figure(tmp_path):
    result = run_visualize("--out", tmp_path / "figures", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    for name in ("filters", "activations", "deepdream", "saliency", "class_models"):
        assert_drawn(tmp_path / "figures" / f"{name}.png")


def test_visualize_script_says_what_is_wrong_and_exits_with_2(tmp_path):
    (tmp_path / "notes.png").write_text("not a picture")
    result = run_visualize("--image", tmp_path / "notes.png", tmp_path=tmp_path)
    assert result.returncode == 2 and "notes.png: not an image" in result.stderr, result.stderr
    result = run_visualize("--layer", 3, tmp_path=tmp_path)
    assert result.returncode == 2 and "--layer 3: the model's conv layers are 1..2" in result.stderr, result.stderr
