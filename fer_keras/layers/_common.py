"""Small helpers shared by the layer modules (registration, argument and input checks).

The layer contract (keras-hub's): `__init__` stores every argument as a public attribute and
validates it; `build()` creates the sublayers, each with an explicit `name` (weight paths then do
not depend on Keras's global name counters) and builds them; `get_config` returns every `__init__`
argument; the class docstring ends with a short usage example. tests/layers/test_layer_contract.py checks
each exported layer against it.
"""

import keras

from fer_keras.errors import ArgumentError

PACKAGE = "fer_keras"


def serializable(cls):
    """Register `cls` for `.keras` saving as "fer_keras>ClassName"."""
    return keras.saving.register_keras_serializable(package=PACKAGE)(cls)


def check_argument(owner, argument, value, ok, requirement):
    """Raise an ArgumentError naming `argument` of `owner` (a class name) unless `ok`:
    ``reduction_ratio=0: ChannelAttention: reduction_ratio must be >= 1``."""
    if not ok:
        raise ArgumentError(argument, value, f"{owner}: {argument} must be {requirement}")


def check_rank(layer, input_shape, rank):
    """Raise a ValueError naming the layer when its input is not a rank-`rank` tensor."""
    if len(input_shape) != rank:
        expected = {4: "(batch, height, width, channels)", 2: "(batch, features)"}.get(rank, f"rank {rank}")
        raise ValueError(
            f"{type(layer).__name__} '{layer.name}' expects inputs of shape {expected}, got shape {tuple(input_shape)}"
        )
    if input_shape[-1] is None:
        raise ValueError(
            f"{type(layer).__name__} '{layer.name}' needs a known last (channel) dimension, got shape {tuple(input_shape)}"
        )


def float32_compute(x):
    """Cast to float32 for numerically sensitive steps (softmax, norms) under mixed precision."""
    return keras.ops.cast(x, "float32")
