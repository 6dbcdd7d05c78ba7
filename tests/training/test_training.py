"""Recipes, schedules and the training driver: a run learns, writes its artifacts, and resumes exactly."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from fer_keras.models import get_model_info, list_models
from fer_keras.recipes import available_recipes, load_recipe
from tests.helpers import ROOT
from tests.helpers.tiny_run import small_recipe, write_learnable_folders

MODELS = list_models()


def test_every_recipe_loads_and_names_its_paper_values():
    names = available_recipes()
    assert {f"{m}_fer2013" for m in MODELS} <= set(names)  # a registered model comes with its FER2013 recipe
    for name in names:
        recipe = load_recipe(name)
        assert recipe["model"]["name"] in MODELS and recipe["training"]["epochs"] > 0
    for model in MODELS:  # which follows the registry's paper input and loss
        recipe, info = load_recipe(model, "fer2013"), get_model_info(model)
        assert tuple(recipe["model"]["input_shape"]) == info.default_input_shape and recipe["loss"]["name"] == info.loss
    amdcnn, lban = load_recipe("amdcnn"), load_recipe("lban")
    assert (amdcnn["optimizer"], amdcnn["pipeline"]["batch_size"], amdcnn["training"]["epochs"]) == (
        {"name": "adam", "learning_rate": 1e-4}, 32, 300)
    assert amdcnn["training"]["early_stopping_patience"] == 50 and amdcnn["pipeline"]["sample_weights"]
    assert lban["loss"] == {"name": "islets", "loss_weight": 0.6, "lambda1": 0.2, "lambda2": 0.9, "alpha": 0.5,
                            "feature_reduction": "mean"}
    assert load_recipe("mifad_net")["optimizer"] == {"name": "adam", "learning_rate": 1e-3}


def test_schedules_give_the_papers_learning_rates():
    from fer_keras.schedules import EpochStepDecay

    mrcar, lban = load_recipe("mrcar")["schedule"], load_recipe("lban")["schedule"]
    steps = 7
    for recipe_lr, schedule, expected in [
        (0.01, mrcar, {0: 0.01, 79: 0.01, 80: 0.009, 84: 0.009, 85: 0.0081, 199: 0.01 * 0.9**24}),
        (0.001, lban, {19: 0.001, 20: 0.0009, 25: 0.00081, 149: 0.001 * 0.9**26}),
    ]:
        decay = EpochStepDecay(recipe_lr, steps, schedule["start_epoch"], schedule["every_epochs"], schedule["factor"])
        for epoch, lr in expected.items():
            for step in (epoch * steps, epoch * steps + steps - 1):
                assert float(decay(step)) == pytest.approx(lr, rel=1e-5), (epoch, step)
    restored = EpochStepDecay.from_config(decay.get_config())
    assert float(restored(30 * steps)) == pytest.approx(float(decay(30 * steps)))


def test_recipe_overrides_and_errors():
    recipe = load_recipe("lban", "rafdb", ["training.epochs=3", "pipeline.augmentation.rotation=5"])
    assert recipe["training"]["epochs"] == 3 and recipe["pipeline"]["augmentation"] == {"horizontal_flip": True, "rotation": 5}
    assert recipe["model"]["input_shape"] == [80, 80, 3] and recipe["data"]["train"] == "train"
    with pytest.raises(ValueError, match="model selection on the test split is refused"):
        load_recipe("amdcnn", overrides=["data.validation=PrivateTest"])
    with pytest.raises(ValueError, match="unknown section 'trainig' \\(did you mean 'training'\\?\\)"):
        load_recipe("amdcnn", overrides=["trainig.epochs=3"])
    with pytest.raises(ValueError, match=r"unknown key training.epoch; did you mean training.epochs\?"):
        load_recipe("amdcnn", overrides=["training.epoch=3"])
    with pytest.raises(ValueError, match=r"unknown key pipeline.augmentation.blur \(pipeline.augmentation takes: "):
        load_recipe("amdcnn", overrides=["pipeline.augmentation.blur=1"])
    with pytest.raises(ValueError, match=r"model.input_shape \[48, 48, 1\] does not match pipeline.input_size \[44, 44\]"):
        load_recipe("amdcnn", overrides=["pipeline.input_size=[44, 44]"])
    with pytest.raises(ValueError, match="No recipe 'amdcnn_affectnet'"):
        load_recipe("amdcnn", "affectnet")


@pytest.mark.slow
@pytest.mark.backend_neutral
def test_a_run_learns_and_writes_every_artifact(tmp_path, rng):
    import keras

    from fer_keras.training import train

    write_learnable_folders(tmp_path / "data", {"train": 48, "val": 16}, rng)
    metrics = train(small_recipe(4), data=tmp_path / "data", out=tmp_path / "run", verbose=0)
    run = tmp_path / "run"
    for name in ("config.yaml", "best.keras", "last.keras", "log.csv", "metrics.json", "confusion_matrix.png", "curves.png"):
        assert (run / name).is_file(), name
    assert (run / "backup").is_dir() and any((run / "tensorboard").rglob("*"))
    saved = json.loads((run / "metrics.json").read_text())
    assert saved["accuracy"] == metrics["accuracy"] and saved["epochs_done"] == 4
    assert saved["keras_backend"] == keras.backend.backend()
    assert saved["accuracy"] >= 0.8, saved["validation"]["single"]["confusion_matrix"]  # chance is 0.5
    for key in ("balanced_accuracy", "macro_f1", "weighted_f1", "mean_class_accuracy", "per_class_accuracy"):
        assert key in saved["validation"]["single"]
    model = keras.saving.load_model(run / "best.keras")
    assert model.output["probabilities"].shape[-1] == 7
    with pytest.raises(ValueError, match="already holds a run"):
        train(small_recipe(4), data=tmp_path / "data", out=run)


@pytest.mark.slow
def test_a_time_limit_ends_the_run_at_an_epoch_boundary_and_resume_goes_on(tmp_path, rng):
    from fer_keras.training import train

    write_learnable_folders(tmp_path / "data", {"train": 16, "val": 8}, rng)
    recipe = small_recipe(5, ["training.time_limit_minutes=0.0001"])  # any epoch overruns it
    first = train(recipe, data=tmp_path / "data", out=tmp_path / "run", verbose=0, command="first command")
    assert first["epochs_done"] == 1 and (tmp_path / "run/best.keras").is_file()
    second = train(None, out=tmp_path / "run", resume=True, verbose=0, command="resume command")
    assert second["epochs_done"] == 2
    assert (tmp_path / "run/resumed.txt").read_text() == "resume command\n"
    assert second["train_seconds_total"] == pytest.approx(first["train_seconds"] + second["train_seconds"], abs=0.11)
    third = train(None, out=tmp_path / "run", resume=True, verbose=0, time_limit_minutes=0)  # 0: no limit now
    assert third["epochs_done"] == 5 and len((tmp_path / "run/log.csv").read_text().splitlines()) == 1 + 5


KILLED_RUN = textwrap.dedent("""
    import os, signal, sys
    import keras, tensorflow as tf
    tf.config.experimental.enable_op_determinism()
    sys.path.insert(0, {root!r})
    from tests.helpers.tiny_run import small_recipe
    from fer_keras.training import train

    class KillMidEpoch(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
        def on_train_batch_end(self, batch, logs=None):
            if {kill} and self.epoch == 1 and batch == 1:
                os.kill(os.getpid(), signal.SIGKILL)

    train(small_recipe(3), data={data!r}, out={out!r}, resume={resume}, verbose=0, callbacks=[KillMidEpoch()])
""")


@pytest.mark.slow
def test_kill_mid_epoch_then_resume_gives_the_uninterrupted_weights(tmp_path, rng):
    import keras

    write_learnable_folders(tmp_path / "data", {"train": 40, "val": 8}, rng)

    def run(out, kill, resume):
        script = KILLED_RUN.format(root=str(ROOT), data=str(tmp_path / "data"), out=str(tmp_path / out), kill=kill, resume=resume)
        return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env={**os.environ, "KERAS_BACKEND": "tensorflow"})

    straight = run("straight", False, False)
    assert straight.returncode == 0, straight.stderr[-3000:]
    killed = run("killed", True, False)
    assert killed.returncode == -9, killed.stderr[-3000:]
    assert json.loads((tmp_path / "killed/backup/training_metadata.json").read_text())["epoch"] == 1
    resumed = run("killed", False, True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    a = keras.saving.load_model(tmp_path / "straight/last.keras").get_weights()
    b = keras.saving.load_model(tmp_path / "killed/last.keras").get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    log = (tmp_path / "killed/log.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in log[1:]] == ["0", "1", "2"]


KILLED_WHILE_SAVING_BEST = textwrap.dedent("""
    import os, signal, sys
    import keras
    sys.path.insert(0, {root!r})
    from tests.helpers.tiny_run import small_recipe
    from fer_keras.training import train

    save_weights, saves = keras.Model.save_weights, []

    def dying_save(self, filepath, *args, **kwargs):
        if "best" in os.path.basename(str(filepath)):
            saves.append(filepath)
            if {kill} and len(saves) == 2:  # half a file, then SIGKILL, as a kill mid-write leaves it
                with open(filepath, "wb") as handle:
                    handle.write(b"\\x89HDF\\r\\n\\x1a\\n" + bytes(100))
                os.kill(os.getpid(), signal.SIGKILL)
        return save_weights(self, filepath, *args, **kwargs)

    keras.Model.save_weights = dying_save
    train(small_recipe(4, ["optimizer.learning_rate=0.01"]), data={data!r}, out={out!r}, resume={resume}, verbose=0)
""")


@pytest.mark.slow
def test_a_kill_while_the_best_weights_are_written_leaves_a_run_that_resumes(tmp_path, rng):
    """Issue 17, case 3: best.weights.h5 was written in place, so a kill mid-write left a file that
    made every --resume fail. Now it is written to a temporary file and renamed."""
    write_learnable_folders(tmp_path / "data", {"train": 40, "val": 16}, rng)

    def run(kill, resume):
        script = KILLED_WHILE_SAVING_BEST.format(root=str(ROOT), data=str(tmp_path / "data"),
                                                 out=str(tmp_path / "run"), kill=kill, resume=resume)
        return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              env={**os.environ, "KERAS_BACKEND": "tensorflow"})

    killed = run(True, False)
    if killed.returncode == 0:
        pytest.skip("validation accuracy improved only once: the best weights were never saved twice")
    assert killed.returncode == -9, killed.stderr[-3000:]
    resumed = run(False, True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    log = (tmp_path / "run/log.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in log[1:]] == ["0", "1", "2", "3"]  # no epoch twice, none missing
    assert not list((tmp_path / "run").glob(".*tmp*"))


def test_resume_trims_log_rows_past_the_backup_and_early_stopping_counts_across_chunks(tmp_path):
    """A row written after the last backup is dropped on resume (that epoch runs again); patience
    starts from the log's best epoch, not from the resumed chunk's first."""
    import keras

    from fer_keras.callbacks import early_stopping
    from fer_keras.run.folder import MONITOR, trim_log

    (tmp_path / "log.csv").write_text(f"epoch,loss,{MONITOR}\n0,2.0,0.30\n1,1.5,0.50\n2,1.2,0.40\n3,1.1,0.45\n")
    trim_log(tmp_path, 3)
    assert (tmp_path / "log.csv").read_text().splitlines()[-1] == "2,1.2,0.4"
    stopper = early_stopping(2, tmp_path)
    stopper.set_model(keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]))
    stopper.on_train_begin()
    assert (stopper.best, stopper.best_epoch, stopper.wait) == (0.5, 1, 1)
    stopper.on_epoch_end(3, {MONITOR: 0.45})  # the second epoch without improvement: patience 2 is spent
    assert stopper.model.stop_training


SCALE_RUNS = textwrap.dedent("""
    import json, sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    sys.path.insert(0, {root!r})
    from tests.helpers.tiny_run import small_recipe
    from fer_keras.training import train
    mirrored = train(small_recipe(1, ["training.distribute=mirrored"]), data={data!r}, out={out!r} + "/mirrored", verbose=0)
    mixed = train(small_recipe(1, ["training.mixed_precision=true", "training.distribute=none"]), data={data!r},
                  out={out!r} + "/mixed", verbose=0)
    print(json.dumps({{"replicas": mirrored["replicas"], "precision": mixed["precision"]}}))
""")


@pytest.mark.slow
def test_mirrored_two_replica_and_mixed_precision_runs_on_cpu(tmp_path, rng):
    import pandas as pd

    write_learnable_folders(tmp_path / "data", {"train": 32, "val": 8}, rng)
    script = SCALE_RUNS.format(root=str(ROOT), data=str(tmp_path / "data"), out=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "KERAS_BACKEND": "tensorflow"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"replicas": 2, "precision": "mixed_float16"}
    for run in ("mirrored", "mixed"):
        log = pd.read_csv(tmp_path / run / "log.csv")
        assert np.isfinite(log["loss"]).all() and np.isfinite(log["val_loss"]).all()


def test_a_non_finite_loss_stops_before_the_epoch_is_saved():
    from fer_keras.callbacks import stop_on_non_finite_loss
    from fer_keras.errors import NonFiniteLossError

    callback = stop_on_non_finite_loss()
    callback.on_epoch_begin(2)
    callback.on_train_batch_end(0, {"loss": 1.5})
    for bad in (float("nan"), float("inf")):
        with pytest.raises(NonFiniteLossError, match=r"became (nan|inf) at epoch 3, batch 5"):
            callback.on_train_batch_end(4, {"loss": bad})


@pytest.mark.backend_neutral
def test_precision_policy_picks_bfloat16_only_where_asked_and_native(monkeypatch):
    import fer_keras.hardware as hardware
    from fer_keras.errors import RecipeError

    monkeypatch.setattr(hardware, "gpu_available", lambda: False)
    for native, wanted in ((True, "mixed_bfloat16"), (False, "float32")):
        monkeypatch.setattr(hardware, "cpu_has_native_bfloat16", lambda: native)
        assert hardware.precision_policy("cpu_bfloat16") == wanted
        assert hardware.precision_policy("auto") == "float32"  # auto never picks bfloat16
    monkeypatch.setattr(hardware, "gpu_available", lambda: True)
    assert hardware.precision_policy("cpu_bfloat16") == hardware.precision_policy("auto") == "mixed_float16"
    assert hardware.precision_policy("mixed_bfloat16") == "mixed_bfloat16"
    with pytest.raises(RecipeError, match="training.mixed_precision must be .*got 'bf16'"):
        hardware.precision_policy("bf16")
    assert isinstance(hardware.cpu_has_native_bfloat16(), bool)
