"""Mixup and CutMix of training batches, with integer labels: each mixed image takes one of its two
labels, drawn with the mixing weight.

- Mixup (Zhang et al., "mixup: Beyond Empirical Risk Minimization", ICLR 2018):
  x = lam * x_i + (1 - lam) * x_j, lam ~ Beta(alpha, alpha).
- CutMix (Yun et al., "CutMix: Regularization Strategy to Train Strong Classifiers with Localizable
  Features", ICCV 2019): x = x_i with a box of x_j pasted in; the box's sides are
  sqrt(1 - lam) of the image's around a uniform centre, clipped to the image (the paper's
  Algorithm A1), and lam is then the share of x_i left, 1 - box area / image area.

The papers train on the mixed target lam * y_i + (1 - lam) * y_j. Every loss here takes integer
labels (AM-Softmax and ArcFace need the target class), so each mixed image gets label y_i with
probability lam and y_j otherwise. Cross-entropy, label smoothing included, is linear in the
target, so the expected loss, and its gradient, are the paper's: the same estimator as FERPlus's
label sampling (fer_keras.data.pipeline), with more noise per step and no change to the losses.
A sample weight follows its label. The partner x_j of image i is the batch's image B - 1 - i
(the batch order is already a random permutation; timm's "flip" pairing).

Draws: `MIX_STEPS` uniforms per image (mix coin, lam, label coin, box centre y, x), from the
augmentation's own stateless stream in tf.data (`MIX_STEP` on) and from a Generator of its own in
the PyDataset twin, so recipes without mixing draw what they drew before. lam ~ Beta(alpha,
alpha) is the inverse CDF, tabulated once (`beta_quantiles`) and interpolated, in both twins.
"""

import numpy as np

from fer_keras.data.augment import rectangle_mask
from fer_keras.errors import PipelineError

MIX_STEPS = 5  # mix coin, lam, label coin, box centre y, box centre x
TABLE = 1024  # intervals of the tabulated Beta inverse CDF


def beta_quantiles(alpha, intervals=TABLE):
    """float64 (intervals + 1,) quantiles of Beta(alpha, alpha) at 0, 1 / intervals, ..., 1."""
    from scipy.special import betaincinv

    return betaincinv(float(alpha), float(alpha), np.linspace(0.0, 1.0, intervals + 1))


def _interpolate(xp, gather, table, u):
    position = u * (len(table) - 1)
    low = xp.minimum(xp.floor(position), len(table) - 2.0)
    fraction = position - low
    index = low.astype(np.int32) if xp is np else xp.cast(low, "int32")
    return gather(table, index) * (1.0 - fraction) + gather(table, index + 1) * fraction


def mixing_parameters(xp, uniform, size, augmentation, table, gather):
    """{name: (B,) array} of a batch's mixing (`augmentation.mix` on), from `uniform(k)`,
    k = 0..MIX_STEPS - 1 (draws in [0, 1) per image). `size`: the crops' (h, w); `table`:
    `beta_quantiles(augmentation.mix_alpha)` as an `xp` array, `gather` xp's take.

    lam: the share of the image's own pixels (1 where the coin `augmentation.mix_probability`
    says no mixing); own_label: whether it keeps its label (probability lam); top, bottom, left,
    right: CutMix's box in whole pixels (rows top..bottom - 1 come from the partner; empty where
    the image is not mixed)."""
    mixed = uniform(0) < augmentation.mix_probability
    lam = _interpolate(xp, gather, table, uniform(1))
    params = {}
    if augmentation.mix == "cutmix":
        h, w = size
        cut = xp.sqrt(1.0 - lam)
        half_h, half_w = xp.floor(h * cut / 2.0), xp.floor(w * cut / 2.0)
        cy, cx = xp.floor(uniform(3) * h), xp.floor(uniform(4) * w)
        top, bottom = xp.maximum(cy - half_h, 0.0), xp.minimum(cy + half_h, h + 0.0)
        left, right = xp.maximum(cx - half_w, 0.0), xp.minimum(cx + half_w, w + 0.0)
        params = {"top": top, "bottom": xp.where(mixed, bottom, top), "left": left, "right": right}
        lam = 1.0 - (params["bottom"] - top) * (right - left) / (h * w)
    lam = xp.where(mixed, lam, xp.ones_like(lam))
    return {"lam": lam, "own_label": uniform(2) < lam, **params}


def mix_images(xp, images, params, mode, reverse):
    """float32 (B, h, w, C) 0..255 images mixed with their partners (`reverse(images)`, the batch
    backwards) as `params` says."""
    partners = reverse(images)
    if mode == "cutmix":
        box = rectangle_mask(xp, params["top"], params["left"], params["bottom"], params["right"],
                             tuple(images.shape[1:3]))
        return xp.where(box, partners, images)
    lam = params["lam"].astype(images.dtype) if xp is np else xp.cast(params["lam"], images.dtype)
    lam = xp.reshape(lam, [-1, 1, 1, 1])
    return lam * images + (1.0 - lam) * partners


def label_sources(xp, params, batch):
    """int (B,) positions in the batch whose label (and weight) each image takes: its own where
    `own_label`, its partner's (B - 1 - i) otherwise."""
    positions = np.arange(batch) if xp is np else xp.range(batch)
    return xp.where(params["own_label"], positions, batch - 1 - positions)


def check_mixing(augmentation, named):
    """A PipelineError when mixing cannot apply: CutMix on a multi-input model (its box would
    land differently on each region's crop)."""
    if augmentation is not None and augmentation.mix == "cutmix" and named:
        raise PipelineError("pipeline: augmentation mix 'cutmix' needs a single-input model; "
                            "multi-input models (regions) can use 'mixup'")


# ---------------------------------------------------------------------------------------------
# the two twins


def mix_batch_tf(views, labels, weights, augmentation, table, seed):
    """tf.data: ({input: float32 (B, h, w, C) 0..255}, int labels, weights or None) mixed."""
    import tensorflow as tf

    from fer_keras.data.augment import MIX_STEP, _uniform

    first = next(iter(views.values()))
    batch = tf.shape(first)[0]
    params = mixing_parameters(tf, lambda k: _uniform(seed, MIX_STEP + k, batch, 0.0, 1.0),
                               tuple(first.shape[1:3]), augmentation, table, tf.gather)
    views = {key: mix_images(tf, images, params, augmentation.mix, lambda x: tf.reverse(x, [0]))
             for key, images in views.items()}
    sources = label_sources(tf, params, batch)
    return views, tf.gather(labels, sources), None if weights is None else tf.gather(weights, sources)


def mix_batch_numpy(views, labels, weights, augmentation, table, rng):
    """The PyDataset twin of `mix_batch_tf`; `rng` a Generator of the batch's own."""
    first = next(iter(views.values()))
    batch = len(first)
    draws = rng.random((MIX_STEPS, batch))
    params = mixing_parameters(np, lambda k: draws[k], tuple(first.shape[1:3]), augmentation, table, np.take)
    views = {key: mix_images(np, images, params, augmentation.mix, lambda x: x[::-1]).astype(np.float32)
             for key, images in views.items()}
    sources = label_sources(np, params, batch)
    return views, labels[sources], None if weights is None else weights[sources]
