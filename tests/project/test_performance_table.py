"""docs/performance.md's measurements (benchmarks/performance_table.py): they match the committed
benchmark results, and it renders a small synthetic results folder (missing files included)."""

import json

from tests.helpers import load_script


def load_generator():
    return load_script("benchmarks/performance_table.py")


def test_the_performance_page_is_up_to_date(capsys):
    generator = load_generator()
    code = generator.main(["--check"])
    assert code == 0, capsys.readouterr().err + " (run make performance-table and commit docs/performance.md)"


STAMP = {"machine": "x86_64, 2 CPU cores, no GPU, CPython 3.11.7", "date": "2030-01-02"}


def synthetic_results(folder):
    """inference.json, data_pipeline.json and a free-form export_parity.json; no FER2013 loading or
    MTCNN files."""
    inference = {
        "classifier": {
            "dtype_policy": "float32",
            "runs": 3,
            "results": [
                {"model": "amdcnn", "inputs": {"image": "48x48x1"}, "weights": "pretrained amdcnn_fer2013", "batch": 1,
                 "images_per_second_median": 98.4},
                {"model": "amdcnn", "inputs": {"image": "48x48x1"}, "weights": "pretrained amdcnn_fer2013", "batch": 256,
                 "images_per_second_median": 1234.5},
                {"model": "mrcar", "inputs": {"face": "44x44x1", "eyes": "44x44x1", "mouth": "44x44x1"},
                 "weights": "untrained (random initialisation)", "batch": 1, "images_per_second_median": 41.0},
            ],
        },
        "end_to_end": {
            "photos": {"count": 10, "faces": 15, "why": "no real photos", "how": "FER2013 faces on a gray canvas",
                       "matching": "IoU >= 0.3."},
            "runs": 2,
            "results": [
                {"system": "fer_keras", "mode": "one photo per call", "faces_planted": 15, "faces_matched": 15,
                 "detection_rate": 1.0, "false_detections": 0, "emotion_accuracy_on_matched": 0.6,
                 "ms_per_photo_median": 200.0, "ms_per_photo_runs": [180.0, 220.0], "ms_per_detected_face_median": 133.3,
                 "ms_per_photo_by_stage_median": {"detect": 120.0, "align": 0.5, "classify": 79.0, "other": 0.5}},
                {"system": "fer", "mode": "one photo per call", "faces_planted": 15, "faces_matched": 12,
                 "detection_rate": 0.8, "false_detections": 1, "emotion_accuracy_on_matched": 0.5,
                 "ms_per_photo_median": 25.0, "ms_per_photo_runs": [20.0, 20.0], "ms_per_detected_face_median": 19.2},
            ],
        },
        "command": ".venv-fer/bin/python benchmarks/inference.py --photos 10 --runs 2",
        **STAMP,
    }
    pipeline = {
        "what": "pipeline against training",
        "results": [{"setting": "lban", "pipeline": {"batch_size": 64, "input_size": [40, 40]}, "inputs": ["image"],
                     "pipeline_images_per_second_median": 11008, "model_training_images_per_second": 5.1,
                     "pipeline_over_model": 2158.5}],
        "command": "python benchmarks/data_pipeline.py",
        **STAMP,
    }
    export = {"what": "TFLite export", "results": [{"model": "amdcnn", "format": "int8", "ms_per_image": 1.25,
                                                     "accuracy_drop": 0.004, "nested": {"ignored": True}}],
              "command": "python benchmarks/export_parity.py", **STAMP}
    for name, data in {"inference.json": inference, "data_pipeline.json": pipeline, "export_parity.json": export}.items():
        (folder / name).write_text(json.dumps(data))


def test_section_from_a_synthetic_results_folder(tmp_path):
    generator = load_generator()
    results = tmp_path / "results"
    results.mkdir()
    synthetic_results(results)
    text = generator.section(results, tmp_path)
    lines = text.splitlines()
    # every measured part names its machine, command and date, and links its file
    for name, command in [("inference.json", ".venv-fer/bin/python benchmarks/inference.py --photos 10 --runs 2"),
                          ("data_pipeline.json", "python benchmarks/data_pipeline.py"),
                          ("export_parity.json", "python benchmarks/export_parity.py")]:
        (stamp,) = [line for line in lines if f"[{name}](results/{name})" in line]
        assert STAMP["machine"] in stamp and f"`{command}`" in stamp and STAMP["date"] in stamp
    # classifier throughput: one row per model, one column per batch size, "–" where not measured
    assert "| model | input | weights | batch 1, images/s | batch 256, images/s |" in lines
    assert "| AMDCNN | 48×48×1 | bundled pretrained | 98.4 | 1,234 |" in lines
    assert "| MrCAR | 44×44×1 + 44×44×1 + 44×44×1 | untrained | 41 | – |" in lines
    # end to end: detection counts next to times; the ratio is the median of the per-run ratios (9, 11)
    (row,) = [line for line in lines if line.startswith("| `fer-keras predict` (defaults: BlazeFace + amdcnn_fer2013) |")]
    assert "| 15 of 15 (100.0%) | 0 | 200 | 133 | 10.00× | 60.0% |" in row
    (row,) = [line for line in lines if line.startswith("| `fer` package, defaults")]
    assert "| 12 of 15 (80.0%) | 1 | 25 | 19.2 | 1.00× | 50.0% |" in row
    assert "face detection 120 ms" in text and "synthetic (no real photos)" in text
    # the other sections
    assert "| LBAN-IL (batch 64, 40×40 crops) | 11,008 | 5.1 | – | 2,158× |" in lines
    assert "| model | format | ms per image | accuracy drop |" in lines  # the nested value is left out
    assert "| amdcnn | int8 | 1.25 | 0.004 |" in lines
    # missing files: a line with the command, no failure
    assert "A whole FER2013 split, cold and cached: not measured yet (`python benchmarks/mtcnn_dataset.py`)." in lines
    assert "Not measured yet (`python benchmarks/fer2013_load.py`)." in lines


def test_cold_start_section_from_a_synthetic_file(tmp_path):
    """predict_cold_start.json: the cold starts against importing TensorFlow, and the folder's times
    by batch size on both paths, the default marked."""
    generator = load_generator()
    results = tmp_path / "results"
    results.mkdir()
    cold = {name: {"median_s": median, "min_s": median - 0.1, "runs_s": [median, median - 0.1, median + 0.2]}
            for name, median in (("python_start", 0.05), ("import_tensorflow", 6.0), ("predict_litert", 0.9),
                                 ("predict_keras", 7.5))}
    rows = [{"batch_size": b, "median_s": t, "min_s": t, "runs_s": [t], "relative": r} for b, t, r in ((8, 1.2, 1.05), (32, 1.0, 0.95))]
    data = {"what": "cold start", "cold_start": {**cold, "target_met": True},
            "folder": {"photos": 100, "photo_size": "640x480", "chosen_default": 32, "rule": "lowest",
                       "litert": {"runs": 1, "rows": rows}},
            "load_average": {"before": [1.0, 1.0, 1.0], "after": [1.2, 1.0, 1.0], "note": "idle"},
            "command": "python benchmarks/predict_cold_start.py", **STAMP}
    (results / "predict_cold_start.json").write_text(json.dumps(data))
    lines = generator.section(results, tmp_path).splitlines()
    assert "| `fer-keras predict photo.jpg` (bundled model through LiteRT; the default) | 0.9 | 0.8 | 0.15× |" in lines
    assert "| `python -c \"import tensorflow\"` | 6 | 5.9 | 1.00× |" in lines
    assert "Target (at most 1.5 s, at most a quarter of importing TensorFlow): met." in lines
    assert "| batch size | LiteRT: median s | LiteRT: vs its round's mean |" in lines
    assert "| 32 (chosen) | 1 | 0.95× |" in lines and "| 8 | 1.2 | 1.05× |" in lines


def test_empty_results_folder_and_the_readme_round_trip(tmp_path, capsys):
    generator = load_generator()
    results = tmp_path / "results"
    results.mkdir()
    text = generator.section(results, tmp_path)
    assert text.count("not measured yet") + text.count("Not measured yet") == 7
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n## Performance\n\nIntro.\n\n{generator.BEGIN}\nold\n{generator.END}\n\n## Layout\n")
    args = ["--readme", str(readme), "--results", str(results)]
    assert generator.main(args + ["--check"]) == 1
    assert "stale" in capsys.readouterr().err
    assert generator.main(args) == 0
    assert generator.main(args + ["--check"]) == 0
    written = readme.read_text()
    assert written.startswith("# x\n\n## Performance\n\nIntro.\n\n") and written.endswith(f"{generator.END}\n\n## Layout\n")
    synthetic_results(results)  # new results make the README stale again
    assert generator.main(args + ["--check"]) == 1
