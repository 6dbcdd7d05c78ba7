"""One process at a time in a run folder: `hold_run(folder)` holds an exclusive lock on
folder/.run.lock for as long as its `with` block runs.

    with hold_run("runs/amdcnn_fer2013"):
        ...                         # train or resume; a second process gets RunInUseError

The lock is `fcntl.flock` on the file, so the kernel drops it when its process ends in any way
(an exception, Ctrl-C, `kill -9`): a lock left by a dead process is never in the way. The file
keeps the holder's pid for the message a refused process prints. It stays in the folder (deleting
it would let two processes lock two different files of one name) and is no run file: a folder
holding only it is free to use.
"""

import contextlib
import fcntl
import os
from pathlib import Path

from fer_keras.errors import RunInUseError

LOCK_FILE = ".run.lock"


def _holder(fd):
    """The pid written in the lock file, or None (not written yet, or unreadable)."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


@contextlib.contextmanager
def hold_run(folder, argument="out"):
    """Hold `folder`'s run lock (the folder must exist) inside the block; RunInUseError naming
    `argument` (the caller's name for `folder`) and the holder's pid when another process holds it."""
    folder = Path(folder)
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _holder(fd)
            who = f"process {pid}" if pid is not None else "another process"
            raise RunInUseError(argument, folder, f"in use: {who} is training in this run folder; wait for it to "
                                "end (a run folder takes one process at a time)") from None
        with contextlib.suppress(OSError):  # the pid is for messages only (a full disk may refuse it)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield folder
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the lock


__all__ = ["LOCK_FILE", "hold_run"]
