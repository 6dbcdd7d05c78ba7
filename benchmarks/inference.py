"""Inference speed: each model's classifier throughput, and photo-to-emotions latency of
`fer-keras predict` against the `fer` PyPI package on the same photos, in one process.

(a) Classifier throughput: images per second of `model.predict_on_batch` (float32, after warm-up
calls that trace it) at batch 1 and batch 256, for each registered model (`list_models()`) at its
FER2013 input. A model with bundled FER2013 weights carries them (AMDCNN:
`load_pretrained("amdcnn_fer2013")`); the others are untrained (same architecture, same cost). Each run calls the model until --min-seconds have passed
(at least once); the median over --runs runs is reported.

(b) End to end: `fer_keras.predict.FacePredictor` with a bundled model (--model; default: predict's),
as `fer-keras predict` runs it (BlazeFace detection of every face, each cut from BlazeFace's box
by the crop fitted on FER2013 Training photos without rotation, classification), the same with
`--detector mtcnn`, against `fer.FER()` (fer's defaults: OpenCV Haar cascade + quantised TFLite
mini-Xception) and `fer.FER(use_tflite=False)` (Haar cascade + its float Keras mini-Xception), one
photo per call, the systems interleaved photo by photo, on the same photos in the same process, so
their ratio comes from one run; plus
`FacePredictor` given --batch-size photos per call (what `fer-keras predict FOLDER` does). Images are
already decoded (RGB for fer_keras, BGR for fer): file reading is not timed. There are no real
photos here: each photo is one or two real FER2013 PublicTest faces (alternately), upscaled from 48
to 192 pixels (cubic) on a mid-gray canvas, as tests/predict/test_use.py builds them. Every system's
detections are matched to the planted faces (IoU >= 0.3) and counted, so the speeds are read next
to how much work each one did (faces found, missed, false detections).

(c) Video: frames per second of `predict_paths` on a synthetic mp4 clip (two faces a frame, every
frame analysed), with each detector, with and without writing the annotated copy.

`fer` needs opencv-contrib and its own virtual environment (`make fer-baseline` creates it), which
sees fer_keras and TensorFlow too; run this script with its interpreter:

    .venv-fer/bin/python benchmarks/inference.py [--photos 200] [--runs 5] [--models amdcnn,lban,mifad_net,mrcar]
        [--batches 1,256] [--min-seconds 2] [--parts classifier,end_to_end,video] [--video-frames 100] [--out benchmarks/results/inference.json]

A quick check: --photos 4 --runs 2 --models amdcnn --batches 1,8 --min-seconds 0.2 --out /tmp/inference.json

With --parts naming only some parts, the other parts of an existing --out file are kept as they
were, and "parts_from_earlier_runs" names the command and date that measured them.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
import warnings
from datetime import date
from pathlib import Path

import numpy as np
from fer_keras.data.shared import fer2013_csv

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore", message="The structure of `inputs` doesn't match")  # fer's Keras model call
warnings.filterwarnings("ignore", message="Your input ran out of data")  # Keras predict on a finite tf.data pipeline
warnings.filterwarnings("ignore", message=r"(?s).*tf.lite.Interpreter is deprecated")  # fer's TFLite interpreter

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CSV = fer2013_csv()
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "inference.json"
FER_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")  # = FER2013's label order
FACE_SIDE, MARGIN, CANVAS_GRAY = 192, 64, 128
MATCH_IOU = 0.3


def machine():
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    accelerator = f"{len(gpus)} GPU(s)" if gpus else "no GPU"
    return (f"{platform.machine()}, {os.cpu_count()} CPU cores, {accelerator}, "
            f"{platform.python_implementation()} {platform.python_version()}")


def command_line(argv):
    exe = Path(sys.executable)
    try:
        exe = exe.relative_to(ROOT) if exe.is_absolute() and ROOT in exe.parents else Path("python")
    except ValueError:
        exe = Path("python")
    return " ".join([str(exe), "benchmarks/inference.py", *argv])


def import_fer():
    """(fer module, FER class), or exit with how to get them."""
    from fer_keras.quiet import stderr_silenced

    try:
        with stderr_silenced():  # fer imports TensorFlow: its start-up lines
            import fer
            from fer.fer import FER
    except Exception as err:  # ImportError, or fer's own imports failing (cv2 without contrib, pkg_resources)
        raise SystemExit(
            f"benchmarks/inference.py: the `fer` package cannot be imported ({type(err).__name__}: {err}).\n"
            "It lives in its own virtual environment: create it with `make .venv-fer/bin/python` (or `make fer-baseline`)\n"
            "and run this script as `.venv-fer/bin/python benchmarks/inference.py ...` "
            "(or only the classifier part: --parts classifier)."
        ) from None
    return fer, FER


# ---------------------------------------------------------------------------- (a) classifier


def model_for(name):
    """(model, weights): the bundled <name>_fer2013 weights when the package ships them, else untrained."""
    from fer_keras.models import INPUT_SHAPES, available_pretrained, build_model, load_pretrained

    pretrained = f"{name}_fer2013"
    if pretrained in available_pretrained():
        return load_pretrained(pretrained), f"pretrained {pretrained}"
    return build_model(name, input_shape=INPUT_SHAPES[name]["fer2013"]), "untrained (random initialisation)"


def batch_of(model, batch, rng):
    from fer_keras.loading import model_inputs

    shapes = model_inputs(model)
    arrays = {key: rng.random((batch, *shape), dtype=np.float32) for key, shape in shapes.items()}
    return arrays if isinstance(model.input, dict) else next(iter(arrays.values()))


def classifier_throughput(model, batch, runs, min_seconds, warmup):
    x = batch_of(model, batch, np.random.default_rng(0))
    for _ in range(warmup):  # the first call traces the predict function for this batch shape
        model.predict_on_batch(x)
    rates, per_call = [], []
    for _ in range(runs):
        calls, start = 0, time.perf_counter()
        while True:
            model.predict_on_batch(x)
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                break
        rates.append(batch * calls / elapsed)
        per_call.append(elapsed / calls)
    return rates, per_call


def run_classifier(args):
    import keras

    from fer_keras.loading import model_inputs

    rows = []
    for name in args.models:
        model, weights = model_for(name)
        inputs = model_inputs(model)
        for batch in args.batches:
            rates, per_call = classifier_throughput(model, batch, args.runs, args.min_seconds, args.warmup)
            row = {
                "model": name,
                "inputs": {key: "x".join(map(str, shape)) for key, shape in inputs.items()},
                "weights": weights,
                "batch": batch,
                "images_per_second_median": round(statistics.median(rates), 1),
                "images_per_second_runs": [round(r, 1) for r in rates],
                "ms_per_call_median": round(1000 * statistics.median(per_call), 2),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
        del model
        keras.backend.clear_session()
    return {
        "what": "images/s of model.predict_on_batch on random float32 inputs at each model's FER2013 input, "
                f"after {args.warmup} warm-up calls per batch size; each run calls the model until "
                f"{args.min_seconds} s have passed (at least once); median of {args.runs} runs",
        "dtype_policy": keras.config.dtype_policy().name,
        "keras_backend": keras.backend.backend(),
        "runs": args.runs,
        "model": args.model,
        "results": rows,
    }


# ---------------------------------------------------------------------------- (b) end to end


def make_photos(record, count):
    """`count` photos: photo i holds one face when i is even, two when odd, taken in row order."""
    from fer_keras.data.sample import faces_on_canvas

    photos, row = [], 0
    for i in range(count):
        k = 1 + i % 2
        if row + k > len(record):
            raise SystemExit(f"--photos {count}: needs more than the {len(record)} faces of {record.split}")
        canvas, boxes = faces_on_canvas(record.images[row : row + k, :, :, 0], FACE_SIDE, MARGIN, CANVAS_GRAY)
        photos.append({"rgb": canvas, "bgr": np.ascontiguousarray(canvas[..., ::-1]), "boxes": boxes,
                       "labels": [int(v) for v in record.labels[row : row + k]], "rows": list(range(row, row + k))})
        row += k
    return photos


def iou(a, b):
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def score_detections(photo, detections):
    """(matched planted faces, false detections, correct emotions among the matched) for one photo;
    detections: [(box x1, y1, x2, y2, class index)], greedily matched by IoU."""
    free = list(range(len(detections)))
    matched = correct = 0
    for box, label in zip(photo["boxes"], photo["labels"]):
        scores = [(iou(box, detections[j][0]), j) for j in free]
        best = max(scores, default=(0.0, None))
        if best[0] >= MATCH_IOU:
            free.remove(best[1])
            matched += 1
            correct += int(detections[best[1]][1] == label)
    return matched, len(free), correct


class StageTimer:
    """Wraps the functions FacePredictor.predict_images calls (MTCNN detection, alignment,
    classification) to add up their seconds while `stages` is a dict; the calls themselves are
    unchanged."""

    def __init__(self):
        import fer_keras.data.faces as faces
        import fer_keras.predict as predict

        self.stages = None
        faces.detect_faces = self._timed("detect", faces.detect_faces)  # imported by predict_images at each call
        faces.detect_faces_blazeface = self._timed("detect", faces.detect_faces_blazeface)
        predict.face_inputs = self._timed("align", predict.face_inputs)
        predict.classify = self._timed("classify", predict.classify)

    def _timed(self, stage, function):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                if self.stages is not None:
                    self.stages[stage] = self.stages.get(stage, 0.0) + time.perf_counter() - start

        return timed


class FerKerasSystem:
    def __init__(self, predictor):
        self.predictor = predictor

    def __call__(self, photos):
        results = self.predictor.predict_images([photo["rgb"] for photo in photos])
        return [[(tuple(float(v) for v in box), int(np.argmax(probs))) for box, probs in zip(marks.boxes, probabilities)]
                for marks, probabilities in results]


class FerPackageSystem:
    def __init__(self, detector):
        self.detector = detector

    def __call__(self, photos):
        out = []
        for photo in photos:
            faces = self.detector.detect_emotions(photo["bgr"])
            out.append([((x, y, x + w, y + h), int(np.argmax([face["emotions"][c] for c in FER_CLASSES])))
                        for face in faces for (x, y, w, h) in [tuple(float(v) for v in face["box"])]])
        return out


def run_end_to_end(args, FER):
    from fer_keras.data import load_dataset
    from fer_keras.loading import load_pretrained_trained
    from fer_keras.predict import FacePredictor

    load = {"start": [round(v, 2) for v in os.getloadavg()]}  # other work on the machine slows every system
    record = load_dataset("fer2013", args.csv, split="PublicTest")
    assert tuple(name.lower() for name in record.class_names) == FER_CLASSES, record.class_names
    photos = make_photos(record, args.photos)
    planted = sum(len(p["boxes"]) for p in photos)
    trained = load_pretrained_trained(args.model)
    predictor = FacePredictor(trained, batch_size=args.batch_size)
    timer = StageTimer()
    systems = {  # name: (callable on a list of photos, description)
        "fer_keras": (FerKerasSystem(predictor),
                      f"fer_keras.predict.FacePredictor, bundled {args.model} (`fer-keras predict` defaults: BlazeFace "
                      "short range, min confidence 0.5, each face cut from its box by BOX_CROP (fitted on FER2013 "
                      "Training photos, experiments/probes/blazeface_calibration_probe.py) without rotation, one view "
                      "per face)"),
        "fer_keras_mtcnn": (FerKerasSystem(FacePredictor(trained, batch_size=args.batch_size, detector="mtcnn")),
                            f"the same with `--detector mtcnn` (MTCNN, min confidence 0.9), bundled {args.model}"),
        "fer": (FerPackageSystem(FER()), "fer.FER() defaults: OpenCV Haar cascade + quantised TFLite mini-Xception"),
        "fer_no_tflite": (FerPackageSystem(FER(use_tflite=False)),
                          "fer.FER(use_tflite=False): Haar cascade + fer's float Keras mini-Xception"),
    }
    names = list(systems)
    for name in names:  # warm-up: model loading, tracing for one and for two faces
        systems[name][0](photos[:1])
        systems[name][0](photos[1:2])
    batched_warm = photos[: min(len(photos), args.batch_size)]
    systems["fer_keras"][0](batched_warm)

    seconds = {name: [[] for _ in range(args.runs)] for name in names}
    batched_seconds = []
    stages = [{} for _ in range(args.runs)]  # fer_keras, one photo per call: seconds per stage
    detections = {name: [None] * len(photos) for name in names}
    for run in range(args.runs):
        for i, photo in enumerate(photos):
            shift = (run * len(photos) + i) % len(names)  # rotate the order: no system always goes first
            for name in names[shift:] + names[:shift]:
                timer.stages = stages[run] if name == "fer_keras" else None
                start = time.perf_counter()
                found = systems[name][0]([photo])[0]
                seconds[name][run].append(time.perf_counter() - start)
                timer.stages = None
                detections[name][i] = found
        start = time.perf_counter()
        for k in range(0, len(photos), args.batch_size):
            systems["fer_keras"][0](photos[k : k + args.batch_size])
        batched_seconds.append(time.perf_counter() - start)
        print(f"end to end: run {run + 1}/{args.runs} done", flush=True)

    rows = []
    per_photo_runs = {name: [sum(s) / len(photos) for s in seconds[name]] for name in names}
    for name in names:
        matched = false = correct = 0
        for photo, found in zip(photos, detections[name]):
            m, f, c = score_detections(photo, found)
            matched, false, correct = matched + m, false + f, correct + c
        found_total = sum(len(d) for d in detections[name])
        per_face_runs = [sum(s) / max(found_total, 1) for s in seconds[name]]
        rows.append({
            "system": name,
            "description": systems[name][1],
            "mode": "one photo per call",
            "faces_planted": planted,
            "faces_detected": found_total,
            "faces_matched": matched,
            "detection_rate": round(matched / planted, 4),
            "false_detections": false,
            "emotion_accuracy_on_matched": round(correct / matched, 4) if matched else None,
            "ms_per_photo_median": round(1000 * statistics.median(per_photo_runs[name]), 2),
            "ms_per_photo_runs": [round(1000 * t, 2) for t in per_photo_runs[name]],
            "ms_per_photo_median_over_photos": round(1000 * statistics.median(
                statistics.median(s[i] for s in seconds[name]) for i in range(len(photos))), 2),
            "ms_per_detected_face_median": round(1000 * statistics.median(per_face_runs), 2),
        })
    fk = rows[0]
    for run, by_stage in enumerate(stages):  # the rest of predict_images: grouping, bookkeeping
        by_stage["other"] = sum(seconds["fer_keras"][run]) - sum(by_stage.values())
    fk["ms_per_photo_by_stage_median"] = {  # detection (BlazeFace), face_inputs, classify (evaluation pipeline + model)
        stage: round(1000 * statistics.median(run.get(stage, 0.0) / len(photos) for run in stages), 2)
        for stage in ("detect", "align", "classify", "other")}
    batched_per_photo = [t / len(photos) for t in batched_seconds]
    rows.append({
        **{k: fk[k] for k in ("faces_planted", "faces_detected", "faces_matched", "detection_rate", "false_detections",
                              "emotion_accuracy_on_matched")},
        "system": "fer_keras_batched",
        "description": f"the same FacePredictor given {args.batch_size} photos per call (`fer-keras predict FOLDER`)",
        "mode": f"{args.batch_size} photos per call",
        "ms_per_photo_median": round(1000 * statistics.median(batched_per_photo), 2),
        "ms_per_photo_runs": [round(1000 * t, 2) for t in batched_per_photo],
        "ms_per_detected_face_median": round(1000 * statistics.median(t / max(fk["faces_detected"], 1) for t in batched_seconds), 2),
    })
    for row in rows:
        print(json.dumps(row), flush=True)
    ratios = {}
    for other in ("fer", "fer_no_tflite", "fer_keras_mtcnn"):
        per_run = [a / b for a, b in zip(per_photo_runs["fer_keras"], per_photo_runs[other])]
        ratios[f"fer_keras / {other}"] = {"ms_per_photo_ratio_median": round(statistics.median(per_run), 2),
                                          "ms_per_photo_ratio_runs": [round(r, 2) for r in per_run]}
    return {
        "what": "photo in, faces and emotions out, one photo per call, systems interleaved photo by photo in one process "
                "(decoded images in memory; file reading not timed); ms per photo = the run's total / photos, "
                f"median of {args.runs} runs; ms per detected face = the same total / the faces the system found",
        "photos": {
            "count": len(photos),
            "faces": planted,
            "synthetic": True,
            "why": "no real photos on the benchmark machine",
            "how": f"real FER2013 PublicTest faces (rows 0-{planted - 1} in order), "
                   f"upscaled 48 -> {FACE_SIDE} px (cubic) on a gray ({CANVAS_GRAY}) canvas with {MARGIN} px margins, "
                   "one face in even-numbered photos and two side by side in odd ones "
                   f"({FACE_SIDE + 2 * MARGIN}x{FACE_SIDE + 2 * MARGIN} and "
                   f"{FACE_SIDE + 2 * MARGIN}x{2 * FACE_SIDE + 3 * MARGIN} px), grayscale as RGB",
            "matching": f"A planted face counts as found when a detection overlaps it with IoU >= {MATCH_IOU}; "
                        "emotion accuracy is against the FER2013 label, over the found faces only.",
        },
        "runs": args.runs,
        "model": args.model,
        "load_average_1_5_15_min": {**load, "end": [round(v, 2) for v in os.getloadavg()], "cpu_cores": os.cpu_count(),
                                    "note": "above the core count, other processes shared the cores: every system's ms "
                                            "grow, not all alike; compare ratios within one run"},
        "results": rows,
        "ratios": ratios,
    }


def write_video(path, photos, frames, fps=25):
    """An mp4v video of `frames` frames: the photos' two-face canvases in turn, each held for 5 frames
    and drifting 2 px a frame (so detection cannot reuse a frame); False if OpenCV cannot write it."""
    import cv2

    canvases = [p["bgr"] for p in photos if len(p["boxes"]) == 2] or [p["bgr"] for p in photos]
    height, width = canvases[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        return False
    for k in range(frames):
        canvas = canvases[(k // 5) % len(canvases)]
        if canvas.shape[:2] != (height, width):
            canvas = cv2.resize(canvas, (width, height))
        writer.write(np.roll(canvas, 2 * (k % 5), axis=1))
    writer.release()
    return True


def run_video(args):
    """Frames per second of `predict_paths` on one video (decode, detect, align, classify; with and
    without writing the annotated copy), for each detector, every frame analysed."""
    import tempfile

    from fer_keras.data import load_dataset
    from fer_keras.predict import FacePredictor, predict_paths
    from fer_keras.loading import load_pretrained_trained

    record = load_dataset("fer2013", args.csv, split="PublicTest")
    photos = make_photos(record, 20)
    trained = load_pretrained_trained(args.model)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        video = Path(folder) / "clip.mp4"
        if not write_video(video, photos, args.video_frames):
            return {"skipped": "OpenCV cannot write mp4v videos here"}
        for detector in ("blazeface", "mtcnn"):
            predictor = FacePredictor(trained, batch_size=args.batch_size, detector=detector)
            predict_paths(predictor, [video])  # warm-up: loading, tracing
            for annotate in (False, True):
                rates = []
                for run in range(args.runs):
                    out = Path(folder) / f"out_{detector}_{annotate}_{run}" if annotate else None
                    start = time.perf_counter()
                    entries = predict_paths(predictor, [video], out=out)
                    rates.append(args.video_frames / (time.perf_counter() - start))
                summary = entries[-1]["video"]
                rows.append({"detector": detector, "annotated_copy": annotate, "frames": summary["frames"],
                             "frames_with_faces": summary["with_faces"],
                             "frames_per_second_median": round(statistics.median(rates), 1),
                             "frames_per_second_runs": [round(r, 1) for r in rates]})
                print(json.dumps(rows[-1]), flush=True)
    height, width = photos[1]["bgr"].shape[:2]
    return {"what": f"`fer-keras predict clip.mp4` (predict_paths, every frame analysed, bundled {args.model}, "
                    f"batch size {args.batch_size}): frames per second including decoding, median of {args.runs} runs",
            "video": f"{args.video_frames} frames of {width}x{height} px (mp4v), two real FER2013 PublicTest faces "
                     "per frame (the two-face photos of the end-to-end part, each held 5 frames, drifting 2 px a frame)",
            "results": rows}


# ----------------------------------------------------------------------------------------- main


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV, help="FER2013 CSV (PublicTest faces for the photos)")
    parser.add_argument("--parts", default="classifier,end_to_end,video", help="classifier, end_to_end, video (comma-separated)")
    parser.add_argument("--video-frames", type=int, default=100, help="video: frames of the synthetic clip")
    from fer_keras.models import list_models

    models = list_models()
    parser.add_argument("--models", default=",".join(models), help="models for the classifier part")
    parser.add_argument("--batches", default="1,256", help="batch sizes for the classifier part")
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (medians are reported)")
    parser.add_argument("--min-seconds", type=float, default=2.0, help="classifier: least duration of one run")
    parser.add_argument("--warmup", type=int, default=2, help="classifier: warm-up calls per batch size")
    parser.add_argument("--photos", type=int, default=200, help="end to end: photos (1 and 2 faces alternately)")
    parser.add_argument("--batch-size", type=int, default=32, help="end to end: fer-keras predict's --batch-size")
    parser.add_argument("--model", default=None, help="end to end: the bundled model (default: predict's default)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    args.parts = [p for p in args.parts.split(",") if p]
    unknown = set(args.parts) - {"classifier", "end_to_end", "video"}
    if unknown or not args.parts:
        parser.error(f"--parts: expected classifier, end_to_end and/or video, got {args.parts}")
    args.models = [m for m in args.models.split(",") if m]
    if set(args.models) - set(models):
        parser.error(f"--models: choose from {', '.join(models)}")
    args.batches = [int(b) for b in args.batches.split(",") if b]
    if args.model is None:
        from fer_keras.models.pretrained import DEFAULT_PRETRAINED

        args.model = DEFAULT_PRETRAINED
    if min(args.runs, args.photos, args.batch_size, args.video_frames, *args.batches) < 1 or args.warmup < 1:
        parser.error("--runs, --photos, --batch-size, --batches and --warmup must be positive")
    return args


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    fer = FER = None
    if "end_to_end" in args.parts:
        fer, FER = import_fer()  # before any work: fail fast outside the fer venv
    from fer_keras.quiet import import_keras_quietly

    keras = import_keras_quietly()
    import cv2
    import tensorflow as tf

    import fer_keras

    result = {"what": "inference speed on this machine: (a) classifier throughput per model, (b) photo-to-emotions "
                      "latency of fer-keras predict against the fer package, same photos, same process, (c) video "
                      "frames per second of fer-keras predict"}
    if "classifier" in args.parts:
        result["classifier"] = run_classifier(args)
    if "end_to_end" in args.parts:
        result["end_to_end"] = run_end_to_end(args, FER)
    if "video" in args.parts:
        result["video"] = run_video(args)
    try:
        from importlib.metadata import version

        mtcnn_version = version("mtcnn")
    except Exception:
        mtcnn_version = None
    result["packages"] = {
        "fer_keras": getattr(fer_keras, "__version__", None), "fer": getattr(fer, "__version__", None),
        "tensorflow": tf.__version__, "keras": keras.__version__, "opencv": cv2.__version__, "mtcnn": mtcnn_version,
    }
    result["machine"] = machine()
    result["command"] = command_line(argv)
    result["date"] = date.today().isoformat()
    if args.out.is_file():  # keep the parts not run this time, saying where they came from
        earlier = json.loads(args.out.read_text())
        kept = [part for part in ("classifier", "end_to_end", "video") if part not in result and part in earlier]
        if kept:
            before = earlier.get("parts_from_earlier_runs", {})
            result["parts_from_earlier_runs"] = {}
            for part in kept:
                result[part] = earlier[part]
                result["parts_from_earlier_runs"][part] = before.get(part) or {
                    key: earlier.get(key) for key in ("command", "date", "machine", "packages")}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
