"""The model registry: every paper's builder registered once, with what the rest of the package
needs to know about it (in the style of timm's `register_model`).

    from fer_keras.models import build_model, get_model_info, list_models
    list_models()                                   # ['amdcnn', 'lban', 'mifad_net', 'mrcar']
    get_model_info("mrcar").default_input_shapes    # {'fer2013': (44, 44, 1), 'rafdb': (98, 98, 3)}
    model = build_model("lban", input_shape=(80, 80, 3), variant="lbcnn")

Adding a model is its module plus its recipe:

1. fer_keras/models/<name>.py with a builder `build_<name>(input_shape=..., num_classes=7,
   <options>..., name="<name>")` that returns a Functional `keras.Model` whose outputs are a dict
   holding "probabilities", decorated with `@register_model(title=..., paper=...,
   default_input_shapes={"fer2013": ...}, loss=..., outputs=(...))`, and imported in
   fer_keras/models/__init__.py;
2. its recipe, fer_keras/recipes/<name>_fer2013.yaml (and one per further dataset).

`build_model`, the command line's model choices, the pretrained loader, the tests (parametrized over
`list_models()`), the results and learning-check tables (experiments/tools/results_table.py,
experiments/learning_check.py), the benchmarks and `make complexity` then know it. The tests that
keep per-model facts (tests/models/test_models.py's overfit inputs, tests/training/test_train_each_model.py's
diagnostics) fail until the new model has its entry there.

This module imports neither Keras nor the builders; `list_models` and `get_model_info` import
fer_keras.models (and with it Keras) so that every builder has registered.
"""

import importlib
import inspect
from dataclasses import dataclass

from fer_keras.errors import ArgumentError

DEFAULT_DATASET = "fer2013"

_REGISTRY = {}


@dataclass(frozen=True)
class ModelInfo:
    """A registered model.

    name: what `build_model` and recipes call it; builder: the function; paper: the paper it
    reproduces; default_input_shapes: {dataset: (H, W, C)} of the paper's inputs (the first, or
    "fer2013", is `build_model`'s default); loss: the paper's loss (a name of
    `fer_keras.models.objectives`); outputs: the keys of the model's output dict with the default
    options; inputs: the input names ("image", or MrCAR's regions); title: how tables and reports
    name it, the paper's spelling ("MIFAD-Net", "LBAN-IL").
    """

    name: str
    builder: object
    paper: str
    default_input_shapes: dict
    loss: str
    outputs: tuple
    inputs: tuple = ("image",)
    title: str = None

    @property
    def default_input_shape(self):
        shapes = self.default_input_shapes
        return shapes.get(DEFAULT_DATASET) or next(iter(shapes.values()))

    def options(self):
        """{option: default} of the builder's options (its keyword arguments but input_shape,
        num_classes and name)."""
        return {key: p.default for key, p in inspect.signature(self.builder).parameters.items()
                if key not in ("input_shape", "num_classes", "name") and p.default is not inspect.Parameter.empty}


def register_model(name=None, *, title, paper, default_input_shapes, loss, outputs, inputs=("image",)):
    """Decorator registering a model builder under `name` (default: the function's name without
    "build_"); returns the builder unchanged. See `ModelInfo` for the fields."""

    def register(builder):
        key = name or builder.__name__.removeprefix("build_")
        known = _REGISTRY.get(key)
        if known is not None and known.builder.__qualname__ != builder.__qualname__:
            raise ArgumentError(None, problem=f"register_model: {key!r} is already registered by "
                                f"{known.builder.__module__}.{known.builder.__qualname__}")
        shapes = {dataset: tuple(int(d) for d in shape) for dataset, shape in default_input_shapes.items()}
        _REGISTRY[key] = ModelInfo(key, builder, paper, shapes, loss, tuple(outputs), tuple(inputs), str(title))
        return builder

    return register


def _registered():
    importlib.import_module("fer_keras.models")  # its modules register their builders
    return _REGISTRY


def list_models():
    """The registered model names, sorted."""
    return sorted(_registered())


def get_model_info(name):
    """The `ModelInfo` of model `name`; an ArgumentError naming the registered ones otherwise."""
    registry = _registered()
    if name not in registry:
        raise ArgumentError("name", problem=f"Unknown model {name!r}; available: {', '.join(sorted(registry))}")
    return registry[name]


def build_model(name, input_shape=None, num_classes=7, **options):
    """Build a registered model by name (see `list_models`).

    Args:
        name: model name.
        input_shape: (H, W, C); defaults to the paper's FER2013 input (`ModelInfo.default_input_shape`).
        num_classes: number of classes (7).
        **options: the builder's ablation options (see each build_* function).

    An unknown option is an ArgumentError naming it, found from the builder's signature before it
    is called; an error raised inside the builder (a TypeError too) propagates as it is.
    """
    info = get_model_info(name)
    if input_shape is None:
        input_shape = info.default_input_shape
    input_shape = tuple(int(d) for d in input_shape)
    if len(input_shape) != 3 or min(input_shape) < 1:
        raise ArgumentError("input_shape", input_shape, f"build_model({name!r}): input_shape must be "
                            "(height, width, channels)")
    signature = inspect.signature(info.builder)
    try:
        signature.bind(input_shape=input_shape, num_classes=num_classes, **options)
    except TypeError as err:
        unknown = [key for key in options if key not in signature.parameters]
        argument = unknown[0] if unknown else None
        raise ArgumentError(argument, options.get(argument), f"build_model({name!r}): {err}; its options: "
                            f"{', '.join(info.options())}") from None
    return info.builder(input_shape=input_shape, num_classes=num_classes, **options)


__all__ = ["ModelInfo", "build_model", "get_model_info", "list_models", "register_model"]
