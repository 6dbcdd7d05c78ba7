"""Reusable Keras 3 layers from the four FER papers (backend-neutral: keras.ops only).

    from fer_keras.layers import CBAM
    x = CBAM(reduction_ratio=8)(x)

Every layer is registered as "fer_keras>Name", so a `.keras` file containing it loads with
`keras.models.load_model` once `fer_keras.layers` has been imported.
"""

from fer_keras.layers.cbam import CBAM, ChannelAttention, SpatialAttention
from fer_keras.layers.coordinate_attention import CoordinateAttention
from fer_keras.layers.cosine_dense import CosineDense
from fer_keras.layers.fusion import AdaptiveWeightedFusion
from fer_keras.layers.local_binary import LocalBinaryConv2D, LocalBinaryInitializer, LocalBinaryStandardLayer
from fer_keras.layers.mcbam import MCBAM, MultiScaleSpatialAttention
from fer_keras.layers.self_attention import ChannelSelfAttention, SpatialSelfAttention

__all__ = [
    "AdaptiveWeightedFusion",
    "CBAM",
    "ChannelAttention",
    "ChannelSelfAttention",
    "CoordinateAttention",
    "CosineDense",
    "LocalBinaryConv2D",
    "LocalBinaryInitializer",
    "LocalBinaryStandardLayer",
    "MCBAM",
    "MultiScaleSpatialAttention",
    "SpatialAttention",
    "SpatialSelfAttention",
]
