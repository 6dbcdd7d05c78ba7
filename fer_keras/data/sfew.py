"""SFEW 2.0 (Static Facial Expressions in the Wild, Dhall et al., EmotiW) in its release layout:

    <root>/Train/{Angry,Disgust,Fear,Happy,Neutral,Sad,Surprise}/*.png
    <root>/Val/<same class folders>/*.png
    <root>/Test/...        labelled (class folders) when present; EmotiW's own Test set is
                           unlabelled images, which are counted in extra["dropped"] and left out

Each split is read with the folder-per-class reader (class folders map onto the canonical classes
through its aliases). RGB by default.
"""

from pathlib import Path

import numpy as np

from fer_keras.data.folder import IMAGE_SUFFIXES, load_folder
from fer_keras.data.record import DatasetRecord
from fer_keras.errors import DatasetError

SPLITS = ("Train", "Val", "Test")


def load_sfew(path, split=None, channels=3, image_size=None, skip_bad=False):
    """SFEW 2.0 as a DatasetRecord.

    Args:
        path: the release's root (holding Train/ and Val/).
        split: "Train", "Val", "Test" (any case) or None for every labelled split present
            (per-sample split in `extra["splits"]`).
        channels: 3 (RGB) or 1 (grayscale).
        image_size: (H, W) to resize to; None requires all images to share one size.
        skip_bad: skip unreadable images (counted in `record.skipped`) instead of raising.
    """
    root = Path(path)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder (expected SFEW 2.0's Train/ and Val/ class folders)")
    present = {p.name.lower(): p for p in root.iterdir() if p.is_dir() and p.name.lower() in ("train", "val", "test")}
    canonical = {s.lower(): s for s in SPLITS}
    if split is not None:
        key = str(split).lower()
        if key not in canonical:
            raise DatasetError(f"sfew: split must be one of {', '.join(SPLITS)} or None, got {split!r}")
        if key not in present:
            raise DatasetError(f"{root / canonical[key]}: no such folder (expected SFEW 2.0's <split>/<class>/ images)")
        chosen = [key]
    else:
        chosen = [s for s in canonical if s in present]
        if not chosen:
            raise DatasetError(f"{root}: no Train/, Val/ or Test/ folder (expected SFEW 2.0's <split>/<class>/ images)")
    parts, dropped = [], {}
    for key in chosen:
        folder = present[key]
        if split is None and key == "test" and not any(p.is_dir() for p in folder.iterdir()):
            dropped["unlabelled_test"] = sum(1 for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
            continue
        part = load_folder(root, folder.name, channels, image_size, skip_bad, name="sfew")
        parts.append((canonical[key], part))
    if not parts:
        raise DatasetError(f"{root}: no labelled split (expected Train/ and Val/ with class folders)")
    first_name, first = parts[0]
    for name, part in parts[1:]:
        if part.class_names != first.class_names:
            raise DatasetError(f"{root}: {name}'s classes {part.class_names} differ from {first_name}'s {first.class_names}")
        if part.images.shape[1:] != first.images.shape[1:]:
            raise DatasetError(
                f"{root}: {name}'s images are {part.images.shape[1:3]}, {first_name}'s {first.images.shape[1:3]}; "
                "pass image_size=(H, W) to resize"
            )
    records = [part for _, part in parts]
    return DatasetRecord(
        name="sfew",
        images=np.concatenate([r.images for r in records]),
        labels=np.concatenate([r.labels for r in records]),
        class_names=records[0].class_names,
        source=str(root),
        split=None if split is None else canonical[chosen[0]],
        skipped=sum(r.skipped for r in records),
        extra={
            "paths": [p for r in records for p in r.extra["paths"]],
            "splits": np.concatenate([np.full(len(r), name) for name, r in parts]).astype(str),
            "dropped": dropped,
            "ignored": tuple(p for r in records for p in r.extra["ignored"]),
        },
    )
