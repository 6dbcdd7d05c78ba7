"""k-fold cross-validation of a recipe: every fold a run folder, the folds' test scores in one file.

    from fer_keras.crossval import cross_validate
    summary = cross_validate(load_recipe("amdcnn_ckplus"), data="CK+48", out="runs/amdcnn_ckplus_cv")

`out/fold<i>/` is fold i's ordinary run folder (`fer_keras.training.train` of
`recipe.with_fold(i)`, data.folds.fold = i: trained on k - 2 folds, selected on a validation fold
carved from them, scored once on the held-out fold; `fer_keras.data.splits.fold_splits`). Calling
again with the same recipe continues: finished folds are kept, an interrupted one resumes, and the
rest start; a different recipe is refused. After every fold `out/crossval.json` is rewritten
(atomically): each finished fold's held-out accuracy, and their mean and standard deviation.
"""

import json
import math
import sys
import time
from pathlib import Path

import yaml

from fer_keras.errors import ArgumentError
from fer_keras.recipes.schema import Recipe
from fer_keras.run.folder import read_log

RECIPE_FILE = "recipe.yaml"
SUMMARY_FILE = "crossval.json"


def _folds_of(recipe):
    """The number of folds of the Recipe's data.folds; an ArgumentError when it has none."""
    if recipe.data.folds is None:
        raise ArgumentError("recipe", problem="data.folds is not set: cross-validation needs a recipe with folds "
                            "(e.g. amdcnn_ckplus)")
    return recipe.data.folds.k


def _comparable(plain):
    """A plain recipe (as out/recipe.yaml holds it) without the fold index and the session's time
    limit (what must not change)."""
    import copy

    plain = copy.deepcopy(plain)
    plain["data"]["folds"]["fold"] = 0
    plain["training"].pop("time_limit_minutes", None)
    return plain


def fold_state(run, recipe):
    """"new" (no run yet), "partial" (started; resume it) or "done" (all epochs, or early
    stopping's patience used up with no better epoch) for the fold run folder `run` of `recipe`
    (a Recipe or its dict)."""
    from fer_keras.run.folder import MONITOR

    training = Recipe.of(recipe).training
    run = Path(run)
    if not (run / "config.yaml").is_file():
        return "new"
    if not (run / "metrics.json").is_file():
        return "partial"
    frame = read_log(run)
    epochs = len(frame) if frame is not None else 0
    if epochs >= training.epochs:
        return "done"
    patience = training.early_stopping_patience
    if patience and frame is not None and epochs - 1 - int(frame[MONITOR].idxmax()) >= patience:
        return "done"
    return "partial"


def fold_result(run):
    """One finished fold's row: its held-out test accuracy and how it got there."""
    from fer_keras.run.folder import MONITOR

    metrics = json.loads((Path(run) / "metrics.json").read_text())
    frame = read_log(Path(run))
    test = metrics.get("test") or {}
    return {
        "accuracy": test.get("accuracy"),
        "macro_f1": test.get("macro_f1"),
        "validation_accuracy": metrics.get("accuracy"),
        "best_epoch": None if frame is None else int(frame[MONITOR].idxmax()) + 1,
        "epochs_done": metrics.get("epochs_done"),
        "train_seconds_total": metrics.get("train_seconds_total"),
        "samples": metrics.get("samples"),
        "protocol": metrics.get("protocol"),
    }


def summarize(out, recipe):
    """Write and return out/crossval.json: the finished folds' rows, mean and standard deviation
    (sample, ddof=1; 0 for one fold) of their held-out accuracies (`recipe`: a Recipe or its dict)."""
    from fer_keras.run.write import write_json

    recipe, out = Recipe.of(recipe), Path(out)
    k = _folds_of(recipe)
    rows = []
    for index in range(k):
        run = out / f"fold{index}"
        state = fold_state(run, recipe)
        if state == "done":
            rows.append({"fold": index, "state": state, **fold_result(run)})
        elif state == "partial":
            frame = read_log(run)
            rows.append({"fold": index, "state": state, "epochs_done": 0 if frame is None else len(frame)})
    scores = [row["accuracy"] for row in rows if row["state"] == "done" and row["accuracy"] is not None]
    mean = sum(scores) / len(scores) if scores else None
    std = math.sqrt(sum((s - mean) ** 2 for s in scores) / (len(scores) - 1)) if len(scores) > 1 else None  # undefined for one fold
    summary = {
        "model": recipe.model.name,
        "dataset": recipe.data.dataset,
        "protocol": recipe.data.folds.protocol,
        "expand": recipe.data.expand,
        "folds_total": k,
        "folds_run": len(scores),
        "accuracy_mean": mean,
        "accuracy_std": std,
        "std": "sample standard deviation (ddof=1) over the finished folds' held-out accuracies",
        "epochs": recipe.training.epochs,
        "train_seconds_total": round(sum(r.get("train_seconds_total") or 0 for r in rows if r["state"] == "done"), 1),
        "folds": rows,
    }
    write_json(summary, out / SUMMARY_FILE)
    return summary


def _check_recipe(out, recipe):
    """Keep the first call's recipe (the plain dict) in out/recipe.yaml and refuse a different one later."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / RECIPE_FILE
    if path.is_file():
        saved = yaml.safe_load(path.read_text())
        if _comparable(saved) != _comparable(recipe):
            raise ArgumentError("out", out, f"holds a cross-validation of another recipe ({path}); continue it with "
                                "the same recipe or choose another `out`")
        return
    temporary = out / f".{RECIPE_FILE}.tmp"
    temporary.write_text(yaml.safe_dump(_comparable(recipe), sort_keys=False))
    temporary.replace(path)


def cross_validate(recipe, data, out, folds=None, time_limit_minutes=None, verbose="auto", command=None):
    """Train fold after fold of `recipe` (a Recipe or its dict, with data.folds; folds: the indices
    to run, default all) into out/fold<i>, continuing what an earlier call left; stop starting or
    continuing folds when `time_limit_minutes` of this call have passed (a fold in progress stops at
    its epoch's end and resumes next call). Returns `summarize`'s dict."""
    from fer_keras.training import train

    recipe, out = Recipe.of(recipe), Path(out)
    k = _folds_of(recipe)
    indices = list(range(k)) if folds is None else list(folds)
    bad = [i for i in indices if not isinstance(i, int) or not 0 <= i < k]
    if bad:
        raise ArgumentError("folds", folds, f"fold indices must be in 0..{k - 1}")
    _check_recipe(out, recipe.to_dict())
    start = time.perf_counter()
    for index in indices:
        run = out / f"fold{index}"
        state = fold_state(run, recipe)
        if state == "done":
            continue
        left = None if time_limit_minutes is None else time_limit_minutes - (time.perf_counter() - start) / 60
        if left is not None and left <= 0:
            break
        print(f"fer-keras crossval: fold {index} of {k} ({'resuming' if state == 'partial' else 'starting'}) in {run}",
              file=sys.stderr)
        if state == "partial":
            train(None, out=run, resume=True, verbose=verbose, command=command, time_limit_minutes=left)
        else:
            train(recipe.with_fold(index), data=data, out=run, verbose=verbose, command=command,
                  time_limit_minutes=left)
        summary = summarize(out, recipe)
        done = fold_state(run, recipe) == "done"
        print(f"fer-keras crossval: fold {index} {'done' if done else 'stopped at the time limit'}; "
              f"{summary['folds_run']} of {k} folds done, mean held-out accuracy {summary['accuracy_mean']}",
              file=sys.stderr)
        if not done:
            break
    return summarize(out, recipe)
