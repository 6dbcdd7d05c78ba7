"""Coordinate attention (Hou et al., CVPR 2021), as MrCAR (Lan et al., IEEE Access 2023) uses it."""

import keras
from keras import ops

from fer_keras.layers._common import check_argument, check_rank, serializable


@serializable
class CoordinateAttention(keras.layers.Layer):
    """Coordinate attention, MrCAR eq. 1-7 (its "CA-Net").

    Average pooling along W gives z^h (B, H, C) and along H gives z^w (B, W, C) (eq. 2-3). They are
    joined along the spatial axis, passed through a shared 1x1 convolution to C/r channels, batch
    normalisation and a non-linearity delta (eq. 4), split back into f^h and f^w, and each is mapped
    to C channels by its own 1x1 convolution and a sigmoid (eq. 5-6). The output is
    Y_c(i, j) = x_c(i, j) * g^h_c(i) * g^w_c(j) (eq. 7).

    Args:
        reduction_ratio: r; the middle width is max(min_channels, C // r) as in Hou et al.
        min_channels: lower bound of the middle width (8 in Hou et al.).
        activation: delta, a name or a function (`keras.activations.get`); Hou et al. use
            hard-swish. Kept as the function, as Keras layers do, and serialised by name.

    Example:

        x = keras.Input((44, 44, 128))
        y = CoordinateAttention(reduction_ratio=32)(x)   # (None, 44, 44, 128)
    """

    def __init__(self, reduction_ratio=32, min_channels=8, activation="hard_swish", **kwargs):
        super().__init__(**kwargs)
        check_argument("CoordinateAttention", "reduction_ratio", reduction_ratio, int(reduction_ratio) >= 1, ">= 1")
        check_argument("CoordinateAttention", "min_channels", min_channels, int(min_channels) >= 1, ">= 1")
        self.reduction_ratio = int(reduction_ratio)
        self.min_channels = int(min_channels)
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        check_rank(self, input_shape, 4)
        channels = input_shape[-1]
        middle = max(self.min_channels, channels // self.reduction_ratio)
        dt = self.dtype_policy
        self.conv_shared = keras.layers.Conv2D(middle, 1, dtype=dt, name="conv_shared")  # F_1
        self.bn = keras.layers.BatchNormalization(dtype=dt, name="bn")
        self.conv_h = keras.layers.Conv2D(channels, 1, dtype=dt, name="conv_h")  # F_h
        self.conv_w = keras.layers.Conv2D(channels, 1, dtype=dt, name="conv_w")  # F_w
        self.conv_shared.build((None, None, 1, channels))
        self.bn.build((None, None, 1, middle))
        self.conv_h.build((None, None, 1, middle))
        self.conv_w.build((None, None, 1, middle))

    def call(self, inputs, training=None):
        height = ops.shape(inputs)[1]
        z_h = ops.mean(inputs, axis=2, keepdims=True)  # (B, H, 1, C), eq. 2
        z_w = ops.transpose(ops.mean(inputs, axis=1, keepdims=True), (0, 2, 1, 3))  # (B, W, 1, C), eq. 3
        f = self.activation(self.bn(self.conv_shared(ops.concatenate([z_h, z_w], axis=1)), training=training))
        f_h, f_w = f[:, :height], f[:, height:]
        g_h = ops.sigmoid(self.conv_h(f_h))  # (B, H, 1, C), eq. 5
        g_w = ops.transpose(ops.sigmoid(self.conv_w(f_w)), (0, 2, 1, 3))  # (B, 1, W, C), eq. 6
        return inputs * g_h * g_w  # eq. 7

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "reduction_ratio": self.reduction_ratio,
            "min_channels": self.min_channels,
            "activation": keras.activations.serialize(self.activation),
        }
