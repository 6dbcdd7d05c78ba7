"""One contract test for every layer in fer_keras.layers, in the spirit of keras-hub's
`TestCase.run_layer_test`: config round trip (every init argument public and in get_config),
weight counts, symbolic and eager output shapes, one training step that moves the layer's
weights, and mixed_float16 against float32 with the same weights."""

import keras
import numpy as np
import pytest

from fer_keras import layers as L

pytestmark = pytest.mark.backend_neutral

MAP = (6, 5, 8)
# name: (class, init kwargs, input shape without batch, output shape without batch, trainable weights, fixed weights)
CASES = {
    "ChannelAttention": (L.ChannelAttention, {"reduction_ratio": 4, "use_bias": False}, MAP, MAP, 2, 0),
    "SpatialAttention": (L.SpatialAttention, {"kernel_size": 5}, MAP, MAP, 2, 0),
    "CBAM": (L.CBAM, {"reduction_ratio": 4, "kernel_size": 5}, MAP, MAP, 6, 0),
    "MultiScaleSpatialAttention": (L.MultiScaleSpatialAttention, {"kernel_sizes": (5, 3, 1), "fusion": "conv"}, MAP, MAP, 8, 0),
    "MCBAM": (L.MCBAM, {"reduction_ratio": 4, "kernel_sizes": (3, 1), "fusion": "sum"}, MAP, MAP, 8, 0),
    "CoordinateAttention": (L.CoordinateAttention, {"reduction_ratio": 4, "min_channels": 4, "activation": "relu"}, MAP, MAP, 8, 2),
    "ChannelSelfAttention": (L.ChannelSelfAttention, {}, MAP, MAP, 6, 2),
    "SpatialSelfAttention": (L.SpatialSelfAttention, {}, MAP, MAP, 6, 2),
    "LocalBinaryConv2D": (L.LocalBinaryConv2D, {"filters": 12, "weight_size": 6, "sparsity": 0.5, "seed": 1}, MAP, (6, 5, 12), 2, 1),
    "LocalBinaryStandardLayer": (L.LocalBinaryStandardLayer, {"filters": 12, "weight_size": 6, "strides": 2, "seed": 1},
                                 MAP, (3, 3, 12), 8, 3),
    "CosineDense": (L.CosineDense, {"units": 5}, (8,), (5,), 1, 0),
    "AdaptiveWeightedFusion": (L.AdaptiveWeightedFusion, {}, [(5,), (5,), (5,)], (5,), 1, 0),
}


@pytest.fixture(autouse=True)
def _fresh_names():
    """Layer names come from global counters; reset them so other test modules see the names
    they expect."""
    yield
    keras.backend.clear_session()


def test_every_exported_layer_has_a_contract_case():
    exported = {name for name in L.__all__ if isinstance(getattr(L, name), type) and issubclass(getattr(L, name), keras.layers.Layer)}
    assert exported == set(CASES)


def _inputs(shape, rng, batch=2):
    if isinstance(shape, list):  # AdaptiveWeightedFusion: probability vectors
        return [rng.dirichlet(np.ones(s[-1]), batch).astype("float32") for s in shape]
    return rng.uniform(0, 1, (batch, *shape)).astype("float32")


def _symbolic(shape):
    return [keras.Input(s) for s in shape] if isinstance(shape, list) else keras.Input(shape)


def _normal(value):
    return list(value) if isinstance(value, tuple) else value


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_contract(name, rng):
    cls, kwargs, in_shape, out_shape, trainable, fixed = CASES[name]
    layer = cls(**kwargs)
    x = _inputs(in_shape, rng)

    # Config: every init argument is public and round-trips.
    config = layer.get_config()
    for key, value in kwargs.items():
        assert _normal(config[key]) == _normal(value), key
    assert cls.from_config(config).get_config() == config

    # Symbolic and eager shapes agree with the expected one; weight counts after build.
    symbolic = layer(_symbolic(in_shape))
    assert tuple(symbolic.shape) == (None, *out_shape)
    eager = keras.ops.convert_to_numpy(layer(x))
    assert eager.shape == (2, *out_shape) and np.isfinite(eager).all()
    assert (len(layer.trainable_weights), len(layer.non_trainable_weights)) == (trainable, fixed)

    # One training step moves the layer's weights.
    inputs = _symbolic(in_shape)
    y = layer(inputs)
    if len(out_shape) == 3:
        y = keras.layers.GlobalAveragePooling2D()(y)
    model = keras.Model(inputs, keras.layers.Dense(3)(y))
    model.compile(keras.optimizers.SGD(0.5), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = [keras.ops.convert_to_numpy(w).copy() for w in layer.trainable_weights]
    loss = model.train_on_batch(x, np.array([0, 2]))
    assert np.isfinite(loss)
    assert any(not np.allclose(b, keras.ops.convert_to_numpy(w)) for b, w in zip(before, layer.trainable_weights))

    # mixed_float16: the same weights give the float32 output to float16 precision.
    reference = keras.ops.convert_to_numpy(layer(x)).astype("float32")
    mixed = cls.from_config({**config, "dtype": "mixed_float16"})
    mixed(_symbolic(in_shape))
    mixed.set_weights(layer.get_weights())
    out = keras.ops.convert_to_numpy(mixed(x))
    assert str(out.dtype) == mixed.compute_dtype == "float16" or name in ("CosineDense", "AdaptiveWeightedFusion")
    np.testing.assert_allclose(out.astype("float32"), reference, atol=2e-2, rtol=2e-2)
