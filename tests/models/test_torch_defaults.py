"""PyTorch's defaults for the papers implemented in PyTorch (fer_keras.torch_defaults)."""

import numpy as np
import pytest

pytestmark = pytest.mark.backend_neutral


def test_bn_momentum_reaches_every_nested_batch_norm_and_is_checked():
    """training.bn_momentum: PyTorch's BatchNorm momentum 0.1 is Keras' 0.9 (LBAN-IL's reading)."""
    import keras

    from fer_keras.models import build_model
    from fer_keras.recipes import load_recipe
    from fer_keras.torch_defaults import set_bn_momentum

    model = build_model("lban", input_shape=(40, 40, 1))
    set_bn_momentum(model, 0.9)
    layers = [l for l in model._flatten_layers(include_self=False) if isinstance(l, keras.layers.BatchNormalization)]
    nested = [l for l in layers if l not in model.layers]
    assert nested and {l.momentum for l in layers} == {0.9}
    with pytest.raises(ValueError, match=r"bn_momentum must be in \[0, 1\)"):
        set_bn_momentum(model, 1.0)
    assert load_recipe("lban", overrides=["training.bn_momentum=0.9"])["training"]["bn_momentum"] == 0.9


def _mixed_model():
    import keras

    from fer_keras.layers import LocalBinaryConv2D

    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(16, 3, padding="same", name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = LocalBinaryConv2D(12, weight_size=20, seed=0, name="lbc")(x)
    x = keras.layers.DepthwiseConv2D(3, padding="same", name="depthwise")(x)
    x = keras.layers.Conv2DTranspose(6, 3, strides=2, padding="same", name="deconv")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(5, name="dense")(x)
    return keras.Model(inputs, outputs)


def test_pytorch_initialization_draws_every_trainable_kernel_and_bias_from_its_fan_in():
    """nn.Conv2d / nn.Linear reset_parameters: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
    fan_in = in_channels x kernel area (out x area for a transposed conv, area for a depthwise one)."""
    from fer_keras.torch_defaults import set_initialization

    model = _mixed_model()
    lbc = model.get_layer("lbc")
    fixed = np.array(lbc.binary_kernel)
    set_initialization(model, "pytorch", seed=3)
    fan_in = {"conv": 3 * 3 * 3, "depthwise": 3 * 3, "deconv": 3 * 3 * 6, "dense": 6, "pointwise": 20}
    layers = {**{name: model.get_layer(name) for name in ("conv", "depthwise", "deconv", "dense")}, "pointwise": lbc.pointwise}
    for name, layer in layers.items():
        bound = 1 / np.sqrt(fan_in[name])
        kernel, bias = np.array(layer.kernel), np.array(layer.bias)
        assert np.abs(kernel).max() <= bound and np.abs(bias).max() <= bound, name
        if kernel.size >= 100:  # a uniform on [-b, b] has standard deviation b / sqrt(3)
            assert kernel.std() == pytest.approx(bound / np.sqrt(3), rel=0.15), name
        assert np.abs(bias).max() > 0, name  # PyTorch's biases are drawn, not zero
    np.testing.assert_array_equal(np.array(lbc.binary_kernel), fixed)  # fixed filters untouched

    again = _mixed_model()
    set_initialization(again, "pytorch", seed=3)
    np.testing.assert_array_equal(np.array(again.get_layer("deconv").kernel), np.array(model.get_layer("deconv").kernel))


def test_keras_initialization_leaves_the_model_and_a_wrong_name_is_a_recipe_error():
    from fer_keras.errors import RecipeError
    from fer_keras.recipes import load_recipe
    from fer_keras.torch_defaults import set_initialization

    model = _mixed_model()
    before = [np.array(w) for w in model.weights]
    set_initialization(model, "keras")
    for old, new in zip(before, model.weights):
        np.testing.assert_array_equal(old, np.array(new))
    with pytest.raises(RecipeError, match="training.initialization must be one of keras, pytorch, got 'torch'"):
        set_initialization(model, "torch")
    assert load_recipe("lban", overrides=["training.initialization=pytorch"])["training"]["initialization"] == "pytorch"
