"""Errors raised for bad dataset files."""


class DatasetError(ValueError):
    """A dataset file, row or path is not what its format requires; the message names it."""
