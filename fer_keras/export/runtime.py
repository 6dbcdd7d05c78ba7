"""Run an exported artefact: `load_exported(path)` gives an `Exported`, one callable for every
format (each format's module supplies its runner: savedmodel.runner, tflite.runner, onnx.runner)."""

from pathlib import Path

import numpy as np

from fer_keras.export import onnx, savedmodel, tflite
from fer_keras.errors import ExportError
from fer_keras.export.signature import FORMATS, SUFFIXES

RUNNERS = {"savedmodel": savedmodel.runner, "tflite": tflite.runner, "onnx": onnx.runner}


def format_of(path):
    """"savedmodel", "tflite" or "onnx" from an artefact's path."""
    path = Path(path)
    if path.is_dir():
        return "savedmodel"
    for fmt, suffix in SUFFIXES.items():
        if path.suffix == suffix:
            return fmt
    raise ExportError("path", path, "not a SavedModel directory, .tflite or .onnx file")


class Exported:
    """A callable running an exported artefact: inputs (a float32 array in [0, 1], or a dict of
    them for MrCAR) -> (N, classes) probabilities as float32. `threads` limits the CPU threads
    (TFLite, ONNX Runtime; None: the runtime's default)."""

    def __init__(self, path, fmt=None, threads=None):
        self.path = Path(path)
        self.format = fmt or format_of(self.path)
        if self.format not in RUNNERS:
            raise ExportError("fmt", self.format, f"choose from {', '.join(FORMATS)}")
        # the runtime object (SavedModel, interpreter, session) is kept: `_run` needs it alive
        self.input_names, self._run, self._runtime = RUNNERS[self.format](self.path, threads)

    def __call__(self, inputs, batch_size=64):
        if isinstance(inputs, dict):
            named = {name: np.asarray(inputs[name], np.float32) for name in self.input_names}
        else:
            named = {self.input_names[0]: np.asarray(inputs, np.float32)}
        n = len(next(iter(named.values())))
        parts = [self._run({k: v[i : i + batch_size] for k, v in named.items()}) for i in range(0, n, batch_size)]
        return np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, 0), np.float32)


def load_exported(path, fmt=None, threads=None):
    """An `Exported` runner for a SavedModel directory, .tflite or .onnx file written by `export_model`."""
    return Exported(path, fmt, threads)


__all__ = ["Exported", "format_of", "load_exported"]
