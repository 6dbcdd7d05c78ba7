"""JAFFE (Japanese Female Facial Expression, Lyons et al. 1998) as released: one folder of 213
256x256 grayscale TIFF images named `KA.AN1.39.tiff` (subject KA; expression code AN, DI, FE,
HA, NE, SA or SU followed by a repetition digit; image number), next to non-image files such
as README, which are ignored (as are hidden files such as macOS's `._*`). The subject goes into
`record.subjects`; JAFFE has no official split.
"""

import re
from pathlib import Path

from fer_keras.data.errors import DatasetError
from fer_keras.data.files import columns, parse_each
from fer_keras.data.folder import IMAGE_SUFFIXES, canonical_label, image_record

CODES = ("AN", "DI", "FE", "HA", "NE", "SA", "SU")
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


def load_jaffe(path, split=None, channels=1, image_size=None, skip_bad=False):
    """JAFFE as a DatasetRecord.

    Args:
        path: the folder holding the .tiff files.
        split: must be None (JAFFE has no official split; build folds from `record.subjects`).
        channels: 1 (grayscale) or 3.
        image_size: (H, W) to resize to (the originals are 256x256).
        skip_bad: skip images whose names do not parse and unreadable images (counted in
            `record.skipped`) instead of raising.
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
    return image_record("jaffe", files, labels, channels, image_size, skip_bad, skipped=skipped, subjects=subjects,
                        source=str(root))
