"""Model builders for the four papers, one module each, behind one registry.

    from fer_keras.models import build_model, available_models
    model = build_model("amdcnn")                      # the paper's FER2013 input, 7 classes
    model = build_model("lban", input_shape=(80, 80, 3), variant="lbcnn")
    model = load_pretrained("amdcnn_fer2013")         # trained on FER2013, weights shipped in the package

Every builder returns a Functional `keras.Model` whose outputs are a dict with "probabilities" plus
what its paper's loss needs ("cosines", "<head>_cosine", "features"); `fer_keras.models.objectives`
turns a model and a loss name into the compiled training model.
"""

from fer_keras.models.amdcnn import build_amdcnn
from fer_keras.models.complexity import complexity, layer_table
from fer_keras.models.lban import build_lban
from fer_keras.models.mifad_net import build_mifad_net
from fer_keras.models.mrcar import build_mrcar
from fer_keras.models.pretrained import DEFAULT_PRETRAINED, available_pretrained, load_pretrained, pretrained_info

BUILDERS = {
    "mifad_net": build_mifad_net,
    "mrcar": build_mrcar,
    "amdcnn": build_amdcnn,
    "lban": build_lban,
}

# The papers' inputs: FER2013 (default) and RAF-DB.
INPUT_SHAPES = {
    "mifad_net": {"fer2013": (48, 48, 1), "rafdb": (100, 100, 3)},
    "mrcar": {"fer2013": (44, 44, 1), "rafdb": (98, 98, 3)},
    "amdcnn": {"fer2013": (48, 48, 1), "rafdb": (100, 100, 3)},
    "lban": {"fer2013": (40, 40, 1), "rafdb": (80, 80, 3)},
}


def available_models():
    """Names accepted by `build_model`."""
    return sorted(BUILDERS)


def build_model(name, input_shape=None, num_classes=7, **options):
    """Build a paper's model by name ("mifad_net", "mrcar", "amdcnn", "lban").

    Args:
        name: model name.
        input_shape: (H, W, C); defaults to the paper's FER2013 input.
        num_classes: number of classes (7).
        **options: the builder's ablation options (see each build_* function).
    """
    if name not in BUILDERS:
        raise ValueError(f"Unknown model {name!r}; available: {', '.join(available_models())}")
    if input_shape is None:
        input_shape = INPUT_SHAPES[name]["fer2013"]
    input_shape = tuple(int(d) for d in input_shape)
    if len(input_shape) != 3 or min(input_shape) < 1:
        raise ValueError(f"build_model({name!r}): input_shape must be (height, width, channels), got {input_shape}")
    try:
        return BUILDERS[name](input_shape=input_shape, num_classes=num_classes, **options)
    except TypeError as err:  # an unknown option
        raise ValueError(f"build_model({name!r}): {err}") from err


__all__ = [
    "DEFAULT_PRETRAINED", "INPUT_SHAPES", "available_models", "available_pretrained", "build_model", "complexity",
    "layer_table", "load_pretrained", "pretrained_info",
]
