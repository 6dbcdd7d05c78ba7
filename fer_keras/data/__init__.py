"""Dataset readers (one module per distribution format) behind `load_dataset`.

    from fer_keras.data import load_dataset
    train = load_dataset("fer2013", "fer2013.csv.gz", split="Training")
    train.images.shape, train.labels.shape, train.class_names

Each dataset is an entry of the dataset registry, `fer_keras.data.datasets` (its reader, face size,
splits, ...: `get_dataset_info`, `list_datasets`). Readers need NumPy and pandas only (no
TensorFlow). Bad input raises `DatasetError` naming the file and row or path; `skip_bad=True` leaves
bad samples out and counts them in `record.skipped`. Batches of a record for fit and predict:
`make_batches` (tf.data on TensorFlow, the PyDataset twin on the other backends).
"""

import os

from fer_keras.data.datasets import DATASETS, DatasetInfo, get_dataset_info, list_datasets
from fer_keras.data.folder import load_folder
from fer_keras.data.labels import CLASS_NAMES
from fer_keras.data.augment import Augmentation
from fer_keras.data.batches import make_batches
from fer_keras.data.pipeline import PipelineConfig, average_ten_crop, make_dataset, steps_per_epoch, ten_crop
from fer_keras.data.record import DatasetRecord, sample_weights
from fer_keras.data.splits import Fold, fold_records, kfold
from fer_keras.errors import ArgumentError, DatasetError

# {dataset: reader}, from the dataset registry (fer_keras.data.datasets: each dataset's facts).
READERS = {name: info.reader for name, info in DATASETS.items()}


def __getattr__(name):  # make_pydataset imports Keras: only when asked for
    if name == "make_pydataset":
        from fer_keras.data.pydataset import make_pydataset

        return make_pydataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_dataset(name, path, split=None, **options):
    """Read dataset `name` from `path` (its distribution format); returns a DatasetRecord."""
    if name not in READERS:
        raise ArgumentError("name", problem=f"Unknown dataset {name!r}; available: {', '.join(sorted(READERS))}")
    if name == "fer2013" and os.path.isdir(path):  # the image-folder release: train/, test/
        return _fer2013_folders(path, split, options)
    return READERS[name](path, split=split, **options)


def _fer2013_folders(path, split, options):
    """FER2013's image-folder release, with `load_fer2013`'s FERPlus options: targets on train/."""
    from fer_keras.data.ferplus_match import OPTION, WEIGHT_OPTION, apply_ferplus_targets, check_folder, check_options

    root, weight = options.pop(OPTION, None), options.pop(WEIGHT_OPTION, 1.0)
    check_options(root, weight)
    if root is not None and split is None:
        raise DatasetError(f"data.options.{OPTION}: FER2013's image-folder release {path} needs a split "
                           "(train/ gets FERPlus's targets)")
    if root is not None and split == "train":
        check_folder(root)
    record = load_folder(path, split=split, channels=1, image_size=(48, 48), name="fer2013", **options)
    if root is None or split != "train":  # test/ keeps FER2013's labels and does not need FERPlus
        return record
    return apply_ferplus_targets(record, root, weight, source=os.path.join(path, split))


__all__ = [
    "Augmentation",
    "CLASS_NAMES",
    "DATASETS",
    "DatasetError",
    "DatasetInfo",
    "DatasetRecord",
    "Fold",
    "PipelineConfig",
    "average_ten_crop",
    "fold_records",
    "get_dataset_info",
    "kfold",
    "list_datasets",
    "load_dataset",
    "make_batches",
    "make_dataset",
    "make_pydataset",
    "sample_weights",
    "steps_per_epoch",
    "ten_crop",
]
