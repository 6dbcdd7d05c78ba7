"""The splits a recipe's data section names (`load_splits`: train, validation, test by name, or a
k-fold), and k-fold cross-validation for the small lab datasets (CK+, JAFFE).

Two protocols, and every result should say which it used (`Fold.protocol`):

- "random": stratified folds over images, shuffled with a seed. This is what the papers do
  (MrCAR: "the images of the expanded CK+ dataset and JAFFE dataset are divided into ten parts";
  LBAN-IL on ExpW: "we divide all images into 10 groups"), so images of one person can sit in
  both the training and the test fold.
- "subject": subject-independent, stratified as far as the groups allow; no subject appears in
  two folds. Harder and more honest; needs `record.subjects`.
"""

from dataclasses import dataclass

import numpy as np

from fer_keras.errors import ArgumentError

PROTOCOLS = ("random", "subject")


@dataclass(frozen=True)
class Fold:
    """One fold: indices into the record for training and testing, and the protocol's name."""

    index: int
    train: np.ndarray
    test: np.ndarray
    protocol: str


def kfold(record, k=10, protocol="random", seed=0):
    """The k folds of `record` (a DatasetRecord) under `protocol` ("random" or "subject")."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    if not isinstance(k, int) or k < 2:
        raise ValueError(f"k must be an integer >= 2, got {k!r}")
    labels = np.asarray(record.labels)
    if len(labels) < k:
        raise ValueError(f"{record.name}: {len(labels)} samples cannot make {k} folds")
    if protocol == "random":
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        parts = splitter.split(np.zeros(len(labels)), labels)
        name = f"random {k}-fold (stratified, seed {seed})"
    else:
        if record.subjects is None:
            raise ValueError(f"{record.name}: protocol='subject' needs subject ids, and this dataset has none")
        subjects = np.asarray(record.subjects)
        if len(np.unique(subjects)) < k:
            raise ValueError(f"{record.name}: {len(np.unique(subjects))} subjects cannot make {k} subject-independent folds")
        splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
        parts = splitter.split(np.zeros(len(labels)), labels, groups=subjects)
        name = f"subject-independent {k}-fold (seed {seed})"
    return [Fold(i, np.sort(train), np.sort(test), name) for i, (train, test) in enumerate(parts)]


def fold_records(record, fold):
    """(training record, test record) for one Fold."""
    return (
        record.subset(fold.train, split=f"fold{fold.index}-train"),
        record.subset(fold.test, split=f"fold{fold.index}-test"),
    )


def data_path(name, data):
    """`data` (dataset `name`'s file or folder), or FER2013's bundled sample when it is None; an
    ArgumentError naming `data` for another dataset without one."""
    if data is None:
        if name != "fer2013":
            raise ArgumentError("data", problem=f"dataset {name!r} needs its file or folder (only FER2013 has a bundled sample)")
        from fer_keras.data.sample import sample_path

        return sample_path()
    return data


def load_splits(recipe, data):
    """(train, validation, test or None, protocol description) records for the recipe's data section.

    Splits are read by name (data.train / data.validation / data.test); with data.folds the
    dataset is split by `kfold` instead. A validation split that is null or has no rows (the
    bundled sample holds Training rows only) becomes a stratified, seeded 20% of the training split.
    """
    from fer_keras.data import load_dataset

    section = recipe["data"]
    name, options = section["dataset"], dict(section.get("options") or {})
    data = data_path(name, data)
    folds = section.get("folds")
    if folds:
        record = load_dataset(name, data, **options)
        fold = kfold(record, k=folds.get("k", 10), protocol=folds.get("protocol", "random"), seed=folds.get("seed", 0))
        index = folds.get("fold", 0)
        train, validation = fold_records(record, fold[index])
        return train, validation, None, f"{fold[index].protocol}, fold {index}: validate on the held-out fold"
    train = load_dataset(name, data, split=section["train"], **options)
    if not len(train):
        raise ArgumentError("data", data, f"the training split {section['train']!r} has no samples")
    validation = load_dataset(name, data, split=section["validation"], **options) if section.get("validation") else None
    if validation is not None and len(validation):
        protocol = f"train on {section['train']}, select on {section['validation']}"
    else:
        from sklearn.model_selection import train_test_split

        keep, held = train_test_split(np.arange(len(train)), test_size=0.2, stratify=train.labels, random_state=0)
        train, validation = train.subset(keep, split=f"{section['train']} 80%"), train.subset(held, split=f"{section['train']} 20%")
        protocol = f"no {section.get('validation')!r} rows: select on a stratified 20% of {section['train']}"
    test = load_dataset(name, data, split=section["test"], **options) if section.get("test") else None
    return train, validation, test if test is not None and len(test) else None, protocol
