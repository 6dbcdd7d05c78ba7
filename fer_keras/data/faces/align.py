"""Alignment: the least-squares similarity taking five landmarks onto `TEMPLATE` at the output
size (`alignment_matrix`), and the warp that applies it (`align_face`; large faces are
area-averaged first, see `_shrink_first`)."""

import numpy as np

from fer_keras.data.faces.checks import _check_image, _check_landmarks, _check_size, _check_template
from fer_keras.data.faces.landmarks import FaceLandmarks
from fer_keras.errors import ArgumentError

BORDERS = ("replicate", "constant", "reflect")

# A warp that shrinks more than this is preceded by an area-averaging resize (`_shrink_first`).
# Read through the package at each call, so that setting `fer_keras.data.faces.MAX_WARP_SHRINK`
# takes effect (benchmarks/predict_geometry.py compares with and without).
MAX_WARP_SHRINK = 0.5


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
        raise ArgumentError("landmarks", problem="all five points coincide; no alignment is defined")
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
        raise ArgumentError("border", problem=f"expected one of {BORDERS}, got {border!r}")
    return {"replicate": cv2.BORDER_REPLICATE, "constant": cv2.BORDER_CONSTANT, "reflect": cv2.BORDER_REFLECT_101}[border]


def _shrink_first(image, matrix, size):
    """(image, matrix) with the same geometry, the image area-averaged first when `matrix` shrinks
    by more than MAX_WARP_SHRINK, so that the warp itself shrinks by MAX_WARP_SHRINK: bilinear
    warping samples 4 of the (1 / scale)² source pixels behind each output pixel, so a large face
    would alias, while resizing all the way to the output's scale would blur it by a second
    interpolation. Only the part of the image the output covers is resized."""
    import cv2

    from fer_keras.data import faces  # the package: see MAX_WARP_SHRINK

    max_shrink = faces.MAX_WARP_SHRINK
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    if scale >= max_shrink:
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
    factor = scale / max_shrink
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


__all__ = ["BORDERS", "MAX_WARP_SHRINK", "align_face", "alignment_matrix"]
