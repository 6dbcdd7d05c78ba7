"""AMDCNN (Shang et al., "Facial Emotion Recognition Combining Auxiliary Classifiers and Multiscale
CBAM Attention Mechanisms", IEEE Access 2024): Fig. 1 and Table 1.

    input 48x48x1
    SFEM   Conv1 3x3 -> 46x46x16, Conv2 3x3 -> 44x44x16
    DFEM1  -> 22x22x32    ACM1 (auxiliary classifier 1)
    DFEM2  -> 11x11x64    ACM2
    DFEM3  -> 6x6x128     ACM3
    DFEM4  -> 3x3x256     MCM (main classifier)
    AWFM   adaptive weighted fusion of the classifiers -> 7 probabilities

Each classifier ends in a cosine head trained with AM-Softmax (eq. 10); the fusion (eq. 13-14) is
trained with cross-entropy so that its weights adapt. Readings: docs/architectures.md, "AMDCNN".
"""

import keras

from fer_keras.layers import CBAM, MCBAM, AdaptiveWeightedFusion, CosineDense
from fer_keras.models.blocks import check_choice, conv_bn_act
from fer_keras.models.registry import register_model

ATTENTIONS = ("none", "cbam", "mcbam")
DEFAULT_INPUT_SHAPE = (48, 48, 1)
DFEM_FILTERS = (32, 64, 128, 256)


def conv_bn(x, filters, strides=1, padding="same", name=None):
    """3x3 conv (no bias) and BN, named <name>_conv, <name>_bn."""
    return conv_bn_act(x, filters, 3, name, strides=strides, padding=padding, activation=None)


def attention_block(attention, reduction_ratio, name):
    if attention == "mcbam":
        return MCBAM(reduction_ratio=reduction_ratio, name=name)
    if attention == "cbam":
        return CBAM(reduction_ratio=reduction_ratio, name=name)
    return None


def deep_feature_extraction_module(x, filters, attention, reduction_ratio, name):
    """DFEM (Section III-B): standard convolution block with (M)CBAM, plus a convolutional residual block.

    Standard block: 3x3 conv, BN, ReLU, 3x3 conv, BN, 3x3/2 max pooling, attention.
    Residual block: 3x3 conv with stride 2, BN. The two are summed ("linear summation").
    """
    residual = conv_bn(x, filters, strides=2, name=f"{name}_residual")
    y = keras.layers.ReLU(name=f"{name}_relu")(conv_bn(x, filters, name=f"{name}_a"))
    y = conv_bn(y, filters, name=f"{name}_b")
    y = keras.layers.MaxPooling2D(3, strides=2, padding="same", name=f"{name}_pool")(y)
    block = attention_block(attention, reduction_ratio, f"{name}_{attention}")
    if block is not None:
        y = block(y)
    return keras.layers.Add(name=f"{name}_add")([y, residual])


def classifier_module(x, num_classes, scale, name):
    """ACM / MCM (Fig. 5): 3x3 conv to one map per class, BN, adaptive average pooling (M_a), then
    the classifier w_c M_a of eq. 12 as a cosine layer for AM-Softmax. Returns (cosines, probabilities)."""
    x = conv_bn(x, num_classes, name=name)
    pooled = keras.layers.GlobalAveragePooling2D(name=f"{name}_gap")(x)
    cosines = CosineDense(num_classes, dtype="float32", name=f"{name}_cosine")(pooled)
    logits = keras.layers.Rescaling(scale, dtype="float32", name=f"{name}_scale")(cosines)
    return cosines, keras.layers.Softmax(dtype="float32", name=f"{name}_softmax")(logits)


def dense_classifier(x, num_classes, name):
    """Beyond the paper (issue 18, `head="dense"`): global average pooling of the block's feature
    maps and one fully connected softmax layer, instead of Fig. 5's conv to one map per class and
    cosine classifier. Returns probabilities."""
    pooled = keras.layers.GlobalAveragePooling2D(name=f"{name}_gap")(x)
    logits = keras.layers.Dense(num_classes, dtype="float32", name=f"{name}_dense")(pooled)
    return keras.layers.Softmax(dtype="float32", name=f"{name}_softmax")(logits)


@register_model(
    title="AMDCNN",
    paper=('Shang et al., "Facial Emotion Recognition Combining Auxiliary Classifiers'
           ' and Multiscale CBAM Attention Mechanisms", IEEE Access 2024'),
    default_input_shapes={"fer2013": DEFAULT_INPUT_SHAPE, "rafdb": (100, 100, 3)},
    loss='am_softmax',
    outputs=("aux1_cosine", "aux2_cosine", "aux3_cosine", "main_cosine", "probabilities"),
)
def build_amdcnn(
    input_shape=DEFAULT_INPUT_SHAPE,
    num_classes=7,
    attention="mcbam",
    num_aux=3,
    reduction_ratio=16,
    scale=30.0,
    head="paper",
    name="amdcnn",
):
    """AMDCNN as a Functional model.

    Args:
        input_shape: (H, W, C); the paper uses 48x48x1 (FER2013, FERPlus, CK+) and 100x100 (RAF-DB).
        num_classes: number of expression classes.
        attention: "mcbam" (the paper), "cbam" or "none" (Table 8 ablations).
        num_aux: number of auxiliary classifiers, 0..3 (Table 8); ACM1..ACM<num_aux> are used.
        reduction_ratio: channel-attention ratio r of (M)CBAM.
        scale: AM-Softmax scale s, used to turn each head's cosines into probabilities.
        head: "paper" (Fig. 5's classifier modules, cosine outputs for AM-Softmax) or "dense"
            (beyond the paper: global average pooling + a softmax layer per head; no cosine
            outputs, so train it with the softmax loss).

    Returns:
        keras.Model mapping images (values in [0, 1]) to a dict with "probabilities" (the fused
        output, B x num_classes) and "<head>_cosine" for each classifier head ("aux1".."aux3",
        "main"), the AM-Softmax inputs.
    """
    check_choice("build_amdcnn", "attention", attention, ATTENTIONS)
    check_choice("build_amdcnn", "num_aux", num_aux, (0, 1, 2, 3), expected="0, 1, 2 or 3")
    check_choice("build_amdcnn", "head", head, ("paper", "dense"))
    inputs = keras.Input(input_shape, name="image")
    # SFEM: two valid 3x3 convolutions (Table 1: 48 -> 46 -> 44).
    x = conv_bn_act(inputs, 16, 3, "conv1", padding="valid")
    x = conv_bn_act(x, 16, 3, "conv2", padding="valid")

    outputs, probabilities = {}, []
    for index, filters in enumerate(DFEM_FILTERS, start=1):
        x = deep_feature_extraction_module(x, filters, attention, reduction_ratio, name=f"dfem{index}")
        classifier = f"aux{index}" if index <= 3 else "main"
        if index <= num_aux or classifier == "main":
            if head == "dense":
                probabilities.append(dense_classifier(x, num_classes, name=classifier))
                continue
            cosines, probs = classifier_module(x, num_classes, scale, name=classifier)
            outputs[f"{classifier}_cosine"] = cosines
            probabilities.append(probs)
    if len(probabilities) > 1:
        outputs["probabilities"] = AdaptiveWeightedFusion(dtype="float32", name="awfm")(probabilities)
    else:
        outputs["probabilities"] = keras.layers.Identity(dtype="float32", name="awfm")(probabilities[0])
    return keras.Model(inputs, outputs, name=name)
