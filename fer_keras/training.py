"""Train a paper's recipe end to end with `model.fit` and write a run directory.

    from fer_keras.recipes import load_recipe
    from fer_keras.training import train
    train(load_recipe("amdcnn", "fer2013"), data="fer2013.csv.gz", out="runs/amdcnn")

A run directory holds: config.yaml (the resolved recipe, its fingerprint, data path and command;
fer_keras.runrecord), backup/ (Keras BackupAndRestore: weights + optimiser state + epoch, for
`resume=True`), best.keras and last.keras (inference models), log.csv, tensorboard/, metrics.json,
confusion_matrix.png, curves.png; and hidden, .recipe.json (the recipe fingerprinted) and .run.lock
(fer_keras.runlock: one process at a time). Every checkpoint is written atomically
(fer_keras.safewrite), and the disk's room is checked before training (fer_keras.runspace).

Protocol: model selection and early stopping use the validation split only; the test split (when
the file has it) is evaluated once, after training, with the selected weights.

Size: about 600 lines because one run's whole life is here: the callbacks Keras lacks (non-finite
loss, time limit, early stopping and best weights that survive a resume), the run folder (config,
resume, log trimming) and `train`. The data it trains on comes from fer_keras.data.splits
(`load_splits`) and fer_keras.data.faces.regions (`region_inputs`); both names stay importable
from here.
"""

import contextlib
import importlib.util
import json
import math
import os
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

import yaml

from fer_keras.data.pipeline import PipelineConfig, make_dataset, steps_per_epoch
from fer_keras.data.faces.regions import region_inputs
from fer_keras.data.splits import load_splits
from fer_keras.errors import ArgumentError, FerKerasError, RecipeError
from fer_keras.recipes.schema import training_settings
from fer_keras.runlock import hold_run
from fer_keras.runrecord import accept_recipe, write_new_run
from fer_keras.runspace import check_free_space, state_bytes, stop_on_full_disk, temporaries
from fer_keras.safewrite import cut_torn_line, link_or_copy, write_atomically
from fer_keras.torch_defaults import set_bn_momentum, set_initialization

MONITOR = "val_probabilities_accuracy"


class NonFiniteLossError(FerKerasError, RuntimeError):
    """The training loss became NaN or infinite."""


def _stop_on_non_finite_loss():
    import keras

    class StopOnNonFiniteLoss(keras.callbacks.Callback):
        """Raise at the first non-finite batch loss, before the epoch's backup can save bad weights."""

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            loss = (logs or {}).get("loss")
            if loss is not None and not math.isfinite(float(loss)):
                raise NonFiniteLossError(f"the training loss became {loss} at epoch {self.epoch + 1}, batch {batch + 1}")

    return StopOnNonFiniteLoss()


def _stop_at_time_limit(minutes):
    """Stop at the end of the last epoch that fits in `minutes` of training (Keras has no such
    callback); the run then saves, evaluates and can be continued with `resume=True`."""
    import keras

    class StopAtTimeLimit(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start, self.longest = time.perf_counter(), 0.0

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch_start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            now = time.perf_counter()
            self.longest = max(self.longest, now - self.epoch_start)
            if now - self.start + self.longest > minutes * 60:
                print(f"fer-keras: stopping after epoch {epoch + 1}: another epoch would pass "
                      f"training.time_limit_minutes={minutes}", file=sys.stderr)
                self.model.stop_training = True

    return StopAtTimeLimit()


def _collapse_monitor(model, center_loss, record, config, inputs, warn_after):
    """fer_keras.diagnostics' per-epoch collapse diagnostics on a fixed sample of `record` (before
    CSVLogger, so that log.csv gets the diag_* columns)."""
    from fer_keras.diagnostics import collapse_monitor, diagnostic_sample
    from fer_keras.evaluation import predict_outputs

    sample = diagnostic_sample(record)
    sample_record = record.subset(sample)
    sample_inputs = None if inputs is None else {key: value[sample] for key, value in inputs.items()}
    import keras

    centers = None if center_loss is None else (lambda: keras.ops.convert_to_numpy(center_loss.centers))
    return collapse_monitor(lambda: predict_outputs(model, sample_record, config, sample_inputs), sample_record.labels,
                            record.class_names, record.split, warn_after=warn_after, centers=centers)


def gpu_available():
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    if backend == "jax":
        import jax

        return any(d.platform == "gpu" for d in jax.devices())
    if backend == "torch":
        import torch

        return torch.cuda.is_available()
    return False


def native_bfloat16_flags():
    """The CPU flags of native bfloat16 this machine reports (amx_bf16, avx512_bf16 in /proc/cpuinfo)."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return sorted(set(line.split(":", 1)[1].split()) & {"amx_bf16", "avx512_bf16"})
    except OSError:
        pass
    return []


def cpu_has_native_bfloat16():
    """Whether this CPU computes bfloat16 natively (AMX-BF16 or AVX-512 BF16)."""
    return bool(native_bfloat16_flags())


def precision_policy(setting):
    """The Keras dtype policy for the recipe's training.mixed_precision.

    "auto": "mixed_float16" on a GPU, else "float32". "cpu_bfloat16": the same, except
    "mixed_bfloat16" on a CPU that computes bfloat16 natively (AMX / AVX-512 BF16), for recipes it was
    measured to pay for (benchmarks/results/training_precision.json: LBAN-IL 2.1x, AMDCNN with dense
    heads 1.3x, MrCAR nothing) and to train alike (experiments/probes/precision_probe.py). true: "mixed_float16";
    false: "float32"; "mixed_bfloat16", "mixed_float16" or "float32" as named.
    """
    if setting in ("auto", None):
        return "mixed_float16" if gpu_available() else "float32"
    if setting == "cpu_bfloat16":
        if gpu_available():
            return "mixed_float16"
        return "mixed_bfloat16" if cpu_has_native_bfloat16() else "float32"
    if setting is True or setting == "mixed_float16":
        return "mixed_float16"
    if setting is False or setting == "float32":
        return "float32"
    if setting == "mixed_bfloat16":
        return "mixed_bfloat16"
    raise RecipeError("training.mixed_precision must be auto, cpu_bfloat16, true/false, mixed_float16, mixed_bfloat16 "
                      f"or float32, got {setting!r}")


def distribution_strategy(setting):
    """The tf.distribute strategy for training.distribute (TensorFlow backend only), or None.

    "auto": MultiWorkerMirroredStrategy when TF_CONFIG names a cluster, MirroredStrategy when the
    machine has several GPUs, else none. "mirrored": MirroredStrategy over all GPUs, or over all
    (logical) CPUs when there is no GPU. "multi_worker": MultiWorkerMirroredStrategy from TF_CONFIG.
    "none": no strategy. The recipe's batch size is the global batch, split across replicas.
    """
    import keras

    if setting in ("none", None, False):
        return None
    if setting not in ("auto", "mirrored", "multi_worker"):
        raise RecipeError(f"training.distribute must be auto, mirrored, multi_worker or none, got {setting!r}")
    if keras.backend.backend() != "tensorflow":
        if setting != "auto":
            raise RecipeError(f"training.distribute={setting!r} needs the TensorFlow backend (KERAS_BACKEND=tensorflow)")
        return None
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    if setting == "multi_worker" or (setting == "auto" and os.environ.get("TF_CONFIG")):
        return tf.distribute.MultiWorkerMirroredStrategy()
    if setting == "mirrored":
        devices = gpus or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    return tf.distribute.MirroredStrategy() if len(gpus) > 1 else None


def _optimizer(recipe, steps):
    from fer_keras.schedules import CoupledL2SGD, learning_rate, optimizer_classes

    options = dict(recipe["optimizer"])
    name = options.pop("name")
    options["learning_rate"] = learning_rate(recipe["optimizer"], recipe["schedule"], steps, recipe["training"]["epochs"])
    if name == "sgd" and "l2" in options:  # PyTorch's coupled weight decay (LBAN-IL)
        return CoupledL2SGD(**options)
    return optimizer_classes()[name][0](**options)


def _targets(training, config):
    """tf.data map from (x, y[, w]) to what the training model's fit takes."""
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


def invoked_command(argv=None):
    """The command line that started this process, as a user would type it: `fer-keras ...` for
    the console script or `python -m fer_keras` (whose argv[0] is an absolute path)."""
    import shlex

    argv = list(sys.argv if argv is None else argv)
    if argv and (argv[0].endswith(("fer_keras/__main__.py", "/fer-keras")) or argv[0] == "fer-keras"):
        argv[0] = "fer-keras"
    return shlex.join(argv)


def _completed_epochs(run):
    """Epochs finished by an earlier (interrupted) run, from Keras BackupAndRestore's metadata."""
    import json

    metadata = run / "backup" / "training_metadata.json"
    return json.loads(metadata.read_text())["epoch"] if metadata.is_file() else 0


def _keep_best_weights(path, best=None):
    """Save the weights whenever the validation accuracy improves on `best`, atomically (a
    temporary file renamed over `path`), so a kill never leaves a half-written best.weights.h5."""
    import keras

    class KeepBestWeights(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            nonlocal best
            value = (logs or {}).get(MONITOR)
            if value is None or (best is not None and not value > best):
                return
            write_atomically(path, self.model.save_weights)
            best = float(value)

    return KeepBestWeights()


def _backup_and_restore(folder, learning_rate=None):
    """Keras's BackupAndRestore in `folder` (double_checkpoint: the previous state is kept as
    *.bkp) with every file written under a temporary name and renamed, and the previous state kept
    by a hard link (no copy, no extra space): a kill or a full disk mid-write leaves the last
    complete backup whole. The files are Keras's, so runs made before resume alike.

    `learning_rate`: the recipe's constant learning rate, set again after a restore (the backup
    holds the optimizer's learning-rate variable, which would otherwise override a changed recipe's)."""
    import keras
    import numpy as np

    class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
        def on_train_begin(self, logs=None):
            restored = os.path.exists(self._weights_path)
            super().on_train_begin(logs)
            optimizer = self.model.optimizer
            if not restored or learning_rate is None or optimizer is None or isinstance(
                    getattr(optimizer, "_learning_rate", None), keras.optimizers.schedules.LearningRateSchedule):
                return
            if float(keras.ops.convert_to_numpy(optimizer.learning_rate)) != float(np.float32(learning_rate)):
                optimizer.learning_rate = learning_rate

        def _save_model(self):
            Path(self.backup_dir).mkdir(parents=True, exist_ok=True)
            weights, metadata = Path(self._weights_path), Path(self._training_metadata_path)
            for current, previous in ((weights, self._prev_weights_path), (metadata, self._prev_training_metadata_path)):
                if current.exists():
                    write_atomically(Path(previous), lambda temporary, current=current: link_or_copy(current, temporary))
            write_atomically(weights, lambda temporary: self.model.save_weights(temporary, overwrite=True))
            text = json.dumps({"epoch": self._current_epoch, "batch": self._last_batch_seen})
            write_atomically(metadata, lambda temporary: Path(temporary).write_text(text))

    return AtomicBackupAndRestore(str(folder), double_checkpoint=True, delete_checkpoint=False)


def _early_stopping(patience, run=None):
    """Keras EarlyStopping on the validation accuracy that, for a resumed `run`, starts from its
    log: the best value so far and the epochs since it, so patience spans every resumed chunk."""
    import keras
    import pandas as pd

    class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
        def on_train_begin(self, logs=None):
            super().on_train_begin(logs)
            log = None if run is None else run / "log.csv"
            if log is not None and log.is_file() and log.stat().st_size:
                frame = pd.read_csv(log)
                if MONITOR in frame and len(frame):
                    self.best = float(frame[MONITOR].max())
                    self.best_epoch = int(frame[MONITOR].idxmax())
                    self.wait = len(frame) - 1 - self.best_epoch

    return ResumableEarlyStopping(MONITOR, patience=patience, mode="max")


def _trim_log(run, epochs):
    """Keep log.csv's rows of the first `epochs` epochs: a kill after an epoch's row was written
    but before its backup repeats that epoch on resume, and its row must not appear twice."""
    import pandas as pd

    log = run / "log.csv"
    if not log.is_file() or not log.stat().st_size:
        return
    cut_torn_line(log)
    frame = pd.read_csv(log)
    if "epoch" in frame and (frame["epoch"] >= epochs).any():
        temporary = log.with_name(".log.csv.tmp")
        frame[frame["epoch"] < epochs].to_csv(temporary, index=False)
        os.replace(temporary, log)


def _best_so_far(run):
    import pandas as pd

    log = run / "log.csv"
    if log.is_file() and log.stat().st_size:
        frame = pd.read_csv(log)
        if MONITOR in frame and len(frame):
            return float(frame[MONITOR].max())
    return None


# What a run writes into its folder: a new run refuses a folder that already holds any of them.
RUN_FILES = ("config.yaml", "log.csv", "metrics.json", "best.keras", "last.keras", "best.weights.h5", "backup",
             "tensorboard", "curves.png", "confusion_matrix.png", "resumed.txt")


def read_run_config(run_dir, argument="run_dir"):
    """The run's config.yaml as a dict with a `recipe` mapping; otherwise an ArgumentError naming
    `argument` (the caller's name for `run_dir`) and the folder or file."""
    run = Path(run_dir)
    path = run / "config.yaml"
    if not run.is_dir():
        raise ArgumentError(argument, run, "no such run directory")
    if not path.is_file():
        raise ArgumentError(argument, run, "no config.yaml there (not a run directory written by training)")
    try:
        saved = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ArgumentError(argument, path, f"not valid YAML ({str(err).splitlines()[0]})") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ArgumentError(argument, path, f"unreadable ({err})") from None
    if not isinstance(saved, dict) or not isinstance(saved.get("recipe"), dict):
        raise ArgumentError(argument, path, "not a run's config (a mapping with a 'recipe' section)")
    return saved


def check_resume_model(run_dir, name=None, dataset=None):
    """An ArgumentError unless `name` (None: not given) names the model of the run in `run_dir`, or
    a recipe of that model on the run's dataset, and `dataset` (None: not given) is the run's
    dataset: resuming continues the run's own recipe, so a caller who names another is told which
    one the run is."""
    saved = read_run_config(run_dir, "out")
    model, trained_on = saved["recipe"]["model"]["name"], saved["recipe"]["data"]["dataset"]
    if name in (None, model) and dataset in (None, trained_on):
        return
    if name not in (None, model):
        from fer_keras.models.registry import list_models
        from fer_keras.recipes import load_recipe

        try:
            named = None if name in list_models() else load_recipe(name, dataset)
        except RecipeError:
            named = None
        if named is not None and (named["model"]["name"], named["data"]["dataset"]) == (model, trained_on):
            return
    argument, value = ("model", name) if name not in (None, model) else ("dataset", dataset)
    raise ArgumentError(argument, value, f"{run_dir} is a run of {model} on {trained_on}, and resuming continues it "
                        f"with its own recipe; leave the {argument} out or give the run's "
                        f"({model if argument == 'model' else trained_on})")


def _check_new_run_folder(run):
    """A new run goes into a new folder or one that holds none of the files a run writes."""
    if run.exists() and not run.is_dir():
        raise ArgumentError("out", run, "is a file; a run is a folder (choose another `out`)")
    if (run / "config.yaml").is_file():
        raise ArgumentError("out", run, "already holds a run; pass `resume=True` to continue it or choose another `out`")
    taken = [name for name in RUN_FILES if (run / name).exists()]
    if taken:
        raise ArgumentError("out", run, f"holds {', '.join(taken)}, which a run would replace, but no run "
                            "(no config.yaml); choose another `out`")


@contextlib.contextmanager
def _recipe_section(section):
    """A ValueError raised while a recipe section is turned into objects (a value the code checks:
    a pipeline size, a loss or optimiser setting) is that section's fault: a RecipeError naming it."""
    try:
        yield
    except FerKerasError:
        raise
    except ValueError as err:
        raise RecipeError(f"{section}: {err}") from err


def build_training(recipe, num_classes, steps):
    """(model, training) of `recipe`: the model built and initialised as the recipe says, and its
    training model (fer_keras.models.objectives) compiled with the recipe's loss and optimizer
    (`steps` per epoch, for the learning-rate schedule). Call it inside a distribution scope."""
    from fer_keras.models import build_model
    from fer_keras.models.objectives import make_training_model

    settings, model_section = training_settings(recipe), recipe["model"]
    with _recipe_section("model"):  # option checks stay ArgumentErrors; e.g. too small an input is the recipe's
        model = build_model(model_section["name"], input_shape=model_section["input_shape"],
                            num_classes=num_classes, **(model_section.get("options") or {}))
    set_initialization(model, settings.initialization, settings.seed)
    if settings.bn_momentum is not None:
        set_bn_momentum(model, settings.bn_momentum)
    loss = dict(recipe["loss"])
    loss.pop("warmup_epochs", None)
    with _recipe_section("loss"):
        training = make_training_model(model, loss.pop("name"), num_classes=num_classes, **loss)
    with _recipe_section("optimizer"):
        optimizer = _optimizer(recipe, steps)
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
    """Train `recipe` (a resolved recipe dict, fer_keras.recipes.load_recipe) on `data` (path; None: the bundled FER2013 sample)
    into the run directory `out`; returns the metrics dict (also in out/metrics.json). Extra Keras
    `callbacks` run after the run's own. `time_limit_minutes` replaces training.time_limit_minutes
    for this call only (a property of the session, not of the recipe, so a resumed run may change it).

    One process at a time trains in `out` (fer_keras.runlock: another gets RunInUseError). A
    resumed run continues the recipe it started with: one edited in config.yaml since is refused
    unless `allow_recipe_change` (then recorded there: fer_keras.runrecord). A disk without room
    for the run is a DiskFullError, before training or when a write fails (the run then stops with
    its last complete backup whole, and resumes once there is room)."""
    run = Path(out)
    if resume:
        read_run_config(run, "out")
    else:
        from fer_keras.recipes import validate

        validate(recipe)  # a dict made or changed in Python is checked as a loaded recipe is
        _check_new_run_folder(run)
        run.mkdir(parents=True, exist_ok=True)
    with hold_run(run, "out"), stop_on_full_disk(run) as writes:
        return _train_in(run, recipe, data, resume, verbose, command, callbacks, time_limit_minutes,
                         allow_recipe_change, writes)


def _train_in(run, recipe, data, resume, verbose, command, callbacks, time_limit_minutes, allow_recipe_change, writes):
    """`train`'s work, in the run folder `run` it holds: the folder is checked again under the lock
    (another process may have started a run there since `train` looked). `writes`: see fer_keras.runspace.RunWrites."""
    import keras

    from fer_keras.evaluation import classification_metrics, plot_confusion_matrix, plot_curves, predict_probabilities, write_json
    from fer_keras.schedules import loss_warmup

    for stale in temporaries(run):  # a killed write's: no other process writes here
        stale.unlink(missing_ok=True)
    if resume:
        saved = read_run_config(run, "out")
        accept_recipe(run, saved, allow_recipe_change, _completed_epochs(run), command or invoked_command())
        recipe, data = saved["recipe"], saved.get("data")
    else:
        _check_new_run_folder(run)
    settings = training_settings(recipe)
    seed = settings.seed
    keras.utils.set_random_seed(seed)
    policy = precision_policy(settings.mixed_precision)
    keras.mixed_precision.set_global_policy(policy)

    train_record, val_record, test_record, protocol = load_splits(recipe, data)
    with _recipe_section("pipeline"):
        config = PipelineConfig.from_dict({**recipe["pipeline"], "seed": seed})
        regions = recipe["data"].get("regions", False)
        inputs = {split: region_inputs(r, regions) for split, r in
                  (("train", train_record), ("validation", val_record), ("test", test_record)) if r is not None}

    model_section = recipe["model"]
    strategy = distribution_strategy(settings.distribute)
    steps = steps_per_epoch(train_record, config)
    warmup_epochs = recipe["loss"].get("warmup_epochs", 0)
    with strategy.scope() if strategy else contextlib.nullcontext():
        model, training = build_training(recipe, len(train_record.class_names), steps)
    writes.checkpoint_bytes = state_bytes(training.model)
    check_free_space(run, writes.checkpoint_bytes, resume)
    epochs, initial_epoch = settings.epochs, _completed_epochs(run) if resume else 0
    if resume:
        _trim_log(run, initial_epoch)
    to_fit = _targets(training, config)
    val_config = replace(config, sample_weights=False, tta=None)
    if keras.backend.backend() == "tensorflow":  # tf.data
        with _recipe_section("pipeline"):
            train_data = make_dataset(train_record, config, True, inputs.get("train"), epochs=epochs, initial_epoch=initial_epoch)
        if strategy is not None:  # the index pipeline shards by data, not by file
            import tensorflow as tf

            options = tf.data.Options()
            options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
            train_data = train_data.with_options(options)
        train_data = train_data.map(to_fit).repeat()
        val_data = make_dataset(val_record, val_config, False, inputs.get("validation")).map(to_fit)
        fit_options, data_callbacks = {"steps_per_epoch": steps}, []
    else:  # JAX / PyTorch: the same batches from NumPy + OpenCV (keras.utils.PyDataset)
        from fer_keras.data.pydataset import make_pydataset

        with _recipe_section("pipeline"):
            train_data = make_pydataset(train_record, config, True, inputs.get("train"), epochs=epochs,
                                        initial_epoch=initial_epoch, transform=to_fit)
        val_data = make_pydataset(val_record, val_config, False, inputs.get("validation"), transform=to_fit)
        fit_options, data_callbacks = {}, [train_data.callback()]  # keeps the data epoch = fit's epoch

    # The run exists from here on: only a recipe whose model compiled and whose pipeline was built
    # is written (a failed start leaves no config.yaml, so the same `out` can be used again).
    if resume:  # experiments/publish.py writes these into command.txt after the first command
        with open(run / "resumed.txt", "a") as handle:
            handle.write((command or invoked_command()) + "\n")
    else:
        recipe = write_new_run(run, recipe, data, protocol, command or invoked_command(), keras.backend.backend())
    writes.csv_logger = keras.callbacks.CSVLogger(str(run / "log.csv"), append=resume)
    extra_callbacks, callbacks = list(callbacks), [
        *data_callbacks,
        _stop_on_non_finite_loss(),
        *([loss_warmup(training, warmup_epochs)] if warmup_epochs else []),
        _collapse_monitor(model, training.center_loss, val_record, val_config, inputs.get("validation"), settings.collapse_warn_after),
        _keep_best_weights(run / "best.weights.h5", _best_so_far(run) if resume else None),
        writes.csv_logger,
    ]
    if importlib.util.find_spec("tensorflow"):  # Keras's TensorBoard callback writes with tf.summary
        callbacks.append(keras.callbacks.TensorBoard(str(run / "tensorboard")))
    if settings.early_stopping_patience:
        callbacks.append(_early_stopping(settings.early_stopping_patience, run if resume else None))
    time_limit = settings.time_limit_minutes if time_limit_minutes is None else time_limit_minutes
    if time_limit:
        callbacks.append(_stop_at_time_limit(float(time_limit)))
    # Last of the run's own callbacks: when the backup records an epoch as done, everything that
    # epoch writes (best weights, log row) is already on disk, so a kill at any moment resumes.
    constant_rate = None if recipe.get("schedule") else float(recipe["optimizer"]["learning_rate"])
    callbacks.append(_backup_and_restore(run / "backup", constant_rate))
    callbacks += extra_callbacks
    start = time.perf_counter()
    try:
        history = training.model.fit(train_data, validation_data=val_data, epochs=epochs, initial_epoch=initial_epoch,
                                     callbacks=callbacks, verbose=verbose, shuffle=False, **fit_options)
    except NonFiniteLossError as err:
        raise NonFiniteLossError(f"{err}. Stopped; the last good state (epoch {_completed_epochs(run)}) is in "
                                 f"{run / 'backup'}: lower the learning rate and continue it with `resume=True`") from None
    seconds = time.perf_counter() - start
    epochs_done = len(history.history.get("loss", []))
    earlier = json.loads((run / "metrics.json").read_text()) if resume and (run / "metrics.json").is_file() else {}

    write_atomically(run / "last.keras", model.save)
    if (run / "best.weights.h5").is_file():
        training.model.load_weights(run / "best.weights.h5")
    write_atomically(run / "best.keras", model.save)

    title = f"{model_section['name']} on {recipe['data']['dataset']}"
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
    write_json(metrics, run / "metrics.json")
    plot_confusion_matrix(headline, run / "confusion_matrix.png", f"{title}, {val_record.split}")
    plot_curves(run / "log.csv", run / "curves.png", title)
    return metrics
