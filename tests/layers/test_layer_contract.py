"""One contract test for every layer in fer_keras.layers, in the spirit of keras-hub's
`TestCase.run_layer_test`: config round trip (every init argument public and in get_config),
weight counts, symbolic and eager output shapes, one training step that moves the layer's
weights, and mixed_float16 against float32 with the same weights. Beside it, the rest of the
keras-hub layer contract (fer_keras/layers/_common.py): sublayers created in `build()`, not
`__init__`; every `__init__` argument a public attribute and a get_config key; weight paths that
do not depend on Keras's global name counters (named sublayers); a usage example in each
docstring, which runs. The loss layers and Keras losses of fer_keras.losses follow the same
argument contract.

Adding a layer: add its case to CASES (and to VARIANTS if an option changes its sublayers)."""

import inspect
import textwrap

import keras
import numpy as np
import pytest

from fer_keras import layers as L
from fer_keras import losses as LS

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
# Options that change which sublayers a layer creates: (class, init kwargs, input shape without batch).
VARIANTS = {
    "LocalBinaryStandardLayer(binary=False)": (L.LocalBinaryStandardLayer, {"filters": 12, "binary": False, "strides": 2}, MAP),
    "LocalBinaryStandardLayer(plain)": (L.LocalBinaryStandardLayer, {"filters": 8, "standard_conv": False, "batch_norm": False,
                                                                      "seed": 2}, MAP),
    "MultiScaleSpatialAttention(sum)": (L.MultiScaleSpatialAttention, {"fusion": "sum"}, MAP),
    "MCBAM(conv)": (L.MCBAM, {"reduction_ratio": 2, "fusion": "conv"}, MAP),
}
# The loss objects of fer_keras.losses: (class, init kwargs).
LOSS_CASES = {
    "CenterLoss": (LS.CenterLoss, {"num_classes": 4, "loss_weight": 0.5, "alpha": 0.3, "centers_initializer": "zeros"}),
    "IslandLoss": (LS.IslandLoss, {"num_classes": 4, "loss_weight": 0.5, "alpha": 0.3, "lambda1": 2.0}),
    "IsletsLoss": (LS.IsletsLoss, {"num_classes": 4, "loss_weight": 0.5, "alpha": 0.3, "lambda1": 0.2, "lambda2": 0.8}),
    "ArcFaceLoss": (LS.ArcFaceLoss, {"scale": 16.0, "margin": 0.3}),
    "AMSoftmaxLoss": (LS.AMSoftmaxLoss, {"scale": 16.0, "margin": 0.2}),
}


@pytest.fixture(autouse=True)
def _fresh_names():
    """Layer names come from global counters; reset them so other test modules see the names
    they expect (without the garbage collection that clear_session runs by default: 1 s a test)."""
    yield
    keras.backend.clear_session(free_memory=False)


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


def _init_arguments(cls):
    """The names of cls.__init__'s own arguments (not self, *args, **kwargs)."""
    return [p.name for p in inspect.signature(cls.__init__).parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def _sublayers_set_on(obj):
    """Attributes of `obj` holding a Layer (or a list / tuple / dict of them)."""
    found = []
    for key, value in vars(obj).items():
        values = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else [value]
        if any(isinstance(v, keras.layers.Layer) for v in values):
            found.append(key)
    return found


ALL_LAYER_CASES = {**{name: case[:3] for name, case in CASES.items()}, **VARIANTS}


@pytest.mark.parametrize("name", sorted(ALL_LAYER_CASES))
def test_sublayers_are_created_in_build_with_fixed_names(name):
    cls, kwargs, in_shape = ALL_LAYER_CASES[name]
    layer = cls(name="probe", **kwargs)
    assert _sublayers_set_on(layer) == [], f"{name} creates sublayers in __init__; create them in build()"
    layer(_symbolic(in_shape))
    paths = [w.path for w in layer.weights]
    assert paths and all(p.startswith("probe/") for p in paths)
    for _ in range(2):  # move Keras's global name counters on: the weight paths stay the same
        keras.layers.Conv2D(1, 1)(keras.Input((2, 2, 1)))
        keras.Sequential([keras.layers.Dense(1)])(keras.Input((1,)))
    again = cls(name="probe", **kwargs)
    again(_symbolic(in_shape))
    assert [w.path for w in again.weights] == paths, f"{name}: unnamed sublayers (weight paths follow global counters)"


@pytest.mark.parametrize("name", sorted(CASES) + sorted(LOSS_CASES))
def test_every_init_argument_is_public_and_in_get_config(name):
    cls, kwargs = (CASES[name][:2] if name in CASES else LOSS_CASES[name])
    obj = cls(**kwargs)
    config = obj.get_config()
    for argument in _init_arguments(cls):
        assert hasattr(obj, argument), f"{name}: argument {argument!r} is not a public attribute"
        assert argument in config, f"{name}: argument {argument!r} is not in get_config()"
    assert not [key for key in config if key.startswith("_")], f"{name}: private keys in get_config()"
    assert cls.from_config(config).get_config() == config


def _docstring_example(cls):
    """The indented block after an "Example:" line of cls's docstring, dedented (None if none)."""
    lines = (inspect.getdoc(cls) or "").splitlines()
    if "Example:" not in [line.strip() for line in lines]:
        return None
    block = []
    for line in lines[[line.strip() for line in lines].index("Example:") + 1:]:
        if line.strip() and not line.startswith(" "):
            break
        block.append(line)
    return textwrap.dedent("\n".join(block)).strip() or None


@pytest.mark.parametrize("name", sorted(set(L.__all__) | set(LOSS_CASES)))
def test_docstring_has_a_usage_example_that_runs(name):
    cls = getattr(L, name, None) or getattr(LS, name)
    example = _docstring_example(cls)
    assert example, f"{name}'s docstring has no 'Example:' block"
    namespace = {"keras": keras, "np": np, **{n: getattr(L, n) for n in L.__all__}, **{n: getattr(LS, n) for n in LOSS_CASES}}
    exec(compile(example, f"<{name} docstring example>", "exec"), namespace)
