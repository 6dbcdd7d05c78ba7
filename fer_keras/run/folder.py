"""A run folder's files and what reads them: its config, log, metrics, backup and models.

    from fer_keras.run.folder import read_run_config, model_file
    saved = read_run_config("runs/amdcnn_fer2013")    # config.yaml: recipe, data, protocol, command, ...
    model_file("runs/amdcnn_fer2013")                 # best.keras (last.keras when there is no best)

What training writes there (`RUN_FILES`): config.yaml (fer_keras.run.record), log.csv (one row an
epoch; `MONITOR` is the column that selects the best epoch), metrics.json, best.keras and
last.keras, best.weights.h5, backup/ (Keras BackupAndRestore: `completed_epochs`), tensorboard/,
curves.png, confusion_matrix.png and resumed.txt (the commands that continued it); and hidden,
.recipe.json (fer_keras.run.record) and .run.lock (fer_keras.run.lock).
"""

import json
import os
import sys
from pathlib import Path

import yaml

from fer_keras.errors import ArgumentError

CONFIG_FILE = "config.yaml"
LOG_FILE = "log.csv"
METRICS_FILE = "metrics.json"
BEST_WEIGHTS_FILE = "best.weights.h5"
BACKUP_DIR = "backup"
RESUMED_FILE = "resumed.txt"
MODEL_FILES = ("best.keras", "last.keras")  # the inference models: the best epoch's, the last epoch's
# What a run writes into its folder: a new run refuses a folder that already holds any of them.
RUN_FILES = (CONFIG_FILE, LOG_FILE, METRICS_FILE, *MODEL_FILES, BEST_WEIGHTS_FILE, BACKUP_DIR,
             "tensorboard", "curves.png", "confusion_matrix.png", RESUMED_FILE)
MONITOR = "val_probabilities_accuracy"  # the log's column that selects the best epoch and stops early


def is_run(folder):
    """Whether `folder` holds a run (its config.yaml): one that started training."""
    return (Path(folder) / CONFIG_FILE).is_file()


def read_run_config(run_dir, argument="run_dir"):
    """The run's config.yaml as a dict with a `recipe` mapping; otherwise an ArgumentError naming
    `argument` (the caller's name for `run_dir`) and the folder or file."""
    run = Path(run_dir)
    path = run / CONFIG_FILE
    if not run.is_dir():
        raise ArgumentError(argument, run, "no such run directory")
    if not path.is_file():
        raise ArgumentError(argument, run, "no config.yaml there (not a run directory written by training)")
    try:
        saved = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ArgumentError(argument, path, f"not valid YAML ({str(err).splitlines()[0]})") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ArgumentError(argument, path, f"unreadable ({err})") from None
    if not isinstance(saved, dict) or not isinstance(saved.get("recipe"), dict):
        raise ArgumentError(argument, path, "not a run's config (a mapping with a 'recipe' section)")
    return saved


def check_new_run_folder(run):
    """A new run goes into a new folder or one that holds none of the files a run writes."""
    run = Path(run)
    if run.exists() and not run.is_dir():
        raise ArgumentError("out", run, "is a file; a run is a folder (choose another `out`)")
    if is_run(run):
        raise ArgumentError("out", run, "already holds a run; pass `resume=True` to continue it or choose another `out`")
    taken = [name for name in RUN_FILES if (run / name).exists()]
    if taken:
        raise ArgumentError("out", run, f"holds {', '.join(taken)}, which a run would replace, but no run "
                            "(no config.yaml); choose another `out`")


def check_resume_model(run_dir, name=None, dataset=None):
    """An ArgumentError unless `name` (None: not given) names the model of the run in `run_dir`, or
    a recipe of that model on the run's dataset, and `dataset` (None: not given) is the run's
    dataset: resuming continues the run's own recipe, so a caller who names another is told which
    one the run is."""
    saved = read_run_config(run_dir, "out")
    model, trained_on = saved["recipe"]["model"]["name"], saved["recipe"]["data"]["dataset"]
    if name in (None, model) and dataset in (None, trained_on):
        return
    if name not in (None, model):
        from fer_keras.models.registry import list_models
        from fer_keras.recipes import find_recipe, load_recipe

        named = None if name in list_models() or find_recipe(name, dataset) is None else load_recipe(name, dataset)
        if named is not None and (named["model"]["name"], named["data"]["dataset"]) == (model, trained_on):
            return
    argument, value = ("model", name) if name not in (None, model) else ("dataset", dataset)
    raise ArgumentError(argument, value, f"{run_dir} is a run of {model} on {trained_on}, and resuming continues it "
                        f"with its own recipe; leave the {argument} out or give the run's "
                        f"({model if argument == 'model' else trained_on})")


def completed_epochs(run):
    """Epochs finished by an earlier (interrupted) run, from Keras BackupAndRestore's metadata."""
    metadata = Path(run) / BACKUP_DIR / "training_metadata.json"
    return json.loads(metadata.read_text())["epoch"] if metadata.is_file() else 0


def read_log(run):
    """log.csv of `run` as a pandas DataFrame with its `MONITOR` column, or None (no log yet, an
    empty one, or one without that column)."""
    import pandas as pd

    log = Path(run) / LOG_FILE
    if not log.is_file() or not log.stat().st_size:
        return None
    frame = pd.read_csv(log)
    return frame if MONITOR in frame and len(frame) else None


def best_so_far(run):
    """The best `MONITOR` value in the run's log, or None."""
    frame = read_log(run)
    return None if frame is None else float(frame[MONITOR].max())


def trim_log(run, epochs):
    """Keep log.csv's rows of the first `epochs` epochs: a kill after an epoch's row was written
    but before its backup repeats that epoch on resume, and its row must not appear twice."""
    import pandas as pd

    from fer_keras.run.write import cut_torn_line

    log = Path(run) / LOG_FILE
    if not log.is_file() or not log.stat().st_size:
        return
    cut_torn_line(log)
    frame = pd.read_csv(log)
    if "epoch" in frame and (frame["epoch"] >= epochs).any():
        temporary = log.with_name(".log.csv.tmp")
        frame[frame["epoch"] < epochs].to_csv(temporary, index=False)
        os.replace(temporary, log)


def read_metrics(run):
    """The run's metrics.json (what its last training chunk wrote), or {} when it has none yet."""
    path = Path(run) / METRICS_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def record_resume(run, command):
    """Append `command` to resumed.txt (experiments/tools/publish.py writes these after the first command)."""
    with open(Path(run) / RESUMED_FILE, "a") as handle:
        handle.write(command + "\n")


def model_file(run_dir, argument="run"):
    """The run's inference model file: best.keras, else last.keras (with a note on stderr); an
    ArgumentError naming `argument` when it has neither (training has not finished)."""
    run = Path(run_dir)
    for name in MODEL_FILES:
        if (run / name).is_file():
            if name != MODEL_FILES[0]:
                print(f"note: {run} has no {MODEL_FILES[0]}; using {name}", file=sys.stderr)
            return run / name
    raise ArgumentError(argument, run, f"no {' or '.join(MODEL_FILES)} (the run has not finished training; "
                        "resume its training first)")


def class_names(run_dir, count):
    """The class names in the run's metrics.json when there are `count` of them, else None."""
    try:
        metrics = json.loads((Path(run_dir) / METRICS_FILE).read_text())
        names = metrics["validation"]["single"]["class_names"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return tuple(names) if len(names) == count else None


__all__ = ["BACKUP_DIR", "BEST_WEIGHTS_FILE", "CONFIG_FILE", "LOG_FILE", "METRICS_FILE", "MODEL_FILES", "MONITOR",
           "RESUMED_FILE", "RUN_FILES", "best_so_far", "check_new_run_folder", "check_resume_model", "class_names",
           "completed_epochs", "is_run", "model_file", "read_log", "read_metrics", "read_run_config", "record_resume", "trim_log"]
