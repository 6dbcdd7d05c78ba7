"""MrCAR (Lan et al., "Expression Recognition Based on Multi-Regional Coordinate Attention
Residuals", IEEE Access 2023): Fig. 1, 2, 4 and Table 1.

Three region inputs (face, eyes, mouth; MTCNN-aligned, each 44x44 on FER2013, 98x98 on RAF-DB) each
go through a coordinate-attention residual network (CAResnet):

    Conv1 3x3 -> 44x44x64, Maxpool 3x3/2 -> 22x22x64
    CARblock1 -> 22x22x128, DSblock1 -> 11x11x128
    CARblock2 -> 11x11x256, DSblock2 -> 6x6x256
    CARblock3 -> 6x6x512,   DSblock3 -> 3x3x512
    global average pooling -> 512

The three 512-d features are concatenated and fused by a fully connected layer; an ArcFace head
(cosine classifier + ArcFaceLoss) classifies. Readings: docs/architectures.md, "MrCAR".
"""

import keras

from fer_keras.layers import CoordinateAttention
from fer_keras.models.blocks import check_choice, classifier_head, conv_bn_act
from fer_keras.models.registry import register_model

DEFAULT_INPUT_SHAPE = (44, 44, 1)
REGIONS = ("face", "eyes", "mouth")
STAGES = (128, 256, 512)
LOSSES = ("arcface", "softmax")


def coordinate_attention_residual_block(x, filters, downsample, coordinate_attention, name):
    """CARblock (stride 1) or DSblock (stride 2), Fig. 4.

    1x1 conv (reduce to filters / 4), BN, ReLU; parallel 1x1 and 3x3 conv branches, concatenated;
    coordinate attention; 1x1 conv back to `filters`, BN; plus the shortcut; ReLU. A DSblock
    down-samples with a 1x1 stride-1 convolution followed by 3x3 stride-2 max pooling instead of a
    stride-2 1x1 convolution, on both the main path and the shortcut.
    """
    mid = filters // 4
    y = conv_bn_act(x, mid, 1, f"{name}_reduce")
    if downsample:
        y = keras.layers.MaxPooling2D(3, strides=2, padding="same", name=f"{name}_reduce_pool")(y)
    branch1 = conv_bn_act(y, mid, 1, f"{name}_branch1x1")
    branch3 = conv_bn_act(y, mid, 3, f"{name}_branch3x3")
    y = keras.layers.Concatenate(name=f"{name}_concat")([branch1, branch3])
    if coordinate_attention:
        y = CoordinateAttention(name=f"{name}_ca")(y)
    y = conv_bn_act(y, filters, 1, f"{name}_expand", activation=None)
    shortcut = x
    if downsample or x.shape[-1] != filters:
        shortcut = conv_bn_act(x, filters, 1, f"{name}_shortcut", activation=None)
        if downsample:
            shortcut = keras.layers.MaxPooling2D(3, strides=2, padding="same", name=f"{name}_shortcut_pool")(shortcut)
    return keras.layers.ReLU(name=f"{name}_out")(keras.layers.Add(name=f"{name}_add")([y, shortcut]))


def build_caresnet(input_shape=DEFAULT_INPUT_SHAPE, coordinate_attention=True, name="caresnet"):
    """The per-region coordinate attention residual network (Fig. 2, Table 1): image -> 512-d feature."""
    inputs = keras.Input(input_shape, name="image")
    x = conv_bn_act(inputs, 64, 3, "conv1")
    # Table 1 prints stride 1 for the 3x3 max pooling but halves the size (44 -> 22): stride 2.
    x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name="maxpool")(x)
    for index, filters in enumerate(STAGES, start=1):
        x = coordinate_attention_residual_block(x, filters, False, coordinate_attention, f"carblock{index}")
        x = coordinate_attention_residual_block(x, filters, True, coordinate_attention, f"dsblock{index}")
    x = keras.layers.GlobalAveragePooling2D(name="avgpool")(x)
    return keras.Model(inputs, x, name=name)


@register_model(
    title="MrCAR",
    paper=('Lan et al., "Expression Recognition Based on Multi-Regional Coordinate'
           ' Attention Residuals", IEEE Access 2023'),
    default_input_shapes={"fer2013": DEFAULT_INPUT_SHAPE, "rafdb": (98, 98, 3)},
    loss='arcface',
    outputs=("cosines", "probabilities"),
    inputs=("face", "eyes", "mouth"),
)
def build_mrcar(
    input_shape=DEFAULT_INPUT_SHAPE,
    num_classes=7,
    regions=True,
    coordinate_attention=True,
    loss="arcface",
    share_weights=False,
    embedding_dim=512,
    scale=30.0,
    name="mrcar",
):
    """MrCAR as a Functional model.

    Args:
        input_shape: (H, W, C) of each region input: 44x44x1 on FER2013, 98x98x3 on RAF-DB.
        num_classes: number of expression classes.
        regions: True for the face, eyes and mouth inputs; False for the face alone (MrCAR-Mfe).
        coordinate_attention: False removes CA-Net from every block (MrCAR-CA).
        loss: "arcface" (cosine head) or "softmax" (dense softmax head, MrCAR-ALoss).
        share_weights: one CAResnet for all three regions instead of one per region.
        embedding_dim: width of the fully connected fusion layer.
        scale: ArcFace scale s, used to turn cosines into probabilities.

    Returns:
        keras.Model with inputs {"face", "eyes", "mouth"} (or the face alone) in [0, 1] and outputs
        {"probabilities"} plus {"cosines"} for the ArcFace head.
    """
    check_choice("build_mrcar", "loss", loss, LOSSES)
    names = REGIONS if regions else REGIONS[:1]
    inputs = {region: keras.Input(input_shape, name=region) for region in names}
    shared = build_caresnet(input_shape, coordinate_attention, name="caresnet") if share_weights else None
    features = [
        (shared or build_caresnet(input_shape, coordinate_attention, name=f"caresnet_{region}"))(inputs[region])
        for region in names
    ]
    x = keras.layers.Concatenate(name="region_concat")(features) if len(features) > 1 else features[0]
    x = keras.layers.Dense(embedding_dim, use_bias=False, name="fusion_fc")(x)
    x = keras.layers.BatchNormalization(name="fusion_bn")(x)
    outputs = classifier_head(x, num_classes, cosine=loss == "arcface", scale=scale)
    model_inputs = inputs if regions else inputs["face"]
    return keras.Model(model_inputs, outputs, name=name)
