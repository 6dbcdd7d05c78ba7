"""Writes that a kill or a full disk cannot leave half done.

    write_atomically(path, lambda temporary: model.save_weights(temporary))
    write_json(metrics, run / "metrics.json")

`write_atomically` writes a file under a hidden temporary name beside it (`temporary_name`: the
suffix Keras asks for is kept) and renames it over `path`; a failed write removes the temporary
file (`discard`: after closing what still holds it open, such as an h5py file, which would
otherwise retry its writes at exit, print tracebacks and may crash) and re-raises. `is_disk_full`
tells a full disk (or quota) from other failures, whatever wrapped it; `cut_torn_line` drops the
last, unfinished line of a log a full disk cut short; `link_or_copy` keeps a second name for a file
without copying it; `write_json` writes a JSON file so.
"""

import contextlib
import errno
import gc
import json
import os
import shutil
import sys
import traceback
from pathlib import Path


def temporary_name(path):
    """The hidden name beside `path` it is written under before the rename; it keeps the suffix
    Keras asks for (.weights.h5, .keras)."""
    path = Path(path)
    for suffix in (".weights.h5", ".keras"):
        if path.name.endswith(suffix):
            return path.with_name(f".{path.name[: -len(suffix)]}.tmp{suffix}")
    return path.with_name(f".{path.name}.tmp")


def discard(temporary, err=None):
    """Remove the half-written `temporary` (after `err`). Its blocks are freed first (truncated), and
    the objects that still hold it open (an h5py file in the frames of `err`) are closed now, quietly."""
    with contextlib.suppress(OSError):
        os.truncate(temporary, 0)
    hook, sys.unraisablehook = sys.unraisablehook, lambda unraisable: None  # their close may fail again: unsaid
    try:
        if err is not None and err.__traceback__ is not None:
            traceback.clear_frames(err.__traceback__)
        gc.collect()
    finally:
        sys.unraisablehook = hook
    with contextlib.suppress(OSError):
        os.unlink(temporary)


def write_atomically(path, write):
    """`write(temporary)`, then rename the temporary file over `path`: a kill or a full disk
    leaves `path` as it was, and a failed write leaves no temporary file."""
    temporary = temporary_name(path)
    try:
        write(temporary)
        os.replace(temporary, path)
    except BaseException as err:
        discard(temporary, err)
        raise


def write_json(data, path):
    """Write `data` as indented JSON to `path` atomically (a temporary file beside it, renamed)."""
    text = json.dumps(data, indent=2) + "\n"
    write_atomically(Path(path), lambda temporary: Path(temporary).write_text(text))


def link_or_copy(source, target):
    """`target` becomes another name of `source` (a hard link: no copy, no space), or a copy
    where the filesystem has no hard links."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(target)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def cut_torn_line(path):
    """Drop a last line without its line break (a write cut short by a full disk), in place
    (truncating needs no space)."""
    with contextlib.suppress(OSError), open(path, "rb+") as handle:
        data = handle.read()
        if data and not data.endswith(b"\n"):
            handle.truncate(data.rfind(b"\n") + 1)


def is_disk_full(err):
    """Whether `err` says the disk (or the user's quota) is full: an OSError with ENOSPC / EDQUOT,
    or another library's error that quotes the system's words (TensorFlow's, h5py's)."""
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(err)
    return "No space left on device" in text or "Disk quota exceeded" in text


__all__ = ["cut_torn_line", "discard", "is_disk_full", "link_or_copy", "temporary_name", "write_atomically", "write_json"]
