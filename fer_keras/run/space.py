"""A run folder's disk: the space a run needs, checked before it starts, and a full disk met
while it runs.

What a run keeps is dominated by its checkpoints, each the training model's weights and its
optimizer's state (`state_bytes`): best.weights.h5, the backup and the backup before it
(backup/latest.weights.h5 and .bkp), best.keras, last.keras, and while one of them is replaced, its
temporary copy: STATE_COPIES in all, plus SPACE_SLACK for logs, tensorboard/ and figures
(`space_needed`, less what the folder already holds). `check_free_space` refuses a run the disk
cannot hold before anything is written. `stop_on_full_disk` turns a write that finds the disk full
anyway (other files grew meanwhile) into a DiskFullError once the run's temporary files are
removed and log.csv's torn last line is cut; every checkpoint is written atomically
(fer_keras.run.write), so the last complete one is whole and the run resumes once there is room.
"""

import contextlib
import shutil
import traceback
from pathlib import Path

from fer_keras.errors import DiskFullError, FerKerasError
from fer_keras.run.folder import LOG_FILE, completed_epochs, is_run
from fer_keras.run.write import cut_torn_line, discard, is_disk_full

STATE_COPIES = 6  # best.weights.h5, backup/latest and .bkp, best.keras, last.keras, and one temporary copy
SPACE_SLACK = 4 * 2**20  # log.csv, tensorboard/, the PNGs, metrics.json, file headers
HELD_FILES = ("best.weights.h5", "backup/latest.weights.h5", "backup/latest.weights.h5.bkp", "best.keras", "last.keras")


def state_bytes(model):
    """Bytes of one checkpoint of the compiled training `model`: its weights and its optimizer's
    variables (twice the trainable weights, Adam's, while the optimizer is not built yet)."""
    import numpy as np

    def size(variables):
        return sum(int(np.prod(v.shape)) * np.dtype(str(v.dtype)).itemsize for v in variables)

    optimizer = model.optimizer
    slots = size(optimizer.variables) if optimizer is not None and optimizer.built else 2 * size(model.trainable_weights)
    return size(model.weights) + slots


def space_needed(run, checkpoint_bytes):
    """Free bytes a run in `run` still needs: STATE_COPIES checkpoints of `checkpoint_bytes` and
    SPACE_SLACK, less the checkpoint files it already holds (they are replaced, not added to)."""
    run = Path(run)
    held = sum((run / name).stat().st_size for name in HELD_FILES if (run / name).is_file())
    return max(0, STATE_COPIES * checkpoint_bytes + SPACE_SLACK - held)


def megabytes(count):
    return f"{count / 1e6:.1f} MB"


def check_free_space(run, checkpoint_bytes, resume=False):
    """DiskFullError naming `out` unless `run`'s disk has `space_needed` free."""
    free = shutil.disk_usage(run).free
    needed = space_needed(run, checkpoint_bytes)
    if free < needed:
        raise DiskFullError("out", run, f"not enough free space: the run needs about {megabytes(needed)} free there, "
                            f"and {megabytes(free)} are (its weights and optimizer state, {megabytes(checkpoint_bytes)}, "
                            f"are kept {STATE_COPIES} times over: best weights, two backups, best.keras, last.keras and "
                            f"a copy being written); free some space{'' if resume else ' or choose another `out`'}",
                            needed, free)


def temporaries(run):
    """The temporary files in the run folder `run` (fer_keras.run.write's hidden *.tmp names): when
    its lock is held, what a killed or failed write left."""
    run = Path(run)
    return [p for p in (*run.glob(".*.tmp*"), *(run / "backup").glob(".*.tmp*")) if p.is_file()]


class RunWrites:
    """What `stop_on_full_disk` needs to know of the run, filled in as training gets to it."""

    checkpoint_bytes = None  # one checkpoint's bytes, once the model is built
    csv_logger = None  # log.csv's Keras CSVLogger, whose file stays open during fit


@contextlib.contextmanager
def stop_on_full_disk(run):
    """A write in the block that finds the disk full (a checkpoint, log.csv, tensorboard/, a .keras
    file, config.yaml) ends the run with a DiskFullError naming `out`: log.csv's file closed and its
    torn last line cut, the temporary files removed. Yields a `RunWrites` to fill in."""
    run = Path(run)
    writes = RunWrites()
    try:
        yield writes
    except Exception as err:
        if isinstance(err, FerKerasError) or not is_disk_full(err):
            raise
        traceback.clear_frames(err.__traceback__)
        if getattr(writes.csv_logger, "csv_file", None) is not None:
            with contextlib.suppress(OSError, ValueError):
                writes.csv_logger.csv_file.close()  # closed even when its flush fails: never retried at exit
        for temporary in temporaries(run):
            discard(temporary)
        if (run / LOG_FILE).is_file():
            cut_torn_line(run / LOG_FILE)
        free = shutil.disk_usage(run).free
        needed = None if writes.checkpoint_bytes is None else space_needed(run, writes.checkpoint_bytes)
        room = f"about {megabytes(needed)} free there" if needed is not None else "more free space there"
        started = is_run(run)
        raise DiskFullError("out", run, "no space left on its disk; "
                            + (f"the run stopped after epoch {completed_epochs(run)}, whose backup is whole; " if started else "")
                            + f"its temporary files are removed; it needs {room} ({megabytes(free)} now): free some "
                            + ("space and continue it with `resume=True`" if started else "space"), needed, free) from None


__all__ = ["HELD_FILES", "RunWrites", "STATE_COPIES", "check_free_space", "space_needed", "state_bytes", "stop_on_full_disk",
           "temporaries"]
