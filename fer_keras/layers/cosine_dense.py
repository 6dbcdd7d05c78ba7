"""Cosine classifier layer for margin-softmax heads (ArcFace, CosFace / AM-Softmax)."""

import keras
from keras import ops

from fer_keras.layers._common import check_argument, check_rank, float32_compute, serializable


def l2_normalize(x, axis, epsilon=1e-12):
    """x / max(||x||_2, sqrt(epsilon)) along `axis`."""
    return x * ops.rsqrt(ops.maximum(ops.sum(ops.square(x), axis=axis, keepdims=True), epsilon))


@serializable
class CosineDense(keras.layers.Layer):
    """cos(theta_j) = <x / ||x||, W_j / ||W_j||>: a dense layer on the unit hypersphere, no bias.

    This is the W^T x = ||W|| ||x|| cos(theta) step of ArcFace (MrCAR eq. 9-10, MIFAD-Net eq. 10)
    and AM-Softmax (AMDCNN eq. 10) with both norms fixed to 1, so the outputs lie in [-1, 1]. The
    normalisation runs in float32, so it stays finite under `mixed_float16`; pair the layer with
    `fer_keras.losses.ArcFaceLoss` or `AMSoftmaxLoss`.

    Args:
        units: number of classes.
        kernel_initializer: initialiser of the class weight vectors W_j (columns of the kernel).

    Example:

        features = keras.Input((128,))
        cosines = CosineDense(7)(features)   # (None, 7), in [-1, 1]; train with ArcFaceLoss()
    """

    def __init__(self, units, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        check_argument("CosineDense", "units", units, int(units) >= 1, ">= 1")
        self.units = int(units)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        check_rank(self, input_shape, 2)
        self.kernel = self.add_weight(
            name="kernel", shape=(input_shape[-1], self.units), initializer=self.kernel_initializer
        )

    def call(self, inputs):
        x = l2_normalize(float32_compute(inputs), axis=-1)
        w = l2_normalize(float32_compute(self.kernel), axis=0)
        return ops.cast(ops.clip(ops.matmul(x, w), -1.0, 1.0), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }
