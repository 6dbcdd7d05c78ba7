"""Build the float16 TFLite export of bundled models, which `fer-keras predict` runs with LiteRT
(fer_keras.bundled.LiteClassifier) instead of importing TensorFlow.

    python experiments/tools/bundle_tflite.py                  # every bundled model
    python experiments/tools/bundle_tflite.py amdcnn_ferplus   # one (publish.py --bundle runs this)

For each model: the Keras model of its bundled float16 weights (`load_pretrained_trained`) is
exported by `fer_keras.export.export_model(..., "tflite", quantize="float16")` to
fer_keras/assets/pretrained/<name>.tflite (about 2 bytes a parameter), and its manifest entry
records the file's SHA-256, the SHA-256 of the weights it was exported from and `lite_spec`
(inputs, class names, face alignment, the evaluation pipeline, the recipe's tta). The export is then checked against the Keras model through predict's
two classifiers on the bundled FER2013 sample (its 560 faces, brought to the model's face side
and channels), one view and ten-crop, within the float16 export's tolerance (docs/export.md):
top-1 agreement at least 98%, max |difference| of a probability under 0.05, mean under 0.002.
The result goes into the manifest ("parity"); an export that misses is removed, with its record,
and the script exits with an error.
"""

import argparse
import json
import sys

import numpy as np

TOLERANCE = {"top1_agreement": 0.98, "max_abs_diff": 0.05, "mean_abs_diff": 0.002}  # docs/export.md, TFLite float16


def lite_spec(trained):
    """What `LiteClassifier` needs to feed the export as predict's Keras path feeds the model."""
    from fer_keras.classify import face_rotation, face_side
    from fer_keras.evaluation import eval_config
    from fer_keras.loading import model_inputs

    model, recipe = trained.model, trained.recipe
    config = eval_config(recipe)
    return {
        "inputs": {name: list(shape) for name, shape in model_inputs(model).items()},
        "class_names": list(trained.class_names),
        "face_side": int(face_side(recipe, model)),
        "rotation": bool(face_rotation(recipe, model)),
        "tta": recipe.pipeline.tta,
        "pipeline": {"input_size": None if config.input_size is None else list(config.input_size),
                     "resize": None if config.resize is None else list(config.resize),
                     "channels": config.channels, "normalization": config.normalization},
    }


def sample_faces(spec):
    """The bundled FER2013 sample's faces as uint8 inputs of the model `spec` describes: resized
    to its face side, in its channels; for a region model, the face as each region (numerics only)."""
    import cv2

    from fer_keras.data import load_dataset
    from fer_keras.data.sample import sample_path

    faces = load_dataset("fer2013", sample_path(), split="Training").images
    side, channels = spec["face_side"], next(iter(spec["inputs"].values()))[-1]
    if faces.shape[1] != side:
        faces = np.stack([cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC) for face in faces])[..., None]
    if channels == 3:
        faces = np.repeat(faces[..., :1], 3, axis=-1)
    return {name: faces for name in spec["inputs"]} if len(spec["inputs"]) > 1 else faces


def check_parity(name, trained, store=None):
    """{"samples", "none": parity, "tencrop": parity} of the export against the Keras model
    (fer_keras.export.parity), through predict's classifiers."""
    from fer_keras.bundled import LiteClassifier
    from fer_keras.export import parity
    from fer_keras.predict import KerasClassifier

    lite, keras_path = LiteClassifier(name, "name", store=store), KerasClassifier(trained)
    faces = sample_faces(lite.spec)
    report = {"samples": int(len(next(iter(faces.values()))) if isinstance(faces, dict) else len(faces))}
    for tta in (None, "tencrop"):
        measured = parity(keras_path.predict(faces, 64, tta), lite.predict(faces, 64, tta))
        report[tta or "none"] = {key: round(measured[key], 6) for key in TOLERANCE}
    return report


def misses(report):
    """The tolerance bounds a parity report misses (empty when within)."""
    found = []
    for view in ("none", "tencrop"):
        measured = report[view]
        if measured["top1_agreement"] < TOLERANCE["top1_agreement"]:
            found.append(f"{view}: top-1 agreement {measured['top1_agreement']:.4f} < {TOLERANCE['top1_agreement']}")
        for key in ("max_abs_diff", "mean_abs_diff"):
            if measured[key] >= TOLERANCE[key]:
                found.append(f"{view}: {key} {measured[key]:.4g} >= {TOLERANCE[key]}")
    return found


def bundle_tflite(name):
    """Export pretrained `name` to <store>/<name>.tflite, record it in the manifest and check it;
    returns its manifest record. The store is `fer_keras.models.pretrained`'s (tests replace it)."""
    from fer_keras.bundled import sha256_of
    from fer_keras.export import export_model
    from fer_keras.loading import load_pretrained_trained
    from fer_keras.models import pretrained

    store = pretrained.PRETRAINED_DIR
    trained = load_pretrained_trained(name)
    path = store / f"{name}.tflite"
    previous = pretrained.MANIFEST.read_text()
    export_model(trained, "tflite", path, quantize="float16", overwrite=True)
    spec = {"file": path.name, "sha256": sha256_of(path), "bytes": path.stat().st_size, "quantize": "float16",
            "weights_sha256": json.loads(previous)[name]["sha256"], **lite_spec(trained)}
    pretrained.register_tflite(name, spec)
    report = check_parity(name, trained, store)
    problems = misses(report)
    if problems:
        path.unlink()
        pretrained.MANIFEST.write_text(previous)
        raise SystemExit(f"bundle_tflite: {name}: the float16 export misses the Keras model's probabilities: "
                         + "; ".join(problems))
    spec["parity"] = report
    pretrained.register_tflite(name, spec)
    print(f"bundled {path} ({spec['bytes'] / 1e6:.2f} MB, sha256 {spec['sha256']}); parity with Keras on "
          f"{report['samples']} sample faces: top-1 {report['none']['top1_agreement']:.4f} (ten-crop "
          f"{report['tencrop']['top1_agreement']:.4f}), max |diff| {report['none']['max_abs_diff']:.2e}")
    return spec


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="bundled models (default: all of them)")
    args = parser.parse_args(argv)
    from fer_keras.quiet import import_keras_quietly

    import_keras_quietly()
    from fer_keras.models.pretrained import available_pretrained

    names = args.names or available_pretrained()
    unknown = sorted(set(names) - set(available_pretrained()))
    if unknown:
        raise SystemExit(f"bundle_tflite: no bundled model {', '.join(unknown)}; available: {', '.join(available_pretrained())}")
    for name in names:
        bundle_tflite(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
