"""FER2013 from Kaggle's `fer2013.csv` (`emotion,pixels,Usage`), plain or gzip-compressed.

Parsing is vectorised (pandas for the columns, one NumPy parse of all pixels) and the result is
cached as a `.npz` beside the source (or, when that folder is read-only, under
$FER_KERAS_CACHE or ~/.cache/fer_keras), keyed by a digest of the source's bytes, so a second
load reads arrays only, also after the file was copied or touched.

Every row is checked: a label outside 0..6, a Usage other than Training / PublicTest /
PrivateTest, a pixel field that is not 2304 integers in 0..255 raise `DatasetError` naming the
file, the row (1-based, as in a spreadsheet with the header on row 1) and what was expected. With
`skip_bad=True` such rows are left out and counted in `record.skipped` instead.
"""

import hashlib
import os
import sys
import zipfile
from pathlib import Path

import numpy as np

from fer_keras.data.files import missing_file, read_csv_header
from fer_keras.data.labels import CLASS_NAMES
from fer_keras.data.record import DatasetRecord
from fer_keras.errors import DatasetError

SIDE = 48
PIXELS = SIDE * SIDE
USAGES = ("Training", "PublicTest", "PrivateTest")
COLUMNS = ("emotion", "pixels", "Usage")
CACHE_VERSION = 1


_DIGESTS = {}


def file_digest(path):
    """The first 16 hex digits of the SHA-256 of a file's bytes (memoised per path, size and
    modification time in this process): a cache key that survives the file being copied, touched
    or re-mounted, so a dataset re-copied each session keeps its caches (~0.2 s for FER2013)."""
    path = Path(path).resolve()
    stat = path.stat()
    memo = (str(path), stat.st_size, stat.st_mtime_ns)
    if memo not in _DIGESTS:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _DIGESTS[memo] = digest.hexdigest()[:16]
    return _DIGESTS[memo]


def _cache_path(source):
    key = hashlib.sha256(f"{file_digest(source)}|{CACHE_VERSION}".encode()).hexdigest()[:16]
    name = f".{source.name}.{key}.npz"
    # Mode bits as well as access(): root may write into folders marked read-only (a shared,
    # read-only dataset folder must stay untouched).
    if source.parent.stat().st_mode & 0o222 and os.access(source.parent, os.W_OK):
        return source.parent / name
    root = Path(os.environ.get("FER_KERAS_CACHE", Path.home() / ".cache" / "fer_keras"))
    return root / name


def _scan_pixel_fields(pixels):
    """(numeric, counts) per row: whether the field holds only digits and single spaces, and how
    many values it has. One vectorised pass over the bytes of all fields joined by spaces."""
    n = len(pixels)
    if n == 0:
        return np.zeros(0, bool), np.zeros(0, int)
    lengths = pixels.str.len().to_numpy()
    raw = np.frombuffer(" ".join(pixels).encode("ascii", errors="replace"), dtype=np.uint8)
    starts = np.concatenate([[0], np.cumsum(lengths[:-1] + 1)])
    separator = (np.arange(n) < n - 1).astype(int)  # the joining space at the end of each segment
    is_space = raw == ord(" ")

    def per_row(mask):  # per-row sums of a boolean byte mask (uint8 view: the fast reduceat path)
        return np.add.reduceat(mask.view(np.uint8), starts, dtype=np.uint32).astype(np.int64)

    spaces = per_row(is_space) - separator
    not_allowed = per_row(~(is_space | ((raw >= ord("0")) & (raw <= ord("9")))))
    doubled = per_row(np.append(is_space[1:] & is_space[:-1], False))
    numeric = (not_allowed == 0) & (lengths > 0) & (doubled == 0)
    return numeric, spaces + 1


def _bad(source, rows, reason):
    shown = ", ".join(str(r) for r in rows[:5]) + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")
    return f"{source}: row {shown}: {reason}"


def parse_fer2013_csv(source, skip_bad=False):
    """Parse the CSV into (images (N, 48, 48, 1) uint8, labels (N,), usages (N,) str, skipped)."""
    import pandas as pd

    source = Path(source)
    if not source.is_file():
        raise DatasetError(f"{source}: {missing_file(source)} (expected Kaggle's fer2013.csv or fer2013.csv.gz)")
    read_csv_header(source, COLUMNS)  # empty, not a CSV, wrong header: said before pandas reads it all
    try:
        frame = pd.read_csv(source, dtype=str, keep_default_na=False, compression="infer")
    except (OSError, EOFError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise DatasetError(f"{source}: cannot be read as a CSV file ({err})") from err
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise DatasetError(f"{source}: missing column(s) {missing}; expected the header 'emotion,pixels,Usage'")
    rows = np.arange(len(frame)) + 2  # 1-based, header on row 1
    emotion = frame["emotion"].str.strip()
    usage = frame["Usage"].str.strip()
    pixels = frame["pixels"].str.strip()

    problems = []
    bad_label = ~emotion.isin([str(i) for i in range(len(CLASS_NAMES))]).to_numpy()
    problems.append((bad_label, "emotion must be an integer label 0..6"))
    bad_usage = ~usage.isin(USAGES).to_numpy()
    problems.append((bad_usage, f"Usage must be one of {', '.join(USAGES)}"))
    numeric, counts = _scan_pixel_fields(pixels)
    problems.append((~numeric, f"pixels must be {PIXELS} space-separated integers 0..255 (found a non-numeric value)"))
    wrong_count = numeric & (counts != PIXELS)
    problems.append((wrong_count, f"pixels must be {PIXELS} values for a 48x48 image (wrong pixel count)"))

    good = numeric & ~wrong_count
    values = np.zeros((len(frame), PIXELS), np.int64)
    if good.any():
        parsed = np.fromstring(" ".join(pixels[good]), dtype=np.int64, sep=" ")
        values[good] = parsed.reshape(-1, PIXELS)
    out_of_range = good & (values.max(axis=1) > 255)
    problems.append((out_of_range, "pixel values must be in 0..255"))

    bad = np.zeros(len(frame), bool)
    for mask, reason in problems:
        if mask.any():
            if not skip_bad:
                raise DatasetError(_bad(source, rows[mask].tolist(), reason))
            bad |= mask
    keep = ~bad
    images = values[keep].astype(np.uint8).reshape(-1, SIDE, SIDE, 1)
    labels = emotion[keep].astype(np.int64).to_numpy() if keep.any() else np.zeros(0, np.int64)
    return images, labels, usage[keep].to_numpy(dtype=str), int(bad.sum())


def _read_cache(cache_file, source):
    """(images, labels, usages, skipped) from `cache_file`, or None (with a one-line note on stderr)
    when it cannot be read: the caller then rebuilds it from `source`."""
    try:
        with np.load(cache_file, allow_pickle=False) as data:
            return data["images"], data["labels"], data["usages"], int(data["skipped"])
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(f"note: {cache_file}: unreadable FER2013 cache ({reason}); rebuilding it from {source}", file=sys.stderr)
        return None


def _write_cache(cache_file, **arrays):
    """Write the cache atomically (a temporary file, then os.replace); a folder that cannot be
    written leaves a note on stderr, not an error."""
    tmp = cache_file.with_name(f"{cache_file.name}.{os.getpid()}.tmp.npz")
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        np.savez(tmp, **arrays)
        os.replace(tmp, cache_file)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        print(f"note: {cache_file}: cannot write the FER2013 cache ({err.strerror or err}); reading the CSV "
              "again next time", file=sys.stderr)


def load_fer2013(path, split=None, skip_bad=False, cache=True, ferplus_targets=None, ferplus_targets_weight=1.0):
    """FER2013 as a DatasetRecord.

    Args:
        path: fer2013.csv or fer2013.csv.gz.
        split: a Usage value ("Training", "PublicTest", "PrivateTest") or None for all rows.
        skip_bad: leave malformed rows out (counted in `record.skipped`) instead of raising.
        cache: read / write the parsed arrays' cache (and the FERPlus match's).
        ferplus_targets: FERPlus's folder (holding FER2013Train/, FER2013Valid/), or None. The
            Training rows get FERPlus's vote distribution of the same picture (matched by pixels,
            `fer_keras.data.ferplus_match`) as `extra["soft_labels"]`, which `pipeline.label_sampling`
            trains on; Training rows without a confident match (and, with split None, the other
            rows) get the one-hot of their label. `record.labels` stay FER2013's; the PublicTest and
            PrivateTest splits are returned as without the option (the folder is not needed).
        ferplus_targets_weight: w in [0, 1]: a Training row's target is w times FERPlus's
            distribution plus (1 - w) times the one-hot FER2013 label (1.0: FERPlus's votes alone).
    """
    source = Path(path)
    if split is not None and split not in USAGES:
        raise DatasetError(f"fer2013: split must be one of {', '.join(USAGES)} or None, got {split!r}")
    if ferplus_targets is not None or ferplus_targets_weight != 1.0:
        from fer_keras.data.ferplus_match import check_folder, check_options

        check_options(ferplus_targets, ferplus_targets_weight)
        if split in (None, "Training"):  # PublicTest and PrivateTest do not need FERPlus (evaluate)
            check_folder(ferplus_targets)
    if not source.is_file():
        raise DatasetError(f"{source}: {missing_file(source)} (expected Kaggle's fer2013.csv or fer2013.csv.gz)")
    cache_file = _cache_path(source) if cache else None
    cached = _read_cache(cache_file, source) if cache_file is not None and cache_file.is_file() else None
    if cached is not None:
        images, labels, usages, skipped = cached
        if skipped and not skip_bad:  # the cache was written in skip-bad mode: re-parse to raise
            images, labels, usages, skipped = parse_fer2013_csv(source, skip_bad=False)
    else:
        images, labels, usages, skipped = parse_fer2013_csv(source, skip_bad=skip_bad)
        if cache_file is not None:
            _write_cache(cache_file, images=images, labels=labels, usages=usages, skipped=skipped)
    if split is not None:
        chosen = usages == split
        images, labels = images[chosen], labels[chosen]
    record = DatasetRecord(
        name="fer2013",
        images=images,
        labels=labels,
        class_names=CLASS_NAMES,
        source=str(source),
        split=split,
        skipped=skipped,
        extra={"usages": usages if split is None else None},
    )
    if ferplus_targets is None or split not in (None, "Training"):
        return record
    from fer_keras.data.ferplus_match import apply_ferplus_targets

    training = usages == "Training" if split is None else np.full(len(labels), split == "Training")
    return apply_ferplus_targets(record, ferplus_targets, ferplus_targets_weight, training=training, source=source,
                                 cache=cache)
