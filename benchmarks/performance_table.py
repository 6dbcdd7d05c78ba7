"""docs/performance.md's measurements, generated from the committed benchmark results only.

    python benchmarks/performance_table.py            # rewrite docs/performance.md between the performance markers
    python benchmarks/performance_table.py --check    # exit 1 when docs/performance.md's section is stale
    python benchmarks/performance_table.py --results DIR --readme FILE   # other results / another file

Sources, in benchmarks/results/ (each written by the script of the same name in benchmarks/):
inference.json (classifier throughput; `fer-keras predict` against the `fer` package),
data_pipeline.json (input pipeline against model training), fer2013_load.json,
mtcnn_dataset.json and mtcnn_landmarks.json (MTCNN preprocessing), export_parity.json (TFLite
export: latency and accuracy drop), predict_cold_start.json (`fer-keras predict`'s cold start
against importing TensorFlow, and folder throughput by batch size). A missing file gives a "not measured yet" line with the command
that measures it. Every figure is printed with the machine, command and date its file records.
"""

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
BEGIN, END = "<!-- performance:begin -->", "<!-- performance:end -->"
PAGE = ROOT / "docs" / "performance.md"  # the page that holds the section (its links are relative to it)
# data_pipeline.json's settings beyond the registered models (which are named by their titles).
PIPELINE_NAMES = {"rafdb_100_to_80": "RAF-DB-sized input, 100×100 RGB"}
# The command that writes each file (for the "not measured yet" line).
COMMANDS = {
    "inference.json": ".venv-fer/bin/python benchmarks/inference.py",
    "data_pipeline.json": "python benchmarks/data_pipeline.py",
    "fer2013_load.json": "python benchmarks/fer2013_load.py",
    "mtcnn_dataset.json": "python benchmarks/mtcnn_dataset.py",
    "mtcnn_landmarks.json": "python benchmarks/mtcnn_landmarks.py",
    "export_parity.json": "python benchmarks/export_parity.py",
    "predict_cold_start.json": "python benchmarks/predict_cold_start.py",
}
COLD_SYSTEMS = {  # predict_cold_start.json's cold-start systems
    "predict_litert": "`fer-keras predict photo.jpg` (bundled model through LiteRT; the default)",
    "predict_keras": "the same through Keras (without ai-edge-litert)",
    "import_tensorflow": "`python -c \"import tensorflow\"`",
    "python_start": "`python -c pass` (the interpreter's own start)",
}
SYSTEMS = {  # inference.json's end-to-end systems; {model}: the bundled model it ran
    "fer_keras": "`fer-keras predict` (defaults: BlazeFace + {model})",
    "fer_keras_mtcnn": "`fer-keras predict --detector mtcnn` (MTCNN + {model})",
    "fer_keras_batched": "`fer-keras predict` (defaults: BlazeFace + {model}), batched",
    "fer": "`fer` package, defaults (Haar cascade + TFLite mini-Xception)",
    "fer_no_tflite": "`fer` package, `use_tflite=False` (Haar cascade + Keras mini-Xception)",
}
STAGES = {"detect": "face detection", "align": "alignment", "classify": "classification (evaluation pipeline + model)",
          "other": "the rest"}


# ------------------------------------------------------------------------------------ helpers


def model_title(name):
    """A registered model's title (fer_keras.models' registry: "LBAN-IL"), else `name`."""
    from fer_keras.models import get_model_info, list_models

    return get_model_info(name).title if name in list_models() else name


def _load(results, name):
    path = Path(results) / name
    return json.loads(path.read_text()) if path.is_file() else None


def _number(value, digits=None):
    """Readable figures: 8,305; 612; 44.1; 7.24; 0.012 (or `digits` decimals)."""
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if digits is not None:
        return f"{value:,.{digits}f}"
    size = abs(value)
    if size >= 1000:
        return f"{value:,.0f}"
    if size >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}"  # 44.1, 5.1, 7.24, 0.049


def _percent(fraction):
    return "–" if fraction is None else f"{100 * fraction:.1f}%"


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _link(name, results, readme_dir):
    path = Path(results) / name
    try:
        target = Path(os.path.relpath(path.resolve(), Path(readme_dir).resolve())).as_posix()
    except ValueError:  # another drive
        target = path.as_posix()
    return f"[{name}]({target})"


def _stamp(data, name, results, readme_dir):
    """Where the figures come from: machine, command, date and the file."""
    machine = data.get("machine", "machine not recorded")
    command = data.get("command")
    command = f"`{command}`" if command else "command not recorded"
    return f"Measured on {machine}; {command}; {data.get('date', 'date not recorded')} ({_link(name, results, readme_dir)})."


def _missing(name, what=None, options=""):
    """The line for a results file that does not exist (yet)."""
    command = f"`{COMMANDS[name]}{options}`"
    return f"{what}: not measured yet ({command})." if what else f"Not measured yet ({command})."


# ----------------------------------------------------------------------------------- sections


def classifier_section(data):
    part = data.get("classifier")
    if not part:
        return [_missing("inference.json", "Classifier throughput", " --parts classifier")]
    rows = part["results"]
    batches = sorted({row["batch"] for row in rows})
    models = list(dict.fromkeys(row["model"] for row in rows))
    by = {(row["model"], row["batch"]): row for row in rows}
    header = ["model", "input", "weights"] + [f"batch {b}, images/s" for b in batches]
    table = []
    for model in models:
        first = next(row for row in rows if row["model"] == model)
        inputs = first["inputs"]
        shape = " + ".join(inputs.values()) if len(inputs) > 1 else next(iter(inputs.values()))
        weights = "bundled pretrained" if str(first["weights"]).startswith("pretrained") else "untrained"
        table.append([model_title(model), shape.replace("x", "×"), weights]
                     + [_number(by[(model, b)]["images_per_second_median"]) if (model, b) in by else "–" for b in batches])
    runs = part.get("runs")
    lines = [f"Classifier throughput: `model.predict_on_batch`, {part.get('dtype_policy', 'float32')}, after warm-up, "
             f"median of {runs} runs (same speed with trained or untrained weights)."]
    return lines + [""] + _table(header, table)


def video_section(data):
    part = data.get("video")
    if not part or "results" not in part:
        return [_missing("inference.json", "Video", " --parts video")]
    header = ["detector", "annotated copy written", "frames per second", "frames with faces"]
    table = [[row["detector"], "yes" if row["annotated_copy"] else "no", _number(row["frames_per_second_median"]),
              f"{row['frames_with_faces']} of {row['frames']}"] for row in part["results"]]
    return [f"Video: {part['what']}; {part['video']}.", ""] + _table(header, table)


def end_to_end_section(data):
    part = data.get("end_to_end")
    if not part:
        return [_missing("inference.json", "Photo to emotions", " --parts end_to_end")]
    photos = part["photos"]
    rows = part["results"]
    reference = next((row for row in rows if row["system"] == "fer"), None)
    header = ["system", "calls", "faces found (of planted)", "false detections", "ms per photo", "ms per found face",
              "time per photo vs `fer` defaults", "emotion = FER2013 label"]
    table = []
    for row in rows:
        name = SYSTEMS.get(row["system"], row["system"]).format(model=part.get("model", "amdcnn_fer2013"))
        relative = "–"
        if reference:
            mine, theirs = row.get("ms_per_photo_runs") or [], reference.get("ms_per_photo_runs") or []
            if mine and len(mine) == len(theirs):  # the ratio within each run, then its median
                relative = f"{statistics.median(a / b for a, b in zip(mine, theirs)):.2f}×"
            elif reference.get("ms_per_photo_median"):
                relative = f"{row['ms_per_photo_median'] / reference['ms_per_photo_median']:.2f}×"
        table.append([name, row.get("mode", "–"),
                      f"{row['faces_matched']} of {row['faces_planted']} ({_percent(row['detection_rate'])})",
                      row["false_detections"], _number(row["ms_per_photo_median"]),
                      _number(row["ms_per_detected_face_median"]), relative,
                      _percent(row.get("emotion_accuracy_on_matched"))])
    lines = [f"Photo to emotions, end to end: {photos['count']} photos with {photos['faces']} faces, every system on the "
             f"same photos in one process (images already decoded), medians of {part['runs']} runs; the time ratios "
             f"are taken within each run. The photos are synthetic ({photos.get('why', 'see the file')}): "
             f"{photos['how']}. {photos.get('matching', '')}".rstrip()]
    lines += [""] + _table(header, table)
    fer_keras = next((row for row in rows if row["system"] == "fer_keras"), None)
    notes = []
    if fer_keras and fer_keras.get("ms_per_photo_by_stage_median"):
        stages = ", ".join(f"{STAGES.get(k, k)} {_number(v)} ms"
                           for k, v in fer_keras["ms_per_photo_by_stage_median"].items())
        notes.append(f"`fer-keras predict`, one photo per call, per photo: {stages}.")
    if notes:
        lines += [""] + [" ".join(notes)]
    return lines


def inference_section(data, results, readme_dir):
    lines = ["### Inference", ""]
    if data is None:
        return lines + [_missing("inference.json", "Classifier throughput, and photo-to-emotions time against the `fer` package"), ""]
    lines += [_stamp(data, "inference.json", results, readme_dir), ""]
    lines += classifier_section(data) + [""] + end_to_end_section(data) + [""] + video_section(data) + [""]
    return lines


def pipeline_section(data, results, readme_dir):
    lines = ["### Training input pipeline against the model", ""]
    if data is None:
        return lines + [_missing("data_pipeline.json"), ""]
    lines += [_stamp(data, "data_pipeline.json", results, readme_dir) + " " + data.get("what", "") + ".", ""]
    table = []
    for row in data["results"]:
        pipeline = row.get("pipeline", {})
        setting = PIPELINE_NAMES.get(row["setting"]) or model_title(row["setting"]).replace("_", " ")
        detail = [f"batch {pipeline['batch_size']}"] if "batch_size" in pipeline else []
        if pipeline.get("input_size"):
            detail.append("×".join(map(str, pipeline["input_size"])) + " crops")
        if len(row.get("inputs", [])) > 1:
            detail.append(f"{len(row['inputs'])} inputs")
        training = row.get("model_training_images_per_second")
        table.append([f"{setting} ({', '.join(detail)})", _number(row["pipeline_images_per_second_median"]),
                      _number(training), _number(row.get("model_training_images_per_second_xla")),
                      f"{row['pipeline_over_model']:,.0f}×" if row.get("pipeline_over_model") else "–"])
    header = ["setting", "pipeline, images/s", "training step, images/s", "training step with XLA, images/s",
              "pipeline / faster step"]
    return lines + _table(header, table) + [""]


def loading_section(data, results, readme_dir):
    lines = ["### Loading FER2013", ""]
    if data is None:
        return lines + [_missing("fer2013_load.json"), ""]
    runs = len(data.get("cold_parse_seconds_runs", [])) or "several"
    return lines + [
        f"{_stamp(data, 'fer2013_load.json', results, readme_dir)} The {data['rows']:,}-row CSV: cold parse "
        f"{_number(data['cold_parse_seconds_median'])} s, cached load {_number(data['cached_load_seconds_median'])} s "
        f"(medians of {runs} runs).", ""]


def mtcnn_section(dataset, landmarks, results, readme_dir):
    lines = ["### MTCNN preprocessing", ""]
    if dataset is None:
        lines += [_missing("mtcnn_dataset.json", "A whole FER2013 split, cold and cached"), ""]
    else:
        lines += [
            _stamp(dataset, "mtcnn_dataset.json", results, readme_dir) + " " + dataset["what"] + ".", "",
            *_table(["FER2013 split", "images", "faces found", "cold: detect all, images/s", "cached: read, images/s",
                     "MrCAR region crops, images/s"],
                    [[dataset["split"] + (" (limited)" if dataset.get("limit") else ""), f"{dataset['images']:,}",
                      _percent((dataset.get("detection") or {}).get("found_rate")),
                      _number(dataset["cold"]["images_per_second_median"]),
                      _number(dataset["cached"]["images_per_second_median"]),
                      _number(dataset["region_crops"]["images_per_second_median"])]]),
            "",
        ]
    if landmarks is None:
        lines += [_missing("mtcnn_landmarks.json", "Detection rate and time per image by detector settings"), ""]
    else:
        table = [[row["settings"], f"{row['images']:,}", _percent(row["found_rate"]), _number(row["ms_per_image"])]
                 for row in landmarks["detection"]]
        lines += [_stamp(landmarks, "mtcnn_landmarks.json", results, readme_dir) + " " + landmarks["what"] + ".", ""]
        lines += _table(["detector settings", "images", "faces found", "ms per image"], table) + [""]
    return lines


def cold_start_section(data, results, readme_dir):
    lines = ["### Predict's cold start", ""]
    if data is None:
        return lines + [_missing("predict_cold_start.json"), ""]
    cold, folder, load = data["cold_start"], data["folder"], data.get("load_average") or {}
    lines += [_stamp(data, "predict_cold_start.json", results, readme_dir) + " " + data["what"] + ".", ""]
    if load:
        lines += [f"Load average (1, 5, 15 min) before {load['before']}, after {load['after']}; {load['note']}.", ""]
    runs = len(cold["predict_litert"]["runs_s"])
    tensorflow = cold["import_tensorflow"]["median_s"]
    rows = [[label, _number(cold[key]["median_s"]), _number(cold[key]["min_s"]),
             f"{cold[key]['median_s'] / tensorflow:.2f}×"] for key, label in COLD_SYSTEMS.items() if key in cold]
    lines += _table([f"one photo, fresh process (median of {runs})", "median s", "fastest s", "vs import tensorflow"], rows)
    lines += ["", f"Target (at most 1.5 s, at most a quarter of importing TensorFlow): "
              f"{'met' if cold['target_met'] else 'not met'}.", ""]
    header, table = ["batch size"], {}
    for name, label in (("litert", "LiteRT"), ("keras", "Keras")):
        part = folder.get(name)
        if not part:
            continue
        header += [f"{label}: median s", f"{label}: vs its round's mean"]
        for row in part["rows"]:
            table.setdefault(row["batch_size"], []).extend([_number(row["median_s"]), f"{row['relative']:.2f}×"])
    rows = [[str(b) + (" (chosen)" if b == folder.get("chosen_default") else ""), *cells] for b, cells in table.items()]
    runs = ", ".join(f"{folder[n]['runs']} on the {label} path" for n, label in (("litert", "LiteRT"), ("keras", "Keras"))
                     if folder.get(n))
    lines += [f"A folder of {folder['photos']} photos ({folder['photo_size']}) through `predict_paths`, as "
              f"`fer-keras predict FOLDER --batch-size B` runs it after its start, batch sizes interleaved round by "
              f"round ({runs}); each run's time over its round's mean cancels the load's drift. Chosen: {folder['rule']}: "
              f"{folder['chosen_default']}.", ""]
    return lines + _table(header, rows) + [""]


def _scalar(value):
    return value is None or isinstance(value, (str, int, float, bool))


def export_section(data, results, readme_dir):
    """Written by another script whose format may change: render whatever table its `results`
    hold (a list of flat dicts, or a dict of them), else its top-level figures."""
    lines = ["### Export (TFLite)", ""]
    if data is None:
        return lines + [_missing("export_parity.json"), ""]
    if not isinstance(data, dict):
        return lines + [f"See {_link('export_parity.json', results, readme_dir)}.", ""]
    lines += [_stamp(data, "export_parity.json", results, readme_dir)
              + (" " + str(data["what"]).rstrip(".") + "." if data.get("what") else ""), ""]
    rows = data.get("results")
    if isinstance(rows, dict):
        rows = [{"name": key, **value} if isinstance(value, dict) else {"name": key, "value": value}
                for key, value in rows.items()]
    if isinstance(rows, list) and rows and all(isinstance(row, dict) for row in rows):
        columns = []
        for row in rows:
            columns += [key for key, value in row.items() if _scalar(value) and key not in columns]
        if columns:
            return lines + _table([c.replace("_", " ") for c in columns],
                                  [[_number(row.get(c)) for c in columns] for row in rows]) + [""]
    skip = {"machine", "command", "date", "what", "source"}
    figures = [f"{key.replace('_', ' ')}: {_number(value)}" for key, value in data.items() if key not in skip and _scalar(value)]
    return lines + ["; ".join(figures) + "." if figures else f"See {_link('export_parity.json', results, readme_dir)}.", ""]


def section(results=RESULTS, readme_dir=PAGE.parent):
    """The markdown between the markers, from the JSON files in `results`."""
    lines = []
    lines += inference_section(_load(results, "inference.json"), results, readme_dir)
    lines += pipeline_section(_load(results, "data_pipeline.json"), results, readme_dir)
    lines += mtcnn_section(_load(results, "mtcnn_dataset.json"), _load(results, "mtcnn_landmarks.json"), results, readme_dir)
    lines += loading_section(_load(results, "fer2013_load.json"), results, readme_dir)
    lines += export_section(_load(results, "export_parity.json"), results, readme_dir)
    lines += cold_start_section(_load(results, "predict_cold_start.json"), results, readme_dir)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def render(readme_text, results=RESULTS, readme_dir=PAGE.parent):
    if BEGIN not in readme_text or END not in readme_text:
        raise SystemExit(f"the page has no {BEGIN} ... {END} section")
    head, rest = readme_text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{section(results, readme_dir)}\n{END}{tail}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 when the page's section is not what the files give")
    parser.add_argument("--readme", type=Path, default=PAGE, help="the page to write (default docs/performance.md)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder of the benchmark JSON files")
    args = parser.parse_args(argv)
    current = args.readme.read_text()
    wanted = render(current, args.results, args.readme.parent)
    if args.check:
        if wanted != current:
            print(f"{args.readme}: the performance section is stale; run python benchmarks/performance_table.py "
                  "(make performance-table)", file=sys.stderr)
            return 1
        return 0
    args.readme.write_text(wanted)
    print(f"wrote the performance section in {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
