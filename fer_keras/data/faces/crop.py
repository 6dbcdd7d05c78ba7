"""Face crops for datasets whose images are portraits rather than face crops (JAFFE's 256x256
head-and-shoulders photos): `crop_faces` finds each image's face with MTCNN (`landmarks_for_record`,
so the landmarks are cached on disk), aligns its five landmarks onto `TEMPLATE` and crops a square
of `side` pixels, the geometry `fer-keras predict` gives a photo's face for a FER2013-trained model
(`fer_keras.classify.face_inputs`).

Readers of such datasets call it (`fer_keras.data.jaffe.load_jaffe`, `face_crop=True` by default),
so training, evaluation and k-fold subsets all see the same crops. Images where MTCNN finds no
plausible face are kept, not dropped (labels and subjects stay aligned with the files): their
landmarks are the median position, as fractions of the image, of the faces found in the same
record (where this dataset's portraits hold their face), or `TEMPLATE` over the whole image when
none was found; they are marked False in `extra["face_found"]` and counted in `extra["faces"]`.
"""

import sys
from dataclasses import replace

import numpy as np

from fer_keras.data.faces.align import _border, _warp, alignment_matrix
from fer_keras.data.faces.checks import _check_size


def fallback_landmarks(marks):
    """(N, 5, 2) landmarks in each image's pixels: the detected ones where a face was found, and
    for the others the per-point median of the found faces' landmarks as fractions of their
    images' (W, H), scaled to the image (the template fallback of `detect_landmarks` when no face
    was found at all)."""
    points = np.asarray(marks.landmarks, np.float64).copy()
    found = np.asarray(marks.found, bool)
    if found.any() and not found.all():
        scale = np.asarray(marks.sizes, np.float64)[:, None, ::-1]  # (N, 1, 2): (W, H)
        typical = np.median(points[found] / scale[found], axis=0)
        points[~found] = typical[None] * scale[~found]
    return points


def crop_faces(record, side, rotation=False, border="replicate", cache=True, progress=None, report=True):
    """`record` (a DatasetRecord) with each image replaced by its aligned face crop.

    Args:
        record: a DatasetRecord of (N, H, W, C) uint8 portraits (any H, W; C 1 or 3).
        side: the crops' side in pixels (JAFFE: 48, FER2013's).
        rotation: also de-rotate the face (full similarity); False (default) fits the landmarks
            onto the template by scale and translation only, keeping the face's tilt, as FER2013's
            crops are and as `fer-keras predict` crops faces for models trained on them.
        border: how pixels outside the image are filled ("replicate", "constant", "reflect").
        cache: keep the MTCNN landmarks on disk (`landmarks_for_record`).
        progress: MTCNN's progress line (None: for 1,000 images or more).
        report: print one line to stderr with the faces found.

    Returns:
        A new DatasetRecord: images (N, side, side, C) uint8, labels, subjects and the other
        per-sample entries as they were; `extra["face_found"]` (N,) bool per image and
        `extra["faces"]` the counts ({"detector", "images", "found", "fallback", "rejected",
        "side", "rotation", "cache_file"}).
    """
    from fer_keras.data import faces  # the package: a replaced `faces.landmarks_for_record` is the one used

    side = _check_size(side, "side")
    images = record.images
    n, channels = len(images), images.shape[-1]
    if n:
        marks = faces.landmarks_for_record(record, cache=cache, progress=progress)
        found, rejected, cache_file = np.asarray(marks.found, bool), int(marks.rejected), marks.cache_file
        matrices = alignment_matrix(fallback_landmarks(marks), side, rotation=rotation)
        mode = _border(border)
        crops = np.empty((n, side, side, channels), np.uint8)
        for i in range(n):
            crops[i] = _warp(images[i], matrices[i], side, mode)
    else:
        found, rejected, cache_file = np.zeros(0, bool), 0, None
        crops = np.zeros((0, side, side, channels), np.uint8)
    counts = {"detector": "mtcnn", "images": n, "found": int(found.sum()), "fallback": int(n - found.sum()),
              "rejected": rejected, "side": side, "rotation": bool(rotation), "cache_file": cache_file}
    if report and n:
        fallback = f"; {counts['fallback']} without a face, cropped where this dataset's faces sit" if counts["fallback"] else ""
        print(f"{record.name}: MTCNN found a face in {counts['found']} of {n} images{fallback}; "
              f"aligned {side}x{side} face crops", file=sys.stderr)
    return replace(record, images=crops, extra={**record.extra, "face_found": found, "faces": counts})


__all__ = ["crop_faces", "fallback_landmarks"]
