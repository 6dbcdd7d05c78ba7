"""On-the-fly augmentation of image batches, as the papers name it.

The geometric steps (random crop to the model's input, horizontal / vertical flip, rotation,
scale, perspective) are composed into one projective transform per image and applied in a single
resampling (`ImageProjectiveTransformV3`), so a batch costs one warp whatever is switched on; a
plain crop with no other geometric step is an exact pixel copy. Photometric steps (brightness,
grayscale) follow. Every random draw is stateless, seeded per batch, so a pipeline with a fixed
seed yields the same batches every time, in parallel or not.

Papers: random crops 48 -> 44 (MrCAR), 48 -> 40 and 100 -> 80 with horizontal flips (LBAN-IL),
rotation and shrinking (MrCAR), horizontal and vertical flips, perspective and grayscale
(AMDCNN).
"""

import math
from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class Augmentation:
    """Which random steps run during training, and how strong each is.

    horizontal_flip / vertical_flip: mirror with probability 0.5.
    rotation: the largest rotation, in degrees (uniform in [-rotation, rotation]).
    scale: zoom factor drawn from [1 - scale, 1 + scale].
    perspective: the largest tilt: each side of the image grows or shrinks by up to this
        fraction (the projective row of the transform, uniform in [-perspective, perspective]).
    brightness: the largest brightness shift, as a fraction of the 0..255 range.
    grayscale: probability of converting a colour image to gray (channels kept).
    """

    horizontal_flip: bool = True
    vertical_flip: bool = False
    rotation: float = 0.0
    scale: float = 0.0
    perspective: float = 0.0
    brightness: float = 0.0
    grayscale: float = 0.0

    def __post_init__(self):
        for name in ("rotation", "scale", "perspective", "brightness", "grayscale"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"augmentation {name} must be a number >= 0, got {value!r}")
        if self.scale >= 1 or self.perspective >= 1 or self.grayscale > 1:
            raise ValueError(f"augmentation scale and perspective must be < 1 and grayscale <= 1, got {self}")

    @classmethod
    def from_dict(cls, options):
        """From a config mapping; unknown keys are an error naming them."""
        if options is None or isinstance(options, cls):
            return options
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(f"unknown augmentation option(s) {unknown}; known: {sorted(known)}")
        return cls(**options)

    def to_dict(self):
        return asdict(self)


def _uniform(seed, index, batch, low, high):
    """Stateless uniform draws for step `index` of the batch whose seed pair is `seed`."""
    import tensorflow as tf

    step_seed = tf.random.experimental.stateless_fold_in(seed, index)
    return tf.random.stateless_uniform([batch], seed=step_seed, minval=low, maxval=high)


def _coin(seed, index, batch, probability=0.5):
    return _uniform(seed, index, batch, 0.0, 1.0) < probability


def crop_transforms(batch, in_size, out_size, augmentation, seed, training):
    """(B, 8) projective transforms mapping output pixels to input pixels (TF's convention):
    T(centre_in + shift) . [[A, 0], [p, 1]] . T(-centre_out), A = rotation . zoom . flips."""
    import tensorflow as tf

    (in_h, in_w), (out_h, out_w) = in_size, out_size
    zeros, ones = tf.zeros([batch]), tf.ones([batch])
    if training:  # random crop position; integer shifts keep a plain crop an exact copy
        dy = tf.floor(_uniform(seed, 0, batch, 0.0, in_h - out_h + 1.0)) - (in_h - out_h) / 2
        dx = tf.floor(_uniform(seed, 1, batch, 0.0, in_w - out_w + 1.0)) - (in_w - out_w) / 2
    else:
        dy, dx = zeros + (in_h - out_h) // 2 - (in_h - out_h) / 2, zeros + (in_w - out_w) // 2 - (in_w - out_w) / 2
    a = augmentation if training and augmentation is not None else Augmentation(horizontal_flip=False)
    flip_x = tf.where(_coin(seed, 2, batch), -ones, ones) if a.horizontal_flip else ones
    flip_y = tf.where(_coin(seed, 3, batch), -ones, ones) if a.vertical_flip else ones
    angle = _uniform(seed, 4, batch, -a.rotation, a.rotation) * (math.pi / 180) if a.rotation else zeros
    zoom = _uniform(seed, 5, batch, 1 - a.scale, 1 + a.scale) if a.scale else ones
    px = _uniform(seed, 6, batch, -a.perspective, a.perspective) / (out_w / 2) if a.perspective else zeros
    py = _uniform(seed, 7, batch, -a.perspective, a.perspective) / (out_h / 2) if a.perspective else zeros
    cos, sin = tf.cos(angle) / zoom, tf.sin(angle) / zoom
    linear = tf.stack(
        [
            tf.stack([cos * flip_x, -sin * flip_y, zeros], -1),
            tf.stack([sin * flip_x, cos * flip_y, zeros], -1),
            tf.stack([px, py, ones], -1),
        ],
        axis=1,
    )

    def translation(tx, ty):
        return tf.stack(
            [tf.stack([ones, zeros, tx], -1), tf.stack([zeros, ones, ty], -1), tf.stack([zeros, zeros, ones], -1)],
            axis=1,
        )

    to_input = translation((in_w - 1) / 2 + dx, (in_h - 1) / 2 + dy)
    from_output = translation(zeros - (out_w - 1) / 2, zeros - (out_h - 1) / 2)
    matrix = to_input @ linear @ from_output
    matrix = matrix / matrix[:, 2:3, 2:3]
    return tf.reshape(matrix, [batch, 9])[:, :8]


def augment_batch(images, out_size, augmentation, seed, training):
    """float32 (B, H, W, C) images in 0..255 -> (B, out_h, out_w, C): crop (random when
    training, centred otherwise) with the geometric and photometric steps of `augmentation`
    when training."""
    import tensorflow as tf

    batch = tf.shape(images)[0]
    in_size = tuple(images.shape[1:3])
    geometric = training and augmentation is not None and (
        augmentation.horizontal_flip or augmentation.vertical_flip or augmentation.rotation
        or augmentation.scale or augmentation.perspective
    )
    if not geometric and not training:  # centred crop: a slice
        top, left = (in_size[0] - out_size[0]) // 2, (in_size[1] - out_size[1]) // 2
        images = images[:, top : top + out_size[0], left : left + out_size[1], :]
    elif geometric or in_size != tuple(out_size):
        transforms = crop_transforms(batch, in_size, out_size, augmentation, seed, training)
        images = tf.raw_ops.ImageProjectiveTransformV3(
            images=images,
            transforms=transforms,
            output_shape=tf.constant(out_size, tf.int32),
            fill_value=0.0,
            interpolation="BILINEAR",
            fill_mode="REFLECT",
        )
    if not training or augmentation is None:
        return images
    if augmentation.brightness:
        delta = _uniform(seed, 8, batch, -augmentation.brightness, augmentation.brightness) * 255.0
        images = tf.clip_by_value(images + delta[:, None, None, None], 0.0, 255.0)
    if augmentation.grayscale and images.shape[-1] == 3:
        gray = tf.image.rgb_to_grayscale(images)
        to_gray = _coin(seed, 9, batch, augmentation.grayscale)[:, None, None, None]
        images = tf.where(to_gray, tf.repeat(gray, 3, axis=-1), images)
    return images
