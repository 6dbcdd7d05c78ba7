"""Backend-neutral batches: the NumPy + OpenCV twin of the tf.data pipeline, as a keras PyDataset.

    from fer_keras.data import PipelineConfig, load_dataset, make_pydataset
    config = PipelineConfig(input_size=(40, 40), batch_size=64, augmentation={"horizontal_flip": True})
    train = make_pydataset(load_dataset("fer2013", path, split="Training"), config, training=True)
    model.fit(train, epochs=30, shuffle=False, callbacks=[train.callback()])

Works on every Keras backend (JAX, PyTorch, TensorFlow) and never imports TensorFlow. Same
config and semantics as `fer_keras.data.pipeline.make_dataset`: batches of (x, y) or (x, y, w)
with sklearn's balanced weights, dict x for multi-input models (`inputs=`), random crops and the
augmentation of fer_keras.data.augment when training (one projective warp per image with
cv2.warpPerspective, built from the same parameters and matrices as the TF path), centred crops
or ten-crop views otherwise, channel conversion and normalisation.

Determinism: epoch e's order is a permutation drawn from (seed, e) and batch b's augmentation
draws come from a Generator seeded with (seed, e, b), so any batch is a pure function of
(config, epoch, index), whatever the workers. With `label_sampling`, training labels are drawn
per (seed, epoch, sample) by `fer_keras.data.pipeline.sample_labels`: the tf.data pipeline's
labels exactly. `len()` is the batches per epoch; the `epoch`
attribute (starting at `initial_epoch`) selects the epoch and `on_epoch_end` advances it. Keras
3 also calls `on_epoch_end` once when fit starts (EpochIterator.reset), before its first epoch,
and peeks at one batch to build the model, so counting those calls alone puts fit's epoch k on
data epoch k + 1 (consistently, but not what a stream from `initial_epoch` gives). For batches
tied exactly to fit's epoch numbers (what makes `fit(..., initial_epoch=k)` of a resumed run see
what the uninterrupted run saw in epoch k), pass `dataset.callback()` to fit: it sets `epoch`
from fit's own epoch index at each epoch start, before any batch of that epoch is made (worker
threads and forked worker processes included). Call fit with shuffle=False (the order is the
dataset's own) and without steps_per_epoch (len() is one epoch).
"""

import numpy as np

from fer_keras.data.augment import augment_batch_numpy
from fer_keras.data.mixing import mix_batch_numpy
from fer_keras.data.pipeline import (
    PipelineConfig, _batches_per_epoch, batch_source, finish_numpy, sample_labels, ten_crop_numpy,
)
from fer_keras.errors import PipelineError
from fer_keras.quiet import import_keras_quietly

keras = import_keras_quietly()

_ORDER, _AUGMENT, _MIX = 0x5EED0, 0x5EED1, 0x5EED2  # stream tags: the epoch's order, a batch's draws, its mixing


def _key(value):
    return int(value) % 2**64  # SeedSequence takes non-negative integers


def epoch_order(n, seed, epoch):
    """The permutation of range(n) that epoch `epoch` visits (a pure function of seed and epoch)."""
    return np.random.default_rng([_ORDER, _key(seed), _key(epoch)]).permutation(n)


def batch_generator(seed, epoch, index, stream=_AUGMENT):
    """The NumPy Generator for the draws of batch `index` of epoch `epoch`: its augmentation's, or
    with `stream=_MIX` its mixup / CutMix's."""
    return np.random.default_rng([stream, _key(seed), _key(epoch), _key(index)])


class RecordPyDataset(keras.utils.PyDataset):
    """Batches of a DatasetRecord for fit / evaluate / predict on any backend; see the module
    docstring and `make_pydataset`."""

    def __init__(self, record, config, training, inputs=None, shuffle=None, epochs=None, initial_epoch=0,
                 transform=None, workers=1, use_multiprocessing=False, max_queue_size=10):
        super().__init__(workers=workers, use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size)
        if isinstance(config, dict):
            config = PipelineConfig.from_dict(config)
        self.source = batch_source(record, config, training, inputs)
        if epochs is not None and not 0 <= initial_epoch <= epochs:
            raise PipelineError(f"pipeline: initial_epoch must be in [0, epochs={epochs}], got {initial_epoch}")
        self.config, self.training, self.size = config, training, len(self.source.labels)
        self.shuffle = training if shuffle is None else shuffle
        self.epochs, self.initial_epoch, self.epoch = epochs, initial_epoch, initial_epoch
        self.transform = transform
        self._orders = {}

    def __len__(self):
        return _batches_per_epoch(self.size, self.config.batch_size)

    def __getitem__(self, index):
        return self.batch(index, self.epoch)

    def on_epoch_end(self):
        self.epoch += 1

    def order(self, epoch):
        """Sample indices in the order epoch `epoch` visits them."""
        if not self.shuffle:
            return np.arange(self.size)
        order = self._orders.get(epoch)
        if order is None:
            order = epoch_order(self.size, self.config.seed, epoch)
            self._orders = {epoch: order, **{e: o for e, o in self._orders.items() if abs(e - epoch) <= 1}}
        return order

    def batch(self, index, epoch=None):
        """Batch `index` of epoch `epoch` (default: the current one), as fit takes it (after
        `transform`, if any)."""
        if not 0 <= index < len(self):
            raise IndexError(f"batch index {index} out of range for {len(self)} batches")
        epoch = self.epoch if epoch is None else epoch
        size = self.config.batch_size
        indices = self.order(epoch)[index * size : (index + 1) * size]
        source, views = self.source, {}
        for key, array in source.arrays.items():
            images = array[indices]
            out_size = self.config.input_size or images.shape[1:3]
            if source.tencrop:
                images = ten_crop_numpy(images, out_size)
            else:  # the same Generator seed per input: regions share the random draws
                rng = batch_generator(self.config.seed, epoch, index) if self.training else None
                images = augment_batch_numpy(images, out_size, self.config.augmentation, rng, self.training)
            views[key] = images
        y = source.labels[indices] if source.cdf is None else sample_labels(source.cdf, self.config.seed, epoch, indices)
        w = None if source.weights is None else source.weights[indices]
        if source.mix_table is not None:
            rng = batch_generator(self.config.seed, epoch, index, _MIX)
            views, y, w = mix_batch_numpy(views, y, w, self.config.augmentation, source.mix_table, rng)
        batch = source.batch({key: finish_numpy(images, self.config) for key, images in views.items()}, y, w)
        return batch if self.transform is None else self.transform(*batch)

    def epoch_batches(self, epoch=None):
        """The batches of one epoch (default: the current one), in order."""
        epoch = self.epoch if epoch is None else epoch
        return (self.batch(index, epoch) for index in range(len(self)))

    def stream(self):
        """Every batch of epochs initial_epoch .. epochs - 1 in order: what the tf.data pipeline's
        `make_dataset(..., epochs=, initial_epoch=)` yields (needs `epochs`)."""
        if self.epochs is None:
            raise PipelineError("pipeline: stream() needs the dataset made with epochs=")
        for epoch in range(self.initial_epoch, self.epochs):
            yield from self.epoch_batches(epoch)

    def callback(self):
        """A keras Callback that sets `epoch` to fit's epoch index at each epoch start, so batches
        follow fit's epoch numbers exactly (fit(..., initial_epoch=k) starts at epoch k)."""
        return EpochSync(self)


class EpochSync(keras.callbacks.Callback):
    """Keeps a RecordPyDataset's `epoch` equal to fit's epoch index."""

    def __init__(self, dataset):
        super().__init__()
        self.dataset = dataset

    def on_epoch_begin(self, epoch, logs=None):
        self.dataset.epoch = epoch


def make_pydataset(record, config, training, inputs=None, shuffle=None, epochs=None, initial_epoch=0,
                   transform=None, workers=1, use_multiprocessing=False, max_queue_size=10):
    """A keras PyDataset (RecordPyDataset) of batches from `record` (labels, weights) and `inputs`
    (images: the record's by default; a dict name -> (N, H, W, C) uint8 array for multi-input
    models), with make_dataset's semantics, on any backend, without TensorFlow.

    training: random crops and augmentation, a new order each epoch (unless `shuffle=False`);
    otherwise centred crops, or ten-crop views when config.tta == "tencrop" (x then holds 10 views
    per sample, sample-major; average predictions with `average_ten_crop`).
    epochs, initial_epoch: the run's epochs; `epoch` starts at initial_epoch (pass
    `dataset.callback()` to fit to pin it to fit's epochs); `stream()` yields all of them.
    transform: called as transform(x, y) or transform(x, y, w) on each batch; its result is the
    batch (e.g. the training driver's to_fit, or `lambda x, y: (x,)` for predict).
    workers, use_multiprocessing, max_queue_size: keras PyDataset's (OpenCV and NumPy release
    the GIL, so a few threads help; batches are the same either way). Call fit with shuffle=False:
    the order is the dataset's own.
    """
    return RecordPyDataset(record, config, training, inputs=inputs, shuffle=shuffle, epochs=epochs,
                           initial_epoch=initial_epoch, transform=transform, workers=workers,
                           use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size)
