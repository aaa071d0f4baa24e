"""The model that ships with minicnn, and what it rests on: float16 storage, the info a saved model carries, and
test-time augmentation (the mirror image, ten crops)."""
import numpy as np
import pytest

from minicnn import augmentation, data, models
from minicnn.files import load_arrays, save_arrays
from minicnn.models import AffineLayer, ConvLayer, ConvNet
from test_data import REAL_CSV

SHIPPED_ACCURACY_FLOOR = 0.60       # on the first 500 PrivateTest images; the paper's deep net scored 64% on all


def tiny_net(**overrides):
    return ConvNet([ConvLayer(3, 3)], [AffineLayer(5)], input_dim=(1, 6, 8), seed=0, **overrides)


def random_images(N=9, seed=0):
    return np.random.default_rng(seed).standard_normal((N, 1, 6, 8)).astype(np.float32)


def test_float16_storage_halves_the_file_and_loads_as_float32(tmp_path):
    model = ConvNet([ConvLayer(3, 3)], [AffineLayer(500)], input_dim=(1, 6, 8), seed=0)  # weights outweigh headers
    model.info = {"data": "FER2013", "epochs": 3, "accuracy": {"PublicTest": 0.5}}
    model.save(tmp_path / "full.npz")
    model.save(tmp_path / "half.npz", dtype=np.float16)
    loaded = models.load(tmp_path / "half.npz")
    assert loaded.info == model.info
    for name, w in model.params.items():
        assert loaded.params[name].dtype == np.float32
        np.testing.assert_allclose(loaded.params[name], w, rtol=1e-3, atol=1e-7, err_msg=name)
    full_size, half_size = (tmp_path / "full.npz").stat().st_size, (tmp_path / "half.npz").stat().st_size
    print(f"float32 file {full_size} bytes, float16 file {half_size} bytes")
    assert half_size < 0.55 * full_size


def test_float16_storage_refuses_values_it_cannot_hold(tmp_path):
    model = tiny_net()
    model.params["W2"][0, 0] = 1e5                  # float16 ends at 65504
    with pytest.raises(ValueError, match="W2: values up to 1e\\+05 do not fit in float16"):
        model.save(tmp_path / "half.npz", dtype=np.float16)


def test_a_model_saved_before_models_carried_info_loads_with_empty_info(tmp_path):
    model = tiny_net()
    model.save(tmp_path / "model.npz")
    arrays = load_arrays(tmp_path / "model.npz")
    del arrays["info"]
    save_arrays(tmp_path / "old.npz", arrays)
    assert models.load(tmp_path / "old.npz").info == {}


def test_info_that_is_not_a_json_object_is_refused_with_the_file_named(tmp_path):
    tiny_net().save(tmp_path / "model.npz")
    arrays = load_arrays(tmp_path / "model.npz")
    arrays["info"] = np.array("[1, 2]")
    save_arrays(tmp_path / "bad.npz", arrays)
    with pytest.raises(ValueError, match=r"bad\.npz: the model's info must be a JSON object"):
        models.load(tmp_path / "bad.npz")


def test_probabilities_are_the_softmax_of_the_scores():
    model, X = tiny_net(), random_images()
    probabilities = model.probabilities(X)
    scores = model.scores(X).astype(np.float64)
    expected = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(probabilities, expected, rtol=1e-5)
    np.testing.assert_array_equal(model.predict(X), probabilities.argmax(axis=1))


def test_mirror_averages_each_image_with_its_mirror_image():
    model, X = tiny_net(), random_images()
    mirrored = model.probabilities(X, mirror=True)
    by_hand = (model.probabilities(X) + model.probabilities(X[:, :, :, ::-1].copy())) / 2
    np.testing.assert_allclose(mirrored, by_hand, rtol=1e-6)
    np.testing.assert_array_equal(model.predict(X, mirror=True), by_hand.argmax(axis=1))
    # An image that is its own mirror image gains nothing from the average.
    symmetric = np.concatenate([X[..., :4], X[..., 3::-1]], axis=3)
    np.testing.assert_allclose(model.probabilities(symmetric, mirror=True), model.probabilities(symmetric),
                               rtol=1e-5)


def test_ten_crops_average_the_five_crops_and_their_mirror_images():
    model, X = tiny_net(), random_images()
    views = augmentation.crop_views(X)
    views += [view[..., ::-1] for view in views]
    by_hand = sum(model.probabilities(view) for view in views) / 10
    np.testing.assert_allclose(model.probabilities(X, mirror=True, crops=True), by_hand, rtol=1e-6)
    five = sum(model.probabilities(view) for view in views[:5]) / 5
    np.testing.assert_allclose(model.probabilities(X, crops=True), five, rtol=1e-6)


@pytest.mark.parametrize("options", [{"mirror": True}, {"crops": True}])
def test_the_hybrid_net_refuses_test_time_augmentation(options):
    model = tiny_net(hog_dim=4)
    X = (random_images(), np.zeros((9, 4), np.float32))
    with pytest.raises(ValueError, match="HOG features of the changed images"):
        model.predict(X, **options)


def test_without_a_shipped_file_pretrained_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(models, "PRETRAINED_MODEL", tmp_path / "fer2013_deep.npz")
    with pytest.raises(ValueError, match=r"fer2013_deep\.npz: this installation of minicnn holds no pretrained model"):
        models.pretrained()


def test_pretrained_models_are_found_by_name(tmp_path, monkeypatch):
    tiny_net().save(tmp_path / "fer2013_deep.npz")
    monkeypatch.setattr(models, "PRETRAINED_FOLDER", tmp_path)
    assert models.pretrained("paper-deep").architecture == tiny_net().architecture
    with pytest.raises(ValueError, match=r"no pretrained model is named 'paper'; minicnn ships \['paper-deep'"):
        models.pretrained("paper")


# ------------------------------------------------------------------------------------------------- the shipped model

@pytest.fixture(scope="module")
def shipped():
    if not models.PRETRAINED_MODEL.is_file():
        pytest.skip(f"no pretrained model at {models.PRETRAINED_MODEL} (it ships once the paper's deep run has "
                    "finished: examples/ship_model.py)")
    return models.pretrained()


def test_the_shipped_model_says_how_it_was_made(shipped):
    for key in ("data", "recipe", "epochs", "accuracy", "minicnn_version"):
        assert key in shipped.info, key
    assert set(shipped.info["accuracy"]) >= {"PublicTest", "PrivateTest"}
    assert shipped.mean_image is not None and shipped.mean_image.shape == (48, 48)


def test_the_shipped_model_predicts_seven_classes(shipped):
    faces = np.random.default_rng(0).standard_normal((4, 1, 48, 48)).astype(np.float32)
    probabilities = shipped.probabilities(faces)
    assert probabilities.shape == (4, 7)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)


def test_the_shipped_model_scores_above_60_percent_on_private_test(shipped, tmp_path_factory, monkeypatch):
    if not REAL_CSV.exists():
        pytest.skip(f"FER2013 not found at {REAL_CSV}; set MINICNN_DATA to score the shipped model")
    monkeypatch.setenv("MINICNN_CACHE", str(tmp_path_factory.mktemp("cache")))
    images, labels = data.split(data.load_fer2013(REAL_CSV), "PrivateTest")
    X, _ = data.preprocess(images[:500], shipped.mean_image)
    accuracy = float(np.mean(shipped.predict(X) == labels[:500]))
    print(f"shipped model: {accuracy:.3f} on the first 500 PrivateTest images")
    assert accuracy > SHIPPED_ACCURACY_FLOOR


def test_the_model_card_points_to_fer2013s_terms_of_use():
    card = (models.PRETRAINED_MODEL.parent / "MODEL_CARD.md").read_text()
    assert "## Terms of use" in card and f"{data.KAGGLE_URL}/rules" in card and "MIT" in card
