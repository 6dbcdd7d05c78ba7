"""`fer-keras predict` from a cold start, and folder throughput by batch size (issue 36, item 4).

(a) Cold start: the wall time of `fer-keras predict photo.jpg` (the default bundled model, through
LiteRT), each run in a fresh process, against `python -c "import tensorflow"` and against the same
predict on the Keras path (the bundled model's Keras weights, as when ai-edge-litert is missing),
and `python -c pass` (the interpreter's own start), the four interleaved run by run so that they
share the machine's load, each run once first (bytecode compiled into a temporary cache, files in
the page cache). The target: at most 1.5 s, and at most a quarter of the TensorFlow import.

(b) Folder throughput: what `fer-keras predict FOLDER --batch-size B` does after its start
(`predict_paths`, reading and decoding included), in this process, on --photos photos of 640x480,
each with one or two faces, for each B of --batches, interleaved round by round, with the default
bundled model through LiteRT and through Keras (the path of --run and --weights). Each run's time
is also given over its round's mean ("relative"), which cancels the drift of a shared machine's
load. The smallest B whose median time summed over the two paths is within 5% of the lowest sum is
the one to make predict's default batch size (`fer_keras.predict.DEFAULT_BATCH_SIZE`,
`choose_default`).

There are no real photos here: each photo holds one or two faces of the bundled FER2013 sample
(alternately), upscaled from 48 to 192 pixels on a mid-gray 640x480 canvas. The photos are written
to a temporary folder; file reading and decoding are timed (they are part of predict).

    python benchmarks/predict_cold_start.py [--runs 7] [--photos 100] [--batches 1,4,8,16,32,64,128]
        [--out benchmarks/results/predict_cold_start.json]

A quick check: --runs 2 --photos 8 --batches 1,8 --out /tmp/cold.json
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from importlib import metadata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "predict_cold_start.json"
KERAS_PATH = ("import sys, fer_keras.bundled as b; b.litert_available = lambda: False; "
              "from fer_keras.cli import main; sys.exit(main(sys.argv[1:]))")


def fer_keras_command():
    """The `fer-keras` console script beside this interpreter (a pyenv shim would add its own start-up)."""
    script = Path(sys.executable).parent / "fer-keras"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "fer_keras"]


def write_photos(folder, count):
    import cv2

    from fer_keras.data import load_dataset
    from fer_keras.data.sample import sample_path

    faces = load_dataset("fer2013", sample_path(), split="Training").images[:, :, :, 0]
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(count):
        canvas = np.full((480, 640, 3), 128, np.uint8)
        for j in range(1 + k % 2):
            face = cv2.resize(faces[(2 * k + j) % len(faces)], (192, 192), interpolation=cv2.INTER_CUBIC)
            x = 64 + j * 320
            canvas[144:336, x : x + 192] = face[..., None]
        cv2.imwrite(str(folder / f"photo_{k:03d}.jpg"), canvas)
    return sorted(folder.glob("*.jpg"))


def timed(command, pycache):
    """Wall seconds of `command` in a fresh process (its output discarded; a failure stops the
    benchmark). Bytecode is written to and read from `pycache`, as an installed package has its
    .pyc files (a checkout run with PYTHONDONTWRITEBYTECODE=1 would compile fer_keras at each start)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "", "PYTHONPYCACHEPREFIX": str(pycache)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    start = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"predict_cold_start: {' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return seconds


def summary(times):
    return {"median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3),
            "runs_s": [round(t, 3) for t in times]}


def cold_start(photo, runs, pycache):
    commands = {
        "python_start": [sys.executable, "-c", "pass"],
        "import_tensorflow": [sys.executable, "-c", "import tensorflow"],
        "predict_litert": [*fer_keras_command(), "predict", str(photo)],
        "predict_keras": [sys.executable, "-c", KERAS_PATH, "predict", str(photo)],
    }
    times = {name: [] for name in commands}
    for command in commands.values():  # bytecode written, page cache warm, for every system alike
        timed(command, pycache)
    for _ in range(runs):
        for name, command in commands.items():
            times[name].append(timed(command, pycache))
    result = {name: summary(values) for name, values in times.items()}
    ratio = result["predict_litert"]["median_s"] / result["import_tensorflow"]["median_s"]
    result["litert_over_import_tensorflow"] = round(ratio, 3)
    result["target_met"] = bool(result["predict_litert"]["median_s"] <= 1.5 and ratio <= 0.25)
    result["commands"] = {name: " ".join(Path(c).name if i == 0 else c for i, c in enumerate(command))
                          for name, command in commands.items()}
    return result


def folder_times(classifier, folder, batches, runs):
    """{batch size: seconds of each run} of `predict_paths` over the folder in this process (what
    `fer-keras predict FOLDER --batch-size B` does after its start) with `classifier`, loaded and
    warmed once; the batch sizes interleaved round by round, so that they share the machine's load."""
    from fer_keras.predict import FacePredictor, predict_paths

    for batch in (batches[0], batches[-1]):  # warm: interpreters or traced functions, files in the page cache
        predict_paths(FacePredictor(classifier, batch_size=batch), [str(folder)])
    times = {batch: [] for batch in batches}
    for _ in range(runs):
        for batch in batches:
            start = time.perf_counter()
            predict_paths(FacePredictor(classifier, batch_size=batch), [str(folder)])
            times[batch].append(time.perf_counter() - start)
    return times


def folder_rows(times, photos):
    """Per batch size: its runs, and the median over the rounds of its time over the round's mean
    (`relative`: below 1, faster than that round's average; the ratio cancels the load's drift)."""
    batches = list(times)
    table = np.array([times[b] for b in batches])
    relative = np.median(table / table.mean(axis=0, keepdims=True), axis=1)
    return [{"batch_size": b, **summary(times[b]), "relative": round(float(r), 3),
             "photos_per_s_median": round(photos / statistics.median(times[b]), 2)} for b, r in zip(batches, relative)]


def folder_throughput(folder, photos, batches, runs, keras_runs):
    """Folder throughput by batch size on the LiteRT path (predict's default) and the Keras path
    (--run, --weights: the same bundled model's Keras weights); the chosen default: the batch size
    whose worse `relative` over the two paths is the lowest."""
    from fer_keras.predict import load_classifier

    paths = {"litert": (load_classifier(), runs)}
    if keras_runs:
        paths["keras"] = (load_classifier(lite=False), keras_runs)
    result = {"photos": photos, "photo_size": "640x480, 1 or 2 faces"}
    for name, (classifier, count) in paths.items():
        result[name] = {"classifier": classifier.source, "runs": count,
                        "rows": folder_rows(folder_times(classifier, folder, batches, count), photos)}
    return {**result, **choose_default(result)}


def choose_default(folder):
    """{"chosen_default", "rule", "summed_median_s"}: the smallest batch size whose median time summed
    over the measured paths (a folder on each) is within 5% of the lowest such sum."""
    paths = [name for name in ("litert", "keras") if folder.get(name)]
    summed = {}
    for name in paths:
        for row in folder[name]["rows"]:
            summed[row["batch_size"]] = summed.get(row["batch_size"], 0.0) + row["median_s"]
    best = min(summed.values())
    return {"summed_median_s": {str(b): round(t, 3) for b, t in summed.items()},
            "chosen_default": min(b for b, t in summed.items() if t <= 1.05 * best),
            "rule": f"the smallest batch size whose median time summed over the "
                    f"{' and '.join({'litert': 'LiteRT', 'keras': 'Keras'}[n] for n in paths)} paths is within 5% of the lowest sum"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="cold starts of each system (interleaved)")
    parser.add_argument("--photos", type=int, default=100, help="photos in the folder of part (b)")
    parser.add_argument("--batches", default="1,4,8,16,32,64,128", help="batch sizes of part (b)")
    parser.add_argument("--folder-runs", type=int, default=15, help="runs of each batch size in part (b), LiteRT path")
    parser.add_argument("--keras-folder-runs", type=int, default=5, help="the same on the Keras path (0: not measured)")
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    args = parser.parse_args(argv)
    from fer_keras.predict import DEFAULT_BATCH_SIZE

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="fer-keras-cold-") as tmp:
        files, pycache = write_photos(Path(tmp) / "photos", args.photos), Path(tmp) / "pycache"
        cold = cold_start(files[0], args.runs, pycache)
        print(json.dumps(cold, indent=2), flush=True)
        batches = [int(b) for b in args.batches.split(",")]
        folder = folder_throughput(Path(tmp) / "photos", len(files), batches, args.folder_runs, args.keras_folder_runs)
    folder["default_when_measured"] = DEFAULT_BATCH_SIZE
    load_after = os.getloadavg()
    result = {
        "what": "fer-keras predict: one-photo cold start (fresh process) with LiteRT vs `import tensorflow` and vs the "
                "Keras path, interleaved; a folder of photos by --batch-size, LiteRT and Keras paths (predict_paths in one "
                "process, after the start)",
        "cold_start": cold,
        "folder": folder,
        "packages": {name: metadata.version(name) for name in ("ai-edge-litert", "tensorflow", "keras", "numpy",
                                                               "opencv-python")},
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, no GPU used, "
                   f"{platform.python_implementation()} {platform.python_version()}",
        "load_average": {"before": [round(v, 2) for v in load_before], "after": [round(v, 2) for v in load_after],
                         "note": f"with {os.cpu_count()} cores, a load above {os.cpu_count()} means other processes "
                                 "shared them during the runs; the systems ran interleaved, under the same load"},
        "command": " ".join(["python", "benchmarks/predict_cold_start.py", *(argv if argv is not None else sys.argv[1:])]),
        "date": date.today().isoformat(),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(folder, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
