"""Every layer in one model: .keras round trip in a fresh process, gradients, mixed precision."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from keras import ops

from fer_keras import layers as L
from fer_keras.losses import AMSoftmaxLoss, ArcFaceLoss, IsletsLoss
from tests.helpers.weights import randomize_weights

pytestmark = pytest.mark.backend_neutral

NUM_CLASSES = 5


def every_layer_model(head_dtype=None):
    """A small model that contains every fer_keras layer and the islets-loss layer."""
    image = keras.Input((12, 10, 3), name="image")
    labels = keras.Input((), dtype="int32", name="labels")
    x = keras.layers.Conv2D(16, 3, padding="same")(image)
    x = L.ChannelAttention(4)(x)
    x = L.SpatialAttention(5)(x)
    x = L.CBAM(4)(x)
    x = L.MultiScaleSpatialAttention()(x)
    x = L.MCBAM(4, fusion="sum")(x)
    x = L.CoordinateAttention(4, min_channels=4)(x)
    x = L.ChannelSelfAttention()(x)
    x = L.SpatialSelfAttention()(x)
    x = L.LocalBinaryConv2D(16, weight_size=8, seed=3)(x)
    x = L.LocalBinaryStandardLayer(24, weight_size=16, strides=2, seed=4)(x)
    features = keras.layers.Dense(8)(keras.layers.GlobalAveragePooling2D()(x))
    features = IsletsLoss(NUM_CLASSES, name="islets")([features, labels])
    cosines = L.CosineDense(NUM_CLASSES, dtype=head_dtype, name="cosines")(features)
    main = keras.layers.Dense(NUM_CLASSES, activation="softmax", dtype=head_dtype)(features)
    aux = keras.layers.Softmax(dtype=head_dtype)(keras.layers.Rescaling(10.0, dtype=head_dtype)(cosines))
    fused = L.AdaptiveWeightedFusion(dtype=head_dtype, name="fused")([main, aux])
    return keras.Model([image, labels], {"cosines": cosines, "fused": fused})


def set_attention_scales(model_or_layer, value):
    """Set MIFAD-Net's alpha / beta (initialised to 0) of every self-attention layer."""
    layers = model_or_layer.layers if isinstance(model_or_layer, keras.Model) else [model_or_layer]
    for layer in layers:
        if isinstance(layer, L.ChannelSelfAttention):
            layer.alpha.assign(value)
        elif isinstance(layer, L.SpatialSelfAttention):
            layer.beta.assign(value)


def compile_model(model, learning_rate=0.05):
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate),
        loss={"cosines": ArcFaceLoss(16.0, 0.3), "fused": "sparse_categorical_crossentropy"},
    )


def data(rng, n=6):
    return {
        "image": rng.normal(0, 1, (n, 12, 10, 3)).astype("float32"),
        "labels": rng.integers(0, NUM_CLASSES, n).astype("int32"),
    }


@pytest.mark.slow_on_jax
def test_keras_round_trip_in_a_fresh_process(tmp_path, rng):
    model = every_layer_model()
    compile_model(model)
    randomize_weights(model, rng, scale=0.3)
    inputs = data(rng)
    expected = model.predict(inputs, verbose=0)
    path = tmp_path / "every_layer.keras"
    model.save(path)
    np.savez(tmp_path / "inputs.npz", **inputs)

    script = textwrap.dedent(
        f"""
        import json, numpy as np, keras
        import fer_keras.layers, fer_keras.losses  # registers the classes; no custom_objects
        model = keras.models.load_model({str(path)!r})
        inputs = dict(np.load({str(tmp_path / "inputs.npz")!r}))
        out = model.predict(inputs, verbose=0)
        np.savez({str(tmp_path / "out.npz")!r}, **out)
        print(json.dumps({{"loss": type(model.loss["cosines"]).__name__,
                           "binary": {{p: np.asarray(keras.ops.convert_to_numpy(w)).sum().item()
                                       for p, w in ((w.path, w) for w in model.weights if "binary_kernel" in w.path)}}}}))
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    loaded = dict(np.load(tmp_path / "out.npz"))
    for key in expected:
        np.testing.assert_allclose(loaded[key], expected[key], rtol=1e-5, atol=1e-6)
    assert report["loss"] == "ArcFaceLoss"
    own = {w.path: float(ops.convert_to_numpy(w).sum()) for w in model.weights if "binary_kernel" in w.path}
    assert len(own) == 2 and report["binary"] == own


@pytest.mark.slow_on_jax
def test_fer_keras_load_model_needs_only_import_fer_keras(tmp_path, rng):
    """A saved model of fer_keras layers and a fer_keras loss loads in a fresh process with
    `import fer_keras; fer_keras.load_model(path)`, the import a user writes first."""
    image = keras.Input((12, 10, 3), name="image")
    x = keras.layers.Conv2D(8, 3, padding="same")(image)
    x = L.MCBAM(4, fusion="sum")(x)
    x = L.CoordinateAttention(4, min_channels=4)(x)
    x = L.LocalBinaryStandardLayer(8, seed=1)(x)
    x = L.LocalBinaryStandardLayer(12, weight_size=6, strides=2, binary=False)(x)
    features = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(image, L.CosineDense(NUM_CLASSES, name="cosines")(features))
    model.compile(keras.optimizers.SGD(0.05), loss=ArcFaceLoss(16.0, 0.3))
    randomize_weights(model, rng, scale=0.3)
    images = rng.normal(0, 1, (4, 12, 10, 3)).astype("float32")
    expected = model.predict(images, verbose=0)
    path = tmp_path / "small.keras"
    model.save(path)
    np.save(tmp_path / "images.npy", images)

    script = textwrap.dedent(
        f"""
        import json, numpy as np
        import fer_keras
        model = fer_keras.load_model({str(path)!r})
        np.save({str(tmp_path / "out.npy")!r}, model.predict(np.load({str(tmp_path / "images.npy")!r}), verbose=0))
        print(json.dumps({{"loss": type(model.loss).__name__, "layers": [type(l).__name__ for l in model.layers]}}))
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["loss"] == "ArcFaceLoss"
    assert {"MCBAM", "CoordinateAttention", "LocalBinaryStandardLayer", "CosineDense"} <= set(report["layers"])
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, rtol=1e-5, atol=1e-6)


def test_fer_keras_load_model_names_a_missing_path(tmp_path):
    import fer_keras
    from fer_keras.errors import ArgumentError

    with pytest.raises(ArgumentError, match=r"^path='.*missing.keras': no such file$"):
        fer_keras.load_model(str(tmp_path / "missing.keras"))
    with pytest.raises(ArgumentError, match=r"^path=.*: not a file$"):
        fer_keras.load_model(tmp_path)


def test_get_config_round_trip_rebuilds_each_layer():
    for layer in [
        L.ChannelAttention(8, use_bias=False),
        L.SpatialAttention(3),
        L.CBAM(8, 5),
        L.MultiScaleSpatialAttention((7, 3), "sum"),
        L.MCBAM(2, (5, 1), "conv"),
        L.CoordinateAttention(16, 4, "relu"),
        L.ChannelSelfAttention(),
        L.SpatialSelfAttention(),
        L.LocalBinaryConv2D(12, 6, kernel_size=5, strides=2, sparsity=0.3, seed=9),
        L.LocalBinaryStandardLayer(12, 6, strides=2, sparsity=0.7, seed=2, standard_conv=False, batch_norm=False),
        L.CosineDense(7, kernel_initializer="he_normal"),
        L.AdaptiveWeightedFusion(),
        IsletsLoss(7, loss_weight=0.4, alpha=0.2, lambda1=0.1, lambda2=0.3),
    ]:
        config = keras.saving.serialize_keras_object(layer)
        clone = keras.saving.deserialize_keras_object(json.loads(json.dumps(config)))
        assert type(clone) is type(layer)
        assert clone.get_config() == layer.get_config()


def test_losses_serialize():
    for loss in (ArcFaceLoss(20.0, 0.4), AMSoftmaxLoss(25.0, 0.3)):
        clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
        assert (type(clone), clone.scale, clone.margin) == (type(loss), loss.scale, loss.margin)


def test_gradients_reach_every_trainable_weight_and_no_fixed_filter(rng):
    model = every_layer_model()
    compile_model(model, learning_rate=0.1)
    set_attention_scales(model, 0.5)  # non-zero, so that the weights behind alpha and beta get gradients
    before = {w.path: ops.convert_to_numpy(w).copy() for w in model.weights}
    inputs = data(rng, n=8)
    model.train_on_batch(inputs, {"cosines": inputs["labels"], "fused": inputs["labels"]})
    unchanged = [w.path for w in model.trainable_weights if np.array_equal(before[w.path], ops.convert_to_numpy(w))]
    assert not unchanged, f"no gradient reached {unchanged}"
    binary = [w for w in model.non_trainable_weights if "binary_kernel" in w.path]
    assert len(binary) == 2
    for w in binary:
        np.testing.assert_array_equal(before[w.path], ops.convert_to_numpy(w))
    centers = [w for w in model.non_trainable_weights if w.path.endswith("centers")]
    assert not np.array_equal(before[centers[0].path], ops.convert_to_numpy(centers[0]))


@pytest.mark.slow_on_jax
def test_mixed_float16_training_step_is_finite_with_float32_heads(rng):
    keras.config.set_dtype_policy("mixed_float16")
    model = every_layer_model(head_dtype="float32")
    compile_model(model)
    inputs = data(rng, n=8)
    inputs["image"] = inputs["image"] * 200.0  # large activations: float16 sums and norms would overflow
    set_attention_scales(model, 0.5)
    logs = model.train_on_batch(inputs, {"cosines": inputs["labels"], "fused": inputs["labels"]}, return_dict=True)
    assert all(np.isfinite(v) for v in logs.values()), logs
    out = model.predict(inputs, verbose=0)
    for key, value in out.items():
        assert value.dtype == np.float32, key
        assert np.all(np.isfinite(value)), key
    np.testing.assert_allclose(out["fused"].sum(-1), 1.0, atol=1e-3)


@pytest.mark.parametrize(
    "factory",
    [
        lambda: L.CBAM(4),
        lambda: L.MCBAM(4),
        lambda: L.CoordinateAttention(4, 4),
        lambda: L.ChannelSelfAttention(),
        lambda: L.SpatialSelfAttention(),
        lambda: L.LocalBinaryStandardLayer(16, seed=1),
    ],
    ids=["CBAM", "MCBAM", "CoordinateAttention", "ChannelSelfAttention", "SpatialSelfAttention", "LBSL"],
)
def test_each_layer_computes_in_float16_and_stays_finite(factory, rng):
    keras.config.set_dtype_policy("mixed_float16")
    layer = factory()
    assert layer.compute_dtype == "float16"
    x = (rng.normal(0, 1, (2, 16, 16, 16)) * 300).astype("float16")
    layer(x)
    set_attention_scales(layer, 1.0)
    out = layer(x, training=True)
    assert keras.backend.standardize_dtype(out.dtype) == "float16"
    assert np.all(np.isfinite(ops.convert_to_numpy(out)))
