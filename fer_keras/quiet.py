"""Import Keras (and TensorFlow, its default backend) without TensorFlow's start-up log lines.

TensorFlow's C++ core writes them to file descriptor 2 before any Python setting applies
(TF_CPP_MIN_LOG_LEVEL does not cover the CUDA-stub and absl lines), so the import runs with that
descriptor pointed at /dev/null. Errors still surface: an exception propagates after the
descriptor is restored.
"""

import contextlib
import os
import sys


@contextlib.contextmanager
def stderr_silenced():
    """Send file descriptor 2 to /dev/null for the duration of the block."""
    fd = 2  # the descriptor itself: sys.stderr may be a wrapper without one (pytest-xdist workers)
    try:
        sys.stderr.flush()
        saved = os.dup(fd)
    except (AttributeError, OSError, ValueError):  # no descriptor 2 at all
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    try:
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


def import_keras_quietly():
    """`import keras` with TF_CPP_MIN_LOG_LEVEL=3 (unless set) and start-up lines silenced."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with stderr_silenced():
        import keras
    return keras
