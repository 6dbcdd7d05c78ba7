"""MTCNN detection: `detect_landmarks` (the best face of each dataset image, with the template as
fallback) and `detect_faces` (every face of each photo). Both send images to MTCNN through one
batched generator, `_detections`: grouped by size, grey repeated to RGB, shrunk for detection where
asked, padded with black, and the rows read back in the image's own pixels. Each keeps its own
keyword signature, with defaults from DETECTOR_DEFAULTS (dataset images: one face, low thresholds)
or PHOTO_DEFAULTS (photos: any number of faces, stricter): the two sets differ, and the keywords are
what callers, the CLI and `landmarks_for_record(**detector_options)` pass; `detector_settings` is
the one record of the values used.

mtcnn imports TensorFlow, so it is imported by `get_detector` on first use, never at module import.
"""

import os
import sys
import time

import numpy as np

from fer_keras.data.faces.checks import _check_images, _check_template
from fer_keras.data.faces.landmarks import FaceLandmarks
from fer_keras.errors import ArgumentError

DETECTOR_DEFAULTS = {
    "pad": 0.15,
    "min_face_size": 20,
    "scale_factor": 0.709,
    "thresholds": (0.5, 0.6, 0.7),
}

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
        raise ArgumentError("images", problem=f"too small for MTCNN ({side} px on the short side after padding; at least 21 "
                            "needed)")
    return min(float(min_face_size), side * scale_factor ** (count - 1))


def _plausible(points):
    """Loose sanity check of one detection's (5, 2) landmarks: eyes left-to-right, mouth corners
    left-to-right, the eyes' midpoint above the mouth's."""
    eyes_y, mouth_y = points[:2, 1].mean(), points[3:, 1].mean()
    return points[0, 0] < points[1, 0] and points[3, 0] < points[4, 0] and eyes_y < mouth_y


def _points(row):
    """One detection row's five landmarks as (5, 2) (x, y)."""
    return np.stack([row[6:11], row[11:16]], axis=-1)


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


def detector_settings(pad, min_face_size, scale_factor, thresholds, **more):
    """The detection settings as FaceLandmarks.settings and the landmarks cache record them:
    floats, the thresholds a tuple; `more` (detect_faces' min_confidence) after them."""
    settings = {"pad": float(pad), "min_face_size": float(min_face_size), "scale_factor": float(scale_factor),
                "thresholds": tuple(float(t) for t in thresholds)}
    return {**settings, **{key: float(value) for key, value in more.items()}}


def _check_options(batch_size, pad, thresholds):
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ArgumentError("batch_size", problem=f"expected a positive int, got {batch_size!r}")
    if not 0 <= float(pad) <= 2:
        raise ArgumentError("pad", problem=f"expected a fraction of the image side in [0, 2], got {pad!r}")
    if len(tuple(thresholds)) != 3:
        raise ArgumentError("thresholds", problem=f"expected three values (P-Net, R-Net, O-Net), got {thresholds!r}")


def _detections(images, batch_size, pad, min_face_size, scale_factor, thresholds, device, max_side=None):
    """MTCNN on checked `images` (a list or an (N, H, W, C) array), in batches: yields
    (chunk, rows) for each call, chunk the indices of its images and rows mtcnn 1.0's numpy rows
    [image in chunk, x1, y1, x2, y2, confidence, 5 x, 5 y] (K, 16), most confident first, with
    boxes and landmarks in the image's own pixels (padding removed, shrinking undone); K may be 0.

    Images are grouped by shape (mtcnn 1.0 pads mixed sizes to one and then mis-assigns the
    offsets), grey is repeated to RGB, an image whose long side exceeds `max_side` is shrunk to it
    (area averaging), and `pad` times the short side of black is added on every side. At most
    `batch_size` images and about 4M pixels go into one call.
    """
    if not len(images):
        return
    import cv2

    from fer_keras.data import faces  # the package: a replaced `faces.get_detector` is the one used

    detector = faces.get_detector(device)
    t_pnet, t_rnet, t_onet = (float(t) for t in thresholds)
    groups = {}
    for i in range(len(images)):
        groups.setdefault(tuple(images[i].shape), []).append(i)
    for (height, width, channels), members in groups.items():
        shrink = 1.0 if max_side is None else min(1.0, float(max_side) / max(height, width))
        small = (max(1, round(width * shrink)), max(1, round(height * shrink)))
        short = min(small)
        border = int(round(pad * short))
        face_size = _pyramid_min_face_size(short + 2 * border, min_face_size, scale_factor)
        pixels = (small[0] + 2 * border) * (small[1] + 2 * border)
        step = max(1, min(int(batch_size), (1 << 22) // pixels))  # at most ~4M pixels a call
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
                yield chunk, np.zeros((0, 16))
                continue
            rows = rows[np.argsort(-rows[:, 5], kind="stable")]  # most confident first (a copy)
            if not np.issubdtype(rows.dtype, np.floating):
                rows = rows.astype(np.float64)
            rows[:, 1:5] = (rows[:, 1:5] - border) / shrink
            rows[:, 6:16] = (rows[:, 6:16] - border) / shrink
            yield chunk, rows


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
    _check_options(batch_size, pad, thresholds)
    template = _check_template(template)
    sizes = np.array([image.shape[:2] for image in images], np.int64).reshape(n, 2)
    boxes = np.zeros((n, 4), np.float32)
    landmarks = np.zeros((n, 5, 2), np.float32)
    confidences = np.zeros(n, np.float32)
    found = np.zeros(n, bool)
    rejected = 0
    progress = _Progress(n, "MTCNN", n >= 1000 if progress is None else bool(progress))
    done = 0
    for chunk, rows in _detections(images, batch_size, pad, min_face_size, scale_factor, thresholds, device):
        for local in np.unique(rows[:, 0]).astype(int):
            i = chunk[local]
            for row in rows[rows[:, 0] == local]:
                points = _points(row)
                if _plausible(points):
                    boxes[i] = row[1:5]
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
    settings = detector_settings(pad, min_face_size, scale_factor, thresholds)
    return FaceLandmarks(boxes, landmarks, confidences, found, sizes, rejected=rejected, settings=settings)


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
    _check_options(batch_size, pad, thresholds)
    if max_side is not None and max_side < 24:
        raise ArgumentError("max_side", problem=f"expected None or at least 24 pixels, got {max_side!r}")
    settings = detector_settings(pad, min_face_size, scale_factor, thresholds, min_confidence=min_confidence)
    faces = [[] for _ in images]
    rejected = [0] * len(images)
    options = (batch_size, pad, min_face_size, scale_factor, settings["thresholds"], device)
    for chunk, rows in _detections(images, *options, max_side=max_side):
        for row in rows:
            if row[5] < min_confidence:
                continue
            i = chunk[int(row[0])]
            points = _points(row)
            if plausible_only and not _plausible(points):
                rejected[i] += 1
                continue
            faces[i].append((row[1:5], points, row[5]))
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


__all__ = ["DETECTOR_DEFAULTS", "PHOTO_DEFAULTS", "detect_faces", "detect_landmarks", "get_detector"]
