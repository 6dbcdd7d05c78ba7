"""The five landmarks, the template they are aligned to and `FaceLandmarks`, the result of every
detection (fer_keras.data.faces.detect) and of the landmarks cache (fer_keras.data.faces.cache)."""

from dataclasses import dataclass, field

import numpy as np

LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")

# Canonical landmarks of a pre-cropped, roughly aligned face, as fractions of (width, height):
# the per-point median of the MTCNN landmarks found on FER2013 Training rows 0..2999 (2,815 faces),
# mirrored to be left-right symmetric. Used as the fallback for images without a detected face and
# as the target of `align_face`.
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


__all__ = ["LANDMARK_NAMES", "TEMPLATE", "FaceLandmarks"]
