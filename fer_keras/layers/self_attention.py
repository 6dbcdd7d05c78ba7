"""Channel and spatial self-attention of MIFAD-Net (Cai et al., Front. Psychol. 2021), eq. 2-9.

Both layers build an affinity matrix from the outer product of a pooled descriptor with itself,
normalise each row with a softmax (computed in float32), and add the re-weighted features back
with a learnable scale initialised to zero, so at initialisation each layer is the identity.
"""

import keras
from keras import ops

from fer_keras.layers._common import check_rank, float32_compute, serializable


def _row_softmax_outer(descriptor):
    """softmax(d d^T) over the last axis, in float32: (B, N) -> (B, N, N) (MIFAD-Net eq. 3-4, 7-8)."""
    d = float32_compute(descriptor)
    return ops.softmax(d[:, :, None] * d[:, None, :], axis=-1)


@serializable
class ChannelSelfAttention(keras.layers.Layer):
    """Channel self-attention, MIFAD-Net eq. 2-5.

    Global average and global max pooling are summed (F_a + F_m), passed through a 1x1 convolution
    (C -> C), PReLU and batch normalisation to give F_p (eq. 2). A_c = softmax(F_p F_p^T) is a
    C x C matrix (eq. 3-4, softmax along each row), and the output is F + alpha * (A_c F) (eq. 5),
    where output channel i mixes the input channels with weights A_c[i, :]. alpha is a learnable
    scalar initialised to 0.

    Example:

        x = keras.Input((12, 12, 128))
        y = ChannelSelfAttention()(x)   # (None, 12, 12, 128)
    """

    def build(self, input_shape):
        check_rank(self, input_shape, 4)
        channels = input_shape[-1]
        dt = self.dtype_policy
        # A 1x1 convolution on a 1x1 map is a dense layer over channels.
        self.conv = keras.layers.Dense(channels, dtype=dt, name="conv_1x1")
        self.prelu = keras.layers.PReLU(dtype=dt, name="prelu")
        self.bn = keras.layers.BatchNormalization(dtype=dt, name="bn")
        self.conv.build((None, channels))
        self.prelu.build((None, channels))
        self.bn.build((None, channels))
        self.alpha = self.add_weight(name="alpha", shape=(), initializer="zeros")

    def call(self, inputs, training=None):
        pooled = ops.mean(inputs, axis=(1, 2)) + ops.max(inputs, axis=(1, 2))  # F_a + F_m
        f_p = self.bn(self.prelu(self.conv(pooled)), training=training)  # eq. 2
        attention = ops.cast(_row_softmax_outer(f_p), inputs.dtype)  # (B, C, C), eq. 3-4
        shape = ops.shape(inputs)
        flat = ops.reshape(inputs, (shape[0], shape[1] * shape[2], shape[3]))  # (B, HW, C)
        mixed = ops.matmul(flat, ops.transpose(attention, (0, 2, 1)))  # (A_c F) as (B, HW, C)
        return inputs + ops.cast(self.alpha, inputs.dtype) * ops.reshape(mixed, shape)  # eq. 5

    def compute_output_shape(self, input_shape):
        return input_shape


@serializable
class SpatialSelfAttention(keras.layers.Layer):
    """Spatial self-attention, MIFAD-Net eq. 6-9.

    Channel-wise average and max maps are concatenated, convolved by a 3x3 convolution (stride 1,
    'same' padding) to one map, then PReLU and batch normalisation give F_p (eq. 6). Flattened to
    HW positions, A_s = softmax(F_p F_p^T) is HW x HW (eq. 7-8, softmax along each row), and the
    output is F + beta * (A_s F) (eq. 9): each position becomes a mix of all positions. beta is a
    learnable scalar initialised to 0. Memory grows as (HW)^2 per image.

    Example:

        x = keras.Input((12, 12, 128))
        y = SpatialSelfAttention()(x)   # (None, 12, 12, 128)
    """

    def build(self, input_shape):
        check_rank(self, input_shape, 4)
        dt = self.dtype_policy
        self.conv = keras.layers.Conv2D(1, 3, padding="same", dtype=dt, name="conv_3x3")
        self.prelu = keras.layers.PReLU(shared_axes=[1, 2], dtype=dt, name="prelu")
        self.bn = keras.layers.BatchNormalization(dtype=dt, name="bn")
        self.conv.build((None, None, None, 2))
        self.prelu.build((None, None, None, 1))
        self.bn.build((None, None, None, 1))
        self.beta = self.add_weight(name="beta", shape=(), initializer="zeros")

    def call(self, inputs, training=None):
        pooled = ops.concatenate(
            [ops.mean(inputs, axis=-1, keepdims=True), ops.max(inputs, axis=-1, keepdims=True)], axis=-1
        )
        f_p = self.bn(self.prelu(self.conv(pooled)), training=training)  # (B, H, W, 1), eq. 6
        shape = ops.shape(inputs)
        positions = shape[1] * shape[2]
        attention = ops.cast(_row_softmax_outer(ops.reshape(f_p, (shape[0], positions))), inputs.dtype)  # eq. 7-8
        flat = ops.reshape(inputs, (shape[0], positions, shape[3]))
        mixed = ops.matmul(attention, flat)  # (A_s F) as (B, HW, C)
        return inputs + ops.cast(self.beta, inputs.dtype) * ops.reshape(mixed, shape)  # eq. 9

    def compute_output_shape(self, input_shape):
        return input_shape
