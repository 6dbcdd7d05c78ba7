"""Training recipes as data: one YAML file per paper and dataset, shipped in this package
(fer_keras/recipes/<model>_<dataset>.yaml; README.md beside them explains every section).

A recipe has the sections model, data, pipeline, loss, optimizer, schedule and training (see
fer_keras/recipes/amdcnn_fer2013.yaml). `base: <recipe>` inherits another recipe and overrides what
it names. Command-line overrides are dotted keys with YAML values: `training.epochs=5`,
`pipeline.augmentation.rotation=15`, `optimizer.learning_rate=3e-4`.

    recipe = load_recipe("amdcnn", dataset="fer2013", overrides=["training.epochs=5"])

Where a name is looked up, first match wins: a .yaml path as given; ./experiments/<name>.yaml in
the working directory (a user's own recipe of that name); the recipes shipped in this package
(read with importlib.resources, so an installed wheel has them). A `base:` is looked up the same
way, a .yaml path also beside the file that names it.

Every recipe is checked on load and again after the overrides (fer_keras.recipes.schema): an
unknown key is refused naming it and the closest known one, a wrong type or value naming the key.
`load_recipe` gives the plain dict, as written in a run's config.yaml; the code reads it as a
`Recipe`, one typed section each (`Recipe.of(recipe)`; fer_keras.recipes.schema), and hands each
module the section it uses.
"""

import copy
import re
from importlib import resources
from pathlib import Path

import yaml

from fer_keras.errors import RecipeError
from fer_keras.recipes.schema import SECTIONS, Invalid, Recipe, check_recipe

LOCAL_DIR = "experiments"  # ./experiments/<name>.yaml of the working directory comes before the package's


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, reading 3e-4 as a float as YAML 1.2 does (YAML 1.1, PyYAML's, wants 3.0e-4)."""


_Loader.add_implicit_resolver("tag:yaml.org,2002:float",
                              re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"), list("-+0123456789"))


def _yaml(text):
    return yaml.load(text, Loader=_Loader)  # a SafeLoader: no Python tags


def _is_recipe_file(name):
    return name.endswith(".yaml") and not name.startswith("ensemble_")  # ensemble_*: `fer-keras ensemble` configs


def shipped_recipes():
    """{name: file} of the recipes shipped in this package (importlib.resources Traversables)."""
    return {entry.name[: -len(".yaml")]: entry for entry in resources.files(__name__).iterdir()
            if entry.is_file() and _is_recipe_file(entry.name)}


def local_recipes():
    """{name: path} of the recipes in ./experiments of the working directory, which come first."""
    folder = Path.cwd() / LOCAL_DIR
    return {p.stem: p for p in sorted(folder.glob("*.yaml")) if _is_recipe_file(p.name)} if folder.is_dir() else {}


def available_recipes():
    """Training recipe names: the shipped ones and ./experiments' (ensemble_*.yaml are not recipes)."""
    return sorted(set(shipped_recipes()) | set(local_recipes()))


def _no_recipe(name):
    return RecipeError(f"No recipe {name!r}; available: {', '.join(available_recipes()) or 'none found'}")


def _lookup(name, beside=None, including=None):
    """The file of recipe `name`, or None: a .yaml path (also relative to the folder `beside`), else
    ./experiments/<name>.yaml, else the package's <name>.yaml. A file never finds itself as its own
    base (`including`): ./experiments/amdcnn_fer2013.yaml may say `base: amdcnn_fer2013`."""
    name = str(name)
    if name.endswith((".yaml", ".yml")):
        for path in ([Path(beside) / name] if beside is not None and not Path(name).is_absolute() else []) + [Path(name)]:
            if path.is_file():
                return path
    for found in (local_recipes().get(name), shipped_recipes().get(name)):
        if found is not None and (including is None or str(found) != str(including)):
            return found
    return None


def _find(name, beside=None, including=None):
    """`_lookup`'s file; a RecipeError naming the recipes there are when there is none."""
    found = _lookup(name, beside, including)
    if found is None:
        raise _no_recipe(name)
    return found


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
        content = _yaml(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise RecipeError(f"{path}: not valid YAML ({err})") from err
    if not isinstance(content, dict):
        raise RecipeError(f"{path}: a recipe must be a mapping of sections, got {type(content).__name__}")
    base = content.pop("base", None)
    if base is None:
        return content
    if str(path) in seen:
        raise RecipeError(f"{path}: recipe inheritance loops back to this file")
    beside = Path(path).parent if isinstance(path, Path) else None
    return _merge(_read(_find(base, beside, including=path), (*seen, str(path))), content)


def _override_key(override):
    return override.split("=", 1)[0].strip()


def apply_override(recipe, override):
    """Set one dotted `key=value` (value parsed as YAML) in `recipe`, in place."""
    if "=" not in override:
        raise RecipeError(f"override {override!r} must look like section.key=value (e.g. training.epochs=5)")
    key, text = override.split("=", 1)
    parts = key.strip().split(".")
    if parts[0] not in SECTIONS:
        from fer_keras.recipes.schema import did_you_mean

        raise RecipeError(f"override {override!r}: unknown section {parts[0]!r}{did_you_mean(parts[0], SECTIONS)}; "
                          f"sections: {', '.join(SECTIONS)}")
    node = recipe
    for part in parts[:-1]:
        if node.get(part) is None:
            node[part] = {}
        node = node[part]
        if not isinstance(node, dict):
            raise RecipeError(f"override {override!r}: {part!r} is not a section")
    try:
        value = _yaml(text)
    except yaml.YAMLError as err:  # includes tags such as !!python/object, which the safe loader refuses
        reason = str(err).splitlines()[0]
        raise RecipeError(f"override {override!r}: the value is not a plain YAML value ({reason})") from None
    if len(parts) == 1 and not (value is None and parts[0] == "schedule") and not isinstance(value, dict):
        raise RecipeError(f"override {override!r}: {parts[0]} is a section; set one of its keys, e.g. {parts[0]}.KEY=VALUE")
    node[parts[-1]] = value


def _touches(override, keys):
    """Whether `override` set one of `keys` (dotted paths), a key inside one, or a section holding one."""
    set_key = _override_key(override)
    return any(k == set_key or k.startswith(set_key + ".") or set_key.startswith(k + ".") for k in keys)


def validate(recipe, source="recipe", overrides=()):
    """Check `recipe` (fer_keras.recipes.schema) and return it unchanged; a RecipeError (a
    ValueError) names the first wrong key, and the last of `overrides` that set it, else `source`."""
    try:
        return check_recipe(recipe)
    except Invalid as problem:
        blamed = [o for o in overrides if _touches(o, problem.keys)]
        where = f"override {blamed[-1]!r}" if blamed else source
        raise RecipeError(f"{where}: {problem}") from None


def find_recipe(name, dataset=None):
    """The file of recipe `name` as `load_recipe` resolves it (a Path or a package resource), or
    None: a model name is <name>_<dataset> (default fer2013), and a recipe family with the dataset
    left out is completed the same way (amdcnn_plus -> amdcnn_plus_fer2013)."""
    from fer_keras.models.registry import list_models

    if name in list_models():
        name = f"{name}_{dataset or 'fer2013'}"
    found = _lookup(name)
    return found if found is not None else _lookup(f"{name}_{dataset or 'fer2013'}")


def recipe_file(name, dataset=None):
    """`find_recipe`'s file; a RecipeError naming the recipes there are when there is none."""
    from fer_keras.models.registry import list_models

    found = find_recipe(name, dataset)
    if found is None:
        raise _no_recipe(f"{name}_{dataset or 'fer2013'}" if name in list_models() else name)
    return found


def load_recipe(name, dataset=None, overrides=()):
    """The resolved recipe: `name` is a recipe file, a recipe name (amdcnn_fer2013), or a model name
    (`fer_keras.models.list_models`) or recipe family (amdcnn_plus) combined with `dataset` (default
    fer2013); checked as read, then `overrides` applied and the result checked again."""
    path = recipe_file(name, dataset)
    recipe = _read(path)
    validate(recipe, source=str(path))
    for override in overrides:
        apply_override(recipe, override)
    return validate(recipe, source=str(path), overrides=overrides) if overrides else recipe


def _summary(text):
    """The first sentence of a recipe file's header comment (outside parentheses), or None."""
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line[1:].strip())
    header, depth = " ".join(lines), 0
    for i, char in enumerate(header):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char in ".:" and depth == 0 and (i + 1 == len(header) or header[i + 1] == " "):
            return header[:i]
    return header or None


def recipe_catalog():
    """One entry per available recipe: name, model, dataset, summary (the header comment's first
    sentence) and source ("package", or the ./experiments file that takes its name's place)."""
    local, entries = local_recipes(), []
    for name in available_recipes():
        path = _find(name)
        try:
            recipe = _read(path)
        except RecipeError as err:
            entries.append({"name": name, "model": None, "dataset": None, "summary": f"unreadable: {err}",
                            "source": str(path)})
            continue
        model = (recipe.get("model") or {}).get("name")
        dataset = (recipe.get("data") or {}).get("dataset")
        entries.append({"name": name, "model": model, "dataset": dataset,
                        "summary": _summary(path.read_text()) or f"{model} on {dataset}",
                        "source": str(local[name]) if name in local else "package"})
    return entries


__all__ = ["SECTIONS", "Recipe", "apply_override", "available_recipes", "find_recipe", "load_recipe", "recipe_catalog", "recipe_file",
           "shipped_recipes", "validate"]
