"""ExpW (Expression in-the-Wild, Zhang et al. 2018) in its release layout:

    <root>/label/label.lst    one face per line: image_name face_id_in_image face_box_top
                              face_box_left face_box_right face_box_bottom face_box_confidence
                              expression_label (0..6 = angry, disgust, fear, happy, sad,
                              surprise, neutral: already the canonical order)
    <root>/image/origin/<image_name>   the web images (one may hold several faces)

Each face is cropped as image[top:bottom, left:right] and resized to `image_size`; each source
image is read once. ExpW has no official split.
"""

from collections import defaultdict, namedtuple
from pathlib import Path

import numpy as np

from fer_keras.data.files import parse_lines
from fer_keras.data.folder import read_image
from fer_keras.data.labels import CLASS_NAMES
from fer_keras.data.record import DatasetRecord
from fer_keras.errors import DatasetError

LABEL_FILE = Path("label") / "label.lst"
IMAGE_DIR = Path("image") / "origin"
FIELDS = "image_name face_id top left right bottom confidence label"
Face = namedtuple("Face", "line file face_id box confidence label")


def _parse(line):
    """(name, face id, (top, left, right, bottom), confidence, label) of one line; DatasetError(reason)."""
    fields = line.split()
    if len(fields) != 8:
        raise DatasetError(f"expected 8 fields '{FIELDS}', found {len(fields)}")
    try:
        face, top, left, right, bottom, label = (int(fields[i]) for i in (1, 2, 3, 4, 5, 7))
        confidence = float(fields[6])
    except ValueError:
        raise DatasetError(f"expected '{FIELDS}' with integer id, box and label, found {line.strip()!r}") from None
    if not 0 <= label < len(CLASS_NAMES):
        raise DatasetError(f"expression_label {label} is outside 0..6")
    if bottom <= top or right <= left:
        raise DatasetError(f"face box top={top} left={left} right={right} bottom={bottom} is empty")
    return fields[0], face, (top, left, right, bottom), confidence, label


def load_expw(path, split=None, image_size=(100, 100), channels=3, min_confidence=None, skip_bad=False):
    """ExpW's faces as a DatasetRecord.

    Args:
        path: the release's root (holding label/label.lst and image/origin/).
        split: must be None (ExpW has no official split).
        image_size: (H, W) every face crop is resized to.
        channels: 3 (RGB) or 1 (grayscale).
        min_confidence: leave out faces whose box confidence is below this (counted in
            `extra["dropped"]["low_confidence"]`).
        skip_bad: skip malformed lines, bad boxes and missing or unreadable images (counted in
            `record.skipped`) instead of raising.

    `extra`: "paths" (source image per face), "boxes" (N, 4) (top, left, right, bottom),
    "confidences" (N,), "face_ids" (N,), "dropped".
    """
    import cv2

    root = Path(path)
    if split is not None:
        raise DatasetError(f"expw: ExpW has no official split; pass split=None (got {split!r})")
    if image_size is None:
        raise DatasetError("expw: face boxes differ in size; pass image_size=(H, W) to resize the crops to")
    label_file = root / LABEL_FILE
    if not label_file.is_file():
        raise DatasetError(f"{label_file}: no such file (expected ExpW's {LABEL_FILE} under {root})")
    dropped, exists = {"low_confidence": 0}, {}

    def parse(number, line):
        name, face, box, confidence, label = _parse(line)
        if min_confidence is not None and confidence < min_confidence:
            dropped["low_confidence"] += 1
            return None
        file = root / IMAGE_DIR / name
        if name not in exists:
            exists[name] = file.is_file()
        if not exists[name]:
            raise DatasetError(f"names image {name}, but {file} does not exist")
        return Face(number, file, face, box, confidence, label)

    faces, skipped = parse_lines(label_file, parse, skip_bad)

    by_image = defaultdict(list)  # insertion-ordered: each source image read once
    for index, face in enumerate(faces):
        by_image[face.file].append(index)
    images = np.zeros((len(faces), *image_size, channels), np.uint8)
    ok = np.zeros(len(faces), bool)
    for file, indices in by_image.items():
        try:
            image = read_image(file, channels, None)
        except DatasetError as err:
            if not skip_bad:
                raise DatasetError(f"{label_file}: line {faces[indices[0]].line}: {err}") from None
            skipped += len(indices)
            continue
        height, width = image.shape[:2]
        for index in indices:
            number, (top, left, right, bottom) = faces[index].line, faces[index].box
            if top < 0 or left < 0 or bottom > height or right > width:
                if not skip_bad:
                    raise DatasetError(
                        f"{label_file}: line {number}: face box top={top} left={left} right={right} bottom={bottom} "
                        f"lies outside the {width}x{height} (width x height) image {file}"
                    )
                skipped += 1
                continue
            crop = image[top:bottom, left:right]
            crop = cv2.resize(crop, (image_size[1], image_size[0]), interpolation=cv2.INTER_AREA)
            images[index] = crop.reshape(*image_size, channels)
            ok[index] = True

    kept = [face for face, good in zip(faces, ok) if good]
    return DatasetRecord(
        name="expw",
        images=images if ok.all() else images[ok],
        labels=np.asarray([f.label for f in kept], np.int64),
        class_names=CLASS_NAMES,
        source=str(root),
        skipped=skipped,
        extra={
            "paths": [str(f.file) for f in kept],
            "boxes": np.asarray([f.box for f in kept], np.int64).reshape(-1, 4),
            "confidences": np.asarray([f.confidence for f in kept], np.float32),
            "face_ids": np.asarray([f.face_id for f in kept], np.int64),
            "dropped": dropped,
        },
    )
