"""What every export format shares: the names (formats, quantisations, the output, the SavedModel
marker) and the one serving signature (`serving_function`) with the contract a
server needs (`contract`)."""

from fer_keras.loading import model_inputs, uses_regions

FORMATS = ("savedmodel", "tflite", "onnx")
QUANTIZATIONS = ("float16", "int8")
SUFFIXES = {"tflite": ".tflite", "onnx": ".onnx"}
DEFAULT_CALIBRATION_SAMPLES = 300
OUTPUT = "probabilities"
MARKER = "fer_keras_export.json"  # in every SavedModel export: its details; lets a re-export replace the folder
SAVEDMODEL_ENTRIES = frozenset({"saved_model.pb", "fingerprint.pb", "variables", "assets", "assets.extra", MARKER})
RANGES = {"unit": "[0, 1]: uint8 pixels / 255", "centered": "[-1, 1]: uint8 pixels / 127.5 - 1",
          "standard": "each image standardised to zero mean, unit variance", "none": "uint8 pixel values as floats"}


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
    pipeline = trained.recipe.pipeline
    normalization = pipeline.normalization
    return {
        "model": trained.name,
        "source": trained.source,
        "inputs": {name: [None, *shape] for name, shape in model_inputs(trained.model).items()},
        "input_dtype": "float32",
        "input_range": f"{RANGES.get(normalization, normalization)} (the recipe's pipeline normalization "
                       f"{normalization!r}), centre-cropped to the input size",
        "output": OUTPUT,
        "class_names": list(trained.class_names),
        "test_time_augmentation": pipeline.tta or "none",
    }


__all__ = ["DEFAULT_CALIBRATION_SAMPLES", "FORMATS", "MARKER", "QUANTIZATIONS", "contract", "input_names",
           "serving_function"]
