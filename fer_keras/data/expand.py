"""Offline expansion of a small dataset with augmented copies, as MrCAR does for CK+ and JAFFE.

MrCAR §IV.A: "random rotation, shrinkage, mirroring and other geometric processing are performed
to increase the dataset ... the number of images in the two datasets after data enhancement was
7881 and 6930", and only then "the images of the expanded CK+ dataset and JAFFE dataset are
divided into ten parts". `expand_record` makes such a set: every source image is kept once
(copy 0, unchanged) and given augmented copies (a random mirror, rotation and scale through the
training pipeline's own NumPy warp, `augment_batch_numpy`) until the record holds `total` images;
`extra["source_index"]` names each image's source, so a protocol can say how many test images
have a copy of their source on the training side.
"""

import numpy as np

from fer_keras.errors import ArgumentError

EXPAND_KEYS = ("total", "factor", "rotation", "scale", "horizontal_flip", "seed")


def copies_per_image(n, total, seed=0):
    """How many images each of `n` sources contributes to `total` (each at least 1): `total // n`
    each, plus one for `total % n` sources drawn at random with `seed`."""
    if not isinstance(total, int) or total < n:
        raise ArgumentError("total", total, f"must be an integer >= the {n} source images")
    counts = np.full(n, total // n, np.int64)
    counts[np.random.default_rng(seed).permutation(n)[: total % n]] += 1
    return counts


def expand_record(record, total=None, factor=None, rotation=10.0, scale=0.1, horizontal_flip=True, seed=0):
    """`record` (a DatasetRecord) with augmented copies: `total` images in all, or `factor` times
    as many. Sources stay in their order, each followed by its copies; labels, subjects and the
    other per-sample entries of `extra` follow their source; `extra["source_index"]` (N,) int64 is
    the source's index in `record`, `extra["expanded_from"]` the source count."""
    from fer_keras.data.augment import Augmentation, augment_batch_numpy

    n = len(record)
    if (total is None) == (factor is None):
        raise ArgumentError(None, problem="give one of `total` (images after expansion) or `factor` (times the sources)")
    if factor is not None:
        if not isinstance(factor, (int, float)) or factor < 1:
            raise ArgumentError("factor", factor, "must be a number >= 1")
        total = int(round(n * factor))
    counts = copies_per_image(n, total, seed)
    source = np.repeat(np.arange(n), counts)
    expanded = record.subset(source, split=record.split)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    augmented = np.ones(len(source), bool)
    augmented[first] = False  # copy 0 of each source is the source itself
    augmentation = Augmentation(horizontal_flip=horizontal_flip, rotation=float(rotation), scale=float(scale))
    images = expanded.images.copy()
    where = np.flatnonzero(augmented)
    rng = np.random.default_rng([seed, 1])
    size = images.shape[1:3]
    for start in range(0, len(where), 256):
        batch = where[start:start + 256]
        out = augment_batch_numpy(images[batch], size, augmentation, rng, training=True)
        images[batch] = np.clip(np.rint(out), 0, 255).astype(np.uint8).reshape(images[batch].shape)
    extra = dict(expanded.extra, source_index=source, expanded_from=n)
    from dataclasses import replace

    return replace(expanded, images=images, extra=extra)


def shared_sources(record, train, test):
    """How many of the `test` indices of `record` have a copy of their source among the `train`
    indices (0 for a record that was not expanded)."""
    sources = record.extra.get("source_index")
    if sources is None:
        return 0
    return int(np.isin(sources[test], sources[train]).sum())
