"""The Keras callbacks a training run adds to `fit` (fer_keras.training), for what Keras lacks or
does not keep across a resume:

    stop_on_non_finite_loss   raise NonFiniteLossError at the first NaN / infinite batch loss
    stop_at_time_limit        end after the last epoch that fits in training.time_limit_minutes
    collapse_monitor          fer_keras.diagnostics' per-epoch collapse diagnostics (diag_* log columns)
    keep_best_weights         best.weights.h5 whenever the validation accuracy improves, atomically
    early_stopping            Keras EarlyStopping that counts its patience across resumed chunks
    backup_and_restore        Keras BackupAndRestore whose files are written atomically
    swap_ema_weights          Keras SwapEMAWeights(swap_on_epoch=True) that survives a resume and
                              leaves the averaged weights in the model when training ends early

Model selection and early stopping watch `MONITOR` (fer_keras.run.folder), the validation accuracy
of the fused probabilities.
"""

import json
import math
import os
import sys
import time
from pathlib import Path

from fer_keras.errors import ArgumentError, NonFiniteLossError
from fer_keras.run.folder import BACKUP_DIR, MONITOR, completed_epochs, read_log
from fer_keras.run.write import link_or_copy, write_atomically


def stop_on_non_finite_loss(run=None):
    """Raise NonFiniteLossError at the first non-finite batch loss, before the epoch's backup can
    save bad weights; for a run folder `run`, the error says where its last good state is."""
    import keras

    class StopOnNonFiniteLoss(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            loss = (logs or {}).get("loss")
            if loss is not None and not math.isfinite(float(loss)):
                problem = f"the training loss became {loss} at epoch {self.epoch + 1}, batch {batch + 1}"
                if run is not None:
                    problem += (f". Stopped; the last good state (epoch {completed_epochs(run)}) is in "
                                f"{Path(run) / BACKUP_DIR}: lower the learning rate and continue it with `resume=True`")
                raise NonFiniteLossError(problem)

    return StopOnNonFiniteLoss()


def stop_at_time_limit(minutes):
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


def collapse_monitor(model, center_loss, record, config, inputs, warn_after):
    """fer_keras.diagnostics' per-epoch collapse diagnostics on a fixed sample of `record` (before
    CSVLogger, so that log.csv gets the diag_* columns)."""
    import keras

    from fer_keras import diagnostics
    from fer_keras.evaluation import predict_outputs

    sample = diagnostics.diagnostic_sample(record)
    sample_record = record.subset(sample)
    sample_inputs = None if inputs is None else {key: value[sample] for key, value in inputs.items()}
    centers = None if center_loss is None else (lambda: keras.ops.convert_to_numpy(center_loss.centers))
    return diagnostics.collapse_monitor(lambda: predict_outputs(model, sample_record, config, sample_inputs),
                                        sample_record.labels, record.class_names, record.split, warn_after=warn_after,
                                        centers=centers)


def keep_best_weights(path, best=None):
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


def early_stopping(patience, run=None):
    """Keras EarlyStopping on the validation accuracy that, for a resumed `run`, starts from its
    log: the best value so far and the epochs since it, so patience spans every resumed chunk."""
    import keras

    class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
        def on_train_begin(self, logs=None):
            super().on_train_begin(logs)
            frame = None if run is None else read_log(run)
            if frame is not None:
                self.best = float(frame[MONITOR].max())
                self.best_epoch = int(frame[MONITOR].idxmax())
                self.wait = len(frame) - 1 - self.best_epoch

    return ResumableEarlyStopping(MONITOR, patience=patience, mode="max")


def backup_and_restore(folder, learning_rate=None):
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


def check_backup_optimizer(folder, model, run, change=None):
    """Refuse a resume whose optimizer cannot take the backup's state: Keras restores an
    optimizer's variables only when the backup holds as many as it has, and otherwise skips them
    with a warning, so Adam's moments, the step count (and a schedule keyed to it) would silently
    start again, and a weight average (optimizer.ema_momentum) switched on mid-run would swap its
    empty slots into the model. `folder`: the run's backup folder; `model`: the training model,
    compiled; `run`: the run folder (named in the error); `change`: the recipe change being allowed
    (fer_keras.run.record.check_recipe), whose optimizer keys the error names. An ArgumentError
    naming `out`, before anything is written; nothing to check without a backup."""
    import h5py
    import keras

    weights = Path(folder) / "latest.weights.h5"
    if not weights.is_file():
        return
    try:
        with h5py.File(weights, "r") as saved:
            held = len(saved["optimizer/vars"]) if "optimizer/vars" in saved else 0
    except OSError:  # unreadable: BackupAndRestore falls back to the previous backup and reports
        return
    optimizer = model.optimizer
    optimizer.build(model.trainable_variables)  # what fit would build first (a built optimizer keeps its state)
    if held == len(optimizer.variables):
        return
    changes = (change or {}).get("changes")
    keys = [c["key"] for c in changes if c["key"].startswith("optimizer.")] if isinstance(changes, list) else []
    why = (f"the recipe change ({', '.join(keys)}) gives the optimizer {len(optimizer.variables)} variables where the "
           f"backup holds {held}" if keys else
           f"its backup holds the state of an optimizer with {held} variables and this recipe's has {len(optimizer.variables)} "
           f"(here it trains in {keras.mixed_precision.global_policy().name}: a float16 run's optimizer also keeps a "
           "loss scale, so a run cannot move between float16 and bfloat16 or float32)")
    raise ArgumentError("out", run, f"cannot continue: {why}, so Keras would drop the optimizer's state (its moments "
                        "and step count; a weight average switched on or off mid-run would corrupt the weights). "
                        "Restore the optimizer settings in config.yaml, or start a new run")


def swap_ema_weights(resumed=False):
    """(swap, keep): Keras's SwapEMAWeights(swap_on_epoch=True) for an optimizer with use_ema (the
    recipe's optimizer.ema_momentum), and the callback that goes last of all.

    swap: validation runs on the moving average of the weights, and from each epoch's end until
    the next epoch begins the model holds the average (the optimizer's average slots the raw
    weights), so the callbacks after it (best weights, backup) save the average. `resumed`: whether
    BackupAndRestore restores a backup; that backup was written in the swapped state, so the swap
    then starts knowing the average is in the model and swaps back as the first epoch begins, as it
    would have in the run that wrote the backup.

    keep: after the last epoch Keras leaves the average in the model (it copies it to the slots,
    which `fit` then writes over the weights); after an early stop or a time limit it would put
    the raw weights back. At an epoch's end where something asked `fit` to stop, `keep` copies the
    average to the slots as Keras does after the last epoch, so the model ends on the average
    (last.keras) either way. It must come after every callback that may stop training."""
    import keras

    class SwapEMAWeights(keras.callbacks.SwapEMAWeights):
        def __init__(self):
            super().__init__(swap_on_epoch=True)
            self._ema_weights_in_model = bool(resumed)  # Keras's own flag: which weights the model holds

    class KeepEMAWeightsOnStop(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if self.model.stop_training and swap._ema_weights_in_model:
                swap._finalize_ema_values()  # slots := average, so fit's finalisation keeps it

    swap = SwapEMAWeights()
    return swap, KeepEMAWeightsOnStop()


__all__ = ["backup_and_restore", "check_backup_optimizer", "collapse_monitor", "early_stopping", "keep_best_weights",
           "stop_at_time_limit", "stop_on_non_finite_loss", "swap_ema_weights"]
