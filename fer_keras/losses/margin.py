"""Margin-softmax losses on cosine logits: ArcFace (additive angular) and AM-Softmax (additive cosine).

Both are called as `loss(y_true, cos_theta)`: integer labels of shape (B,) or (B, 1) and cosine
logits of shape (B, C) in [-1, 1], e.g. the output of `fer_keras.layers.CosineDense`. They compute
in float32 whatever the input dtype, so they are safe under `mixed_float16`.
"""

import math

import keras
from keras import ops

from fer_keras.layers._common import PACKAGE


def _validate(name, scale, margin):
    if not float(scale) > 0:
        raise ValueError(f"{name}: scale must be > 0, got {scale!r}")
    if not 0 <= float(margin) < math.pi / 2:
        raise ValueError(f"{name}: margin must be in [0, pi/2), got {margin!r}")


def _labels_and_cosines(y_true, y_pred):
    """(B,) int labels and float32 cosines clipped to [-1, 1]."""
    labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
    cosines = ops.clip(ops.cast(y_pred, "float32"), -1.0, 1.0)
    return labels, cosines


def _margin_cross_entropy(labels, cosines, target_logit, scale):
    """-log softmax(s * z)_y where z is the cosines with the target entry replaced by target_logit."""
    one_hot = ops.one_hot(labels, ops.shape(cosines)[-1], dtype="float32")
    logits = scale * (cosines + one_hot * (target_logit[:, None] - cosines))
    return -ops.sum(one_hot * ops.log_softmax(logits, axis=-1), axis=-1)


def _target_cosine(labels, cosines):
    one_hot = ops.one_hot(labels, ops.shape(cosines)[-1], dtype="float32")
    return ops.sum(one_hot * cosines, axis=-1)


class _MarginSoftmaxLoss(keras.losses.Loss):
    """What the margin-softmax losses share: the scale s and margin m (checked, in the config) and
    the cross-entropy of s * cosines with the target entry replaced by `target_logit`."""

    def __init__(self, scale, margin, name, **kwargs):
        super().__init__(name=name, **kwargs)
        _validate(type(self).__name__, scale, margin)
        self.scale = float(scale)
        self.margin = float(margin)

    def target_logit(self, labels, cosines):
        """(B,) margin-penalised target cosine, before the scale."""
        raise NotImplementedError

    def call(self, y_true, y_pred):
        labels, cosines = _labels_and_cosines(y_true, y_pred)
        return _margin_cross_entropy(labels, cosines, self.target_logit(labels, cosines), self.scale)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "margin": self.margin}


@keras.saving.register_keras_serializable(package=PACKAGE)
class ArcFaceLoss(_MarginSoftmaxLoss):
    """Additive angular margin loss (ArcFace, Deng et al. 2019); MrCAR eq. 10.

    L = -mean log( e^{s cos(theta_y + m)} / (e^{s cos(theta_y + m)} + sum_{j != y} e^{s cos theta_j}) ).

    MIFAD-Net's "angular distance loss" (its eq. 10) is this loss. Where theta_y + m would pass pi,
    cos(theta_y + m) stops decreasing; like the ArcFace authors we then use the linear stand-in
    cos(theta_y) - m sin(m) for theta_y > pi - m, which keeps the target logit monotonic in theta_y.
    sin(theta) is computed as sqrt(max(1 - cos^2, eps)), so the value and the gradient stay finite at
    cos = +-1.

    Args:
        scale: s, the radius of the hypersphere (64 in ArcFace; 30 is common for 7 classes).
        margin: m in radians (0.5 in ArcFace).

    Example:

        loss = ArcFaceLoss(scale=30.0, margin=0.5)   # model.compile(loss={"cosines": loss}), head: CosineDense
        value = loss(np.array([0, 2]), np.array([[0.9, 0.1, 0.0], [0.2, 0.1, 0.7]]))
    """

    def __init__(self, scale=30.0, margin=0.5, name="arcface_loss", **kwargs):
        super().__init__(scale, margin, name, **kwargs)

    def target_logit(self, labels, cosines):
        cos_t = _target_cosine(labels, cosines)
        sin_t = ops.sqrt(ops.maximum(1.0 - ops.square(cos_t), 1e-7))
        cos_t_plus_m = cos_t * math.cos(self.margin) - sin_t * math.sin(self.margin)
        threshold = math.cos(math.pi - self.margin)
        return ops.where(cos_t > threshold, cos_t_plus_m, cos_t - self.margin * math.sin(self.margin))


@keras.saving.register_keras_serializable(package=PACKAGE)
class AMSoftmaxLoss(_MarginSoftmaxLoss):
    """Additive margin softmax (AM-Softmax / CosFace, Wang et al. 2018); AMDCNN eq. 10.

    L = -mean log( e^{s (cos theta_y - m)} / (e^{s (cos theta_y - m)} + sum_{j != y} e^{s cos theta_j}) ).

    AMDCNN calls s learnable but gives neither its value nor how it is learned; Wang et al. found a
    learned s stays too small and fix s = 30, which we follow (docs/architectures.md).

    Args:
        scale: s (30 in AM-Softmax).
        margin: m, subtracted from the target cosine (0.35 in AM-Softmax).

    Example:

        loss = AMSoftmaxLoss(scale=30.0, margin=0.35)   # model.compile(loss={"cosines": loss}), head: CosineDense
        value = loss(np.array([0, 2]), np.array([[0.9, 0.1, 0.0], [0.2, 0.1, 0.7]]))
    """

    def __init__(self, scale=30.0, margin=0.35, name="am_softmax_loss", **kwargs):
        super().__init__(scale, margin, name, **kwargs)

    def target_logit(self, labels, cosines):
        return _target_cosine(labels, cosines) - self.margin
