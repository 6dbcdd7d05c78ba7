"""The model registry: every paper's builder registered once, with what the rest of the package
needs to know about it (in the style of timm's `register_model`).

    from fer_keras.models import build_model, get_model_info, list_models
    list_models()                                   # ['amdcnn', 'lban', 'mifad_net', 'mrcar']
    get_model_info("mrcar").default_input_shapes    # {'fer2013': (44, 44, 1), 'rafdb': (98, 98, 3)}
    model = build_model("lban", input_shape=(80, 80, 3), variant="lbcnn")

Adding a model: write fer_keras/models/<name>.py with a builder
`build_<name>(input_shape=..., num_classes=7, <options>..., name="<name>")` that returns a
Functional `keras.Model` whose outputs are a dict holding "probabilities"; decorate it with
`@register_model(paper=..., default_input_shapes={"fer2013": ...}, loss=..., outputs=(...))`;
import the module in fer_keras/models/__init__.py. `build_model`, the recipes
(fer_keras/recipes/<name>_<dataset>.yaml), the command line's model choices and the pretrained loader
then know it.

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
    options; inputs: the input names ("image", or MrCAR's regions).
    """

    name: str
    builder: object
    paper: str
    default_input_shapes: dict
    loss: str
    outputs: tuple
    inputs: tuple = ("image",)

    @property
    def default_input_shape(self):
        shapes = self.default_input_shapes
        return shapes.get(DEFAULT_DATASET) or next(iter(shapes.values()))

    def options(self):
        """{option: default} of the builder's options (its keyword arguments but input_shape,
        num_classes and name)."""
        return {key: p.default for key, p in inspect.signature(self.builder).parameters.items()
                if key not in ("input_shape", "num_classes", "name") and p.default is not inspect.Parameter.empty}


def register_model(name=None, *, paper, default_input_shapes, loss, outputs, inputs=("image",)):
    """Decorator registering a model builder under `name` (default: the function's name without
    "build_"); returns the builder unchanged. See `ModelInfo` for the fields."""

    def register(builder):
        key = name or builder.__name__.removeprefix("build_")
        known = _REGISTRY.get(key)
        if known is not None and known.builder.__qualname__ != builder.__qualname__:
            raise ValueError(f"register_model: {key!r} is already registered by {known.builder.__module__}."
                             f"{known.builder.__qualname__}")
        shapes = {dataset: tuple(int(d) for d in shape) for dataset, shape in default_input_shapes.items()}
        _REGISTRY[key] = ModelInfo(key, builder, paper, shapes, loss, tuple(outputs), tuple(inputs))
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
