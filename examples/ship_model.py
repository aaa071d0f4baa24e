"""Make a finished run the model that ships with minicnn: python examples/ship_model.py --run runs/deep.

The run must be final and scored once: `python examples/evaluate.py --model RUN/model.npz --mirror` writes the
PublicTest and PrivateTest reports this script reads. It then
  1. stores the weights as float16 when that leaves the PublicTest accuracy unchanged to 0.1 point, else as
     float32 (chosen on PublicTest, as everything is; the PrivateTest accuracy of both is measured and written into
     the model card);
  2. writes the model, with an info dict saying where it comes from and how it scored, to --out (default
     minicnn/pretrained/fer2013_deep.npz, what minicnn.models.pretrained() loads);
  3. writes MODEL_CARD.md beside it.
"""
import argparse
import datetime
import json
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np

import minicnn
from minicnn import data, models
from minicnn.cli import run_script

FLOAT16_TOLERANCE = 0.001     # the largest change of PublicTest accuracy that float16 storage may cause
SCORED_SPLITS = ("PublicTest", "PrivateTest")
TERMS_OF_USE = f"""## Terms of use
minicnn's code is under the MIT licence (LICENSE in the repository), which does not cover FER2013. This model's
weights were learnt from FER2013, whose images were found on the web by image search. Kaggle distributes the data
set for its "Challenges in Representation Learning: Facial Expression Recognition Challenge" under the
competition's rules and Kaggle's terms of use, and each image belongs to its owner:
{data.KAGGLE_URL}/rules
Read those terms before you use or pass on this model, above all for anything beyond research and teaching. Cite
FER2013's report (Goodfellow et al., 2013, arXiv:1307.0414) and the paper (Alizadeh and Fazel, 2017,
arXiv:1704.06756) with the model: CITATION.cff in the repository lists both.
"""


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description="Make a finished, scored run the model that ships with minicnn.")
    parser.add_argument("--run", required=True,
                        help="the run's folder (holds model.npz, config.json, history.json and evaluate.py's "
                             "report_PublicTest.json, report_PrivateTest.json)")
    parser.add_argument("--data", help="FER2013 file or folder (default: $MINICNN_DATA, else data/fer2013.csv)")
    parser.add_argument("--out", default=str(models.PRETRAINED_MODEL), help="default: %(default)s")
    return parser.parse_args(argv)


def read_run(run):
    """The run's model, config, history and evaluation reports; ValueError naming what is missing."""
    needed = ("model.npz", "config.json", "history.json", "report_PublicTest.json", "report_PrivateTest.json")
    missing = [name for name in needed if not (run / name).is_file()]
    if missing:
        raise ValueError(f"{run}: {', '.join(missing)} missing; train the run to its end, then score it once with "
                         f"python examples/evaluate.py --model {run / 'model.npz'} --mirror")
    model = models.load(run / "model.npz")
    if model.architecture.hog_dim:
        raise ValueError(f"{run}: the shipped model takes images alone; this is a hybrid (HOG) net")
    texts = {name: json.loads((run / name).read_text()) for name in needed[1:]}
    return model, texts


def accuracies(model, dataset):
    """{split: accuracy of model} on PublicTest and PrivateTest; dataset: a FER2013."""
    scores = {}
    for split in SCORED_SPLITS:
        images, labels = data.split(dataset, split)
        X, _ = data.preprocess(images, model.mean_image)
        scores[split] = float(np.mean(model.predict(X) == labels))
    return scores


def float16_accuracies(model, dataset):
    """accuracies of model after a round trip through a float16 file."""
    with tempfile.TemporaryDirectory() as folder:
        model.save(Path(folder) / "half.npz", dtype=np.float16)
        return accuracies(models.load(Path(folder) / "half.npz"), dataset)


def describe(architecture):
    """One line per block of the network, e.g. 'conv 64 3x3, batch norm, ReLU, dropout 0.25, 2x2 max pool'."""
    lines = []
    for layer in architecture.conv_layers:
        parts = [f"conv {layer.filters} {layer.size}x{layer.size}" + (f" stride {layer.stride}" if layer.stride > 1
                                                                       else ""),
                 "spatial batch norm" if layer.batchnorm else "", "ReLU",
                 f"dropout {layer.dropout}" if layer.dropout else "", "2x2 max pool" if layer.pool else ""]
        lines.append(", ".join(part for part in parts if part))
    for layer in architecture.affine_layers:
        parts = [f"affine {layer.units}", "batch norm" if layer.batchnorm else "", "ReLU",
                 f"dropout {layer.dropout}" if layer.dropout else ""]
        lines.append(", ".join(part for part in parts if part))
    return lines + [f"affine {architecture.num_classes}, softmax"]


def training_images(arguments):
    subset = arguments.get("subset")
    return f"the first {subset} Training images" if subset else "all 28,709 Training images"


def model_info(model, texts, full, half, storage):
    """The info dict that ships inside the model file: data, recipe, epochs, accuracies, storage, version."""
    history, arguments = texts["history.json"], texts["config.json"]["arguments"]
    mirror = texts.get("report_PrivateTest_mirror.json")
    return {
        "data": f"FER2013 (Kaggle's fer2013.csv): trained on {training_images(arguments)}, best epoch picked on "
                f"PublicTest ({texts['report_PublicTest.json']['count']} images), scored once on PrivateTest "
                f"({texts['report_PrivateTest.json']['count']} images)",
        "recipe": {key: arguments[key] for key in ("lr", "lr_decay", "reg", "batch_size", "epochs", "seed")
                   if key in arguments} | {"optimizer": "adam", "mirror_augmentation": not arguments.get("no_flip")},
        "network": f"the paper's {texts['config.json']['depth']} net",
        "blocks": describe(model.architecture),
        "epochs": len(history["val_acc_history"]),
        "best_epoch": int(np.argmax(history["val_acc_history"])) + 1,
        "accuracy": {"PublicTest": texts["report_PublicTest.json"]["accuracy"],
                     "PrivateTest": texts["report_PrivateTest.json"]["accuracy"],
                     **({"PrivateTest_mirror": mirror["accuracy"]} if mirror else {})},
        "per_class_accuracy_PrivateTest": texts["report_PrivateTest.json"]["per_class_accuracy"],
        "storage": {"dtype": storage, "float32": full, "float16": half},
        "minicnn_version": minicnn.__version__,
        "shipped": datetime.date.today().isoformat(),
        "shipped_on": f"{platform.machine()}, Python {platform.python_version()}, numpy {np.__version__}",
    }


def storage_table(storage):
    """'PublicTest 64.10% with float32 weights, 64.08% with float16; PrivateTest ...' for the model card."""
    return "; ".join(f"{split} {100 * storage['float32'][split]:.2f}% with float32 weights, "
                     f"{100 * storage['float16'][split]:.2f}% with float16" for split in SCORED_SPLITS) + "."


def model_card(info):
    """MODEL_CARD.md: what the shipped model is, how it was made and scored, and what it is not for."""
    accuracy = info["accuracy"]
    per_class = "\n".join(f"| {name} | {100 * value:.1f}% |" for name, value in
                          info["per_class_accuracy_PrivateTest"].items())
    blocks = "\n".join(f"  {number}. {block}" for number, block in enumerate(info["blocks"], start=1))
    mirror = (f" With the mirror image averaged in (`evaluate.py --mirror`): "
              f"{100 * accuracy['PrivateTest_mirror']:.1f}%." if "PrivateTest_mirror" in accuracy else "")
    return f"""# Model card: the model that ships with minicnn

Loaded by `minicnn.models.pretrained()`; its `info` attribute holds everything below as a dict.

- **What it does**: reads the facial expression of a 48x48 grey face crop, centred on FER2013's mean Training image
  (saved in the file), as one of 7 classes: angry, disgust, fear, happy, sad, surprise, neutral.
- **Network**: {info['network']} (Alizadeh & Fazel), block by block:
{blocks}
- **Data**: {info['data']}.
- **Recipe**: {json.dumps(info['recipe'])}; epochs trained: {info['epochs']}, the best on PublicTest: \
{info['best_epoch']}.
- **Accuracy**: PublicTest {100 * accuracy['PublicTest']:.1f}%, PrivateTest {100 * accuracy['PrivateTest']:.1f}%
  (the paper's deep net: 65% / 64%).{mirror}
- **Storage**: {info['storage']['dtype']} (float16 when its PublicTest accuracy is within \
{100 * FLOAT16_TOLERANCE:.1f} point of float32's).
  {storage_table(info['storage'])}
- **Version**: minicnn {info['minicnn_version']}, shipped {info['shipped']} ({info['shipped_on']}).

PrivateTest accuracy per emotion:

| emotion | accuracy |
| :-- | --: |
{per_class}

## Limits
FER2013 holds web images of posed and spontaneous faces, mostly frontal, labelled once each by people; some labels
are wrong and some images are not faces (see the data README). The model has seen nothing else: expect lower
accuracy on other cameras, ages, skin tones and head poses, and on disgust (1.5% of the training images). It reads
an expression, not an emotion a person feels; do not use it to make decisions about people.

{TERMS_OF_USE}"""


def main(argv=None):
    arguments = parse_arguments(argv)
    run, out = Path(arguments.run), Path(arguments.out)
    try:
        model, texts = read_run(run)
        dataset = data.load_fer2013(data.find_data_path(arguments.data))
    except (ValueError, data.DataNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    mirror_report = run / "report_PrivateTest_mirror.json"
    if mirror_report.is_file():
        texts["report_PrivateTest_mirror.json"] = json.loads(mirror_report.read_text())
    full, half = accuracies(model, dataset), float16_accuracies(model, dataset)
    storage = "float16" if abs(full["PublicTest"] - half["PublicTest"]) <= FLOAT16_TOLERANCE else "float32"
    for split in SCORED_SPLITS:
        print(f"{split} accuracy: float32 {full[split]:.4f}, float16 {half[split]:.4f}")
    print(f"stored as {storage}")
    model.info = model_info(model, texts, full, half, storage)
    model.save(out, dtype=np.float16 if storage == "float16" else None)
    (out.parent / "MODEL_CARD.md").write_text(model_card(model.info))
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB) and {out.parent / 'MODEL_CARD.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(run_script(main))
