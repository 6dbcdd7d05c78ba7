"""optimizer.ema_momentum: a moving average of the weights that validation, the best-epoch
selection and the saved weights use, and that a resumed run continues; invalid values refused.
The fast tier checks the callbacks' order on a tiny Keras model; the slow tier a whole run."""

import numpy as np
import pytest

from fer_keras.errors import RecipeError
from tests.helpers.tiny_run import small_recipe, write_learnable_folders


def recorder():
    """A callback (after the run's own) keeping, per epoch, the raw weights and the average right
    after the epoch's last batch, what the model and the average slots hold at the epoch's end, and
    what they hold as each epoch's first batch begins; {variable path: array} each."""
    import keras

    def state(model):
        optimizer = model.optimizer
        if not hasattr(optimizer, "_model_variables_moving_average"):  # built at the first step
            return None
        weights = {v.path: np.array(v) for v in optimizer._trainable_variables}
        slots = {v.path: np.array(a) for v, a in zip(optimizer._trainable_variables, optimizer._model_variables_moving_average)}
        return weights, slots

    class Recorder(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.last_batch, self.epoch_end, self.first_batch = {}, {}, {}

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_begin(self, batch, logs=None):
            if batch == 0:
                self.first_batch[self.epoch] = state(self.model)

        def on_train_batch_end(self, batch, logs=None):
            self.last_batch[self.epoch] = state(self.model)  # (raw, average): nothing swapped mid-epoch

        def on_epoch_end(self, epoch, logs=None):
            self.epoch_end[epoch] = state(self.model)

    return Recorder()


def assert_same(first, second):
    assert first.keys() == second.keys()
    for path in first:
        np.testing.assert_allclose(first[path], second[path], rtol=1e-5, atol=1e-6, err_msg=path)


def assert_differ(first, second):
    assert any(not np.allclose(first[path], second[path], rtol=1e-5, atol=1e-6) for path in first)


def saved_weights(path):
    import keras

    return {v.path: np.array(v) for v in keras.saving.load_model(path).trainable_variables}


def best_epoch(run):
    import pandas as pd

    from fer_keras.run.folder import MONITOR

    values = pd.read_csv(run / "log.csv")[MONITOR].to_numpy()
    return int(np.argmax(values))  # the first best: the best weights are saved on a strict improvement


def tiny_fit(folder, recorder, epochs, resumed=False, stop_after=None):
    """A 4 -> 3 softmax model fitted with Adam(use_ema) under the callbacks in fer_keras.training's
    order: swap, best weights, backup, the `recorder`, a stop after epoch `stop_after`, keep."""
    import keras

    from fer_keras.callbacks import backup_and_restore, keep_best_weights, swap_ema_weights
    from fer_keras.run.folder import MONITOR, completed_epochs

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x, xv = rng.normal(size=(64, 4)).astype("float32"), rng.normal(size=(32, 4)).astype("float32")
    y, yv = np.argmax(x[:, :3], 1), np.argmax(xv[:, :3], 1)
    inputs = keras.Input((4,))
    heads = {name: keras.layers.Dense(3, activation="softmax", name=name)(inputs) for name in ("probabilities", "aux")}
    model = keras.Model(inputs, heads)  # two outputs: the metric is named as the run's MONITOR reads it
    model.compile(keras.optimizers.Adam(0.05, use_ema=True, ema_momentum=0.8),
                  loss={name: "sparse_categorical_crossentropy" for name in heads}, metrics={"probabilities": ["accuracy"]})

    class Stop(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            recorder.accuracy[epoch] = (logs[MONITOR], float(np.mean(np.argmax(self.model(xv)["probabilities"], -1) == yv)))
            if epoch == stop_after:
                self.model.stop_training = True

    swap, keep = swap_ema_weights(resumed)
    best = (folder / "best_value.txt").read_text() if (folder / "best_value.txt").is_file() else None
    callbacks = [swap, keep_best_weights(folder / "best.weights.h5", None if best is None else float(best)),
                 backup_and_restore(folder / "backup"), recorder, Stop(), keep]
    history = model.fit(x, {"probabilities": y, "aux": y}, batch_size=16, epochs=epochs, initial_epoch=completed_epochs(folder),
                        validation_data=(xv, {"probabilities": yv, "aux": yv}), callbacks=callbacks, verbose=0)
    (folder / "best_value.txt").write_text(str(max(history.history[MONITOR])))
    return model


def test_the_swap_validates_saves_and_ends_on_the_average_and_a_resume_trains_the_raw_weights(tmp_path):
    import keras

    first = recorder()
    first.accuracy = {}
    model = tiny_fit(tmp_path, first, epochs=3, stop_after=1)  # stops early, after epoch 2 of 3
    for epoch in (0, 1):
        raw, average = first.last_batch[epoch]
        assert_differ(raw, average)
        assert_same(first.epoch_end[epoch][0], average)  # best weights, backup and later callbacks see the average
        assert_same(first.epoch_end[epoch][1], raw)  # ... while the raw weights wait in the average slots
        logged, evaluated = first.accuracy[epoch]
        assert logged == pytest.approx(evaluated)  # validation ran on the average
    assert_same(first.first_batch[1][0], first.last_batch[0][0])  # epoch 2 trained the raw weights on
    assert_same({v.path: np.array(v) for v in model.trainable_variables}, first.last_batch[1][1])  # ended on the average
    saved = keras.models.clone_model(model)
    saved.load_weights(tmp_path / "best.weights.h5")
    best = max((0, 1), key=lambda epoch: (first.accuracy[epoch][0], -epoch))
    assert_same({v.path: np.array(v) for v in saved.trainable_variables}, first.last_batch[best][1])

    second = recorder()
    second.accuracy = {}
    tiny_fit(tmp_path, second, epochs=3, resumed=True)  # from the backup of epoch 2
    assert_same(second.first_batch[2][0], first.last_batch[1][0])  # the raw weights train on ...
    assert_same(second.first_batch[2][1], first.last_batch[1][1])  # ... and the average goes on from its own
    assert_same(second.epoch_end[2][0], second.last_batch[2][1])


@pytest.mark.slow
def test_ema_validates_selects_and_saves_the_average_and_a_resume_continues_the_raw_weights(tmp_path, rng):
    from fer_keras.training import train

    write_learnable_folders(tmp_path / "data", {"train": 16, "val": 8}, rng)
    run = tmp_path / "run"
    recipe = small_recipe(2, ["optimizer.ema_momentum=0.9", "training.time_limit_minutes=0.0001"])  # stops after 1
    first = recorder()
    assert train(recipe, data=tmp_path / "data", out=run, verbose=0, callbacks=[first])["epochs_done"] == 1
    raw, average = first.last_batch[0]
    assert_differ(raw, average)
    assert_same(first.epoch_end[0][0], average)  # the epoch's end (best weights, backup) sees the average
    assert_same(first.epoch_end[0][1], raw)  # ... and the raw weights wait in the average slots
    for name in ("best.keras", "last.keras"):  # an early end keeps the average in the model too
        saved = saved_weights(run / name)
        assert_same(saved, {path: average[path] for path in saved})

    second = recorder()
    assert train(None, out=run, resume=True, verbose=0, time_limit_minutes=0, callbacks=[second])["epochs_done"] == 2
    resumed_weights, resumed_slots = second.first_batch[1]
    assert_same(resumed_weights, raw)  # training goes on from the raw weights, averaging into the average
    assert_same(resumed_slots, average)
    assert_same(second.epoch_end[1][0], second.last_batch[1][1])
    best = best_epoch(run)
    expected = (first if best == 0 else second).last_batch[best][1]
    saved = saved_weights(run / "best.keras")
    assert_same(saved, {path: expected[path] for path in saved})
    saved = saved_weights(run / "last.keras")
    assert_same(saved, {path: second.last_batch[1][1][path] for path in saved})


def test_ema_momentum_switches_use_ema_and_bad_values_are_refused_before_training(tmp_path):
    from fer_keras.recipes import load_recipe
    from fer_keras.training import build_training, train

    _, plain = build_training(small_recipe(1), 2, 4)
    assert not plain.model.optimizer.use_ema
    _, averaged = build_training(small_recipe(1, ["optimizer.ema_momentum=0.995"]), 2, 4)
    assert averaged.model.optimizer.use_ema and averaged.model.optimizer.ema_momentum == pytest.approx(0.995)
    assert load_recipe("amdcnn", overrides=["optimizer.ema_momentum=null"])["optimizer"]["ema_momentum"] is None
    for value, problem in [("1.5", r"optimizer.ema_momentum must be in \(0, 1\)"), ("0", r"must be in \(0, 1\)"),
                           ("abc", "optimizer.ema_momentum must be a number or null"), ("true", "must be a number")]:
        with pytest.raises(RecipeError, match=problem):
            load_recipe("amdcnn", overrides=[f"optimizer.ema_momentum={value}"])
    for key in ("use_ema=true", "ema_overwrite_frequency=10"):
        with pytest.raises(RecipeError, match="is not a recipe key: optimizer.ema_momentum"):
            load_recipe("amdcnn", overrides=[f"optimizer.{key}"])
    recipe = small_recipe(1)
    recipe["optimizer"]["ema_momentum"] = 1.5
    with pytest.raises(RecipeError, match="ema_momentum"):
        train(recipe, data=tmp_path / "data", out=tmp_path / "run", verbose=0)
    assert not (tmp_path / "run").exists()
