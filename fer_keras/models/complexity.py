"""Parameter and multiply-accumulate (MAC) counts of a Keras model, layer by layer.

Convention: MACs count the multiply-accumulates of convolutions, transposed convolutions, dense
layers and the matrix products inside attention layers, at batch size 1. Element-wise work
(BatchNorm, activations, pooling, additions, attention re-weighting) counts as 0, as in most FLOP
tables. FLOPs = 2 x MACs. Papers differ in which of the two they print as "FLOPs" (AMDCNN's
138.98 "MFlops" are MACs), so both are reported.

Fixed parameters are LocalBinaryConv2D's non-trainable binary filters; BatchNorm statistics and
class centers are non-trainable too but not fixed, and count only in the total.
"""

import math

import keras
import numpy as np

from fer_keras import layers as L


def _hw(shape):
    return int(shape[1]) * int(shape[2])


def _conv(layer, inp, out):
    kh, kw = layer.kernel_size
    cin = int(inp[-1])
    if isinstance(layer, keras.layers.Conv2DTranspose):
        return _hw(inp) * kh * kw * cin * layer.filters
    if isinstance(layer, keras.layers.SeparableConv2D):
        return _hw(out) * (kh * kw * cin * layer.depth_multiplier + cin * layer.depth_multiplier * layer.filters)
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        return _hw(out) * kh * kw * cin * layer.depth_multiplier
    return _hw(out) * kh * kw * (cin // layer.groups) * layer.filters


def _dense(layer, inp, out):
    return int(np.prod([int(d) for d in inp[1:]])) * int(out[-1])


def _channel_attention(layer, inp, out):
    c = int(inp[-1])
    return 2 * 2 * c * layer.mlp_hidden.units  # the shared MLP on the avg and the max descriptor


def _spatial_attention(layer, inp, out):
    return _hw(inp) * 2 * layer.kernel_size**2


def _multi_scale_spatial_attention(layer, inp, out):
    fuse = len(layer.kernel_sizes) if layer.fusion == "conv" else 0
    return _hw(inp) * (2 * sum(k * k for k in layer.kernel_sizes) + fuse)


def _channel_then_spatial(layer, inp, out):
    return layer_macs(layer.channel_attention, inp, inp) + layer_macs(layer.spatial_attention, inp, inp)


def _coordinate_attention(layer, inp, out):
    h, w, c = (int(d) for d in inp[1:])
    mid = layer.conv_shared.filters
    return (h + w) * c * mid + (h + w) * mid * c


def _channel_self_attention(layer, inp, out):
    c = int(inp[-1])
    return c * c + c * c + _hw(inp) * c * c  # 1x1 conv, F_p F_p^T, A_c F


def _spatial_self_attention(layer, inp, out):
    n = _hw(inp)
    return n * 9 * 2 + n * n + n * n * int(inp[-1])  # 3x3 conv, F_p F_p^T, A_s F


def _local_binary_conv(layer, inp, out):
    k = layer.kernel_size
    return _hw(out) * (k * k * int(inp[-1]) * layer.weight_size + layer.weight_size * layer.filters)


def _local_binary_standard_layer(layer, inp, out):
    cin, f = int(inp[-1]), layer.filters
    total = _hw(out) * (9 * cin * layer.weight_size + layer.weight_size * f)  # LBC or its trainable "SC" twin
    if layer.standard_conv:
        total += _hw(out) * 9 * f * f
    if layer.projection is not None:
        total += _hw(out) * cin * f
    return total


def _fusion(layer, inp, out):
    return len(inp) * int(inp[0][-1])


RULES = [
    (L.LocalBinaryStandardLayer, _local_binary_standard_layer),
    (L.LocalBinaryConv2D, _local_binary_conv),
    (L.ChannelAttention, _channel_attention),
    (L.SpatialAttention, _spatial_attention),
    (L.MultiScaleSpatialAttention, _multi_scale_spatial_attention),
    (L.CBAM, _channel_then_spatial),
    (L.MCBAM, _channel_then_spatial),
    (L.CoordinateAttention, _coordinate_attention),
    (L.ChannelSelfAttention, _channel_self_attention),
    (L.SpatialSelfAttention, _spatial_self_attention),
    (L.CosineDense, _dense),
    (L.AdaptiveWeightedFusion, _fusion),
    (keras.layers.Conv2D, _conv),  # also Conv2DTranspose
    (keras.layers.DepthwiseConv2D, _conv),
    (keras.layers.SeparableConv2D, _conv),
    (keras.layers.Dense, _dense),
]


def layer_macs(layer, input_shape, output_shape):
    """MACs of one call of `layer` (batch 1); 0 for element-wise layers."""
    for cls, rule in RULES:
        if isinstance(layer, cls):
            return int(rule(layer, input_shape, output_shape))
    return 0


def _shape(tensors):
    if isinstance(tensors, (list, tuple)):
        shapes = [tuple(t.shape) for t in tensors]
        return shapes[0] if len(shapes) == 1 else shapes
    return tuple(tensors.shape)


def layer_table(model):
    """One row per layer call: name, class, output shape, parameters, MACs (nested models expanded)."""
    rows = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        nodes = [n for n in layer._inbound_nodes if n.input_tensors]
        if isinstance(layer, keras.Model):
            inner = layer_table(layer)
            for _ in nodes:
                rows.extend({**row, "name": f"{layer.name}/{row['name']}"} for row in inner)
            continue
        for i, node in enumerate(nodes):
            inp, out = _shape(node.input_tensors), _shape(node.output_tensors)
            rows.append(
                {
                    "name": layer.name if len(nodes) == 1 else f"{layer.name}[{i}]",
                    "class": type(layer).__name__,
                    "output_shape": out,
                    "params": layer.count_params() if i == 0 else 0,
                    "macs": layer_macs(layer, inp, out),
                }
            )
    return rows


def complexity(model):
    """{"params_total", "params_trainable", "params_fixed", "macs", "flops"} of a built model."""
    size = lambda weights: int(sum(math.prod(w.shape) for w in weights))  # noqa: E731
    macs = sum(row["macs"] for row in layer_table(model))
    return {
        "params_total": size(model.weights),
        "params_trainable": size(model.trainable_weights),
        "params_fixed": size(w for w in model.weights if w.path.endswith("binary_kernel")),
        "macs": macs,
        "flops": 2 * macs,
    }


__all__ = ["complexity", "layer_macs", "layer_table"]
