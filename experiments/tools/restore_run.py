"""Rebuild a resumable run folder from a published run whose runs/ folder was lost.

    git show 4566633:fer_keras/assets/pretrained/amdcnn_fer2013.weights.npz > /tmp/amdcnn_e99.npz
    python experiments/tools/restore_run.py experiments/results/amdcnn_fer2013 --weights /tmp/amdcnn_e99.npz \\
        --out runs/amdcnn_fer2013
    fer-keras train --resume runs/amdcnn_fer2013 --set training.time_limit_minutes=N

A published run (experiments/tools/publish.py) keeps its recipe, log and command but not its training
state; its bundled weights (float16, `--bundle`) are the best epoch's. This writes `--out` as the
run stood at that best epoch: config.yaml as published, log.csv cut after the best epoch (so early
stopping resumes with the same best value and patience count), best.weights.h5 and backup/ holding
those weights (float16-rounded, loaded into the float32 variables) with a fresh optimizer state
(Adam's moments and step count are not published), and resumed.txt listing the earlier resume
commands and this one, so `publish.py` writes them all into command.txt, and metrics.json with the
training time of the epochs kept (the trainer adds to it). The epochs the lost run
trained after its best epoch are dropped from the log; the resumed run trains them again from the
restored state. With --last-weights (the last_epoch.weights.npz that `publish.py --last-epoch`
keeps) nothing is dropped: the log is kept whole and the run continues from its last epoch, so
early stopping's patience count carries over. It never writes into an existing folder.
"""

import argparse
import json
import os
import shlex
import shutil
import sys
from pathlib import Path

import yaml


def restore(published, weights, out, command, last_weights=None):
    import keras
    import pandas as pd

    from fer_keras.data.pipeline import steps_per_epoch
    from fer_keras.data.splits import load_splits
    from fer_keras.models.pretrained import assign_pretrained_file
    from fer_keras.hardware import precision_policy
    from fer_keras.recipes import Recipe
    from fer_keras.run.folder import MONITOR
    from fer_keras.training import build_training

    published, out = Path(published), Path(out)
    if out.exists():
        raise SystemExit(f"restore_run: {out} exists; choose another --out (nothing is overwritten)")
    saved = yaml.safe_load((published / "config.yaml").read_text())
    recipe = Recipe.of(saved["recipe"])
    log = pd.read_csv(published / "log.csv")
    best = int(log[MONITOR].idxmax())
    kept = best + 1  # epochs 0..best, the state the bundled (best-epoch) weights belong to
    if last_weights is not None:
        kept = len(log)  # the whole log: the run continues from its last epoch

    keras.utils.set_random_seed(recipe.training.seed)
    keras.mixed_precision.set_global_policy(precision_policy(recipe.training.mixed_precision))
    train_record, _, _, _ = load_splits(recipe.data, saved.get("data"))
    model, training = build_training(recipe, len(train_record.class_names), steps_per_epoch(train_record, recipe.pipeline))
    header = assign_pretrained_file(model, weights)
    if header["model"] != recipe.model.name:
        raise SystemExit(f"restore_run: {weights} holds {header['model']}, the run trained {recipe.model.name}")
    training.model.optimizer.build(training.model.trainable_variables)  # fresh moments, step 0
    best_weights = [keras.ops.convert_to_numpy(v) for v in training.model.weights]
    if last_weights is not None:
        last = assign_pretrained_file(model, last_weights)
        if last.get("model") != recipe.model.name or last.get("epochs") != kept:
            raise SystemExit(f"restore_run: {last_weights} holds {last.get('model')} after {last.get('epochs')} epochs; "
                             f"{published}/log.csv has {kept} epochs of {recipe.model.name}")

    staging = out.with_name(f".{out.name}.restoring")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "backup").mkdir(parents=True)
    shutil.copyfile(published / "config.yaml", staging / "config.yaml")
    log.iloc[:kept].to_csv(staging / "log.csv", index=False)
    training.model.save_weights(staging / "backup" / "latest.weights.h5")  # the last epoch's (or the best's)
    latest = [keras.ops.convert_to_numpy(v) for v in training.model.weights]
    for variable, value in zip(training.model.weights, best_weights):
        variable.assign(value)
    training.model.save_weights(staging / "best.weights.h5")
    for variable, value in zip(training.model.weights, latest):
        variable.assign(value)
    (staging / "backup" / "training_metadata.json").write_text(json.dumps({"epoch": kept, "batch": 0}))
    metrics = json.loads((published / "metrics.json").read_text())  # the trainer adds its time to train_seconds_total
    total = metrics.get("train_seconds_total", metrics.get("train_seconds", 0.0))
    metrics.update(epochs_done=kept, train_seconds_total=round(total * kept / len(log), 1))  # the kept epochs' share
    (staging / "metrics.json").write_text(json.dumps(metrics, indent=2))
    earlier = (published / "command.txt").read_text().splitlines()[1:]  # the first line is config.yaml's
    (staging / "resumed.txt").write_text("".join(f"{line}\n" for line in [*earlier, command] if line.strip()))
    os.replace(staging, out)
    print(f"restored {out}: {kept} epochs, best {MONITOR} {log[MONITOR].iloc[best]:.4f} at epoch {best + 1}; "
          f"continue with: fer-keras train --resume {out}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("published", help="experiments/results/<name>: a run published by experiments/tools/publish.py")
    parser.add_argument("--weights", required=True, help="its best epoch's weights (a pretrained .weights.npz)")
    parser.add_argument("--out", required=True, help="the run folder to write (must not exist)")
    parser.add_argument("--last-weights", help="its last epoch's weights (last_epoch.weights.npz from publish.py --last-epoch): "
                                               "continue after the last epoch instead of the best")
    args = parser.parse_args(argv)
    restore(args.published, args.weights, args.out, shlex.join(["python", "experiments/tools/restore_run.py", *(argv or sys.argv[1:])]),
            args.last_weights)


if __name__ == "__main__":
    main()
