"""The models bundled in the package, read without TensorFlow or Keras: the manifest, checksums and
`LiteClassifier`, which runs a bundled model's TFLite export with the LiteRT interpreter
(`ai-edge-litert`). `fer-keras predict` with a bundled model (or none named) classifies with it, so
a one-photo run starts in about a second instead of importing TensorFlow (docs/predict.md, "Speed").

    from fer_keras.bundled import LiteClassifier
    from fer_keras.predict import FacePredictor, predict_paths
    predictor = FacePredictor(LiteClassifier("amdcnn_plus_fer2013"))
    entries = predict_paths(predictor, ["photo.jpg"])

fer_keras/assets/pretrained/manifest.json names each bundled model: its float16 Keras weights
(`file`, `sha256`: `fer_keras.models.pretrained` reads them) and, under "tflite", its float16 TFLite
export with everything predict needs to feed it, recorded when it was built
(experiments/tools/bundle_tflite.py) from the model and its recipe:

    "tflite": {"file": "amdcnn_plus_fer2013.tflite", "sha256": "...", "weights_sha256": "...", "quantize": "float16",
               "inputs": {"image": [44, 44, 1]}, "class_names": ["angry", ...],
               "face_side": 48, "rotation": false, "tta": "tencrop",
               "pipeline": {"input_size": [44, 44], "resize": null, "channels": 1, "normalization": "unit"},
               "parity": {...}}

weights_sha256: the SHA-256 of the weights it was exported from (a bundle whose weights changed
since runs its Keras model, with a note); face_side and rotation: how a photo's face is aligned (`fer_keras.classify.face_side`,
`face_rotation`); pipeline: the recipe's evaluation pipeline (centre crop or ten-crop, channels,
normalisation), applied here in NumPy exactly as the Keras path's PyDataset applies it; tta: the
recipe's test-time augmentation (used when predict is given tta=None); parity: how closely the
export follows the Keras model on the bundled FER2013 sample (checked when it was built, and by
tests/predict/test_lite.py).

A missing, unknown or corrupted entry is a PretrainedError naming the argument that named it.
"""

import contextlib
import hashlib
import importlib.util
import json
import os
import sys
from pathlib import Path

import numpy as np

from fer_keras.errors import PretrainedError
from fer_keras.quiet import stderr_silenced

PRETRAINED_DIR = Path(__file__).resolve().parent / "assets" / "pretrained"
MANIFEST = PRETRAINED_DIR / "manifest.json"
# predict's model: the most accurate bundled one (docs/predict.md, "Pretrained weights")
DEFAULT_PRETRAINED = "amdcnn_plus_fer2013"
SIGNATURE, OUTPUT = "serving_default", "probabilities"  # the export's (fer_keras.export.signature)


def read_manifest(store=None):
    """{name: entry} of the manifest in `store` (default PRETRAINED_DIR); {} when there is none."""
    path = MANIFEST if store is None else Path(store) / "manifest.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def litert_available():
    """Whether the LiteRT interpreter (the ai-edge-litert package) is installed."""
    return importlib.util.find_spec("ai_edge_litert") is not None


def verified_path(store, entry, name, argument, what="file"):
    """The path of `entry[what]` in `store`, after checking it exists and has the recorded SHA-256."""
    path = Path(store) / entry[what]
    if not path.is_file():
        raise PretrainedError(argument, name, f"pretrained {name!r}: {path} is missing from the installed package")
    found = sha256_of(path)
    if found != entry["sha256"]:
        raise PretrainedError(argument, name, f"pretrained {name!r}: {path} has SHA-256 {found}, expected "
                              f"{entry['sha256']} (the file is corrupted or was replaced; reinstall fer_keras)")
    return path


def manifest_entry(name, argument="pretrained", store=None):
    """The manifest's entry of bundled model `name`; a PretrainedError naming `argument` when there is none."""
    entries = read_manifest(store)
    if name not in entries:
        raise PretrainedError(argument, name, f"no pretrained model {name!r}; available: {', '.join(sorted(entries)) or 'none'}")
    return entries[name]


# ------------------------------------------------------------------ the evaluation pipeline in NumPy


def evaluation_views(images, config, tta=None):
    """The float32 model inputs of uint8 (N, H, W, C) `images` under `config` (a PipelineConfig
    for evaluation): what the Keras path's PyDataset delivers (`fer_keras.data.pydataset`): the
    resize, the centre crop (or, with tta="tencrop", ten views an image, image-major) to the input
    size, the channel conversion and the normalisation."""
    from fer_keras.data.augment import augment_batch_numpy
    from fer_keras.data.pipeline import finish_numpy, prepare_images, ten_crop_numpy

    images = prepare_images(images, config)
    size = config.input_size or images.shape[1:3]
    if tta == "tencrop":
        views = ten_crop_numpy(images, size)
    else:
        views = augment_batch_numpy(images, size, None, None, False)
    return finish_numpy(views, config)


# ------------------------------------------------------------------------------ the classifier


class LiteClassifier:
    """A bundled model's TFLite export run by the LiteRT interpreter, with predict's classifier
    interface (`fer_keras.predict.KerasClassifier` is the Keras one): `face_inputs(image,
    landmarks)` aligns a photo's faces as the model's training faces were, `predict(inputs,
    batch_size, tta)` gives their (K, classes) probabilities through the recipe's evaluation
    pipeline. Imports neither TensorFlow nor Keras. `threads`: the interpreter's CPU threads
    (default: every core). `store`: the folder of the manifest (default: the package's).
    Errors: a PretrainedError naming `argument` for an unknown name, a model without a TFLite
    export (or with one of other weights than the bundled ones) or a corrupted file; ImportError
    when ai-edge-litert is not installed."""

    backend = "litert"

    def __init__(self, name=DEFAULT_PRETRAINED, argument="pretrained", threads=None, store=None):
        from ai_edge_litert.interpreter import Interpreter

        from fer_keras.data.pipeline import PipelineConfig

        entry = manifest_entry(name, argument, store)
        if "tflite" not in entry:
            raise PretrainedError(argument, name, f"pretrained {name!r} has no TFLite export in the package")
        spec = entry["tflite"]
        if spec.get("weights_sha256") != entry["sha256"]:
            raise PretrainedError(argument, name, f"pretrained {name!r}: its TFLite export was built from other weights "
                                  f"than the bundled ones (rebuild it: python experiments/tools/bundle_tflite.py {name})")
        path = verified_path(PRETRAINED_DIR if store is None else store, spec, name, argument)
        self.name, self.spec = name, spec
        self.source = f"pretrained {name} (TFLite {spec.get('quantize') or 'float32'}, LiteRT)"
        self.class_names = tuple(spec["class_names"])
        self.input_names = list(spec["inputs"])
        self.side, self.rotation = int(spec["face_side"]), bool(spec["rotation"])
        self.channels = int(next(iter(spec["inputs"].values()))[-1])
        self.regions = len(self.input_names) > 1  # MrCAR's face, eyes and mouth crops (`loading.uses_regions`)
        self.default_tta = spec.get("tta")
        self.config = PipelineConfig.from_dict({**spec["pipeline"], "augmentation": None, "sample_weights": False, "tta": None})
        self.interpreter = Interpreter(model_path=str(path), num_threads=threads or os.cpu_count() or 1)
        self._run = self.interpreter.get_signature_runner(SIGNATURE)
        self._first = True  # LiteRT's first call logs "INFO: Created TensorFlow Lite XNNPACK delegate"
        classes = int(self.interpreter.get_output_details()[0]["shape"][-1])
        if classes != len(self.class_names):
            raise PretrainedError(argument, name, f"pretrained {name!r}: its TFLite export gives {classes} probabilities "
                                  f"for {len(self.class_names)} class names")

    def face_inputs(self, image, landmarks):
        """The uint8 inputs of the faces with `landmarks` ((K, 5, 2), or a FaceLandmarks) in `image`
        ((H, W, C) uint8 RGB), as `fer_keras.classify.face_inputs` makes them for the Keras model."""
        import cv2

        from fer_keras.data.faces import align_face, region_crops

        points = np.asarray(getattr(landmarks, "landmarks", landmarks), np.float64).reshape(-1, 5, 2)
        image = image[..., None] if image.ndim == 2 else image
        if image.shape[-1] != self.channels:
            image = (cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)[..., None] if self.channels == 1
                     else np.repeat(image, 3, axis=-1))
        empty = np.zeros((0, self.side, self.side, self.channels), np.uint8)
        if self.regions:
            crops = [region_crops(image, p, self.side) for p in points]
            return {region: np.stack([c[region] for c in crops]) if crops else empty for region in self.input_names}
        faces = [align_face(image, p, self.side, rotation=self.rotation) for p in points]
        return np.stack(faces) if faces else empty

    def predict(self, inputs, batch_size=32, tta=None):
        """(K, classes) float64 probabilities of the uint8 `inputs` (from `face_inputs`; a dict of
        region crops for MrCAR), `batch_size` faces a call; tta="tencrop" averages the ten views."""
        if inputs is None:
            return np.zeros((0, len(self.class_names)))
        named = inputs if isinstance(inputs, dict) else {self.input_names[0]: inputs}
        count = len(next(iter(named.values())))
        parts = []
        for start in range(0, count, batch_size):
            views = {name: evaluation_views(named[name][start : start + batch_size], self.config, tta)
                     for name in self.input_names}
            with stderr_silenced() if self._first else contextlib.nullcontext():
                parts.append(np.asarray(self._run(**views)[OUTPUT], np.float64))
            self._first = False
        if not parts:
            return np.zeros((0, len(self.class_names)))
        probabilities = np.concatenate(parts)
        return probabilities.reshape(-1, 10, probabilities.shape[-1]).mean(axis=1) if tta == "tencrop" else probabilities


def lite_classifier(name=DEFAULT_PRETRAINED, argument="pretrained"):
    """`LiteClassifier(name)` when it can run; None, said in a one-line note on stderr, when
    ai-edge-litert is not installed or the bundled model has no TFLite export (the caller then
    runs its Keras model). An unknown name or a corrupted file is a PretrainedError naming `argument`."""
    entry = manifest_entry(name, argument)
    if entry.get("tflite", {}).get("weights_sha256") != entry["sha256"]:
        why = "has no TFLite export in the package" if "tflite" not in entry else "has a TFLite export of other weights"
        print(f"note: pretrained {name!r} {why}; running its Keras model", file=sys.stderr)
        return None
    if not litert_available():
        print("note: ai-edge-litert is not installed; running the bundled model with Keras (slower to start; "
              "pip install ai-edge-litert)", file=sys.stderr)
        return None
    try:
        return LiteClassifier(name, argument)
    except ImportError as err:  # installed, but it does not load here
        print(f"note: ai-edge-litert cannot be imported ({err}); running the bundled model with Keras", file=sys.stderr)
        return None


__all__ = ["DEFAULT_PRETRAINED", "LiteClassifier", "MANIFEST", "PRETRAINED_DIR", "evaluation_views", "lite_classifier",
           "litert_available", "manifest_entry", "read_manifest", "sha256_of", "verified_path"]
