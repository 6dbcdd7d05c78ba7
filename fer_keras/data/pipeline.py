"""tf.data pipelines: a DatasetRecord plus a PipelineConfig -> batches for fit / evaluate / predict.

    from fer_keras.data import PipelineConfig, load_dataset, make_dataset
    config = PipelineConfig(input_size=(40, 40), batch_size=64, augmentation={"horizontal_flip": True})
    train = make_dataset(load_dataset("fer2013", path, split="Training"), config, training=True)

Each element is (x, labels) or (x, labels, sample_weights) with balanced weights. x is a batch of
images, or a dict of them for multi-input models (MrCAR's face / eyes / mouth: pass `inputs=`).
Shuffling is a stateless permutation of indices per epoch (`index_shuffle`, seeded by the config's
seed and the epoch), images are gathered per batch from the in-memory arrays, augmented per batch
with stateless seeds (fer_keras.data.augment), and prefetched; parallelism is AUTOTUNE everywhere
and the output is deterministic.

Label sampling (`label_sampling=True`, Microsoft's FERPlus "probability" training mode): each
training epoch gives each image a label drawn from its distribution (`record.extra["soft_labels"]`),
so losses that take integer labels (AM-Softmax, ArcFace) train on the votes' distribution. The
draw is a pure function of (seed, epoch, sample index) (`sample_labels`, an integer hash both
pipelines compute exactly), so tf.data and the PyDataset twin give the same labels; evaluation
batches keep `record.labels` (the majority label).

What both pipelines take from a record is made once, by `batch_source` (the inputs resized and
checked, the labels, weights and label distributions); `fer_keras.data.batches.make_batches` picks
the pipeline of the Keras backend. A setting or an input that cannot make batches is a
PipelineError naming it.
"""

import math
from dataclasses import asdict, dataclass

import numpy as np

from fer_keras.data.augment import GRAY_WEIGHTS, Augmentation, augment_batch, from_options
from fer_keras.errors import PipelineError

NORMALIZATIONS = ("unit", "centered", "standard", "none")
TTA = (None, "tencrop")


@dataclass(frozen=True)
class PipelineConfig:
    """How records become batches.

    input_size: (H, W) the model takes; larger images are cropped to it (randomly when
        training, centred or ten-crop otherwise). None keeps the image size.
    resize: (H, W) to resize images to before cropping (once, with OpenCV INTER_AREA).
    channels: 1 or 3 to convert to (gray <-> RGB), None to keep.
    normalization: "unit" ([0, 1], what the fer_keras models take), "centered" ([-1, 1]),
        "standard" (per-image zero mean, unit variance) or "none" (0..255 floats).
    augmentation: an Augmentation (or its dict) used when training; None for none.
    sample_weights: deliver sklearn's balanced weights as the third element (AMDCNN).
    tta: "tencrop" for ten-crop evaluation batches (see `ten_crop`), None for one view.
    label_sampling: when training, draw each image's label afresh each epoch from its
        distribution, `record.extra["soft_labels"]` (FERPlus with soft_labels=True); evaluation
        batches keep `record.labels`.
    """

    input_size: tuple = None
    resize: tuple = None
    channels: int = None
    normalization: str = "unit"
    augmentation: Augmentation = None
    sample_weights: bool = False
    batch_size: int = 32
    seed: int = 0
    tta: str = None
    label_sampling: bool = False

    def __post_init__(self):
        object.__setattr__(self, "augmentation", Augmentation.from_dict(self.augmentation))
        for name in ("input_size", "resize"):
            value = getattr(self, name)
            if value is not None:
                if len(value) != 2 or not all(isinstance(v, (int, np.integer)) and v > 0 for v in value):
                    raise PipelineError(f"pipeline {name} must be (height, width) positive integers, got {value!r}")
                object.__setattr__(self, name, tuple(int(v) for v in value))
        if self.channels not in (None, 1, 3):
            raise PipelineError(f"pipeline channels must be 1, 3 or None, got {self.channels!r}")
        if self.normalization not in NORMALIZATIONS:
            raise PipelineError(f"pipeline normalization must be one of {NORMALIZATIONS}, got {self.normalization!r}")
        if self.tta not in TTA:
            raise PipelineError(f"pipeline tta must be one of {TTA}, got {self.tta!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise PipelineError(f"pipeline batch_size must be a positive integer, got {self.batch_size!r}")
        if not isinstance(self.label_sampling, bool):
            raise PipelineError(f"pipeline label_sampling must be true or false, got {self.label_sampling!r}")

    @classmethod
    def from_dict(cls, options):
        """From a config mapping; unknown keys are an error naming them."""
        return from_options(cls, options, "pipeline")

    def to_dict(self):
        return asdict(self)


def images_problem(images, config):
    """Why `images` cannot go through `config`'s pipeline (not a uint8 (N, H, W, C) array, or a
    crop larger than the images after the resize), in a few words; None when they can."""
    images = np.asarray(images)
    if images.ndim != 4 or images.dtype != np.uint8:
        return f"images must be a uint8 (N, H, W, C) array, got {images.dtype} {images.shape}"
    height, width = config.resize if config.resize is not None else images.shape[1:3]
    size = config.input_size or images.shape[1:3]
    if size[0] > height or size[1] > width:
        return f"input_size {size} is larger than the images ({height}x{width}); set resize"
    return None


def prepare_images(images, config):
    """Resize once (OpenCV), after checking the crop fits; uint8 (N, H, W, C)."""
    problem = images_problem(images, config)
    if problem is not None:
        raise PipelineError(f"pipeline: {problem}")
    images = np.asarray(images)
    if config.resize is not None and images.shape[1:3] != config.resize:
        import cv2

        height, width = config.resize
        resized = [cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA) for image in images]
        images = np.stack(resized).reshape(len(images), height, width, images.shape[-1])
    return images


@dataclass(frozen=True)
class BatchSource:
    """What a pipeline makes its batches of, the same for tf.data (`make_dataset`) and the PyDataset
    twin (fer_keras.data.pydataset): `arrays`, {input name ("x" for a single input): uint8 (N, H, W,
    C) images, resized}, given to the model as a dict when `named`; per sample its int32 label, its
    float32 balanced weight (None: no weights) and, for label sampling, its label distribution's
    cumulative sum (`label_cdf`; None: the labels as they are); `tencrop`: ten views a sample;
    `mix_table`: the mixing weight's tabulated quantiles when training mixes batches
    (fer_keras.data.mixing), else None."""

    arrays: dict
    named: bool
    labels: np.ndarray
    weights: np.ndarray = None
    cdf: np.ndarray = None
    tencrop: bool = False
    mix_table: np.ndarray = None

    def batch(self, views, labels, weights=None):
        """(x, y) or (x, y, w) as fit takes it: x from `views` ({input name: its images}), a
        dict for named inputs."""
        x = views if self.named else views["x"]
        return (x, labels) if weights is None else (x, labels, weights)


def batch_source(record, config, training, inputs=None):
    """The `BatchSource` of `record` (labels, weights, label distributions) and `inputs` (the
    record's images by default; a dict name -> (N, H, W, C) uint8 array for multi-input models)
    under `config`: training draws labels from their distributions (`config.label_sampling`),
    evaluation takes ten views when config.tta == "tencrop"."""
    arrays = inputs if inputs is not None else record.images
    named = isinstance(arrays, dict)
    arrays = {key: prepare_images(value, config) for key, value in (arrays.items() if named else [("x", arrays)])}
    n = len(record.labels)
    if n == 0:
        raise PipelineError(f"pipeline: {record.name} ({record.split or 'all'}): no samples to make batches of")
    for key, value in arrays.items():
        if len(value) != n:
            raise PipelineError(f"pipeline: inputs[{key!r}] has {len(value)} images but the record has {n} labels")
    weights = None
    if config.sample_weights:
        from fer_keras.data.record import sample_weights

        weights = sample_weights(record.labels).astype(np.float32)
    cdf = label_cdf(record) if training and config.label_sampling else None
    mix_table = None
    if training and config.augmentation is not None and config.augmentation.mix is not None:
        from fer_keras.data.mixing import beta_quantiles, check_mixing

        check_mixing(config.augmentation, named)
        mix_table = beta_quantiles(config.augmentation.mix_alpha)
    return BatchSource(arrays, named, np.asarray(record.labels, np.int32), weights, cdf,
                       not training and config.tta == "tencrop", mix_table)


_LABELS = 0x1ABE1  # stream tag of the sampled labels
_MASK32 = 0xFFFFFFFF


class _Bitwise:
    """The bitwise ops of NumPy or TensorFlow, so `label_hash` is one definition for both."""

    def __init__(self, xor, shift_right, shift_left, bit_and, int64):
        self.xor, self.shift_right, self.shift_left, self.bit_and = xor, shift_right, shift_left, bit_and
        self.int64 = int64


NUMPY_BITWISE = _Bitwise(np.bitwise_xor, np.right_shift, np.left_shift, np.bitwise_and, np.int64)


def _mul32(x, constant, ops):
    """x * constant mod 2**32 for 0 <= x < 2**32, with every product below 2**49 (int64-exact)."""
    high = ops.shift_left(ops.bit_and(x * (constant >> 16), 0xFFFF), 16)
    return ops.bit_and(high + x * (constant & 0xFFFF), _MASK32)


def _mix32(x, ops):
    """A 32-bit integer finaliser (Wellons' lowbias32) on int64 values in [0, 2**32)."""
    x = ops.xor(x, ops.shift_right(x, 16))
    x = _mul32(x, 0x7FEB352D, ops)
    x = ops.xor(x, ops.shift_right(x, 15))
    x = _mul32(x, 0x846CA68B, ops)
    return ops.xor(x, ops.shift_right(x, 16))


def label_hash(seed, epoch, indices, ops=NUMPY_BITWISE):
    """int64 hashes in [0, 2**32) of (seed, epoch, each index): int64 values (NumPy or TF, `ops`)."""
    h = ops.int64(_LABELS)
    for value in (ops.int64(seed), ops.int64(epoch)):
        for half in (ops.bit_and(value, _MASK32), ops.bit_and(ops.shift_right(value, 32), _MASK32)):
            h = _mix32(ops.xor(h, half), ops)
    return _mix32(ops.xor(h, ops.bit_and(indices, _MASK32)), ops)


def label_cdf(record):
    """float64 (N, classes) cumulative label distribution of `record.extra["soft_labels"]`, 1.0 from
    each row's last class with mass on (so a draw never lands on a class without mass)."""
    soft = (record.extra or {}).get("soft_labels")
    if soft is None:
        raise PipelineError(f"pipeline: label_sampling needs per-image label distributions, record.extra['soft_labels'], "
                            f"and {record.name} ({record.split or 'all'}) has none (FERPlus: soft_labels: true)")
    soft = np.asarray(soft, np.float64)
    if soft.shape != (len(record.labels), len(record.class_names)):
        raise PipelineError(f"pipeline: soft_labels has shape {soft.shape}, expected "
                            f"{(len(record.labels), len(record.class_names))}")
    if not np.isfinite(soft).all() or (soft < 0).any() or (soft.sum(axis=1) <= 0).any():
        raise PipelineError("pipeline: soft_labels must be finite, non-negative, with mass on some class in every row")
    cdf = np.cumsum(soft, axis=1) / soft.sum(axis=1, keepdims=True)
    last = soft.shape[1] - 1 - np.argmax(soft[:, ::-1] > 0, axis=1)
    cdf[np.arange(soft.shape[1]) >= last[:, None]] = 1.0
    return cdf


def sample_labels(cdf, seed, epoch, indices):
    """int32 labels of samples `indices` in epoch `epoch`, drawn from their rows of `cdf`
    (`label_cdf`): the first class whose cumulative probability exceeds a uniform in [0, 1) made
    from `label_hash` (what the tf.data pipeline computes too)."""
    indices = np.asarray(indices, np.int64)
    uniform = label_hash(seed, epoch, indices).astype(np.float64) / 2.0**32
    return np.argmax(uniform[:, None] < cdf[indices], axis=1).astype(np.int32)


def ten_crop_views(images, size, mirror):
    """The ten (B, h, w, C) views of (B, H, W, C) `images` for a crop `size` (h, w): the four
    corner crops and the centre crop, then the same five mirrored by `mirror` (TF or NumPy)."""
    (height, width), (h, w) = images.shape[1:3], size
    corners = [(0, 0), (0, width - w), (height - h, 0), (height - h, width - w), ((height - h) // 2, (width - w) // 2)]
    crops = [images[:, y : y + h, x : x + w, :] for y, x in corners]
    return crops + [mirror(crop) for crop in crops]


def ten_crop(images, size):
    """(B, H, W, C) -> (B * 10, h, w, C): for each image the four corner crops and the centre
    crop, then the same five mirrored (LBAN-IL, MrCAR test-time averaging)."""
    import tensorflow as tf

    views = ten_crop_views(images, size, lambda crop: tf.reverse(crop, axis=[2]))
    return tf.reshape(tf.stack(views, axis=1), [-1, *size, images.shape[-1]])


def finish_images(images, config, repeat, gray, standardize, number=float):
    """Channel conversion and normalisation of float32 0..255 images, with the pipeline's own ops:
    `repeat` (gray to three channels), `gray` (RGB to gray), `standardize` (per image) and `number`
    (the type of the constants)."""
    if config.channels == 3 and images.shape[-1] == 1:
        images = repeat(images)
    elif config.channels == 1 and images.shape[-1] == 3:
        images = gray(images)
    if config.normalization == "unit":
        return images / number(255.0)
    if config.normalization == "centered":
        return images / number(127.5) - number(1.0)
    if config.normalization == "standard":
        return standardize(images)
    return images


def _finish(images, config):
    import tensorflow as tf

    return finish_images(images, config, lambda x: tf.repeat(x, 3, axis=-1), tf.image.rgb_to_grayscale,
                         tf.image.per_image_standardization)


# The NumPy twins of ten_crop and _finish (no TensorFlow or Keras): the PyDataset pipeline and the
# LiteRT classifier (fer_keras.bundled) make their views with them.


def ten_crop_numpy(images, size):
    """(B, H, W, C) -> float32 (B * 10, h, w, C): the four corner crops and the centre crop of each
    image, then the same five mirrored (`ten_crop`'s NumPy twin)."""
    images = np.asarray(images)
    views = ten_crop_views(images, size, lambda crop: crop[:, :, ::-1, :])
    return np.stack(views, axis=1).reshape(-1, *size, images.shape[-1]).astype(np.float32)


def standardize_numpy(images):
    """Each image to zero mean, unit variance (tf.image.per_image_standardization's NumPy twin)."""
    axes = tuple(range(1, images.ndim))
    mean = images.mean(axis=axes, keepdims=True, dtype=np.float64)
    std = images.std(axis=axes, keepdims=True, dtype=np.float64)
    floor = 1.0 / math.sqrt(np.prod(images.shape[1:]))
    return ((images - mean) / np.maximum(std, floor)).astype(np.float32)


def finish_numpy(images, config):
    """Channel conversion and normalisation of float32 0..255 images (`_finish`'s NumPy twin)."""
    return finish_images(images, config, lambda x: np.repeat(x, 3, axis=-1),
                         lambda x: (x @ np.asarray(GRAY_WEIGHTS, np.float32))[..., None], standardize_numpy, np.float32)


def _batch_indices(n, config, shuffle, epochs, initial_epoch):
    """(indices, seed pair, epoch key) per batch. Each epoch's order and augmentation draws are a pure
    function of (config.seed, epoch), so a run resumed at epoch k sees what it would have seen."""
    import tensorflow as tf

    if epochs is None:  # one pass per iteration, a fresh (seeded) epoch key each time
        keys = tf.data.Dataset.random(seed=config.seed, rerandomize_each_iteration=True).take(1)
    else:
        keys = tf.data.Dataset.range(initial_epoch, epochs)

    def one_epoch(key):
        epoch_seed = tf.stack([tf.constant(config.seed, tf.int64), key])
        indices = tf.data.Dataset.range(n)
        if shuffle:
            indices = indices.map(
                lambda i: tf.random.experimental.index_shuffle(i, epoch_seed, tf.constant(n - 1, tf.int64))
            )
        batches = indices.batch(config.batch_size).enumerate()
        return batches.map(lambda b, ids: (ids, tf.random.experimental.stateless_fold_in(epoch_seed, b), key))

    # flat_map hides the length; state it so Keras knows the steps (progress bars, no "input ran
    # out of data" warning after the first validation pass).
    per_epoch = _batches_per_epoch(n, config.batch_size)
    passes = 1 if epochs is None else max(epochs - initial_epoch, 0)
    return keys.flat_map(one_epoch).apply(tf.data.experimental.assert_cardinality(per_epoch * passes))


def make_dataset(record, config, training, inputs=None, shuffle=None, epochs=None, initial_epoch=0):
    """A tf.data.Dataset of batches from `record` (labels, weights) and `inputs` (images: the
    record's by default; a dict name -> (N, H, W, C) uint8 array for multi-input models).

    training: random crops and augmentation, shuffled each epoch (unless `shuffle=False`);
    otherwise centred crops, or ten-crop views when config.tta == "tencrop" (x then holds 10
    views per sample, sample-major; average predictions with `average_ten_crop`).
    epochs: None for one epoch per iteration (reshuffled each time), or the epoch count to run
    from `initial_epoch` as one stream (what `fit(..., steps_per_epoch=steps_per_epoch(...))`
    takes, and what makes resuming exact).
    """
    import tensorflow as tf

    if isinstance(config, dict):
        config = PipelineConfig.from_dict(config)
    source = batch_source(record, config, training, inputs)
    tensors = {key: tf.constant(value) for key, value in source.arrays.items()}
    labels = tf.constant(source.labels)
    weights = None if source.weights is None else tf.constant(source.weights)
    cdf = None if source.cdf is None else tf.constant(source.cdf)
    bitwise = _Bitwise(tf.bitwise.bitwise_xor, tf.bitwise.right_shift, tf.bitwise.left_shift, tf.bitwise.bitwise_and,
                       lambda value: tf.cast(value, tf.int64))

    def labels_of(indices, epoch):
        if cdf is None:
            return tf.gather(labels, indices)
        hashes = label_hash(config.seed, epoch, indices, bitwise)
        uniform = tf.cast(hashes, tf.float64) / 2.0**32
        return tf.argmax(tf.cast(uniform[:, None] < tf.gather(cdf, indices), tf.int32), axis=1, output_type=tf.int32)

    mix_table = None if source.mix_table is None else tf.constant(source.mix_table, tf.float32)

    def load(indices, seed, epoch):
        views = {}
        for key, tensor in tensors.items():
            images = tf.cast(tf.gather(tensor, indices), tf.float32)
            size = config.input_size or tuple(images.shape[1:3])
            if source.tencrop:
                images = ten_crop(images, size)
            else:
                images = augment_batch(images, size, config.augmentation, seed, training)
            views[key] = images
        y, w = labels_of(indices, epoch), None if weights is None else tf.gather(weights, indices)
        if mix_table is not None:
            from fer_keras.data.mixing import mix_batch_tf

            views, y, w = mix_batch_tf(views, y, w, config.augmentation, mix_table, seed)
        return source.batch({key: _finish(images, config) for key, images in views.items()}, y, w)

    dataset = _batch_indices(len(source.labels), config, training if shuffle is None else shuffle, epochs, initial_epoch)
    dataset = dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return dataset.prefetch(tf.data.AUTOTUNE)


def _batches_per_epoch(samples, batch_size):
    return -(-samples // batch_size)


def steps_per_epoch(record, config):
    """Batches per epoch (the last one may be short)."""
    return _batches_per_epoch(len(record.labels), config.batch_size)


def average_ten_crop(predictions):
    """(N * 10, ...) predictions of ten-crop batches -> (N, ...) means over each sample's views."""
    predictions = np.asarray(predictions)
    return predictions.reshape(-1, 10, *predictions.shape[1:]).mean(axis=1)
