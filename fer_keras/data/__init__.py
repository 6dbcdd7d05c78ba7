"""Dataset readers (one module per distribution format) behind `load_dataset`.

    from fer_keras.data import load_dataset
    train = load_dataset("fer2013", "fer2013.csv.gz", split="Training")
    train.images.shape, train.labels.shape, train.class_names

Readers need NumPy and pandas only (no TensorFlow). Bad input raises `DatasetError` naming the file
and row or path; `skip_bad=True` leaves bad samples out and counts them in `record.skipped`.
"""

import os

from fer_keras.data.errors import DatasetError
from fer_keras.data.fer2013 import load_fer2013
from fer_keras.data.folder import load_folder
from fer_keras.data.labels import CLASS_NAMES
from fer_keras.data.record import DatasetRecord

READERS = {"fer2013": load_fer2013, "folder": load_folder}


def sample_weights(labels):
    """Balanced per-sample weights, exactly sklearn's compute_sample_weight("balanced", labels):
    n_samples / (n_classes_present * count(label)) (AMDCNN's class balancing)."""
    from sklearn.utils.class_weight import compute_sample_weight

    return compute_sample_weight("balanced", labels)


def load_dataset(name, path, split=None, **options):
    """Read dataset `name` from `path` (its distribution format); returns a DatasetRecord."""
    if name not in READERS:
        raise ValueError(f"Unknown dataset {name!r}; available: {', '.join(sorted(READERS))}")
    if name == "fer2013" and os.path.isdir(path):  # the image-folder release: train/, test/
        return load_folder(path, split=split, channels=1, image_size=(48, 48), name="fer2013", **options)
    return READERS[name](path, split=split, **options)


__all__ = ["CLASS_NAMES", "DatasetError", "DatasetRecord", "load_dataset", "sample_weights"]
