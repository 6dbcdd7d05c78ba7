"""Errors raised for bad dataset files."""

from fer_keras.errors import FerKerasError


class DatasetError(FerKerasError, ValueError):
    """A dataset file, row or path is not what its format requires; the message names it."""
