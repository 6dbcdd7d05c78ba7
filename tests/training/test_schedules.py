"""Objective warm-up and PyTorch-style coupled L2 (fer_keras.schedules), against NumPy references."""

import numpy as np
import pytest

from fer_keras.schedules import CoupledL2SGD, loss_warmup, warmup_factor

pytestmark = pytest.mark.backend_neutral


def test_warmup_factor_ramps_linearly_to_one():
    assert [warmup_factor(e, 4) for e in range(6)] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    assert warmup_factor(0, 0) == 1.0


def test_coupled_l2_sgd_matches_pytorch_sgd_with_weight_decay(rng):
    """torch.optim.SGD(momentum=mu, weight_decay=wd): b = mu b + (g + wd w); w -= lr b."""
    import keras

    w0, grads = rng.normal(size=(3, 4)), rng.normal(size=(5, 3, 4))
    lr, mu, wd = 0.1, 0.9, 0.05
    variable = keras.Variable(w0.astype("float32"))
    optimizer = CoupledL2SGD(learning_rate=lr, momentum=mu, l2=wd)
    w, b = w0.copy(), np.zeros_like(w0)
    for g in grads:
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(g.astype("float32")), variable)])
        b = mu * b + (g + wd * w)
        w = w - lr * b
    np.testing.assert_allclose(keras.ops.convert_to_numpy(variable), w, rtol=1e-5, atol=1e-6)
    restored = CoupledL2SGD.from_config(optimizer.get_config())
    assert restored.l2 == wd and restored.momentum == mu
    with pytest.raises(ValueError, match="l2 must be >= 0"):
        CoupledL2SGD(l2=-1.0)


def test_the_margin_ramps_in_during_fit_and_the_step_uses_it(rng):
    """With a margin of 0 at epoch 0 the ArcFace loss equals normalised softmax; the ramp reaches
    the recipe's margin at epoch N, and the compiled step sees each new value."""
    import keras

    from fer_keras.layers import CosineDense
    from fer_keras.losses import ArcFaceLoss
    from fer_keras.models.objectives import TrainingModel

    inputs = keras.Input((8,))
    cosines = CosineDense(3, name="cosines")(inputs)
    model = keras.Model(inputs, {"cosines": cosines})
    loss = ArcFaceLoss(30.0, 0.5)
    training = TrainingModel(model, {"cosines": loss})
    model.compile(keras.optimizers.SGD(0.0), loss=training.loss)  # lr 0: the loss changes only with m
    x, y = rng.normal(size=(32, 8)).astype("float32"), rng.integers(0, 3, 32)
    history = model.fit(x, {"cosines": y}, epochs=3, batch_size=32, verbose=0, callbacks=[loss_warmup(training, 2)])
    assert history.history["warmup_factor"] == [0.0, 0.5, 1.0] and loss.margin == 0.5
    c = np.clip(keras.ops.convert_to_numpy(model(x)["cosines"]).astype("float64"), -1, 1)

    def arcface(m):
        theta = np.arccos(c[np.arange(32), y])
        logits = 30 * c.copy()
        logits[np.arange(32), y] = 30 * np.cos(theta + m)
        logits -= logits.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(logits).sum(axis=1)) - logits[np.arange(32), y]))

    np.testing.assert_allclose(history.history["loss"], [arcface(0.0), arcface(0.25), arcface(0.5)], rtol=1e-3)


@pytest.mark.parametrize("warmup_epochs, alpha", [(0, 0.0), (2, 0.0), (1.5, 0.05)])
def test_cosine_schedule_warms_up_linearly_then_follows_half_a_cosine(warmup_epochs, alpha):
    """lr(t) = base * t / W for t < W, then base * (alpha + (1 - alpha) * (1 + cos(pi (t - W) / (T - W))) / 2)."""
    import keras

    from fer_keras.recipes.schema import ScheduleSection
    from fer_keras.schedules import learning_rate

    steps, epochs, base = 10, 6, 0.04
    schedule = learning_rate(base, ScheduleSection("cosine", {"warmup_epochs": warmup_epochs, "alpha": alpha}), steps, epochs)
    total, warm = steps * epochs, round(warmup_epochs * steps)
    for t in (0, 1, warm // 2, warm, warm + 7, total // 2, total - 1, total):
        if t < warm:
            expected = base * t / warm
        else:
            expected = base * (alpha + (1 - alpha) * (1 + np.cos(np.pi * (t - warm) / (total - warm))) / 2)
        got = float(keras.ops.convert_to_numpy(schedule(t)))
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-8)


def test_schedule_sections_build_or_name_the_wrong_key():
    from fer_keras.recipes.schema import ScheduleSection
    from fer_keras.schedules import EpochStepDecay, learning_rate

    assert learning_rate(0.1, None, 10, 5) == 0.1 and ScheduleSection.from_dict(None) is None
    section = ScheduleSection.from_dict({"start_epoch": 2, "every_epochs": 1, "factor": 0.5})  # epoch_step_decay by default
    assert isinstance(learning_rate(0.1, section, 10, 5), EpochStepDecay)
    with pytest.raises(ValueError, match="unknown key.*warmup"):
        learning_rate(0.1, ScheduleSection.from_dict({"name": "cosine", "warmup": 1}), 10, 5)
    with pytest.raises(ValueError, match="warmup_epochs"):
        learning_rate(0.1, ScheduleSection.from_dict({"name": "cosine", "warmup_epochs": 5}), 10, 5)


def test_the_beyond_the_paper_recipe_loads_by_its_family_name_and_builds_its_schedule():
    from fer_keras.recipes import Recipe, load_recipe
    from fer_keras.schedules import learning_rate

    recipe = load_recipe("amdcnn_plus")  # fer_keras/recipes/amdcnn_plus_fer2013.yaml
    assert recipe == load_recipe("amdcnn_plus_fer2013") and recipe["model"]["options"]["head"] == "dense"
    typed = Recipe.of(recipe)
    schedule = learning_rate(typed.optimizer.learning_rate, typed.schedule, 100, typed.training.epochs)
    assert float(schedule(0)) == 0.0 and abs(float(schedule(200)) - recipe["optimizer"]["learning_rate"]) < 1e-9
