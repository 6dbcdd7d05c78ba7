"""Tiny models built around each layer and each loss learn a separable toy problem."""

import keras
import numpy as np
import pytest
from keras import ops

from fer_keras import layers as L
from fer_keras.losses import AMSoftmaxLoss, ArcFaceLoss, CenterLoss, IslandLoss, IsletsLoss

NUM_CLASSES = 4


def stripes(n, rng, size=12):
    """Images of horizontal, vertical, diagonal or anti-diagonal stripes with random phase and noise."""
    i, j = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    labels = rng.integers(0, NUM_CLASSES, n)
    images = np.empty((n, size, size, 1), "float32")
    for k, (label, phase) in enumerate(zip(labels, rng.integers(0, 4, n))):
        coordinate = (i, j, i + j, i - j)[label] + phase
        images[k, ..., 0] = (coordinate % 4 < 2) + rng.normal(0, 0.3, (size, size))
    return images, labels


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(7)
    return stripes(384, rng), stripes(128, rng)


def backbone(image, attention=None):
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(image)
    if attention is not None:
        x = attention(x)
    return keras.layers.GlobalAveragePooling2D()(x)


ATTENTION = {
    "ChannelAttention": lambda: L.ChannelAttention(2),
    "SpatialAttention": lambda: L.SpatialAttention(),
    "CBAM": lambda: L.CBAM(2),
    "MultiScaleSpatialAttention": lambda: L.MultiScaleSpatialAttention(),
    "MCBAM": lambda: L.MCBAM(2),
    "CoordinateAttention": lambda: L.CoordinateAttention(2, 4),
    "ChannelSelfAttention": lambda: L.ChannelSelfAttention(),
    "SpatialSelfAttention": lambda: L.SpatialSelfAttention(),
    "LocalBinaryConv2D": lambda: L.LocalBinaryConv2D(8, seed=0),
    "LocalBinaryStandardLayer": lambda: L.LocalBinaryStandardLayer(8, seed=0),
}


def accuracy(scores, labels):
    return float(np.mean(np.argmax(scores, -1) == labels))


@pytest.mark.parametrize("name", sorted(ATTENTION))
def test_attention_layer_learns(toy, name):
    (x, y), (x_val, y_val) = toy
    image = keras.Input(x.shape[1:])
    probs = keras.layers.Dense(NUM_CLASSES, activation="softmax")(backbone(image, ATTENTION[name]()))
    model = keras.Model(image, probs)
    model.compile(keras.optimizers.Adam(0.02), "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=32, epochs=12, verbose=0)
    assert accuracy(model.predict(x_val, verbose=0), y_val) >= 0.9


@pytest.mark.backend_neutral
@pytest.mark.parametrize("loss", [ArcFaceLoss(16.0, 0.3), AMSoftmaxLoss(16.0, 0.2)], ids=["arcface", "am_softmax"])
def test_margin_loss_learns(toy, loss):
    (x, y), (x_val, y_val) = toy
    image = keras.Input(x.shape[1:])
    features = keras.layers.Dense(16)(backbone(image))
    model = keras.Model(image, L.CosineDense(NUM_CLASSES)(features))
    model.compile(keras.optimizers.Adam(0.02), loss)
    model.fit(x, y, batch_size=32, epochs=12, verbose=0)
    cosines = model.predict(x_val, verbose=0)
    assert accuracy(cosines, y_val) >= 0.9
    # The margin separates classes: the true class's cosine beats the best other one by a gap.
    true = cosines[np.arange(len(y_val)), y_val]
    other = np.where(np.eye(NUM_CLASSES, dtype=bool)[y_val], -np.inf, cosines).max(-1)
    assert np.median(true - other) > 0.1


@pytest.mark.parametrize("loss_layer", [CenterLoss, IslandLoss, IsletsLoss])
def test_center_type_loss_learns_with_softmax(toy, loss_layer):
    (x, y), (x_val, y_val) = toy
    image = keras.Input(x.shape[1:])
    labels = keras.Input((), dtype="int32")
    features = keras.layers.Dense(16, activation="relu")(backbone(image))
    features = loss_layer(NUM_CLASSES, loss_weight=0.01, name="center")([features, labels])
    probs = keras.layers.Dense(NUM_CLASSES, activation="softmax")(features)
    model = keras.Model([image, labels], probs)
    model.compile(keras.optimizers.Adam(0.02), "sparse_categorical_crossentropy")
    model.fit([x, y], y, batch_size=32, epochs=12, verbose=0)
    assert accuracy(model.predict([x_val, y_val], verbose=0), y_val) >= 0.9
    # Training features lie closer to their own class center than to any other.
    feature_model = keras.Model(model.inputs, model.get_layer("center").output)
    feats = feature_model.predict([x_val, y_val], verbose=0)
    centers = ops.convert_to_numpy(model.get_layer("center").centers)
    nearest = np.argmin(((feats[:, None, :] - centers[None]) ** 2).sum(-1), -1)
    assert np.mean(nearest == y_val) >= 0.8
