"""How faithful and how fast the exported artefacts of a trained model are (`fer_keras.export`).

Parity (default): the bundled pretrained model (`--pretrained`, default amdcnn_fer2013) is exported
to every format (SavedModel, TFLite float32 / float16 / int8, ONNX; plus, for reference, TFLite int8
with every layer quantised, class-score layers included) and each artefact classifies FER2013
PublicTest (all 3,589 images unless --samples) through the recipe's evaluation pipeline: its
accuracy next to the Keras model's (the int8 drop), top-1 agreement with the Keras model (overall
and on the more confident half: the images whose Keras top-1 probability leads the second by at
least the median lead, as in tests/export/test_export.py), the max and mean
absolute probability difference, file size, export time, and single-image latency (median of
--runs calls after warm-up) of the Keras model (`predict_on_batch`), the SavedModel, TFLite and
ONNX Runtime on this CPU. Writes benchmarks/results/export_parity.json.

    python benchmarks/export_parity.py                       # full PublicTest (minutes on 2 cores)
    python benchmarks/export_parity.py --samples 300 --runs 20 --out /tmp/parity.json   # a quick check

Survey (--survey): each registered model (`fer_keras.models.list_models`), untrained (random initialisation) at its FER2013 input,
is exported to every format; records which convert, the converter's error where one does not, the
size and export time, and the float artefacts' max probability difference from Keras on 64 FER2013
Training images. Writes benchmarks/results/export_survey.json.

    python benchmarks/export_parity.py --survey [--models amdcnn lban]
"""

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
from fer_keras.data.shared import fer2013_csv

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CSV = fer2013_csv()
RESULTS = Path(__file__).parent / "results"

# (label, format, quantize, float_layers: None = export_model's default, () = every layer int8)
VARIANTS = [
    ("savedmodel", "savedmodel", None, None),
    ("tflite_float32", "tflite", None, None),
    ("tflite_float16", "tflite", "float16", None),
    ("tflite_int8", "tflite", "int8", None),
    ("tflite_int8_all_layers", "tflite", "int8", ()),
    ("onnx", "onnx", None, None),
]
SUFFIX = {"savedmodel": "", "tflite": ".tflite", "onnx": ".onnx"}


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.machine()}, {cpu}, {os.cpu_count()} CPU cores, no GPU"


def versions():
    import keras
    import onnxruntime
    import tensorflow as tf
    import tf2onnx

    return {"tensorflow": tf.__version__, "keras": keras.__version__, "tf2onnx": tf2onnx.__version__,
            "onnxruntime": onnxruntime.__version__, "python": platform.python_version()}


def first(inputs, n):
    return {k: v[:n] for k, v in inputs.items()} if isinstance(inputs, dict) else inputs[:n]


def median_ms(call, runs, warmup=5):
    for _ in range(warmup):
        call()
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    return round(1000 * statistics.median(seconds), 3)


def parity_run(args):
    from fer_keras.data import load_dataset
    from fer_keras.export import export_model, load_exported, parity, pipeline_inputs
    from fer_keras.loading import load_trained

    trained = load_trained(pretrained=args.pretrained)
    record = load_dataset("fer2013", args.csv, split=args.split)
    if args.samples:
        record = record.subset(np.arange(min(args.samples, len(record))), split=record.split)
    inputs = pipeline_inputs(trained, record)
    labels = np.asarray(record.labels)
    reference = np.asarray(trained.model.predict(inputs, batch_size=64, verbose=0)["probabilities"], np.float64)
    keras_accuracy = float((reference.argmax(1) == labels).mean())
    one = first(inputs, 1)
    keras_latency = median_ms(lambda: trained.model.predict_on_batch(one), args.runs)
    print(f"keras: accuracy {keras_accuracy:.4f} on {len(labels)} {args.split} images, {keras_latency} ms / image", flush=True)
    results = {"keras": {"accuracy": keras_accuracy, "latency_ms_1_image": keras_latency,
                         "params": int(trained.model.count_params())}}
    with tempfile.TemporaryDirectory(prefix="export_parity_") as tmp:
        for label, fmt, quantize, float_layers in VARIANTS:
            out = Path(args.artefacts or tmp) / f"{trained.name}_{label}{SUFFIX[fmt]}"
            start = time.perf_counter()
            path, details = export_model(trained, fmt, out, quantize=quantize, calibration=args.csv if quantize == "int8" else None,
                                         calibration_samples=args.calibration_samples if quantize == "int8" else None,
                                         float_layers=float_layers)
            seconds = time.perf_counter() - start
            run = load_exported(path, threads=args.threads)
            probabilities = np.asarray(run(inputs), np.float64)
            accuracy = float((probabilities.argmax(1) == labels).mean())
            entry = {
                "format": fmt, "quantize": quantize or "none", "size_bytes": details["size_bytes"],
                "export_seconds": round(seconds, 1),
                "accuracy": accuracy, "accuracy_drop_vs_keras": round(keras_accuracy - accuracy, 6),
                **parity(reference, probabilities),  # overall and on the more confident half
                "latency_ms_1_image": median_ms(lambda: run(one), args.runs),
            }
            for key in ("calibration", "float_layers", "ops", "int8_ops", "float_ops", "opset"):
                if key in details:
                    entry[key] = details[key]
            results[label] = entry
            print(label, {k: v for k, v in entry.items() if k not in ("calibration", "float_layers", "float_ops")}, flush=True)
    from fer_keras.models.pretrained import pretrained_info

    info = pretrained_info(args.pretrained)
    return {
        "what": f"exported {args.pretrained} artefacts vs the Keras model on FER2013 {args.split}, through the recipe's "
                "evaluation pipeline (one view, x / 255)",
        "pretrained": args.pretrained,
        "pretrained_source": info.get("source"),
        "data": str(args.csv), "split": args.split, "samples": int(len(labels)),
        "calibration_samples": args.calibration_samples, "latency_runs": args.runs,
        "threads": args.threads or "runtime default",
        "results": results,
        "machine": machine(), "versions": versions(),
        "command": "python benchmarks/export_parity.py" + "".join(f" {a}" for a in sys.argv[1:]),
        "date": date.today().isoformat(),
    }


def survey_run(args):
    from fer_keras.data import load_dataset
    from fer_keras.data.labels import CLASS_NAMES
    from fer_keras.export import ExportError, export_model, load_exported, parity, pipeline_inputs
    from fer_keras.loading import Trained, model_inputs, model_recipe
    from fer_keras.models import build_model, complexity, list_models

    train = load_dataset("fer2013", args.csv, split="Training")
    probe = train.subset(np.arange(64), split="Training")
    report = {}
    with tempfile.TemporaryDirectory(prefix="export_survey_") as tmp:
        for name in args.models or list_models():
            model = build_model(name)
            trained = Trained(model, model_recipe(name), "untrained (random initialisation)", CLASS_NAMES, data=str(args.csv))
            inputs = pipeline_inputs(trained, probe)
            reference = np.asarray(model.predict(inputs, verbose=0)["probabilities"], np.float64)
            counts = complexity(model)
            entry = {"input": {k: list(v) for k, v in model_inputs(model).items()},
                     "params_total": counts["params_total"], "macs": counts["macs"]}
            for label, fmt, quantize, _ in VARIANTS[:4] + VARIANTS[5:]:
                out = Path(tmp) / f"{name}_{label}{SUFFIX[fmt]}"
                start = time.perf_counter()
                try:
                    path, details = export_model(trained, fmt, out, quantize=quantize,
                                                 calibration_samples=args.calibration_samples if quantize == "int8" else None)
                except ExportError as err:
                    entry[label] = {"converts": False, "error": str(err), "seconds": round(time.perf_counter() - start, 1)}
                    print(name, label, "FAILS:", err, flush=True)
                    continue
                seconds = round(time.perf_counter() - start, 1)
                try:
                    probabilities = load_exported(path)(inputs)
                    check = parity(reference, probabilities)
                except Exception as err:  # noqa: BLE001 (an artefact that converts but does not run is a finding)
                    check = {"runs": False, "error": f"{type(err).__name__}: {str(err).splitlines()[0][:300]}"}
                entry[label] = {"converts": True, "seconds": seconds, "size_bytes": details["size_bytes"], **check,
                                **{k: details[k] for k in ("ops", "int8_ops", "float_ops", "opset") if k in details}}
                print(name, label, entry[label], flush=True)
                if out.is_dir():
                    import shutil

                    shutil.rmtree(out)
                elif out.exists():
                    out.unlink()
            report[name] = entry
    return {
        "what": "each model untrained (random initialisation) at its FER2013 input, exported to every format; "
                "parity: probabilities vs Keras on 64 FER2013 Training images (the recipe's evaluation pipeline); int8 "
                f"calibrated on {args.calibration_samples} Training images",
        "results": report, "machine": machine(), "versions": versions(),
        "command": "python benchmarks/export_parity.py" + "".join(f" {a}" for a in sys.argv[1:]),
        "date": date.today().isoformat(),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV, help="fer2013.csv[.gz] (default: $FER2013_CSV or shared/)")
    parser.add_argument("--pretrained", default="amdcnn_fer2013")
    parser.add_argument("--split", default="PublicTest")
    parser.add_argument("--samples", type=int, default=None, help="the first N images of the split (default: all)")
    parser.add_argument("--calibration-samples", type=int, default=300, help="int8 calibration images (FER2013 Training)")
    parser.add_argument("--runs", type=int, default=50, help="single-image calls timed per runtime (median reported)")
    parser.add_argument("--threads", type=int, default=None, help="TFLite / ONNX Runtime threads (default: theirs)")
    parser.add_argument("--artefacts", type=Path, default=None, help="keep the exported files in this folder")
    parser.add_argument("--survey", action="store_true", help="export the registered models, untrained, instead (see above)")
    parser.add_argument("--models", nargs="+", default=None, help="the models to survey (default: every registered one)")
    parser.add_argument("--out", type=Path, default=None,
                        help="results file (default benchmarks/results/export_parity.json, or export_survey.json)")
    args = parser.parse_args()
    if not args.csv.is_file():
        parser.error(f"--csv {args.csv}: not found (set FER2013_CSV)")

    from fer_keras.quiet import import_keras_quietly

    import_keras_quietly()
    report = survey_run(args) if args.survey else parity_run(args)
    out = args.out or RESULTS / ("export_survey.json" if args.survey else "export_parity.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print("wrote", out)


if __name__ == "__main__":
    main()
