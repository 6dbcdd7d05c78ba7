"""RAF-DB basic (Real-world Affective Faces, Li et al. 2017) in its release layout:

    <root>/EmoLabel/list_patition_label.txt      lines "train_00001.jpg 5" ("patition" sic)
    <root>/Image/aligned/train_00001_aligned.jpg   100x100 RGB aligned faces (12,271 train, 3,068 test)
    <root>/Image/original/train_00001.jpg         the original images (various sizes)

Labels are 1-based in RAF's order 1 surprise, 2 fear, 3 disgust, 4 happiness, 5 sadness,
6 anger, 7 neutral and are mapped to the canonical order (1 -> surprise = 5, 6 -> angry = 0, ...).
The split is the file name's prefix (train_ / test_).
"""

import re
from pathlib import Path

from fer_keras.data.files import columns, parse_lines
from fer_keras.data.folder import canonical_label, image_record
from fer_keras.errors import DatasetError

RAF_ORDER = ("surprise", "fear", "disgust", "happiness", "sadness", "anger", "neutral")
RAF_TO_CANONICAL = {str(i + 1): canonical_label(name) for i, name in enumerate(RAF_ORDER)}
LABEL_FILE = Path("EmoLabel") / "list_patition_label.txt"
NAME = re.compile(r"(train|test)_\d+\.jpg")


def _parse(line, root, images):
    """(image path, canonical label, split) of one label-file line; DatasetError(reason) if bad."""
    fields = line.split()
    if len(fields) != 2 or not NAME.fullmatch(fields[0]):
        raise DatasetError(f"expected '<train|test>_<number>.jpg <label 1..7>', found {line.strip()!r}")
    name, label = fields
    if label not in RAF_TO_CANONICAL:
        raise DatasetError(f"label {label!r} is outside 1..7 (RAF order: {', '.join(RAF_ORDER)})")
    stem = name[: -len(".jpg")]
    path = root / "Image" / images / (f"{stem}_aligned.jpg" if images == "aligned" else name)
    return path, RAF_TO_CANONICAL[label], name.split("_")[0]


def load_rafdb(path, split=None, images="aligned", channels=3, image_size=None, skip_bad=False):
    """RAF-DB's basic-emotion subset as a DatasetRecord.

    Args:
        path: the release's root (holding EmoLabel/ and Image/).
        split: "train", "test" or None for both (per-sample split in `extra["splits"]`).
        images: "aligned" (100x100 faces) or "original" (then `image_size` is required).
        channels: 3 (RGB) or 1 (grayscale).
        image_size: (H, W) to resize to.
        skip_bad: skip malformed lines, missing and unreadable images (counted in `record.skipped`).
    """
    root = Path(path)
    if split not in (None, "train", "test"):
        raise DatasetError(f"rafdb: split must be 'train', 'test' or None, got {split!r}")
    if images not in ("aligned", "original"):
        raise DatasetError(f"rafdb: images must be 'aligned' or 'original', got {images!r}")
    if images == "original" and image_size is None:
        raise DatasetError("rafdb: the original images differ in size; pass image_size=(H, W) with images='original'")
    label_file = root / LABEL_FILE
    if not label_file.is_file():
        raise DatasetError(f"{label_file}: no such file (expected RAF-DB basic's {LABEL_FILE} under {root})")

    def parse(number, line):
        file, label, line_split = _parse(line, root, images)
        if split is not None and line_split != split:
            return None
        if not file.is_file():
            raise DatasetError(f"names {line.split()[0]}, but {file} does not exist")
        return file, label, line_split

    rows, skipped = parse_lines(label_file, parse, skip_bad)
    files, labels, splits = columns(rows, 3)
    return image_record("rafdb", files, labels, channels, image_size, skip_bad, skipped=skipped,
                        per_sample={"splits": splits}, source=str(root), split=split)
