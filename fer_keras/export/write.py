"""`export_model`: check the arguments and `out`, convert, and move the artefact into place.

Writing `out` (`check_out`, before anything is converted, and again before the move): see the
package's docstring. The artefact is written under a hidden temporary name beside `out`
(`_staging_path`) and moved into place only once complete (`_replace_folder` for a SavedModel
folder), so a failed export leaves `out` as it was.
"""

import contextlib
import io
import json
import os
import secrets
import shutil
import tempfile
import warnings
from pathlib import Path

from fer_keras import __version__
from fer_keras.errors import ExportError
from fer_keras.export.calibration import calibration_inputs
from fer_keras.export.signature import (
    DEFAULT_CALIBRATION_SAMPLES,
    FORMATS,
    MARKER,
    QUANTIZATIONS,
    SAVEDMODEL_ENTRIES,
    SUFFIXES,
    contract,
)


def _reason(err):
    """What a converter's exception says failed: the TensorFlow ops TFLite lacks, else the lines
    that name an error."""
    import re

    text = str(err).strip() or type(err).__name__
    ops = sorted(set(re.findall(r"'tf\.(\w+)' op is neither a custom op nor a flex op", text)))
    if ops:
        return f"TensorFlow op(s) {', '.join(ops)} have no TFLite builtin kernel ({type(err).__name__})"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    keep = [line for line in lines if "error" in line.lower() or "not supported" in line.lower()] or lines
    return f"{type(err).__name__}: " + " | ".join(list(dict.fromkeys(keep))[:3])[:600]


@contextlib.contextmanager
def _quiet_converters():
    """TensorFlow's and tf2onnx's log lines and prints go nowhere (fd 2 included); errors still raise."""
    import logging

    from fer_keras.quiet import stderr_silenced

    loggers = [logging.getLogger(name) for name in ("tf2onnx", "tensorflow", "absl")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with stderr_silenced(), contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)



def _why_not_replaceable(folder):
    """None when `folder` is a SavedModel export_model wrote (the marker, nothing else than what an
    export writes), else why not."""
    marker = folder / MARKER
    try:
        written = json.loads(marker.read_text()).get("format") == "savedmodel"
    except (OSError, ValueError, AttributeError):
        written = False
    if not written:
        return f"a non-empty folder that export_model did not write (no {MARKER})"
    foreign = sorted(entry.name for entry in folder.iterdir() if entry.name not in SAVEDMODEL_ENTRIES)
    if foreign:
        return f"an earlier export, but it also holds {', '.join(foreign[:5])}{' ...' if len(foreign) > 5 else ''}"
    return None


def check_out(out, fmt, overwrite=False):
    """Raise ExportError when `fmt` may not be written to `out`. A SavedModel needs a new or empty
    folder, or one holding a SavedModel export_model wrote (replaced; `overwrite` plays no part:
    no other folder is ever emptied); a .tflite / .onnx file replaces an existing file only with
    `overwrite`."""
    out = Path(out)
    if fmt == "savedmodel":
        if out.exists() and not out.is_dir():
            raise ExportError("out", out, "is a file; a SavedModel is a folder")
        if out.is_dir() and any(out.iterdir()):
            why = _why_not_replaceable(out)
            if why:
                raise ExportError("out", out, f"{why}; choose a new or empty folder")
    else:
        if out.is_dir():
            raise ExportError("out", out, f"is a directory; `fmt={fmt!r}` writes one file (e.g. model{SUFFIXES[fmt]})")
        if (out.exists() or out.is_symlink()) and not overwrite:
            raise ExportError("out", out, "the file exists; choose another name, or pass `overwrite=True` to replace it")
    parent = out.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ExportError("out", out, f"{parent} is a file, not a folder")
    why = _unwritable(parent)
    if why is not None:  # found now, not after the whole conversion
        raise ExportError("out", out, f"cannot write in {parent} ({why}); choose a folder you can write to")


def _unwritable(folder):
    """None when a file can be created in `folder` (a read-only filesystem or missing permissions
    say no, whoever asks), else the system's reason."""
    try:
        fd, name = tempfile.mkstemp(prefix=".fer_keras_probe.", dir=folder)
    except OSError as err:
        return err.strerror or str(err)
    os.close(fd)
    os.unlink(name)
    return None


def _staging_path(out, fmt):
    """A new hidden name beside `out` (same folder; a SavedModel: beside the folder a link points to)
    that the export is written to first."""
    out = out.resolve() if fmt == "savedmodel" else Path(os.path.abspath(out))
    token = f"{os.getpid()}.{secrets.token_hex(4)}"
    return out.parent / (f".{out.name}.{token}.tmp" + SUFFIXES.get(fmt, ""))


def _replace_folder(new, out):
    """Move the finished SavedModel folder `new` to `out` (absent, empty, or an earlier export: see
    `check_out`): the old folder is renamed aside, the new one renamed in, then the old one deleted.
    When `out` is (or holds) the current folder, their entries move instead, so the folder stays."""
    out = out.resolve()
    if not out.exists():
        os.rename(new, out)
        return
    aside = out.parent / f".{out.name}.{os.getpid()}.{secrets.token_hex(4)}.old"
    here = Path.cwd().resolve()
    if out == here or out in here.parents:
        aside.mkdir()
        for entry in list(out.iterdir()):
            os.rename(entry, aside / entry.name)
        for entry in list(new.iterdir()):
            os.rename(entry, out / entry.name)
        new.rmdir()
    else:
        os.rename(out, aside)
        try:
            os.rename(new, out)
        except OSError:
            os.rename(aside, out)
            raise
    shutil.rmtree(aside)


def _remove(path):
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def check_arguments(fmt, quantize=None, calibration=None):
    """Raise ExportError for an unknown format or a format / quantisation combination that does not exist."""
    if fmt not in FORMATS:
        raise ExportError("fmt", fmt, f"choose from {', '.join(FORMATS)}")
    if quantize is not None and quantize not in QUANTIZATIONS:
        raise ExportError("quantize", quantize, f"choose from {', '.join(QUANTIZATIONS)}")
    if quantize is not None and fmt != "tflite":
        raise ExportError("quantize", quantize, f"only `fmt='tflite'` is quantised; `fmt={fmt!r}` is float32")
    if calibration is not None and quantize != "int8":
        raise ExportError(None, problem="`calibration` and `calibration_samples` are only used with `quantize='int8'`")


def export_model(trained, fmt, out, quantize=None, calibration=None, calibration_samples=None, opset=None,
                 float_layers=None, overwrite=False):
    """Export `trained` (a `fer_keras.loading.Trained`) as `fmt` ("savedmodel", "tflite", "onnx")
    to `out` (a directory for savedmodel, a file otherwise); returns (path, details).

    `out` is checked first (`check_out`): a SavedModel goes to a new or empty folder or replaces an
    earlier SavedModel export (recognised by its MARKER file, fer_keras_export.json: the details
    below; a folder holding anything else is refused); an existing .tflite / .onnx file is replaced
    only with `overwrite`. The artefact is written beside `out` under a hidden name and moved into
    place when complete.

    quantize: None, or for tflite "float16" / "int8". calibration (int8 only): None for
    `calibration_inputs(trained)` (the model's own training images), a dataset file or folder
    (str / Path) whose training split to draw `calibration_samples` images from, or ready inputs
    (a float32 array in [0, 1], or a dict of them for MrCAR); calibration_samples: how many images
    to draw (default DEFAULT_CALIBRATION_SAMPLES); float_layers (int8 only): the Keras layers to keep
    float32 (default `class_score_layers`; () quantises everything). details: format, quantize, path,
    size_bytes, the serving contract (`contract`), converter specifics (int8: calibration images
    and op counts; onnx: opset).
    """
    check_arguments(fmt, quantize, calibration if calibration is not None else calibration_samples)
    out = Path(out)
    check_out(out, fmt, overwrite)
    details = {"format": fmt, "quantize": quantize or "none", "path": str(out)}
    if quantize == "int8":
        if calibration is None or isinstance(calibration, (str, os.PathLike)):
            samples = calibration_samples or DEFAULT_CALIBRATION_SAMPLES
            calibration, where = calibration_inputs(trained, calibration, samples,
                                                    names=("calibration", "calibration_samples"))
            details["calibration"] = where
        else:
            details["calibration"] = {"data": "inputs given by the caller"}
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ExportError("out", out, f"cannot create its folder ({err})") from err
    staged = _staging_path(out, fmt)
    from fer_keras import export  # the package: a replaced `fer_keras.export._export_<format>` is the one used

    converters = {
        "savedmodel": lambda: export._export_savedmodel(trained, staged),
        "tflite": lambda: export._export_tflite(trained, staged, quantize, calibration, float_layers),
        "onnx": lambda: export._export_onnx(trained, staged, opset),
    }
    try:
        if fmt == "savedmodel":
            staged.mkdir()
        try:
            with _quiet_converters():
                details.update(converters[fmt]())
        except ExportError:
            raise
        except Exception as err:  # the converters raise many types (ConverterError, ValueError, RuntimeError, ...)
            quantized = f" with `quantize={quantize!r}`" if quantize else ""
            raise ExportError("fmt", fmt, f"{trained.name} does not convert{quantized}: {_reason(err)}") from err
        if fmt == "savedmodel":
            marker = {"written_by": "fer-keras export", "fer_keras": __version__, **details, **contract(trained)}
            (staged / MARKER).write_text(json.dumps(marker, indent=2) + "\n")
        check_out(out, fmt, overwrite)  # again: `out` may have changed during the conversion
        try:
            if fmt == "savedmodel":
                _replace_folder(staged, out)
            else:
                os.replace(staged, out)
        except OSError as err:
            raise ExportError("out", out, f"cannot move the export into place ({err})") from err
    finally:
        _remove(staged)
    details["size_bytes"] = _size(out)
    details.update(contract(trained))
    return out, details


def _size(path):
    path = Path(path)
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


__all__ = ["check_arguments", "check_out", "export_model"]
