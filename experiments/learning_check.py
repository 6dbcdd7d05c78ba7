"""The learning check: does every model learn on real FER2013 with its recipe (and its documented
fixes)? The experiment future recipe changes must not regress (issue 15).

Each model's experiments/<model>_fer2013.yaml is trained on the full FER2013 Training split for
the same number of epochs (default 3), the epoch kept by PublicTest accuracy and scored there,
float32, no XLA. The result, experiments/results/learning_check.json, holds per model: PublicTest
accuracy and macro F1, the share of faces given the most-predicted class, the last epoch's
collapse diagnostics (fer_keras.diagnostics) and every head's accuracy, the training seconds, and
whether the model passes (accuracy >= --pass-accuracy and not at the majority class).

    make learning-check [DATA=path/to/fer2013.csv.gz]
    python experiments/learning_check.py [--data PATH] [--epochs 3] [--models amdcnn mrcar ...]

A full check costs hours on 2 CPU cores, so it is done model by model and can be spread over
sessions: each model trains in runs/learning_check/<model>, a run that already reached the epochs
is read, not retrained, one that was interrupted resumes, and the JSON is rewritten (atomically)
after each model with what is there.
"""

import argparse
import json
import os
import platform
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from probe import DEFAULT_CSV

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("amdcnn", "mrcar", "mifad_net", "lban")
OUT = ROOT / "experiments/results/learning_check.json"


def summary(run, epochs, pass_accuracy):
    """One model's entry from its finished run directory."""
    metrics = json.loads((run / "metrics.json").read_text())
    log = pd.read_csv(run / "log.csv")
    last = log.iloc[-1]
    counts = np.asarray(metrics["validation"]["single"]["confusion_matrix"]).sum(axis=0)
    share = float(counts.max() / counts.sum())
    accuracy = metrics["accuracy"]
    return {
        "recipe": yaml.safe_load((run / "config.yaml").read_text())["recipe"],
        "epochs": int(metrics["epochs_done"]),
        "publictest_accuracy": round(accuracy, 4),
        "publictest_accuracy_single_crop": round(metrics["validation"]["single"]["accuracy"], 4),
        "macro_f1": round(metrics["macro_f1"], 4),
        "most_predicted_share": round(share, 4),
        "best_epoch": int(log["val_probabilities_accuracy"].idxmax()) + 1,
        "last_epoch": {k: round(float(v), 4) for k, v in last.items() if k != "epoch"},
        "train_seconds": metrics["train_seconds_total"],
        "train_images_per_second": metrics["train_images_per_second"],
        "passes": bool(accuracy >= pass_accuracy and share < 0.9 and metrics["epochs_done"] >= epochs),
    }


def check_model(model, data, epochs, runs):
    """Train (or resume, or just read) `model`'s check run; its run directory."""
    from fer_keras.recipes import load_recipe
    from fer_keras.training import train

    run = runs / model
    finished = (run / "metrics.json").is_file() and json.loads((run / "metrics.json").read_text())["epochs_done"] >= epochs
    if finished:
        print(f"learning check: {model}: read {run} (already {epochs} epochs)", file=sys.stderr)
        return run
    resume = (run / "config.yaml").is_file()
    recipe = load_recipe(model, "fer2013", [f"training.epochs={epochs}", "training.jit_compile=false",
                                             "training.mixed_precision=false", "training.early_stopping_patience=null"])
    print(f"learning check: {model}: {'resuming' if resume else 'training'} {run}", file=sys.stderr, flush=True)
    train(recipe, data=data, out=run, resume=resume, verbose=2,
          command=f"python experiments/learning_check.py --epochs {epochs} --models {model}")
    return run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--pass-accuracy", type=float, default=0.45)
    parser.add_argument("--runs", type=Path, default=ROOT / "runs/learning_check")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if not args.data.is_file():
        raise SystemExit(f"--data {args.data}: no such file (FER2013's fer2013.csv[.gz])")
    from fer_keras.evaluation import write_json

    result = json.loads(args.out.read_text()) if args.out.is_file() else {}
    if result.get("epochs") not in (None, args.epochs):
        result = {}  # another budget: start a new check
    result.update({
        "what": (f"each model's FER2013 recipe (with its documented fixes) trained on the full Training split for "
                 f"{args.epochs} epochs, the epoch kept and scored on PublicTest; passes at >= "
                 f"{args.pass_accuracy:.0%} and under 90% of faces in one class"),
        "epochs": args.epochs,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, float32, no XLA",
        "source": str(args.data),
    })
    models = result.setdefault("models", {})
    for model in args.models:
        run = check_model(model, args.data, args.epochs, args.runs)
        models[model] = summary(run, args.epochs, args.pass_accuracy)
        result["date"] = date.today().isoformat()
        result["command"] = " ".join(["python experiments/learning_check.py", *sys.argv[1:]])
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_json(result, args.out)
        entry = models[model]
        print(f"learning check: {model}: PublicTest {entry['publictest_accuracy']:.4f}, macro F1 {entry['macro_f1']:.3f}, "
              f"most-predicted share {entry['most_predicted_share']:.3f}: {'passes' if entry['passes'] else 'FAILS'}",
              flush=True)
    return result


if __name__ == "__main__":
    main()
