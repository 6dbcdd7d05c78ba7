"""Small helpers shared by the layer modules (registration, input checks)."""

import keras

PACKAGE = "fer_keras"


def serializable(cls):
    """Register `cls` for `.keras` saving as "fer_keras>ClassName"."""
    return keras.saving.register_keras_serializable(package=PACKAGE)(cls)


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
