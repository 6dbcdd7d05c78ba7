"""Multi-scale CBAM (MCBAM) of AMDCNN (Shang et al., IEEE Access 2024), eq. 1-9, Fig. 2 and 4."""

import keras
from keras import ops

from fer_keras.layers._common import check_argument, check_rank, serializable
from fer_keras.layers.cbam import ChannelAttention, ChannelThenSpatialAttention

FUSIONS = ("conv", "sum")


def check_spatial_options(owner, kernel_sizes, fusion):
    """The MSAM options as stored: (kernel_sizes as a tuple of ints, fusion); ArgumentErrors name them."""
    kernel_sizes = tuple(int(k) for k in kernel_sizes)
    check_argument(owner, "kernel_sizes", kernel_sizes, bool(kernel_sizes) and min(kernel_sizes) >= 1, "positive ints")
    check_argument(owner, "fusion", fusion, fusion in FUSIONS, f"one of {FUSIONS}")
    return kernel_sizes, fusion


@serializable
class MultiScaleSpatialAttention(keras.layers.Layer):
    """MSAM (AMDCNN eq. 4-9): multi-scale spatial attention applied to its input.

    The channel-wise average and max maps [F_avg; F_max] go through three parallel convolutions
    of 5x5, 3x3 and 1x1 (one output map each, eq. 5-7); the three maps are concatenated (eq. 8),
    fused to one map and squashed by a sigmoid (eq. 9); the layer returns M_S(F') * F'.
    The paper concatenates three maps but needs one map to weight F'; how they are fused is not
    stated. `fusion="conv"` (default) learns a 1x1 convolution over the three maps, `"sum"` adds
    them (docs/architectures.md).

    Args:
        kernel_sizes: the branch kernels, (5, 3, 1) in the paper.
        fusion: "conv" or "sum", how the concatenated maps become one.

    Example:

        x = keras.Input((48, 48, 64))
        y = MultiScaleSpatialAttention(kernel_sizes=(5, 3, 1), fusion="conv")(x)   # (None, 48, 48, 64)
    """

    def __init__(self, kernel_sizes=(5, 3, 1), fusion="conv", **kwargs):
        super().__init__(**kwargs)
        self.kernel_sizes, self.fusion = check_spatial_options("MultiScaleSpatialAttention", kernel_sizes, fusion)

    def build(self, input_shape):
        check_rank(self, input_shape, 4)
        self.branches = [
            keras.layers.Conv2D(1, k, padding="same", dtype=self.dtype_policy, name=f"conv_{k}x{k}")
            for k in self.kernel_sizes
        ]
        for branch in self.branches:
            branch.build((None, None, None, 2))
        if self.fusion == "conv":
            self.fuse = keras.layers.Conv2D(1, 1, dtype=self.dtype_policy, name="fuse")
            self.fuse.build((None, None, None, len(self.kernel_sizes)))

    def attention_map(self, inputs):
        """M_S(F'): (B, H, W, 1) spatial weights in (0, 1)."""
        pooled = ops.concatenate(
            [ops.mean(inputs, axis=-1, keepdims=True), ops.max(inputs, axis=-1, keepdims=True)], axis=-1
        )
        maps = ops.concatenate([branch(pooled) for branch in self.branches], axis=-1)  # eq. 8
        if self.fusion == "conv":
            fused = self.fuse(maps)
        else:
            fused = ops.sum(maps, axis=-1, keepdims=True)
        return ops.sigmoid(fused)  # eq. 9

    def call(self, inputs):
        return inputs * self.attention_map(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "kernel_sizes": list(self.kernel_sizes), "fusion": self.fusion}


@serializable
class MCBAM(ChannelThenSpatialAttention):
    """MCBAM (AMDCNN eq. 1-2): channel attention, then multi-scale spatial attention.

    F_CAM = M_CAM(F) * F;  F_MSAM = M_MSAM(F_CAM) * F_CAM.

    Args:
        reduction_ratio: channel-attention MLP ratio r.
        kernel_sizes: MSAM branch kernels, (5, 3, 1) in the paper.
        fusion: MSAM map fusion, "conv" or "sum".

    Example:

        x = keras.Input((48, 48, 64))
        y = MCBAM(reduction_ratio=16)(x)   # (None, 48, 48, 64)
    """

    def __init__(self, reduction_ratio=16, kernel_sizes=(5, 3, 1), fusion="conv", **kwargs):
        super().__init__(**kwargs)
        check_argument("MCBAM", "reduction_ratio", reduction_ratio, int(reduction_ratio) >= 1, ">= 1")
        self.reduction_ratio = int(reduction_ratio)
        self.kernel_sizes, self.fusion = check_spatial_options("MCBAM", kernel_sizes, fusion)

    def make_attentions(self):
        return (ChannelAttention(self.reduction_ratio, dtype=self.dtype_policy, name="channel_attention"),
                MultiScaleSpatialAttention(self.kernel_sizes, self.fusion, dtype=self.dtype_policy,
                                           name="spatial_attention"))

    def get_config(self):
        return {
            **super().get_config(),
            "reduction_ratio": self.reduction_ratio,
            "kernel_sizes": list(self.kernel_sizes),
            "fusion": self.fusion,
        }
