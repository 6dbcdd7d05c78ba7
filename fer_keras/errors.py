"""The library's exceptions, all of them: what a caller (or the `fer-keras` command line) can fix.

    FerKerasError                  the base: every expected failure of the library
    ├── ArgumentError              a function argument's value is wrong; names the argument
    │   ├── ExportError            ... of an export (fer_keras.export)
    │   ├── PretrainedError        ... a bundled pretrained entry: unknown, missing, corrupted (fer_keras.models.pretrained)
    │   ├── RunInUseError          a run folder another process is training in (fer_keras.run.lock)
    │   └── DiskFullError          a run folder's disk has no room for the run (fer_keras.run.space)
    ├── RecipeError                a recipe, or an override of one, is wrong (fer_keras.recipes)
    ├── DatasetError               a dataset file, row or path is wrong (fer_keras.data readers)
    ├── PipelineError              a pipeline setting, or images it cannot make batches of (fer_keras.data.pipeline)
    └── NonFiniteLossError         the training loss became NaN or infinite (fer_keras.callbacks)

Each is raised where the problem is found, naming what is wrong there. The messages speak Python:
an `ArgumentError` names the argument of the function that was called (``out='model.tflite': the
file exists; ...``), and a message that points to another argument writes it in backquotes, as
Python's documentation does (`` `overwrite=True` ``). The command line (`fer_keras.cli`) is the one
place that turns them into its flags and exit codes; any other exception is a bug and keeps its
traceback. Every class but NonFiniteLossError is also a ValueError, so callers that caught
ValueError still do.

fer_keras/layers and fer_keras/losses keep Keras's convention (a ValueError for a bad constructor
argument); where fer_keras builds Keras objects from a user's values (a recipe's model, loss and
optimizer; a .keras file; `fer-keras summary`), Keras's own errors are turned into these there.

This module imports nothing heavy: `import fer_keras.errors` does not import TensorFlow or Keras.
"""

import os

NO_VALUE = object()  # an ArgumentError about an argument as a whole (missing, or not allowed here)


class FerKerasError(Exception):
    """An expected failure of fer_keras: wrong arguments, files, recipes or data; the message says
    what and where."""


def _show(value):
    return repr(os.fspath(value)) if isinstance(value, os.PathLike) else repr(value)


class ArgumentError(FerKerasError, ValueError):
    """A function argument's value is wrong.

    argument: the Python argument's name ("run", "weights", "out", "batch_size", ...), or None when
    the problem concerns several or names its argument itself; value: what was given (NO_VALUE
    when the argument as a whole is missing or not allowed); problem: what is wrong.

        >>> str(ArgumentError("run", "runs/x", "no config.yaml"))
        "run='runs/x': no config.yaml"
    """

    def __init__(self, argument, value=NO_VALUE, problem=""):
        self.argument, self.value, self.problem = argument, value, problem
        super().__init__(self._message())

    def _message(self):
        if self.argument is None:
            return self.problem
        if self.value is NO_VALUE:
            return f"{self.argument}: {self.problem}"
        return f"{self.argument}={_show(self.value)}: {self.problem}"

    def __reduce__(self):
        return type(self), (self.argument, self.value, self.problem)


class ExportError(ArgumentError):
    """An export that cannot be done (wrong arguments, an op a converter lacks); names the argument."""


class PretrainedError(ArgumentError):
    """A missing, unknown or corrupted pretrained entry; names the argument that named it (`name`
    of `load_pretrained`, `pretrained` of `fer_keras.loading.load_trained`)."""


class RunInUseError(ArgumentError):
    """The run folder (`argument`, usually "out") is held by another process (fer_keras.run.lock);
    the problem names that process's pid."""


class DiskFullError(ArgumentError):
    """The disk of the run folder (`argument`, usually "out") has no room for what the run writes:
    found before training (`free` bytes, `needed` bytes) or when a write failed (the run stopped
    with its last complete checkpoint intact and its temporary files removed)."""

    def __init__(self, argument, value=NO_VALUE, problem="", needed=None, free=None):
        self.needed, self.free = needed, free
        super().__init__(argument, value, problem)

    def __reduce__(self):
        return type(self), (self.argument, self.value, self.problem, self.needed, self.free)


class RecipeError(FerKerasError, ValueError):
    """A recipe (fer_keras/recipes/*.yaml, or a file of yours), or an override of one, is not valid;
    the message names the recipe and the key."""


class DatasetError(FerKerasError, ValueError):
    """A dataset file, row or path is not what its format requires; the message names it."""


class PipelineError(FerKerasError, ValueError):
    """A pipeline setting (`fer_keras.data.PipelineConfig`, `Augmentation`) is not valid, or the
    images and labels given cannot make its batches; the message starts with "pipeline" or
    "augmentation" and names the setting."""


class NonFiniteLossError(FerKerasError, RuntimeError):
    """The training loss became NaN or infinite; the message says where the last good state is."""


__all__ = ["NO_VALUE", "ArgumentError", "DatasetError", "DiskFullError", "ExportError", "FerKerasError",
           "NonFiniteLossError", "PipelineError", "PretrainedError", "RecipeError", "RunInUseError"]
