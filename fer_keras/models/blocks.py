"""Building blocks shared by the model builders.

    from fer_keras.models.blocks import conv_bn_act
    x = conv_bn_act(x, 64, 3, name="stem")            # stem_conv, stem_bn, stem_relu
    x = conv_bn_act(x, 128, 1, name="proj", activation=None)

The layers get explicit names built from `name`, so a model's layer names, weight paths and the
order of its weights are fixed by the builder (the bundled pretrained weights are stored in
`model.weights` order; docs/complexity/*.json count parameters per layer).
"""

import keras

from fer_keras.errors import ArgumentError


def conv_bn_act(x, filters, kernel_size, name, strides=1, padding="same", use_bias=False, batch_norm=True,
                activation="relu", suffix=""):
    """Conv2D -> BatchNormalization -> ReLU on tensor `x`.

    The layers are named f"{name}_conv{suffix}", f"{name}_bn{suffix}" and f"{name}_relu{suffix}".
    batch_norm=False leaves the BN out, activation=None the ReLU; use_bias is the convolution's
    (False by default: the BN's beta is the bias).
    """
    if activation not in ("relu", None):
        raise ArgumentError("activation", activation, "conv_bn_act: activation must be 'relu' or None")
    x = keras.layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, use_bias=use_bias,
                            name=f"{name}_conv{suffix}")(x)
    if batch_norm:
        x = keras.layers.BatchNormalization(name=f"{name}_bn{suffix}")(x)
    if activation == "relu":
        x = keras.layers.ReLU(name=f"{name}_relu{suffix}")(x)
    return x


__all__ = ["conv_bn_act"]
