"""The in-memory form every dataset reader returns."""

from dataclasses import dataclass, field, replace

import numpy as np


@dataclass
class DatasetRecord:
    """images (N, H, W, C) uint8; labels (N,) int64 in `class_names` order; subjects (N,) or None.

    `skipped` counts the bad samples left out in skip-bad mode (0 otherwise), `source` names the
    file or folder read, `split` the split selected (None: all).
    """

    name: str
    images: np.ndarray
    labels: np.ndarray
    class_names: tuple
    subjects: np.ndarray = None
    source: str = ""
    split: str = None
    skipped: int = 0
    extra: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.labels)

    def class_counts(self):
        """{class name: count}."""
        counts = np.bincount(self.labels, minlength=len(self.class_names))
        return dict(zip(self.class_names, counts.tolist()))

    def subset(self, indices, split=None):
        """The samples at `indices` (a fold, a split) as a new record. Per-sample entries of
        `extra` (arrays or lists with one item per sample) are sliced with them."""
        indices = np.asarray(indices, dtype=np.int64)
        n = len(self)

        def take(value):
            if isinstance(value, np.ndarray) and value.ndim and len(value) == n:
                return value[indices]
            if isinstance(value, list) and len(value) == n:
                return [value[i] for i in indices]
            return value

        return replace(
            self,
            images=self.images[indices],
            labels=self.labels[indices],
            subjects=None if self.subjects is None else self.subjects[indices],
            split=self.split if split is None else split,
            extra={key: take(value) for key, value in self.extra.items()},
        )


def sample_weights(labels):
    """Balanced per-sample weights, exactly sklearn's compute_sample_weight("balanced", labels):
    n_samples / (n_classes_present * count(label)) (AMDCNN's class balancing)."""
    from sklearn.utils.class_weight import compute_sample_weight

    return compute_sample_weight("balanced", labels)
