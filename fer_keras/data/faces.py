"""Face detection, 5-point alignment and MrCAR's region crops (face, eyes band, mouth band).

    from fer_keras.data import load_dataset
    from fer_keras.data.faces import landmarks_for_record, region_crops_for_record
    train = load_dataset("fer2013", "fer2013.csv.gz", split="Training")
    marks = landmarks_for_record(train)            # MTCNN once, then read from the .npz cache
    marks.report                                   # {"images": 28709, "found": ..., "fallback": ...}
    regions = region_crops_for_record(train, marks, 44)   # {"face", "eyes", "mouth"}: (N, 44, 44, 1) uint8

Detection uses the `mtcnn` package (its P/R/O-Net weights ship inside it); it imports TensorFlow, so
it is imported inside the functions that run it, never at module import. Each image gets the most
confident face's box, confidence and five landmarks, in this order and as (x, y) pixel coordinates:
left eye, right eye, nose, left mouth corner, right mouth corner ("left" = smaller x, the image's
left). Images where no plausible face is found get `TEMPLATE` scaled to the image size (pre-cropped,
roughly aligned faces such as FER2013's sit close to it), are marked in `found` and counted in
`report`: nothing is dropped. Callers who prefer the paper's choice ("MTCNN ... to remove parts
without faces") select `images[marks.found]`.

Small images: FER2013's 48x48 crops show the face filling the frame, larger than MTCNN's image
pyramid reaches. Each image is padded by `pad` (15% of its short side) with black on every side
before detection, which adds the larger windows; stage thresholds are lowered from mtcnn's (0.6,
0.7, 0.8) to (0.5, 0.6, 0.7), since every image is expected to hold a face. Upscaling did not help
(docs/architectures.md, "Faces and MrCAR regions", has the measurements). Images are sent to
MTCNN in batches (`batch_size`), which is ~20x faster per image than one at a time.

Photos (`detect_faces`): every face of each image, with mtcnn's own stage thresholds (0.6, 0.7,
0.8), a minimum confidence and large images shrunk for detection (`PHOTO_DEFAULTS`); an image
without a face gives an empty result (no template fallback). `fer-keras predict` uses it.

Alignment is the least-squares similarity (rotation, uniform scale, translation; no reflection)
taking the five landmarks onto `TEMPLATE` at the output size. Region geometry is in
`REGION_GEOMETRY`, in units of the template's inter-ocular distance, see `region_matrices`.
"""

import hashlib
import os
import sys
import time
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fer_keras.data.errors import DatasetError

LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
REGIONS = ("face", "eyes", "mouth")

# Canonical landmarks of a pre-cropped, roughly aligned face, as fractions of (width, height):
# the per-point median of the MTCNN landmarks found on FER2013 Training rows 0..2999 (2,815 faces),
# mirrored to be left-right symmetric. Used as the fallback for images without a detected face and
# as the target of `align_face`.
# A warp that shrinks more than this is preceded by an area-averaging resize (`_shrink_first`).
MAX_WARP_SHRINK = 0.5

TEMPLATE = np.array(
    [
        [0.308, 0.375],  # left eye
        [0.692, 0.375],  # right eye
        [0.500, 0.586],  # nose
        [0.341, 0.773],  # mouth left
        [0.659, 0.773],  # mouth right
    ],
    np.float32,
)

# Region bands in units of the template's inter-ocular distance d (0.384 of the face's width),
# around the aligned landmarks: centred horizontally on the midpoint of the two eyes (of the two
# mouth corners), `width` wide, from `above` d above to `below` d below that midpoint.
REGION_GEOMETRY = {
    "eyes": {"width": 2.0, "above": 0.6, "below": 0.4},
    "mouth": {"width": 1.8, "above": 0.45, "below": 0.55},
}

DETECTOR_DEFAULTS = {
    "pad": 0.15,
    "min_face_size": 20,
    "scale_factor": 0.709,
    "thresholds": (0.5, 0.6, 0.7),
}
BORDERS = ("replicate", "constant", "reflect")
CACHE_VERSION = 1


@dataclass
class FaceLandmarks:
    """Per-image detection results; arrays share the first axis (N).

    boxes (N, 4) float32 x1, y1, x2, y2 in the image's pixels (a detected box may reach past the
    image: FER2013's faces fill the frame; the whole image for a fallback); landmarks (N, 5, 2)
    float32 (x, y) in `LANDMARK_NAMES` order; confidences (N,) float32 (0 for a fallback); found
    (N,) bool; sizes (N, 2) int64 (H, W) of each image. `rejected` counts detections discarded as
    geometrically implausible (these images are fallbacks too). `cache_file` is the .npz read or
    written (None without a cache) and `from_cache` whether it was read.
    """

    boxes: np.ndarray
    landmarks: np.ndarray
    confidences: np.ndarray
    found: np.ndarray
    sizes: np.ndarray
    rejected: int = 0
    cache_file: str = None
    from_cache: bool = False
    settings: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.found)

    @property
    def report(self):
        """{"images", "found", "fallback", "rejected", "found_rate"}: fallbacks are the images given
        the template (no face, or only implausible ones: `rejected` of them)."""
        n, k = len(self.found), int(self.found.sum())
        return {"images": n, "found": k, "fallback": n - k, "rejected": int(self.rejected),
                "found_rate": k / n if n else 0.0}

    def __getitem__(self, index):
        """The results for a subset (an index array, a slice or a boolean mask) as FaceLandmarks."""
        if isinstance(index, (int, np.integer)):
            index = [index]
        return FaceLandmarks(
            self.boxes[index], self.landmarks[index], self.confidences[index], self.found[index], self.sizes[index],
            settings=dict(self.settings),
        )


# ----------------------------------------------------------------------------------------- checks


def _check_images(images, name="images"):
    """(N, H, W, C) uint8 with C in (1, 3), or a list of (H, W, C) uint8 images -> list of arrays."""
    if isinstance(images, np.ndarray):
        if images.ndim != 4 or images.shape[-1] not in (1, 3):
            raise ValueError(f"{name}: expected an (N, H, W, C) array with C = 1 or 3, got shape {images.shape}")
        if images.dtype != np.uint8:
            raise ValueError(f"{name}: expected dtype uint8 (0..255), got {images.dtype}")
        return images
    if isinstance(images, (list, tuple)):
        for i, image in enumerate(images):
            _check_image(image, f"{name}[{i}]")
        return list(images)
    raise ValueError(
        f"{name}: expected an (N, H, W, C) uint8 array or a list of (H, W, C) uint8 arrays, got {type(images).__name__}"
    )


def _check_image(image, name="image"):
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[-1] not in (1, 3):
        shape = getattr(image, "shape", type(image).__name__)
        raise ValueError(f"{name}: expected an (H, W, C) array with C = 1 or 3, got {shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"{name}: expected dtype uint8 (0..255), got {image.dtype}")
    if min(image.shape[:2]) < 1:
        raise ValueError(f"{name}: empty image of shape {image.shape}")
    return image


def _check_landmarks(landmarks, batch=None, name="landmarks"):
    """(5, 2) or, with `batch`, (batch, 5, 2) finite float64."""
    if isinstance(landmarks, FaceLandmarks):
        landmarks = landmarks.landmarks
    points = np.asarray(landmarks, dtype=np.float64)
    expected = (5, 2) if batch is None else (batch, 5, 2)
    if points.shape != expected:
        raise ValueError(f"{name}: expected shape {expected} ({', '.join(LANDMARK_NAMES)} as (x, y)), got {points.shape}")
    if not np.isfinite(points).all():
        raise ValueError(f"{name}: landmarks must be finite numbers")
    return points


def _check_size(size, name="size"):
    if isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, np.integer)) or size < 2:
        raise ValueError(f"{name}: expected an int >= 2 (the square output's side in pixels), got {size!r}")
    return int(size)


def _check_template(template):
    template = TEMPLATE if template is None else template
    points = np.asarray(template, np.float64)
    if points.shape != (5, 2) or not np.isfinite(points).all():
        raise ValueError(f"template: expected (5, 2) finite (x, y) fractions of the output size, got shape {points.shape}")
    return points


# -------------------------------------------------------------------------------------- detection


_DETECTORS = {}


def get_detector(device="CPU:0"):
    """The (shared) mtcnn.MTCNN for `device`; imports mtcnn and TensorFlow on first use."""
    if device not in _DETECTORS:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        from fer_keras.quiet import stderr_silenced

        with stderr_silenced():
            from mtcnn import MTCNN

            _DETECTORS[device] = MTCNN(device=device)
    return _DETECTORS[device]


def _pyramid_min_face_size(side, min_face_size, scale_factor):
    """mtcnn 1.0 sizes its pyramid from the image alone (not from min_face_size), so too large a
    min_face_size shrinks the last level below P-Net's 12x12 input and it fails; return the largest
    min_face_size <= the one asked for that keeps every level >= 12 pixels."""
    count = round(-((np.log(side / 12) / np.log(scale_factor)) + 1))
    if count < 1:
        raise ValueError(f"images: too small for MTCNN ({side} px on the short side after padding; at least 21 needed)")
    return min(float(min_face_size), side * scale_factor ** (count - 1))


def _plausible(points):
    """Loose sanity check of one detection's (5, 2) landmarks: eyes left-to-right, mouth corners
    left-to-right, the eyes' midpoint above the mouth's."""
    eyes_y, mouth_y = points[:2, 1].mean(), points[3:, 1].mean()
    return points[0, 0] < points[1, 0] and points[3, 0] < points[4, 0] and eyes_y < mouth_y


class _Progress:
    """A one-line progress report on stderr (\\r-updated on a terminal, every ~10% otherwise)."""

    def __init__(self, total, label, enabled):
        self.total, self.label, self.enabled = total, label, enabled and total > 0
        self.start = self.last = time.perf_counter()
        self.tty = hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
        self.next_mark = 0.1

    def update(self, done, found, final=False):
        if not self.enabled:
            return
        now = time.perf_counter()
        fraction = done / self.total
        if not final and (done >= self.total or (now - self.last < 0.5 if self.tty else fraction < self.next_mark)):
            return
        self.last = now
        self.next_mark = np.floor(fraction * 10 + 1) / 10
        elapsed = now - self.start
        eta = elapsed / max(done, 1) * (self.total - done)
        line = (
            f"{self.label}: {done}/{self.total} ({100 * fraction:.0f}%), {1000 * elapsed / max(done, 1):.1f} ms/image, "
            f"face found in {100 * found / max(done, 1):.1f}%, " + (f"{elapsed:.0f} s" if final else f"ETA {eta:.0f} s")
        )
        sys.stderr.write(("\r" + line + ("\n" if final else "")) if self.tty else line + "\n")
        sys.stderr.flush()


def detect_landmarks(
    images,
    batch_size=256,
    pad=DETECTOR_DEFAULTS["pad"],
    min_face_size=DETECTOR_DEFAULTS["min_face_size"],
    scale_factor=DETECTOR_DEFAULTS["scale_factor"],
    thresholds=DETECTOR_DEFAULTS["thresholds"],
    template=None,
    device="CPU:0",
    progress=None,
):
    """MTCNN on each image: the most confident face's box, confidence and five landmarks.

    Args:
        images: (N, H, W, C) uint8 array, C = 1 (grayscale, repeated to RGB) or 3 (RGB), or a list
            of (H, W, C) uint8 images (of any sizes).
        batch_size: images per MTCNN call (its batch API; lowered for large images).
        pad: black border added on every side before detection, as a fraction of the short side.
        min_face_size: MTCNN's smallest face, in (padded) pixels; lowered where mtcnn's pyramid
            needs it (see `_pyramid_min_face_size`).
        scale_factor: MTCNN's pyramid step.
        thresholds: P-Net, R-Net and O-Net confidence thresholds.
        template: fallback landmarks as (5, 2) fractions of (W, H); `TEMPLATE` by default.
        device: TensorFlow device for MTCNN ("CPU:0", "GPU:0").
        progress: show a progress line on stderr; None: when there are 1,000 images or more.

    Returns:
        FaceLandmarks. Images without a plausible face get the template and `found` False.
    """
    images = _check_images(images)
    n = len(images)
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")
    if not 0 <= float(pad) <= 2:
        raise ValueError(f"pad: expected a fraction of the image side in [0, 2], got {pad!r}")
    if len(tuple(thresholds)) != 3:
        raise ValueError(f"thresholds: expected three values (P-Net, R-Net, O-Net), got {thresholds!r}")
    template = _check_template(template)
    sizes = np.array([image.shape[:2] for image in images], np.int64).reshape(n, 2)
    boxes = np.zeros((n, 4), np.float32)
    landmarks = np.zeros((n, 5, 2), np.float32)
    confidences = np.zeros(n, np.float32)
    found = np.zeros(n, bool)
    rejected = 0
    progress = _Progress(n, "MTCNN", n >= 1000 if progress is None else bool(progress))
    if n:
        import cv2

        detector = get_detector(device)
        t_pnet, t_rnet, t_onet = (float(t) for t in thresholds)
        # Group by shape: mtcnn 1.0 pads mixed sizes to one and then mis-assigns the offsets.
        groups = {}
        for i in range(n):
            groups.setdefault(tuple(images[i].shape), []).append(i)
        done = 0
        for shape, members in groups.items():
            height, width, channels = shape
            border = int(round(pad * min(height, width)))
            side = min(height, width) + 2 * border
            face_size = _pyramid_min_face_size(side, min_face_size, scale_factor)
            pixels = (height + 2 * border) * (width + 2 * border)
            step = max(1, min(int(batch_size), (1 << 22) // pixels))  # at most ~4M pixels a call
            for start in range(0, len(members), step):
                chunk = members[start : start + step]
                batch = []
                for i in chunk:
                    image = np.ascontiguousarray(images[i])
                    rgb = np.repeat(image, 3, axis=-1) if channels == 1 else image
                    if border:
                        rgb = cv2.copyMakeBorder(rgb, border, border, border, border, cv2.BORDER_CONSTANT, value=0)
                    batch.append(rgb)
                rows = detector.detect_faces(
                    batch, fit_to_image=False, box_format="xyxy", output_type="numpy",
                    min_face_size=face_size, scale_factor=scale_factor,
                    threshold_pnet=t_pnet, threshold_rnet=t_rnet, threshold_onet=t_onet,
                )
                rows = np.asarray(rows)
                if rows.ndim == 2 and rows.shape[1] >= 16 and len(rows):
                    rows = rows[np.argsort(-rows[:, 5], kind="stable")]  # most confident first
                    for local in np.unique(rows[:, 0]).astype(int):
                        i = chunk[local]
                        for row in rows[rows[:, 0] == local]:
                            points = np.stack([row[6:11], row[11:16]], axis=-1) - border
                            if _plausible(points):
                                boxes[i] = row[1:5] - border
                                landmarks[i] = points
                                confidences[i] = row[5]
                                found[i] = True
                                break
                        else:
                            rejected += 1
                done += len(chunk)
                progress.update(done, int(found.sum()))
    fallback = ~found
    landmarks[fallback] = template[None] * sizes[fallback][:, None, ::-1]
    boxes[fallback] = np.concatenate([np.zeros((fallback.sum(), 2)), sizes[fallback][:, ::-1]], axis=1)
    progress.update(n, int(found.sum()), final=True)
    settings = {"pad": float(pad), "min_face_size": float(min_face_size), "scale_factor": float(scale_factor),
                "thresholds": tuple(float(t) for t in thresholds)}
    return FaceLandmarks(boxes, landmarks, confidences, found, sizes, rejected=rejected, settings=settings)


# Settings for photos (any number of faces, possibly none): mtcnn's own stage thresholds, and only
# detections at least `min_confidence` confident are kept.
PHOTO_DEFAULTS = {
    "pad": 0.15,
    "min_face_size": 20,
    "scale_factor": 0.709,
    "thresholds": (0.6, 0.7, 0.8),
    "min_confidence": 0.9,
    "max_side": 1280,
}


def detect_faces(
    images,
    batch_size=16,
    pad=PHOTO_DEFAULTS["pad"],
    min_face_size=PHOTO_DEFAULTS["min_face_size"],
    scale_factor=PHOTO_DEFAULTS["scale_factor"],
    thresholds=PHOTO_DEFAULTS["thresholds"],
    min_confidence=PHOTO_DEFAULTS["min_confidence"],
    max_side=PHOTO_DEFAULTS["max_side"],
    plausible_only=True,
    device="CPU:0",
):
    """MTCNN on photos: every face of each image (not only the best one, as `detect_landmarks`).

    Args:
        images: one (H, W, C) uint8 image (C = 1 or 3, RGB), a list of them (any sizes) or an
            (N, H, W, C) uint8 array.
        batch_size: images of one size per MTCNN call.
        pad: black border added on every side before detection, as a fraction of the short side
            (lets MTCNN find a face that fills the frame).
        min_face_size, scale_factor, thresholds: MTCNN's (see `detect_landmarks`).
        min_confidence: detections less confident than this are dropped.
        max_side: images whose long side is larger are shrunk to it for detection (coordinates
            are given in the original image's pixels); None: never.
        plausible_only: drop detections with implausible landmarks (eyes not left-to-right above
            the mouth); counted in `rejected`.
        device: TensorFlow device for MTCNN.

    Returns:
        For one image, a FaceLandmarks with one row per face (most confident first; empty when
        there is none), boxes x1, y1, x2, y2 and landmarks in the image's pixels, `found` all
        True and `sizes` the image's (H, W) on every row. For several images, a list of them.
    """
    single = isinstance(images, np.ndarray) and images.ndim == 3
    images = _check_images([images] if single else images)
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")
    if not 0 <= float(pad) <= 2:
        raise ValueError(f"pad: expected a fraction of the image side in [0, 2], got {pad!r}")
    if len(tuple(thresholds)) != 3:
        raise ValueError(f"thresholds: expected three values (P-Net, R-Net, O-Net), got {thresholds!r}")
    if max_side is not None and max_side < 24:
        raise ValueError(f"max_side: expected None or at least 24 pixels, got {max_side!r}")
    settings = {"pad": float(pad), "min_face_size": float(min_face_size), "scale_factor": float(scale_factor),
                "thresholds": tuple(float(t) for t in thresholds), "min_confidence": float(min_confidence)}
    faces = [[] for _ in images]
    rejected = [0] * len(images)
    if len(images):
        import cv2

        detector = get_detector(device)
        t_pnet, t_rnet, t_onet = settings["thresholds"]
        groups = {}
        for i, image in enumerate(images):
            groups.setdefault(tuple(image.shape), []).append(i)
        for (height, width, channels), members in groups.items():
            shrink = 1.0 if max_side is None else min(1.0, float(max_side) / max(height, width))
            small = (max(1, round(width * shrink)), max(1, round(height * shrink)))
            short = min(small)
            border = int(round(pad * short))
            face_size = _pyramid_min_face_size(short + 2 * border, min_face_size, scale_factor)
            pixels = (small[0] + 2 * border) * (small[1] + 2 * border)
            step = max(1, min(int(batch_size), (1 << 22) // pixels))
            for start in range(0, len(members), step):
                chunk = members[start : start + step]
                batch = []
                for i in chunk:
                    image = np.ascontiguousarray(images[i])
                    rgb = np.repeat(image, 3, axis=-1) if channels == 1 else image
                    if shrink < 1.0:
                        rgb = cv2.resize(rgb, small, interpolation=cv2.INTER_AREA)
                    if border:
                        rgb = cv2.copyMakeBorder(rgb, border, border, border, border, cv2.BORDER_CONSTANT, value=0)
                    batch.append(rgb)
                rows = np.asarray(detector.detect_faces(
                    batch, fit_to_image=False, box_format="xyxy", output_type="numpy",
                    min_face_size=face_size, scale_factor=scale_factor,
                    threshold_pnet=t_pnet, threshold_rnet=t_rnet, threshold_onet=t_onet,
                ))
                if rows.ndim != 2 or rows.shape[1] < 16 or not len(rows):
                    continue
                rows = rows[np.argsort(-rows[:, 5], kind="stable")]
                for row in rows:
                    if row[5] < min_confidence:
                        continue
                    i = chunk[int(row[0])]
                    points = (np.stack([row[6:11], row[11:16]], axis=-1) - border) / shrink
                    if plausible_only and not _plausible(points):
                        rejected[i] += 1
                        continue
                    faces[i].append(((row[1:5] - border) / shrink, points, row[5]))
    results = []
    for i, found in enumerate(faces):
        k = len(found)
        results.append(FaceLandmarks(
            np.array([f[0] for f in found], np.float32).reshape(k, 4),
            np.array([f[1] for f in found], np.float32).reshape(k, 5, 2),
            np.array([f[2] for f in found], np.float32).reshape(k),
            np.ones(k, bool),
            np.tile(np.asarray(images[i].shape[:2], np.int64), (k, 1)),
            rejected=rejected[i],
            settings=dict(settings),
        ))
    return results[0] if single else results


# ------------------------------------------------------------------------------------------ cache


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


def landmarks_cache_file(record, settings):
    """Where `landmarks_for_record` caches `record`'s landmarks for detector `settings`.

    With a source file or folder: beside it (or, where that folder is read-only, under
    $FER_KERAS_CACHE or ~/.cache/fer_keras; the placement rule of the FER2013 reader's cache), named
    `.<source name>.landmarks.<key>.npz`, the key hashing the source's resolved path, size and
    modification time, the record's name, split and length, a cheap digest of its images and the
    settings. Without one: under the cache root, keyed by a digest of every image byte.
    """
    from fer_keras.data.fer2013 import _cache_path

    source = Path(record.source) if record.source else None
    settings_text = repr(sorted(settings.items()))
    if source is not None and source.exists():
        stat = source.stat()
        parts = [str(source.resolve()), stat.st_size, stat.st_mtime_ns, record.name, record.split, len(record.images),
                 _images_digest(record.images, full=False), settings_text, CACHE_VERSION]
        key = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:16]
        return _cache_path(source).parent / f".{source.name}.landmarks.{key}.npz"
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
        raise ValueError(f"landmarks_for_record: unknown option(s) {sorted(unknown)}")
    settings = {k: detector_options.get(k, v) for k, v in DETECTOR_DEFAULTS.items()}
    settings = {k: tuple(float(t) for t in v) if k == "thresholds" else float(v) for k, v in settings.items()}
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
    marks = detect_landmarks(images, template=template, progress=progress, **detector_options)
    if path is not None and _save_cache(path, key_text, marks):
        marks.cache_file = str(path)
    return marks


# -------------------------------------------------------------------------------------- alignment


def _similarity(source, target, rotation=True):
    """Least-squares similarity (no reflection) taking source (..., 5, 2) onto target (..., 5, 2):
    (..., 2, 3) matrices. In complex numbers z -> a z + b, a = Σ conj(z̃) w̃ / Σ |z̃|², the exact
    minimiser of Σ |a z + b - w|² (Umeyama's solution restricted to 2-D). rotation=False: a is
    real (scale and translation only), the minimiser a = Σ Re(conj(z̃) w̃) / Σ |z̃|²."""
    z = source[..., 0] + 1j * source[..., 1]
    w = target[..., 0] + 1j * target[..., 1]
    zc = z - z.mean(axis=-1, keepdims=True)
    wc = w - w.mean(axis=-1, keepdims=True)
    spread = (np.abs(zc) ** 2).sum(axis=-1)
    if np.any(spread < 1e-12):
        raise ValueError("landmarks: all five points coincide; no alignment is defined")
    a = (np.conj(zc) * wc).sum(axis=-1) / spread
    if not rotation:
        a = a.real + 0j
    b = w.mean(axis=-1) - a * z.mean(axis=-1)
    return np.stack(
        [np.stack([a.real, -a.imag, b.real], axis=-1), np.stack([a.imag, a.real, b.imag], axis=-1)], axis=-2
    )


def alignment_matrix(landmarks, output_size, template=None, rotation=True):
    """The 2x3 similarity matrix (float64) taking `landmarks` ((5, 2), or (N, 5, 2) for N matrices)
    onto `template` * output_size (least squares over all five points). rotation=False: scale and
    translation only, the face kept as tilted as it is (FER2013's crops are not de-rotated)."""
    size = _check_size(output_size, "output_size")
    template = _check_template(template) * size
    points = np.asarray(landmarks.landmarks if isinstance(landmarks, FaceLandmarks) else landmarks, np.float64)
    if points.ndim == 3:
        points = _check_landmarks(points, batch=len(points))
    else:
        points = _check_landmarks(points)
    return _similarity(points, np.broadcast_to(template, points.shape), rotation=rotation)


def _border(border):
    import cv2

    if border not in BORDERS:
        raise ValueError(f"border: expected one of {BORDERS}, got {border!r}")
    return {"replicate": cv2.BORDER_REPLICATE, "constant": cv2.BORDER_CONSTANT, "reflect": cv2.BORDER_REFLECT_101}[border]


def _shrink_first(image, matrix, size):
    """(image, matrix) with the same geometry, the image area-averaged first when `matrix` shrinks
    by more than MAX_WARP_SHRINK, so that the warp itself shrinks by MAX_WARP_SHRINK: bilinear
    warping samples 4 of the (1 / scale)² source pixels behind each output pixel, so a large face
    would alias, while resizing all the way to the output's scale would blur it by a second
    interpolation. Only the part of the image the output covers is resized."""
    import cv2

    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    if scale >= MAX_WARP_SHRINK:
        return image, matrix
    height, width = image.shape[:2]
    inverse = cv2.invertAffineTransform(matrix)
    corners = inverse[:, :2] @ np.array([[0, size, 0, size], [0, 0, size, size]], np.float64) + inverse[:, 2:]
    margin = 2.0 / scale
    x0, y0 = (max(0, int(np.floor(v.min() - margin))) for v in corners)
    x1 = min(width, int(np.ceil(corners[0].max() + margin)) + 1)
    y1 = min(height, int(np.ceil(corners[1].max() + margin)) + 1)
    if x1 - x0 < 2 or y1 - y0 < 2:  # the output lies outside the image: the border fills it anyway
        return image, matrix
    part = image[y0:y1, x0:x1]
    factor = scale / MAX_WARP_SHRINK
    new_w, new_h = max(1, round((x1 - x0) * factor)), max(1, round((y1 - y0) * factor))
    small = cv2.resize(part, (new_w, new_h), interpolation=cv2.INTER_AREA).reshape(new_h, new_w, image.shape[-1])
    fx, fy = new_w / (x1 - x0), new_h / (y1 - y0)
    # pixel centres: x = (x' + 0.5) / fx - 0.5 + x0 (cv2.resize's convention), then the old matrix
    to_original = np.array([[1 / fx, 0, 0.5 / fx - 0.5 + x0], [0, 1 / fy, 0.5 / fy - 0.5 + y0], [0, 0, 1]])
    return small, matrix @ to_original


def _warp(image, matrix, size, border_mode):
    import cv2

    image, matrix = _shrink_first(image, np.asarray(matrix, np.float64), size)
    out = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=border_mode, borderValue=0)
    return out.reshape(size, size, image.shape[-1])


def align_face(image, landmarks, output_size, template=None, border="replicate", rotation=True):
    """`image` (H, W, C) uint8 warped by `alignment_matrix` to (output_size, output_size, C) uint8:
    the five landmarks land (in the least-squares sense) on `template` * output_size.
    rotation=False: scale and translation only (the crop geometry of FER2013's images)."""
    image = _check_image(image)
    matrix = alignment_matrix(_check_landmarks(landmarks), output_size, template, rotation=rotation)
    return _warp(image, matrix, int(output_size), _border(border))


def _check_geometry(geometry):
    geometry = REGION_GEOMETRY if geometry is None else geometry
    for region in ("eyes", "mouth"):
        spec = geometry.get(region) if isinstance(geometry, dict) else None
        if not isinstance(spec, dict) or set(spec) != {"width", "above", "below"}:
            raise ValueError(
                f"geometry: expected {{'eyes': {{'width', 'above', 'below'}}, 'mouth': {{...}}}} (units of d), got {geometry!r}"
            )
        if spec["width"] <= 0 or spec["above"] + spec["below"] <= 0:
            raise ValueError(f"geometry[{region!r}]: the band must have a positive width and height, got {spec}")
    return geometry


def region_matrices(landmarks, size, template=None, geometry=None):
    """{"face", "eyes", "mouth"}: the (N, 2, 3) (or (2, 3) for one (5, 2) set) matrices taking
    image pixels to each (size, size) region crop.

    face: `alignment_matrix` (the aligned face). In that aligned frame, with d the template's
    inter-ocular distance (TEMPLATE: 0.384 * size) and the landmarks mapped by the face matrix:
    eyes: the rectangle `width` d wide centred on the eyes' midpoint, from `above` d above to
    `below` d below it (defaults 2.0 d x 1.0 d: 0.6 d above, 0.4 d below); mouth: the same around
    the mouth corners' midpoint (1.8 d x 1.0 d: 0.45 d above, 0.55 d below). Each rectangle is
    stretched to size x size, as MrCAR feeds the three regions at one input size.
    """
    size = _check_size(size)
    geometry = _check_geometry(geometry)
    template_points = _check_template(template)
    face = alignment_matrix(landmarks, size, template_points)
    single = face.ndim == 2
    face3 = face[None] if single else face
    points = np.asarray(landmarks.landmarks if isinstance(landmarks, FaceLandmarks) else landmarks, np.float64)
    points = points[None] if single else points
    aligned = np.einsum("nij,nkj->nki", face3[:, :, :2], points) + face3[:, None, :, 2]
    d = np.linalg.norm(template_points[1] - template_points[0]) * size
    result = {"face": face}
    for region, rows in (("eyes", slice(0, 2)), ("mouth", slice(3, 5))):
        spec = geometry[region]
        centre = aligned[:, rows].mean(axis=1)  # (N, 2)
        width, height = spec["width"] * d, (spec["above"] + spec["below"]) * d
        x0 = centre[:, 0] - width / 2
        y0 = centre[:, 1] - spec["above"] * d
        sx, sy = size / width, size / height
        crop = np.zeros((len(face3), 3, 3))
        crop[:, 0, 0], crop[:, 0, 2] = sx, -sx * x0
        crop[:, 1, 1], crop[:, 1, 2] = sy, -sy * y0
        crop[:, 2, 2] = 1.0
        face_h = np.concatenate([face3, np.broadcast_to([0.0, 0.0, 1.0], (len(face3), 1, 3))], axis=1)
        matrix = (crop @ face_h)[:, :2]
        result[region] = matrix[0] if single else matrix
    return result


def region_crops(image, landmarks, size, template=None, geometry=None, border="replicate"):
    """MrCAR's three inputs from one image: {"face", "eyes", "mouth"}, each (size, size, C) uint8
    (geometry: `region_matrices`)."""
    image = _check_image(image)
    matrices = region_matrices(_check_landmarks(landmarks), size, template, geometry)
    mode = _border(border)
    return {region: _warp(image, matrices[region], int(size), mode) for region in REGIONS}


def region_crops_for_record(record, landmarks, size, template=None, geometry=None, border="replicate"):
    """`region_crops` for every image: {"face", "eyes", "mouth"} of (N, size, size, C) uint8.

    record: a DatasetRecord or an (N, H, W, C) uint8 array; landmarks: FaceLandmarks (from
    `landmarks_for_record`) or an (N, 5, 2) array. Scale to [0, 1] (/ 255) for build_mrcar.
    """
    images = record.images if hasattr(record, "images") else record
    if not isinstance(images, np.ndarray):
        raise ValueError(f"record: expected a DatasetRecord or an (N, H, W, C) uint8 array, got {type(record).__name__}")
    images = _check_images(images, "record.images" if hasattr(record, "images") else "record")
    points = _check_landmarks(landmarks, batch=len(images))
    size = _check_size(size)
    matrices = region_matrices(points, size, template, geometry) if len(images) else None
    mode = _border(border)
    out = {region: np.empty((len(images), size, size, images.shape[-1]), np.uint8) for region in REGIONS}
    for i in range(len(images)):
        image = images[i]
        for region in REGIONS:
            out[region][i] = _warp(image, matrices[region][i], size, mode)
    return out


__all__ = [
    "BORDERS",
    "DETECTOR_DEFAULTS",
    "FaceLandmarks",
    "LANDMARK_NAMES",
    "PHOTO_DEFAULTS",
    "REGIONS",
    "REGION_GEOMETRY",
    "TEMPLATE",
    "align_face",
    "alignment_matrix",
    "detect_faces",
    "detect_landmarks",
    "get_detector",
    "landmarks_cache_file",
    "landmarks_for_record",
    "region_crops",
    "region_crops_for_record",
    "region_matrices",
]
