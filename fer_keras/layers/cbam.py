"""CBAM: Convolutional Block Attention Module (Woo et al., ECCV 2018), as AMDCNN uses it.

AMDCNN (Shang et al., IEEE Access 2024) eq. 1-3 and Fig. 2-3; its MCBAM variant lives in
`fer_keras.layers.mcbam`. Inputs are channels-last feature maps (B, H, W, C).
"""

import keras
from keras import ops

from fer_keras.layers._common import check_argument, check_rank, serializable


@serializable
class ChannelAttention(keras.layers.Layer):
    """Channel attention map M_c(F) of CBAM (AMDCNN eq. 3), applied to its input.

    A shared two-layer MLP (C -> C/r -> C, ReLU between) scores the spatially average-pooled and
    max-pooled descriptors; the two scores are summed and squashed by a sigmoid:
    M_c(F) = sigma(MLP(AvgPool(F)) + MLP(MaxPool(F))), and the layer returns M_c(F) * F (eq. 1).
    AMDCNN's eq. 3 prints sigma(.) + sigma(.) on its second line, which would give weights in
    [0, 2]; its first line and the CBAM paper sum before the sigmoid, which is what we do
    (docs/architectures.md).

    Args:
        reduction_ratio: r, the MLP's bottleneck ratio; the hidden width is max(1, C // r).
        use_bias: whether the MLP's dense layers have biases (CBAM's reference code: yes).

    Example:

        x = keras.Input((48, 48, 64))
        y = ChannelAttention(reduction_ratio=16)(x)   # (None, 48, 48, 64)
    """

    def __init__(self, reduction_ratio=16, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        check_argument("ChannelAttention", "reduction_ratio", reduction_ratio, int(reduction_ratio) >= 1, ">= 1")
        self.reduction_ratio = int(reduction_ratio)
        self.use_bias = bool(use_bias)

    def build(self, input_shape):
        check_rank(self, input_shape, 4)
        channels = input_shape[-1]
        hidden = max(1, channels // self.reduction_ratio)
        self.mlp_hidden = keras.layers.Dense(
            hidden, activation="relu", use_bias=self.use_bias, dtype=self.dtype_policy, name="mlp_hidden"
        )
        self.mlp_out = keras.layers.Dense(channels, use_bias=self.use_bias, dtype=self.dtype_policy, name="mlp_out")
        self.mlp_hidden.build((None, channels))
        self.mlp_out.build((None, hidden))

    def attention_map(self, inputs):
        """M_c(F): (B, 1, 1, C) channel weights in (0, 1)."""
        avg = ops.mean(inputs, axis=(1, 2))
        mx = ops.max(inputs, axis=(1, 2))
        score = self.mlp_out(self.mlp_hidden(avg)) + self.mlp_out(self.mlp_hidden(mx))
        return ops.sigmoid(score)[:, None, None, :]

    def call(self, inputs):
        return inputs * self.attention_map(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "reduction_ratio": self.reduction_ratio, "use_bias": self.use_bias}


@serializable
class SpatialAttention(keras.layers.Layer):
    """Spatial attention map M_s(F) of CBAM, applied to its input.

    Average and max over the channel axis give two (H, W) maps; they are concatenated and a single
    k x k convolution ('same' padding) followed by a sigmoid gives the map:
    M_s(F) = sigma(f^{k x k}([AvgPool(F); MaxPool(F)])). The layer returns M_s(F) * F.

    Args:
        kernel_size: k, 7 in CBAM.

    Example:

        x = keras.Input((48, 48, 64))
        y = SpatialAttention(kernel_size=7)(x)   # (None, 48, 48, 64)
    """

    def __init__(self, kernel_size=7, **kwargs):
        super().__init__(**kwargs)
        check_argument("SpatialAttention", "kernel_size", kernel_size, int(kernel_size) >= 1, ">= 1")
        self.kernel_size = int(kernel_size)

    def build(self, input_shape):
        check_rank(self, input_shape, 4)
        self.conv = keras.layers.Conv2D(1, self.kernel_size, padding="same", dtype=self.dtype_policy, name="conv")
        self.conv.build((None, None, None, 2))

    def attention_map(self, inputs):
        """M_s(F): (B, H, W, 1) spatial weights in (0, 1)."""
        pooled = ops.concatenate(
            [ops.mean(inputs, axis=-1, keepdims=True), ops.max(inputs, axis=-1, keepdims=True)], axis=-1
        )
        return ops.sigmoid(self.conv(pooled))

    def call(self, inputs):
        return inputs * self.attention_map(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "kernel_size": self.kernel_size}


class ChannelThenSpatialAttention(keras.layers.Layer):
    """Base of CBAM and MCBAM: `channel_attention`, then `spatial_attention`, both created in
    `build` by the subclass's `make_attentions()`."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.channel_attention = None
        self.spatial_attention = None

    def make_attentions(self):
        """(channel attention, spatial attention): the two sublayers, named "channel_attention"
        and "spatial_attention" (their weights' paths and order in `weights`)."""
        raise NotImplementedError

    def build(self, input_shape):
        check_rank(self, input_shape, 4)
        self.channel_attention, self.spatial_attention = self.make_attentions()
        self.channel_attention.build(input_shape)
        self.spatial_attention.build(input_shape)

    def call(self, inputs):
        return self.spatial_attention(self.channel_attention(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape


@serializable
class CBAM(ChannelThenSpatialAttention):
    """CBAM (AMDCNN eq. 1-2 with a single-scale spatial map): channel then spatial attention.

    F_CAM = M_c(F) * F;  F_out = M_s(F_CAM) * F_CAM.

    Args:
        reduction_ratio: channel-attention MLP ratio r.
        kernel_size: spatial-attention kernel size (7 in CBAM).

    Example:

        x = keras.Input((48, 48, 64))
        y = CBAM(reduction_ratio=16)(x)   # (None, 48, 48, 64)
    """

    def __init__(self, reduction_ratio=16, kernel_size=7, **kwargs):
        super().__init__(**kwargs)
        check_argument("CBAM", "reduction_ratio", reduction_ratio, int(reduction_ratio) >= 1, ">= 1")
        check_argument("CBAM", "kernel_size", kernel_size, int(kernel_size) >= 1, ">= 1")
        self.reduction_ratio = int(reduction_ratio)
        self.kernel_size = int(kernel_size)

    def make_attentions(self):
        return (ChannelAttention(self.reduction_ratio, dtype=self.dtype_policy, name="channel_attention"),
                SpatialAttention(self.kernel_size, dtype=self.dtype_policy, name="spatial_attention"))

    def get_config(self):
        return {**super().get_config(), "reduction_ratio": self.reduction_ratio, "kernel_size": self.kernel_size}
