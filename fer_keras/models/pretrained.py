"""Pretrained weights that ship inside the package (no download).

    from fer_keras.models import load_pretrained, available_pretrained
    model = load_pretrained("amdcnn_fer2013")     # a ready keras.Model, float32
    info = pretrained_info("amdcnn_fer2013")      # recipe, class names, metrics, where it came from

Each entry is one `<name>.weights.npz` in fer_keras/assets/pretrained: the weights in float16 (in
the order of `model.weights`) plus a JSON header (the model's builder arguments, the recipe it was
trained with, class names, provenance and its PublicTest metrics). `manifest.json` beside them
records each file's SHA-256, which `load_pretrained` checks before reading it, and each model's
float16 TFLite export, which predict runs without TensorFlow (`fer_keras.bundled`, where the store's
names and checks live without Keras; `register_tflite` records it). A missing, unknown or corrupted
entry is a PretrainedError naming the argument that named it.
"""

import json
from pathlib import Path

import numpy as np

from fer_keras.bundled import DEFAULT_PRETRAINED, MANIFEST, PRETRAINED_DIR, sha256_of, verified_path
from fer_keras.errors import PretrainedError

_HEADER = "__header__"


def _manifest():
    return json.loads(MANIFEST.read_text()) if MANIFEST.is_file() else {}


def available_pretrained():
    """Names accepted by `load_pretrained`."""
    return sorted(_manifest())


def _verified_file(name, argument="name"):
    entries = _manifest()
    if name not in entries:
        raise PretrainedError(argument, name, f"no pretrained model {name!r}; available: {', '.join(sorted(entries)) or 'none'}")
    return verified_path(PRETRAINED_DIR, entries[name], name, argument)


def _read(path):
    with np.load(path, allow_pickle=False) as archive:
        header = json.loads(bytes(archive[_HEADER]).decode("utf-8"))
        weights = [archive[f"w{i:04d}"] for i in range(header["num_weights"])]
    return header, weights


def pretrained_info(name):
    """The JSON header of a pretrained entry: model, input_shape, num_classes, options, class_names,
    recipe, metrics, source."""
    return _read(_verified_file(name))[0]


def load_pretrained(name=DEFAULT_PRETRAINED):
    """The pretrained model `name` (see `available_pretrained`), built by `build_model` and loaded
    with the bundled weights (stored float16, loaded into the model's float32 variables)."""
    return load_pretrained_with_info(name)[0]


def load_pretrained_with_info(name=DEFAULT_PRETRAINED, argument="name"):
    """(model, header) of pretrained `name`, from one verified read of its file; a PretrainedError
    names `argument` (the caller's name for `name`)."""
    from fer_keras.models.registry import build_model

    header, weights = _read(_verified_file(name, argument))
    model = build_model(header["model"], input_shape=header["input_shape"], num_classes=header["num_classes"],
                        **header["options"])
    _assign(model, weights, f"pretrained {name!r}", argument, name)
    return model, header


def _assign(model, weights, source, argument=None, value=None):
    """Load `weights` into `model`; a PretrainedError about `source` (naming `argument`) when they do not fit."""
    if len(model.weights) != len(weights):
        raise PretrainedError(argument, value, f"{source}: {len(weights)} arrays for a model with {len(model.weights)} weights")
    for variable, array in zip(model.weights, weights):
        if tuple(variable.shape) != array.shape:
            raise PretrainedError(argument, value, f"{source}: {variable.path} has shape {tuple(variable.shape)}, "
                                  f"the file holds {array.shape}")
        variable.assign(array.astype(variable.dtype))


def assign_pretrained_file(model, path):
    """Load a pretrained-format file (`save_pretrained`'s .weights.npz, e.g. one taken from an
    earlier commit) into `model`, which must be built as its header says; returns the header."""
    header, weights = _read(Path(path))
    _assign(model, weights, str(path))
    return header


def save_pretrained(model, header, path, dtype="float16"):
    """Write `model`'s weights (as `dtype`) and `header` (JSON-able; it must name model,
    input_shape, num_classes, options) to `path`; returns the file's SHA-256."""
    import keras

    missing = {"model", "input_shape", "num_classes", "options"} - set(header)
    if missing:
        raise PretrainedError(None, problem=f"save_pretrained: header lacks {sorted(missing)}")
    arrays = {f"w{i:04d}": keras.ops.convert_to_numpy(v).astype(dtype) for i, v in enumerate(model.weights)}
    header = {**header, "num_weights": len(arrays), "dtype": dtype, "weight_paths": [v.path for v in model.weights]}
    arrays[_HEADER] = np.frombuffer(json.dumps(header).encode("utf-8"), np.uint8)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:  # np.savez_compressed(path) would append .npz to other names
        np.savez_compressed(handle, **arrays)
    return sha256_of(path)


def register_pretrained(name, path, sha256):
    """Record `path` (a file in PRETRAINED_DIR) and its SHA-256 as pretrained `name` in the manifest
    (an earlier entry of that name goes, its TFLite export's record too: that export is stale)."""
    entries = _manifest()
    entries[name] = {"file": Path(path).name, "sha256": sha256}
    _write_manifest(entries)


def register_tflite(name, spec):
    """Record pretrained `name`'s TFLite export (`spec`: file, sha256 and what predict needs to feed
    it; see `fer_keras.bundled`) in its manifest entry."""
    entries = _manifest()
    if name not in entries:
        raise PretrainedError("name", name, f"no pretrained model {name!r} to record a TFLite export for")
    entries[name] = {**entries[name], "tflite": spec}
    _write_manifest(entries)


def _write_manifest(entries):
    MANIFEST.parent.mkdir(parents=True, exist_ok=True)
    MANIFEST.write_text(json.dumps(dict(sorted(entries.items())), indent=2) + "\n")
