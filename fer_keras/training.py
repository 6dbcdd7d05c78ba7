"""Train a paper's recipe end to end with `model.fit` and write a run directory.

    from fer_keras.recipes import load_recipe
    from fer_keras.training import train
    train(load_recipe("amdcnn", "fer2013"), data="fer2013.csv.gz", out="runs/amdcnn")

The run directory (fer_keras.run: its files, config, log, lock, disk space and atomic writes)
holds config.yaml (the resolved recipe, its fingerprint, data path and command), backup/ (Keras
BackupAndRestore: weights + optimiser state + epoch, for `resume=True`), best.keras and last.keras
(inference models), log.csv, tensorboard/, metrics.json, confusion_matrix.png, curves.png; and
hidden, .recipe.json and .run.lock (one process at a time).

Protocol: model selection and early stopping use the validation split only; the test split (when
the file has it) is evaluated once, after training, with the selected weights.

The callbacks Keras lacks are fer_keras.callbacks'; the precision and distribution a recipe asks
for, fer_keras.hardware's and fer_keras.distribute's; the batches, fer_keras.data.batches'.
"""

import contextlib
import importlib.util
import os
import platform
import time
from dataclasses import replace
from pathlib import Path

from fer_keras import callbacks as run_callbacks
from fer_keras.data.batches import fit_options, make_batches, uses_tf_data
from fer_keras.data.faces.regions import region_inputs
from fer_keras.data.pipeline import steps_per_epoch
from fer_keras.data.splits import load_splits
from fer_keras.distribute import distribution_strategy
from fer_keras.errors import FerKerasError, RecipeError
from fer_keras.hardware import gpu_available, precision_policy
from fer_keras.recipes.schema import Recipe
from fer_keras.run.folder import (
    BACKUP_DIR, BEST_WEIGHTS_FILE, CONFIG_FILE, LOG_FILE, METRICS_FILE, MONITOR, best_so_far, check_new_run_folder,
    completed_epochs, read_metrics, read_run_config, record_resume, trim_log,
)
from fer_keras.run.lock import LOCK_FILE, hold_run
from fer_keras.run.record import check_recipe, invoked_command, record_recipe_change, write_new_run
from fer_keras.run.space import check_free_space, state_bytes, stop_on_full_disk, temporaries
from fer_keras.run.write import write_atomically, write_json
from fer_keras.torch_defaults import set_bn_momentum, set_initialization


def _optimizer(optimizer, schedule, epochs, steps):
    """The Keras optimizer of the recipe's `optimizer` section (an OptimizerSection), its learning
    rate under the `schedule` section (a ScheduleSection; None: constant) over `epochs` of `steps`."""
    from fer_keras.schedules import CoupledL2SGD, learning_rate, optimizer_classes

    options = {**optimizer.options, "learning_rate": learning_rate(optimizer.learning_rate, schedule, steps, epochs)}
    if optimizer.ema_momentum is not None:  # the swap callback in `_train_in` evaluates and saves it
        options.update(use_ema=True, ema_momentum=float(optimizer.ema_momentum))
    if optimizer.name == "sgd" and "l2" in options:  # PyTorch's coupled weight decay (LBAN-IL)
        return CoupledL2SGD(**options)
    return optimizer_classes()[optimizer.name][0](**options)


def _targets(training, config):
    """Map from (x, y[, w]) to what the training model's fit takes."""
    from fer_keras.models.objectives import with_labels

    outputs = list(training.model.output)  # metrics are resolved over every output

    def to_fit(x, y, w=None):
        inputs = with_labels(x, y, training.model) if training.needs_labels else x
        targets = {name: y for name in outputs}
        if w is None:
            return inputs, targets
        weighted = outputs if training.sample_weighted is None else training.sample_weighted
        return inputs, targets, {name: w if name in weighted else w * 0 + 1 for name in outputs}

    return to_fit


@contextlib.contextmanager
def _keras_errors(section):
    """Keras's ValueError while the recipe's `section` becomes Keras objects (say, an input too
    small for the network; fer_keras/layers and losses raise ValueError as Keras does) is that
    section's: a RecipeError naming it. fer_keras's own errors pass as they were raised."""
    try:
        yield
    except ValueError as err:
        if isinstance(err, FerKerasError):
            raise
        raise RecipeError(f"{section}: {err}") from err


def build_training(recipe, num_classes, steps):
    """(model, training) of `recipe` (a Recipe or its dict): the model built and initialised as the
    recipe says, and its training model (fer_keras.models.objectives) compiled with the recipe's
    loss and optimizer (`steps` per epoch, for the learning-rate schedule). Call it inside a
    distribution scope."""
    from fer_keras.models.objectives import make_training_model
    from fer_keras.models.registry import build_model

    recipe = Recipe.of(recipe)
    settings, section, loss = recipe.training, recipe.model, recipe.loss
    with _keras_errors("model"):
        model = build_model(section.name, input_shape=section.input_shape, num_classes=num_classes, **section.options)
    set_initialization(model, settings.initialization, settings.seed)
    if settings.bn_momentum is not None:
        set_bn_momentum(model, settings.bn_momentum)
    with _keras_errors("loss"):
        training = make_training_model(model, loss.name, num_classes=num_classes, **loss.options)
    with _keras_errors("optimizer"):
        optimizer = _optimizer(recipe.optimizer, recipe.schedule, settings.epochs, steps)
    training.model.compile(
        optimizer=optimizer,
        loss=training.loss,
        loss_weights=training.loss_weights,
        metrics=training.metrics(),
        jit_compile=settings.jit_compile,
    )
    return model, training


def train(recipe, data=None, out="runs/run", resume=False, verbose="auto", command=None, callbacks=(),
          time_limit_minutes=None, allow_recipe_change=False):
    """Train `recipe` (a resolved recipe dict, fer_keras.recipes.load_recipe, or its Recipe) on `data` (path; None: the bundled FER2013 sample)
    into the run directory `out`; returns the metrics dict (also in out/metrics.json). Extra Keras
    `callbacks` run after the run's own. `time_limit_minutes` replaces training.time_limit_minutes
    for this call only (a property of the session, not of the recipe, so a resumed run may change it).

    One process at a time trains in `out` (fer_keras.run.lock: another gets RunInUseError). A
    resumed run continues the recipe it started with: one edited in config.yaml since is refused
    unless `allow_recipe_change` (then recorded there: fer_keras.run.record). A disk without room
    for the run is a DiskFullError, before training or when a write fails (the run then stops with
    its last complete backup whole, and resumes once there is room)."""
    run = Path(out)
    made = []  # the folders this call makes: a start that fails before the run exists removes them
    if resume:
        read_run_config(run, "out")
    else:
        recipe = Recipe.of(recipe)  # a dict made or changed in Python is checked as a loaded recipe is
        check_new_run_folder(run)
        made = [folder for folder in (run, *run.parents) if not folder.exists()]
        run.mkdir(parents=True, exist_ok=True)
    with hold_run(run, "out"), stop_on_full_disk(run) as writes:
        try:
            return _train_in(run, recipe, data, resume, verbose, command, callbacks, time_limit_minutes,
                             allow_recipe_change, writes)
        except BaseException:
            _remove_failed_start(made)
            raise


def _remove_failed_start(made):
    """Remove the folders a new run's `train` made (`made`: the run folder first, then the parents
    it made) when its start failed before the run existed: the run folder only while it holds
    nothing but its lock (removed while held, so no other process can have written there), a
    parent only while empty. A folder the user had, or one holding anything else, stays."""
    with contextlib.suppress(OSError):
        if not made or sorted(p.name for p in made[0].iterdir()) != [LOCK_FILE]:
            return
        (made[0] / LOCK_FILE).unlink()
        for folder in made:
            folder.rmdir()  # OSError (not empty) ends the climb


def _train_in(run, recipe, data, resume, verbose, command, callbacks, time_limit_minutes, allow_recipe_change, writes):
    """`train`'s work, in the run folder `run` it holds: the folder is checked again under the lock
    (another process may have started a run there since `train` looked). `writes`: see fer_keras.run.space.RunWrites."""
    import keras

    from fer_keras.evaluation import classification_metrics, predict_probabilities
    from fer_keras.run.report import plot_confusion_matrix, plot_curves
    from fer_keras.schedules import loss_warmup

    for stale in temporaries(run):  # a killed write's: no other process writes here
        stale.unlink(missing_ok=True)
    if resume:
        saved = read_run_config(run, "out")
        change = check_recipe(run, saved, allow_recipe_change, completed_epochs(run), command or invoked_command())
        recipe, data = Recipe.from_dict(saved["recipe"], source=str(run / CONFIG_FILE)), saved.get("data")
    else:
        check_new_run_folder(run)
    settings = recipe.training
    keras.utils.set_random_seed(settings.seed)
    policy = precision_policy(settings.mixed_precision)
    keras.mixed_precision.set_global_policy(policy)

    train_record, val_record, test_record, protocol = load_splits(recipe.data, data)
    config = recipe.pipeline  # seeded with training.seed
    inputs = {split: region_inputs(r, recipe.data.regions) for split, r in
              (("train", train_record), ("validation", val_record), ("test", test_record)) if r is not None}

    strategy = distribution_strategy(settings.distribute)
    steps = steps_per_epoch(train_record, config)
    warmup_epochs = recipe.loss.warmup_epochs
    with strategy.scope() if strategy else contextlib.nullcontext():
        model, training = build_training(recipe, len(train_record.class_names), steps)
        if resume:  # refused before config.yaml records an allowed recipe change
            run_callbacks.check_backup_optimizer(run / BACKUP_DIR, training.model, run, change)
    if resume and change is not None:
        record_recipe_change(run, saved, change)
    writes.checkpoint_bytes = state_bytes(training.model)
    check_free_space(run, writes.checkpoint_bytes, resume)
    epochs, initial_epoch = settings.epochs, completed_epochs(run) if resume else 0
    if resume:
        trim_log(run, initial_epoch)
    to_fit = _targets(training, config)
    val_config = replace(config, sample_weights=False, tta=None)
    train_data = make_batches(train_record, config, True, inputs.get("train"), epochs, initial_epoch, to_fit)
    if strategy is not None and uses_tf_data():  # the index pipeline shards by data, not by file
        import tensorflow as tf

        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        train_data = train_data.with_options(options)
    train_data, fit_kwargs, data_callbacks = fit_options(train_data, steps)
    val_data = make_batches(val_record, val_config, False, inputs.get("validation"), transform=to_fit)

    # The run exists from here on: only a recipe whose model compiled and whose pipeline was built
    # is written (a failed start leaves no config.yaml, so the same `out` can be used again, and
    # `train` removes the folders it made for it).
    if resume:
        record_resume(run, command or invoked_command())
    else:
        write_new_run(run, recipe.to_dict(), data, protocol, command or invoked_command(), keras.backend.backend())
    writes.csv_logger = keras.callbacks.CSVLogger(str(run / LOG_FILE), append=resume)
    # optimizer.ema_momentum: the swap comes before every callback that reads or saves the weights
    # at an epoch's end (the collapse diagnostics, the best weights, the backup), so all of them see
    # the moving average, as validation (on_test_begin / on_test_end) does; it swaps the raw weights
    # back at the next epoch's beginning. The backup thus holds the average in the model and the raw
    # weights in the optimizer's average slots: a resumed run's swap starts in that state
    # (`resumed`) and swaps back before training on, so a resume continues the raw weights. Its
    # second callback goes last of all, after anything that may stop training (see swap_ema_weights).
    ema = list(run_callbacks.swap_ema_weights(resumed=initial_epoch > 0)) if recipe.optimizer.ema_momentum else []
    extra_callbacks, callbacks = list(callbacks), [
        *data_callbacks,
        run_callbacks.stop_on_non_finite_loss(run),
        *([loss_warmup(training, warmup_epochs)] if warmup_epochs else []),
        *ema[:1],
        run_callbacks.collapse_monitor(model, training.center_loss, val_record, val_config, inputs.get("validation"),
                                       settings.collapse_warn_after),
        run_callbacks.keep_best_weights(run / BEST_WEIGHTS_FILE, best_so_far(run) if resume else None),
        writes.csv_logger,
    ]
    if importlib.util.find_spec("tensorflow"):  # Keras's TensorBoard callback writes with tf.summary
        callbacks.append(keras.callbacks.TensorBoard(str(run / "tensorboard")))
    if settings.early_stopping_patience:
        callbacks.append(run_callbacks.early_stopping(settings.early_stopping_patience, run if resume else None))
    time_limit = settings.time_limit_minutes if time_limit_minutes is None else time_limit_minutes
    if time_limit:
        callbacks.append(run_callbacks.stop_at_time_limit(float(time_limit)))
    # Last of the run's own callbacks: when the backup records an epoch as done, everything that
    # epoch writes (best weights, log row) is already on disk, so a kill at any moment resumes.
    constant_rate = None if recipe.schedule else float(recipe.optimizer.learning_rate)
    callbacks.append(run_callbacks.backup_and_restore(run / BACKUP_DIR, constant_rate))
    callbacks += extra_callbacks + ema[1:]
    start = time.perf_counter()
    history = training.model.fit(train_data, validation_data=val_data, epochs=epochs, initial_epoch=initial_epoch,
                                 callbacks=callbacks, verbose=verbose, shuffle=False, **fit_kwargs)
    seconds = time.perf_counter() - start
    epochs_done = len(history.history.get("loss", []))
    earlier = read_metrics(run) if resume else {}

    write_atomically(run / "last.keras", model.save)
    if (run / BEST_WEIGHTS_FILE).is_file():
        training.model.load_weights(run / BEST_WEIGHTS_FILE)
    write_atomically(run / "best.keras", model.save)

    title = f"{recipe.model.name} on {recipe.data.dataset}"
    metrics = {"validation": {}, "test": None}
    for tta in [None] + ([config.tta] if config.tta else []):
        probabilities = predict_probabilities(model, val_record, val_config, inputs.get("validation"), tta)
        metrics["validation"][tta or "single"] = classification_metrics(val_record.labels, probabilities, val_record.class_names)
    if test_record is not None:
        probabilities = predict_probabilities(model, test_record, val_config, inputs.get("test"), config.tta)
        metrics["test"] = classification_metrics(test_record.labels, probabilities, test_record.class_names)
    headline = metrics["validation"][config.tta or "single"]
    metrics.update({
        "accuracy": headline["accuracy"],
        "macro_f1": headline["macro_f1"],
        "selected_on": f"{val_record.split} ({MONITOR}, best epoch weights)",
        "protocol": protocol,
        "epochs_done": initial_epoch + epochs_done,
        "train_seconds": round(seconds, 1),
        "train_images_per_second": round(epochs_done * len(train_record) / seconds, 1) if seconds else None,
        "train_seconds_total": round(earlier.get("train_seconds_total", earlier.get("train_seconds", 0.0)) + seconds, 1),
        "precision": policy,
        "replicas": strategy.num_replicas_in_sync if strategy else 1,
        "keras_backend": keras.backend.backend(),
        "hardware": f"{'GPU' if gpu_available() else 'CPU'}; {platform.machine()}, {os.cpu_count()} CPU cores",
        "samples": {"train": len(train_record), "validation": len(val_record), "test": None if test_record is None else len(test_record)},
    })
    write_json(metrics, run / METRICS_FILE)
    plot_confusion_matrix(headline, run / "confusion_matrix.png", f"{title}, {val_record.split}")
    plot_curves(run / LOG_FILE, run / "curves.png", title)
    return metrics
