"""FERPlus as Microsoft's release lays it out: `FER2013Train/`, `FER2013Valid/`, `FER2013Test/`.

Each folder holds the PNGs (48x48 grayscale, written by Microsoft's generate_training_data.py
from Kaggle's fer2013.csv) and a header-less `label.csv`, one row per image:

    fer0000000.png,"(0, 0, 48, 48)",4,0,0,1,3,2,0,0,0,0

image name, face box "(left, top, right, bottom)" (Microsoft's Rect; the whole image in the
release) and ten vote counts in the order of `fer_keras.data.ferplus.VOTE_COLUMNS`. A row with an
empty image name is an image FERPlus removed (counted, not an error). `read_label_files` parses the
rows; `read_faces` decodes the PNGs of the rows kept, cropped to their face box (48x48).
Bad input raises `DatasetError` naming the label file and its row (1-based).
"""

import csv
import re
from pathlib import Path

import numpy as np

from fer_keras.data.files import decode_image
from fer_keras.errors import DatasetError

FOLDERS = {"Training": "FER2013Train", "PublicTest": "FER2013Valid", "PrivateTest": "FER2013Test"}  # Usage -> folder
LABEL_FILE = "label.csv"
FIELDS = 12  # image name, face box, ten votes
SIDE = 48
BOX = re.compile(r"\(?\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(-?\d+)\s*\)?")


def has_folders(root):
    """Whether `root` holds at least one of the release's split folders."""
    return any((Path(root) / folder).is_dir() for folder in FOLDERS.values())


def parse_box(text):
    """(left, top, right, bottom) of a face box "(l, t, r, b)"; DatasetError when it is not four
    integers with 0 <= left < right and 0 <= top < bottom."""
    match = BOX.fullmatch(text.strip())
    if match is None:
        raise DatasetError(f"face box {text!r} must be '(left, top, right, bottom)', four integers")
    left, top, right, bottom = (int(v) for v in match.groups())
    if not (0 <= left < right and 0 <= top < bottom):
        raise DatasetError(f"face box {text!r} is empty or negative (need 0 <= left < right, 0 <= top < bottom)")
    return left, top, right, bottom


def _parse_row(fields, vote_count):
    """(name, box, votes) of one label.csv row, (None, None, None) for a removed image."""
    if len(fields) != FIELDS:
        raise DatasetError(f"{len(fields)} fields, expected {FIELDS} (image name, face box, {vote_count} vote counts)")
    name = fields[0].strip()
    if not name:
        return None, None, None
    votes = [v.strip() for v in fields[2:]]
    wrong = [v for v in votes if not v.isdigit()]
    if wrong:
        raise DatasetError(f"votes must be non-negative integers, got {wrong[0]!r}")
    return name, parse_box(fields[1]), [int(v) for v in votes]


def read_label_file(path, usage, vote_count, skip_bad):
    """The rows of one split folder's label.csv as a dict of lists (see `read_label_files`)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file (each FERPlus split folder holds a label.csv: image name, "
                           "face box, 10 vote counts per row)")
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise DatasetError(f"{path}: cannot be read as a text file ({err})") from None
    rows = {"names": [], "boxes": [], "votes": [], "label_rows": [], "files": [], "usages": [], "removed": []}
    listed = skipped = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        listed += 1
        try:
            fields = next(csv.reader([line]))
            name, box, votes = _parse_row(fields, vote_count)
        except (DatasetError, csv.Error) as err:
            if not skip_bad:
                raise DatasetError(f"{path}: row {number}: {err}") from None
            skipped += 1
            continue
        rows["names"].append(name or "")
        rows["boxes"].append(box or (0, 0, 0, 0))
        rows["votes"].append(votes or [0] * vote_count)
        rows["label_rows"].append(number)
        rows["files"].append(str(path.parent / name) if name else "")
        rows["usages"].append(usage)
        rows["removed"].append(name is None)
    return rows, listed, skipped


def read_label_files(root, usages, vote_count, skip_bad=False):
    """The label.csv rows of the split folders for `usages` (Usage names, in order), concatenated:
    (rows, listed, skipped, missing). rows: dict of arrays "names", "boxes" (N, 4), "votes"
    (N, vote_count), "label_rows" (1-based), "files", "usages", "removed" (empty image name).
    listed: rows in the files; skipped: bad rows left out (skip_bad); missing: the folders absent."""
    root = Path(root)
    merged = {"names": [], "boxes": [], "votes": [], "label_rows": [], "files": [], "usages": [], "removed": []}
    listed = skipped = 0
    missing = []
    for usage in usages:
        folder = root / FOLDERS[usage]
        if not folder.is_dir():
            missing.append(folder)
            continue
        rows, count, bad = read_label_file(folder / LABEL_FILE, usage, vote_count, skip_bad)
        for key, values in rows.items():
            merged[key].extend(values)
        listed, skipped = listed + count, skipped + bad
    arrays = {
        "names": merged["names"],
        "boxes": np.asarray(merged["boxes"], np.int64).reshape(-1, 4),
        "votes": np.asarray(merged["votes"], np.int64).reshape(-1, vote_count),
        "label_rows": np.asarray(merged["label_rows"], np.int64),
        "files": merged["files"],
        "usages": np.asarray(merged["usages"], dtype="<U11"),
        "removed": np.asarray(merged["removed"], bool),
    }
    return arrays, listed, skipped, missing


def read_face(path, box):
    """uint8 (48, 48) face of PNG `path` inside `box` (resized with INTER_AREA when the box is not
    48x48); DatasetError when the file is missing or unreadable or the box leaves the image."""
    import cv2

    image = decode_image(path, 1)
    left, top, right, bottom = box
    height, width = image.shape[:2]
    if right > width or bottom > height:
        raise DatasetError(f"face box ({left}, {top}, {right}, {bottom}) leaves the {width}x{height} image {path}")
    face = image[top:bottom, left:right]
    if face.shape != (SIDE, SIDE):
        face = cv2.resize(face, (SIDE, SIDE), interpolation=cv2.INTER_AREA)
    return face


def read_faces(rows, indices, skip_bad=False):
    """(images (K, 48, 48, 1) uint8, good) for rows[indices]: `good` marks the indices whose image
    was read (all of them unless skip_bad left a bad one out)."""
    images, good = [], np.ones(len(indices), bool)
    for k, i in enumerate(indices):
        try:
            images.append(read_face(rows["files"][i], rows["boxes"][i]))
        except DatasetError as err:
            if not skip_bad:
                label_file = Path(rows["files"][i]).parent / LABEL_FILE
                raise DatasetError(f"{label_file}: row {rows['label_rows'][i]}: {err}") from None
            good[k] = False
    stacked = np.stack(images) if images else np.zeros((0, SIDE, SIDE), np.uint8)
    return stacked[..., None], good
