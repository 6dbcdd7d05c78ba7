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

from fer_keras.errors import ArgumentError, DatasetError

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
        raise ArgumentError(None, problem=f"protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    if not isinstance(k, int) or k < 2:
        raise ArgumentError(None, problem=f"k must be an integer >= 2, got {k!r}")
    labels = np.asarray(record.labels)
    if len(labels) < k:
        raise DatasetError(f"{record.name}: {len(labels)} samples cannot make {k} folds")
    if protocol == "random":
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        parts = splitter.split(np.zeros(len(labels)), labels)
        name = f"random {k}-fold (stratified, seed {seed})"
    else:
        if record.subjects is None:
            raise DatasetError(f"{record.name}: protocol='subject' needs subject ids, and this dataset has none")
        subjects = np.asarray(record.subjects)
        if len(np.unique(subjects)) < k:
            raise DatasetError(f"{record.name}: {len(np.unique(subjects))} subjects cannot make {k} subject-independent folds")
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


FOLD_KEYS = ("k", "protocol", "fold", "seed")


def _check_folds(folds):
    from fer_keras.errors import RecipeError

    if not isinstance(folds, dict):
        raise RecipeError(f"data.folds must be a mapping with keys {', '.join(FOLD_KEYS)}, got {folds!r}")
    unknown = sorted(set(folds) - set(FOLD_KEYS))
    if unknown:
        raise RecipeError(f"data.folds: unknown key(s) {unknown}; known: {', '.join(FOLD_KEYS)}")
    k, index = folds.get("k", 10), folds.get("fold", 0)
    if not isinstance(k, int) or k < 3:
        raise RecipeError(f"data.folds.k must be an integer >= 3 (one fold tests, one validates), got {k!r}")
    if not isinstance(index, int) or not 0 <= index < k:
        raise RecipeError(f"data.folds.fold must be an integer in 0..{k - 1}, got {index!r}")
    if folds.get("protocol", "random") not in PROTOCOLS:
        raise RecipeError(f"data.folds.protocol must be one of {', '.join(PROTOCOLS)}, got {folds.get('protocol')!r}")
    return k, index, folds.get("protocol", "random"), folds.get("seed", 0)


def _check_expand(expand):
    from fer_keras.data.expand import EXPAND_KEYS
    from fer_keras.errors import RecipeError

    if not expand:
        return None, False
    if not isinstance(expand, dict):
        raise RecipeError(f"data.expand must be a mapping, got {expand!r}")
    options = dict(expand)
    before = options.pop("before_split", True)
    unknown = sorted(set(options) - set(EXPAND_KEYS))
    if unknown:
        raise RecipeError(f"data.expand: unknown key(s) {unknown}; known: before_split, {', '.join(EXPAND_KEYS)}")
    if not isinstance(before, bool):
        raise RecipeError(f"data.expand.before_split must be true or false, got {before!r}")
    return options, before


def fold_splits(record, folds, expand=None):
    """(train, validation, test, protocol description) of fold `folds.fold` of `record` (`folds`: a
    recipe's data.folds, a `fer_keras.recipes.schema.Folds`).

    The held-out fold is the test split, scored once after training. Model selection and early
    stopping use a validation split carved from the other k - 1 folds by the same protocol (one
    (k-1)-th of them: subject-disjoint under "subject"), so no decision sees the test fold.
    `expand` (`fer_keras.data.expand.expand_record`'s options plus `before_split`): augmented
    copies made before the folds are drawn (MrCAR's protocol: copies of one source can sit on both
    sides, which the description counts) or, with before_split false, of the training part only
    (the same factor, so the training budget is the same).
    """
    from fer_keras.data.expand import expand_record, shared_sources
    from fer_keras.errors import RecipeError

    k, index, protocol, seed = folds.k, folds.fold, folds.protocol, folds.seed
    expand, before = _check_expand(expand)
    sources = len(record)
    try:
        if expand and before:
            record = expand_record(record, **expand)
        fold = kfold(record, k=k, protocol=protocol, seed=seed)[index]
        rest = record.subset(fold.train, split=f"fold{index}-rest")
        inner = kfold(rest, k=k - 1, protocol=protocol, seed=seed)[0]
    except ValueError as err:
        if isinstance(err, RecipeError):
            raise
        raise RecipeError(f"data.folds / data.expand: {err}") from err
    train = rest.subset(inner.train, split=f"fold{index}-train")
    validation = rest.subset(inner.test, split=f"fold{index}-validation")
    test = record.subset(fold.test, split=f"fold{index}-test")
    description = (f"{fold.protocol}, fold {index} of {k}: train on {len(train)}, select on a validation "
                   f"split of {len(validation)} carved from the training folds ({inner.protocol}), test on the "
                   f"held-out fold ({len(test)})")
    if expand and before:
        shared = shared_sources(record, fold.train, fold.test)
        description += (f"; expanded before the split from {sources} to {len(record)} images, so {shared} of the "
                        f"{len(test)} test images have a copy of their source image in the training folds")
    elif expand:
        factor = expand.get("factor") or expand["total"] / sources
        options = {key: value for key, value in expand.items() if key not in ("total", "factor")}
        train = expand_record(train, factor=factor, **options)
        description += f"; training part expanded {factor:.3g}x to {len(train)} images after the split"
    return train, validation, test, description


def data_path(name, data):
    """`data` (dataset `name`'s file or folder), or FER2013's bundled sample when it is None; an
    ArgumentError naming `data` for another dataset without one."""
    if data is None:
        if name != "fer2013":
            raise ArgumentError("data", problem=f"dataset {name!r} needs its file or folder (only FER2013 has a bundled sample)")
        from fer_keras.data.sample import sample_path

        return sample_path()
    return data


def load_splits(section, data):
    """(train, validation, test or None, protocol description) records for a recipe's data section
    (a `fer_keras.recipes.schema.DataSection`, `Recipe.data`).

    Splits are read by name (data.train / data.validation / data.test); with data.folds the
    dataset is split by `kfold` instead. A validation split that is null or has no rows (the
    bundled sample holds Training rows only) becomes a stratified, seeded 20% of the training split.
    """
    from fer_keras.data import load_dataset

    name, options = section.dataset, dict(section.options)
    data = data_path(name, data)
    if section.folds:
        return fold_splits(load_dataset(name, data, **options), section.folds, section.expand)
    train = load_dataset(name, data, split=section.train, **options)
    if not len(train):
        raise ArgumentError("data", data, f"the training split {section.train!r} has no samples")
    validation = load_dataset(name, data, split=section.validation, **options) if section.validation else None
    if validation is not None and len(validation):
        protocol = f"train on {section.train}, select on {section.validation}"
    else:
        from sklearn.model_selection import train_test_split

        keep, held = train_test_split(np.arange(len(train)), test_size=0.2, stratify=train.labels, random_state=0)
        train, validation = train.subset(keep, split=f"{section.train} 80%"), train.subset(held, split=f"{section.train} 20%")
        protocol = f"no {section.validation!r} rows: select on a stratified 20% of {section.train}"
    test = load_dataset(name, data, split=section.test, **options) if section.test else None
    return train, validation, test if test is not None and len(test) else None, protocol
