"""Issue 32: the bundled default model (trained on FER2013 only) evaluated on CK+ and JAFFE as they
are read for training and evaluation: CK+48's 48x48 crops without contempt (the reader's default:
the six classes FER2013 shares with it, 927 images) and JAFFE's 213 portraits, all seven classes,
each face found by MTCNN, aligned and cropped to 48x48 by the JAFFE reader (`face_crop=True`).
Single crop and ten-crop (the model's recipe evaluates with ten-crop).

    python experiments/cross_dataset.py [--ckplus ../shared/data/ckplus/CK+48] [--jaffe ../shared/data/jaffe]
        [--pretrained amdcnn_plus_fer2013] [--out experiments/results/cross_dataset.json]

Writes one row per dataset and test-time augmentation ("rows"; and apart, in "before_face_crop",
JAFFE's whole portraits resized to the input, `face_crop=False`, what `fer-keras evaluate` scored
before issue 32): model, dataset, accuracy, macro_f1 (over the classes that occur in the labels or the
predictions, as `fer-keras evaluate` reports it: on CK+ a predicted "neutral" counts as a class
with F1 0), macro_f1_label_classes (over the classes in the labels only), samples, faces_found
(JAFFE: MTCNN's count; CK+: null, its images are already face crops), tta, the equivalent
command, hardware. The same numbers come from
`fer-keras evaluate --pretrained amdcnn_plus_fer2013 --dataset jaffe --data ../shared/data/jaffe`
(ten-crop; `--tta none` for single crop).
"""

import argparse
import json
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
DEFAULT_OUT = ROOT / "experiments" / "results" / "cross_dataset.json"
TTAS = ("none", "tencrop")


def hardware():
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return (f"{platform.machine()}, {os.cpu_count()} CPU cores, {f'{len(gpus)} GPU(s)' if gpus else 'no GPU'}, "
            f"TensorFlow {tf.__version__}, {platform.python_implementation()} {platform.python_version()}")


def shown(path):
    """`path` relative to the checkout (../shared/data/...) where it lies beside it."""
    relative = os.path.relpath(Path(path).resolve(), ROOT)
    return relative if relative.startswith(("..", "experiments")) and relative.count("..") <= 1 else str(path)


def label_classes_macro_f1(labels, probabilities):
    """Macro F1 over the classes present in `labels` only."""
    import numpy as np
    from sklearn.metrics import f1_score

    present = np.unique(labels)
    return float(f1_score(labels, np.asarray(probabilities).argmax(axis=1), labels=present, average="macro", zero_division=0))


def whole_portraits(trained, name, data):
    """Rows for JAFFE read with face_crop=False (each 256x256 portrait resized whole, as before
    issue 32), through the same evaluation pipeline as `evaluate_model`."""
    from fer_keras.data import load_dataset
    from fer_keras.evaluation import classification_metrics, evaluation_inputs, predict_probabilities

    record = load_dataset("jaffe", data, face_crop=False)
    config, inputs = evaluation_inputs(trained.model, trained.recipe, record)
    rows = []
    for tta in TTAS:
        probabilities = predict_probabilities(trained.model, record, config, inputs, None if tta == "none" else tta)
        metrics = classification_metrics(record.labels, probabilities, record.class_names)
        rows.append({
            "model": name, "dataset": "jaffe (whole portraits, face_crop=False)",
            "accuracy": round(metrics["accuracy"], 4), "macro_f1": round(metrics["macro_f1"], 4),
            "balanced_accuracy": round(metrics["balanced_accuracy"], 4), "samples": metrics["samples"],
            "faces_found": None, "face_crop": None, "tta": tta,
            "command": f"python experiments/cross_dataset.py (load_dataset('jaffe', {shown(data)!r}, face_crop=False))",
            "hardware": hardware(),
        })
        print(f"jaffe whole portraits {tta}: accuracy {metrics['accuracy']:.4f}", file=sys.stderr)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ckplus", default=str(SHARED / "ckplus" / "CK+48"), help="CK+48's folder of emotion folders")
    parser.add_argument("--jaffe", default=str(SHARED / "jaffe"), help="JAFFE's folder of .tiff images")
    parser.add_argument("--pretrained", default=None, help="a bundled model (default: the package's default)")
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    args = parser.parse_args(argv)

    import warnings

    from fer_keras.evaluation import evaluate_model
    from fer_keras.models.pretrained import DEFAULT_PRETRAINED
    from fer_keras.loading import load_trained

    name = args.pretrained or DEFAULT_PRETRAINED
    trained = load_trained(pretrained=name)
    rows = []
    for dataset, data in (("ckplus", args.ckplus), ("jaffe", args.jaffe)):
        if not Path(data).is_dir():
            print(f"{dataset}: {data} not found, skipped", file=sys.stderr)
            continue
        for tta in TTAS:
            start = time.perf_counter()
            with warnings.catch_warnings():  # sklearn: "y_pred contains classes not in y_true" (CK+ has no neutral)
                warnings.simplefilter("ignore", UserWarning)
                result = evaluate_model(trained.model, trained.recipe, dataset=dataset, data=data, tta=tta)
            record, metrics = result.record, result.metrics
            faces = record.extra.get("faces")
            rows.append({
                "model": name,
                "dataset": dataset,
                "classes": [c for c, n in record.class_counts().items() if n],
                "accuracy": round(metrics["accuracy"], 4),
                "macro_f1": round(metrics["macro_f1"], 4),
                "macro_f1_label_classes": round(label_classes_macro_f1(record.labels, result.probabilities), 4),
                "balanced_accuracy": round(metrics["balanced_accuracy"], 4),
                "samples": metrics["samples"],
                "faces_found": None if faces is None else faces["found"],
                "face_crop": None if faces is None else f"MTCNN, aligned {faces['side']}x{faces['side']}, "
                                                        f"{'de-rotated' if faces['rotation'] else 'upright'}",
                "tta": tta,
                "seconds": round(time.perf_counter() - start, 1),
                "command": f"fer-keras evaluate --pretrained {name} --dataset {dataset} --data {shown(data)} --tta {tta}",
                "hardware": hardware(),
            })
            print(f"{dataset} {tta}: accuracy {metrics['accuracy']:.4f}, macro F1 {metrics['macro_f1']:.4f}, "
                  f"{metrics['samples']} samples" + (f", faces found {faces['found']}" if faces else ""), file=sys.stderr)
    # the baseline, kept apart from the rows: JAFFE's whole portraits resized to the input (face_crop=False)
    baseline = whole_portraits(trained, name, args.jaffe) if Path(args.jaffe).is_dir() else []
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "what": f"the bundled {name} (trained on FER2013 only) on CK+ (CK+48, no contempt: six classes) and JAFFE "
                "(seven classes, faces found, aligned and cropped to 48x48 by the reader), single crop and ten-crop",
        "date": date.today().isoformat(),
        "command": "python experiments/cross_dataset.py",
        "rows": rows,
        "before_face_crop": baseline,
    }
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
