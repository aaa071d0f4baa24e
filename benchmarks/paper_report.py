"""The paper's tables and figures beside minicnn's: python benchmarks/paper_report.py --runs-dir RUNS_DIR.

Reads every run of the paper's nets found in RUNS_DIR (the folders shallow/, deep/, hybrid_shallow/, hybrid_deep/
as the training scripts write them, with the report_PublicTest.json and report_PrivateTest.json that
examples/evaluate.py adds once the run is final) and writes into --out (default docs/):
  paper_results.md                 the accuracy table (paper vs minicnn) and the per-class table (the paper's Table 3)
  figures/paper_<run>_loss.png     training loss per iteration (the paper's Figure 3)
  figures/paper_<run>_accuracy.png train and validation accuracy per epoch (Figure 4)
  figures/paper_<run>_confusion.png  the confusion matrix on PrivateTest (Figures 5 and 6)
A run without its evaluation reports is listed as unfinished, with the epochs it has done.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

from minicnn import plots
from minicnn.data import CLASS_NAMES

# name of the run folder -> (title, the paper's validation and test accuracy; None where the paper gives none)
PAPER_RUNS = {
    "shallow": ("Shallow net", 0.55, 0.54),
    "deep": ("Deep net", 0.65, 0.64),
    "hybrid_shallow": ("Hybrid (HOG) shallow net", None, None),
    "hybrid_deep": ("Hybrid (HOG) deep net", None, None),
}


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description="Write the paper's tables and figures for minicnn's runs.")
    parser.add_argument("--runs-dir", required=True, help="the folder that holds the runs (their --runs-dir)")
    parser.add_argument("--out", default="docs", help="where paper_results.md and figures/ go (default: %(default)s)")
    return parser.parse_args(argv)


def read_json(path):
    """The JSON object in path, or None when there is no such file."""
    return json.loads(path.read_text()) if path.is_file() else None


def read_run(folder):
    """What a run folder holds: its history, config and the reports of examples/evaluate.py (None when absent)."""
    return {"history": read_json(folder / "history.json"), "config": read_json(folder / "config.json"),
            "public": read_json(folder / "report_PublicTest.json"),
            "private": read_json(folder / "report_PrivateTest.json")}


def draw_figures(name, title, run, figures):
    """Write the loss, accuracy and PrivateTest confusion figures of one run; returns {kind: path}."""
    paths = {}
    history = run["history"]
    if history and history["loss_history"]:
        paths["loss"] = plots.plot_loss(history["loss_history"], figures / f"paper_{name}_loss.png",
                                        title=f"{title}: training loss")
        paths["accuracy"] = plots.plot_accuracy(history["train_acc_history"], history["val_acc_history"],
                                                figures / f"paper_{name}_accuracy.png",
                                                title=f"{title}: accuracy per epoch (validation = PublicTest)")
    if run["private"]:
        paths["confusion"] = plots.plot_confusion_matrix(np.array(run["private"]["confusion_matrix"]),
                                                         figures / f"paper_{name}_confusion.png",
                                                         title=f"{title}: PrivateTest")
    return paths


def percent(value):
    return "—" if value is None else f"{100 * value:.1f}%"


def epochs_done(run):
    """'E of P' epochs (P planned by the run's --epochs), or '—' for a run without history."""
    if not run["history"]:
        return "—"
    planned = (run["config"] or {}).get("arguments", {}).get("epochs", "?")
    return f"{len(run['history']['val_acc_history'])} of {planned}"


def training_time(run):
    """The summed epoch times the run recorded, in hours, or 'not recorded'."""
    seconds = [value for value in (run["history"] or {}).get("epoch_seconds", []) if value is not None]
    return f"{sum(seconds) / 3600:.1f} h ({len(seconds)} epochs timed)" if seconds else "not recorded"


def accuracy_table(runs):
    """Markdown rows: the paper's validation and test accuracy beside minicnn's PublicTest and PrivateTest."""
    rows = ["| net | paper validation | paper test | minicnn PublicTest | minicnn PrivateTest | epochs | best "
            "validation epoch | training time | machine |",
            "| :-- | --: | --: | --: | --: | --: | --: | :-- | :-- |"]
    for name, run in runs.items():
        title, paper_val, paper_test = PAPER_RUNS[name]
        history = run["history"] or {"val_acc_history": []}
        best_epoch = int(np.argmax(history["val_acc_history"])) + 1 if history["val_acc_history"] else "—"
        machine = (run["config"] or {}).get("machine", "not recorded")
        rows.append(f"| {title} | {percent(paper_val)} | {percent(paper_test)} | "
                    f"{percent((run['public'] or {}).get('accuracy'))} | "
                    f"{percent((run['private'] or {}).get('accuracy'))}"
                    f" | {epochs_done(run)} | {best_epoch} | {training_time(run)} | {machine} |")
    return rows


def per_class_table(runs):
    """Markdown rows: each net's PrivateTest accuracy per emotion (the paper's Table 3), with the class sizes."""
    scored = {name: run["private"] for name, run in runs.items() if run["private"]}
    if not scored:
        return ["No run has been scored on PrivateTest yet."]
    rows = ["| emotion | PrivateTest images | " + " | ".join(PAPER_RUNS[name][0] for name in scored) + " |",
            "| :-- | --: | " + " | ".join("--:" for _ in scored) + " |"]
    counts = next(iter(scored.values()))["per_class_count"]
    for emotion in CLASS_NAMES:
        cells = " | ".join(percent(report["per_class_accuracy"][emotion]) for report in scored.values())
        rows.append(f"| {emotion} | {counts[emotion]} | {cells} |")
    return rows


def figure_lines(name, paths, out):
    """Markdown image lines for one run's figures, paths relative to the page."""
    title = PAPER_RUNS[name][0]
    return [f"![{title}: {kind}]({path.relative_to(out).as_posix()})" for kind, path in paths.items()]


def write_page(runs, figures_by_run, out):
    lines = ["# The paper's experiments, reproduced", "",
             "Written by `python benchmarks/paper_report.py` from the runs' own files; what the numbers mean and where",
             "minicnn falls short is discussed in benchmarks/RESULTS.md. The paper's authors scored 20 random",
             "minibatches of each split; minicnn scores the whole split (3,589 images each).", "",
             "## Accuracy: the paper beside minicnn", "", *accuracy_table(runs), "",
             "## Accuracy per emotion on PrivateTest (the paper's Table 3)", "",
             "minicnn's figures only: the paper's own per-emotion numbers are not here, because its text could not be",
             "reached from the machines this project is built on, and numbers quoted from memory would not be honest.",
             "", *per_class_table(runs), ""]
    for name, paths in figures_by_run.items():
        lines += [f"## {PAPER_RUNS[name][0]}", "", *figure_lines(name, paths, out), ""]
    page = out / "paper_results.md"
    page.write_text("\n".join(lines))
    return page


def main(argv=None):
    arguments = parse_arguments(argv)
    runs_dir, out = Path(arguments.runs_dir), Path(arguments.out)
    runs = {name: read_run(runs_dir / name) for name in PAPER_RUNS if (runs_dir / name).is_dir()}
    if not runs:
        print(f"error: no run of the paper's nets ({', '.join(PAPER_RUNS)}) in {runs_dir}", file=sys.stderr)
        return 2
    figures_by_run = {name: draw_figures(name, PAPER_RUNS[name][0], run, out / "figures")
                      for name, run in runs.items()}
    print(f"wrote {write_page(runs, figures_by_run, out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
