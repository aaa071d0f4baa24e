"""Tests for minicnn/ensemble.py: the ensemble averages its members' probabilities, re-centres inputs for members
with other mean images, refuses members that cannot vote together (naming them), and goes wherever a model goes."""
import numpy as np
import pytest

from minicnn import evaluation, faces, preprocessing
from minicnn.ensemble import Ensemble
from minicnn.models import AffineLayer, ConvLayer, ConvNet


def member(seed, mean=0.0, **overrides):
    model = ConvNet([ConvLayer(3, 3)], [AffineLayer(5)], input_dim=(1, 6, 8), seed=seed, **overrides)
    model.mean_image = np.full((6, 8), mean, np.float32)
    return model


def images(N=7, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (N, 6, 8), dtype=np.uint8)


def test_the_ensemble_averages_its_members_probabilities():
    members = [member(1), member(2), member(3)]
    ensemble = Ensemble(members)
    X = preprocessing.model_inputs(ensemble, images())
    by_hand = sum(model.probabilities(X) for model in members) / 3
    np.testing.assert_allclose(ensemble.probabilities(X), by_hand, rtol=1e-6)
    np.testing.assert_array_equal(ensemble.predict(X), by_hand.argmax(axis=1))
    ten_crops = sum(model.probabilities(X, mirror=True, crops=True) for model in members) / 3
    np.testing.assert_allclose(ensemble.probabilities(X, mirror=True, crops=True), ten_crops, rtol=1e-6)


def test_each_member_sees_its_inputs_centred_on_its_own_mean_image():
    first, second = member(1, mean=100.0), member(2, mean=30.0)
    pictures = images()
    X = preprocessing.model_inputs(Ensemble([first, second]), pictures)
    expected = (first.probabilities(preprocessing.model_inputs(first, pictures))
                + second.probabilities(preprocessing.model_inputs(second, pictures))) / 2
    np.testing.assert_allclose(Ensemble([first, second]).probabilities(X), expected, rtol=1e-5)


def test_a_one_member_ensemble_is_its_member():
    model = member(4)
    X = preprocessing.model_inputs(model, images())
    np.testing.assert_array_equal(Ensemble([model]).probabilities(X), model.probabilities(X))


@pytest.mark.parametrize("odd_one, message", [
    (lambda: ConvNet([ConvLayer(3, 3)], [AffineLayer(5)], input_dim=(1, 6, 8), seed=0), "b.npz holds no mean"),
    (lambda: member(5, hog_dim=4), "b.npz is a hybrid"),
    (lambda: member(5, num_classes=3), r"b.npz takes \(1, 6, 8\) images into 3 classes"),
])
def test_members_that_cannot_vote_together_are_named(odd_one, message):
    with pytest.raises(ValueError, match=message):
        Ensemble([member(1), odd_one()], names=["a.npz", "b.npz"])
    with pytest.raises(ValueError, match="at least one model"):
        Ensemble([])


def test_load_model_of_several_files_is_their_ensemble_and_reads_faces(tmp_path):
    paths = [tmp_path / f"model{seed}.npz" for seed in (1, 2)]
    for seed, path in zip((1, 2), paths):
        model = ConvNet([ConvLayer(3, 3)], [AffineLayer(5)], input_dim=(1, 48, 48), seed=seed)   # faces are 48x48
        model.mean_image = np.zeros((48, 48), np.float32)
        model.info = {"seed": seed}
        model.save(path)
    ensemble = faces.load_model(paths)
    assert isinstance(ensemble, Ensemble) and ensemble.info["members"] == [{"seed": 1}, {"seed": 2}]
    assert ensemble.info["ensemble_of"] == [str(path) for path in paths]
    results = faces.detect_emotions(np.full((48, 48), 128, np.uint8), ensemble, detect=False)
    assert len(results) == 1 and abs(sum(results[0]["emotions"].values()) - 1) < 1e-3
    X = preprocessing.model_inputs(ensemble, np.zeros((5, 48, 48), np.uint8))
    assert evaluation.evaluate(ensemble, X, np.zeros(5, int))["count"] == 5
