"""The TFLite format: converted from the SavedModel, float32, float16 weights, or int8 with the
class-score layers kept float32 (`class_score_layers`); and its runner for
`fer_keras.export.load_exported`."""

import tempfile
import warnings
from pathlib import Path

import numpy as np

from fer_keras.export.calibration import _as_named
from fer_keras.export.signature import OUTPUT


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
    the ops of `float_layers` and those around a degenerate tensor (`_degenerate_nodes`), which
    stay float32 (TFLite's selective quantisation). Returns (flatbuffer, the degenerate ops' outputs)."""
    import re

    import tensorflow as tf

    flat = converter.convert() if not float_layers else None
    dead = [] if flat is None else _degenerate_nodes(flat)
    if flat is not None and not dead:
        return flat, []
    debugger = tf.lite.experimental.QuantizationDebugger(converter=converter)  # calibrates once
    nodes = []
    if float_layers:
        calibrated = tf.lite.Interpreter(model_content=debugger.calibrated_model)
        names = [t["name"] for t in calibrated.get_tensor_details()]
        pattern = re.compile(r"(^|[/;])(" + "|".join(map(re.escape, float_layers)) + r")(_\d+)?/")
        nodes = [name for name in names if pattern.search(name)]
        if nodes:  # the op writing the output tensor carries the signature's name, not its layer's
            nodes += [t["name"] for t in calibrated.get_output_details()]
    for _ in range(3):  # keeping ops float can expose a degenerate tensor beside them
        debugger.options = tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=nodes + dead)
        flat = debugger.get_nondebug_quantized_model()
        more = [name for name in _degenerate_nodes(flat) if name not in dead]
        if not more:
            break
        dead += more
    return flat, dead


def _degenerate_nodes(flat, smallest_scale=1e-6):
    """Output names of the ops that write or read an int8 activation whose calibrated range is all
    but zero (scale < `smallest_scale`, a range under 2.6e-4): e.g. a ReLU whose units calibration
    never saw positive (AMDCNN run 2's dfem2 channel-attention MLP). Int8 holds nothing of such a
    tensor, and XNNPACK refuses the ops (their requantisation scale overflows), so they stay float."""
    interpreter = _tflite_interpreter(flat)
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    dead = {index for index, t in tensors.items() if t["dtype"] == np.int8
            and len(t["quantization_parameters"]["scales"])
            and t["quantization_parameters"]["scales"].max() < smallest_scale}
    nodes = []
    for op in interpreter._get_ops_details():  # noqa: SLF001 (the public API has no per-op view)
        if dead & {*op["inputs"], *op["outputs"]}:
            nodes += [tensors[i]["name"] for i in op["outputs"] if i >= 0]
    return list(dict.fromkeys(nodes))


def _export_tflite(trained, out, quantize, calibration, float_layers=None):
    import tensorflow as tf

    model = trained.model
    details = {}
    from fer_keras import export  # the package: a replaced `fer_keras.export._write_savedmodel` is the one used

    with tempfile.TemporaryDirectory(prefix="fer_keras_export_") as tmp:
        export._write_savedmodel(model, Path(tmp) / "savedmodel")
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
            flat, degenerate = _int8_flatbuffer(converter, float_layers)
            details["calibration_images"] = count
            details["float_layers"] = float_layers
            details["float_degenerate_ops"] = degenerate  # ops around an all-but-constant activation
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


def _tflite_interpreter(source, threads=None):
    """A tf.lite.Interpreter of a .tflite path or of the flatbuffer's bytes."""
    import tensorflow as tf

    where = {"model_content": source} if isinstance(source, bytes) else {"model_path": str(source)}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
        interpreter = tf.lite.Interpreter(**where, num_threads=threads)
    return interpreter


def runner(path, threads=None):
    """(input names, run, interpreter) for a .tflite file: run({name: float32 array}) -> (N, classes)
    probabilities; `threads` limits the interpreter's CPU threads (None: its default)."""
    interpreter = _tflite_interpreter(path, threads)
    run = interpreter.get_signature_runner("serving_default")
    names = list(interpreter.get_signature_list()["serving_default"]["inputs"])
    return names, lambda named: run(**named)[OUTPUT], interpreter


__all__ = ["class_score_layers"]
