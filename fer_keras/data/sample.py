"""The FER2013 sample that ships inside the package (fer_keras/assets/fer2013_sample.csv.gz).

A class-stratified random draw of Kaggle FER2013 Training rows, in the Kaggle CSV format, so
`make train` works on a fresh clone without the dataset (and goes through the real reader). It
holds Training rows only; training on it carves its validation part out of them (see
fer_keras.training). Regenerate with `make sample` (needs the full fer2013.csv).

`faces_on_canvas` builds test photos from dataset faces where no real photos are at hand (the
tests and benchmarks/inference.py use it).
"""

from pathlib import Path

import numpy as np

SAMPLE = Path(__file__).resolve().parents[1] / "assets" / "fer2013_sample.csv.gz"


def sample_path():
    """The bundled sample's path."""
    return SAMPLE


def faces_on_canvas(faces, side=192, margin=64, gray=128):
    """Faces ((K, h, w) uint8 grayscale) upscaled to side x side (cubic), side by side on a gray
    canvas: the (H, W, 3) uint8 RGB photo and each face's box (x1, y1, x2, y2)."""
    import cv2

    canvas = np.full((side + 2 * margin, len(faces) * (side + margin) + margin, 3), gray, np.uint8)
    boxes = []
    for k, face in enumerate(faces):
        x = margin + k * (side + margin)
        canvas[margin : margin + side, x : x + side] = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)[..., None]
        boxes.append((x, margin, x + side, margin + side))
    return canvas, boxes


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

