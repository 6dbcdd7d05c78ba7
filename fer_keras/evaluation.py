"""Evaluate a classifier: its predictions on a record through the recipe's evaluation pipeline,
the metrics (what metrics.json holds), and `evaluate_model` on a dataset split.

    from fer_keras.evaluation import evaluate_model
    from fer_keras.loading import load_run
    model, recipe = load_run("runs/amdcnn_fer2013")
    result = evaluate_model(model, recipe, data="fer2013.csv.gz")   # the recipe's test split
    result.metrics["accuracy"], result.probabilities.shape

Metrics: accuracy, balanced accuracy, macro and weighted precision / recall / F1, per-class
accuracy (recall), the mean per-class accuracy LBAN-IL reports as "Ave", and the confusion matrix
(counts and row-normalised, rows = true class) as in the papers' figures (drawn by
fer_keras.run.report).

Errors of `load_eval_record` and `evaluate_model` are `fer_keras.errors.ArgumentError`s naming their
argument (dataset, data, split, tta).
"""

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_keras.errors import ArgumentError, DatasetError, FerKerasError
from fer_keras.recipes.schema import Recipe

TTA_CHOICES = ("none", "tencrop")


def eval_config(recipe, batch_size=None):
    """The pipeline section of `recipe` (a Recipe or its dict; `Recipe.pipeline`, a PipelineConfig)
    for evaluation: no augmentation, no weights, one view; `batch_size` when given."""
    from dataclasses import replace

    config = replace(Recipe.of(recipe).pipeline, augmentation=None, sample_weights=False, tta=None)
    return replace(config, batch_size=int(batch_size)) if batch_size else config


def evaluation_inputs(model, recipe, record, batch_size=None):
    """(config, regions) to run `model` on `record` as `recipe` (a Recipe or its dict) evaluates:
    `eval_config`, its input size falling back to the model's when the recipe names none, and for
    MrCAR its region crops (`fer_keras.data.faces.regions.region_inputs`; None for other models)."""
    from dataclasses import replace

    from fer_keras.data.faces.regions import region_inputs
    from fer_keras.loading import input_shape, uses_regions

    config = eval_config(recipe, batch_size)
    if config.input_size is None:
        config = replace(config, input_size=input_shape(model)[:2])
    return config, region_inputs(record, uses_regions(model))


def resolve_tta(tta, default=None):
    """None or "tencrop": `tta` ("none", "tencrop") or, when None, `default` (a recipe's
    pipeline.tta, `Recipe.pipeline.tta`)."""
    if tta is None:
        return default
    if tta not in TTA_CHOICES:
        raise ArgumentError("tta", tta, f"choose from {', '.join(TTA_CHOICES)}")
    return None if tta == "none" else tta


def predict_outputs(model, record, config, inputs=None, tta=None):
    """Every output of `model` on `record` through the evaluation pipeline, as a dict of NumPy
    arrays (a single-output model's output under "probabilities"); tta="tencrop" gives ten rows a
    sample (see `average_ten_crop`)."""
    from dataclasses import replace

    from fer_keras.data.batches import make_batches
    from fer_keras.data.pipeline import PipelineConfig

    config = PipelineConfig.from_dict(config) if isinstance(config, dict) else config
    config = replace(config, tta=tta, sample_weights=False)
    outputs = model.predict(make_batches(record, config, False, inputs, transform=lambda x, y: (x,)), verbose=0)
    outputs = outputs if isinstance(outputs, dict) else {"probabilities": outputs}
    return {name: np.asarray(value) for name, value in outputs.items()}


def predict_probabilities(model, record, config, inputs=None, tta=None):
    """(N, classes) probabilities of `model` (a fer_keras model with a "probabilities" output)
    on `record`, through the evaluation pipeline; tta="tencrop" averages the ten views."""
    from fer_keras.data.pipeline import average_ten_crop

    probabilities = np.asarray(predict_outputs(model, record, config, inputs, tta)["probabilities"], np.float64)
    return average_ten_crop(probabilities) if tta == "tencrop" else probabilities


def classification_metrics(labels, probabilities, class_names):
    """The metrics dict for true `labels` (N,) and predicted `probabilities` (N, classes)."""
    from sklearn.metrics import balanced_accuracy_score, confusion_matrix, precision_recall_fscore_support

    labels = np.asarray(labels)
    predicted = np.asarray(probabilities).argmax(axis=1)
    classes = list(range(len(class_names)))
    counts = confusion_matrix(labels, predicted, labels=classes)
    support = counts.sum(axis=1)
    per_class = np.divide(np.diag(counts), support, out=np.zeros(len(classes)), where=support > 0)
    metrics = {
        "samples": int(len(labels)),
        "accuracy": float((predicted == labels).mean()),
        "balanced_accuracy": float(balanced_accuracy_score(labels, predicted)),
        "mean_class_accuracy": float(per_class[support > 0].mean()),
    }
    for average in ("macro", "weighted"):
        precision, recall, f1, _ = precision_recall_fscore_support(  # over the classes that occur (sklearn's default)
            labels, predicted, average=average, zero_division=0
        )
        metrics.update({f"{average}_precision": float(precision), f"{average}_recall": float(recall), f"{average}_f1": float(f1)})
    metrics["per_class_accuracy"] = {name: float(a) for name, a in zip(class_names, per_class)}
    metrics["class_names"] = list(class_names)
    metrics["confusion_matrix"] = counts.tolist()
    normalised = np.divide(counts, support[:, None], out=np.zeros(counts.shape), where=support[:, None] > 0)
    metrics["confusion_matrix_normalized"] = np.round(normalised, 4).tolist()
    return metrics


# ------------------------------------------------------------------------ a model on a dataset split


def _data_path(name, data):
    from fer_keras.data.files import path_kind
    from fer_keras.data.splits import data_path

    if data is not None and not Path(data).exists():
        raise ArgumentError("data", data, "no such file or folder")
    if data is not None and path_kind(data):
        raise ArgumentError("data", data, f"is {path_kind(data)}, not a dataset file or folder")
    return data_path(name, data)


def load_eval_record(recipe, dataset=None, data=None, split=None):
    """(record, description) of the samples to evaluate on.

    `recipe`: a Recipe or its dict. `split` names a split of the dataset ("all": every sample).
    Without one, the recipe's own
    protocol decides (`fer_keras.data.splits.load_splits`): its test split when the file has rows for
    it (FER2013: PrivateTest; FERPlus: FER2013Test), else its validation split (PublicTest; a
    stratified 20% of the training split when there is none; the held-out fold of a k-fold
    recipe), with a one-line note on stderr (and in the description) that the test split is
    missing. A `dataset` other than the recipe's is evaluated whole unless `split` is given, except
    those with standard splits (`DatasetInfo.standard_splits`: FERPlus), scored on their test split,
    else validation split, likewise.
    """
    from fer_keras.data import load_dataset
    from fer_keras.data.datasets import get_dataset_info
    from fer_keras.data.splits import load_splits

    section = Recipe.of(recipe).data
    name = dataset or section.dataset
    info = get_dataset_info(name)  # an ArgumentError naming the registered datasets
    same = name == section.dataset
    options = dict(section.options) if same else {}
    path = _data_path(name, data)
    if split is not None:
        try:
            record = load_dataset(name, path, split=None if split == "all" else split, **options)
        except DatasetError as err:
            raise ArgumentError("split", split, str(err)) from err
        if not len(record):
            raise ArgumentError("split", split, _missing_test(name, path, split))
        return record, split
    if not same and info.standard_splits:
        return _standard_split(name, path, options)
    if not same:
        try:
            record = load_dataset(name, path, **options)
        except DatasetError as err:
            raise ArgumentError("data", path, str(err)) from err
        return record, "all"
    try:
        if section.folds:  # the held-out fold, else the validation fold: the whole dataset is split
            _, validation, test, protocol = load_splits(section, path)
        else:  # only the splits it scores are read: a file of test rows alone is enough
            validation, test, protocol = _named_splits(section, name, path, options)
    except DatasetError as err:
        raise ArgumentError("data", path, str(err)) from err
    if test is not None:
        return test, f"{split_name(test)} (test split)"
    if section.test:
        missing = _missing_test(name, path, section.test)
        print(f"note: {missing}; scoring the validation split {split_name(validation)} instead", file=sys.stderr)
        return validation, f"{split_name(validation)} (validation split: {missing}; {protocol})"
    return validation, f"{split_name(validation)} (validation split; {protocol})"


def split_name(record, split=None):
    """`split` (default: the record's) as the dataset's reader names it, with the dataset's own
    name for it where the release has one: FERPlus's folders are read by FER2013's Usage names, so
    its FER2013Test is "PrivateTest (FER2013Test)"."""
    name = split or record.split
    folder = record.extra.get("split_folder")
    return f"{name} ({folder})" if folder else name


def _named_splits(section, name, path, options):
    """(validation, test or None, protocol) as `load_splits` gives them for a data section whose
    splits are named, reading the training split only when the validation split is carved from it."""
    from dataclasses import replace

    from fer_keras.data import load_dataset
    from fer_keras.data.splits import load_splits

    test = load_dataset(name, path, split=section.test, **options) if section.test else None
    if test is not None and len(test):
        return None, test, None
    validation = load_dataset(name, path, split=section.validation, **options) if section.validation else None
    if validation is not None and len(validation):
        return validation, None, f"train on {section.train}, select on {section.validation}"
    _, validation, _, protocol = load_splits(replace(section, test=None), path)
    return validation, None, protocol


def _missing_test(name, path, split):
    """Why dataset `name` at `path` has no samples in `split`, in a few words (its registry entry's
    `missing_split`, FERPlus's: the absent split folder)."""
    from fer_keras.data.datasets import get_dataset_info

    explain = get_dataset_info(name).missing_split
    reason = explain(path, split) if explain is not None else None
    if reason is not None:
        return reason
    return f"{path} has no {name} samples in split {split!r}"


def _standard_split(name, path, options):
    """(record, description) of dataset `name`'s test split, else its validation split with a note
    on stderr (`DatasetInfo.standard_splits`)."""
    from fer_keras.data import load_dataset
    from fer_keras.data.datasets import get_dataset_info

    test_split, validation_split = get_dataset_info(name).standard_splits
    try:
        test = load_dataset(name, path, split=test_split, **options)
        if len(test):
            return test, f"{split_name(test, test_split)} (test split)"
        validation = load_dataset(name, path, split=validation_split, **options)
    except DatasetError as err:
        raise ArgumentError("data", path, str(err)) from err
    missing = _missing_test(name, path, test_split)
    print(f"note: {missing}; scoring the validation split {split_name(validation, validation_split)} instead",
          file=sys.stderr)
    return validation, f"{split_name(validation, validation_split)} (validation split: {missing})"


@dataclass
class Evaluation:
    """What `evaluate_model` returns: the metrics dict, the (N, classes) probabilities, the record
    and the split evaluated, the test-time augmentation used."""

    metrics: dict
    probabilities: np.ndarray
    record: object
    split: str
    tta: str = None


def evaluate_model(model, recipe, dataset=None, data=None, split=None, tta=None, batch_size=None, chosen=None):
    """`classification_metrics` of `model` on the split chosen by `load_eval_record`, through the
    evaluation pipeline of `recipe` (a Recipe or its dict; MrCAR: its region crops from cached
    MTCNN landmarks). `tta`: "none", "tencrop" or None for the recipe's. `chosen`: the
    (record, description) `load_eval_record` already gave, instead of `dataset` / `data` / `split`."""
    from fer_keras.data.pipeline import images_problem
    from fer_keras.loading import num_outputs

    recipe = Recipe.of(recipe)
    tta = resolve_tta(tta, recipe.pipeline.tta)
    record, description = chosen if chosen is not None else load_eval_record(recipe, dataset, data, split)
    k = num_outputs(model)
    if len(record.class_names) != k:
        raise ArgumentError("dataset", record.name, f"has {len(record.class_names)} classes ({', '.join(record.class_names)}) "
                            f"but the model predicts {k}")
    config, inputs = evaluation_inputs(model, recipe, record, batch_size)
    for images in (inputs or {"image": record.images}).values():
        problem = images_problem(images, config)
        if problem is not None:
            raise ArgumentError("data", record.source, f"the images do not fit the model's pipeline ({problem})")
    try:
        probabilities = predict_probabilities(model, record, config, inputs, tta)
    except ValueError as err:  # Keras's: the model refuses the batches (say, their channels)
        if isinstance(err, FerKerasError):
            raise
        raise ArgumentError("data", record.source, f"the images do not fit the model's pipeline ({err})") from err
    metrics = classification_metrics(record.labels, probabilities, record.class_names)
    return Evaluation(metrics, probabilities, record, description, tta)
