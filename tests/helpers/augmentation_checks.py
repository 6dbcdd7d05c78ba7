"""Checks shared by the tf.data and PyDataset pipeline tests."""

import numpy as np
import pytest

from fer_keras.data import DatasetRecord, PipelineConfig

ROTATION_CONFIG = PipelineConfig(batch_size=32, normalization="none", augmentation={"horizontal_flip": False, "rotation": 30})


def rotation_probe():
    """32 copies of a 45x45 image with a dot at the centre and one 16 px right of it."""
    image = np.zeros((1, 45, 45, 1), np.uint8)
    image[0, 22, 22] = 255
    image[0, 22, 38] = 255
    return DatasetRecord("probe", np.repeat(image, 32, axis=0), np.zeros(32, np.int64), tuple("abcdefg"))


def assert_rotated_about_the_centre(batch, limit=30):
    """The centre dot stays put; the other stays 16 px away at angles within +-limit, spread out."""
    angles = []
    for out in np.asarray(batch)[..., 0].copy():
        assert out[22, 22] > 200
        out[21:24, 21:24] = 0
        ys, xs = np.nonzero(out > 20)
        weights = out[ys, xs]
        cy, cx = np.average(ys, weights=weights), np.average(xs, weights=weights)
        assert np.hypot(cy - 22, cx - 22) == pytest.approx(16, abs=0.6)
        angles.append(np.degrees(np.arctan2(cy - 22, cx - 22)))
    assert max(np.abs(angles)) <= limit + 0.5 and np.std(angles) > 5
