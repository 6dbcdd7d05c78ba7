"""FERPlus: Microsoft's re-annotation of FER2013, in either of the two forms users have.

Release: https://github.com/microsoft/FERPlus. `load_ferplus(path, ...)` reads

- the folder release (`fer_keras.data.ferplus_folders`): `path` holds `FER2013Train/`,
  `FER2013Valid/` and optionally `FER2013Test/`, each with its PNGs and a header-less `label.csv`
  (image name, face box, ten vote counts);
- or the CSV form: `fer2013new.csv` (header
  `Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF`, one
  row per row of Kaggle's `fer2013.csv`, in the same order, 35,887) with the pixels of `fer2013.csv`
  (read, checked and cached by `load_fer2013`). A row with an empty Image name is an image FERPlus
  removed.

The layout is read from what `path` holds: fer2013new.csv with fer2013.csv beside it (or
`fer2013=` given) is the CSV form, else the split folders. Splits: the folder names
(FER2013Train, FER2013Valid, FER2013Test) or FER2013's Usage names (Training, PublicTest,
PrivateTest) in either layout. A split folder that is absent: FER2013Test (Microsoft's release
has it, some copies do not) gives an empty record with `extra["missing"]` (so a recipe's test
split counts as "no test"); FER2013Train or FER2013Valid raises DatasetError.

Labels follow Microsoft's reader (src/ferplus.py, `_process_data`), after discarding vote counts
of 1 as outliers:

- "majority" (`majority_vote`): the column holding more than half of the remaining votes, else
  the row has no majority (dropped, "no_majority").
- "probability" (`probability_vote`, Microsoft's "probability" and "crossentropy" modes): take the
  most-voted columns (ties together) until they hold 75% of the votes or three are taken; the row
  is dropped ("ambiguous") when they hold no more than half of the votes or more than three tie;
  an unknown or NF column reached after an emotion stops the loop and is left out. The row's
  distribution is the taken columns' votes, normalised; its label the most-voted (first in
  FERPlus's column order on a tie).

Rows whose winning column is unknown or NF (not a face) are dropped ("unknown", "not_face"), as
are rows removed by FERPlus ("removed") and, with `classes=7`, contempt ("contempt"); each
dropped row is counted once, per split, in `extra["dropped"]`. Vote columns map to the canonical
order by name (anger -> angry, ...).
"""

from pathlib import Path

import numpy as np

from fer_keras.data import ferplus_folders
from fer_keras.data.fer2013 import USAGES, _bad, load_fer2013
from fer_keras.data.files import read_csv_header
from fer_keras.data.folder import canonical_label
from fer_keras.data.labels import CLASS_NAMES, CLASS_NAMES_CONTEMPT
from fer_keras.data.record import DatasetRecord
from fer_keras.errors import DatasetError

VOTE_COLUMNS = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt", "unknown", "NF")
COLUMNS = ("Usage", "Image name") + VOTE_COLUMNS
CANONICAL = np.array([canonical_label(c) for c in VOTE_COLUMNS[:8]])  # vote column -> canonical label
CONTEMPT, UNKNOWN, NOT_FACE = 7, 8, 9  # vote column indices
LABEL_MODES = ("majority", "probability")
SPLIT_NAMES = {**{usage: usage for usage in USAGES}, **{folder: usage for usage, folder in ferplus_folders.FOLDERS.items()}}
OPTIONAL_SPLITS = ("PrivateTest",)  # FER2013Test: held back in some copies


def majority_vote(votes):
    """Microsoft's majority rule for (N, 10) vote counts: per row the vote column holding more
    than half of the votes once single votes are discarded, or -1 where there is no majority."""
    votes = np.where(votes > 1, votes, 0)
    return np.where(2 * votes.max(axis=1) > votes.sum(axis=1), votes.argmax(axis=1), -1)


def _probability_row(row):
    """Microsoft's probability rule (src/ferplus.py `_process_data`, mode "probability") on one row:
    (integrated votes (10,), vote column of the label, or -1 when the row is discarded)."""
    raw = [float(v) if v > 1 else 0.0 for v in row]  # single votes are outliers
    total = sum(raw)
    emotion = [0.0] * len(raw)
    integrated, count, valid = 0.0, 0, True
    while integrated < 0.75 * total and count < 3 and valid:
        top = max(raw)
        for i, value in enumerate(raw):
            if value == top:
                emotion[i], raw[i] = top, 0.0
                integrated += top
                count += 1
                if i >= UNKNOWN:  # unknown or NF among the tops: stop; left out after an emotion
                    valid = False
                    if sum(emotion) > top:
                        emotion[i] = 0.0
                        count -= 1
                    break
    column = int(np.argmax(emotion))
    if (sum(emotion) <= 0.5 * total or count > 3) and column < UNKNOWN:  # Microsoft: "discard this example"
        column = -1
    return np.asarray(emotion), column


def probability_vote(votes):
    """Microsoft's probability rule for (N, 10) vote counts: (columns, integrated) with per row the
    label's vote column (-1: discarded, fewer than half of the votes integrated or more than three
    tied tops) and the integrated votes (N, 10) (the distribution, unnormalised)."""
    votes = np.asarray(votes)
    integrated, columns = np.zeros(votes.shape, np.float64), np.full(len(votes), -1, np.int64)
    for i, row in enumerate(votes.tolist()):
        integrated[i], columns[i] = _probability_row(row)
    return columns, integrated


def split_usage(split):
    """FER2013's Usage name for a FERPlus split name (folder or Usage name; None: all)."""
    if split is None:
        return None
    if split not in SPLIT_NAMES:
        names = ", ".join(SPLIT_NAMES)
        raise DatasetError(f"ferplus: split must be one of {names} or None, got {split!r}")
    return SPLIT_NAMES[split]


def _labels(votes, usages, removed, classes, label_mode, soft_labels):
    """(keep, labels, dropped, soft) for all rows: Microsoft's rule per row (the probability rule
    on Training rows in label_mode "probability", the majority rule elsewhere)."""
    probability = (usages == "Training") if label_mode == "probability" else np.zeros(len(votes), bool)
    columns = majority_vote(votes)
    distribution = votes.astype(np.float64)  # majority-rule rows: the raw vote shares
    if probability.any():
        columns[probability], distribution[probability] = probability_vote(votes[probability])
    keep = np.ones(len(votes), bool)
    reasons = [("removed", removed), ("no_majority", ~probability & (columns == -1))]
    if label_mode == "probability":
        reasons.append(("ambiguous", probability & (columns == -1)))
    reasons += [("unknown", columns == UNKNOWN), ("not_face", columns == NOT_FACE)]
    if classes == 7:
        reasons.append(("contempt", columns == CONTEMPT))
    dropped = {}
    for reason, mask in reasons:  # each row counted once, under the first reason that applies
        dropped[reason] = int((mask & keep).sum())
        keep &= ~mask
    labels = CANONICAL[columns[keep]].astype(np.int64)
    soft = None
    if soft_labels:
        soft = np.zeros((int(keep.sum()), classes), np.float64)
        soft[:, CANONICAL[:classes]] = distribution[keep][:, :classes]
        soft = (soft / soft.sum(axis=1, keepdims=True)).astype(np.float32)
    return keep, labels, dropped, soft


def missing_split(path, split):
    """What to say when `split` has no rows in FERPlus at `path`: its absent folder, or None."""
    try:
        usage = split_usage(split)
        if usage is None or layout(path) != "folders":
            return None
    except DatasetError:
        return None
    folder = Path(path) / ferplus_folders.FOLDERS[usage]
    return None if folder.is_dir() else f"{path} has no {folder.name} folder"


def _check_options(split, classes, label_mode):
    usage = split_usage(split)
    if classes not in (7, 8):
        raise DatasetError(f"ferplus: classes must be 7 or 8 (7 plus contempt), got {classes!r}")
    if label_mode not in LABEL_MODES:
        raise DatasetError(f"ferplus: label_mode must be one of {', '.join(LABEL_MODES)}, got {label_mode!r}")
    return usage


def layout(path, fer2013=None):
    """"csv" (fer2013new.csv and fer2013.csv) or "folders" (FER2013Train/ ...): what `path` holds."""
    path = Path(path)
    if not path.is_dir():
        return "csv"
    new = path / "fer2013new.csv"
    pixels = fer2013 is not None or (path / "fer2013.csv").is_file() or (path / "fer2013.csv.gz").is_file()
    if new.is_file() and pixels:
        return "csv"
    if ferplus_folders.has_folders(path):
        return "folders"
    if not new.is_file() and (path / ferplus_folders.LABEL_FILE).is_file():
        raise DatasetError(f"{path}: a single FERPlus split folder (it holds label.csv); pass the folder above it, "
                           "which holds FER2013Train/, FER2013Valid/ (and FER2013Test/)")
    return "csv"


def load_ferplus(path, split=None, fer2013=None, classes=7, label_mode="majority", soft_labels=False,
                 skip_bad=False, cache=True):
    """FERPlus as a DatasetRecord (48x48 grayscale, FERPlus's labels); see the module docstring.

    Args:
        path: the folder holding FER2013Train/, FER2013Valid/ (FER2013Test/), or the folder holding
            fer2013new.csv and fer2013.csv(.gz), or fer2013new.csv itself.
        split: FER2013Train / FER2013Valid / FER2013Test, or Training / PublicTest / PrivateTest
            (the same splits), or None for all rows.
        fer2013: fer2013.csv(.gz), when not beside fer2013new.csv (CSV form only).
        classes: 7 (the canonical seven; contempt-labelled rows dropped) or 8 (contempt as label 7).
        label_mode: "majority" or "probability" (Microsoft's training modes). "probability" applies
            the probability rule to the training split only: validation and test rows keep the
            majority rule, as Microsoft's train.py reads them, so scores compare with majority runs.
        soft_labels: also return each row's distribution over the chosen classes, columns in
            `class_names` order, as `extra["soft_labels"]` (N, classes) float32: the probability
            rule's integrated votes on rows it labels, the raw vote shares on majority-rule rows.
        skip_bad: leave bad rows (malformed votes or face box, unreadable image; CSV form: a Usage
            differing from fer2013.csv's) out, counted in `record.skipped`, instead of raising.
        cache: use `load_fer2013`'s cache for the pixels (CSV form).

    `extra`: "dropped" (reason -> rows), "listed" (rows in the split's label files), "image_names",
    "usages" (when split is None), "layout" ("folders" or "csv"); folders: "label_rows" (1-based
    row in its label.csv), "face_boxes", "missing" (absent split folders); CSV: "rows" (0-based
    fer2013.csv row of each sample); "soft_labels" when asked for.
    """
    usage = _check_options(split, classes, label_mode)
    if layout(path, fer2013) == "folders":
        return _load_folders(Path(path), split, usage, classes, label_mode, soft_labels, skip_bad)
    return _load_csv(path, split, usage, fer2013, classes, label_mode, soft_labels, skip_bad, cache)


def _record(images, labels, classes, source, split, skipped, extra):
    return DatasetRecord(
        name="ferplus",
        images=images,
        labels=labels,
        class_names=CLASS_NAMES if classes == 7 else CLASS_NAMES_CONTEMPT,
        source=str(source),
        split=split,
        skipped=int(skipped),
        extra=extra,
    )


def _load_folders(root, split, usage, classes, label_mode, soft_labels, skip_bad):
    usages = USAGES if usage is None else (usage,)
    rows, listed, skipped, missing = ferplus_folders.read_label_files(root, usages, len(VOTE_COLUMNS), skip_bad)
    optional = [ferplus_folders.FOLDERS[u] for u in OPTIONAL_SPLITS]
    required = [folder for folder in missing if folder.name not in optional]
    if required:  # an absent FER2013Test gives an empty record (extra["missing"]): "no test split"
        raise DatasetError(f"{required[0]}: no such folder (Microsoft's FERPlus release has FER2013Train/, FER2013Valid/ "
                           "and FER2013Test/, each with its PNGs and label.csv)")
    keep, labels, dropped, soft = _labels(rows["votes"], rows["usages"], rows["removed"], classes, label_mode, soft_labels)
    indices = np.flatnonzero(keep)
    images, good = ferplus_folders.read_faces(rows, indices, skip_bad)
    indices, labels = indices[good], labels[good]
    extra = {
        "dropped": dropped,
        "listed": listed,
        "layout": "folders",
        "image_names": [rows["names"][i] for i in indices],
        "label_rows": rows["label_rows"][indices],
        "face_boxes": rows["boxes"][indices],
        "usages": rows["usages"][indices] if usage is None else None,
        "missing": tuple(str(folder) for folder in missing),  # a tuple: not sliced per sample by subset()
        "split_folder": None if usage is None else ferplus_folders.FOLDERS[usage],  # shown beside the Usage name
    }
    if soft is not None:
        extra["soft_labels"] = soft[good]
    return _record(images, labels, classes, root, split, skipped + int((~good).sum()), extra)


def _sources(path, fer2013):
    path = Path(path)
    new = path / "fer2013new.csv" if path.is_dir() else path
    if not new.is_file():
        what = f"{new}: no such file, and no FER2013Train/, FER2013Valid/ or FER2013Test/ folder beside it" \
            if path.is_dir() else f"{path}: no such file or folder"
        raise DatasetError(f"{what}; FERPlus is the folders of Microsoft's release (FER2013Train/, FER2013Valid/, "
                           "FER2013Test/: PNGs and label.csv) or its fer2013new.csv with Kaggle's fer2013.csv")
    if fer2013 is None:
        candidates = [new.parent / "fer2013.csv", new.parent / "fer2013.csv.gz"]
        fer2013 = next((c for c in candidates if c.is_file()), None)
        if fer2013 is None:
            raise DatasetError(
                f"{new.parent}: no fer2013.csv or fer2013.csv.gz beside {new.name}; FERPlus takes its "
                "pixels from Kaggle's file: pass fer2013=<path of fer2013.csv>"
            )
    return new, Path(fer2013)


def _load_csv(path, split, usage, fer2013, classes, label_mode, soft_labels, skip_bad, cache):
    import pandas as pd

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

    chosen = ~bad if usage is None else ~bad & (usages == usage)
    names = frame["Image name"].str.strip().to_numpy(str)
    removed = names[chosen] == ""
    keep, labels, dropped, soft = _labels(votes[chosen], usages[chosen], removed, classes, label_mode, soft_labels)
    selected = np.flatnonzero(chosen)[keep]
    extra = {
        "dropped": dropped,
        "listed": int(len(frame) if usage is None else (usages == usage).sum()),
        "layout": "csv",
        "image_names": names[selected].tolist(),
        "rows": selected,
        "usages": usages[selected] if usage is None else None,
    }
    if soft is not None:
        extra["soft_labels"] = soft
    skipped = int(bad.sum()) if usage is None else int((bad & (usages == usage)).sum())
    return _record(fer.images[selected], labels, classes, new, split, skipped, extra)
