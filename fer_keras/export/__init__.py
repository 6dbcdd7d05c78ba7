"""Export a trained fer_keras model for serving: a TensorFlow SavedModel, TFLite (float32, float16
or int8) or ONNX, with one signature from the model's float input(s) to its probabilities.

    from fer_keras.loading import load_trained
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
`fer_keras.classify.classify`: uint8 -> x / 255, centre crop (or the ten views of ten-crop test-time
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
file replaces an existing file only with overwrite=True. The folder `out` goes in (or the nearest
existing folder above it) must take a new file (a probe file is made and removed), so a read-only
folder is named before the conversion. Every artefact is written under a hidden temporary name
beside `out` and moved into place only once complete, so a failed export leaves `out` as it was.

The package's modules: signature.py (names, the serving signature and contract),
calibration.py (int8 calibration images, `pipeline_inputs`), savedmodel.py, tflite.py, onnx.py (one
a format: its converter and its runner), write.py (`export_model`, `check_out`), runtime.py
(`load_exported`), parity.py (`parity`, for tests and benchmarks). Converters that tests replace
(`_write_savedmodel`, `_export_savedmodel`, `_export_tflite`, `_export_onnx`) are looked up on this
package at each call, so replacing them here takes effect.

Errors are `ExportError`s (`fer_keras.errors.ArgumentError`s) naming the argument of
`export_model` (fmt, quantize, calibration, calibration_samples, out) and, for a model that does
not convert, the converter's reason.
"""

from fer_keras.errors import ExportError
from fer_keras.export.calibration import calibration_inputs, pipeline_inputs
from fer_keras.export.onnx import _export_onnx
from fer_keras.export.parity import parity
from fer_keras.export.runtime import Exported, format_of, load_exported
from fer_keras.export.savedmodel import _export_savedmodel, _write_savedmodel
from fer_keras.export.signature import (
    DEFAULT_CALIBRATION_SAMPLES,
    FORMATS,
    MARKER,
    QUANTIZATIONS,
    contract,
    input_names,
    serving_function,
)
from fer_keras.export.tflite import _export_tflite, class_score_layers
from fer_keras.export.write import check_arguments, check_out, export_model

# The converters, looked up here at each call (see above; not in __all__).
_CONVERTERS = (_write_savedmodel, _export_savedmodel, _export_tflite, _export_onnx)

__all__ = [
    "DEFAULT_CALIBRATION_SAMPLES", "Exported", "ExportError", "FORMATS", "MARKER", "QUANTIZATIONS",
    "calibration_inputs", "check_arguments", "check_out", "class_score_layers", "contract", "export_model",
    "format_of", "input_names", "load_exported", "parity", "pipeline_inputs", "serving_function",
]
