"""The images that calibrate int8 quantisation, and the float inputs a model takes for a record's
images (`pipeline_inputs`: the recipe's evaluation pipeline, as `fer_keras.classify.classify`
feeds the Keras model)."""

from dataclasses import replace
from pathlib import Path

import numpy as np

from fer_keras.errors import ExportError
from fer_keras.evaluation import evaluation_inputs
from fer_keras.export.signature import DEFAULT_CALIBRATION_SAMPLES, input_names


def pipeline_inputs(trained, record):
    """The float32 inputs the model takes for the uint8 images of `record`: the recipe's evaluation
    pipeline (centre crop to the input size, channels, x / 255; one view). An (N, H, W, C) array,
    or for MrCAR a dict of them (its face, eyes and mouth regions from cached MTCNN landmarks)."""
    from fer_keras.data.pipeline import make_dataset

    config, inputs = evaluation_inputs(trained.model, trained.recipe, record, batch_size=64)
    batches = list(make_dataset(record, config, training=False, inputs=inputs).map(lambda x, y: x).as_numpy_iterator())
    if isinstance(batches[0], dict):
        return {name: np.concatenate([b[name] for b in batches]).astype(np.float32) for name in batches[0]}
    return np.concatenate(batches).astype(np.float32)


def calibration_inputs(trained, data=None, samples=DEFAULT_CALIBRATION_SAMPLES, seed=0, names=("data", "samples")):
    """(inputs, description) for int8 calibration: `samples` images drawn at random (seeded) from
    the training split of the model's own dataset (`fer_keras.data.splits.load_splits` on the recipe;
    `data` the dataset's file or folder, default the run's data, else FER2013's bundled sample of
    Training rows), through the recipe's evaluation pipeline (`pipeline_inputs`). ExportErrors name
    `data` and `samples` as the caller does (`names`; export_model: calibration, calibration_samples)."""
    from fer_keras.data.files import path_kind
    from fer_keras.data.splits import load_splits

    data_name, samples_name = names
    data = data if data is not None else trained.data
    if data is not None and not Path(data).exists():
        raise ExportError(data_name, data, "no such file or folder")
    if data is not None and path_kind(data):
        raise ExportError(data_name, data, f"is {path_kind(data)}, not a dataset file or folder")
    if samples < 1:
        raise ExportError(samples_name, samples, "expected a positive integer")
    try:
        train = load_splits(replace(trained.recipe.data, test=None), data)[0]  # the test split plays no part
    except ValueError as err:  # the data file's DatasetError (or the recipe's folds): named as the caller's data
        raise ExportError(data_name, data, str(err)) from err
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


__all__ = ["calibration_inputs", "pipeline_inputs"]
