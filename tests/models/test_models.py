"""The model builders against their papers' tables; ablations; overfitting; save/load; mixed precision.

The tests every model must pass are parametrized over the registry (`list_models()`, as timm's tests
are); the facts they need per model (OVERFIT) are keyed by model name, and a registered model without
them fails `test_every_registered_model_has_its_test_facts`."""

import json
import os
import re
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from fer_keras import layers as L
from fer_keras.models import build_model, complexity, get_model_info, list_models
from fer_keras.models.objectives import make_training_model, with_labels

MODELS = list_models()
# (model, dataset) for each of the papers' inputs of each registered model.
PAPER_INPUTS = [(name, dataset) for name in MODELS for dataset in get_model_info(name).default_input_shapes]


def output_shapes(model, names):
    layers = {layer.name: layer for layer in model.layers}
    return {name: tuple(layers[name].output.shape[1:]) for name in names}


def all_layers(model):
    for layer in model.layers:
        yield from all_layers(layer) if isinstance(layer, keras.Model) else [layer]


def inputs_for(model, n, rng):
    shape = tuple(model.inputs[0].shape[1:])
    x = rng.uniform(0, 1, (n, *shape)).astype("float32")
    return {t.name: x for t in model.inputs} if isinstance(model.input, dict) else x


def test_registry():
    assert MODELS and MODELS == sorted(set(MODELS)) and {"amdcnn", "lban", "mifad_net", "mrcar"} <= set(MODELS)
    with pytest.raises(ValueError, match=f"Unknown model 'resnet'; available: {', '.join(MODELS)}$"):
        build_model("resnet")
    with pytest.raises(ValueError, match="unexpected keyword argument 'colour'"):
        build_model("amdcnn", colour=True)
    with pytest.raises(ValueError, match=r"input_shape must be \(height, width, channels\)"):
        build_model("amdcnn", input_shape=(48, 48))


@pytest.mark.parametrize("name", MODELS)
def test_registry_entry(name):
    info = get_model_info(name)
    assert info.name == name and info.title and info.paper and info.builder.__name__ == f"build_{name}"
    assert "fer2013" in info.default_input_shapes  # its FER2013 recipe's input, build_model's default
    assert info.default_input_shape == info.default_input_shapes["fer2013"] and "probabilities" in info.outputs


@pytest.mark.parametrize("name, dataset", PAPER_INPUTS)
def test_builds_at_the_papers_inputs_and_predicts_probabilities(name, dataset, rng):
    info = get_model_info(name)
    model = build_model(name, input_shape=info.default_input_shapes[dataset])
    # The registry's entry describes the built model: its outputs and inputs, and its paper's loss fits them.
    assert sorted(model.output) == sorted(info.outputs)
    assert (sorted(model.input) if isinstance(model.input, dict) else ["image"]) == sorted(info.inputs)
    assert make_training_model(model, info.loss).loss
    # Batch statistics (training=True): an untrained LBAN-IL's activations overflow its initial BN
    # moving statistics, so in inference mode every image would get the same saturated answer.
    out = {k: keras.ops.convert_to_numpy(v).astype("float64") for k, v in model(inputs_for(model, 2, rng), training=True).items()}
    probs = out["probabilities"]
    assert probs.shape == (2, 7) and model.output["probabilities"].dtype == "float32"
    assert not np.allclose(probs[0], probs[1], atol=1e-6)  # the two images get different answers

    def softmax(z):
        z = z - z.max(-1, keepdims=True)
        return np.exp(z) / np.exp(z).sum(-1, keepdims=True)

    if "cosines" in out:  # ArcFace heads: probabilities = softmax(s cos), s = 30
        np.testing.assert_allclose(probs, softmax(30 * out["cosines"]), rtol=1e-4, atol=1e-6)
    heads = [k for k in out if k.endswith("_cosine")]
    if heads:  # AMDCNN: eq. 13-14, sum_k alpha_k softmax(s cos_k) with alpha = softmax(awfm logits)
        logits = keras.ops.convert_to_numpy(model.get_layer("awfm").weights[0]).astype("float64")
        alpha = softmax(logits)
        fused = sum(a * softmax(30 * out[h]) for a, h in zip(alpha, ["aux1_cosine", "aux2_cosine", "aux3_cosine", "main_cosine"]))
        np.testing.assert_allclose(probs, fused, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5)


def test_amdcnn_table1_output_sizes():
    model = build_model("amdcnn")
    assert tuple(model.inputs[0].shape[1:]) == (48, 48, 1)
    assert output_shapes(model, ["conv1_relu", "conv2_relu", "dfem1_add", "dfem2_add", "dfem3_add", "dfem4_add", "awfm"]) == {
        "conv1_relu": (46, 46, 16),
        "conv2_relu": (44, 44, 16),
        "dfem1_add": (22, 22, 32),
        "dfem2_add": (11, 11, 64),
        "dfem3_add": (6, 6, 128),
        "dfem4_add": (3, 3, 256),
        "awfm": (7,),
    }


def test_amdcnn_parameters_and_macs_match_the_paper():
    counts = complexity(build_model("amdcnn"))
    assert abs(counts["params_total"] / 1.6e6 - 1) < 0.05  # "1.6M"
    assert abs(counts["macs"] / 138.98e6 - 1) < 0.10  # "138.98 MFlops" (multiply-accumulates)
    assert counts["flops"] == 2 * counts["macs"] and counts["params_fixed"] == 0
    raf = complexity(build_model("amdcnn", input_shape=(100, 100, 1)))
    assert abs(raf["macs"] / 633.31e6 - 1) < 0.10  # Table 3, RAF-DB
    assert raf["params_total"] == counts["params_total"]  # fully convolutional up to the heads


def test_amdcnn_ablations_table8():
    full = build_model("amdcnn")
    assert sorted(full.output) == ["aux1_cosine", "aux2_cosine", "aux3_cosine", "main_cosine", "probabilities"]
    one = build_model("amdcnn", num_aux=1)
    assert sorted(one.output) == ["aux1_cosine", "main_cosine", "probabilities"]
    base = build_model("amdcnn", attention="none", num_aux=0)
    assert sorted(base.output) == ["main_cosine", "probabilities"]
    kinds = lambda m: sorted({type(layer).__name__ for layer in m.layers} & {"CBAM", "MCBAM", "AdaptiveWeightedFusion"})  # noqa: E731
    assert kinds(full) == ["AdaptiveWeightedFusion", "MCBAM"]
    assert kinds(build_model("amdcnn", attention="cbam", num_aux=2)) == ["AdaptiveWeightedFusion", "CBAM"]
    assert kinds(base) == []
    assert len(full.get_layer("awfm").weights[0].shape) == 1 and full.get_layer("awfm").weights[0].shape[0] == 4
    assert complexity(base)["params_total"] < complexity(full)["params_total"]
    with pytest.raises(ValueError, match="num_aux must be 0, 1, 2 or 3"):
        build_model("amdcnn", num_aux=4)


def test_mrcar_table1_output_sizes_per_region():
    model = build_model("mrcar")
    assert sorted(model.input) == ["eyes", "face", "mouth"]
    caresnet = model.get_layer("caresnet_face")
    names = ["conv1_relu", "maxpool"] + [f"{b}{i}_out" for i in (1, 2, 3) for b in ("carblock", "dsblock")] + ["avgpool"]
    assert list(output_shapes(caresnet, names).values()) == [
        (44, 44, 64), (22, 22, 64), (22, 22, 128), (11, 11, 128), (11, 11, 256), (6, 6, 256), (6, 6, 512), (3, 3, 512), (512,),
    ]
    assert sorted(model.output) == ["cosines", "probabilities"]
    assert isinstance(model.get_layer("cosines"), L.CosineDense)


def test_mrcar_ablations_table6():
    full = build_model("mrcar")
    face_only = build_model("mrcar", regions=False)
    assert len(face_only.inputs) == 1 and face_only.inputs[0].name == "face"
    no_ca = build_model("mrcar", coordinate_attention=False)
    count_ca = lambda m: sum(isinstance(x, L.CoordinateAttention) for sub in m.layers if isinstance(sub, keras.Model) for x in sub.layers)  # noqa: E731
    assert count_ca(full) == 3 * 6 and count_ca(no_ca) == 0
    softmax = build_model("mrcar", loss="softmax")
    assert sorted(softmax.output) == ["probabilities"]
    shared = build_model("mrcar", share_weights=True)
    assert complexity(shared)["params_total"] < complexity(full)["params_total"] / 2
    assert complexity(shared)["macs"] == complexity(full)["macs"]  # same work, one set of weights


def test_lban_structure_and_learnable_parameters():
    model = build_model("lban")
    names = ["lbsl1", "lbab1_post", "lbsl2", "lbab2_post", "lbsl3", "lbab3_post", "features", "logits"]
    assert output_shapes(model, names) == {
        "lbsl1": (20, 20, 128), "lbab1_post": (20, 20, 128), "lbsl2": (10, 10, 256), "lbab2_post": (10, 10, 256),
        "lbsl3": (5, 5, 512), "lbab3_post": (5, 5, 512), "features": (128,), "logits": (7,),
    }
    first = model.get_layer("lbsl1")
    assert (model.get_layer("stem_conv").filters, first.filters, first.weight_size) == (64, 128, 128)
    samplings = {b: sum(n.startswith(f"lbab{b}_down") for n in (x.name for x in model.layers)) for b in (1, 2, 3)}
    assert samplings == {1: 2, 2: 1, 3: 0}
    ups = {b: sum(n.startswith(f"lbab{b}_up") for n in (x.name for x in model.layers)) for b in (1, 2, 3)}
    assert ups == samplings
    assert [type(model.get_layer(n)).__name__ for n in ("dropout1", "dropout2")] == ["Dropout", "Dropout"]
    assert model.get_layer("dropout1").rate == 0.5
    counts = complexity(model)
    assert abs(counts["params_trainable"] / 19.8e6 - 1) < 0.10  # Table 2, fixed filters excluded
    assert counts["params_fixed"] > 0
    statistics = sum(int(np.prod(w.shape)) for w in model.weights if w.path.endswith(("moving_mean", "moving_variance")))
    assert counts["params_total"] == counts["params_trainable"] + counts["params_fixed"] + statistics


def test_lban_table2_variants_and_table1_ablations():
    base = complexity(build_model("lban"))
    dagger = complexity(build_model("lban", variant="lban_dagger"))
    # LBAN-dagger learns the 3x3 filters that LBAN keeps fixed (plus their biases).
    assert dagger["params_fixed"] == 0
    assert dagger["params_trainable"] - base["params_trainable"] >= base["params_fixed"]
    lbc = complexity(build_model("lban", variant="lbc"))
    lbcnn = complexity(build_model("lban", variant="lbcnn"))
    assert lbc["params_trainable"] < lbcnn["params_trainable"] < base["params_trainable"]
    assert complexity(build_model("lban", variant="lban_double_dagger"))["params_trainable"] < dagger["params_trainable"]
    plain = build_model("lban", lbsl=False)
    assert not any(isinstance(x, L.LocalBinaryStandardLayer) for x in plain.layers)
    no_mask = build_model("lban", encoder_decoder=False)
    assert not any("mask" in x.name for x in no_mask.layers)
    assert sorted(build_model("lban").output) == ["features", "probabilities"]


def test_mifad_net_structure_and_ablations():
    model = build_model("mifad_net")
    for k in (7, 5, 3):
        convs = [x for x in model.layers if x.name.startswith(f"column{k}x{k}_conv")]
        bns = [x for x in model.layers if x.name.startswith(f"column{k}x{k}_bn")]
        assert len(convs) == 6 and len(bns) == 5 and {c.kernel_size for c in convs} == {(k, k)}
    assert isinstance(model.get_layer("channel_self_attention"), L.ChannelSelfAttention)
    assert isinstance(model.get_layer("spatial_self_attention"), L.SpatialSelfAttention)
    assert sorted(model.output) == ["cosines", "features", "probabilities"]
    splice = model.get_layer("fusion6_splice")
    assert splice.output.shape[-1] == 3 * 128  # three re-calibrated 128-channel maps, spliced
    columns = lambda m: sorted({re.match(r"column\d+x\d+", x.name)[0] for x in m.layers if re.match(r"column\d+x\d+_", x.name)})  # noqa: E731
    assert columns(build_model("mifad_net", branches=2)) == ["column5x5", "column7x7"]
    assert columns(build_model("mifad_net", branches=4)) == ["column3x3", "column5x5", "column7x7", "column9x9"]
    added = build_model("mifad_net", fusion="add")
    assert added.get_layer("fusion6_add").output.shape[-1] == 128
    assert "fusion6_mul" in [x.name for x in build_model("mifad_net", fusion="mul").layers]
    no_attention = build_model("mifad_net", attention=False)
    assert not any(isinstance(x, (L.ChannelSelfAttention, L.SpatialSelfAttention)) for x in no_attention.layers)
    assert sorted(build_model("mifad_net", loss="island").output) == ["features", "probabilities"]


# -- training-level tests (a few steps on CPU) --------------------------------------------------
# Inputs for the overfit test: the papers' sizes where a CPU step is cheap enough, smaller for the
# two heaviest models (LBAN 1.6 GMACs and MIFAD-Net 1.0 GMACs per 40x40 / 48x48 image).
OVERFIT = {
    "amdcnn": dict(input_shape=(48, 48, 1)),
    "mrcar": dict(input_shape=(44, 44, 1), share_weights=True),  # one CAResnet: a third of the graph to trace
    "lban": dict(input_shape=(16, 16, 1), dropout=0.0),
    "mifad_net": dict(input_shape=(24, 24, 1)),
}


def test_every_registered_model_has_its_test_facts():
    """A new model is its module plus its recipe, and these tests' facts about it."""
    assert sorted(OVERFIT) == MODELS, "add the new model's entry to OVERFIT"


class StopAtAccuracy(keras.callbacks.Callback):
    def __init__(self, key, target):
        super().__init__()
        self.key, self.target, self.last = key, target, 0.0

    def on_epoch_end(self, epoch, logs=None):
        self.last = logs[self.key]
        if self.last >= self.target:
            self.model.stop_training = True


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_overfits_a_tiny_batch_with_its_papers_loss_and_round_trips(name, rng, tmp_path):
    """32 images of 7 classes (a fixed template per class plus noise), the paper's loss, Adam:
    >= 95% training accuracy within 40 epochs of one step; then a .keras round trip."""
    model = build_model(name, **OVERFIT[name])
    setup = make_training_model(model, get_model_info(name).loss)
    y = np.arange(32) % 7
    shape = tuple(model.inputs[0].shape[1:])
    images = np.clip(rng.uniform(0, 1, (7, *shape))[y] + rng.normal(0, 0.1, (32, *shape)), 0, 1).astype("float32")
    x = {t.name: images for t in model.inputs} if isinstance(model.input, dict) else images
    optimizer = keras.optimizers.Adam(2e-3)
    setup.model.compile(optimizer, loss=setup.loss, metrics={"probabilities": ["accuracy"]})
    optimizer.build(setup.model.trainable_variables)  # before tracing: one trace instead of two
    stop = StopAtAccuracy("probabilities_accuracy", 0.95)
    history = setup.model.fit(
        with_labels(x, y, model) if setup.needs_labels else x,
        {k: y for k in setup.model.output},  # a target for every output, as Keras metrics require
        batch_size=32,
        epochs=40,
        callbacks=[stop],
        verbose=0,
    )
    assert stop.last >= 0.95, f"{name}: training accuracy {stop.last:.2f} after {len(history.epoch)} epochs"

    # .keras round trip of the trained model, loaded in a fresh process.
    path = tmp_path / f"{name}.keras"
    model.save(path)
    expected = {k: keras.ops.convert_to_numpy(v) for k, v in model(x, training=False).items()}
    np.savez(tmp_path / "x.npz", **(x if isinstance(x, dict) else {"image": x}))
    script = textwrap.dedent(
        f"""
        import numpy as np, keras
        import fer_keras.layers, fer_keras.losses
        model = keras.models.load_model({str(path)!r})
        x = dict(np.load({str(tmp_path / "x.npz")!r}))
        x = x if isinstance(model.input, dict) else x["image"]
        out = model(x, training=False)
        np.savez({str(tmp_path / "out.npz")!r}, **{{k: keras.ops.convert_to_numpy(v) for k, v in out.items()}})
        """
    )
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = dict(np.load(tmp_path / "out.npz"))
    assert sorted(loaded) == sorted(expected)
    for key in expected:
        np.testing.assert_allclose(loaded[key], expected[key], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", MODELS)
def test_mixed_precision_training_step_with_float32_outputs(name, rng):
    keras.config.set_dtype_policy("mixed_float16")
    model = build_model(name, **{**OVERFIT[name], "dropout": 0.5} if name == "lban" else OVERFIT[name])
    setup = make_training_model(model, get_model_info(name).loss)
    x = inputs_for(model, 4, rng)
    y = np.array([0, 3, 5, 6])
    setup.model.compile(keras.optimizers.Adam(1e-3), loss=setup.loss, run_eagerly=True)
    logs = setup.model.train_on_batch(with_labels(x, y, model) if setup.needs_labels else x, {k: y for k in setup.loss}, return_dict=True)
    assert np.isfinite(logs["loss"]), logs
    out = model(x, training=False)
    for key, value in out.items():
        assert keras.backend.standardize_dtype(value.dtype) == "float32", key
    convs = [layer for layer in all_layers(model) if isinstance(layer, keras.layers.Conv2D)]
    assert convs and all(layer.compute_dtype == "float16" for layer in convs)


def test_summary_cli_json(capsys):
    from fer_keras.cli import main

    assert main(["summary", "amdcnn", "--json"]) in (0, None)
    report = json.loads(capsys.readouterr().out)
    assert {"params_total", "params_trainable", "params_fixed", "macs", "flops"} <= set(report)
    assert report["flops"] == 2 * report["macs"] and report["input_shape"] == [48, 48, 1]
    assert report == {"model": "amdcnn", "input_shape": [48, 48, 1], "options": {}, **complexity(build_model("amdcnn"))}


def test_amdcnn_dense_head_is_pooling_and_one_softmax_layer_per_head(rng):
    """Beyond the paper (issue 18): head="dense" replaces Fig. 5's 7-map cosine classifiers."""
    from fer_keras.models import build_model

    paper = build_model("amdcnn", input_shape=(44, 44, 1))
    dense = build_model("amdcnn", input_shape=(44, 44, 1), head="dense")
    assert set(dense.output) == {"probabilities"}
    x = rng.uniform(size=(3, 44, 44, 1)).astype("float32")
    probs = dense.predict(x, verbose=0)["probabilities"]
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-5)
    main = dense.get_layer("main_dense")
    assert main.kernel.shape == (dense.get_layer("main_gap").output.shape[-1], 7)
    assert not any("cosine" in w.path for w in dense.weights) and any("cosine" in w.path for w in paper.weights)
    trunk = [w.path for w in paper.weights if w.path.startswith(("conv", "dfem"))]
    assert trunk == [w.path for w in dense.weights if w.path.startswith(("conv", "dfem"))]  # the same network below the heads
    with pytest.raises(ValueError, match="head"):
        build_model("amdcnn", head="cosine")
