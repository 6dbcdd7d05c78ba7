"""Publish a finished training run (or a `fer-keras crossval` folder of fold runs): copy what it wrote into experiments/results/<name>/ and, with
--bundle, ship its best weights inside the package as pretrained `<name>`.

    python experiments/tools/publish.py runs/amdcnn_fer2013 --name amdcnn_fer2013 [--bundle]
    (make publish RUN=runs/amdcnn_fer2013 NAME=amdcnn_fer2013 [BUNDLE=1])

A crossval folder gets crossval.json, recipe.yaml, command.txt and fold<i>/{metrics.json, log.csv,
config.yaml}. A single run's experiments/results/<name>/ gets metrics.json, log.csv, confusion_matrix.png, curves.png,
config.yaml (the resolved recipe, the data path and the command) and command.txt (the command
that reproduces the run). --bundle stores the best weights as float16 in
fer_keras/assets/pretrained/<name>.weights.npz, records its SHA-256 in the manifest, and checks
that the float16 weights score within --max-drop accuracy of the run's own on its validation split
(FER2013: PublicTest), both single crop, writing both accuracies into the results directory as
pretrained.json; then it builds the model's float16 TFLite export, which predict runs with LiteRT
(experiments/tools/bundle_tflite.py: fer_keras/assets/pretrained/<name>.tflite, checked against the
Keras model; --no-tflite skips it, and predict then runs that model with Keras). --last-epoch also keeps the last epoch's weights (float16, its `last.keras`) as
last_epoch.weights.npz in the results directory, so that experiments/tools/restore_run.py can continue the
run where it stopped, not at its best epoch, if runs/ is lost (a few MB per publish: use it for runs
that must resume across machines).
"""

import argparse
import json
import shlex
import shutil
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
RUN_FILES = ("metrics.json", "log.csv", "confusion_matrix.png", "curves.png", "config.yaml")


FOLD_FILES = ("metrics.json", "log.csv", "config.yaml")


def _commands(run):
    """The command that started `run` and every command that resumed it, as a user types them."""
    from fer_keras.run.record import invoked_command

    saved = yaml.safe_load((run / "config.yaml").read_text())
    lines = [saved["command"]]
    resumes = run / "resumed.txt"
    if resumes.is_file():
        lines += [line for line in resumes.read_text().splitlines() if line.strip()]
    return [invoked_command(shlex.split(line)) for line in lines]


def publish(run, name, results=ROOT / "experiments" / "results"):
    run, out = Path(run), Path(results) / name
    missing = [f for f in RUN_FILES if not (run / f).is_file()]
    if missing:
        raise SystemExit(f"publish: {run} lacks {', '.join(missing)} (has the run finished?)")
    out.mkdir(parents=True, exist_ok=True)
    for file in RUN_FILES:
        shutil.copyfile(run / file, out / file)
    saved = yaml.safe_load((run / "config.yaml").read_text())
    lines = _commands(run)  # `fer-keras train --resume` appends its commands to resumed.txt
    (out / "command.txt").write_text("\n".join(line for line in lines if line.strip()) + "\n")
    return out, saved


def publish_crossval(cv, name, results=ROOT / "experiments" / "results"):
    """A `fer-keras crossval` folder: crossval.json and recipe.yaml, and each fold's metrics.json,
    log.csv and config.yaml under fold<i>/ (finished folds, and unfinished ones for their curves);
    command.txt: the distinct commands that ran its folds."""
    cv, out = Path(cv), Path(results) / name
    out.mkdir(parents=True, exist_ok=True)
    for file in ("crossval.json", "recipe.yaml"):
        shutil.copyfile(cv / file, out / file)
    commands = []
    for fold in sorted(p for p in cv.glob("fold*") if (p / "metrics.json").is_file()):
        (out / fold.name).mkdir(exist_ok=True)
        for file in FOLD_FILES:
            shutil.copyfile(fold / file, out / fold.name / file)
        for command in _commands(fold):
            if command not in commands:
                commands.append(command)
    (out / "command.txt").write_text("\n".join(commands) + "\n")
    return out


def _bundle_tflite(name):
    """experiments/tools/bundle_tflite.py's `bundle_tflite(name)` (a script beside this one)."""
    import importlib.util

    path = Path(__file__).with_name("bundle_tflite.py")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.bundle_tflite(name)


def bundle(run, name, saved, out, max_drop, tflite=True):
    from fer_keras.data.splits import load_splits
    from fer_keras.evaluation import classification_metrics, predict_probabilities
    from fer_keras.loading import load_run
    from fer_keras.models.pretrained import PRETRAINED_DIR, load_pretrained, register_pretrained, save_pretrained
    from fer_keras.recipes import Recipe

    model, recipe = load_run(run)
    metrics = json.loads((Path(run) / "metrics.json").read_text())
    single = metrics["validation"]["single"]  # the float16 check is single crop: compare like with like
    _, validation, _, _ = load_splits(Recipe.of(recipe).data, saved["data"])
    header = {
        "model": recipe["model"]["name"],
        "input_shape": list(recipe["model"]["input_shape"]),
        "num_classes": len(validation.class_names),
        "options": recipe["model"].get("options") or {},
        "class_names": list(validation.class_names),
        "recipe": recipe,
        "source": f"experiments/results/{name}",
        "trained_on": f"{recipe['data']['dataset']} {recipe['data']['train']}",
        "metrics": {"split": validation.split, "accuracy_float32": metrics["accuracy"],
                    "macro_f1_float32": metrics["macro_f1"], "tta": recipe["pipeline"].get("tta"),
                    "single_crop_accuracy_float32": single["accuracy"], "epochs": metrics["epochs_done"]},
    }
    path = PRETRAINED_DIR / f"{name}.weights.npz"
    manifest = PRETRAINED_DIR / "manifest.json"
    previous = manifest.read_text() if manifest.is_file() else None  # restored if the check refuses the weights
    sha = save_pretrained(model, header, path)
    register_pretrained(name, path, sha)
    reloaded = load_pretrained(name)
    probabilities = predict_probabilities(reloaded, validation, recipe["pipeline"])
    check = classification_metrics(validation.labels, probabilities, validation.class_names)
    report = {"name": name, "file": f"fer_keras/assets/pretrained/{path.name}", "sha256": sha, "bytes": path.stat().st_size,
              "dtype": "float16", "split": validation.split, "samples": len(validation),
              "view": "single crop", "accuracy_float32": single["accuracy"], "accuracy_float16": check["accuracy"],
              "macro_f1_float32": single["macro_f1"], "macro_f1_float16": check["macro_f1"]}
    (out / "pretrained.json").write_text(json.dumps(report, indent=2) + "\n")
    drop = single["accuracy"] - check["accuracy"]
    if drop > max_drop:
        path.unlink()
        if previous is None:
            manifest.unlink()
        else:
            manifest.write_text(previous)
        raise SystemExit(f"publish: float16 weights lose {drop:.4f} accuracy on {validation.split} (> {max_drop}); not bundled")
    print(f"bundled {path} ({path.stat().st_size / 1e6:.2f} MB, sha256 {sha}); {validation.split} single-crop accuracy "
          f"float32 {single['accuracy']:.4f}, float16 {check['accuracy']:.4f}")
    if tflite:
        _bundle_tflite(name)


def save_last_epoch(run, out):
    """Write the run's last epoch's weights (last.keras) as float16 to out/last_epoch.weights.npz."""
    import pandas as pd

    from fer_keras.loading import load_keras_file
    from fer_keras.models.pretrained import save_pretrained
    from fer_keras.run.folder import read_run_config

    recipe = read_run_config(run, "run")["recipe"]
    model = load_keras_file(Path(run) / "last.keras", "run")
    epochs = len(pd.read_csv(Path(run) / "log.csv"))
    header = {"model": recipe["model"]["name"], "input_shape": list(recipe["model"]["input_shape"]),
              "num_classes": recipe["model"]["num_classes"], "options": recipe["model"].get("options") or {},
              "epochs": epochs, "source": str(run)}
    path = out / "last_epoch.weights.npz"
    staging = path.with_name(f".{path.name}.tmp")
    save_pretrained(model, header, staging)
    staging.replace(path)
    print(f"kept the last epoch's weights (epoch {epochs}) in {path} ({path.stat().st_size / 1e6:.2f} MB)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="a finished run directory (fer-keras train --out)")
    parser.add_argument("--name", required=True, help="the results / pretrained name, e.g. amdcnn_fer2013")
    parser.add_argument("--bundle", action="store_true", help="also ship the best weights as pretrained NAME")
    parser.add_argument("--max-drop", type=float, default=0.005, help="largest accuracy loss float16 may cost (0.005)")
    parser.add_argument("--no-tflite", action="store_true",
                        help="with --bundle: do not build the TFLite export predict runs with LiteRT")
    parser.add_argument("--last-epoch", action="store_true",
                        help="also keep the last epoch's weights for experiments/tools/restore_run.py --last-weights")
    args = parser.parse_args(argv)
    if (Path(args.run) / "crossval.json").is_file():  # a `fer-keras crossval` folder
        if args.bundle or args.last_epoch:
            raise SystemExit("publish: --bundle and --last-epoch are for a single run, not a cross-validation folder")
        print(f"published {args.run} to {publish_crossval(args.run, args.name)}")
        return 0
    out, saved = publish(args.run, args.name)
    print(f"published {args.run} to {out}")
    if args.last_epoch:
        save_last_epoch(args.run, out)
    if args.bundle:
        bundle(args.run, args.name, saved, out, args.max_drop, tflite=not args.no_tflite)
    return 0


if __name__ == "__main__":
    sys.exit(main())
