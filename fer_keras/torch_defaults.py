"""PyTorch's defaults, for the papers implemented in PyTorch (LBAN-IL, MIFAD-Net, MrCAR).

A paper that gives no initialisation or BatchNorm momentum was trained with its framework's, and
Keras' differ: `training.bn_momentum: 0.9` and `training.initialization: pytorch` in a recipe
apply PyTorch's to a built Keras model (docs/architectures.md, "Collapse").
"""

import numpy as np

from fer_keras.errors import RecipeError

INITIALIZATIONS = ("keras", "pytorch")


def set_bn_momentum(model, momentum):
    """Set the moving-statistics momentum of every BatchNormalization layer in `model` (nested
    layers too). Keras' default is 0.99; PyTorch's BatchNorm momentum=0.1 is Keras' 0.9, so a
    paper trained in PyTorch tracks its statistics ten times faster: at Keras' 0.99 the inference
    statistics lag far behind weights that Adam or a large SGD step move quickly early in training."""
    import keras

    if not 0.0 <= float(momentum) < 1.0:
        raise RecipeError(f"training.bn_momentum must be in [0, 1), got {momentum!r}")
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = float(momentum)


def torch_fan_in(layer):
    """PyTorch's fan-in of `layer`'s kernel: in_channels x kernel area for a convolution (for a
    transposed one PyTorch's weight is (in, out, kh, kw), so its "fan-in" is out x area: Keras'
    kernel (kh, kw, out, in) gives the same product), 1 x area for a depthwise one, inputs for Dense."""
    import keras

    shape = tuple(layer.kernel.shape)
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        return int(np.prod(shape[:-2]))
    return int(np.prod(shape[:-1]))


def set_initialization(model, initialization, seed=0):
    """Re-draw the trainable kernels and biases of every Conv and Dense layer in `model` (nested
    layers too) with `initialization`'s defaults. "keras" leaves the model as built (Glorot-uniform
    kernels, zero biases). "pytorch" is `nn.Conv2d` / `nn.Linear`'s `reset_parameters`: kernel and
    bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (kaiming_uniform with a = sqrt(5)). Under
    BatchNorm a layer's effective SGD step scales as lr / ||w||^2, and Glorot's variance is
    2 / (fan_in + fan_out) against PyTorch's 1 / (3 fan_in): 3x for a square 3x3 convolution.
    Weights that are not trainable (LBC's fixed filters) are left alone. NumPy draws from `seed`,
    in layer order, so every backend starts from the same weights."""
    import keras

    if initialization not in INITIALIZATIONS:
        raise RecipeError(f"training.initialization must be one of {', '.join(INITIALIZATIONS)}, got {initialization!r}")
    if initialization == "keras":
        return
    rng = np.random.default_rng(seed)
    kinds = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D,
             keras.layers.Conv2DTranspose, keras.layers.DepthwiseConv2D)
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if not isinstance(layer, kinds) or not layer.trainable or getattr(layer, "kernel", None) is None:
            continue
        bound = 1.0 / np.sqrt(torch_fan_in(layer))
        for weight in (layer.kernel, getattr(layer, "bias", None)):
            if weight is not None and weight.trainable:
                weight.assign(rng.uniform(-bound, bound, tuple(weight.shape)).astype(weight.dtype))
