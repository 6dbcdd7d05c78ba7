"""JAFFE (Japanese Female Facial Expression, Lyons et al. 1998) as released: one folder of 213
256x256 grayscale TIFF images named `KA.AN1.39.tiff` (subject KA; expression code AN, DI, FE,
HA, NE, SA or SU followed by a repetition digit; image number), next to non-image files such
as README, which are ignored (as are hidden files such as macOS's `._*`). The subject goes into
`record.subjects`; JAFFE has no official split.

JAFFE's images are head-and-shoulders portraits, not face crops: resized whole to a 48x48 input,
the face fills a fraction of it and a model trained on FER2013's face crops scores near chance.
The reader therefore finds, aligns and crops each face (`face_crop=True`, the default), as the
papers do (MrCAR: "MTCNN network was used to detect and align faces", JAFFE cropped to 48x48;
LBAN-IL aligns with MTCNN): MTCNN's five landmarks, cached on disk beside the folder (or under
$FER_KERAS_CACHE / ~/.cache/fer_keras when it is read-only), are fitted onto
`fer_keras.data.faces.TEMPLATE` by scale and translation, giving FACE_SIDE x FACE_SIDE crops framed
as FER2013's faces are, the geometry `fer-keras predict` uses for models trained on FER2013
(`fer_keras.data.faces.crop.crop_faces`). Every image is kept; one without a face found is
cropped where the others' faces sit and counted in `extra["faces"]` (MTCNN finds all 213).
"""

import re
from pathlib import Path

import numpy as np

from fer_keras.data.files import columns, parse_each
from fer_keras.data.folder import IMAGE_SUFFIXES, canonical_label, image_record
from fer_keras.errors import DatasetError

CODES = ("AN", "DI", "FE", "HA", "NE", "SA", "SU")
# JAFFE's images are portraits, not face crops: `load_jaffe` crops their faces (face_crop=True) to
# this side by default, FER2013's (JAFFE's entry in fer_keras.data.datasets reads it from here).
FACE_SIDE = 48
NAME = re.compile(r"([A-Za-z]+)\.([A-Za-z]+)\d+\.\d+")


def _parse(file):
    """(file, canonical label, subject) from a JAFFE file name; DatasetError naming the file if bad."""
    match = NAME.fullmatch(file.stem)
    if match is None:
        raise DatasetError(f"{file}: name is not JAFFE's <subject>.<code><n>.<number> (e.g. KA.AN1.39.tiff)")
    subject, code = match.group(1).upper(), match.group(2).upper()
    if code not in CODES:
        raise DatasetError(f"{file}: unknown expression code {code!r} (expected one of {', '.join(CODES)})")
    return file, canonical_label(code), subject


def load_jaffe(path, split=None, channels=1, image_size=None, skip_bad=False, face_crop=True, face_size=None):
    """JAFFE as a DatasetRecord.

    Args:
        path: the folder holding the .tiff files.
        split: must be None (JAFFE has no official split; build folds from `record.subjects`).
        channels: 1 (grayscale) or 3.
        image_size: (H, W) to resize the images to: the face crops with `face_crop`, else the
            256x256 originals.
        skip_bad: skip images whose names do not parse and unreadable images (counted in
            `record.skipped`) instead of raising.
        face_crop: detect, align and crop each face (see the module's notes); False gives the
            whole portraits.
        face_size: the face crops' side; None: the side of `image_size` (its larger one) when
            given, else FACE_SIDE (48, FER2013's, so that models trained on FER2013 see faces
            framed and sized as they were trained on).

    With `face_crop`, `extra["face_found"]` says for each image whether MTCNN found its face and
    `extra["faces"]` counts them ("found", "fallback", ...; see `crop_faces`).
    """
    root = Path(path)
    if split is not None:
        raise DatasetError(f"jaffe: JAFFE has no official split; pass split=None (got {split!r}), fold by subjects")
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder (expected JAFFE's folder of KA.AN1.39.tiff style images)")
    candidates = sorted(
        p for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )
    if not candidates:
        raise DatasetError(f"{root}: no images found (expected JAFFE's KA.AN1.39.tiff style files)")
    rows, skipped = parse_each(candidates, _parse, skip_bad)
    files, labels, subjects = columns(rows, 3)
    record = image_record("jaffe", files, labels, channels, None if face_crop else image_size, skip_bad,
                          skipped=skipped, subjects=subjects, source=str(root))
    if not face_crop:
        return record
    return _face_crops(record, image_size, face_size)


def _face_crops(record, image_size=None, face_size=None):
    """`record`'s portraits as aligned face crops of side `face_size` (None: the larger side of
    `image_size`, else FACE_SIDE), then resized to `image_size` when given and different."""
    import cv2

    from fer_keras.data.faces.checks import _check_size
    from fer_keras.data.faces.crop import crop_faces

    side = _check_size(face_size if face_size is not None else max(image_size) if image_size else FACE_SIDE, "face_size")
    record = crop_faces(record, side)
    if image_size is not None and tuple(image_size) != (side, side):
        height, width = image_size
        channels = record.images.shape[-1]
        resized = [cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA).reshape(height, width, channels)
                   for image in record.images]
        record.images = np.stack(resized) if resized else np.zeros((0, height, width, channels), np.uint8)
    return record
