"""Model builders for the four papers, one module each, behind one registry
(`fer_keras.models.registry`: each builder is registered once with `register_model`).

    from fer_keras.models import build_model, list_models, get_model_info
    model = build_model("amdcnn")                      # the paper's FER2013 input, 7 classes
    model = build_model("lban", input_shape=(80, 80, 3), variant="lbcnn")
    get_model_info("mrcar").default_input_shapes      # {'fer2013': (44, 44, 1), 'rafdb': (98, 98, 3)}
    model = load_pretrained("amdcnn_fer2013")         # trained on FER2013, weights shipped in the package

Every builder returns a Functional `keras.Model` whose outputs are a dict with "probabilities" plus
what its paper's loss needs ("cosines", "<head>_cosine", "features"); `fer_keras.models.objectives`
turns a model and a loss name into the compiled training model.
"""

# Importing each builder's module registers it (`register_model`).
from fer_keras.models.amdcnn import build_amdcnn
from fer_keras.models.complexity import complexity, layer_table
from fer_keras.models.lban import build_lban
from fer_keras.models.mifad_net import build_mifad_net
from fer_keras.models.mrcar import build_mrcar
from fer_keras.models.pretrained import DEFAULT_PRETRAINED, available_pretrained, load_pretrained, pretrained_info
from fer_keras.models.registry import ModelInfo, build_model, get_model_info, list_models, register_model

# The papers' inputs per dataset, from the registry: {model: {dataset: (H, W, C)}}.
INPUT_SHAPES = {name: dict(get_model_info(name).default_input_shapes) for name in list_models()}


__all__ = [
    "DEFAULT_PRETRAINED", "INPUT_SHAPES", "ModelInfo", "available_pretrained", "build_amdcnn",
    "build_lban", "build_mifad_net", "build_model", "build_mrcar", "complexity", "get_model_info", "layer_table",
    "list_models", "load_pretrained", "pretrained_info", "register_model",
]
