"""Argument checks shared by detection, the cache, alignment and region crops: each returns the
checked value (as an array where it is one) or raises ValueError naming the argument."""

import numpy as np

from fer_keras.data.faces.landmarks import LANDMARK_NAMES, TEMPLATE, FaceLandmarks


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
