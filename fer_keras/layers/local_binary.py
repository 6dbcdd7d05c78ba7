"""Local binary convolution (LBCNN, Juefei-Xu et al. 2017) and LBAN-IL's local binary standard layer.

LBAN-IL (Li et al., Neurocomputing 2021), section 2.1 and Fig. 2.
"""

import numpy as np

import keras
from keras import ops

from fer_keras.layers._common import PACKAGE, check_argument, check_rank, serializable


def same_padding_output_shape(input_shape, strides, filters):
    """(B, ceil(H / s), ceil(W / s), filters) of a 'same'-padded convolution."""
    spatial = [None if d is None else -(-d // strides) for d in input_shape[1:3]]
    return (input_shape[0], *spatial, filters)


@keras.saving.register_keras_serializable(package=PACKAGE)
class LocalBinaryInitializer(keras.initializers.Initializer):
    """Sparse ternary filters for local binary convolution (LBAN-IL 2.1).

    Each entry is 0 with probability `sparsity`; otherwise +1 or -1 with equal probability (a
    Bernoulli draw). The draw uses NumPy with `seed`, so the same seed gives the same filters on
    every backend and machine.

    Example:

        kernel = LocalBinaryInitializer(sparsity=0.5, seed=0)((3, 3, 1, 8))   # entries -1, 0, +1
    """

    def __init__(self, sparsity=0.5, seed=0):
        check_argument("LocalBinaryInitializer", "sparsity", sparsity, 0.0 <= float(sparsity) < 1.0, "in [0, 1)")
        self.sparsity = float(sparsity)
        self.seed = int(seed)

    def __call__(self, shape, dtype=None):
        rng = np.random.default_rng(self.seed)
        signs = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
        nonzero = rng.random(shape) >= self.sparsity
        return ops.convert_to_tensor(signs * nonzero, dtype=dtype or "float32")

    def get_config(self):
        return {"sparsity": self.sparsity, "seed": self.seed}


class _LocalBinaryLayer(keras.layers.Layer):
    """What the two local binary layers share: `filters` output channels, `weight_size`
    intermediate ones (default `filters`), the stride of a "same"-padded block, and the fixed
    filters' sparsity and seed. With `fixed_filters` the seed is drawn now when None, so that the
    config keeps it, and the sparsity is checked; otherwise both are kept as given."""

    def __init__(self, filters, weight_size, strides, sparsity, seed, fixed_filters=True, **kwargs):
        super().__init__(**kwargs)
        check_argument(type(self).__name__, "filters", filters, int(filters) >= 1, ">= 1")
        self.filters = int(filters)
        self.weight_size = int(weight_size) if weight_size is not None else self.filters
        self.strides = int(strides)
        self.sparsity = float(sparsity)
        if fixed_filters:
            self.seed = int(seed) if seed is not None else int(np.random.default_rng().integers(0, 2**31 - 1))
            LocalBinaryInitializer(self.sparsity, self.seed)  # validates sparsity
        else:
            self.seed = seed

    def compute_output_shape(self, input_shape):
        return same_padding_output_shape(input_shape, self.strides, self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "weight_size": self.weight_size,
            "strides": self.strides,
            "sparsity": self.sparsity,
            "seed": self.seed,
        }


@serializable
class LocalBinaryConv2D(_LocalBinaryLayer):
    """Local binary convolution (LBC) layer, LBAN-IL section 2.1.

    A k x k convolution with fixed, non-trainable filters whose entries are -1, 0 or +1
    (`LocalBinaryInitializer`, sparsity 0.5 in the paper) maps the input to `weight_size`
    intermediate channels, a ReLU follows (LBAN-IL uses ReLU where LBCNN used a sigmoid), then a
    trainable 1x1 convolution mixes them into `filters` output channels. The fixed filters are a
    non-trainable weight, so they are saved with the model and receive no gradient.

    Args:
        filters: output channels of the trainable 1x1 convolution.
        weight_size: intermediate channels (the paper's "weight size"); defaults to `filters`.
        kernel_size: size of the fixed filters (3).
        strides: stride of the fixed convolution.
        sparsity: probability that a fixed-filter entry is 0.
        seed: seed of the fixed filters; drawn at random (and then kept in the config) if None.

    Example:

        x = keras.Input((40, 40, 64))
        y = LocalBinaryConv2D(filters=128, weight_size=128, seed=0)(x)   # (None, 40, 40, 128)
    """

    def __init__(self, filters, weight_size=None, kernel_size=3, strides=1, sparsity=0.5, seed=None, **kwargs):
        super().__init__(filters, weight_size, strides, sparsity, seed, **kwargs)
        self.kernel_size = int(kernel_size)
        self.initializer = LocalBinaryInitializer(self.sparsity, self.seed)

    def build(self, input_shape):
        check_rank(self, input_shape, 4)
        self.binary_kernel = self.add_weight(
            name="binary_kernel",
            shape=(self.kernel_size, self.kernel_size, input_shape[-1], self.weight_size),
            initializer=self.initializer,
            trainable=False,
        )
        self.pointwise = keras.layers.Conv2D(self.filters, 1, dtype=self.dtype_policy, name="pointwise")
        self.pointwise.build((None, None, None, self.weight_size))

    def call(self, inputs):
        kernel = ops.cast(self.binary_kernel, inputs.dtype)
        sparse = ops.relu(ops.conv(inputs, kernel, strides=self.strides, padding="same"))
        return self.pointwise(sparse)

    def get_config(self):
        return {**super().get_config(), "kernel_size": self.kernel_size}


@serializable
class LocalBinaryStandardLayer(_LocalBinaryLayer):
    """Local binary standard layer (LBSL), LBAN-IL section 2.1 and Fig. 2.

    out = ReLU(BN(Conv3x3(LBC(x)))) + skip(x), where LBC is `LocalBinaryConv2D` and skip is the
    identity, or a 1x1 convolution when the channels or the stride change. The switches give
    LBAN-IL's Table 2 variants: `standard_conv=False, skip=False` is "LBC", `standard_conv=False`
    is "LBCNN" (LBC + skip), `binary=False` replaces the fixed 3x3 filters with a trainable 3x3
    convolution ("SC", LBAN-dagger). Placement of BN and of the stride is our reading
    (docs/architectures.md).

    Args:
        filters: output channels (also the 1x1 and the standard 3x3 convolution's channels).
        weight_size: LBC intermediate channels; defaults to `filters`.
        strides: stride of the block (applied in the first 3x3 convolution and the skip).
        sparsity, seed: of the fixed filters.
        binary: fixed local binary filters (True) or a trainable 3x3 convolution (False).
        standard_conv: include the standard 3x3 convolution after the LBC.
        skip: include the skip connection.
        batch_norm: batch normalisation before the final ReLU.

    Sublayers, created in `build` (their names are their weights' paths, and their order is the
    order of `weights`): "lbc" (binary) or "sc_conv" and "sc_pointwise" (not binary),
    "conv_3x3", "bn", "projection"; the optional ones are None when absent.

    Example:

        x = keras.Input((40, 40, 64))
        y = LocalBinaryStandardLayer(filters=128, weight_size=128, strides=2, seed=0)(x)   # (None, 20, 20, 128)
    """

    def __init__(
        self,
        filters,
        weight_size=None,
        strides=1,
        sparsity=0.5,
        seed=None,
        binary=True,
        standard_conv=True,
        skip=True,
        batch_norm=True,
        **kwargs,
    ):
        # Only binary blocks have fixed filters (the trainable "SC" twin keeps seed as given).
        super().__init__(filters, weight_size, strides, sparsity, seed, fixed_filters=bool(binary), **kwargs)
        self.binary = bool(binary)
        self.standard_conv = bool(standard_conv)
        self.skip = bool(skip)
        self.batch_norm = bool(batch_norm)
        self.lbc = self.sc_conv = self.sc_pointwise = self.conv = self.bn = self.projection = None

    def build(self, input_shape):
        check_rank(self, input_shape, 4)
        dt = self.dtype_policy
        if self.binary:
            self.lbc = LocalBinaryConv2D(
                self.filters, self.weight_size, strides=self.strides, sparsity=self.sparsity, seed=self.seed, dtype=dt, name="lbc"
            )
            self.lbc.build(input_shape)
        else:  # "SC": a trainable 3x3 convolution in place of the fixed filters, then the 1x1
            self.sc_conv = keras.layers.Conv2D(
                self.weight_size, 3, strides=self.strides, padding="same", activation="relu", dtype=dt, name="sc_conv"
            )
            self.sc_pointwise = keras.layers.Conv2D(self.filters, 1, dtype=dt, name="sc_pointwise")
            self.sc_conv.build(input_shape)
            self.sc_pointwise.build((None, None, None, self.weight_size))
        body_shape = (None, None, None, self.filters)
        if self.standard_conv:
            self.conv = keras.layers.Conv2D(self.filters, 3, padding="same", dtype=dt, name="conv_3x3")
            self.conv.build(body_shape)
        if self.batch_norm:
            self.bn = keras.layers.BatchNormalization(dtype=dt, name="bn")
            self.bn.build(body_shape)
        if self.skip and (input_shape[-1] != self.filters or self.strides != 1):
            self.projection = keras.layers.Conv2D(
                self.filters, 1, strides=self.strides, dtype=self.dtype_policy, name="projection"
            )
            self.projection.build(input_shape)

    def call(self, inputs, training=None):
        x = self.lbc(inputs) if self.binary else self.sc_pointwise(self.sc_conv(inputs))
        if self.conv is not None:
            x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x, training=training)
        x = ops.relu(x)
        if self.skip:
            x = x + (self.projection(inputs) if self.projection is not None else inputs)
        return x

    def get_config(self):
        return {
            **super().get_config(),
            "binary": self.binary,
            "standard_conv": self.standard_conv,
            "skip": self.skip,
            "batch_norm": self.batch_norm,
        }
