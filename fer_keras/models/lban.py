"""LBAN (Li et al., "LBAN-IL: A novel method of high discriminative representation for facial
expression recognition", Neurocomputing 2021): Fig. 2, Tables 1-2.

    input 40x40x1 (random crops of FER2013's 48x48; 80x80 crops of 100x100 for RAF-DB)
    3x3 conv, 64
    LBSL 64 -> 128 (weight size 128), stride 2     LBAB-1, 128 channels, 2 down- and up-samplings
    LBSL 128 -> 256, stride 2                      LBAB-2, 256 channels, 1 down- and up-sampling
    LBSL 256 -> 512, stride 2                      LBAB-3, 512 channels, no sampling
    (40x40 input: the blocks run at 20x20, 10x10 and 5x5)
    ReLU, average pooling, dropout 0.5, FC 128 (the islets-loss feature), dropout 0.5, FC 7

A local binary attention block (LBAB) follows the Residual Attention Network's attention module
with LBSLs as residual units: a pre-LBSL, a trunk LBSL, an encoder-decoder mask (max pooling and an
LBSL per level down, a transposed convolution per level up, skip connections between levels,
ReLU, 1x1 convolution, sigmoid), output (1 + M) * T, and a post-LBSL. Readings and the parameter
budget: docs/architectures.md, "LBAN-IL".
"""

import keras

from fer_keras.layers import LocalBinaryStandardLayer
from fer_keras.models.blocks import check_choice, classifier_head, conv_bn_act
from fer_keras.models.registry import register_model

DEFAULT_INPUT_SHAPE = (40, 40, 1)
BLOCKS = ((128, 2), (256, 1), (512, 0))  # (channels, down- and up-samplings)
VARIANTS = {
    # Table 2: which parts an LBSL has.   binary  standard_conv  skip
    "lban": dict(binary=True, standard_conv=True, skip=True),
    "lbc": dict(binary=True, standard_conv=False, skip=False),
    "lbcnn": dict(binary=True, standard_conv=False, skip=True),
    "lban_dagger": dict(binary=False, standard_conv=True, skip=True),  # SC + STD Conv + SK CONN
    "lban_double_dagger": dict(binary=False, standard_conv=True, skip=False),  # SC + STD Conv
}
LOSSES = ("softmax", "center", "island", "islets")


class _UnitFactory:
    """Builds the residual units of the network: LBSLs (of a Table 2 variant) or, with lbsl=False,
    plain residual units (3x3 conv, BN, ReLU, skip) for Table 1's ablation."""

    def __init__(self, variant, lbsl, sparsity, seed):
        self.options = VARIANTS[variant]
        self.lbsl = lbsl
        self.sparsity = sparsity
        self.seed = seed
        self.count = 0

    def __call__(self, x, filters, name, strides=1, weight_size=None):
        self.count += 1
        if self.lbsl:
            return LocalBinaryStandardLayer(
                filters,
                weight_size=weight_size,
                strides=strides,
                sparsity=self.sparsity,
                seed=None if self.seed is None else self.seed + self.count,
                name=name,
                **self.options,
            )(x)
        y = conv_bn_act(x, filters, 3, name, strides=strides, use_bias=True)
        if x.shape[-1] != filters or strides != 1:
            x = keras.layers.Conv2D(filters, 1, strides=strides, name=f"{name}_projection")(x)
        return keras.layers.Add(name=f"{name}_add")([y, x])


def local_binary_attention_block(x, filters, samplings, unit, encoder_decoder, name):
    """LBAB (Section 2.2): (1 + M(x)) * T(x) between a pre- and a post-LBSL."""
    x = unit(x, filters, f"{name}_pre")
    trunk = unit(x, filters, f"{name}_trunk")
    if not encoder_decoder:
        return unit(trunk, filters, f"{name}_post")
    mask, skips = x, []
    for level in range(samplings):  # encoder: max pooling, then an LBSL, per level
        skips.append(mask)
        mask = keras.layers.MaxPooling2D(2, padding="same", name=f"{name}_down{level + 1}")(mask)
        mask = unit(mask, filters, f"{name}_encoder{level + 1}")
    if samplings == 0:
        mask = unit(mask, filters, f"{name}_mask")
    for level in reversed(range(samplings)):  # decoder: deconvolution, plus the same-level skip
        mask = keras.layers.Conv2DTranspose(filters, 3, strides=2, padding="same", name=f"{name}_up{level + 1}")(mask)
        mask = keras.layers.Cropping2D(
            ((0, mask.shape[1] - skips[level].shape[1]), (0, mask.shape[2] - skips[level].shape[2])),
            name=f"{name}_crop{level + 1}",
        )(mask) if mask.shape[1] != skips[level].shape[1] or mask.shape[2] != skips[level].shape[2] else mask
        mask = keras.layers.Add(name=f"{name}_skip{level + 1}")([mask, skips[level]])
    mask = keras.layers.ReLU(name=f"{name}_mask_activation")(mask)
    mask = keras.layers.Conv2D(filters, 1, activation="sigmoid", name=f"{name}_mask_sigmoid")(mask)
    attended = keras.layers.Multiply(name=f"{name}_attend")([trunk, mask])
    x = keras.layers.Add(name=f"{name}_residual_attention")([trunk, attended])  # (1 + M) * T
    return unit(x, filters, f"{name}_post")


@register_model(
    title="LBAN-IL",
    paper=('Li et al., "LBAN-IL: A novel method of high discriminative'
           ' representation for facial expression recognition", Neurocomputing 2021'),
    default_input_shapes={"fer2013": DEFAULT_INPUT_SHAPE, "rafdb": (80, 80, 3)},
    loss='islets',
    outputs=("probabilities", "features"),
)
def build_lban(
    input_shape=DEFAULT_INPUT_SHAPE,
    num_classes=7,
    variant="lban",
    lbsl=True,
    encoder_decoder=True,
    loss="islets",
    feature_dim=128,
    dropout=0.5,
    sparsity=0.5,
    seed=0,
    name="lban",
):
    """LBAN as a Functional model.

    Args:
        input_shape: (H, W, C); 40x40x1 for FER2013 crops, 80x80x3 for RAF-DB / SFEW crops.
        num_classes: number of expression classes.
        variant: Table 2 row: "lban" (LBC + STD Conv + SK CONN), "lbc", "lbcnn", "lban_dagger"
            (trainable "SC" instead of LBC, + skip), "lban_double_dagger" (SC, no skip).
        lbsl: False replaces every LBSL with a plain residual unit (Table 1's columns without LBSL).
        encoder_decoder: False drops the attention masks (Table 1's columns without it).
        loss: "softmax", "center", "island" or "islets" (Table 4); recorded for the training code,
            the graph is the same (the center-type losses act on the "features" output).
        feature_dim: width of the first fully connected layer (128).
        dropout: rate of the dropout before each fully connected layer (0.5).
        sparsity, seed: of the fixed LBC filters (each LBSL gets seed + its index).

    Returns:
        keras.Model mapping images (values in [0, 1]) to {"probabilities", "features"}.
    """
    check_choice("build_lban", "variant", variant, tuple(VARIANTS))
    check_choice("build_lban", "loss", loss, LOSSES)
    unit = _UnitFactory(variant, lbsl, sparsity, seed)
    inputs = keras.Input(input_shape, name="image")
    x = conv_bn_act(inputs, 64, 3, "stem", use_bias=True)
    for index, (filters, samplings) in enumerate(BLOCKS, start=1):
        # The LBSL before each block halves the size ("reducing the expression size"); its weight
        # size equals its output channels (the paper: first LBSL 64 -> 128 with weight size 128).
        x = unit(x, filters, f"lbsl{index}", strides=2, weight_size=filters)
        x = local_binary_attention_block(x, filters, samplings, unit, encoder_decoder, name=f"lbab{index}")
    # Residual attention networks end with BN-ReLU before pooling: the sum of residual branches
    # is unnormalised, and the center-type losses act on the features computed from it.
    x = keras.layers.ReLU(name="final_relu")(keras.layers.BatchNormalization(name="final_bn")(x))
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = keras.layers.Dropout(dropout, name="dropout1")(x)
    features = keras.layers.Dense(feature_dim, name="features")(x)
    x = keras.layers.Dropout(dropout, name="dropout2")(features)
    outputs = classifier_head(x, num_classes)
    outputs["features"] = keras.layers.Activation("linear", dtype="float32", name="feature_output")(features)
    return keras.Model(inputs, outputs, name=name)
