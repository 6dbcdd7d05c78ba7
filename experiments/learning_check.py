"""The learning check: does every model learn on real FER2013 with its recipe (and its documented
fixes)? The experiment future recipe changes must not regress (issue 15).

The check is at most the first --epochs epochs (default 20) of each registered model's
(`fer_keras.models.list_models`) own FER2013 run, runs/<model>_fer2013 (where `make train
MODEL=<model>` writes): none of the four recipes' learning rates depends on the total number of
epochs, so those epochs are the same training whether the run stops there or goes on to the paper's
length, and no CPU hour is spent twice. For each model:

  * a run there that already has the epochs, or an epoch that passes, is read, not retrained;
  * a shorter one is resumed and stopped at its first passing epoch or at the budget (it can be
    continued later with `fer-keras train --resume runs/<model>_fer2013`);
  * a missing one is started with the recipe as it is now, and stopped the same way.

A run trained with another recipe than the current one (other than its time limit) is refused:
pass --runs with another folder to check the current recipe from scratch.

Per model, experiments/results/learning_check.json holds: the best PublicTest accuracy within the
epochs (single crop, the in-training evaluation on all of PublicTest) and its epoch, the share of
faces given the most-predicted class then (the collapse diagnostic, on its fixed 512 PublicTest
faces), every head's accuracy and each loss term and diagnostic at that epoch and at the last,
PublicTest accuracy at every epoch, seconds per epoch, the precision trained in, and whether the
model passes: an epoch after its loss's warm-up (loss.warmup_epochs, if any) scores
>= --pass-accuracy with under 90% of faces in one class. The JSON is rewritten (atomically) after
each model, so a check spread over several sessions keeps what it has.

The epochs are a budget: training stops at the first passing epoch (`passed_at_epoch`), since no
later epoch can change the verdict; the regression measure is then the verdict and how many epochs
it took. The best accuracy reported is over the epochs trained. --full trains every epoch of the
budget instead (then the best accuracy is over all of them).

    make learning-check [DATA=path/to/fer2013.csv.gz] [EPOCHS=20]
    python experiments/learning_check.py [--data PATH] [--epochs 20] [--models amdcnn mrcar ...]
        [--time-limit-minutes N] [--full]
"""

import argparse
import copy
import json
import os
import platform
import sys
from datetime import date
from pathlib import Path

import pandas as pd
import yaml
from fer_keras.data.shared import fer2013_csv

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "experiments/results/learning_check.json"
SESSION_SETTINGS = ("time_limit_minutes",)  # may differ between a run's chunks; not part of the recipe checked


def comparable(recipe):
    """`recipe` without the per-session settings, for comparing a run's recipe with the current one."""
    recipe = copy.deepcopy(recipe)
    for key in SESSION_SETTINGS:
        recipe.get("training", {}).pop(key, None)
    return recipe


def recipe_differences(saved, current, prefix=""):
    """Dotted keys whose values differ between two recipe dicts."""
    keys = sorted(set(saved) | set(current))
    differences = []
    for key in keys:
        a, b = saved.get(key), current.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            differences += recipe_differences(a, b, f"{prefix}{key}.")
        elif a != b:
            differences.append(f"{prefix}{key}")
    return differences


def _resolved(path):
    path = Path(path)
    return (path if path.is_absolute() else ROOT / path).resolve()


def run_log(run):
    """The run's log.csv rows (none when it has not finished an epoch)."""
    return pd.read_csv(run / "log.csv") if (run / "log.csv").is_file() else pd.DataFrame()


def _rounded(row):
    return {k: round(float(v), 4) for k, v in row.items() if k != "epoch" and pd.notna(v)}


def warmup_epochs(recipe):
    """Epochs of the recipe's loss warm-up (margin or centre term ramped in): no verdict before they end."""
    return int((recipe.get("loss") or {}).get("warmup_epochs") or 0)


MONITORS = ("val_probabilities_accuracy", "val_accuracy")  # the fused output's PublicTest accuracy, or the only one


def _monitor(columns):
    return next((name for name in MONITORS if name in columns), MONITORS[-1])


def passes_epoch(accuracy, share, epoch, warmup, pass_accuracy):
    """The check's verdict on one epoch (1-based): past the warm-up, accurate enough, not one class."""
    return epoch > warmup and accuracy >= pass_accuracy and (share is None or share < 0.9)


def passed_at(log, warmup, pass_accuracy):
    """First epoch (1-based) of `log` (a run's log.csv rows) that passes the check, or None."""
    monitor = _monitor(log)
    shares = log["diag_most_predicted_share"] if "diag_most_predicted_share" in log else [None] * len(log)
    for epoch, (accuracy, share) in enumerate(zip(log[monitor], shares), start=1):
        if passes_epoch(float(accuracy), None if share is None or pd.isna(share) else float(share), epoch, warmup,
                        pass_accuracy):
            return epoch
    return None


def summary(run, epochs, pass_accuracy):
    """One model's entry from the first `epochs` rows of its run's log.csv."""
    saved = yaml.safe_load((run / "config.yaml").read_text())
    log = run_log(run).iloc[:epochs].reset_index(drop=True)
    monitor = _monitor(log)
    passed = passed_at(log, warmup_epochs(saved["recipe"]), pass_accuracy)
    best = int(log[monitor].idxmax())
    row, last = log.loc[best], log.iloc[-1]
    accuracy = float(row[monitor])
    share = float(row["diag_most_predicted_share"]) if "diag_most_predicted_share" in log else None
    metrics = json.loads((run / "metrics.json").read_text()) if (run / "metrics.json").is_file() else {}
    done = metrics.get("epochs_done")
    speed, train_size = metrics.get("train_images_per_second"), (metrics.get("samples") or {}).get("train")
    entry = {
        "run": str(run.relative_to(ROOT) if run.is_relative_to(ROOT) else run),
        "recipe": comparable(saved["recipe"]),
        "epochs": len(log),
        "publictest_accuracy": round(accuracy, 4),
        "best_epoch": best + 1,
        "most_predicted_share": None if share is None else round(share, 4),
        "at_best_epoch": _rounded(row),
        "last_epoch": _rounded(last),
        "publictest_accuracy_by_epoch": [round(float(v), 4) for v in log[monitor]],
        "seconds_per_epoch": round(train_size / speed, 1) if speed and train_size else None,  # its last chunk's
        "precision": metrics.get("precision"),
        "keras_backend": saved.get("keras_backend"),
        "hardware": metrics.get("hardware"),
        "passed_at_epoch": passed,
        "passes": passed is not None,
    }
    resumed = run / "resumed.txt"
    entry["trained_by"] = [saved.get("command"), *(resumed.read_text().splitlines() if resumed.is_file() else [])]
    if done == len(log):  # the run stopped at the check: its final evaluation is the kept epoch's
        entry["macro_f1"] = round(metrics["macro_f1"], 4)
    return entry


def _stop_check(epochs, warmup=0, pass_accuracy=None):
    """Stops training after epoch `epochs`, or (`pass_accuracy` given) at the first passing epoch. It
    runs after the run's own callbacks, so `logs` has the epoch's PublicTest accuracy and diagnostics."""
    import keras

    class StopCheck(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            accuracy = logs.get(_monitor(logs))
            passed = pass_accuracy is not None and accuracy is not None and passes_epoch(
                float(accuracy), logs.get("diag_most_predicted_share"), epoch + 1, warmup, pass_accuracy)
            if passed or epoch + 1 >= epochs:
                self.model.stop_training = True

    return StopCheck()


def require_current_recipe(run, model, data):
    """Exit (naming what differs) when `run` was trained on other data or with another recipe than
    the shipped <model>_fer2013 recipe as it is now (fer_keras/recipes/); the current recipe."""
    from fer_keras.recipes import load_recipe

    current = load_recipe(model, "fer2013")
    if (run / "config.yaml").is_file():
        saved = yaml.safe_load((run / "config.yaml").read_text())
        if data is not None and saved.get("data") and _resolved(saved["data"]) != _resolved(data):
            raise SystemExit(f"learning check: {run} was trained on {saved['data']}, not --data {data}")
        differences = recipe_differences(comparable(saved["recipe"]), comparable(current))
        if differences:
            raise SystemExit(f"learning check: {run} was trained with another recipe than "
                             f"fer_keras/recipes/{model}_fer2013.yaml (differs in {', '.join(differences)}); "
                             f"check the current recipe in another folder with --runs")
    return current


def check_model(model, data, epochs, runs, time_limit_minutes=None, pass_accuracy=0.45, full=False):
    """Read, resume or start `model`'s FER2013 run until it has `epochs` epochs, or (not `full`) until
    an epoch passes the check; its run directory."""
    run = runs / f"{model}_fer2013"
    current = require_current_recipe(run, model, data)
    resume = (run / "config.yaml").is_file()
    log = run_log(run)
    done, warmup = len(log), warmup_epochs(current)
    passed = None if full or not done else passed_at(log.iloc[:epochs], warmup, pass_accuracy)
    if done >= epochs or passed:
        print(f"learning check: {model}: reading the first {min(done, epochs)} of {done} epochs of {run}",
              file=sys.stderr)
        return run
    print(f"learning check: {model}: {'resuming' if resume else 'starting'} {run} at epoch {done + 1}, "
          f"stopping after epoch {epochs}{'' if full else ' or at the first that passes'}", file=sys.stderr, flush=True)
    from fer_keras.training import train

    train(None if resume else current, data=data, out=run, resume=resume, verbose=2,
          command=f"python experiments/learning_check.py --epochs {epochs} --models {model}{' --full' if full else ''}",
          callbacks=[_stop_check(epochs, warmup, None if full else pass_accuracy)], time_limit_minutes=time_limit_minutes)
    return run


def main(argv=None):
    from fer_keras.models import list_models

    models = list_models()  # every registered model, each with its <model>_fer2013 recipe
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=fer2013_csv())
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--models", nargs="+", choices=models, default=models)
    parser.add_argument("--pass-accuracy", type=float, default=0.45)
    parser.add_argument("--runs", type=Path, default=ROOT / "runs")
    parser.add_argument("--read-only", action="store_true", help="summarise the runs as they are; train nothing")
    parser.add_argument("--time-limit-minutes", type=float, default=None,
                        help="stop a model's training after the last epoch that fits (resume later)")
    parser.add_argument("--full", action="store_true",
                        help="train every epoch of the budget, not only until the first passing epoch")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if not args.read_only and not args.data.is_file():
        raise SystemExit(f"--data {args.data}: no such file (FER2013's fer2013.csv[.gz])")
    from fer_keras.run.write import write_json

    result = json.loads(args.out.read_text()) if args.out.is_file() else {}
    if result.get("epochs") not in (None, args.epochs):
        result = {}  # another budget: start a new check
    result.update({
        "what": (f"each model's FER2013 recipe (with its documented fixes): its run on the full Training split for "
                 f"at most {args.epochs} epochs, scored on PublicTest (single crop) after each; it passes at the first "
                 f"epoch after its loss warm-up with >= {args.pass_accuracy:.0%} and under 90% of faces in one class, "
                 f"and training stops there (no later epoch changes the verdict)"),
        "epochs": args.epochs,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
        "source": str(args.data),
    })
    models = result.setdefault("models", {})
    for model in args.models:
        run = args.runs / f"{model}_fer2013"
        if args.read_only:
            require_current_recipe(run, model, None)
        else:
            check_model(model, args.data, args.epochs, args.runs, args.time_limit_minutes, args.pass_accuracy, args.full)
        if run_log(run).empty:
            print(f"learning check: {model}: no epochs in {run} yet", file=sys.stderr)
            continue
        models[model] = summary(run, args.epochs, args.pass_accuracy)
        result["date"] = date.today().isoformat()
        result["command"] = " ".join(["python experiments/learning_check.py", *sys.argv[1:]])
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_json(result, args.out)
        entry = models[model]
        state = f"passes at epoch {entry['passed_at_epoch']}" if entry["passes"] else \
            "FAILS" if entry["epochs"] >= args.epochs else f"{entry['epochs']} of {args.epochs} epochs so far"
        print(f"learning check: {model}: PublicTest {entry['publictest_accuracy']:.4f} (epoch {entry['best_epoch']}), "
              f"most-predicted share {entry['most_predicted_share']}: {state}", flush=True)
    return result


if __name__ == "__main__":
    main()
