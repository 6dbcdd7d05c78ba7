"""Center loss (Wen et al. 2016), island loss (Cai et al. 2018) and islets loss (LBAN-IL eq. 1-5).

Design: each loss is a Keras layer placed on the feature vector, called as
`features = IsletsLoss(num_classes=7)([features, labels])`. It returns the features unchanged and

  * adds `loss_weight * L` to the model's losses (`self.add_loss`), so a plain `model.fit` with the
    softmax loss on the classifier output optimises L_softmax + lambda * L (LBAN-IL eq. 5);
  * keeps the class centers as a non-trainable weight and, when `training=True`, moves them by the
    paper's rule c_j <- c_j - alpha * delta_c_j (LBAN-IL eq. 4 and Algorithm 1, step 5), not by the
    optimiser. Like BatchNormalization's moving statistics, this is a variable assignment in the
    forward pass, so it works on the TensorFlow, JAX and PyTorch trainers alike.

The labels are a second model input during training (see docs/layers.md, "Center-type losses"). Only the
center-loss term depends on the features, so the gradient reaching the network is
d L / d x_i = (x_i - c_{y_i}) / m (LBAN-IL eq. 3, averaged over the mini-batch of size m); the
island and islets terms act on the centers alone, through the update rule.
"""

import keras
from keras import ops

from fer_keras.layers._common import check_rank, serializable

EPSILON = 1e-12
FEATURE_REDUCTIONS = ("half_sum", "mean")


def _safe_norm(x, axis=-1, keepdims=False):
    return ops.sqrt(ops.maximum(ops.sum(ops.square(x), axis=axis, keepdims=keepdims), EPSILON))


@serializable
class CenterLoss(keras.layers.Layer):
    """Center loss (Wen et al., ECCV 2016): L_C = 1/2 mean_i ||x_i - c_{y_i}||^2.

    Centers update (LBAN-IL eq. 4, first term):
    delta_c_j = sum_i [y_i = j] (c_j - x_i) / (1 + sum_i [y_i = j]);  c_j <- c_j - alpha delta_c_j.
    We average L_C over the mini-batch (the papers write a sum) so that lambda balances it against
    the batch-averaged softmax loss, as the reference implementations do. With
    `feature_reduction="mean"` the squared distance is also averaged over the D feature dimensions,
    L_C = mean_i mean_d (x_id - c_{y_i}d)^2 (PyTorch's `F.mse_loss(x, c[y])`), which weakens the
    pull on the features by 2 / D; the recipes say which reading they use (docs/architectures.md).

    Args:
        num_classes: number of classes |N|.
        loss_weight: lambda in L_softmax + lambda L (LBAN-IL eq. 5).
        alpha: center learning rate.
        centers_initializer: initial centers (num_classes, feature_dim).
        feature_reduction: "half_sum" (1/2 ||x - c||^2, the papers' equation) or "mean" (the mean
            squared difference over the feature dimensions).

    Example:

        features, labels = keras.Input((128,)), keras.Input((), dtype="int32")
        features = CenterLoss(num_classes=7)([features, labels])   # adds loss_weight * L_C to the model's losses
    """

    def __init__(self, num_classes, loss_weight=1.0, alpha=0.5, centers_initializer="random_normal",
                 feature_reduction="half_sum", **kwargs):
        super().__init__(**kwargs)
        if int(num_classes) < 2:
            raise ValueError(f"{type(self).__name__}: num_classes must be >= 2, got {num_classes!r}")
        if not 0.0 <= float(alpha) <= 1.0:
            raise ValueError(f"{type(self).__name__}: alpha must be in [0, 1], got {alpha!r}")
        if feature_reduction not in FEATURE_REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: feature_reduction must be one of {', '.join(FEATURE_REDUCTIONS)}, "
                             f"got {feature_reduction!r}")
        self.feature_reduction = feature_reduction
        self.num_classes = int(num_classes)
        self.loss_weight = float(loss_weight)
        self.alpha = float(alpha)
        self.centers_initializer = keras.initializers.get(centers_initializer)

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2 or not isinstance(input_shape[0], (list, tuple)):
            raise ValueError(
                f"{type(self).__name__} '{self.name}' must be called on [features, labels], got shape {input_shape!r}"
            )
        check_rank(self, input_shape[0], 2)
        self.centers = self.add_weight(
            name="centers",
            shape=(self.num_classes, input_shape[0][-1]),
            initializer=self.centers_initializer,
            trainable=False,
        )

    # -- the paper's equations, on float32 tensors ------------------------------------------------
    def loss_value(self, features, labels, centers):
        """L for one mini-batch (before `loss_weight`)."""
        assigned = ops.take(centers, labels, axis=0)
        squared = ops.square(features - assigned)
        if self.feature_reduction == "mean":
            return ops.mean(squared)
        return 0.5 * ops.mean(ops.sum(squared, axis=-1))

    def center_delta(self, features, labels, centers):
        """delta_c (num_classes, D): the step that c <- c - alpha * delta_c takes."""
        one_hot = ops.one_hot(labels, self.num_classes, dtype="float32")
        counts = ops.sum(one_hot, axis=0)[:, None]
        pulled = counts * centers - ops.matmul(ops.transpose(one_hot), features)  # sum_i [y_i=j](c_j - x_i)
        return pulled / (1.0 + counts)

    # -- the layer ------------------------------------------------------------------------------
    def call(self, inputs, training=None):
        features, labels = inputs
        x = ops.cast(features, "float32")
        y = ops.cast(ops.reshape(labels, (-1,)), "int32")
        centers = ops.cast(ops.stop_gradient(ops.convert_to_tensor(self.centers)), "float32")
        self.add_loss(self.loss_weight * self.loss_value(x, y, centers))
        if training:
            self.centers.assign(centers - self.alpha * self.center_delta(ops.stop_gradient(x), y, centers))
        return features

    def compute_output_spec(self, inputs, training=None):
        features = inputs[0]
        return keras.KerasTensor(features.shape, dtype=features.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "loss_weight": self.loss_weight,
            "alpha": self.alpha,
            "centers_initializer": keras.initializers.serialize(self.centers_initializer),
            "feature_reduction": self.feature_reduction,
        }


@serializable
class IslandLoss(CenterLoss):
    """Island loss (Cai et al., FG 2018): L_IL = L_C + lambda1 sum_{j != k} (cos(c_j, c_k) + 1).

    Centers update adds to the center-loss step the gradient of the cosine term (LBAN-IL eq. 4,
    second term): lambda1 / (|N| - 1) sum_{k != j} ( c_k / (||c_j|| ||c_k||)
    - (c_j . c_k) c_j / (||c_j||^3 ||c_k||) ).

    Args:
        lambda1: weight of the pairwise cosine term.
        (others as CenterLoss)

    Example:

        features, labels = keras.Input((128,)), keras.Input((), dtype="int32")
        features = IslandLoss(num_classes=7, lambda1=10.0)([features, labels])
    """

    def __init__(self, num_classes, loss_weight=1.0, alpha=0.5, lambda1=10.0, **kwargs):
        super().__init__(num_classes, loss_weight=loss_weight, alpha=alpha, **kwargs)
        self.lambda1 = float(lambda1)

    def _off_diagonal(self):
        return 1.0 - ops.eye(self.num_classes, dtype="float32")

    def loss_value(self, features, labels, centers):
        unit = centers / _safe_norm(centers, keepdims=True)
        cosines = ops.matmul(unit, ops.transpose(unit))
        island = ops.sum(self._off_diagonal() * (cosines + 1.0))
        return super().loss_value(features, labels, centers) + self.lambda1 * island

    def center_delta(self, features, labels, centers):
        norms = _safe_norm(centers, keepdims=True)
        unit = centers / norms
        off = self._off_diagonal()
        cosines = ops.matmul(unit, ops.transpose(unit)) * off
        # sum_{k != j} (c_k/(|c_j||c_k|) - cos_jk c_j/|c_j|^2) = (sum_{k != j} u_k - sum_k cos_jk u_j) / |c_j|
        cosine_grad = (ops.matmul(off, unit) - ops.sum(cosines, axis=1, keepdims=True) * unit) / norms
        step = self.lambda1 / (self.num_classes - 1) * cosine_grad
        return super().center_delta(features, labels, centers) + step

    def get_config(self):
        return {**super().get_config(), "lambda1": self.lambda1}


@serializable
class IsletsLoss(IslandLoss):
    """Islets loss, LBAN-IL eq. 1-5: L_I = L_Island + lambda2 L_p.

    L_p = exp(-1/2 sum_{j != k} ||c_j - c_k||_2) (eq. 1) penalises centers that lie close together;
    eq. 4 adds to the island-loss center step the term
    -lambda2 / (2 |N|) sum_{k != j} (c_j - c_k) / ||c_j - c_k|| * L_p, pushing centers apart.
    Defaults are the paper's FER values: lambda = 0.6, lambda1 = 0.2, lambda2 = 0.9, with the centre
    term averaged over the features (`feature_reduction="mean"`): with lambda = 0.6 the half sum
    shrinks the features until the classifier sees nothing (docs/architectures.md, "Collapse").

    Args:
        lambda2: weight of the penalty term L_p.
        (others as IslandLoss)

    Example:

        features, labels = keras.Input((128,)), keras.Input((), dtype="int32")
        features = IsletsLoss(num_classes=7)([features, labels])   # LBAN-IL's lambda, lambda1, lambda2
    """

    def __init__(self, num_classes, loss_weight=0.6, alpha=0.5, lambda1=0.2, lambda2=0.9, feature_reduction="mean", **kwargs):
        super().__init__(num_classes, loss_weight=loss_weight, alpha=alpha, lambda1=lambda1,
                         feature_reduction=feature_reduction, **kwargs)
        self.lambda2 = float(lambda2)

    def _pairwise(self, centers):
        diff = centers[:, None, :] - centers[None, :, :]  # (N, N, D): c_j - c_k
        return diff, _safe_norm(diff)

    def penalty(self, centers):
        """L_p (eq. 1)."""
        _, distances = self._pairwise(centers)
        return ops.exp(-0.5 * ops.sum(self._off_diagonal() * distances))

    def loss_value(self, features, labels, centers):
        return super().loss_value(features, labels, centers) + self.lambda2 * self.penalty(centers)

    def center_delta(self, features, labels, centers):
        diff, distances = self._pairwise(centers)
        off = self._off_diagonal()
        directions = ops.sum((off / distances)[:, :, None] * diff, axis=1)  # sum_{k != j} (c_j - c_k)/|c_j - c_k|
        penalty = ops.exp(-0.5 * ops.sum(off * distances))
        step = -self.lambda2 / (2.0 * self.num_classes) * directions * penalty
        return super().center_delta(features, labels, centers) + step

    def get_config(self):
        return {**super().get_config(), "lambda2": self.lambda2}
