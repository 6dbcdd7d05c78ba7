"""Photos written to disk for `fer-keras predict`, and a predictor stub that finds no face (the
file handling of predict without a model; the subprocess of a reliability test imports it too)."""

import numpy as np


def write_rgb(path, image):
    """Write an RGB array as an image file; return the path."""
    import cv2

    assert cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return path


def photo(path, value=90):
    """A 40x50 grey photo of `value`, its folder made; return the path."""
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full((40, 50, 3), value, np.uint8))
    return path


class StubPredictor:
    """Finds no face; counts the images it was given."""

    batch_size = 4

    def __init__(self):
        from fer_keras.data.labels import CLASS_NAMES

        self.class_names = CLASS_NAMES
        self.images = 0

    def predict_images(self, images):
        self.images += len(images)
        return [(None, np.zeros((0, len(self.class_names)))) for _ in images]

    def faces(self, marks, probabilities):
        return []
