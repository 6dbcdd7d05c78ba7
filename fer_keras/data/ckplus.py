"""CK+ (Extended Cohn-Kanade, Lucey et al. 2010) in the CK+48 release's layout:

    <root>/{anger,contempt,disgust,fear,happy,sadness,surprise}/S010_004_00000017.png

48x48 grayscale frames named subject_sequence_frame. Folder names map to the canonical classes
through the folder reader's aliases (anger -> angry, sadness -> sad, ...); the subject (`S010`)
goes into `record.subjects` for subject-independent folds. CK+ has no official split.
"""

import re
from pathlib import Path

from fer_keras.data.files import columns, parse_each
from fer_keras.data.folder import canonical_label, class_folders, folder_images, image_record, report_ignored
from fer_keras.data.labels import CLASS_NAMES, CLASS_NAMES_CONTEMPT
from fer_keras.errors import DatasetError

FOLDERS = ("anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise")
NAME = re.compile(r"(S\d+)_\d+_\d+")
CONTEMPT = CLASS_NAMES_CONTEMPT.index("contempt")
# CK+'s seven expressions (no neutral): the canonical order with contempt where neutral would be.
CKPLUS_CLASSES = tuple(name for name in CLASS_NAMES if name != "neutral") + ("contempt",)


def _parse(item):
    """(file, label, subject) of an (image file, its folder's label); DatasetError naming the file
    if its name is not CK+'s."""
    file, label = item
    match = NAME.fullmatch(file.stem)
    if match is None:
        raise DatasetError(f"{file}: name is not CK+'s <subject>_<sequence>_<frame>, e.g. S010_004_00000017.png")
    return file, label, match.group(1)


def load_ckplus(path, split=None, contempt=False, channels=1, image_size=None, skip_bad=False):
    """CK+ as a DatasetRecord.

    Args:
        path: the folder holding the emotion folders.
        split: must be None (CK+ has no official split; build folds from `record.subjects`).
        contempt: keep contempt images: the record then has CK+'s own seven classes, the canonical
            six CK+ holds (no neutral) in their order then "contempt" as label 6 (`CKPLUS_CLASSES`;
            AMDCNN's and MrCAR's "7 expressions", 981 images). False drops them, counted in
            `extra["dropped"]["contempt"]`, and keeps the canonical seven (neutral empty), the
            label space of a model trained on FER2013.
        channels: 1 (grayscale) or 3 (RGB).
        image_size: (H, W) to resize to; None requires all images to share one size.
        skip_bad: skip files with names not like S010_004_00000017.png and unreadable images
            (counted in `record.skipped`) instead of raising.
    """
    root = Path(path)
    if split is not None:
        raise DatasetError(f"ckplus: CK+ has no official split; pass split=None (got {split!r}), fold by subjects")
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder (expected CK+'s emotion folders {', '.join(FOLDERS)})")
    folders, ignored = class_folders(root)
    if not folders:
        raise DatasetError(f"{root}: no emotion folders found (expected {root}/anger/S010_004_00000017.png, ...)")
    items = []
    for folder in folders:
        label = canonical_label(folder.name)
        if label is None:
            raise DatasetError(f"{folder}: not a CK+ emotion folder (expected {', '.join(FOLDERS)})")
        found, other = folder_images(folder)
        items += [(file, label) for file in found]
        ignored += other
    rows, skipped = parse_each(items, _parse, skip_bad)
    kept = [row for row in rows if contempt or row[1] != CONTEMPT]
    files, labels, subjects = columns(kept, 3)
    if contempt:  # canonical -> CK+'s seven: neutral (6) is absent, contempt (7) takes its place
        labels = [CKPLUS_CLASSES.index(CLASS_NAMES_CONTEMPT[label]) for label in labels]
    return image_record(
        "ckplus", files, labels, channels, image_size, skip_bad, skipped=skipped, subjects=subjects,
        extra={"dropped": {} if contempt else {"contempt": len(rows) - len(kept)}, "ignored": report_ignored(root, ignored)},
        class_names=CKPLUS_CLASSES if contempt else CLASS_NAMES, source=str(root),
    )
