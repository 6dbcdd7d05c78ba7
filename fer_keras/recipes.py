"""Training recipes as data: experiments/<model>_<dataset>.yaml.

A recipe has the sections model, data, pipeline, loss, optimizer, schedule and training (see
experiments/amdcnn_fer2013.yaml). `base: <recipe>` inherits another recipe and overrides what it
names. Command-line overrides are dotted keys with YAML values: `training.epochs=5`,
`pipeline.augmentation.rotation=15`, `optimizer.learning_rate=3e-4`.

    recipe = load_recipe("amdcnn", dataset="fer2013", overrides=["training.epochs=5"])
"""

import copy
from pathlib import Path

import yaml

from fer_keras.errors import RecipeError

SECTIONS = ("model", "data", "pipeline", "loss", "optimizer", "schedule", "training")
OPTIMIZERS = ("adam", "sgd")
SCHEDULES = (None, "epoch_step_decay", "cosine")
TRAINING_KEYS = ("epochs", "early_stopping_patience", "seed", "mixed_precision", "jit_compile", "distribute",
                 "time_limit_minutes", "collapse_warn_after", "bn_momentum", "initialization")
DATA_KEYS = ("dataset", "train", "validation", "test", "options", "regions", "folds", "expand")


def recipe_dirs():
    """Where recipes are looked up: ./experiments, then the checkout's experiments/."""
    return [Path.cwd() / "experiments", Path(__file__).resolve().parents[1] / "experiments"]


def available_recipes():
    """Training recipe names; ensemble_*.yaml (`fer-keras ensemble` configs) are not recipes."""
    names = set()
    for folder in recipe_dirs():
        names.update(p.stem for p in folder.glob("*.yaml") if not p.stem.startswith("ensemble_"))
    return sorted(names)


def _find(name):
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path
    for folder in recipe_dirs():
        candidate = folder / f"{name}.yaml"
        if candidate.is_file():
            return candidate
    raise RecipeError(f"No recipe {name!r}; available: {', '.join(available_recipes()) or 'none found'}")


def _merge(base, update):
    merged = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _read(path, seen=()):
    try:
        content = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise RecipeError(f"{path}: not valid YAML ({err})") from err
    if not isinstance(content, dict):
        raise RecipeError(f"{path}: a recipe must be a mapping of sections, got {type(content).__name__}")
    base = content.pop("base", None)
    if base is None:
        return content
    if base in seen:
        raise RecipeError(f"{path}: recipe inheritance loops through {base!r}")
    return _merge(_read(_find(base), (*seen, base)), content)


def apply_override(recipe, override):
    """Set one dotted `key=value` (value parsed as YAML) in `recipe`, in place."""
    if "=" not in override:
        raise RecipeError(f"override {override!r} must look like section.key=value (e.g. training.epochs=5)")
    key, text = override.split("=", 1)
    parts = key.strip().split(".")
    if parts[0] not in SECTIONS:
        raise RecipeError(f"override {override!r}: unknown section {parts[0]!r}; sections: {', '.join(SECTIONS)}")
    node = recipe
    for part in parts[:-1]:
        if node.get(part) is None:
            node[part] = {}
        node = node[part]
        if not isinstance(node, dict):
            raise RecipeError(f"override {override!r}: {part!r} is not a section")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as err:  # includes tags such as !!python/object, which safe_load refuses
        reason = str(err).splitlines()[0]
        raise RecipeError(f"override {override!r}: the value is not a plain YAML value ({reason})") from None
    if len(parts) == 1 and not (value is None and parts[0] == "schedule") and not isinstance(value, dict):
        raise RecipeError(f"override {override!r}: {parts[0]} is a section; set one of its keys, e.g. {parts[0]}.KEY=VALUE")
    node[parts[-1]] = value


def validate(recipe, source="recipe"):
    """Raise RecipeError (a ValueError) naming the first wrong key; return the recipe."""
    if not isinstance(recipe, dict):
        raise RecipeError(f"{source}: a recipe must be a mapping of sections, got {type(recipe).__name__}")
    missing = [s for s in SECTIONS if s not in recipe]
    unknown = sorted(set(recipe) - set(SECTIONS))
    if missing or unknown:
        raise RecipeError(f"{source}: missing section(s) {missing}, unknown section(s) {unknown}")
    for section in SECTIONS:
        if not isinstance(recipe[section], dict) and not (section == "schedule" and recipe[section] is None):
            raise RecipeError(f"{source}: section {section!r} must be a mapping of keys, got {recipe[section]!r}")
    for section, keys in (("training", TRAINING_KEYS), ("data", DATA_KEYS)):
        extra = sorted(set(recipe[section]) - set(keys))
        if extra:
            raise RecipeError(f"{source}: unknown {section} key(s) {extra}; known: {', '.join(keys)}")
    from fer_keras.models.registry import list_models

    if recipe["model"].get("name") not in list_models():
        raise RecipeError(f"{source}: model.name must be one of {', '.join(list_models())}, got {recipe['model'].get('name')!r}")
    if recipe["optimizer"].get("name") not in OPTIMIZERS:
        raise RecipeError(f"{source}: optimizer.name must be one of {OPTIMIZERS}, got {recipe['optimizer'].get('name')!r}")
    schedule = recipe["schedule"]
    if (schedule or {}).get("name") not in SCHEDULES:
        raise RecipeError(f"{source}: schedule.name must be one of {SCHEDULES}, got {schedule.get('name')!r}")
    epochs = recipe["training"].get("epochs")
    if not isinstance(epochs, int) or epochs < 1:
        raise RecipeError(f"{source}: training.epochs must be a positive integer, got {epochs!r}")
    data = recipe["data"]
    if data.get("test") is not None and data.get("test") == data.get("validation"):
        raise RecipeError(
            f"{source}: data.validation and data.test are both {data['test']!r}; model selection on the "
            "test split is refused (select on a validation split, test once at the end)"
        )
    from fer_keras.data.pipeline import PipelineConfig

    try:
        pipeline = PipelineConfig.from_dict(recipe["pipeline"])
    except ValueError as err:
        raise RecipeError(f"{source}: pipeline: {err}") from err
    shape = recipe["model"].get("input_shape")
    if shape is not None and pipeline.input_size is not None and tuple(shape[:2]) != pipeline.input_size:
        raise RecipeError(
            f"{source}: model.input_shape {list(shape)} does not match pipeline.input_size {list(pipeline.input_size)} "
            "(the pipeline crops images to the model's input)"
        )
    if shape is not None and pipeline.channels is not None and shape[2] != pipeline.channels:
        raise RecipeError(f"{source}: model.input_shape {list(shape)} has {shape[2]} channels but pipeline.channels is {pipeline.channels}")
    return recipe


def load_recipe(name, dataset=None, overrides=()):
    """The resolved recipe: `name` is a recipe file, a recipe name (amdcnn_fer2013), or a model name
    (`fer_keras.models.list_models`) or recipe family (amdcnn_plus) combined with `dataset` (default
    fer2013); then `overrides` applied and checked."""
    from fer_keras.models.registry import list_models

    if name in list_models():
        name = f"{name}_{dataset or 'fer2013'}"
    try:
        path = _find(name)
    except RecipeError:  # a recipe family with the dataset left out: amdcnn_plus -> amdcnn_plus_fer2013
        try:
            path = _find(f"{name}_{dataset or 'fer2013'}")
        except RecipeError:
            raise RecipeError(f"No recipe {name!r}; available: {', '.join(available_recipes()) or 'none found'}") from None
    recipe = _read(path)
    for override in overrides:
        apply_override(recipe, override)
    return validate(recipe, source=str(path))
