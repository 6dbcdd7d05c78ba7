"""What a recipe may hold: its sections, the keys of each and the values they take, checked when a
recipe is loaded and again after the command line's overrides (`fer_keras.recipes.load_recipe`).

The keys are read from the code that receives them, so that an option added there is known here:

    model.options          the registered builder's keyword arguments (fer_keras.models.registry)
    data.options           the dataset reader's keyword arguments (fer_keras.data.READERS)
    data.folds             fer_keras.data.kfold's (k, protocol, seed), and fold
    data.expand            fer_keras.data.expand.expand_record's, and before_split
    pipeline               fer_keras.data.PipelineConfig's fields (not seed: training.seed sets it)
    pipeline.augmentation  fer_keras.data.Augmentation's fields
    loss                   fer_keras.models.objectives.loss_options(name), and warmup_epochs
    optimizer              the Keras optimizer's arguments (sgd: with CoupledL2SGD's l2); its moving
                           average of the weights only as ema_momentum (`EMA_KEYS`)
    schedule               fer_keras.schedules.SCHEDULES[name]'s keyword arguments
    training               `TrainingSection` below (what fer_keras.training reads)

A value's type comes from the receiving argument's annotation or, without one, from its default
(a default of None says nothing: the receiver checks such values). Then the receivers' own checks
run where they are cheap and need no data (PipelineConfig, the losses' constructors, the
schedules, the folds and expansion checks), so a bad value stops before any data is read.

Hand-written checks and plain dataclasses rather than a validation library (pydantic): the keys
must come from signatures that change with the code, which pydantic models would restate, and
the recipe has to stay the plain dict a person reads in config.yaml (nothing is added or
converted by the checks; `check_recipe` returns the dict it was given).

The code reads a checked recipe as a `Recipe`: one typed section each (`ModelSection`,
`DataSection` with its `Folds`, the pipeline as a `fer_keras.data.PipelineConfig`, `LossSection`,
`OptimizerSection`, `ScheduleSection`, `TrainingSection`), built once from the dict, which it keeps
for `to_dict` (config.yaml). A module is handed the section it uses, not the dict.
"""

import copy
import difflib
import inspect
import types
import typing
from dataclasses import asdict, dataclass, field, is_dataclass

SECTIONS = ("model", "data", "pipeline", "loss", "optimizer", "schedule", "training")
MIXED_PRECISIONS = ("auto", "cpu_bfloat16", "mixed_float16", "mixed_bfloat16", "float32", True, False)
DISTRIBUTIONS = ("auto", "mirrored", "multi_worker", "none", None, False)
JIT_COMPILE = ("auto", True, False)


class Invalid(Exception):
    """A recipe problem; `keys` are the dotted keys it concerns (what an override may have set)."""

    def __init__(self, keys, problem):
        self.keys = (keys,) if isinstance(keys, str) else tuple(keys)
        super().__init__(problem)


def did_you_mean(word, choices):
    """" (did you mean 'x'?)" with the closest of `choices` (difflib), or ""."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


# ------------------------------------------------------------------------------ value kinds

_LABELS = {bool: "true or false", int: "an integer", float: "a number", str: "a string", list: "a list",
           dict: "a mapping"}
_PLAIN = {bool: bool, int: int, float: float, str: str, list: list, tuple: list, dict: dict}


@dataclass(frozen=True)
class Kind:
    """The YAML values a key takes: `types` among bool, int, float, str, list and dict (None: any
    value), and whether null is one of them."""

    types: tuple = None
    nullable: bool = True

    def accepts(self, value):
        if self.types is None:
            return True
        if value is None:
            return self.nullable
        if isinstance(value, bool):
            return bool in self.types
        if isinstance(value, int):
            return int in self.types or float in self.types
        for plain in (float, str, dict):
            if isinstance(value, plain):
                return plain in self.types
        return isinstance(value, (list, tuple)) and list in self.types

    def describe(self):
        names = [_LABELS[t] for t in self.types] + (["null"] if self.nullable else [])
        return " or ".join(names)


def kind_of(annotation=inspect.Parameter.empty, default=inspect.Parameter.empty):
    """The `Kind` of an argument from its annotation (plain types, their unions with None, a
    dataclass: a mapping), else from its default's type; Kind() (any value) when neither says."""
    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    members = typing.get_args(annotation) if union else (annotation,)
    found, nullable = [], default is None
    for member in members:
        member = typing.get_origin(member) or member  # list[int] -> list
        if member is inspect.Parameter.empty:
            continue
        if member is type(None):
            nullable = True
        elif member in _PLAIN:
            found.append(_PLAIN[member])
        elif is_dataclass(member):
            found.append(dict)
        else:
            return Kind()
    if not found:
        plain = _PLAIN.get(type(default))
        if plain is None:
            return Kind()
        found = [plain]
    return Kind(tuple(dict.fromkeys(found)), nullable)


@dataclass(frozen=True)
class Key:
    """One key of a section: its `Kind`, whether it must be there, and `check(value)`: what is wrong
    with a value of the right kind ("must be >= 1"), or None."""

    kind: Kind = Kind()
    required: bool = False
    check: object = None


def keys_of(function, skip=()):
    """{argument: Key} of `function`'s (or a class's constructor's) named arguments but `skip`:
    kinds from annotations or defaults, required where there is no default."""
    target = function.__init__ if isinstance(function, type) else function
    try:
        hints = typing.get_type_hints(target)
    except Exception:  # an annotation that does not resolve: use the defaults
        hints = {}
    keys = {}
    for name, parameter in inspect.signature(function).parameters.items():
        if name in skip or name == "self" or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        keys[name] = Key(kind_of(hints.get(name, parameter.annotation), parameter.default),
                         required=parameter.default is parameter.empty)
    return keys


def _at_least(low):
    return lambda value: None if value >= low else f"must be >= {low}"


def _positive(value):
    return None if value > 0 else "must be > 0"


def _one_of(choices):
    shown = ", ".join("null" if c is None else str(c).lower() if isinstance(c, bool) else str(c) for c in choices)
    return lambda value: None if any(value is c or (type(value) is type(c) and value == c) for c in choices) else (
        f"must be one of {shown}, got {value!r}{did_you_mean(value, [c for c in choices if isinstance(c, str)])}")


INTEGER, NUMBER, STRING, BOOLEAN, LIST = (Kind((t,), False) for t in (int, float, str, bool, list))


def check_keys(where, mapping, keys, owner=None):
    """Check the mapping at dotted path `where` against `keys` ({name: Key}): no unknown key (the
    closest known one suggested), none required missing, every value of its kind and passing its
    check. `owner` names what takes these keys in the messages (default `where`)."""
    owner = owner or where
    if not isinstance(mapping, dict):
        raise Invalid(where, f"{where} must be a mapping of keys, got {mapping!r}")
    for key in mapping:
        if key not in keys:
            close = difflib.get_close_matches(str(key), list(keys), n=1)
            hint = f"; did you mean {where}.{close[0]}?" if close else ""
            raise Invalid(f"{where}.{key}", f"unknown key {where}.{key}{hint} ({owner} takes: "
                          f"{', '.join(sorted(keys)) or 'no keys'})")
    for name, key in keys.items():
        path = f"{where}.{name}"
        if name not in mapping:
            if key.required:
                raise Invalid(path, f"{path} is missing ({owner} needs it)")
            continue
        value = mapping[name]
        if not key.kind.accepts(value):
            raise Invalid(path, f"{path} must be {key.kind.describe()}, got {value!r}")
        problem = None if key.check is None or value is None else key.check(value)
        if problem:  # "must be >= 1", or with what was given: "must be one of ..., got 'x' (did you mean ...)"
            raise Invalid(path, f"{path} {problem}" if ", got " in problem else f"{path} {problem}, got {value!r}")
    return mapping


def _choice(path, value, choices):
    if value not in choices:
        raise Invalid(path, f"{path} must be one of {', '.join(map(str, choices))}, got {value!r}"
                      f"{did_you_mean(value, choices)}")


def _passes(keys, problem, check, *args, **kwargs):
    """Run a receiver's own check; its ValueError or TypeError is an Invalid about `keys`."""
    try:
        return check(*args, **kwargs)
    except (ValueError, TypeError) as err:
        text = str(err)
        raise Invalid(keys, text if text.startswith(problem) else f"{problem}: {text}") from None


# ------------------------------------------------------------------------------- the training section


@dataclass(frozen=True)
class TrainingSection:
    """The training section, as fer_keras.training reads it (the defaults are its defaults).

    epochs; early_stopping_patience (epochs without a better validation accuracy; null: no early
    stopping); seed; mixed_precision (auto, cpu_bfloat16, mixed_float16, mixed_bfloat16, float32,
    true, false); jit_compile (auto, true, false); distribute (auto, mirrored, multi_worker, none);
    time_limit_minutes; collapse_warn_after (the epoch from which the collapse warnings speak);
    bn_momentum (every BatchNormalization's momentum; null: as built); initialization (keras,
    pytorch).
    """

    epochs: int
    early_stopping_patience: int | None = None
    seed: int = 0
    mixed_precision: str | bool = "auto"
    jit_compile: str | bool = "auto"
    distribute: str | bool | None = "auto"
    time_limit_minutes: float | None = None
    collapse_warn_after: int = 3
    bn_momentum: float | None = None
    initialization: str = "keras"

    @staticmethod
    def checks():
        from fer_keras.torch_defaults import INITIALIZATIONS

        return {"epochs": _at_least(1), "early_stopping_patience": _at_least(0), "mixed_precision": _one_of(MIXED_PRECISIONS),
                "jit_compile": _one_of(JIT_COMPILE), "distribute": _one_of(DISTRIBUTIONS), "time_limit_minutes": _positive,
                "collapse_warn_after": _at_least(0), "initialization": _one_of(INITIALIZATIONS),
                "bn_momentum": lambda m: None if 0 <= m < 1 else "must be in [0, 1)"}

    @classmethod
    def keys(cls):
        checks = cls.checks()
        return {name: Key(key.kind, key.required, checks.get(name)) for name, key in keys_of(cls).items()}

    @classmethod
    def from_dict(cls, section):
        """The section checked (an Invalid names the key) and read, defaults filled in."""
        return cls(**check_keys("training", section, cls.keys()))


# ------------------------------------------------------------------------------- the sections


def _shape(value):
    if len(value) == 3 and all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in value):
        return None
    return "must be [height, width, channels], three positive integers"


def _model(section):
    from fer_keras.models.registry import get_model_info, list_models

    if not isinstance(section, dict):
        raise Invalid("model", f"model must be a mapping of keys, got {section!r}")
    _choice("model.name", section.get("name"), list_models())
    check_keys("model", section, {"name": Key(STRING, True), "input_shape": Key(LIST, True, _shape),
                                  "num_classes": Key(INTEGER, check=_at_least(2)), "options": Key(Kind((dict,)))})
    info = get_model_info(section["name"])
    check_keys("model.options", section.get("options") or {},
               keys_of(info.builder, skip=("input_shape", "num_classes", "name")), owner=f"model {info.name!r}")


DATA_KEYS = {"dataset": Key(STRING, True), "train": Key(Kind((str,))), "validation": Key(Kind((str,))),
             "test": Key(Kind((str,))), "options": Key(Kind((dict,))), "regions": Key(BOOLEAN),
             "folds": Key(Kind((dict,))), "expand": Key(Kind((dict,)))}


def _data(section):
    from fer_keras.data import READERS, kfold
    from fer_keras.data.expand import expand_record
    from fer_keras.data.splits import _check_expand, _check_folds
    from fer_keras.errors import RecipeError

    if not isinstance(section, dict):
        raise Invalid("data", f"data must be a mapping of keys, got {section!r}")
    _choice("data.dataset", section.get("dataset"), sorted(READERS))
    check_keys("data", section, DATA_KEYS)
    name = section["dataset"]
    check_keys("data.options", section.get("options") or {}, keys_of(READERS[name], skip=("path", "split")),
               owner=f"the {name} reader")
    folds, expand = section.get("folds"), section.get("expand")
    if folds:
        check_keys("data.folds", folds, {**keys_of(kfold, skip=("record",)), "fold": Key(INTEGER)})
        try:
            _check_folds(folds)
        except RecipeError as err:
            raise Invalid("data.folds", str(err)) from None
    elif "train" not in section:
        raise Invalid("data.train", "data.train is missing (the training split's name; or data.folds)")
    if expand:
        check_keys("data.expand", expand, {**keys_of(expand_record, skip=("record",)), "before_split": Key(BOOLEAN)})
        try:
            _check_expand(expand)
        except RecipeError as err:
            raise Invalid("data.expand", str(err)) from None
    if section.get("test") is not None and section.get("test") == section.get("validation"):
        raise Invalid(("data.validation", "data.test"),
                      f"data.validation and data.test are both {section['test']!r}; model selection on the test "
                      "split is refused (select on a validation split, test once at the end)")


def _pipeline(section, model):
    from fer_keras.data.augment import Augmentation
    from fer_keras.data.pipeline import PipelineConfig

    if isinstance(section, dict) and "seed" in section:
        raise Invalid("pipeline.seed", "pipeline.seed is not a recipe key: training.seed seeds the pipeline")
    keys = {name: key for name, key in keys_of(PipelineConfig).items() if name != "seed"}
    check_keys("pipeline", section, keys)
    if isinstance(section.get("augmentation"), dict):
        check_keys("pipeline.augmentation", section["augmentation"], keys_of(Augmentation))
    config = _passes("pipeline", "pipeline", PipelineConfig.from_dict, section)
    shape = model.get("input_shape")
    if config.input_size is not None and tuple(shape[:2]) != config.input_size:
        raise Invalid(("model.input_shape", "pipeline.input_size"),
                      f"model.input_shape {list(shape)} does not match pipeline.input_size {list(config.input_size)} "
                      "(the pipeline crops images to the model's input)")
    if config.channels is not None and shape[2] != config.channels:
        raise Invalid(("model.input_shape", "pipeline.channels"),
                      f"model.input_shape {list(shape)} has {shape[2]} channels but pipeline.channels is {config.channels}")


def loss_keys(name):
    """{key: Key} of the loss section for loss `name`."""
    from fer_keras.models.objectives import loss_options

    keys = {option: Key(kind_of(p.annotation, p.default)) for option, p in loss_options(name).items()}
    return {"name": Key(STRING, True), **keys, "warmup_epochs": Key(NUMBER, check=_at_least(0))}


def _loss(section):
    from fer_keras.models.objectives import LOSS_NAMES, check_objective

    if not isinstance(section, dict):
        raise Invalid("loss", f"loss must be a mapping of keys, got {section!r}")
    _choice("loss.name", section.get("name"), LOSS_NAMES)
    check_keys("loss", section, loss_keys(section["name"]), owner=f"loss {section['name']!r}")
    options = {key: value for key, value in section.items() if key not in ("name", "warmup_epochs")}
    _passes("loss", "loss", check_objective, section["name"], **options)


# The Keras optimizers' moving-average arguments a recipe does not set: `ema_momentum` alone
# switches the average on, so that training also evaluates, selects and saves the averaged
# weights (fer_keras.training); use_ema without that would average weights nothing looks at.
EMA_KEYS = ("use_ema", "ema_overwrite_frequency")


def _ema_momentum(value):
    return None if 0 < value < 1 else "must be in (0, 1) (null: no moving average of the weights)"


def _optimizer(section):
    from fer_keras.schedules import optimizer_classes

    if not isinstance(section, dict):
        raise Invalid("optimizer", f"optimizer must be a mapping of keys, got {section!r}")
    classes = optimizer_classes()
    _choice("optimizer.name", section.get("name"), list(classes))
    for key in EMA_KEYS:
        if key in section:
            raise Invalid(f"optimizer.{key}", f"optimizer.{key} is not a recipe key: optimizer.ema_momentum "
                          "(a number in (0, 1); null: off) switches the moving average of the weights on")
    keys = {"name": Key(STRING, True)}
    for cls in classes[section["name"]]:
        keys.update(keys_of(cls, skip=("name", *EMA_KEYS)))
    keys["learning_rate"] = Key(NUMBER, True, _positive)  # the schedule starts from it
    keys["ema_momentum"] = Key(Kind((float,), True), check=_ema_momentum)
    check_keys("optimizer", section, keys, owner=f"optimizer {section['name']!r}")


def _schedule(section, epochs):
    from fer_keras.schedules import DEFAULT_SCHEDULE, SCHEDULE_ARGUMENTS, SCHEDULES

    if section is None:
        return
    if not isinstance(section, dict):
        raise Invalid("schedule", f"schedule must be null or a mapping of keys, got {section!r}")
    name = section.get("name", DEFAULT_SCHEDULE)
    _choice("schedule.name", name, list(SCHEDULES))
    keys = {"name": Key(STRING), **keys_of(SCHEDULES[name], skip=SCHEDULE_ARGUMENTS)}
    check_keys("schedule", section, keys, owner=f"schedule {name!r}")
    options = {key: value for key, value in section.items() if key != "name"}
    _passes("schedule", "schedule", SCHEDULES[name], 1.0, 1000, epochs, **options)


def check_recipe(recipe):
    """Raise `Invalid` at the first wrong key of `recipe` (a plain dict of sections); return it."""
    if not isinstance(recipe, dict):
        raise Invalid((), f"a recipe must be a mapping of sections, got {type(recipe).__name__}")
    for section in recipe:
        if section not in SECTIONS:
            raise Invalid(section, f"unknown section {section!r}{did_you_mean(section, SECTIONS)}; "
                          f"sections: {', '.join(SECTIONS)}")
    missing = [s for s in SECTIONS if s not in recipe]
    if missing:
        raise Invalid(missing, f"missing section(s) {', '.join(missing)}")
    _model(recipe["model"])
    _data(recipe["data"])
    _pipeline(recipe["pipeline"], recipe["model"])
    _loss(recipe["loss"])
    _optimizer(recipe["optimizer"])
    settings = TrainingSection.from_dict(recipe["training"])
    _schedule(recipe["schedule"], settings.epochs)
    return recipe


# ------------------------------------------------------------------------------- the typed recipe


@dataclass(frozen=True)
class ModelSection:
    """The model section: the registered model `name` (fer_keras.models.registry), its
    `input_shape` (H, W, C), `num_classes` (what a weights file is built with; training counts the
    data's classes) and the builder's keyword `options`."""

    name: str
    input_shape: tuple
    num_classes: int = 7
    options: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, section):
        return cls(section["name"], tuple(section["input_shape"]), section.get("num_classes", 7),
                   dict(section.get("options") or {}))


@dataclass(frozen=True)
class Folds:
    """data.folds: `fer_keras.data.kfold`'s k, protocol and seed, and the `fold` a run holds out
    (checked as made: a RecipeError names the key)."""

    k: int = 10
    protocol: str = "random"
    seed: int = 0
    fold: int = 0

    def __post_init__(self):
        from fer_keras.data.splits import _check_folds

        _check_folds(asdict(self))

    @classmethod
    def from_dict(cls, section):
        from fer_keras.data.splits import _check_folds

        _check_folds(section)  # names an unknown key too
        return cls(**section)


@dataclass(frozen=True)
class DataSection:
    """The data section, as `fer_keras.data.splits.load_splits` reads it: the dataset's name, its
    train / validation / test split names, the reader's `options`, MrCAR's `regions`, and for
    k-fold recipes the `Folds` and the expansion (`expand`: fer_keras.data.expand.expand_record's
    options and before_split)."""

    dataset: str
    train: str | None = None
    validation: str | None = None
    test: str | None = None
    options: dict = field(default_factory=dict)
    regions: bool = False
    folds: Folds | None = None
    expand: dict | None = None

    @classmethod
    def from_dict(cls, section):
        folds = section.get("folds")
        return cls(section["dataset"], section.get("train"), section.get("validation"), section.get("test"),
                   dict(section.get("options") or {}), bool(section.get("regions", False)),
                   Folds.from_dict(folds) if folds else None, dict(section["expand"]) if section.get("expand") else None)


@dataclass(frozen=True)
class LossSection:
    """The loss section: the loss `name` (fer_keras.models.objectives), the epochs over which its
    margin warms up (`warmup_epochs`), and its other keys, the loss's `options`."""

    name: str
    warmup_epochs: float = 0
    options: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, section):
        options = {key: value for key, value in section.items() if key not in ("name", "warmup_epochs")}
        return cls(section["name"], section.get("warmup_epochs", 0), options)


@dataclass(frozen=True)
class OptimizerSection:
    """The optimizer section: the optimizer's `name` (fer_keras.schedules.optimizer_classes), its
    base `learning_rate` (the schedule starts from it), its other keyword `options`, and
    `ema_momentum`: None, or the momentum of an exponential moving average of the weights (Keras's
    use_ema) that validation, the best-epoch selection and the saved weights then use."""

    name: str
    learning_rate: float
    options: dict = field(default_factory=dict)
    ema_momentum: float | None = None

    @classmethod
    def from_dict(cls, section):
        options = {key: value for key, value in section.items() if key not in ("name", "learning_rate", "ema_momentum")}
        return cls(section["name"], section["learning_rate"], options, section.get("ema_momentum"))


@dataclass(frozen=True)
class ScheduleSection:
    """The schedule section: `fer_keras.schedules.SCHEDULES[name]` and its keyword `options` (a
    recipe without one, `schedule: null`, keeps the learning rate constant)."""

    name: str
    options: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, section):
        """The section read; None for a null (or empty) one."""
        from fer_keras.schedules import DEFAULT_SCHEDULE

        if not section:
            return None
        return cls(section.get("name", DEFAULT_SCHEDULE), {key: value for key, value in section.items() if key != "name"})


@dataclass(frozen=True)
class Recipe:
    """A checked recipe read into its typed sections; the pipeline is a
    `fer_keras.data.PipelineConfig` seeded with training.seed. `to_dict()` is the plain dict it
    was read from, as config.yaml holds it.

        recipe = Recipe.of(load_recipe("amdcnn"))      # a Recipe as it is; a dict checked and read
        recipe.pipeline.batch_size, recipe.data.folds, recipe.training.epochs
    """

    model: ModelSection
    data: DataSection
    pipeline: object
    loss: LossSection
    optimizer: OptimizerSection
    schedule: ScheduleSection | None
    training: TrainingSection
    plain: dict = field(repr=False, compare=False)

    @classmethod
    def from_dict(cls, recipe, source="recipe"):
        """Check the plain dict `recipe` (a RecipeError, a ValueError, names `source` and the first
        wrong key) and read it; the Recipe keeps a copy of it."""
        from fer_keras.data.pipeline import PipelineConfig
        from fer_keras.errors import RecipeError

        try:
            check_recipe(recipe)
        except Invalid as problem:
            raise RecipeError(f"{source}: {problem}") from None
        plain = copy.deepcopy(recipe)
        training = TrainingSection.from_dict(plain["training"])
        return cls(ModelSection.from_dict(plain["model"]), DataSection.from_dict(plain["data"]),
                   PipelineConfig.from_dict({**plain["pipeline"], "seed": training.seed}),
                   LossSection.from_dict(plain["loss"]), OptimizerSection.from_dict(plain["optimizer"]),
                   ScheduleSection.from_dict(plain["schedule"]), training, plain)

    @classmethod
    def of(cls, recipe):
        """`recipe` when it is a Recipe, else the Recipe of the plain dict (`from_dict`)."""
        return recipe if isinstance(recipe, cls) else cls.from_dict(recipe)

    def to_dict(self):
        """The plain recipe (a copy): what config.yaml holds and a person edits."""
        return copy.deepcopy(self.plain)

    def _with(self, change):
        plain = self.to_dict()
        change(plain)
        return Recipe.from_dict(plain)

    def with_input_shape(self, shape):
        """This recipe for a model that takes (H, W, C) `shape` inputs (a whole .keras model may have
        been trained at another input than its recipe names): model.input_shape, and the
        pipeline's input_size and channels, set to it, and a resize smaller than it raised to it;
        checked again. The recipe itself when its model.input_shape is `shape` already."""
        shape = [int(d) for d in shape]
        if list(self.model.input_shape) == shape:
            return self

        def change(plain):
            plain["model"]["input_shape"] = shape
            pipeline = plain["pipeline"]
            pipeline["input_size"], pipeline["channels"] = shape[:2], shape[2]
            resize = pipeline.get("resize")
            if resize and (resize[0] < shape[0] or resize[1] < shape[1]):
                pipeline["resize"] = shape[:2]

        return self._with(change)

    def with_fold(self, index):
        """This k-fold recipe holding out fold `index` (data.folds.fold), checked again."""

        def change(plain):
            plain["data"]["folds"]["fold"] = index

        return self._with(change)


__all__ = ["SECTIONS", "DataSection", "Folds", "Invalid", "Key", "Kind", "LossSection", "ModelSection", "OptimizerSection",
           "Recipe", "ScheduleSection", "TrainingSection", "check_keys", "check_recipe", "keys_of"]
