"""Margin-softmax losses against NumPy references; finiteness at the edges, in float32 and float16."""

import math

import keras
import numpy as np
import pytest
from keras import ops

from fer_keras.losses import AMSoftmaxLoss, ArcFaceLoss
from tests.helpers import numpy_reference as ref

pytestmark = pytest.mark.backend_neutral


def value_and_grad(loss, labels, cosines):
    """Loss value and d loss / d cosines, by a central difference the same on every backend."""
    value = float(ops.convert_to_numpy(loss(labels, cosines)))
    grad = np.zeros_like(cosines, dtype="float64")
    h = 1e-3
    for idx in np.ndindex(cosines.shape):
        plus, minus = cosines.astype("float64").copy(), cosines.astype("float64").copy()
        plus[idx] += h
        minus[idx] -= h
        f = lambda c: float(ops.convert_to_numpy(loss(labels, np.clip(c, -1, 1).astype("float32"))))  # noqa: E731
        grad[idx] = (f(plus) - f(minus)) / (2 * h)
    return value, grad


@pytest.mark.parametrize("scale, margin", [(30.0, 0.5), (64.0, 0.3), (10.0, 1.2)])
def test_arcface_matches_reference(rng, scale, margin):
    labels = rng.integers(0, 7, 16)
    cosines = rng.uniform(-1, 1, (16, 7)).astype("float32")
    got = float(ops.convert_to_numpy(ArcFaceLoss(scale, margin)(labels, cosines)))
    assert got == pytest.approx(ref.arcface_loss(labels, cosines, scale, margin), rel=1e-4)


def test_arcface_uses_the_fallback_beyond_pi(rng):
    """theta_y + m > pi: the target logit is cos(theta) - m sin(m), not the rising cos(theta + m)."""
    margin = 0.5
    cosines = np.full((1, 3), -0.2, "float32")
    cosines[0, 0] = -0.95  # theta ~ 2.82 > pi - m
    got = float(ops.convert_to_numpy(ArcFaceLoss(30.0, margin)(np.array([0]), cosines)))
    assert got == pytest.approx(ref.arcface_loss([0], cosines, 30.0, margin), rel=1e-4)
    naive = ref.softmax(30.0 * np.array([math.cos(math.acos(-0.95) + margin), -0.2, -0.2]))[0]
    assert got != pytest.approx(-math.log(naive), rel=1e-3)


@pytest.mark.parametrize("scale, margin", [(30.0, 0.35), (16.0, 0.1)])
def test_am_softmax_matches_reference(rng, scale, margin):
    labels = rng.integers(0, 7, (16, 1))  # (B, 1) labels work too
    cosines = rng.uniform(-1, 1, (16, 7)).astype("float32")
    got = float(ops.convert_to_numpy(AMSoftmaxLoss(scale, margin)(labels, cosines)))
    assert got == pytest.approx(ref.am_softmax_loss(labels[:, 0], cosines, scale, margin), rel=1e-4)


def test_margins_make_the_loss_larger(rng):
    labels = rng.integers(0, 7, 32)
    cosines = rng.uniform(-1, 1, (32, 7)).astype("float32")
    plain = float(ops.convert_to_numpy(AMSoftmaxLoss(30.0, 0.0)(labels, cosines)))
    assert float(ops.convert_to_numpy(ArcFaceLoss(30.0, 0.5)(labels, cosines))) > plain
    assert float(ops.convert_to_numpy(AMSoftmaxLoss(30.0, 0.35)(labels, cosines))) > plain


def test_sample_weights_are_honoured(rng):
    labels = rng.integers(0, 7, 8)
    cosines = rng.uniform(-1, 1, (8, 7)).astype("float32")
    weights = np.zeros(8, "float32")
    weights[2] = 1.0
    loss = ArcFaceLoss(reduction="sum")
    got = float(ops.convert_to_numpy(loss(labels, cosines, sample_weight=weights)))
    assert got == pytest.approx(ref.arcface_loss(labels[2:3], cosines[2:3], 30.0, 0.5), rel=1e-4)


EDGE_COSINES = [-1.0, -0.999, 0.0, 0.999, 1.0, math.cos(math.pi - 0.5) + 1e-4, math.cos(math.pi - 0.5) - 1e-4]


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("loss_cls", [ArcFaceLoss, AMSoftmaxLoss])
def test_finite_values_and_gradients_at_the_edges(loss_cls, dtype):
    """cos = -1, 0, 1 and both sides of theta + m = pi: finite loss and gradient, in float16 too."""
    loss = loss_cls()
    for c in EDGE_COSINES:
        cosines = np.array([[c, 1.0, -1.0, 0.0]], dtype)
        value = ops.convert_to_numpy(loss(np.array([0]), cosines))
        assert value.dtype == np.float32 and np.isfinite(value), (c, value)
        grad = autodiff_grad(loss, np.array([0]), cosines.astype("float32"))
        if grad is not None:
            assert np.all(np.isfinite(grad)), (c, grad)


def autodiff_grad(loss, labels, cosines):
    """Gradient of the loss w.r.t. the cosines with the backend's own autodiff (None if unsupported)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        c = tf.Variable(cosines)
        with tf.GradientTape() as tape:
            value = loss(labels, c)
        return tape.gradient(value, c).numpy()
    if backend == "jax":
        import jax

        return np.asarray(jax.grad(lambda c: loss(labels, c))(cosines))
    if backend == "torch":
        import torch

        c = torch.tensor(cosines, requires_grad=True)
        loss(labels, c).backward()
        return c.grad.numpy()
    return None


def test_gradient_matches_finite_differences(rng):
    labels = rng.integers(0, 5, 3)
    cosines = rng.uniform(-0.9, 0.9, (3, 5)).astype("float32")
    for loss in (ArcFaceLoss(8.0, 0.5), AMSoftmaxLoss(8.0, 0.35)):
        _, numeric = value_and_grad(loss, labels, cosines)
        auto = autodiff_grad(loss, labels, cosines)
        np.testing.assert_allclose(auto, numeric, rtol=2e-2, atol=2e-3)


def test_bad_hyper_parameters():
    with pytest.raises(ValueError, match="scale must be > 0"):
        ArcFaceLoss(scale=0)
    with pytest.raises(ValueError, match=r"margin must be in \[0, pi/2\)"):
        AMSoftmaxLoss(margin=2.0)


@pytest.mark.parametrize("epsilon", [0.0, 0.1, 0.3])
@pytest.mark.parametrize("from_logits", [False, True])
def test_label_smoothing_crossentropy_matches_reference(rng, epsilon, from_logits):
    """-sum_k q_k log p_k with q = (1 - eps) onehot(y) + eps / K (Szegedy et al. 2016, section 7)."""
    import keras

    from fer_keras.losses import LabelSmoothingCrossentropy

    logits = rng.normal(size=(16, 7)) * 3
    labels = rng.integers(0, 7, 16)
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    q = (1 - epsilon) * np.eye(7)[labels] + epsilon / 7
    expected = (-(q * np.log(p)).sum(-1)).mean()
    loss = LabelSmoothingCrossentropy(epsilon, from_logits=from_logits)
    got = loss(labels, (logits if from_logits else p).astype("float32"))
    np.testing.assert_allclose(float(keras.ops.convert_to_numpy(got)), expected, rtol=1e-5)
    again = LabelSmoothingCrossentropy.from_config(loss.get_config())
    assert (again.label_smoothing, again.from_logits) == (epsilon, from_logits)
    if epsilon == 0:  # plain sparse cross-entropy
        plain = keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)(labels, (logits if from_logits else p).astype("float32"))
        np.testing.assert_allclose(float(keras.ops.convert_to_numpy(got)), float(keras.ops.convert_to_numpy(plain)), rtol=1e-5)
    with pytest.raises(ValueError, match="label_smoothing"):
        LabelSmoothingCrossentropy(1.0)
