"""Dataset readers (one module per distribution format) behind `load_dataset`.

    from fer_keras.data import load_dataset
    train = load_dataset("fer2013", "fer2013.csv.gz", split="Training")
    train.images.shape, train.labels.shape, train.class_names

Readers need NumPy and pandas only (no TensorFlow). Bad input raises `DatasetError` naming the file
and row or path; `skip_bad=True` leaves bad samples out and counts them in `record.skipped`.
"""

from fer_keras.data.errors import DatasetError
from fer_keras.data.fer2013 import load_fer2013
from fer_keras.data.labels import CLASS_NAMES
from fer_keras.data.record import DatasetRecord

READERS = {"fer2013": load_fer2013}


def load_dataset(name, path, split=None, **options):
    """Read dataset `name` from `path` (its distribution format); returns a DatasetRecord."""
    if name not in READERS:
        raise ValueError(f"Unknown dataset {name!r}; available: {', '.join(sorted(READERS))}")
    return READERS[name](path, split=split, **options)


__all__ = ["CLASS_NAMES", "DatasetError", "DatasetRecord", "load_dataset"]
