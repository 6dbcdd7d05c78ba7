"""The dataset registry: every dataset `fer_keras.data.load_dataset` reads, entered once with what
the rest of the package needs to know about it (as `fer_keras.models.registry` is for the models).

    from fer_keras.data.datasets import get_dataset_info, list_datasets
    list_datasets()                                  # ['ckplus', 'expw', 'fer2013', 'ferplus', 'folder', ...]
    get_dataset_info("rafdb").face_side              # 100: its aligned faces are 100x100
    get_dataset_info("rafdb").derotated              # True: aligned on the eyes
    get_dataset_info("ferplus").standard_splits      # ('PrivateTest', 'PublicTest')

Adding a dataset: write fer_keras/data/<name>.py with a reader
`load_<name>(path, split=None, <options>..., skip_bad=False)` that returns a `DatasetRecord` and
raises `DatasetError` on bad input, and add its `DatasetInfo` to DATASETS below. `load_dataset`,
`fer_keras.data.READERS`, recipe validation (data.dataset, data.options), `fer-keras evaluate
--dataset`, and the face geometry `fer-keras predict` gives photos for models trained on it
(`fer_keras.classify.face_side`, `face_rotation`) then know it.

This module imports the readers (NumPy and pandas only), not TensorFlow.
"""

from dataclasses import dataclass, field

from fer_keras.data.ckplus import load_ckplus
from fer_keras.data.expw import load_expw
from fer_keras.data.fer2013 import load_fer2013
from fer_keras.data.ferplus import load_ferplus, missing_split as ferplus_missing_split
from fer_keras.data.folder import load_folder
from fer_keras.data.jaffe import FACE_SIDE as JAFFE_FACE_SIDE, load_jaffe
from fer_keras.data.rafdb import load_rafdb
from fer_keras.data.sfew import load_sfew
from fer_keras.errors import ArgumentError

# The official splits' names, by role, of datasets laid out as FER2013 is (Kaggle's Usage column).
FER2013_SPLITS = {"train": "Training", "validation": "PublicTest", "test": "PrivateTest"}


@dataclass(frozen=True)
class DatasetInfo:
    """A registered dataset.

    name: what `load_dataset` and recipes (data.dataset) call it; reader: its `load_<name>`
    function; title: how tables and reports name it ("CK+", "RAF-DB").
    face_side: the side of the square face images its reader delivers by default (FER2013's 48x48
        crops, RAF-DB's 100x100 aligned faces, JAFFE's reader's face crops), to which
        `fer_keras.classify.face_side` aligns photos' faces for models trained on it; None when
        the images have no fixed size (folders, SFEW).
    derotated: its faces come de-rotated (similarity-aligned on the eyes, RAF-DB's aligned
        images), so photos' faces are de-rotated too for models trained on it
        (`fer_keras.classify.face_rotation`); other datasets' crops keep the face's tilt.
    face_crop: its reader finds and crops the faces of whole portraits by default (JAFFE:
        `face_crop=True`, to `face_size`).
    has_subjects: its records carry `record.subjects` (subject-independent folds).
    splits: {"train" | "validation" | "test": split name} of its official splits ({}: it has
        none; build folds, or a recipe names its own).
    standard_splits: (test, validation) split names a model of another recipe is scored on by
        `fer_keras.evaluation.load_eval_record` (its test split, else its validation split), or
        None to score the whole dataset. FERPlus's images are FER2013's, so "all" would score the
        training images of a FER2013 model.
    missing_split: (path, split) -> why the split has no samples (FERPlus: its absent split folder)
        or None; None when the dataset has nothing more to say than "no samples".
    """

    name: str
    reader: object
    title: str
    face_side: int = None
    derotated: bool = False
    face_crop: bool = False
    has_subjects: bool = False
    splits: dict = field(default_factory=dict)
    standard_splits: tuple = None
    missing_split: object = None


def _entries(*infos):
    return {info.name: info for info in infos}


# In `fer_keras.data.READERS`' order.
DATASETS = _entries(
    DatasetInfo("fer2013", load_fer2013, "FER2013", face_side=48, splits=FER2013_SPLITS),
    DatasetInfo("folder", load_folder, "image folders"),
    DatasetInfo("ferplus", load_ferplus, "FERPlus", face_side=48, splits=FER2013_SPLITS,
                standard_splits=(FER2013_SPLITS["test"], FER2013_SPLITS["validation"]),
                missing_split=ferplus_missing_split),
    DatasetInfo("rafdb", load_rafdb, "RAF-DB", face_side=100, derotated=True, splits={"train": "train", "test": "test"}),
    DatasetInfo("ckplus", load_ckplus, "CK+", face_side=48, has_subjects=True),  # CK+48: 48x48 face crops
    DatasetInfo("jaffe", load_jaffe, "JAFFE", face_side=JAFFE_FACE_SIDE, face_crop=True, has_subjects=True),
    DatasetInfo("sfew", load_sfew, "SFEW", splits={"train": "Train", "validation": "Val", "test": "Test"}),
    DatasetInfo("expw", load_expw, "ExpW", face_side=100),  # faces cropped from their boxes, resized to 100x100
)


def list_datasets():
    """The registered dataset names, sorted."""
    return sorted(DATASETS)


def get_dataset_info(name):
    """The `DatasetInfo` of dataset `name`; an ArgumentError naming the registered ones otherwise."""
    if name not in DATASETS:
        raise ArgumentError("dataset", name, f"unknown dataset; available: {', '.join(list_datasets())}")
    return DATASETS[name]


__all__ = ["DATASETS", "DatasetInfo", "get_dataset_info", "list_datasets"]
