"""Center, island and islets losses: values and center updates against LBAN-IL eq. 1-4, inside model.fit."""

import keras
import numpy as np
import pytest
from keras import ops

from fer_keras.losses import CenterLoss, IslandLoss, IsletsLoss
from tests.helpers import numpy_reference as ref

pytestmark = pytest.mark.backend_neutral

NUM_CLASSES, DIM = 4, 6


def make(kind, **kwargs):
    return {
        "center": lambda: CenterLoss(NUM_CLASSES, **kwargs),
        "island": lambda: IslandLoss(NUM_CLASSES, lambda1=0.3, **kwargs),
        "islets": lambda: IsletsLoss(NUM_CLASSES, lambda1=0.2, lambda2=0.9, **kwargs),
    }[kind]()


def reference_value(kind, x, y, c):
    if kind == "center":
        return ref.center_loss_value(x, y, c)
    if kind == "island":
        return ref.island_loss_value(x, y, c, 0.3)
    return ref.islets_loss_value(x, y, c, 0.2, 0.9, feature_reduction="mean")  # IsletsLoss's default


def reference_delta(kind, x, y, c):
    return {
        "center": lambda: ref.center_delta(x, y, c),
        "island": lambda: ref.center_delta(x, y, c, lambda1=0.3),
        "islets": lambda: ref.center_delta(x, y, c, lambda1=0.2, lambda2=0.9),
    }[kind]()


@pytest.fixture
def batch(rng):
    x = rng.normal(0, 1, (10, DIM)).astype("float32")
    y = np.array([0, 1, 2, 0, 1, 0, 2, 2, 1, 0])  # class 3 absent from the batch
    # Centers close together so that the islets penalty L_p is far from 0 and its term matters.
    c = rng.normal(0, 0.05, (NUM_CLASSES, DIM)).astype("float32")
    return x, y, c


@pytest.mark.parametrize("kind", ["center", "island", "islets"])
def test_loss_value_and_center_step_match_reference(kind, batch):
    x, y, c = batch
    layer = make(kind)
    value = float(ops.convert_to_numpy(layer.loss_value(x, ops.convert_to_tensor(y, "int32"), c)))
    assert value == pytest.approx(reference_value(kind, x, y, c), rel=1e-4)
    delta = ops.convert_to_numpy(layer.center_delta(x, ops.convert_to_tensor(y, "int32"), c))
    np.testing.assert_allclose(delta, reference_delta(kind, x, y, c), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", ["center", "islets"])
def test_feature_mean_reading_averages_over_the_feature_dimensions(kind, batch):
    """feature_reduction="mean": the centre term is the mean squared difference (PyTorch's MSELoss),
    its gradient on the features 2 / D times the half-sum's; the other terms and the centre step
    are unchanged."""
    x, y, c = batch
    labels = ops.convert_to_tensor(y, "int32")
    mean, half_sum = make(kind, feature_reduction="mean"), make(kind, feature_reduction="half_sum")
    difference = float(ops.convert_to_numpy(mean.loss_value(x, labels, c) - half_sum.loss_value(x, labels, c)))
    expected = ref.center_loss_value(x, y, c, "mean") - ref.center_loss_value(x, y, c)
    assert difference == pytest.approx(expected, rel=1e-4)
    np.testing.assert_allclose(ops.convert_to_numpy(mean.center_delta(x, labels, c)),
                               ops.convert_to_numpy(half_sum.center_delta(x, labels, c)), rtol=1e-6)
    assert mean.get_config()["feature_reduction"] == "mean"


def test_islets_penalty_term_is_active_for_close_centers(batch):
    x, y, c = batch
    assert ref.islets_penalty(c) > 1e-3  # otherwise the test above would not exercise it
    island = ref.center_delta(x, y, c, lambda1=0.2)
    islets = ref.center_delta(x, y, c, lambda1=0.2, lambda2=0.9)
    assert np.abs(islets - island).max() > 1e-3


def feature_model(kind, x_dim, alpha=0.5, loss_weight=1.0):
    """[x, labels] -> Dense (identity, frozen by lr 0) -> loss layer -> softmax classifier."""
    x_in = keras.Input((x_dim,), name="x")
    y_in = keras.Input((), dtype="int32", name="labels")
    feats = keras.layers.Dense(x_dim, kernel_initializer="identity", name="features")(x_in)
    layer = make(kind, alpha=alpha, loss_weight=loss_weight)
    feats = layer([feats, y_in])
    out = keras.layers.Dense(NUM_CLASSES, activation="softmax", name="probs")(feats)
    model = keras.Model([x_in, y_in], out)
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy")
    return model, layer


@pytest.mark.parametrize("kind", ["center", "island", "islets"])
def test_fit_step_updates_centers_by_the_papers_rule(kind, batch):
    x, y, c = batch
    model, layer = feature_model(kind, DIM, alpha=0.5)
    layer.centers.assign(c)
    model.fit([x, y], y, batch_size=len(y), epochs=1, shuffle=False, verbose=0)
    expected = c - 0.5 * reference_delta(kind, x, y, c)
    np.testing.assert_allclose(ops.convert_to_numpy(layer.centers), expected, rtol=1e-4, atol=1e-5)


def test_loss_is_added_to_the_fit_objective(batch):
    x, y, c = batch
    model, layer = feature_model("islets", DIM, loss_weight=0.6)
    layer.centers.assign(c)
    probs = ops.convert_to_numpy(model.predict([x, y], verbose=0))
    cross_entropy = -np.mean(np.log(probs[np.arange(len(y)), y]))
    total = model.evaluate([x, y], y, batch_size=len(y), verbose=0)
    assert total == pytest.approx(cross_entropy + 0.6 * reference_value("islets", x, y, c), rel=1e-4)
    np.testing.assert_allclose(ops.convert_to_numpy(layer.centers), c)  # evaluation leaves centers alone


def test_centers_move_toward_class_means(rng):
    means = rng.normal(0, 3, (NUM_CLASSES, DIM))
    y = np.repeat(np.arange(NUM_CLASSES), 16)
    x = (means[y] + rng.normal(0, 0.3, (len(y), DIM))).astype("float32")
    model, layer = feature_model("center", DIM, alpha=0.5)
    class_means = np.stack([x[y == k].mean(0) for k in range(NUM_CLASSES)])
    distances = []
    for _ in range(8):
        distances.append(np.linalg.norm(ops.convert_to_numpy(layer.centers) - class_means))
        model.fit([x, y], y, batch_size=len(y), epochs=1, verbose=0)
    distances.append(np.linalg.norm(ops.convert_to_numpy(layer.centers) - class_means))
    assert all(b < a for a, b in zip(distances, distances[1:])), distances
    assert distances[-1] < 0.05 * distances[0]


def test_island_term_spreads_centers_apart(rng):
    """With the pull toward the features switched off (no samples), lambda1 lowers the cosines."""
    layer = IslandLoss(NUM_CLASSES, lambda1=1.0)
    c = rng.normal(0, 1, (NUM_CLASSES, DIM)).astype("float32") + 2.0  # all in one orthant: similar
    mean_cos = lambda c: np.mean((lambda u: u @ u.T)(c / np.linalg.norm(c, axis=1, keepdims=True))[~np.eye(NUM_CLASSES, dtype=bool)])  # noqa: E731
    start = mean_cos(c)
    empty_x, empty_y = np.zeros((0, DIM), "float32"), ops.convert_to_tensor(np.zeros((0,), "int32"))
    for _ in range(20):
        c = c - 0.5 * ops.convert_to_numpy(layer.center_delta(empty_x, empty_y, c))
    assert mean_cos(c) < start - 0.2


def test_inference_call_leaves_centers_alone(batch):
    x, y, c = batch
    layer = IsletsLoss(NUM_CLASSES)
    out = layer([x, y], training=False)
    layer.centers.assign(c)
    out = layer([x, y], training=False)
    np.testing.assert_allclose(ops.convert_to_numpy(out), x)  # features pass through unchanged
    np.testing.assert_allclose(ops.convert_to_numpy(layer.centers), c)
    assert not layer.trainable_weights


def test_clear_errors():
    with pytest.raises(ValueError, match=r"must be called on \[features, labels\]"):
        CenterLoss(7).build((None, 128))
    with pytest.raises(ValueError, match="num_classes must be >= 2"):
        IsletsLoss(1)
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\]"):
        CenterLoss(7, alpha=3)
    with pytest.raises(ValueError, match="feature_reduction must be one of half_sum, mean"):
        IsletsLoss(7, feature_reduction="sum")


def test_training_wrapper_shares_weights_with_a_label_free_inference_model(rng):
    """The README pattern: inference model (image -> probs, features) wrapped with a labels input."""
    image = keras.Input((DIM,))
    features = keras.layers.Dense(DIM)(image)
    probs = keras.layers.Dense(NUM_CLASSES, activation="softmax")(features)
    model = keras.Model(image, {"probs": probs, "features": features})
    labels = keras.Input((), dtype="int32")
    out = model(image)
    loss_layer = IsletsLoss(NUM_CLASSES)
    train_model = keras.Model([image, labels], {"probs": out["probs"], "features": loss_layer([out["features"], labels])})
    train_model.compile(keras.optimizers.SGD(0.1), loss={"probs": "sparse_categorical_crossentropy"})
    x = rng.normal(0, 1, (32, DIM)).astype("float32")
    y = rng.integers(0, NUM_CLASSES, 32)
    before = ops.convert_to_numpy(loss_layer.centers).copy()
    kernel_before = ops.convert_to_numpy(model.layers[1].kernel).copy()
    train_model.fit([x, y], {"probs": y}, batch_size=32, epochs=1, verbose=0)
    assert not np.allclose(ops.convert_to_numpy(loss_layer.centers), before)
    assert not np.allclose(ops.convert_to_numpy(model.layers[1].kernel), kernel_before)  # shared weights
    assert model.predict(x, verbose=0)["probs"].shape == (32, NUM_CLASSES)
