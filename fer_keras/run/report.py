"""The reports written into a folder: a run's figures (confusion_matrix.png, curves.png), and what
`fer-keras evaluate --out` and `ensemble --out` write (metrics.json, confusion_matrix.png,
predictions.csv: `write_report`, into a folder `check_report_out` accepts).

The metrics dicts come from `fer_keras.evaluation.classification_metrics`.
"""

from pathlib import Path

import numpy as np

from fer_keras.errors import ArgumentError
from fer_keras.run.folder import METRICS_FILE, is_run
from fer_keras.run.write import write_json


def _pyplot():
    """matplotlib.pyplot drawing off screen (Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt, figure, path):
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_confusion_matrix(metrics, path, title):
    """The row-normalised confusion matrix as a PNG (the papers' figure style)."""
    plt = _pyplot()
    matrix = np.asarray(metrics["confusion_matrix_normalized"])
    names = metrics["class_names"]
    figure, axes = plt.subplots(figsize=(1.0 * len(names) + 2, 1.0 * len(names) + 1.5))
    axes.imshow(matrix, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(names)):
        for j in range(len(names)):
            axes.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", color="white" if matrix[i, j] > 0.5 else "black")
    axes.set_xticks(range(len(names)), names, rotation=45, ha="right")
    axes.set_yticks(range(len(names)), names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(f"{title}\naccuracy {metrics['accuracy']:.4f}")
    _save(plt, figure, path)


def plot_curves(log_csv, path, title):
    """Loss and accuracy per epoch (training and validation) from the run's CSV log."""
    import pandas as pd

    plt = _pyplot()
    log = pd.read_csv(log_csv)
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for column in ("loss", "val_loss"):
        if column in log:
            left.plot(log["epoch"] + 1, log[column], label=column)
    for column in [c for c in log.columns if c.endswith("accuracy")]:
        right.plot(log["epoch"] + 1, log[column], label=column)
    for axes, name in ((left, "loss"), (right, "accuracy")):
        axes.set_xlabel("epoch")
        axes.set_ylabel(name)
        axes.legend()
        axes.grid(alpha=0.3)
    figure.suptitle(title)
    _save(plt, figure, path)


def check_report_out(out):
    """Before any work: `out` (None: no report) is a folder for a report, not a file and not a
    training run's folder (whose metrics.json it would replace); an ArgumentError naming `out`."""
    if out is None:
        return
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ArgumentError("out", out, "is a file; `out` is the folder for metrics.json, confusion_matrix.png, predictions.csv")
    if is_run(out):
        raise ArgumentError("out", out, "is a training run's folder (its metrics.json is the run's); choose another folder")


def write_report(out, report, probabilities, record, title):
    """metrics.json (`report`), confusion_matrix.png and predictions.csv (label, predicted, class
    probabilities of `record`'s samples) in the folder `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(report, out / METRICS_FILE)
    plot_confusion_matrix(report, out / "confusion_matrix.png", title)
    header = "label,predicted," + ",".join(record.class_names)
    rows = np.column_stack([record.labels, probabilities.argmax(axis=1), probabilities])
    np.savetxt(out / "predictions.csv", rows, delimiter=",", header=header, comments="",
               fmt=["%d", "%d"] + ["%.6f"] * probabilities.shape[1])


__all__ = ["check_report_out", "plot_confusion_matrix", "plot_curves", "write_report"]
