"""On-the-fly augmentation of image batches, as the papers name it.

The geometric steps (random crop to the model's input, horizontal / vertical flip, rotation,
scale, perspective) are composed into one projective transform per image and applied in a single
resampling, so a batch costs one warp whatever is switched on; a plain crop with no other
geometric step is an exact pixel copy. Photometric steps (brightness, grayscale) follow, then
random erasing, on the crop the model sees.

Two twins share one description of the randomness and the geometry:

- `geometry_parameters` / `photometric_parameters` / `erasing_parameters` turn uniform [0, 1)
  draws into per-image parameters (crop shift, flip signs, angle, zoom, tilt; brightness shift,
  gray coin; erasing coin and rectangle), `compose_matrices` builds the 3x3 output -> input
  matrices and `erasing_mask` the erased pixels from them. All are written once against an array
  namespace (NumPy or TensorFlow).
- `augment_batch` (TensorFlow: stateless draws seeded per batch, `ImageProjectiveTransformV3`)
  serves the tf.data pipeline; `augment_batch_numpy` (a NumPy Generator, `cv2.warpPerspective`
  with WARP_INVERSE_MAP and BORDER_REFLECT, TF's "REFLECT") serves the backend-neutral
  PyDataset (fer_keras.data.pydataset). Same distributions, different random numbers.

Papers: random crops 48 -> 44 (MrCAR), 48 -> 40 and 100 -> 80 with horizontal flips (LBAN-IL),
rotation and shrinking (MrCAR), horizontal and vertical flips, perspective and grayscale
(AMDCNN). Random erasing: Zhong et al., "Random Erasing Data Augmentation", AAAI 2020 (no recipe
of the four papers uses it; off by default).
"""

import math
from dataclasses import asdict, dataclass, fields

from fer_keras.errors import PipelineError


def from_options(cls, options, what):
    """`cls(**options)` for the config dataclass `cls` (Augmentation, PipelineConfig); a key that
    is not one of its fields is a PipelineError naming it: "unknown <what> option(s) [...]"."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise PipelineError(f"unknown {what} option(s) {unknown}; known: {sorted(known)}")
    return cls(**options)


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
    erasing: probability of random erasing (Zhong et al., AAAI 2020) of each training image: one
        rectangle of the crop, its area a fraction of the crop's uniform in `erasing_area`, its
        aspect (height / width) log-uniform in `erasing_aspect` (within the aspects for which that
        area fits), its position uniform where it fits, filled with uniform random values in
        0..255 per pixel and channel (the paper's "random" fill). Sides are rounded to whole pixels.
    erasing_area: (low, high) area fractions, 0 < low <= high < 1 (the paper's 0.02, 0.4).
    erasing_aspect: (low, high) aspects, 0 < low <= high (the paper's 0.3, 1 / 0.3).
    mix: "mixup" (Zhang et al., ICLR 2018) or "cutmix" (Yun et al., ICCV 2019) of each training
        batch with itself backwards, after every other step; None for neither
        (fer_keras.data.mixing: each mixed image takes one of its two labels, drawn with the
        mixing weight, so every loss keeps its integer labels).
    mix_alpha: the mixing weight's Beta(alpha, alpha) parameter (the papers' 1.0: uniform).
    mix_probability: the share of a batch's images that are mixed (the others keep lam = 1).
    """

    horizontal_flip: bool = True
    vertical_flip: bool = False
    rotation: float = 0.0
    scale: float = 0.0
    perspective: float = 0.0
    brightness: float = 0.0
    grayscale: float = 0.0
    erasing: float = 0.0
    erasing_area: tuple = (0.02, 0.4)
    erasing_aspect: tuple = (0.3, 3.3)
    mix: str = None
    mix_alpha: float = 1.0
    mix_probability: float = 1.0

    def __post_init__(self):
        for name in ("rotation", "scale", "perspective", "brightness", "grayscale"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value < 0:
                raise PipelineError(f"augmentation {name} must be a number >= 0, got {value!r}")
        if self.scale >= 1 or self.perspective >= 1 or self.grayscale > 1:
            raise PipelineError(f"augmentation scale and perspective must be < 1 and grayscale <= 1, got {self}")
        if not isinstance(self.erasing, (int, float)) or isinstance(self.erasing, bool) or not 0 <= self.erasing <= 1:
            raise PipelineError(f"augmentation erasing must be a probability in [0, 1], got {self.erasing!r}")
        for name, top in (("erasing_area", 1.0), ("erasing_aspect", math.inf)):
            value = getattr(self, name)
            pair = tuple(value) if isinstance(value, (list, tuple)) else ()
            if not (len(pair) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pair)
                    and 0 < pair[0] <= pair[1] < top):
                bound = "< 1" if top == 1 else ""
                raise PipelineError(f"augmentation {name} must be [low, high] with 0 < low <= high {bound}".rstrip()
                                    + f", got {value!r}")
            object.__setattr__(self, name, tuple(float(v) for v in pair))
        if self.mix not in MIX_MODES:
            raise PipelineError(f"augmentation mix must be 'mixup', 'cutmix' or null, got {self.mix!r}")
        alpha, share = self.mix_alpha, self.mix_probability
        if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or not 0 < alpha < math.inf:
            raise PipelineError(f"augmentation mix_alpha must be a number > 0, got {alpha!r}")
        if not isinstance(share, (int, float)) or isinstance(share, bool) or not 0 <= share <= 1:
            raise PipelineError(f"augmentation mix_probability must be a probability in [0, 1], got {share!r}")

    @classmethod
    def from_dict(cls, options):
        """From a config mapping; unknown keys are an error naming them."""
        if options is None or isinstance(options, cls):
            return options
        return from_options(cls, options, "augmentation")

    def to_dict(self):
        return asdict(self)


MIX_MODES = (None, "mixup", "cutmix")  # fer_keras.data.mixing
GEOMETRY = ("dy", "dx", "flip_x", "flip_y", "angle", "zoom", "tilt_x", "tilt_y")
STEPS = 10  # uniform draws per image: steps 0-7 geometric, 8 brightness, 9 grayscale
ERASING = ("erase", "top", "left", "height", "width")
ERASING_STEPS = 5  # drawn only when erasing is on (steps 10-14), so other recipes draw as before
FILL_STEP = STEPS + ERASING_STEPS  # the TF path's seed index for the erased pixels' values
MIX_STEP = FILL_STEP + 1  # the TF path's first seed index of mixup / cutmix (fer_keras.data.mixing)
GRAY_WEIGHTS = (0.2989, 0.5870, 0.1140)  # tf.image.rgb_to_grayscale's


def is_geometric(augmentation):
    """Whether `augmentation` has a step besides the crop that moves pixels."""
    return augmentation is not None and bool(
        augmentation.horizontal_flip or augmentation.vertical_flip or augmentation.rotation
        or augmentation.scale or augmentation.perspective
    )


def geometry_parameters(xp, uniform, batch, in_size, out_size, augmentation, training):
    """Per-image geometric parameters {name: (B,) array} for `GEOMETRY` from `uniform(step)`,
    (B,) draws in [0, 1) for steps 0-7 (only the steps switched on are asked for); `xp` is the
    array namespace (numpy, or tensorflow for the tf.data path).

    dy, dx: offset of the crop window's centre from the image centre, in pixels (an integer window
        drawn uniformly when training, the centred window otherwise);
    flip_x, flip_y: -1 mirrors, 1 keeps; angle: degrees, uniform in [-rotation, rotation];
    zoom: uniform in [1 - scale, 1 + scale] (> 1 enlarges); tilt_x, tilt_y: uniform in
        [-perspective, perspective].
    """
    (in_h, in_w), (out_h, out_w) = in_size, out_size
    zeros, ones = xp.zeros([batch]), xp.ones([batch])
    if training:  # random window; integer shifts keep a plain crop an exact copy
        dy = xp.minimum(xp.floor(uniform(0) * (in_h - out_h + 1.0)), in_h - out_h + 0.0) - (in_h - out_h) / 2
        dx = xp.minimum(xp.floor(uniform(1) * (in_w - out_w + 1.0)), in_w - out_w + 0.0) - (in_w - out_w) / 2
    else:
        dy = zeros + ((in_h - out_h) // 2 - (in_h - out_h) / 2)
        dx = zeros + ((in_w - out_w) // 2 - (in_w - out_w) / 2)
    a = augmentation if training and augmentation is not None else Augmentation(horizontal_flip=False)

    def between(step, low, high):
        return uniform(step) * (high - low) + low

    return {
        "dy": dy,
        "dx": dx,
        "flip_x": xp.where(uniform(2) < 0.5, -ones, ones) if a.horizontal_flip else ones,
        "flip_y": xp.where(uniform(3) < 0.5, -ones, ones) if a.vertical_flip else ones,
        "angle": between(4, -a.rotation, a.rotation) if a.rotation else zeros,
        "zoom": between(5, 1 - a.scale, 1 + a.scale) if a.scale else ones,
        "tilt_x": between(6, -a.perspective, a.perspective) if a.perspective else zeros,
        "tilt_y": between(7, -a.perspective, a.perspective) if a.perspective else zeros,
    }


def photometric_parameters(uniform, augmentation):
    """{"brightness": (B,) shifts in 0..255 units, "grayscale": (B,) bool} from `uniform(8)` and
    `uniform(9)`, for the photometric steps switched on."""
    params = {}
    if augmentation is not None and augmentation.brightness:
        b = augmentation.brightness
        params["brightness"] = (uniform(8) * (2 * b) - b) * 255.0
    if augmentation is not None and augmentation.grayscale:
        params["grayscale"] = uniform(9) < augmentation.grayscale
    return params


def erasing_parameters(xp, uniform, size, augmentation):
    """Random erasing's per-image rectangle {name: (B,) array} for `ERASING` from `uniform(step)`,
    steps 10-14 (coin, area, aspect, top, left); {} when erasing is off. `size`: the crop's
    (h, w), the image the model sees.

    erase: bool, with probability `augmentation.erasing`; height, width: whole pixels, area
    area_fraction * h * w (area_fraction uniform in `erasing_area`), aspect height / width
    log-uniform in `erasing_aspect` narrowed to the aspects at which that area fits (the paper
    draws again until it fits; here only the largest rectangles' aspects are narrowed, and the
    batch stays one vectorised draw); top, left: uniform over the positions where it fits."""
    if augmentation is None or not augmentation.erasing:
        return {}
    h, w = size
    (area_low, area_high), (aspect_low, aspect_high) = augmentation.erasing_area, augmentation.erasing_aspect
    area = (uniform(11) * (area_high - area_low) + area_low) * (h * w)
    low = xp.maximum(area / (w * w), aspect_low)  # width = sqrt(area / aspect) <= w
    high = xp.maximum(xp.minimum((h * h) / area, aspect_high), low)  # height = sqrt(area * aspect) <= h
    aspect = low * (high / low) ** uniform(12)  # log-uniform in [low, high]
    height = xp.minimum(xp.maximum(xp.round(xp.sqrt(area * aspect)), 1.0), h + 0.0)
    width = xp.minimum(xp.maximum(xp.round(xp.sqrt(area / aspect)), 1.0), w + 0.0)
    return {
        "erase": uniform(10) < augmentation.erasing,
        "top": xp.minimum(xp.floor(uniform(13) * (h - height + 1)), h - height),
        "left": xp.minimum(xp.floor(uniform(14) * (w - width + 1)), w - width),
        "height": height,
        "width": width,
    }


def rectangle_mask(xp, top, left, bottom, right, size):
    """(B, h, w, 1) bool: pixels in rows top..bottom - 1 and columns left..right - 1 of each image
    ((B,) arrays of `xp`), for images of `size` (h, w)."""
    h, w = size
    rows = xp.reshape(xp.linspace(0.0, h - 1.0, h), [1, h, 1])
    cols = xp.reshape(xp.linspace(0.0, w - 1.0, w), [1, 1, w])

    def per_image(value):
        return xp.reshape(value, [-1, 1, 1])

    inside = (rows >= per_image(top)) & (rows < per_image(bottom)) & (cols >= per_image(left)) & (
        cols < per_image(right))
    return inside[..., None]


def erasing_mask(xp, params, size):
    """(B, h, w, 1) bool: the pixels `erasing_parameters` erases (none where `erase` is false)."""
    top, left = params["top"], params["left"]
    inside = rectangle_mask(xp, top, left, top + params["height"], left + params["width"], size)
    return inside & xp.reshape(params["erase"], [-1, 1, 1, 1])


def compose_matrices(xp, params, in_size, out_size):
    """(B, 3, 3) projective matrices mapping output pixel (x, y, 1) to input pixel coordinates
    (TF's and cv2.WARP_INVERSE_MAP's convention), from `geometry_parameters`:

        M = T(centre_in + shift) . [[A, 0], [p, 1]] . T(-centre_out),  normalised to M[2, 2] = 1,

    A = rotation . zoom . flips = [[cos * fx, -sin * fy], [sin * fx, cos * fy]] / zoom,
    p = (tilt_x / (out_w / 2), tilt_y / (out_h / 2)). The one place the geometry is written: the
    product is expanded entry by entry so it runs alike on NumPy arrays and TF tensors."""
    (in_h, in_w), (out_h, out_w) = in_size, out_size
    angle = params["angle"] * (math.pi / 180)
    cos, sin = xp.cos(angle) / params["zoom"], xp.sin(angle) / params["zoom"]
    a00, a01 = cos * params["flip_x"], -sin * params["flip_y"]
    a10, a11 = sin * params["flip_x"], cos * params["flip_y"]
    px, py = params["tilt_x"] / (out_w / 2), params["tilt_y"] / (out_h / 2)
    tx, ty = (in_w - 1) / 2 + params["dx"], (in_h - 1) / 2 + params["dy"]  # T(centre_in + shift)
    cx, cy = (out_w - 1) / 2, (out_h - 1) / 2  # T(-centre_out)
    w = 1 - cx * px - cy * py  # bottom-right entry of L . T(-centre_out)
    b0, b1 = -cx * a00 - cy * a01, -cx * a10 - cy * a11
    entries = [
        a00 + tx * px, a01 + tx * py, b0 + tx * w,
        a10 + ty * px, a11 + ty * py, b1 + ty * w,
        px, py, w,
    ]
    return xp.reshape(xp.stack([e / w for e in entries], -1), [-1, 3, 3])


def transform_matrices(params, in_size, out_size):
    """NumPy float64 (B, 3, 3) output -> input matrices from per-image parameters (a dict of
    (B,) arrays named as `GEOMETRY`); what `augment_batch_numpy` warps with."""
    import numpy as np

    params = {name: np.asarray(params[name], np.float64) for name in GEOMETRY}
    return compose_matrices(np, params, tuple(in_size), tuple(out_size))


# ---------------------------------------------------------------------------------------------
# TensorFlow twin (tf.data pipeline)


def _uniform(seed, index, batch, low, high):
    """Stateless uniform draws for step `index` of the batch whose seed pair is `seed`."""
    import tensorflow as tf

    step_seed = tf.random.experimental.stateless_fold_in(seed, index)
    return tf.random.stateless_uniform([batch], seed=step_seed, minval=low, maxval=high)


def _tf_uniform(seed, batch):
    return lambda step: _uniform(seed, step, batch, 0.0, 1.0)


def crop_transforms(batch, in_size, out_size, augmentation, seed, training):
    """(B, 8) projective transforms mapping output pixels to input pixels (TF's convention):
    T(centre_in + shift) . [[A, 0], [p, 1]] . T(-centre_out), A = rotation . zoom . flips
    (`geometry_parameters` with stateless draws, then `compose_matrices`)."""
    import tensorflow as tf

    params = geometry_parameters(tf, _tf_uniform(seed, batch), batch, in_size, out_size, augmentation, training)
    matrix = compose_matrices(tf, params, in_size, out_size)
    return tf.reshape(matrix, [batch, 9])[:, :8]


def augment_batch(images, out_size, augmentation, seed, training):
    """float32 (B, H, W, C) images in 0..255 -> (B, out_h, out_w, C): crop (random when
    training, centred otherwise) with the geometric and photometric steps of `augmentation`
    when training."""
    import tensorflow as tf

    batch = tf.shape(images)[0]
    in_size = tuple(images.shape[1:3])
    geometric = training and is_geometric(augmentation)
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
    photometric = photometric_parameters(_tf_uniform(seed, batch), augmentation)
    if "brightness" in photometric:
        images = tf.clip_by_value(images + photometric["brightness"][:, None, None, None], 0.0, 255.0)
    if "grayscale" in photometric and images.shape[-1] == 3:
        gray = tf.image.rgb_to_grayscale(images)
        images = tf.where(photometric["grayscale"][:, None, None, None], tf.repeat(gray, 3, axis=-1), images)
    erasing = erasing_parameters(tf, _tf_uniform(seed, batch), tuple(out_size), augmentation)
    if erasing:  # one mask for the batch: no loop over images
        fill_seed = tf.random.experimental.stateless_fold_in(seed, FILL_STEP)
        fill = tf.random.stateless_uniform(tf.shape(images), seed=fill_seed, minval=0.0, maxval=255.0)
        images = tf.where(erasing_mask(tf, erasing, tuple(out_size)), fill, images)
    return images


# ---------------------------------------------------------------------------------------------
# NumPy / OpenCV twin (backend-neutral PyDataset)


def _span(first, last):
    """The slice reading indices first .. last (either direction), both inside the image."""
    return slice(first, last + 1) if last >= first else slice(first, last - 1 if last > 0 else None, -1)


def _plain_windows(matrices, in_size, out_size):
    """Which matrices are crops, optionally mirrored, by whole pixels inside the image (an exact
    copy by slicing): (plain (B,) bool, first row, last row, first column, last column read)."""
    import numpy as np

    m = matrices.reshape(-1, 9) / matrices[:, 2, 2:3]
    shift = np.rint(m[:, [2, 5]])
    sx, sy = m[:, 0], m[:, 4]
    first_row, last_row = shift[:, 1], shift[:, 1] + sy * (out_size[0] - 1)
    first_col, last_col = shift[:, 0], shift[:, 0] + sx * (out_size[1] - 1)
    ends = np.stack([first_row, last_row, first_col, last_col], 1)
    plain = (
        (m[:, [1, 3, 6, 7]] == 0).all(1) & (np.abs(m[:, [0, 4]]) == 1).all(1)
        & (np.abs(m[:, [2, 5]] - shift) < 1e-9).all(1)
        & (ends >= 0).all(1) & (ends[:, :2] <= in_size[0] - 1).all(1) & (ends[:, 2:] <= in_size[1] - 1).all(1)
    )
    ends = np.where(plain[:, None], ends, 0).astype(np.int64).T.tolist()
    return (plain, *ends)


def warp_images(images, matrices, out_size):
    """(B, H, W, C) images and (B, 3, 3) output -> input matrices -> float32 (B, h, w, C): one
    bilinear resampling per image (cv2.warpPerspective, WARP_INVERSE_MAP, BORDER_REFLECT = TF's
    "REFLECT"); crops and whole-pixel mirrors are exact copies by indexing instead."""
    import cv2
    import numpy as np

    images = np.asarray(images)
    matrices = np.asarray(matrices, np.float64)
    batch, channels = len(images), images.shape[-1]
    height, width = out_size
    out = np.empty((batch, height, width, channels), np.float32)
    plain, first_row, last_row, first_col, last_col = _plain_windows(matrices, images.shape[1:3], out_size)
    for i in np.flatnonzero(plain).tolist():  # exact copies: slices (faster than one fancy gather)
        out[i] = images[i, _span(first_row[i], last_row[i]), _span(first_col[i], last_col[i])]
    rest = np.flatnonzero(~plain)
    if len(rest):
        sources = images[rest].astype(np.float32)
        flags, border = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, cv2.BORDER_REFLECT  # TF's "REFLECT"
        for source, i in zip(sources, rest):
            warped = cv2.warpPerspective(source, matrices[i], (width, height), flags=flags, borderMode=border)
            out[i] = warped.reshape(height, width, channels)
    return out


def augment_batch_numpy(images, out_size, augmentation, rng, training):
    """The NumPy twin of `augment_batch`: (B, H, W, C) uint8 or float images in 0..255 ->
    float32 (B, out_h, out_w, C). `rng` is a numpy Generator seeded per batch (None is fine when
    not training); each image takes `STEPS` uniform draws, step i being what the TF path draws
    for its step i, so every step has the TF path's distribution. With erasing on, `ERASING_STEPS`
    more per image, then the erased pixels' values (after the others: the draws of a recipe
    without erasing are as they were)."""
    import numpy as np

    images = np.asarray(images)
    batch, in_size = len(images), tuple(images.shape[1:3])
    draws = []

    def uniform(step):
        if not draws:
            draws.append(rng.random((STEPS, batch)))
        if step < STEPS:
            return draws[0][step]
        if len(draws) == 1:
            draws.append(rng.random((ERASING_STEPS, batch)))
        return draws[1][step - STEPS]

    params = geometry_parameters(np, uniform, batch, in_size, tuple(out_size), augmentation, training)
    out = warp_images(images, transform_matrices(params, in_size, out_size), out_size)
    if not training or augmentation is None:
        return out
    photometric = photometric_parameters(uniform, augmentation)
    if "brightness" in photometric:
        out = np.clip(out + photometric["brightness"].astype(np.float32)[:, None, None, None], 0.0, 255.0)
    if "grayscale" in photometric and out.shape[-1] == 3:
        gray = out @ np.asarray(GRAY_WEIGHTS, np.float32)
        out = np.where(photometric["grayscale"][:, None, None, None], gray[..., None], out)
    erasing = erasing_parameters(np, uniform, tuple(out_size), augmentation)
    if erasing:
        fill = rng.random(out.shape, dtype=np.float32) * np.float32(255.0)
        out = np.where(erasing_mask(np, erasing, tuple(out_size)), fill, out)
    return out
