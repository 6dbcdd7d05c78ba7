"""FERPlus: Microsoft's re-annotation of FER2013 (`fer2013new.csv`) joined with Kaggle's pixels.

Release: https://github.com/microsoft/FERPlus. `fer2013new.csv` has the header
`Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF` and
one row per row of Kaggle's `fer2013.csv`, in the same order (35,887), holding ten annotators'
votes. A row with an empty Image name is an image FERPlus removed. The pixels come from
`fer2013.csv` (read, checked and cached by `load_fer2013`).

Majority vote as Microsoft's reader (src/ferplus.py, training mode "majority"): a vote count of 1
is discarded as an outlier, then the label is the column holding more than half of the remaining
votes, else the row has no majority. Rows removed by FERPlus, with no majority, whose majority is
unknown or NF (not a face), or (with `classes=7`) contempt, are left out and counted per reason
in `extra["dropped"]`. Vote columns map to the canonical order by name (anger -> angry, ...).
"""

from pathlib import Path

import numpy as np

from fer_keras.data.errors import DatasetError
from fer_keras.data.fer2013 import USAGES, _bad, load_fer2013
from fer_keras.data.files import read_csv_header
from fer_keras.data.folder import canonical_label
from fer_keras.data.labels import CLASS_NAMES, CLASS_NAMES_CONTEMPT
from fer_keras.data.record import DatasetRecord

VOTE_COLUMNS = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt", "unknown", "NF")
COLUMNS = ("Usage", "Image name") + VOTE_COLUMNS
CANONICAL = np.array([canonical_label(c) for c in VOTE_COLUMNS[:8]])  # vote column -> canonical label
CONTEMPT, UNKNOWN, NOT_FACE = 7, 8, 9  # vote column indices


def majority_vote(votes):
    """Microsoft's majority rule for (N, 10) vote counts: per row the vote column holding more
    than half of the votes once single votes are discarded, or -1 where there is no majority."""
    votes = np.where(votes > 1, votes, 0)
    return np.where(2 * votes.max(axis=1) > votes.sum(axis=1), votes.argmax(axis=1), -1)


def _sources(path, fer2013):
    path = Path(path)
    new = path / "fer2013new.csv" if path.is_dir() else path
    if not new.is_file():
        raise DatasetError(f"{new}: no such file (expected Microsoft's FERPlus fer2013new.csv)")
    if fer2013 is None:
        candidates = [new.parent / "fer2013.csv", new.parent / "fer2013.csv.gz"]
        fer2013 = next((c for c in candidates if c.is_file()), None)
        if fer2013 is None:
            raise DatasetError(
                f"{new.parent}: no fer2013.csv or fer2013.csv.gz beside {new.name}; FERPlus takes its "
                "pixels from Kaggle's file: pass fer2013=<path of fer2013.csv>"
            )
    return new, Path(fer2013)


def load_ferplus(path, split=None, fer2013=None, classes=7, soft_labels=False, skip_bad=False, cache=True):
    """FERPlus as a DatasetRecord (48x48 grayscale, FER2013's pixels, FERPlus's majority labels).

    Args:
        path: the folder holding fer2013new.csv and fer2013.csv(.gz), or fer2013new.csv itself.
        split: a Usage value ("Training", "PublicTest", "PrivateTest") or None for all rows.
        fer2013: fer2013.csv(.gz), when not beside fer2013new.csv.
        classes: 7 (the canonical seven; contempt-majority rows dropped) or 8 (contempt as label 7).
        soft_labels: also return each row's vote distribution over the chosen classes (raw votes,
            normalised, columns in `class_names` order) as `extra["soft_labels"]` (N, classes) float32.
        skip_bad: leave rows with malformed votes or a Usage differing from fer2013.csv's out (counted
            in `record.skipped`) instead of raising. fer2013.csv's own rows are always checked
            strictly: leaving one out would break the row alignment.
        cache: use `load_fer2013`'s cache for the pixels.

    `extra`: "dropped" (reason -> rows, within the split), "image_names" (FERPlus's file names),
    "rows" (0-based fer2013.csv row of each sample), "usages" (when split is None).
    """
    import pandas as pd

    if split is not None and split not in USAGES:
        raise DatasetError(f"ferplus: split must be one of {', '.join(USAGES)} or None, got {split!r}")
    if classes not in (7, 8):
        raise DatasetError(f"ferplus: classes must be 7 or 8 (7 plus contempt), got {classes!r}")
    new, fer_path = _sources(path, fer2013)
    read_csv_header(new, COLUMNS)  # empty, not a CSV, wrong header: said before pandas reads it all
    try:
        frame = pd.read_csv(new, dtype=str, keep_default_na=False)
    except (OSError, EOFError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise DatasetError(f"{new}: cannot be read as a CSV file ({err})") from err
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise DatasetError(f"{new}: missing column(s) {missing}; expected the header '{','.join(COLUMNS)}'")
    fer = load_fer2013(fer_path, split=None, cache=cache)
    if len(frame) != len(fer):
        raise DatasetError(
            f"{new}: {len(frame)} data rows but {fer_path} has {len(fer)}; fer2013new.csv must have "
            "one row per fer2013.csv row, in the same order (35,887 in the releases)"
        )

    rows = np.arange(len(frame)) + 2  # 1-based, header on row 1
    raw = frame[list(VOTE_COLUMNS)].apply(lambda column: column.str.strip())
    numeric = raw.apply(lambda column: column.str.fullmatch(r"\d+")).all(axis=1).to_numpy()
    usages = fer.extra["usages"]
    misaligned = frame["Usage"].str.strip().to_numpy(str) != usages
    bad = np.zeros(len(frame), bool)
    for mask, reason in [
        (~numeric, f"votes ({', '.join(VOTE_COLUMNS)}) must be non-negative integers"),
        (misaligned, "Usage differs from fer2013.csv's Usage on the same row (the files must be row-aligned)"),
    ]:
        if mask.any():
            if not skip_bad:
                raise DatasetError(_bad(new, rows[mask].tolist(), reason))
            bad |= mask
    votes = np.zeros((len(frame), len(VOTE_COLUMNS)), np.int64)
    votes[numeric] = raw[numeric].astype(np.int64).to_numpy()

    winner = majority_vote(votes)
    keep = ~bad if split is None else ~bad & (usages == split)
    reasons = [
        ("removed", frame["Image name"].str.strip().to_numpy(str) == ""),
        ("no_majority", winner == -1),
        ("unknown", winner == UNKNOWN),
        ("not_face", winner == NOT_FACE),
    ] + ([("contempt", winner == CONTEMPT)] if classes == 7 else [])
    dropped = {}
    for reason, mask in reasons:  # each row counted once, under the first reason that applies
        dropped[reason] = int((mask & keep).sum())
        keep &= ~mask

    extra = {
        "dropped": dropped,
        "image_names": frame["Image name"].str.strip()[keep].tolist(),
        "rows": np.flatnonzero(keep),
        "usages": usages[keep] if split is None else None,
    }
    if soft_labels:
        soft = np.zeros((int(keep.sum()), classes), np.float32)
        soft[:, CANONICAL[:classes]] = votes[keep][:, :classes]
        extra["soft_labels"] = soft / soft.sum(axis=1, keepdims=True)
    return DatasetRecord(
        name="ferplus",
        images=fer.images[keep],
        labels=CANONICAL[winner[keep]].astype(np.int64),
        class_names=CLASS_NAMES if classes == 7 else CLASS_NAMES_CONTEMPT,
        source=str(new),
        split=split,
        skipped=int(bad.sum()),
        extra=extra,
    )
