"""The FER2013 sample that ships inside the package (fer_keras/assets/fer2013_sample.csv.gz).

A class-stratified random draw of Kaggle FER2013 Training rows, in the Kaggle CSV format, so
`make train` works on a fresh clone without the dataset (and goes through the real reader). It
holds Training rows only; training on it carves its validation part out of them (see
fer_keras.training). Regenerate with `make sample` (needs the full fer2013.csv).
"""

from pathlib import Path

import numpy as np

SAMPLE = Path(__file__).resolve().parents[1] / "assets" / "fer2013_sample.csv.gz"


def sample_path():
    """The bundled sample's path."""
    return SAMPLE


def make_sample(source, out=SAMPLE, per_class=80, seed=0):
    """Write `per_class` random Training rows of each class of `source` (fer2013.csv[.gz]) to `out`."""
    import pandas as pd

    from fer_keras.data.fer2013 import load_fer2013

    record = load_fer2013(source, split="Training")
    rng = np.random.default_rng(seed)
    chosen = np.sort(np.concatenate([
        rng.choice(np.flatnonzero(record.labels == label), per_class, replace=False)
        for label in range(len(record.class_names))
    ]))
    frame = pd.DataFrame({
        "emotion": record.labels[chosen],
        "pixels": [" ".join(map(str, image.ravel())) for image in record.images[chosen]],
        "Usage": "Training",
    })
    frame.to_csv(out, index=False, compression={"method": "gzip", "mtime": 0})
    return out


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Write the bundled FER2013 sample.")
    parser.add_argument("source", help="fer2013.csv or fer2013.csv.gz")
    parser.add_argument("--per-class", type=int, default=80)
    args = parser.parse_args()
    print(make_sample(args.source, per_class=args.per_class))
