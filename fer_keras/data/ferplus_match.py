"""FERPlus's votes as soft targets for FER2013's Training rows, found by matching pixels (issue 36).

FERPlus's FER2013Train holds the pictures of FER2013's Training rows, re-labelled by ten taggers
each. A fer2013.csv may not be Kaggle's: the shared one was rebuilt from the JPEG release, so its
rows are in another order and its pixels went through JPEG and, measured, a contrast stretch that
clips to 0 and 255 in places (matched pictures differ by a median of 32 grey levels, pixel for
pixel). Rows are therefore matched to FERPlus images by their pixels, never by position, with a
distance that ignores any monotonic change of contrast:

1. a coarse key per image (8x8 means of 6x6 blocks of the histogram-equalized image), projected
   on its 16 first principal components (fitted on the FERPlus images), shortlists the
   `CANDIDATES` nearest FERPlus images of each row with a KD-tree (scipy's cKDTree), over
   FER2013Train and FER2013Valid together; a row left unmatched is shortlisted again with the
   `RESCUE_CANDIDATES` images most correlated with it;
2. each candidate is scored on the full 48x48 image (`matched_distance`): its pixels are given the
   row's own grey levels rank for rank (histogram matching), then the mean absolute difference is
   taken, in grey levels;
3. a row is matched to its nearest FER2013Train image when that one lies within `THRESHOLD`
   levels, no other candidate lies within `MARGIN` levels of it (else "ambiguous": FER2013 holds
   near-duplicate pictures, labelled apart) and no FER2013Valid image is nearer ("valid": the
   picture is a PublicTest picture). Copies of the matched image (FERPlus images within
   `DUPLICATE` levels of it, pixel-identical ones included: FER2013 holds some pictures twice or
   more) are one picture: the row takes the pooled votes of its FER2013Train copies, never those
   of a FER2013Valid copy. Rows left unmatched, ambiguous or nearer a FER2013Valid image keep
   FER2013's own label.

`THRESHOLD`, `MARGIN` and `DUPLICATE` come from the real files
(experiments/probes/ferplus_match_probe.py, experiments/results/ferplus_match.json): 99.9% of the
matched rows lie within 9 levels and the next distinct candidate is a median of 41 levels
farther; the 148 rows beyond 12 levels are about the 151 pictures FERPlus removed.

`match_ferplus` returns a `FerplusMatch` and caches it (an .npz under $FER_KERAS_CACHE, default
~/.cache/fer_keras, keyed by the size and modification time of the FER2013 source, of FERPlus's
label.csv files and split folders, and by this module's parameters; written atomically).
`ferplus_targets` maps the matched images' votes to FER2013's seven classes, and
`apply_ferplus_targets` puts them in a record's `extra["soft_labels"]`, where the training
pipeline's label sampling (`pipeline.label_sampling`) reads FERPlus's own soft labels.
"""

import hashlib
import os
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_keras.data import ferplus_folders
from fer_keras.data.folder import canonical_label
from fer_keras.errors import DatasetError

MATCH_VERSION = 1
SIDE = 48
COARSE = 8  # coarse key: COARSE x COARSE block means
COMPONENTS = 16  # principal components of the coarse key the KD-tree searches
CANDIDATES = 8  # nearest coarse keys scored on the full image
RESCUE_CANDIDATES = 32  # most correlated images scored for a row the coarse shortlist leaves unmatched
THRESHOLD = 12.0  # grey levels: a match's distance (`matched_distance`) is below this
DUPLICATE = 2.0  # grey levels: reference images closer than this (mean absolute difference) are copies
MARGIN = 3.0  # grey levels: a second candidate this close to the best makes the row ambiguous
VOTES = 10  # FERPlus's vote columns (fer_keras.data.ferplus.VOTE_COLUMNS), the seven emotions first:
EMOTION_COLUMNS = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear")
EMOTION_LABELS = np.array([canonical_label(column) for column in EMOTION_COLUMNS])  # -> FER2013's order
CLASSES = 7  # FER2013's
STATUSES = ("matched", "unmatched", "ambiguous", "valid")
MATCHED, UNMATCHED, AMBIGUOUS, VALID = range(4)
OPTION = "ferplus_targets"
WEIGHT_OPTION = "ferplus_targets_weight"


@dataclass(frozen=True)
class FerplusMatch:
    """Per FER2013 row (in the order given): `names` the matched FER2013Train image ("" unless the
    status is matched; the picture's FER2013Train copies joined with "|" when it has several),
    `status` (index into STATUSES), `distance` the nearest FER2013Train candidate's
    `matched_distance` in grey levels (inf: none shortlisted), `second` the next candidate's other
    than that image and its copies (Train or Valid), `valid_distance` the nearest FER2013Valid
    candidate's (inf: none or no FER2013Valid folder); `valid_checked`: whether FER2013Valid was
    searched; `also_valid`: a matched row whose picture FER2013Valid holds too (FER2013's own
    overlap; only the FER2013Train copies' votes are used)."""

    names: np.ndarray
    status: np.ndarray
    distance: np.ndarray
    second: np.ndarray
    valid_distance: np.ndarray
    valid_checked: bool
    also_valid: np.ndarray

    def counts(self):
        """{status name: rows}."""
        return {name: int((self.status == code).sum()) for code, name in enumerate(STATUSES)}


def _cache_root():
    return Path(os.environ.get("FER_KERAS_CACHE", Path.home() / ".cache" / "fer_keras"))


def _stat(path):
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        return f"{path.name}:absent"
    return f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def check_folder(root):
    """`root` as a Path when it holds FER2013Train/ with its label.csv; a one-line DatasetError
    naming the option and the path otherwise."""
    if not isinstance(root, (str, os.PathLike)) or not str(root):
        raise DatasetError(f"data.options.{OPTION} must be the path of FERPlus's folder (holding FER2013Train/), got {root!r}")
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"data.options.{OPTION}: {root}: no such folder (expected FERPlus's folder release, holding "
                           "FER2013Train/ and FER2013Valid/ with their PNGs and label.csv)")
    train = root / ferplus_folders.FOLDERS["Training"]
    if not train.is_dir():
        raise DatasetError(f"data.options.{OPTION}: {train}: no such folder (FERPlus's folder release holds FER2013Train/ "
                           "and FER2013Valid/)")
    label_file = train / ferplus_folders.LABEL_FILE
    if not label_file.is_file():
        raise DatasetError(f"data.options.{OPTION}: {label_file}: no such file (each FERPlus split folder holds a "
                           "label.csv: image name, face box, 10 vote counts per row)")
    return root


def check_weight(weight):
    """`weight` as a float in [0, 1]; DatasetError naming the option otherwise."""
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 <= weight <= 1:
        raise DatasetError(f"data.options.{WEIGHT_OPTION} must be a number in [0, 1], got {weight!r}")
    return float(weight)


def check_options(root, weight):
    """The two options together: a weight other than 1.0 needs a folder (else it would do nothing)."""
    check_weight(weight)
    if root is None and weight != 1.0:
        raise DatasetError(f"data.options.{WEIGHT_OPTION} ({weight!r}) needs data.options.{OPTION}, FERPlus's folder")


def read_ferplus(root):
    """FERPlus's FER2013Train and FER2013Valid images, through the release's readers:
    (rows, images (K, 48, 48) uint8, is_valid (K,) bool) for the rows with an image (`rows` as
    `ferplus_folders.read_label_files` gives them, `rows["kept"]` the indices read)."""
    root = check_folder(root)
    usages = ("Training", "PublicTest") if (root / ferplus_folders.FOLDERS["PublicTest"]).is_dir() else ("Training",)
    rows, _, _, _ = ferplus_folders.read_label_files(root, usages, VOTES)
    kept = np.flatnonzero(~rows["removed"])
    images, _ = ferplus_folders.read_faces(rows, kept)
    rows["kept"] = kept
    return rows, images[..., 0], rows["usages"][kept] == "PublicTest"


def equalized(images):
    """(N, 48, 48) uint8 images, each histogram-equalized (OpenCV): what the coarse keys read, so
    that a contrast stretch of one copy does not move it away from the other."""
    import cv2

    images = np.asarray(images, np.uint8).reshape(-1, SIDE, SIDE)
    return np.stack([cv2.equalizeHist(image) for image in images]) if len(images) else images


def coarse_keys(images):
    """float32 (N, COARSE * COARSE) block means of (N, 48, 48) images."""
    block = SIDE // COARSE
    images = np.asarray(images, np.float32).reshape(len(images), COARSE, block, COARSE, block)
    return images.mean(axis=(2, 4)).reshape(len(images), -1)


def pixel_ranks(images, chunk=4096):
    """int16 (N, 2304) rank of each pixel among its image's pixels (ties in pixel order)."""
    flat = np.asarray(images, np.uint8).reshape(len(images), -1)
    ranks = np.empty(flat.shape, np.int16)
    for start in range(0, len(flat), chunk):
        part = flat[start:start + chunk]
        ranks[start:start + chunk] = np.argsort(np.argsort(part, axis=1, kind="stable"), axis=1)
    return ranks


def matched_distance(images, ranks):
    """float32 (N, K) distance of (N, 2304) uint8 `images` to K candidates given by their pixel
    ranks (N, K, 2304): each candidate's pixels are replaced by the image's own values of the same
    rank (histogram matching), then the mean absolute difference in grey levels is taken. Any
    monotonic change of contrast, clipping included, leaves a picture at a small distance from
    its copy; JPEG noise adds a few levels."""
    images = np.asarray(images, np.uint8).reshape(len(images), -1)
    ordered = np.sort(images, axis=1).astype(np.int16)
    mapped = np.take_along_axis(ordered[:, None, :], ranks.astype(np.intp), axis=2)
    return np.abs(mapped - images[:, None, :].astype(np.int16)).mean(axis=2, dtype=np.float32)


def duplicate_groups(images):
    """int64 (K,) group id per image: pixel-identical images share one (FER2013 holds duplicates)."""
    seen = {}
    flat = np.ascontiguousarray(np.asarray(images, np.uint8).reshape(len(images), -1))
    return np.array([seen.setdefault(row.tobytes(), len(seen)) for row in flat], np.int64)


def _standardized(images):
    """float32 (N, 2304) images with zero mean and unit standard deviation each (at least 1 level)."""
    flat = np.asarray(images, np.float32).reshape(len(images), -1)
    flat = flat - flat.mean(axis=1, keepdims=True)
    return flat / np.maximum(flat.std(axis=1, keepdims=True), 1.0)


def _score(images, reference, candidates, ranks, is_valid, chunk=256):
    """(best, distance, second, valid_distance, copies) per row of `images` over its `candidates`
    (N, k): copies (N, k) marks the candidates that are copies of the best (`DUPLICATE`)."""
    n, k = candidates.shape
    best = np.full(n, -1, np.int64)
    distance, second, valid_distance = (np.full(n, np.inf, np.float32) for _ in range(3))
    copies = np.zeros((n, k), bool)
    for start in range(0, n, chunk):
        end = min(start + chunk, n)
        shortlist = candidates[start:end]
        scores = matched_distance(images[start:end], ranks[shortlist])
        valid = is_valid[shortlist]
        train_scores = np.where(valid, np.inf, scores)
        pick = shortlist[np.arange(end - start), train_scores.argmin(axis=1)]
        found = np.isfinite(train_scores.min(axis=1))
        # The picked image's copies: FER2013 holds pictures twice or more, some re-encoded.
        apart = np.abs(reference[shortlist].astype(np.int16) - reference[pick][:, None].astype(np.int16))
        same = (apart.reshape(*shortlist.shape, -1).mean(axis=2) < DUPLICATE) & found[:, None]
        best[start:end] = np.where(found, pick, -1)
        distance[start:end] = train_scores.min(axis=1)
        second[start:end] = np.where(same, np.inf, scores).min(axis=1)
        valid_distance[start:end] = np.where(valid, scores, np.inf).min(axis=1)
        copies[start:end] = same
    return best, distance, second, valid_distance, copies


def match_images(images, reference, is_valid, names):
    """Match (N, 48, 48) uint8 `images` to (K, 48, 48) uint8 `reference` images (`is_valid` marks
    FER2013Valid's, `names` their image names): a FerplusMatch (see the module docstring)."""
    from scipy.spatial import cKDTree

    images = np.asarray(images, np.uint8).reshape(len(images), SIDE, SIDE)
    reference = np.asarray(reference, np.uint8).reshape(len(reference), SIDE, SIDE)
    is_valid = np.asarray(is_valid, bool)
    names = np.asarray(names, dtype=str)
    n = len(images)
    best = np.full(n, -1, np.int64)
    distance, second, valid_distance = (np.full(n, np.inf, np.float32) for _ in range(3))
    copies = [()] * n
    groups = duplicate_groups(reference)
    if n and len(reference):
        keys = coarse_keys(equalized(reference))
        mean = keys.mean(axis=0)
        components = np.linalg.svd(keys - mean, full_matrices=False)[2][:COMPONENTS].T
        tree = cKDTree((keys - mean) @ components)
        k = min(CANDIDATES, len(reference))
        candidates = tree.query((coarse_keys(equalized(images)) - mean) @ components, k=k)[1].reshape(n, k)
        ranks = pixel_ranks(reference)
        best, distance, second, valid_distance, same = _score(images, reference, candidates, ranks, is_valid)
        copies = [tuple(row[mask]) for row, mask in zip(candidates, same)]
        # Rows the coarse shortlist left unmatched: shortlisted again by correlation over every image.
        again = np.flatnonzero(~(distance < THRESHOLD))
        if len(again):
            wide, standard = min(RESCUE_CANDIDATES, len(reference)), _standardized(reference)
            candidates = np.concatenate([
                np.argsort(-(_standardized(images[again[i:i + 512]]) @ standard.T), axis=1)[:, :wide]
                for i in range(0, len(again), 512)])
            found = _score(images[again], reference, candidates, ranks, is_valid)
            better = found[1] < distance[again]
            for full, part in zip((best, distance, second, valid_distance), found):
                full[again[better]] = part[better]
            for i in np.flatnonzero(better):
                copies[again[i]] = tuple(candidates[i][found[4][i]])
    status = np.full(n, MATCHED, np.int8)
    status[second < distance + MARGIN] = AMBIGUOUS
    status[~(distance < THRESHOLD)] = UNMATCHED
    status[(valid_distance < distance) & (valid_distance < THRESHOLD)] = VALID
    # A matched row takes the votes of every FER2013Train copy of its picture: the shortlisted
    # images within DUPLICATE levels of the best one, and every pixel-identical image.
    members = {}
    for i in range(len(reference)):
        members.setdefault(groups[i], []).append(i)
    matched = np.flatnonzero(status == MATCHED)
    joined = np.full(n, "", dtype=object)
    also_valid = np.zeros(n, bool)
    for i in matched:
        pool = set(copies[i]) | set(members[groups[best[i]]])
        joined[i] = "|".join(sorted(names[j] for j in pool if not is_valid[j]))
        also_valid[i] = any(is_valid[j] for j in pool)
    return FerplusMatch(joined.astype(str), status, distance, second, valid_distance, bool(is_valid.any()), also_valid)


def _cache_file(source, root):
    root = Path(root)
    parts = [_stat(source)] + [
        _stat(root / folder) + "|" + _stat(root / folder / ferplus_folders.LABEL_FILE)
        for folder in (ferplus_folders.FOLDERS["Training"], ferplus_folders.FOLDERS["PublicTest"])
    ]
    parts.append(f"{MATCH_VERSION}|{COARSE}|{COMPONENTS}|{CANDIDATES}|{RESCUE_CANDIDATES}|{THRESHOLD}|{MARGIN}|{DUPLICATE}")
    key = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
    return _cache_root() / f".ferplus_match.{Path(source).name}.{key}.npz"


def _read_cache(cache_file, n):
    try:
        with np.load(cache_file, allow_pickle=False) as data:
            match = FerplusMatch(data["names"].astype(str), data["status"], data["distance"], data["second"],
                                 data["valid_distance"], bool(data["valid_checked"]), data["also_valid"])
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as err:
        print(f"note: {cache_file}: unreadable FERPlus match cache ({type(err).__name__}); matching again", file=sys.stderr)
        return None
    return match if len(match.names) == n else None


def _write_cache(cache_file, match):
    """Written atomically (a temporary file, then os.replace); a folder that cannot be written
    leaves a note on stderr, not an error."""
    tmp = cache_file.with_name(f"{cache_file.name}.{os.getpid()}.tmp.npz")
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        np.savez(tmp, names=match.names, status=match.status, distance=match.distance, second=match.second,
                 valid_distance=match.valid_distance, valid_checked=match.valid_checked, also_valid=match.also_valid)
        os.replace(tmp, cache_file)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        print(f"note: {cache_file}: cannot write the FERPlus match cache ({err.strerror or err})", file=sys.stderr)


def match_ferplus(images, root, source=None, cache=True):
    """FerplusMatch of FER2013 Training `images` ((N, 48, 48[, 1]) uint8) against FERPlus at `root`
    (the folder holding FER2013Train/, FER2013Valid/). With `source` (the FER2013 file or folder the
    images were read from) and `cache`, the result is read from / written to the cache."""
    root = check_folder(root)
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.shape[1:] not in ((SIDE, SIDE), (SIDE, SIDE, 1)):
        raise DatasetError(f"data.options.{OPTION}: FERPlus targets need FER2013's 48x48 grayscale uint8 faces, "
                           f"got {images.dtype} {images.shape}")
    images = images.reshape(len(images), SIDE, SIDE)
    cache_file = _cache_file(source, root) if cache and source is not None else None
    if cache_file is not None and cache_file.is_file():
        cached = _read_cache(cache_file, len(images))
        if cached is not None:
            return cached
    rows, reference, is_valid = read_ferplus(root)
    names = [rows["names"][i] for i in rows["kept"]]
    match = match_images(images, reference, is_valid, names)
    if cache_file is not None:
        _write_cache(cache_file, match)
    return match


def vote_distribution(votes):
    """float64 (N, 7) distributions in FER2013's class order (angry, disgust, fear, happy, sad,
    surprise, neutral) of (N, 10) FERPlus vote counts: contempt, unknown and NF votes dropped and
    the rest renormalised; a row with no vote left is all zeros."""
    votes = np.asarray(votes, np.float64).reshape(-1, VOTES)
    out = np.zeros((len(votes), CLASSES), np.float64)
    out[:, EMOTION_LABELS] = votes[:, :len(EMOTION_COLUMNS)]
    total = out.sum(axis=1, keepdims=True)
    return np.divide(out, total, out=np.zeros_like(out), where=total > 0)


def ferplus_targets(labels, match, root, weight=1.0):
    """(soft (N, 7) float32, used (N,) bool): per row `weight` times the matched FER2013Train image's
    vote distribution plus (1 - weight) times the one-hot of FER2013's `labels`; rows without a
    match, or whose image has no emotion vote left, keep the one-hot (`used` False)."""
    labels = np.asarray(labels, np.int64)
    soft = np.eye(CLASSES)[labels]
    used = match.status == MATCHED
    if used.any():
        rows, _, _, _ = ferplus_folders.read_label_files(Path(root), ("Training",), VOTES)
        index = {name: i for i, name in enumerate(rows["names"]) if name}
        wanted = [name.split("|") for name in match.names[used]]
        missing = sorted({name for group in wanted for name in group} - set(index))
        if missing:  # the label file changed since the match was cached
            raise DatasetError(f"{Path(root) / ferplus_folders.FOLDERS['Training'] / ferplus_folders.LABEL_FILE}: no row "
                               f"for {missing[0]}, a matched image; delete the FERPlus match cache in {_cache_root()}")
        votes = np.stack([rows["votes"][[index[name] for name in group]].sum(axis=0) for group in wanted])
        distribution = vote_distribution(votes)  # a picture FER2013Train holds several times: their votes pooled
        has_votes = distribution.sum(axis=1) > 0
        chosen = np.flatnonzero(used)[has_votes]
        soft[chosen] = weight * distribution[has_votes] + (1 - weight) * soft[chosen]
        used[np.flatnonzero(used)[~has_votes]] = False
    return soft.astype(np.float32), used


def apply_ferplus_targets(record, root, weight=1.0, training=None, source=None, cache=True):
    """`record` with FERPlus targets in `extra["soft_labels"]` for its rows marked by `training`
    (a bool mask; None: all rows), the one-hot of its own label for the others; `record.labels`
    stays FER2013's. Also sets `extra["ferplus_images"]` (the matched image per row, "") and
    `extra["ferplus_match"]` (counts: STATUSES, "targets", "no_votes", "rows")."""
    from dataclasses import replace

    root = check_folder(root)
    weight = check_weight(weight)
    if len(record.class_names) != CLASSES:
        raise DatasetError(f"data.options.{OPTION}: FERPlus targets map to FER2013's {CLASSES} classes, and "
                           f"{record.name} has {len(record.class_names)}")
    n = len(record)
    training = np.ones(n, bool) if training is None else np.asarray(training, bool)
    soft = np.eye(CLASSES, dtype=np.float32)[np.asarray(record.labels, np.int64)]
    images = [""] * n
    summary = {"rows": int(training.sum())}
    if training.any():
        match = match_ferplus(record.images[training], root, source=source, cache=cache)
        targets, used = ferplus_targets(record.labels[training], match, root, weight)
        soft[training] = targets
        for i, name, use in zip(np.flatnonzero(training), match.names, used):
            images[i] = name if use else ""
        summary.update(match.counts())
        summary["targets"] = int(used.sum())
        summary["no_votes"] = int((match.status == MATCHED).sum() - used.sum())
        print(f"note: FERPlus targets ({root}) for {summary['targets']:,} of {summary['rows']:,} training images; "
              f"one-hot labels kept for {summary['unmatched']} unmatched, {summary['ambiguous']} ambiguous, "
              f"{summary['valid']} nearer a FER2013Valid image and {summary['no_votes']} without emotion votes",
              file=sys.stderr)
    extra = {**record.extra, "soft_labels": soft, "ferplus_images": images,
             "ferplus_match": {**summary, "weight": weight, "folder": str(root)}}
    return replace(record, extra=extra)


__all__ = ["FerplusMatch", "apply_ferplus_targets", "ferplus_targets", "match_ferplus", "match_images",
           "vote_distribution"]
