"""Export a trained fer_keras model for serving: a TensorFlow SavedModel, TFLite (float32, float16
or int8) or ONNX, with one signature from the model's float input(s) to its probabilities.

    from fer_keras.trained import load_trained
    from fer_keras.export import export_model, load_exported
    trained = load_trained(pretrained="amdcnn_fer2013")
    path, details = export_model(trained, "tflite", "amdcnn_int8.tflite", quantize="int8",
                                 calibration="fer2013.csv.gz")   # its Training split calibrates
    predict = load_exported(path)          # float32 (N, 48, 48, 1) in [0, 1] -> (N, 7) probabilities
    probabilities = predict(images)

Every artefact has one serving signature, "serving_default": its inputs are the Keras model's
inputs, float32, batch size free, values in [0, 1] as the recipe's pipeline delivers them
("normalization: unit"), named as in Keras ("image"; MrCAR: "face", "eyes", "mouth"); its one
output, "probabilities", is the model's (N, classes) probabilities (AMDCNN: the fused output). The
other outputs (cosines, features) are left out. Preprocessing stays outside the artefact, as in
`fer_keras.inference.classify`: uint8 -> x / 255, centre crop (or the ten views of ten-crop test-time
augmentation, whose predictions the caller averages) to the input size.

Formats and quantisation:
  savedmodel  a SavedModel directory for TF Serving (Keras' ExportArchive; endpoints "serve" and
              its alias "serving_default"), float32. fer_keras.json in its assets.extra/ names the
              classes and the input contract; fer_keras_export.json (`MARKER`) at its top holds the
              export's details and marks the folder as written by `export_model`.
  tflite      TFLite (converted from that SavedModel). quantize=None: float32. "float16": weights
              stored as float16 (half the size), computed in float32 on CPU. "int8": weights and
              activations int8 (post-training integer quantisation), calibrated on representative
              images: `calibration_samples` real images of the model's own dataset's training split
              through the recipe's evaluation pipeline (see `calibration_inputs`). The input and
              output stay float32, and the class-score layers (`class_score_layers`: from the first
              layer with one output channel per class to the probabilities; a few thousand
              multiply-adds) stay float32: one int8 scale shared by all classes' scores turns the
              small gaps between them into noise (on the bundled AMDCNN, quantising them too
              halves the top-1 agreement with the Keras model).
  onnx        ONNX through tf2onnx, from the same tf.function, as Keras 3's own
              `model.export(format="onnx")` does on the TensorFlow backend (which would also export
              every other output); float32; classes and input contract in the metadata_props.

Writing `out` (`check_out`, before anything is converted): a SavedModel goes to a new or empty folder,
or replaces a SavedModel that `export_model` wrote there before (the marker, and nothing but what an
export writes); any other non-empty folder is refused, whatever `overwrite` says. A .tflite / .onnx
file replaces an existing file only with overwrite=True. Every artefact is written under a hidden
temporary name beside `out` and moved into place only once complete, so a failed export leaves
`out` as it was.

Errors are `ExportError`s (`fer_keras.errors.ArgumentError`s) naming the argument of
`export_model` (fmt, quantize, calibration, calibration_samples, out) and, for a model that does
not convert, the converter's reason.
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

import numpy as np

from fer_keras import __version__
from fer_keras.errors import ArgumentError
from fer_keras.evaluation import eval_config
from fer_keras.trained import input_shape, model_inputs, uses_regions

FORMATS = ("savedmodel", "tflite", "onnx")
QUANTIZATIONS = ("float16", "int8")
SUFFIXES = {"tflite": ".tflite", "onnx": ".onnx"}
DEFAULT_CALIBRATION_SAMPLES = 300
OUTPUT = "probabilities"
MARKER = "fer_keras_export.json"  # in every SavedModel export: its details; lets a re-export replace the folder
SAVEDMODEL_ENTRIES = frozenset({"saved_model.pb", "fingerprint.pb", "variables", "assets", "assets.extra", MARKER})
RANGES = {"unit": "[0, 1]: uint8 pixels / 255", "centered": "[-1, 1]: uint8 pixels / 127.5 - 1",
          "standard": "each image standardised to zero mean, unit variance", "none": "uint8 pixel values as floats"}


class ExportError(ArgumentError):
    """An export that cannot be done (wrong arguments, an op a converter lacks); names the argument."""


# ------------------------------------------------------------------------------ the signature


def input_names(model):
    """The model's input names in signature order: ["image"] or MrCAR's ["face", "eyes", "mouth"]."""
    return list(model_inputs(model))


def serving_function(model):
    """A tf.function from the model's float32 input(s) (batch size free, named as the Keras inputs)
    to {"probabilities": (N, classes)}."""
    import tensorflow as tf

    shapes = model_inputs(model)
    names = list(shapes)
    specs = [tf.TensorSpec((None, *shapes[name]), tf.float32, name=name) for name in names]
    regions = uses_regions(model)

    @tf.function(input_signature=specs)
    def serve(*tensors):
        inputs = dict(zip(names, tensors)) if regions else tensors[0]
        outputs = model(inputs, training=False)
        return {OUTPUT: tf.cast(outputs[OUTPUT], tf.float32)}

    return serve


def contract(trained):
    """What a server needs to know to use an artefact: inputs, value range, output, classes."""
    normalization = (trained.recipe.get("pipeline") or {}).get("normalization", "unit")
    return {
        "model": trained.name,
        "source": trained.source,
        "inputs": {name: [None, *shape] for name, shape in model_inputs(trained.model).items()},
        "input_dtype": "float32",
        "input_range": f"{RANGES.get(normalization, normalization)} (the recipe's pipeline normalization "
                       f"{normalization!r}), centre-cropped to the input size",
        "output": OUTPUT,
        "class_names": list(trained.class_names),
        "test_time_augmentation": (trained.recipe.get("pipeline") or {}).get("tta") or "none",
    }


# ------------------------------------------------------------------------------ calibration


def pipeline_inputs(trained, record):
    """The float32 inputs the model takes for the uint8 images of `record`: the recipe's evaluation
    pipeline (centre crop to the input size, channels, x / 255; one view). An (N, H, W, C) array,
    or for MrCAR a dict of them (its face, eyes and mouth regions from cached MTCNN landmarks)."""
    from dataclasses import replace

    from fer_keras.data.pipeline import make_dataset
    from fer_keras.training import region_inputs

    config = eval_config(trained.recipe, batch_size=64)
    if config.input_size is None:
        config = replace(config, input_size=input_shape(trained.model)[:2])
    inputs = region_inputs(record, config.input_size, uses_regions(trained.model))
    batches = list(make_dataset(record, config, training=False, inputs=inputs).map(lambda x, y: x).as_numpy_iterator())
    if isinstance(batches[0], dict):
        return {name: np.concatenate([b[name] for b in batches]).astype(np.float32) for name in batches[0]}
    return np.concatenate(batches).astype(np.float32)


def calibration_inputs(trained, data=None, samples=DEFAULT_CALIBRATION_SAMPLES, seed=0):
    """(inputs, description) for int8 calibration: `samples` images drawn at random (seeded) from
    the training split of the model's own dataset (`fer_keras.training.load_splits` on the recipe;
    `data` the dataset's file or folder, default the run's data, else FER2013's bundled sample of
    Training rows), through the recipe's evaluation pipeline (`pipeline_inputs`)."""
    from fer_keras.training import load_splits

    data = data if data is not None else trained.data
    if data is not None and not Path(data).exists():
        raise ExportError("data", data, "no such file or folder")
    if samples < 1:
        raise ExportError("samples", samples, "expected a positive integer")
    try:
        train = load_splits(trained.recipe, data)[0]
    except ValueError as err:  # DatasetError is a ValueError too
        raise ExportError("data", data, str(err)) from err
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(train), min(samples, len(train)), replace=False))
    arrays = pipeline_inputs(trained, train.subset(chosen, split=train.split))
    source = str(data) if data is not None else "the bundled FER2013 sample (Training rows)"
    return arrays, {"data": source, "split": str(train.split), "samples": int(len(chosen)), "seed": seed}


def _as_named(model, inputs):
    """{input name: float32 array} from an array (single-input model) or a dict."""
    names = input_names(model)
    if isinstance(inputs, dict):
        missing = [n for n in names if n not in inputs]
        if missing:
            raise ExportError("calibration", problem=f"the inputs lack {missing}; the model takes {names}")
        return {n: np.asarray(inputs[n], np.float32) for n in names}
    if len(names) != 1:
        raise ExportError("calibration", problem=f"the model takes {names}; give a dict of arrays")
    return {names[0]: np.asarray(inputs, np.float32)}


# ------------------------------------------------------------------------------ converters


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


def _write_savedmodel(model, path):
    import keras

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", serving_function(model))  # also written as "serving_default"
    archive.write_out(str(path), verbose=False)


def _export_savedmodel(trained, out):
    _write_savedmodel(trained.model, out)
    extra = out / "assets.extra"
    extra.mkdir(exist_ok=True)
    (extra / "fer_keras.json").write_text(json.dumps(contract(trained), indent=2) + "\n")
    return {}


def class_score_layers(model):
    """Names of the layers that compute class scores: each layer whose output has one channel or
    unit per class (AMDCNN's classifier-module convolutions, CosineDense heads, logits) and every
    layer after one (BN, pooling, scaling, softmax, AMDCNN's fusion). `quantize="int8"` keeps them
    float32."""
    import keras

    classes = int(model.output[OUTPUT].shape[-1])
    chosen = []
    for layer in model.layers:  # topologically ordered
        if isinstance(layer, keras.layers.InputLayer):
            continue
        nodes = layer._inbound_nodes  # noqa: SLF001 (Keras 3 has no public view of a layer's graph nodes)
        outputs = [t for node in nodes for t in node.outputs]
        parents = {parent.operation.name for node in nodes for parent in node.parent_nodes}
        if (outputs and all(len(t.shape) and t.shape[-1] == classes for t in outputs)) or parents & set(chosen):
            chosen.append(layer.name)
    return chosen


def _int8_flatbuffer(converter, float_layers):
    """Full-integer quantisation (the converter's representative dataset calibrates it), except
    the ops of `float_layers`, which stay float32 (TFLite's selective quantisation)."""
    import re

    import tensorflow as tf

    if not float_layers:
        return converter.convert()
    debugger = tf.lite.experimental.QuantizationDebugger(converter=converter)  # calibrates once
    calibrated = tf.lite.Interpreter(model_content=debugger.calibrated_model)
    names = [t["name"] for t in calibrated.get_tensor_details()]
    pattern = re.compile(r"(^|[/;])(" + "|".join(map(re.escape, float_layers)) + r")(_\d+)?/")
    nodes = [name for name in names if pattern.search(name)]
    if nodes:  # the op writing the output tensor carries the signature's name, not its layer's
        nodes += [t["name"] for t in calibrated.get_output_details()]
    debugger.options = tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=nodes)
    return debugger.get_nondebug_quantized_model()


def _export_tflite(trained, out, quantize, calibration, float_layers=None):
    import tensorflow as tf

    model = trained.model
    details = {}
    with tempfile.TemporaryDirectory(prefix="fer_keras_export_") as tmp:
        _write_savedmodel(model, Path(tmp) / "savedmodel")
        converter = tf.lite.TFLiteConverter.from_saved_model(str(Path(tmp) / "savedmodel"))
        if quantize == "float16":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
            flat = converter.convert()
        elif quantize == "int8":
            named = _as_named(model, calibration)
            count = len(next(iter(named.values())))

            def representative():
                for i in range(count):
                    yield {name: array[i : i + 1] for name, array in named.items()}

            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = representative
            float_layers = class_score_layers(model) if float_layers is None else list(float_layers)
            flat = _int8_flatbuffer(converter, float_layers)
            details["calibration_images"] = count
            details["float_layers"] = float_layers
        else:
            flat = converter.convert()
    out.write_bytes(flat)
    if quantize == "int8":
        details.update(_tflite_op_types(out))
    return details


def _tflite_op_types(path):
    """How many of the TFLite model's ops compute in int8 (an int8 input or output), and the
    float ones by op name."""
    interpreter = _tflite_interpreter(path)
    tensors = {t["index"]: t["dtype"] for t in interpreter.get_tensor_details()}
    total, integer, floating = 0, 0, {}
    for op in interpreter._get_ops_details():  # noqa: SLF001 (the public API has no per-op view)
        if op["op_name"] in ("QUANTIZE", "DEQUANTIZE"):
            continue
        total += 1
        dtypes = [tensors.get(i) for i in list(op["inputs"]) + list(op["outputs"]) if i >= 0]
        if any(d in (np.int8, np.int16, np.int32) for d in dtypes) and not any(d == np.float32 for d in dtypes):
            integer += 1
        else:
            floating[op["op_name"]] = floating.get(op["op_name"], 0) + 1
    return {"ops": total, "int8_ops": integer, "float_ops": dict(sorted(floating.items()))}


def _needs_onnx(*modules):
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise ExportError("fmt", "onnx", f"needs {', '.join(missing)}; install them with pip install 'fer_keras[export]'")


def _export_onnx(trained, out, opset=None):
    _needs_onnx("tf2onnx", "onnx")
    import onnx
    import tf2onnx

    model = trained.model
    try:  # what Keras' own ONNX export applies first (numpy >= 2 fixes in tf2onnx's constant folding)
        from keras.src.export.tf2onnx_lib import patch_tf2onnx

        patch_tf2onnx()
    except ImportError:
        pass
    serve = serving_function(model)
    proto, _ = tf2onnx.convert.from_function(serve, list(serve.input_signature), opset=opset)
    missing = sorted({node.op_type for node in proto.graph.node if not onnx.defs.has(node.op_type, node.domain or "")})
    if missing:  # tf2onnx leaves a TensorFlow op it cannot convert in the graph, under its TensorFlow name
        raise ExportError("fmt", "onnx", f"{trained.name} does not convert: TensorFlow op(s) {', '.join(missing)} have "
                          f"no ONNX conversion in tf2onnx {tf2onnx.__version__}")
    for key, value in contract(trained).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = f"fer_keras.{key}", value if isinstance(value, str) else json.dumps(value)
    onnx.checker.check_model(proto)
    onnx.save(proto, str(out))
    opsets = {o.domain or "ai.onnx": o.version for o in proto.opset_import}
    return {"opset": opsets.get("ai.onnx"), "tf2onnx": tf2onnx.__version__}


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
    """Export `trained` (a `fer_keras.trained.Trained`) as `fmt` ("savedmodel", "tflite", "onnx")
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
            try:
                calibration, where = calibration_inputs(trained, calibration, samples)
            except ArgumentError as err:  # named as calibration_inputs calls them
                argument = {"data": "calibration", "samples": "calibration_samples"}.get(err.argument, err.argument)
                raise ExportError(argument, err.value, err.problem) from err
            details["calibration"] = where
        else:
            details["calibration"] = {"data": "inputs given by the caller"}
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ExportError("out", out, f"cannot create its folder ({err})") from err
    staged = _staging_path(out, fmt)
    converters = {
        "savedmodel": lambda: _export_savedmodel(trained, staged),
        "tflite": lambda: _export_tflite(trained, staged, quantize, calibration, float_layers),
        "onnx": lambda: _export_onnx(trained, staged, opset),
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


# ------------------------------------------------------------------------------ running artefacts


def _tflite_interpreter(path, threads=None):
    import tensorflow as tf

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
        interpreter = tf.lite.Interpreter(model_path=str(path), num_threads=threads)
    return interpreter


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
        if self.format == "savedmodel":
            import tensorflow as tf

            self._loaded = tf.saved_model.load(str(self.path))
            signature = self._loaded.signatures["serving_default"]
            self.input_names = list(signature.structured_input_signature[1])
            self._run = lambda named: signature(**{k: tf.constant(v) for k, v in named.items()})[OUTPUT].numpy()
        elif self.format == "tflite":
            interpreter = _tflite_interpreter(self.path, threads)
            runner = interpreter.get_signature_runner("serving_default")
            self.input_names = list(interpreter.get_signature_list()["serving_default"]["inputs"])
            self._interpreter = interpreter
            self._run = lambda named: runner(**named)[OUTPUT]
        elif self.format == "onnx":
            _needs_onnx("onnxruntime")
            import onnxruntime

            options = onnxruntime.SessionOptions()
            if threads:
                options.intra_op_num_threads = threads
                options.inter_op_num_threads = 1
            session = onnxruntime.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
            self.input_names = [i.name for i in session.get_inputs()]
            self._run = lambda named: session.run([OUTPUT], named)[0]
        else:
            raise ExportError("fmt", self.format, f"choose from {', '.join(FORMATS)}")

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


def parity(reference, probabilities):
    """How closely `probabilities` follow `reference` ((N, classes) each): top1_agreement (the share
    of samples with the same argmax), max_abs_diff and mean_abs_diff of the probabilities, and
    confident_top1_agreement on the more confident half of the samples (`reference`'s top-1 leads its
    second by at least the median lead, confident_min_lead: a threshold that follows the model's
    sharpness) over confident_samples of them."""
    reference, probabilities = np.asarray(reference, np.float64), np.asarray(probabilities, np.float64)
    diff = np.abs(reference - probabilities)
    same = reference.argmax(1) == probabilities.argmax(1)
    ordered = np.sort(reference, axis=1)
    lead = ordered[:, -1] - ordered[:, -2]
    confident = lead >= np.median(lead)
    return {
        "top1_agreement": float(same.mean()),
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
        "confident_top1_agreement": float(same[confident].mean()),
        "confident_samples": int(confident.sum()),
        "confident_min_lead": round(float(np.median(lead)), 4),
    }


__all__ = [
    "DEFAULT_CALIBRATION_SAMPLES", "Exported", "ExportError", "FORMATS", "MARKER", "QUANTIZATIONS",
    "calibration_inputs", "check_arguments", "check_out", "class_score_layers", "contract", "export_model",
    "format_of", "input_names", "load_exported", "parity", "pipeline_inputs", "serving_function",
]
