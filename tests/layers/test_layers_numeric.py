"""Each layer against an independent NumPy implementation of its paper's equation."""

import numpy as np
import pytest
from keras import ops

from fer_keras import layers as L
from tests.helpers import numpy_reference as ref
from tests.helpers.weights import bn_params, randomize_weights, weight

pytestmark = pytest.mark.backend_neutral

TOL = dict(rtol=2e-4, atol=2e-5)


def run(layer, x, rng, **call_kwargs):
    layer(x)  # build
    values = randomize_weights(layer, rng)
    return ops.convert_to_numpy(layer(x, **call_kwargs)), values


@pytest.fixture
def features(rng):
    return rng.normal(0, 1, (3, 9, 11, 20)).astype("float32")  # non-square, odd sizes


def test_channel_attention(features, rng):
    out, v = run(L.ChannelAttention(reduction_ratio=4, name="ca"), features, rng)
    expected = ref.channel_attention(
        features, weight(v, "mlp_hidden/kernel"), weight(v, "mlp_hidden/bias"), weight(v, "mlp_out/kernel"), weight(v, "mlp_out/bias")
    )
    np.testing.assert_allclose(out, expected, **TOL)


def test_channel_attention_hidden_width_follows_ratio(features):
    layer = L.ChannelAttention(reduction_ratio=4)
    layer(features)
    assert layer.mlp_hidden.units == 20 // 4
    tiny = L.ChannelAttention(reduction_ratio=64)
    tiny(features)
    assert tiny.mlp_hidden.units == 1


@pytest.mark.parametrize("kernel_size", [7, 3])
def test_spatial_attention(features, rng, kernel_size):
    out, v = run(L.SpatialAttention(kernel_size), features, rng)
    kernel = weight(v, "conv/kernel")
    assert kernel.shape == (kernel_size, kernel_size, 2, 1)
    np.testing.assert_allclose(out, ref.spatial_attention(features, kernel, weight(v, "conv/bias")), **TOL)


def test_cbam_is_channel_then_spatial(features, rng):
    out, v = run(L.CBAM(reduction_ratio=4), features, rng)
    mid = ref.channel_attention(
        features, weight(v, "mlp_hidden/kernel"), weight(v, "mlp_hidden/bias"), weight(v, "mlp_out/kernel"), weight(v, "mlp_out/bias")
    )
    expected = ref.spatial_attention(mid, weight(v, "spatial_attention/conv/kernel"), weight(v, "spatial_attention/conv/bias"))
    np.testing.assert_allclose(out, expected, **TOL)


@pytest.mark.parametrize("fusion", ["conv", "sum"])
def test_multi_scale_spatial_attention(features, rng, fusion):
    out, v = run(L.MultiScaleSpatialAttention(fusion=fusion), features, rng)
    branches = [(weight(v, f"conv_{k}x{k}/kernel"), weight(v, f"conv_{k}x{k}/bias")) for k in (5, 3, 1)]
    assert [b[0].shape[0] for b in branches] == [5, 3, 1]
    fuse = (weight(v, "fuse/kernel"), weight(v, "fuse/bias")) if fusion == "conv" else None
    np.testing.assert_allclose(out, ref.multi_scale_spatial_attention(features, branches, fuse), **TOL)


def test_mcbam_is_channel_then_multiscale_spatial(features, rng):
    out, v = run(L.MCBAM(reduction_ratio=4), features, rng)
    mid = ref.channel_attention(
        features, weight(v, "mlp_hidden/kernel"), weight(v, "mlp_hidden/bias"), weight(v, "mlp_out/kernel"), weight(v, "mlp_out/bias")
    )
    branches = [(weight(v, f"conv_{k}x{k}/kernel"), weight(v, f"conv_{k}x{k}/bias")) for k in (5, 3, 1)]
    expected = ref.multi_scale_spatial_attention(mid, branches, (weight(v, "fuse/kernel"), weight(v, "fuse/bias")))
    np.testing.assert_allclose(out, expected, **TOL)


def test_coordinate_attention(features, rng):
    layer = L.CoordinateAttention(reduction_ratio=4, min_channels=2)
    out, v = run(layer, features, rng, training=False)
    assert layer.conv_shared.filters == 5  # max(2, 20 // 4)
    expected = ref.coordinate_attention(
        features,
        weight(v, "conv_shared/kernel")[0, 0],
        weight(v, "conv_shared/bias"),
        bn_params(v, "bn"),
        weight(v, "conv_h/kernel")[0, 0],
        weight(v, "conv_h/bias"),
        weight(v, "conv_w/kernel")[0, 0],
        weight(v, "conv_w/bias"),
    )
    np.testing.assert_allclose(out, expected, **TOL)


def test_coordinate_attention_middle_width_floor(features):
    layer = L.CoordinateAttention()  # r = 32, floor 8 (Hou et al.)
    layer(features)
    assert layer.conv_shared.filters == 8


def test_channel_self_attention(features, rng):
    out, v = run(L.ChannelSelfAttention(), features, rng, training=False)
    expected = ref.channel_self_attention(
        features,
        weight(v, "conv_1x1/kernel"),
        weight(v, "conv_1x1/bias"),
        weight(v, "prelu/alpha"),
        bn_params(v, "bn"),
        weight(v, "self_attention/alpha"),
    )
    np.testing.assert_allclose(out, expected, rtol=1e-3, atol=1e-4)


def test_spatial_self_attention(features, rng):
    out, v = run(L.SpatialSelfAttention(), features, rng, training=False)
    expected = ref.spatial_self_attention(
        features,
        weight(v, "conv_3x3/kernel"),
        weight(v, "conv_3x3/bias"),
        weight(v, "prelu/alpha"),
        bn_params(v, "bn"),
        weight(v, "self_attention/beta"),
    )
    np.testing.assert_allclose(out, expected, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("layer_cls", [L.ChannelSelfAttention, L.SpatialSelfAttention])
def test_self_attention_starts_as_identity(features, layer_cls):
    """alpha and beta are initialised to 0 (MIFAD-Net eq. 5, 9), so the layer starts as F -> F."""
    out = ops.convert_to_numpy(layer_cls()(features))
    np.testing.assert_allclose(out, features, atol=1e-6)


@pytest.mark.parametrize("stride", [1, 2])
def test_local_binary_conv(features, rng, stride):
    layer = L.LocalBinaryConv2D(16, weight_size=12, strides=stride, seed=7)
    out, v = run(layer, features, rng)
    kernel = weight(v, "binary_kernel")
    assert kernel.shape == (3, 3, 20, 12)
    expected = ref.local_binary_conv(features, kernel, weight(v, "pointwise/kernel"), weight(v, "pointwise/bias"), stride=stride)
    assert out.shape == expected.shape == (3, -(-9 // stride), -(-11 // stride), 16)
    np.testing.assert_allclose(out, expected, **TOL)


def test_local_binary_filters_are_sparse_ternary_and_seeded(features):
    a = L.LocalBinaryConv2D(64, weight_size=64, seed=3)
    b = L.LocalBinaryConv2D(64, weight_size=64, seed=3)
    c = L.LocalBinaryConv2D(64, weight_size=64, seed=4)
    for layer in (a, b, c):
        layer(features)
    ka, kb, kc = (ops.convert_to_numpy(x.binary_kernel) for x in (a, b, c))
    assert set(np.unique(ka)) == {-1.0, 0.0, 1.0}
    assert abs((ka == 0).mean() - 0.5) < 0.02  # sparsity 0.5 over 3*3*20*64 entries
    assert abs((ka == 1).mean() - (ka == -1).mean()) < 0.03
    np.testing.assert_array_equal(ka, kb)
    assert (ka != kc).any()
    assert [w.name for w in a.trainable_weights] == ["kernel", "bias"]  # only the 1x1 convolution
    assert a.count_params() - sum(int(np.prod(w.shape)) for w in a.trainable_weights) == ka.size


def test_local_binary_standard_layer(features, rng):
    layer = L.LocalBinaryStandardLayer(16, weight_size=8, strides=2, seed=5)
    out, v = run(layer, features, rng, training=False)
    lbc = ref.local_binary_conv(
        features, weight(v, "binary_kernel"), weight(v, "lbc/pointwise/kernel"), weight(v, "lbc/pointwise/bias"), stride=2
    )
    body = ref.conv2d_same(lbc, weight(v, "conv_3x3/kernel"), weight(v, "conv_3x3/bias"))
    body = np.maximum(ref.batch_norm_inference(body, *bn_params(v, "bn")), 0)
    skip = ref.conv2d_same(features, weight(v, "projection/kernel"), weight(v, "projection/bias"), stride=2)
    np.testing.assert_allclose(out, body + skip, **TOL)


def test_local_binary_standard_layer_identity_skip(rng):
    x = rng.normal(0, 1, (2, 6, 6, 8)).astype("float32")
    layer = L.LocalBinaryStandardLayer(8, seed=1)
    layer(x)
    assert layer.projection is None  # same channels, stride 1: identity skip
    no_skip = L.LocalBinaryStandardLayer(8, seed=1, skip=False)
    no_skip(x)
    no_skip.set_weights(layer.get_weights())
    np.testing.assert_allclose(
        ops.convert_to_numpy(layer(x)) - ops.convert_to_numpy(no_skip(x)), x, atol=1e-5
    )


def test_local_binary_standard_layer_table2_variants(rng):
    """LBAN-IL Table 2: LBC, LBCNN (LBC + skip), LBAN-dagger (trainable 3x3 instead of LBC)."""
    x = rng.normal(0, 1, (2, 8, 8, 16)).astype("float32")
    full = L.LocalBinaryStandardLayer(32, weight_size=32, seed=1)
    lbc_only = L.LocalBinaryStandardLayer(32, weight_size=32, seed=1, standard_conv=False, skip=False)
    lbcnn = L.LocalBinaryStandardLayer(32, weight_size=32, seed=1, standard_conv=False)
    sc = L.LocalBinaryStandardLayer(32, weight_size=32, binary=False)
    for layer in (full, lbc_only, lbcnn, sc):
        assert layer(x).shape == (2, 8, 8, 32)
    trainable = lambda layer: sum(int(np.prod(w.shape)) for w in layer.trainable_weights)  # noqa: E731
    assert trainable(full) - trainable(lbcnn) == 3 * 3 * 32 * 32 + 32  # the standard 3x3 conv
    assert trainable(lbcnn) - trainable(lbc_only) == 16 * 32 + 32  # the projected skip
    # "SC" learns the 3x3 filters that LBC keeps fixed: H x W x 3 x 3 more (plus biases).
    assert trainable(sc) - trainable(full) == 3 * 3 * 16 * 32 + 32
    assert not any("binary_kernel" in w.path for w in sc.weights)


def test_cosine_dense(rng):
    x = rng.normal(0, 3, (5, 12)).astype("float32")
    layer = L.CosineDense(7)
    out, v = run(layer, x, rng)
    np.testing.assert_allclose(out, ref.cosine_dense(x, weight(v, "kernel")), **TOL)
    assert np.all(np.abs(out) <= 1.0)
    assert len(layer.weights) == 1  # no bias


def test_adaptive_weighted_fusion(rng):
    probs = [ref.softmax(rng.normal(0, 1, (4, 7))).astype("float32") for _ in range(4)]
    layer = L.AdaptiveWeightedFusion()
    out = ops.convert_to_numpy(layer(probs))
    np.testing.assert_allclose(out, np.mean(probs, axis=0), **TOL)  # initialised equal: 1/K each
    logits = np.array([0.3, -1.0, 2.0, 0.1], "float32")
    layer.fusion_logits.assign(logits)
    out = ops.convert_to_numpy(layer(probs))
    np.testing.assert_allclose(out, ref.adaptive_weighted_fusion(probs, logits), **TOL)
    alpha = ops.convert_to_numpy(layer.fusion_weights)
    assert np.all(alpha > 0) and abs(alpha.sum() - 1) < 1e-6  # eq. 14
    np.testing.assert_allclose(out.sum(-1), 1.0, atol=1e-5)  # still probabilities


@pytest.mark.parametrize(
    "layer, bad_shape, message",
    [
        (L.CBAM(), (4, 10), "expects inputs of shape (batch, height, width, channels)"),
        (L.CosineDense(7), (2, 4, 4, 3), "expects inputs of shape (batch, features)"),
        (L.AdaptiveWeightedFusion(), (4, 7), "expects a list of classifier outputs"),
    ],
)
def test_bad_input_shapes_name_the_layer(layer, bad_shape, message):
    with pytest.raises(ValueError) as err:
        layer.build(bad_shape)
    assert message in str(err.value) and layer.name in str(err.value)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="reduction_ratio must be >= 1"):
        L.ChannelAttention(reduction_ratio=0)
    with pytest.raises(ValueError, match="fusion must be one of"):
        L.MultiScaleSpatialAttention(fusion="max")
    with pytest.raises(ValueError, match=r"sparsity must be in \[0, 1\)"):
        L.LocalBinaryConv2D(8, sparsity=1.5)
    with pytest.raises(ValueError, match="need inputs of one shape|needs inputs of one shape"):
        L.AdaptiveWeightedFusion().build([(None, 7), (None, 8)])
