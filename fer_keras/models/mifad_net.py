"""MIFAD-Net (Cai et al., "MIFAD-Net: Multi-Layer Interactive Feature Fusion Network With Angular
Distance Loss for Face Emotion Recognition", Front. Psychol. 2021): Fig. 1-7.

    input 48x48x1
    three columns (7x7, 5x5, 3x3 kernels), each six conv layers and five BN layers:
        conv-BN-ReLU x2 (32), max pool   -> 24x24
        conv-BN-ReLU x2 (64), max pool   -> 12x12    (the 4th conv's output is tapped before pooling)
        conv-BN-ReLU (128), conv-ReLU (128)           (5th and 6th conv tapped)
    multi-layer interactive fusion (Fig. 2, 7): at each of the last three depths, the columns' maps
        are merged by a 3x3 conv, a sigmoid gives weights that re-calibrate every column's map, and
        the re-calibrated maps are spliced (concatenated); the three depths are then concatenated
        and reduced by a 1x1 conv
    addition interaction + attention: the columns' last maps are summed and refined by channel then
        spatial self-attention (eq. 2-9)
    both streams pooled and concatenated, a fully connected layer, and the angular-distance head
        (cosine classifier + ArcFaceLoss, eq. 10)

The paper gives no channel widths; readings: docs/architectures.md, "MIFAD-Net".
"""

import keras

from fer_keras.layers import ChannelSelfAttention, SpatialSelfAttention
from fer_keras.models.blocks import check_choice, classifier_head, conv_bn_act
from fer_keras.models.registry import register_model

DEFAULT_INPUT_SHAPE = (48, 48, 1)
WIDTH_MULTIPLES = (1, 1, 2, 2, 4, 4)  # the six conv layers of a column, in units of base_width
KERNELS = {2: (7, 5), 3: (7, 5, 3), 4: (9, 7, 5, 3)}
FUSIONS = ("concat", "add", "mul")
LOSSES = ("angular", "softmax", "center", "island")


def column(x, kernel_size, base_width, name):
    """One column: six k x k conv layers, BN after the first five. Returns its last three maps."""
    taps = []
    for index, multiple in enumerate(WIDTH_MULTIPLES, start=1):
        x = conv_bn_act(x, multiple * base_width, kernel_size, name, use_bias=index == 6, batch_norm=index < 6,
                        suffix=str(index))
        if index >= 4:
            taps.append(x)
        if index in (2, 4):
            x = keras.layers.MaxPooling2D(2, name=f"{name}_pool{index // 2}")(x)
    return taps


def interactive_fusion(maps, fusion, name):
    """Fig. 2: merge the columns' maps by a 3x3 conv, sigmoid weights, re-calibrate each map, splice."""
    merged = keras.layers.Concatenate(name=f"{name}_merge")(maps)
    weights = keras.layers.Conv2D(maps[0].shape[-1], 3, padding="same", activation="sigmoid", name=f"{name}_weights")(merged)
    recalibrated = [keras.layers.Multiply(name=f"{name}_recalibrate{i}")([weights, m]) for i, m in enumerate(maps)]
    if fusion == "concat":
        return keras.layers.Concatenate(name=f"{name}_splice")(recalibrated)
    if fusion == "add":
        return keras.layers.Add(name=f"{name}_add")(recalibrated)
    return keras.layers.Multiply(name=f"{name}_mul")(recalibrated)


@register_model(
    title="MIFAD-Net",
    paper=('Cai et al., "MIFAD-Net: Multi-Layer Interactive Feature Fusion Network'
           ' With Angular Distance Loss for Face Emotion Recognition", Front. Psychol. 2021'),
    default_input_shapes={"fer2013": DEFAULT_INPUT_SHAPE, "rafdb": (100, 100, 3)},
    loss='angular',
    outputs=("features", "cosines", "probabilities"),
)
def build_mifad_net(
    input_shape=DEFAULT_INPUT_SHAPE,
    num_classes=7,
    branches=3,
    fusion="concat",
    attention=True,
    loss="angular",
    base_width=32,
    fused_channels=256,
    feature_dim=256,
    scale=30.0,
    name="mifad_net",
):
    """MIFAD-Net as a Functional model.

    Args:
        input_shape: (H, W, C), 48x48x1 for FER2013 (sides divisible by 4).
        num_classes: number of expression classes.
        branches: 2, 3 (the paper) or 4 columns (Table 4): kernels (7, 5), (7, 5, 3), (9, 7, 5, 3).
        fusion: how re-calibrated maps are joined: "concat" (the paper), "add" or "mul" (Table 6).
        attention: the channel + spatial self-attention on the summed maps (Table 5).
        loss: "angular" (cosine head for ArcFaceLoss, the paper), "softmax", "center" or "island"
            (Table 3; the center-type losses act on the "features" output).
        base_width: channels of a column's first two conv layers; the next two have twice as
            many, the last two four times (the paper gives no widths: 32 by default, 16 in the
            FER2013 recipe, docs/architectures.md).
        fused_channels: channels of the 1x1 conv that reduces the multi-layer fusion.
        feature_dim: width of the fully connected layer before the head.
        scale: angular-loss scale s, used to turn cosines into probabilities.

    Returns:
        keras.Model mapping images in [0, 1] to {"probabilities", "features"} and, for the angular
        head, "cosines".
    """
    check_choice("build_mifad_net", "branches", branches, tuple(KERNELS), expected="2, 3 or 4")
    check_choice("build_mifad_net", "fusion", fusion, FUSIONS)
    check_choice("build_mifad_net", "loss", loss, LOSSES)
    inputs = keras.Input(input_shape, name="image")
    columns = [column(inputs, k, base_width, name=f"column{k}x{k}") for k in KERNELS[branches]]

    # Multi-layer interactive fusion of the last three conv layers (depths 4, 5, 6).
    fused = [interactive_fusion([c[d] for c in columns], fusion, name=f"fusion{d + 4}") for d in range(3)]
    fused[0] = keras.layers.MaxPooling2D(2, name="fusion4_pool")(fused[0])  # 24x24 -> 12x12
    multi_layer = keras.layers.Concatenate(name="multi_layer_concat")(fused)
    multi_layer = conv_bn_act(multi_layer, fused_channels, 1, "multi_layer", padding="valid")

    # Addition interaction of the columns, then channel and spatial self-attention.
    added = keras.layers.Add(name="column_add")([c[2] for c in columns])
    if attention:
        added = ChannelSelfAttention(name="channel_self_attention")(added)
        added = SpatialSelfAttention(name="spatial_self_attention")(added)

    x = keras.layers.Concatenate(name="streams_concat")(
        [keras.layers.GlobalAveragePooling2D(name="multi_layer_gap")(multi_layer), keras.layers.GlobalAveragePooling2D(name="attention_gap")(added)]
    )
    x = keras.layers.Dense(feature_dim, use_bias=False, name="fc")(x)
    features = keras.layers.BatchNormalization(name="fc_bn")(x)
    outputs = {"features": keras.layers.Activation("linear", dtype="float32", name="feature_output")(features)}
    angular = loss == "angular"  # the cosine head takes the BN'd features; a dense head their ReLU
    head_input = features if angular else keras.layers.ReLU(name="fc_relu")(features)
    outputs.update(classifier_head(head_input, num_classes, cosine=angular, scale=scale))
    return keras.Model(inputs, outputs, name=name)
