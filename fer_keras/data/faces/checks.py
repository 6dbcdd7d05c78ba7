"""Argument checks shared by detection, the cache, alignment and region crops: each returns the
checked value (as an array where it is one) or raises an ArgumentError naming the argument."""

import numpy as np

from fer_keras.data.faces.landmarks import LANDMARK_NAMES, TEMPLATE, FaceLandmarks
from fer_keras.errors import ArgumentError


def _check_images(images, name="images"):
    """(N, H, W, C) uint8 with C in (1, 3), or a list of (H, W, C) uint8 images -> list of arrays."""
    if isinstance(images, np.ndarray):
        if images.ndim != 4 or images.shape[-1] not in (1, 3):
            raise ArgumentError(name, problem=f"expected an (N, H, W, C) array with C = 1 or 3, got shape {images.shape}")
        if images.dtype != np.uint8:
            raise ArgumentError(name, problem=f"expected dtype uint8 (0..255), got {images.dtype}")
        return images
    if isinstance(images, (list, tuple)):
        for i, image in enumerate(images):
            _check_image(image, f"{name}[{i}]")
        return list(images)
    raise ArgumentError(name, problem="expected an (N, H, W, C) uint8 array or a list of (H, W, C) uint8 arrays, got "
                        f"{type(images).__name__}")


def _check_image(image, name="image"):
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[-1] not in (1, 3):
        shape = getattr(image, "shape", type(image).__name__)
        raise ArgumentError(name, problem=f"expected an (H, W, C) array with C = 1 or 3, got {shape}")
    if image.dtype != np.uint8:
        raise ArgumentError(name, problem=f"expected dtype uint8 (0..255), got {image.dtype}")
    if min(image.shape[:2]) < 1:
        raise ArgumentError(name, problem=f"empty image of shape {image.shape}")
    return image


def _check_landmarks(landmarks, batch=None, name="landmarks"):
    """(5, 2) or, with `batch`, (batch, 5, 2) finite float64."""
    if isinstance(landmarks, FaceLandmarks):
        landmarks = landmarks.landmarks
    points = np.asarray(landmarks, dtype=np.float64)
    expected = (5, 2) if batch is None else (batch, 5, 2)
    if points.shape != expected:
        raise ArgumentError(name, problem=f"expected shape {expected} ({', '.join(LANDMARK_NAMES)} as (x, y)), got {points.shape}")
    if not np.isfinite(points).all():
        raise ArgumentError(name, problem="landmarks must be finite numbers")
    return points


def _check_size(size, name="size"):
    if isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, np.integer)) or size < 2:
        raise ArgumentError(name, problem=f"expected an int >= 2 (the square output's side in pixels), got {size!r}")
    return int(size)


def _check_template(template):
    template = TEMPLATE if template is None else template
    points = np.asarray(template, np.float64)
    if points.shape != (5, 2) or not np.isfinite(points).all():
        raise ArgumentError("template", problem=f"expected (5, 2) finite (x, y) fractions of the output size, got shape "
                            f"{points.shape}")
    return points
