"""Loading a trained model with what using it needs: from a training run, a weights file or a
bundled pretrained name, with its recipe and class names.

    from fer_keras.loading import load_run, load_trained, load_model_weights
    model, recipe = load_run("runs/amdcnn_fer2013")             # best.keras and the run's recipe
    trained = load_trained(pretrained="amdcnn_fer2013")          # a Trained: model, recipe, class_names
    model = load_model_weights("amdcnn", "amdcnn.weights.h5")   # built from the amdcnn_fer2013 recipe

Also what a loaded model takes and gives (`model_inputs`, `input_shape`, `uses_regions`,
`num_outputs`), which evaluation, photos (fer_keras.classify) and export read. A run folder's files
are fer_keras.run.folder's.

Errors are `fer_keras.errors.ArgumentError`s naming the argument as `load_trained` calls it (run,
model, weights, pretrained, recipe, overrides), whichever function raised them.
"""

import sys
from dataclasses import dataclass, field
from pathlib import Path

from fer_keras import load_model
from fer_keras.data.labels import CLASS_NAMES, CLASS_NAMES_CONTEMPT
from fer_keras.errors import NO_VALUE, ArgumentError, FerKerasError
from fer_keras.recipes.schema import Recipe
from fer_keras.run.folder import class_names as run_class_names, model_file, read_run_config


# ------------------------------------------------------------------------------------- loading


def _keras_file_problem(path):
    """Why `path` is not a readable .keras file (a zip archive holding config.json), or None."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except zipfile.BadZipFile:
        return "not a zip archive: truncated, or not saved by Keras 3's model.save"
    except OSError as err:
        return err.strerror or str(err)
    if "config.json" not in names:
        return "a zip archive without the config.json a .keras file holds"
    return None


def load_keras_file(path, argument="path"):
    """The fer_keras model saved in the .keras file `path`; an ArgumentError naming `argument` when
    it is not a readable Keras model file or not a fer_keras model."""
    import zipfile
    import zlib

    problem = _keras_file_problem(path)
    if problem is not None:  # Keras itself says "File not found" for any file that is not a zip
        raise ArgumentError(argument, path, f"not a readable Keras model file ({problem})")
    try:
        model = load_model(path, compile=False)  # registers fer_keras's layers, losses and schedules first
    except (zipfile.BadZipFile, zlib.error, EOFError) as err:  # a damaged member of the archive
        raise ArgumentError(argument, path, f"not a readable Keras model file ({err})") from err
    except (ValueError, OSError, TypeError, KeyError) as err:  # Keras's: not a model it can rebuild
        raise ArgumentError(argument, path, f"cannot be loaded as a Keras model ({err})") from err
    check_model(model, argument, path)
    return model


def check_model(model, argument="model", value=NO_VALUE):
    """Raise an ArgumentError naming `argument` (and `value`, where the model came from) unless
    `model` is a fer_keras model (a dict output with "probabilities")."""
    outputs = getattr(model, "output", None)
    if not isinstance(outputs, dict) or "probabilities" not in outputs:
        raise ArgumentError(argument, value, "not a fer_keras model (its outputs have no 'probabilities')")
    return model


def load_run(run_dir):
    """(model, recipe) of a run directory: best.keras (last.keras when the run saved no best) and
    the resolved recipe from its config.yaml (the plain dict; `Recipe.of` reads it)."""
    saved = read_run_config(run_dir, "run")
    return load_keras_file(model_file(run_dir, "run"), "run"), saved["recipe"]


def model_recipe(name, dataset=None, recipe=None, overrides=()):
    """The Recipe a model name's weights are used with: `recipe` (a recipe name or .yaml file) when
    given, else <name>_<dataset> when that recipe exists, else <name>_fer2013; then `overrides`."""
    from fer_keras.models.registry import list_models
    from fer_keras.recipes import find_recipe, load_recipe

    if name not in list_models():
        raise ArgumentError("model", name, f"unknown model; available: {', '.join(list_models())}")
    if recipe is not None:
        resolved = load_recipe(recipe, overrides=overrides)
    else:
        resolved = load_recipe(name, dataset if dataset and find_recipe(name, dataset) is not None else None, overrides)
    resolved = Recipe.of(resolved)
    if resolved.model.name != name:
        raise ArgumentError("recipe", recipe, f"the recipe is for {resolved.model.name!r}, not `model={name!r}`")
    return resolved


WEIGHTS_SUFFIXES = (".h5", ".hdf5", ".weights.json")  # what Keras 3 load_weights reads besides .keras


def _weights_file_problem(path):
    """Why `path` cannot be opened as an HDF5 weights file, or None."""
    import h5py

    try:
        with h5py.File(path, "r"):
            return None
    except OSError as err:
        return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def load_model_weights(name, weights_file, recipe=None, **options):
    """Model `name` with the weights in `weights_file`.

    A .keras file is loaded whole (its architecture included). Other files (.weights.h5) are
    loaded into `build_model(name, ...)` with the input shape, class count and options of
    `recipe` (a Recipe or its dict; default: the model's FER2013 recipe), `options` overriding them.
    """
    from fer_keras.models import build_model

    path = Path(weights_file)
    if not path.is_file():
        raise ArgumentError("weights", path, "no such file")
    if path.suffix == ".keras":
        model = load_keras_file(path, "weights")
        from fer_keras.models.registry import list_models

        if name is not None and model.name in list_models() and model.name != name:
            raise ArgumentError("weights", path, f"holds a {model.name} model, not `model={name!r}`")
        return model
    if not path.name.lower().endswith(WEIGHTS_SUFFIXES):
        raise ArgumentError("weights", path, "not a weights file Keras reads (expected a .keras model "
                            "or .weights.h5 weights)")
    problem = None if path.name.lower().endswith(".json") else _weights_file_problem(path)
    if problem is not None:  # not the recipe's fault: say so before building the model
        raise ArgumentError("weights", path, f"not a readable weights file ({problem}; truncated, or not an "
                            "HDF5 .weights.h5 file)")
    section = (Recipe.of(recipe) if recipe is not None else model_recipe(name)).model
    settings = {**section.options, **options}
    try:
        model = build_model(name, input_shape=section.input_shape, num_classes=section.num_classes, **settings)
    except FerKerasError:
        raise
    except ValueError as err:  # Keras's or a layer's (say, too small an input for the network)
        raise ArgumentError("model", name, str(err)) from err
    import warnings

    def misfit(reason):
        return ArgumentError("weights", path, f"does not fit {name} with input {tuple(model.inputs[0].shape[1:])}, "
                             f"{section.num_classes} classes and options {settings} ({reason}); "
                             "name the recipe they were trained with (`recipe`, `overrides`)")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.load_weights(path)
        except OSError as err:  # the file opened but a dataset in it cannot be read
            raise ArgumentError("weights", path, f"not a readable weights file ({str(err).strip()})") from err
        except (ValueError, KeyError, TypeError) as err:
            raise misfit(str(err).strip().splitlines()[0]) from err
    skipped = [str(w.message) for w in caught if "freshly-initialized" in str(w.message)]
    if skipped:  # Keras loaded part of the file and left other layers as initialised
        raise misfit(skipped[0].split(":")[0])
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return model


@dataclass
class Trained:
    """A loaded model with what using it needs: its recipe (a Recipe; a dict given is read into
    one), where it came from, class names and, for a run, the data path it was trained on."""

    model: object
    recipe: Recipe
    source: str
    class_names: tuple
    data: str = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        self.recipe = Recipe.of(self.recipe)

    @property
    def name(self):
        return self.recipe.model.name


def class_names_for(model, run_dir=None):
    """Class names of the model's outputs: the run's (metrics.json) when they fit, else the
    canonical seven (eight with contempt), else class_0, class_1, ..."""
    k = num_outputs(model)
    names = None if run_dir is None else run_class_names(run_dir, k)
    if names is not None:
        return names
    if k == len(CLASS_NAMES):
        return CLASS_NAMES
    if k == len(CLASS_NAMES_CONTEMPT):
        return CLASS_NAMES_CONTEMPT
    return tuple(f"class_{i}" for i in range(k))


def load_pretrained_trained(name):
    """A Trained from the weights bundled in the package (`fer_keras.models.load_pretrained`); a
    PretrainedError names `pretrained`."""
    from fer_keras.models.pretrained import load_pretrained_with_info

    model, info = load_pretrained_with_info(name, argument="pretrained")
    return Trained(model, info["recipe"], f"pretrained {name}", tuple(info["class_names"]), extra={"pretrained": info})


def load_trained(run=None, model=None, weights=None, dataset=None, recipe=None, overrides=(), pretrained=None):
    """A Trained from a run directory, a model name and weights file, or a bundled pretrained name
    (see `load_run`, `load_model_weights`, `model_recipe`, `load_pretrained_trained`). Errors are
    ArgumentErrors naming the argument."""
    sources = [name for name, value in (("`run`", run), ("`pretrained`", pretrained), ("`model`/`weights`", model or weights))
               if value is not None]
    if len(sources) > 1:
        raise ArgumentError(None, problem=f"give one of `run`, `pretrained` or `model` and `weights`, not {' and '.join(sources)}")
    if (pretrained is not None or run is not None) and (recipe is not None or overrides):
        argument, value = ("recipe", recipe) if recipe is not None else ("overrides", list(overrides))
        raise ArgumentError(argument, value, f"applies to `model` and `weights`; a {'pretrained model' if run is None else 'run'} "
                            "uses its own recipe")
    if pretrained is not None:
        return load_pretrained_trained(pretrained)
    if run is not None:
        loaded, resolved = load_run(run)
        data = read_run_config(run, "run").get("data")
        return Trained(loaded, resolved, f"run {run}", class_names_for(loaded, run), data)
    if weights is None:
        if model is not None:
            raise ArgumentError("weights", problem=f"`model={model!r}` needs its weights file (or give `run`)")
        raise ArgumentError(None, problem="no model: give `run` (a training run), `pretrained` (bundled weights, "
                            "e.g. amdcnn_fer2013) or `model` and `weights`")
    from fer_keras.models.registry import list_models

    if model is None:
        if Path(weights).suffix != ".keras":
            raise ArgumentError("weights", weights, f"a weights-only file needs `model` ({', '.join(list_models())})")
        loaded = load_model_weights(None, weights)
        if loaded.name not in list_models():
            raise ArgumentError("weights", weights, f"holds model {loaded.name!r}; "
                                "say which fer_keras model it is with `model`")
        model = loaded.name
        resolved = _fit_recipe(model_recipe(model, dataset, recipe, overrides), loaded, weights)
    else:
        resolved = model_recipe(model, dataset, recipe, overrides)
        loaded = load_model_weights(model, weights, resolved)
        resolved = _fit_recipe(resolved, loaded, weights)
    return Trained(loaded, resolved, f"{model} weights {weights}", class_names_for(loaded))


def _fit_recipe(recipe, model, source):
    """The Recipe for the input `model` takes (`Recipe.with_input_shape`: a whole .keras model may
    have been trained at another input than its recipe names), with a note when that changed it."""
    fitted = recipe.with_input_shape(input_shape(model))
    if fitted is not recipe:
        print(f"note: {source} takes {tuple(input_shape(model))} inputs; the recipe's pipeline is set to that size",
              file=sys.stderr)
    return fitted


def default_data(trained, dataset=None, data=None):
    """`data`, else the run's data path when `dataset` is the run's dataset (or not given)."""
    if data is not None:
        return data
    if dataset is None or dataset == trained.recipe.data.dataset:
        return trained.data
    return None


# ------------------------------------------------------------------- what a loaded model takes


def model_inputs(model):
    """{input name: (H, W, C)}; for a single-input model the one name is "image" (or its own)."""
    structure = model.input
    if isinstance(structure, dict):
        return {name: tuple(int(d) for d in tensor.shape[1:]) for name, tensor in structure.items()}
    tensor = structure[0] if isinstance(structure, (list, tuple)) else structure
    return {getattr(tensor, "name", "image") or "image": tuple(int(d) for d in tensor.shape[1:])}


def uses_regions(model):
    """Whether the model takes MrCAR's {"face", "eyes", "mouth"} inputs."""
    return isinstance(model.input, dict)


def input_shape(model):
    """(H, W, C) of the model's (first) image input."""
    return next(iter(model_inputs(model).values()))


def num_outputs(model):
    """How many classes the model's "probabilities" output has."""
    return int(model.output["probabilities"].shape[-1])


__all__ = [
    "WEIGHTS_SUFFIXES",
    "Trained",
    "check_model",
    "class_names_for",
    "default_data",
    "input_shape",
    "load_keras_file",
    "load_model_weights",
    "load_pretrained_trained",
    "load_run",
    "load_trained",
    "model_inputs",
    "model_recipe",
    "num_outputs",
    "uses_regions",
]
