"""k-fold cross-validation for the small lab datasets (CK+, JAFFE).

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
