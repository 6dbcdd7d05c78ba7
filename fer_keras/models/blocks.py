"""Building blocks and option checks shared by the model builders.

    from fer_keras.models.blocks import check_choice, classifier_head, conv_bn_act
    check_choice("build_mrcar", "loss", loss, LOSSES)     # ArgumentError naming `loss`
    x = conv_bn_act(x, 64, 3, name="stem")            # stem_conv, stem_bn, stem_relu
    x = conv_bn_act(x, 128, 1, name="proj", activation=None)
    outputs = classifier_head(x, num_classes, cosine=True, scale=30.0)   # {"cosines", "probabilities"}

The layers get explicit names built from `name`, so a model's layer names, weight paths and the
order of its weights are fixed by the builder (the bundled pretrained weights are stored in
`model.weights` order; docs/complexity/*.json count parameters per layer).
"""

import keras

from fer_keras.errors import ArgumentError
from fer_keras.layers import CosineDense


def check_choice(builder, argument, value, choices, expected=None):
    """Raise an ArgumentError naming `argument` of `builder` unless `value` is one of `choices`:
    ``loss='x': build_mrcar: loss must be one of ('arcface', 'softmax')``; `expected` words the
    choices otherwise (``num_aux must be 0, 1, 2 or 3``)."""
    if value not in choices:
        raise ArgumentError(argument, value, f"{builder}: {argument} must be {expected or f'one of {tuple(choices)}'}")


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


def classifier_head(x, num_classes, cosine=False, scale=30.0):
    """The classifier on features `x`, in float32: {"probabilities"} from a Dense layer named
    "logits" or, with `cosine`, {"cosines", "probabilities"} from a CosineDense named "cosines"
    (the margin losses' input) scaled by `scale` ("scaled_cosines"); the softmax is "probabilities"."""
    outputs = {}
    if cosine:
        outputs["cosines"] = CosineDense(num_classes, dtype="float32", name="cosines")(x)
        logits = keras.layers.Rescaling(scale, dtype="float32", name="scaled_cosines")(outputs["cosines"])
    else:
        logits = keras.layers.Dense(num_classes, dtype="float32", name="logits")(x)
    outputs["probabilities"] = keras.layers.Softmax(dtype="float32", name="probabilities")(logits)
    return outputs


__all__ = ["check_choice", "classifier_head", "conv_bn_act"]
