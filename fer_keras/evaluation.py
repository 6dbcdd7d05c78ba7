"""Metrics and figures of a classifier on a record: what metrics.json and the PNGs hold.

Metrics: accuracy, balanced accuracy, macro and weighted precision / recall / F1, per-class
accuracy (recall), the mean per-class accuracy LBAN-IL reports as "Ave", and the confusion matrix
(counts and row-normalised, rows = true class) as in the papers' figures.
"""

import json

import numpy as np


def predict_outputs(model, record, config, inputs=None, tta=None):
    """Every output of `model` on `record` through the evaluation pipeline, as a dict of NumPy
    arrays (a single-output model's output under "probabilities"); tta="tencrop" gives ten rows a
    sample (see `average_ten_crop`)."""
    from dataclasses import replace

    from fer_keras.data.pipeline import PipelineConfig, make_dataset

    import keras

    config = PipelineConfig.from_dict(config) if isinstance(config, dict) else config
    config = replace(config, tta=tta, sample_weights=False)
    if keras.backend.backend() == "tensorflow":
        dataset = make_dataset(record, config, training=False, inputs=inputs).map(lambda x, y: x)
    else:  # the backend-neutral twin (NumPy + OpenCV)
        from fer_keras.data.pydataset import make_pydataset

        dataset = make_pydataset(record, config, False, inputs, transform=lambda x, y: (x,))
    outputs = model.predict(dataset, verbose=0)
    outputs = outputs if isinstance(outputs, dict) else {"probabilities": outputs}
    return {name: np.asarray(value) for name, value in outputs.items()}


def predict_probabilities(model, record, config, inputs=None, tta=None):
    """(N, classes) probabilities of `model` (a fer_keras model with a "probabilities" output)
    on `record`, through the evaluation pipeline; tta="tencrop" averages the ten views."""
    from fer_keras.data.pipeline import average_ten_crop

    probabilities = np.asarray(predict_outputs(model, record, config, inputs, tta)["probabilities"], np.float64)
    return average_ten_crop(probabilities) if tta == "tencrop" else probabilities


def classification_metrics(labels, probabilities, class_names):
    """The metrics dict for true `labels` (N,) and predicted `probabilities` (N, classes)."""
    from sklearn.metrics import balanced_accuracy_score, confusion_matrix, precision_recall_fscore_support

    labels = np.asarray(labels)
    predicted = np.asarray(probabilities).argmax(axis=1)
    classes = list(range(len(class_names)))
    counts = confusion_matrix(labels, predicted, labels=classes)
    support = counts.sum(axis=1)
    per_class = np.divide(np.diag(counts), support, out=np.zeros(len(classes)), where=support > 0)
    metrics = {
        "samples": int(len(labels)),
        "accuracy": float((predicted == labels).mean()),
        "balanced_accuracy": float(balanced_accuracy_score(labels, predicted)),
        "mean_class_accuracy": float(per_class[support > 0].mean()),
    }
    for average in ("macro", "weighted"):
        precision, recall, f1, _ = precision_recall_fscore_support(  # over the classes that occur (sklearn's default)
            labels, predicted, average=average, zero_division=0
        )
        metrics.update({f"{average}_precision": float(precision), f"{average}_recall": float(recall), f"{average}_f1": float(f1)})
    metrics["per_class_accuracy"] = {name: float(a) for name, a in zip(class_names, per_class)}
    metrics["class_names"] = list(class_names)
    metrics["confusion_matrix"] = counts.tolist()
    normalised = np.divide(counts, support[:, None], out=np.zeros(counts.shape), where=support[:, None] > 0)
    metrics["confusion_matrix_normalized"] = np.round(normalised, 4).tolist()
    return metrics


def plot_confusion_matrix(metrics, path, title):
    """The row-normalised confusion matrix as a PNG (the papers' figure style)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_curves(log_csv, path, title):
    """Loss and accuracy per epoch (training and validation) from the run's CSV log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

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
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def write_json(data, path):
    """Write `data` as JSON to `path` atomically (a temporary file in the same folder, renamed)."""
    from pathlib import Path

    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(data, indent=2) + "\n")
    temporary.replace(path)
