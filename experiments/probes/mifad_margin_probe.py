"""Why MIFAD-Net's FER2013 run predicts only "happy": a short probe of its angular-distance loss.

The paper's loss (MIFAD-Net eq. 9) is ArcFace, but the paper gives neither s nor m; the recipe
uses s = 30, m = 0.5 (ArcFace's values). Its first three FER2013 epochs predicted the majority
class for every PublicTest face. This trains the same model and recipe (Adam 1e-3, batch 16,
horizontal flips) on a seeded random subset of FER2013 Training for a few epochs with the margin
(or the whole loss: plain softmax) changed and nothing else, and scores a seeded random subset of
PublicTest:

    python experiments/probes/mifad_margin_probe.py [--data PATH] [--train-rows 2000] [--val-rows 600] [--epochs 3]

Writes experiments/results/mifad_margin_probe.json: per variant, each epoch's training and
validation accuracy and the share of validation faces given the most-predicted class.
"""

import argparse
import json
import os
import platform
import sys
import tempfile
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from fer_keras.recipes import load_recipe
from fer_keras.training import train
from probe import DEFAULT_CSV, subset_csv

VARIANTS = {
    "angular s=30 m=0.5 (the recipe)": [],
    "angular s=30 m=0.2": ["loss.margin=0.2"],
    "angular s=30 m=0 (normalised softmax)": ["loss.margin=0.0"],
    "softmax (Table 3's baseline)": ["loss={name: softmax}"],
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--train-rows", type=int, default=2000)
    parser.add_argument("--val-rows", type=int, default=600)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "results/mifad_margin_probe.json")
    args = parser.parse_args()
    if not args.data.is_file():
        raise SystemExit(f"--data {args.data}: no such file (FER2013's fer2013.csv[.gz])")
    import keras

    results, batch_size = {}, load_recipe("mifad_net", "fer2013")["pipeline"]["batch_size"]
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "fer2013_subset.csv"
        subset_csv(args.data, args.train_rows, args.val_rows, args.seed, csv)
        for name, overrides in VARIANTS.items():
            print(f"== {name}", file=sys.stderr, flush=True)
            recipe = load_recipe("mifad_net", "fer2013", overrides + [
                f"training.epochs={args.epochs}", "training.jit_compile=false", "training.mixed_precision=false"])
            run = Path(tmp) / name.split(" (")[0].replace(" ", "_")
            metrics = train(recipe, data=csv, out=run, verbose=2)
            log = pd.read_csv(run / "log.csv")
            counts = np.asarray(metrics["validation"]["single"]["confusion_matrix"]).sum(axis=0)
            results[name] = {
                "overrides": overrides,
                "train_accuracy": [round(float(a), 4) for a in log["probabilities_accuracy"]],
                "validation_accuracy": [round(float(a), 4) for a in log["val_probabilities_accuracy"]],
                "kept_epoch_validation_accuracy": round(metrics["validation"]["single"]["accuracy"], 4),
                "kept_epoch_macro_f1": round(metrics["validation"]["single"]["macro_f1"], 4),
                "kept_epoch_most_predicted_share": round(float(counts.max() / counts.sum()), 4),
            }
    result = {
        "what": ("MIFAD-Net, fer_keras/recipes/mifad_net_fer2013.yaml with only the loss changed, trained on "
                 f"{args.train_rows} random FER2013 Training rows for {args.epochs} epochs "
                 f"({-(-args.train_rows // batch_size) * args.epochs} steps of {batch_size}), scored on {args.val_rows} random PublicTest rows"),
        "source": str(args.data),
        "seed": args.seed,
        "variants": results,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, float32, {keras.backend.backend()} backend, no XLA",
        "command": " ".join(["python experiments/probes/mifad_margin_probe.py"] + sys.argv[1:]),
        "date": date.today().isoformat(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
