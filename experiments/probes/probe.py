"""Short experiments at equal budget: one recipe, several variants (recipe overrides), trained on the
same seeded random subset of FER2013 Training for the same epochs and scored on the same random
subset of PublicTest. Each probe script (experiments/probes/*_probe.py) names its variants and calls
`main`; the result is one JSON file in experiments/results/ with, per variant, every epoch's log
(training and PublicTest accuracy of the fused output and of each head, each loss term) and the
kept epoch's accuracy, macro F1 and most-predicted-class share.
"""

import argparse
import json
import os
import platform
import shlex
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from fer_keras.data.fer2013 import COLUMNS
from fer_keras.data.shared import fer2013_csv
from fer_keras.hardware import gpu_available
from fer_keras.recipes import load_recipe
from fer_keras.training import train

DEFAULT_CSV = fer2013_csv()
RESULTS = Path(__file__).resolve().parents[1] / "results"


def subset_csv(source, train_rows, val_rows, seed, path):
    """A FER2013 CSV holding `train_rows` Training and `val_rows` PublicTest rows, drawn at random
    (so the class balance is FER2013's own)."""
    frame = pd.read_csv(source, usecols=list(COLUMNS))
    rng = np.random.default_rng(seed)
    parts = []
    for usage, rows in (("Training", train_rows), ("PublicTest", val_rows)):
        pool = frame.index[frame["Usage"] == usage]
        if len(pool) < rows:
            raise SystemExit(f"{source}: asked for {rows} {usage} rows, the file has {len(pool)}")
        parts.append(frame.loc[np.sort(rng.choice(pool, rows, replace=False))])
    pd.concat(parts).to_csv(path, index=False)


def _rounded_log(log):
    return {column: [round(float(v), 4) for v in log[column]] for column in log.columns if column != "epoch"}


def _jit():
    """TensorFlow trains faster without XLA on this CPU; JAX (the GPU machine's backend) needs jit."""
    import keras

    return "false" if keras.backend.backend() == "tensorflow" else "auto"


def run_variant(recipe_name, overrides, csv, epochs, run, extra=()):
    """Train one variant into `run`; its summary dict."""
    # the probe's fixed settings first, so that a variant may override them (e.g. mixed_precision)
    recipe = load_recipe(f"{recipe_name}_fer2013", None, [f"training.epochs={epochs}", f"training.jit_compile={_jit()}",
                                                  "training.mixed_precision=false", "training.early_stopping_patience=null",
                                                  *overrides, *extra])
    start = time.perf_counter()
    metrics = train(recipe, data=csv, out=run, verbose=2)
    counts = np.asarray(metrics["validation"]["single"]["confusion_matrix"]).sum(axis=0)
    return {
        "overrides": list(overrides),
        "log": _rounded_log(pd.read_csv(run / "log.csv")),
        "kept_epoch_validation_accuracy": round(metrics["validation"]["single"]["accuracy"], 4),
        "kept_epoch_macro_f1": round(metrics["validation"]["single"]["macro_f1"], 4),
        "kept_epoch_most_predicted_share": round(float(counts.max() / counts.sum()), 4),
        "seconds": round(time.perf_counter() - start, 1),
    }


def main(recipe_name, variants, description, out_name, defaults=(4000, 1000, 4), argv=None, command=None):
    """Parse the probe's command line, run every variant at the same budget, write the JSON (`command`:
    the command line recorded in it, when not `python experiments/<out_name>.py` and its arguments)."""
    train_rows, val_rows, epochs = defaults
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--train-rows", type=int, default=train_rows)
    parser.add_argument("--val-rows", type=int, default=val_rows)
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", action="append", default=[], help="run only the variants with this name (repeatable)")
    parser.add_argument("--out", type=Path, default=RESULTS / f"{out_name}.json")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        raise SystemExit(f"--data {args.data}: no such file (FER2013's fer2013.csv[.gz])")
    unknown = sorted(set(args.only) - set(variants))
    if unknown:
        raise SystemExit(f"--only {unknown[0]!r}: no such variant; variants: {', '.join(variants)}")
    import keras

    batch_size = load_recipe(f"{recipe_name}_fer2013")["pipeline"]["batch_size"]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "fer2013_subset.csv"
        subset_csv(args.data, args.train_rows, args.val_rows, args.seed, csv)
        for index, (name, overrides) in enumerate(variants.items()):
            if args.only and name not in args.only:
                continue
            print(f"== {name}", file=sys.stderr, flush=True)
            results[name] = run_variant(recipe_name, overrides, csv, args.epochs, Path(tmp) / f"variant{index}")
    what = (f"{description} fer_keras/recipes/{recipe_name}_fer2013.yaml with each variant's overrides, trained on "
            f"{args.train_rows} random FER2013 Training rows for {args.epochs} epochs "
            f"({-(-args.train_rows // batch_size) * args.epochs} steps of {batch_size}), "
            f"selected and scored on {args.val_rows} random PublicTest rows")
    earlier = json.loads(args.out.read_text()) if args.out.is_file() else {}
    budget = what[len(description):]  # the recipe, rows and epochs: a reworded description keeps earlier variants
    if earlier.get("what", "").endswith(budget) and earlier.get("seed") == args.seed:  # --only: keep the other variants
        results = {**{k: v for k, v in earlier["variants"].items() if k in variants}, **results}
        results = {name: results[name] for name in variants if name in results}
    result = {
        "what": what,
        "source": str(args.data),
        "seed": args.seed,
        "variants": results,
        "machine": (f"{platform.machine()}, {os.cpu_count()} CPU cores, {'GPU, ' if gpu_available() else ''}"
                    f"float32 unless a variant sets training.mixed_precision, "
                    f"{keras.backend.backend()} backend, {'no XLA' if _jit() == 'false' else 'jit'}"),
        "command": command or shlex.join(["python", f"experiments/probes/{out_name}.py", *sys.argv[1:]]),
        "date": date.today().isoformat(),
    }
    from fer_keras.run.write import write_json

    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(result, args.out)
    for name, summary in results.items():
        print(f"{name}: PublicTest {summary['kept_epoch_validation_accuracy']:.4f}, macro F1 "
              f"{summary['kept_epoch_macro_f1']:.4f}, most-predicted share {summary['kept_epoch_most_predicted_share']:.3f}")
    return result
