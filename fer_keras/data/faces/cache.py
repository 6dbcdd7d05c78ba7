"""The landmarks cache: `landmarks_for_record` runs `detect_landmarks` once per dataset record and
detector settings and reads the result back from an .npz file after that (`landmarks_cache_file`
says where)."""

import hashlib
import os
import warnings
import zipfile
from pathlib import Path

import numpy as np

from fer_keras.data.faces.checks import _check_images, _check_template
from fer_keras.data.faces.detect import DETECTOR_DEFAULTS, detector_settings
from fer_keras.data.faces.landmarks import FaceLandmarks
from fer_keras.errors import ArgumentError, DatasetError

CACHE_VERSION = 1


def _images_digest(images, full):
    """Hex digest of an (N, H, W, C) uint8 array: every byte when `full`, else its shape, each
    image's pixel sum and a strided sample of about a million bytes (cheap even for 35k images,
    and different for a different subset or order of the same source)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr((images.shape, str(images.dtype))).encode())
    flat = np.ascontiguousarray(images).reshape(len(images), -1)
    if full:
        digest.update(flat.tobytes())
    else:
        digest.update(flat.sum(axis=1, dtype=np.uint64).tobytes())
        values = flat.reshape(-1)
        digest.update(np.ascontiguousarray(values[:: max(1, values.size // (1 << 20))]).tobytes())
    return digest.hexdigest()


def _cache_root():
    return Path(os.environ.get("FER_KERAS_CACHE", Path.home() / ".cache" / "fer_keras"))


def _cache_folder(source):
    """The folder holding `source` (a file or a folder) when it is writable, else the cache root:
    the FER2013 reader's placement rule (mode bits as well as access(), since root may write into
    folders marked read-only, and a shared, read-only dataset folder must stay untouched)."""
    parent = source.parent
    if parent.stat().st_mode & 0o222 and os.access(parent, os.W_OK):
        return parent
    return _cache_root()


def landmarks_cache_file(record, settings):
    """Where `landmarks_for_record` caches `record`'s landmarks for detector `settings`.

    With a source file or folder: beside it (or, where the folder holding it is read-only, under
    $FER_KERAS_CACHE or ~/.cache/fer_keras; the placement rule of the FER2013 reader's cache), named
    `.<source name>.landmarks.<key>.npz`, the key hashing the source (a file: a digest of its bytes,
    so the cache survives a re-copied dataset; a folder, as the image-folder readers give: its
    resolved path, size and modification time), the record's name, split and length, a cheap
    digest of its images and the settings. Without one: under the cache root, keyed by a digest of
    every image byte.
    """
    from fer_keras.data.fer2013 import file_digest

    source = Path(record.source) if record.source else None
    settings_text = repr(sorted(settings.items()))
    if source is not None and source.exists():
        if source.is_dir():
            source = source.resolve()  # "." or "data/jaffe/": a name and the folder that holds it
        stat = source.stat()
        where = [file_digest(source)] if source.is_file() else [str(source.resolve()), stat.st_size, stat.st_mtime_ns]
        parts = [*where, record.name, record.split, len(record.images),
                 _images_digest(record.images, full=False), settings_text, CACHE_VERSION]
        key = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:16]
        return _cache_folder(source) / f".{source.name}.landmarks.{key}.npz"
    parts = [record.name, record.split, len(record.images), _images_digest(record.images, full=True), settings_text,
             CACHE_VERSION]
    key = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:16]
    return _cache_root() / f"landmarks.{record.name}.{key}.npz"


def _load_cache(path, key_text):
    try:
        with np.load(path) as data:
            if str(data["key"]) != key_text:
                return None
            return {name: data[name] for name in ("boxes", "landmarks", "confidences", "found", "sizes", "rejected")}
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):  # a damaged cache: detect again
        return None


def _save_cache(path, key_text, marks):
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name[: -len(".npz")] + f".{os.getpid()}.tmp.npz")
        np.savez(tmp, key=key_text, boxes=marks.boxes, landmarks=marks.landmarks, confidences=marks.confidences,
                 found=marks.found, sizes=marks.sizes, rejected=marks.rejected)
        os.replace(tmp, path)
        return True
    except OSError as err:
        warnings.warn(f"landmarks cache not written to {path}: {err}", stacklevel=3)
        return False


def landmarks_for_record(record, cache=True, template=None, progress=None, **detector_options):
    """`detect_landmarks` on `record.images`, cached on disk (see `landmarks_cache_file`).

    Args:
        record: a DatasetRecord (or anything with `images`, `name`, `split`, `source`).
        cache: read / write the cache.
        template: the fallback landmarks (applied when read from the cache too, so changing it
            needs no new detection).
        progress: see `detect_landmarks`.
        **detector_options: `detect_landmarks`' pad, min_face_size, scale_factor, thresholds
            (part of the cache key), batch_size, device (not).

    Returns:
        FaceLandmarks, with `cache_file` and `from_cache` set.
    """
    images = getattr(record, "images", None)
    if not isinstance(images, np.ndarray):
        raise DatasetError(
            f"record: expected a DatasetRecord with an (N, H, W, C) uint8 `images` array, got {type(record).__name__}"
        )
    _check_images(images, f"{getattr(record, 'name', 'record')}.images")
    template = _check_template(template)
    unknown = set(detector_options) - {"pad", "min_face_size", "scale_factor", "thresholds", "batch_size", "device"}
    if unknown:
        raise ArgumentError(None, problem=f"landmarks_for_record: unknown option(s) {sorted(unknown)}")
    settings = detector_settings(**{k: detector_options.get(k, v) for k, v in DETECTOR_DEFAULTS.items()})
    path = landmarks_cache_file(record, settings) if cache else None
    key_text = path.name if path is not None else ""
    if path is not None and path.is_file():
        data = _load_cache(path, key_text)
        if data is not None and len(data["found"]) == len(images):
            found = data["found"].astype(bool)
            landmarks, boxes, sizes = data["landmarks"].copy(), data["boxes"].copy(), data["sizes"]
            landmarks[~found] = template[None] * sizes[~found][:, None, ::-1]
            return FaceLandmarks(boxes, landmarks, data["confidences"], found, sizes, rejected=int(data["rejected"]),
                                 cache_file=str(path), from_cache=True, settings=settings)
    from fer_keras.data import faces  # the package: a replaced `faces.detect_landmarks` is the one used

    marks = faces.detect_landmarks(images, template=template, progress=progress, **detector_options)
    if path is not None and _save_cache(path, key_text, marks):
        marks.cache_file = str(path)
    return marks


__all__ = ["CACHE_VERSION", "landmarks_cache_file", "landmarks_for_record"]
