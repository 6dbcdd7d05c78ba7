"""`fer-keras explain`: where a model looks (Grad-CAM) and how its features cluster (t-SNE).

    from fer_keras.explain import explain
    from fer_keras.loading import load_trained
    explain(load_trained(run="runs/amdcnn_fer2013"), data="fer2013.csv.gz", out="figures")
    # figures/grad_cam.png (AMDCNN's Fig. 10 style), figures/tsne.png (LBAN-IL's Fig. 5 style)

Grad-CAM (Selvaraju et al. 2017) for the predicted class: the class score is the input of the
model's final softmax (its logit, or scaled cosine) where the "probabilities" output is a Softmax
layer, else the log-probability (AMDCNN's fused output); its gradients with respect to a
convolutional feature map A, averaged over the map, weight A's channels; the ReLU of the weighted
sum, upsampled to the input and scaled to [0, 1], is the heat map. The map: the layer named by `layer`, or
the deepest layer with a 4-D output (longest path from the input; the last one in the model's
order among equals): the last feature map before global pooling (AMDCNN: the main classifier's
class maps; LBAN-IL: the last block's output; MrCAR: the face branch's last block). Intermediate
tensors are captured by wrapping the layer's `call` for one eager forward pass under
tf.GradientTape, which reaches layers inside nested models (MrCAR's per-region CAResNets) too.
TensorFlow backend only.

t-SNE (sklearn.manifold.TSNE) of the penultimate features, coloured by true class: the model's
"features" output where it has one (LBAN-IL, MIFAD-Net), else the input of its deepest Dense /
CosineDense classifier layer (MrCAR: the 512-d fused embedding; AMDCNN: the main classifier's
pooled class maps).

Size: just over 400 lines; Grad-CAM and t-SNE share the layer search, the split and the figure
writing of one command, and read best together.
"""

import math
from pathlib import Path

import numpy as np

from fer_keras.errors import ArgumentError, FerKerasError
from fer_keras.evaluation import evaluation_inputs, load_eval_record
from fer_keras.loading import default_data


def _require_tensorflow():
    import keras

    if keras.backend.backend() != "tensorflow":
        raise FerKerasError(f"explain needs the TensorFlow backend (KERAS_BACKEND=tensorflow), not {keras.backend.backend()!r}")


# --------------------------------------------------------------------------------------- layers


def _is_model(layer):
    import keras

    return isinstance(layer, keras.Model)


def _output_rank(layer):
    try:
        output = layer.output
    except (AttributeError, ValueError, RuntimeError):
        return None
    shape = getattr(output, "shape", None)
    return None if shape is None else len(shape)


def walk_layers(model, prefix=""):
    """(path, layer) for every layer, nested models' layers included ("caresnet_face/dsblock3_out")."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        path = f"{prefix}{layer.name}"
        yield path, layer
        if _is_model(layer):
            yield from walk_layers(layer, f"{path}/")


def layer_depths(model):
    """{layer: length of the longest path from an input} in `model`'s own graph."""
    parents = {}
    for layer in model.layers:
        nodes = getattr(layer, "_inbound_nodes", [])[:1]
        parents[layer] = [parent.operation for node in nodes for parent in node.parent_nodes]
    depths = {layer: 0 for layer in model.layers}
    for _ in range(len(model.layers)):  # relax until stable (a DAG: at most its depth passes)
        changed = False
        for layer, above in parents.items():
            value = 1 + max((depths.get(p, 0) for p in above), default=-1)
            if value > depths[layer]:
                depths[layer], changed = value, True
        if not changed:
            break
    return depths


def _deepest(model, layers):
    depths = layer_depths(model)
    order = {layer: i for i, layer in enumerate(model.layers)}
    return max(layers, key=lambda layer: (depths.get(layer, 0), order[layer]))


def pick_layer(model, name=None):
    """(path, layer) of the Grad-CAM feature map: `name` (a layer name or nested path) or the
    deepest layer with a 4-D output (see the module's doc); inside the first nested model when
    the outer graph has none (MrCAR)."""
    import keras

    if name is not None:
        candidates = [(path, layer) for path, layer in walk_layers(model) if name in (path, layer.name)]
        if not candidates:
            four_d = [path for path, layer in walk_layers(model) if not _is_model(layer) and _output_rank(layer) == 4]
            raise ArgumentError("layer", name, f"no such layer; layers with a 4-D output include: {', '.join(four_d[-12:])}")
        path, layer = candidates[0]
        if _output_rank(layer) != 4:
            raise ArgumentError("layer", name, "its output is not a 4-D feature map (batch, height, width, channels)")
        return path, layer
    graph, prefix = model, ""
    while True:
        four_d = [layer for layer in graph.layers
                  if not _is_model(layer) and not isinstance(layer, keras.layers.InputLayer) and _output_rank(layer) == 4]
        if four_d:
            layer = _deepest(graph, four_d)
            return f"{prefix}{layer.name}", layer
        nested = [layer for layer in graph.layers if _is_model(layer)]
        if not nested:
            raise ArgumentError("layer", None, "the model has no layer with a 4-D output to take Grad-CAM from; name one")
        graph, prefix = nested[0], f"{prefix}{nested[0].name}/"


def classifier_layer(model):
    """The deepest Dense / CosineDense layer of the outer graph (the final classifier)."""
    import keras

    from fer_keras.layers import CosineDense

    dense = [layer for layer in model.layers if isinstance(layer, (keras.layers.Dense, CosineDense))]
    if not dense:
        raise FerKerasError("the model has no 'features' output and no Dense classifier layer to take features from")
    return _deepest(model, dense)


class _Capture:
    """Within the block, record the first positional input and the output of every call of
    `layer` (watched by `tape` when given)."""

    def __init__(self, layer, tape=None):
        self.layer, self.tape, self.inputs, self.outputs = layer, tape, [], []

    def __enter__(self):
        original = self.layer.call

        def call(*args, **kwargs):
            output = original(*args, **kwargs)
            if self.tape is not None:
                self.tape.watch(output)
            self.inputs.append(args[0] if args else None)
            self.outputs.append(output)
            return output

        self.layer.call = call
        return self

    def __exit__(self, *exc):
        del self.layer.call
        return False


def _softmax_layer(model):
    import keras

    history = getattr(model.output["probabilities"], "_keras_history", None)
    layer = getattr(history, "operation", None)
    return layer if isinstance(layer, keras.layers.Softmax) else None


# ------------------------------------------------------------------------------------- grad-cam


def _slice(inputs, start, stop):
    if isinstance(inputs, dict):
        return {k: v[start:stop] for k, v in inputs.items()}
    return inputs[start:stop]


def _length(inputs):
    return len(next(iter(inputs.values()))) if isinstance(inputs, dict) else len(inputs)


def grad_cam(model, inputs, layer=None, class_index=None, batch_size=32):
    """Grad-CAM heat maps of `inputs` (model-ready float arrays, or a dict of them).

    Returns (cams (N, h, w) in [0, 1] at the feature map's resolution, classes (N,) the explained
    class (the predicted one unless `class_index` is given), probabilities (N, classes)).
    """
    import tensorflow as tf

    _require_tensorflow()
    if layer is None or isinstance(layer, str):
        layer = pick_layer(model, layer)[1]
    softmax = _softmax_layer(model)
    cams, classes, probabilities = [], [], []
    for start in range(0, _length(inputs), batch_size):
        x = _slice(inputs, start, start + batch_size)
        x = {k: tf.constant(v, tf.float32) for k, v in x.items()} if isinstance(x, dict) else tf.constant(x, tf.float32)
        with tf.GradientTape() as tape:
            with _Capture(layer, tape) as features:
                if softmax is not None:
                    with _Capture(softmax) as logits:
                        outputs = model(x, training=False)
                else:
                    outputs = model(x, training=False)
            probs = tf.cast(outputs["probabilities"], tf.float32)
            chosen = tf.argmax(probs, axis=-1, output_type=tf.int32) if class_index is None else \
                tf.fill([tf.shape(probs)[0]], tf.constant(int(class_index), tf.int32))
            if softmax is not None:
                scores = tf.gather(tf.cast(logits.inputs[0], tf.float32), chosen, batch_dims=1)
            else:
                scores = tf.math.log(tf.gather(probs, chosen, batch_dims=1) + 1e-12)
            score = tf.reduce_sum(scores)
        if not features.outputs:
            raise ArgumentError("layer", layer.name, "not run by the model's forward pass; choose another layer for Grad-CAM")
        feature_map = features.outputs[0]  # shared sub-models: the first call (MrCAR's face)
        gradients = tape.gradient(score, feature_map)
        if gradients is None:
            raise ArgumentError("layer", layer.name, "the class score does not depend on it; choose another layer for Grad-CAM")
        feature_map, gradients = tf.cast(feature_map, tf.float32), tf.cast(gradients, tf.float32)
        weights = tf.reduce_mean(gradients, axis=(1, 2), keepdims=True)
        cam = tf.nn.relu(tf.reduce_sum(weights * feature_map, axis=-1)).numpy()
        peak = cam.reshape(len(cam), -1).max(axis=1)
        cams.append(np.divide(cam, peak[:, None, None], out=np.zeros_like(cam), where=peak[:, None, None] > 0))
        classes.append(chosen.numpy())
        probabilities.append(probs.numpy())
    return np.concatenate(cams), np.concatenate(classes), np.concatenate(probabilities)


def penultimate_features(model, inputs, batch_size=64):
    """(N, D) features of `inputs`: the "features" output, else the classifier layer's input."""
    import keras

    if "features" in model.output:
        outputs = model.predict(inputs, batch_size=batch_size, verbose=0)
        return np.asarray(outputs["features"], np.float32), "the 'features' output"
    layer = classifier_layer(model)
    parts = []
    for start in range(0, _length(inputs), batch_size):
        x = _slice(inputs, start, start + batch_size)
        with _Capture(layer) as captured:
            model(x, training=False)
        parts.append(keras.ops.convert_to_numpy(captured.inputs[0]).astype(np.float32))
    features = np.concatenate(parts)
    return features.reshape(len(features), -1), f"the input of layer {layer.name!r}"


# ---------------------------------------------------------------------------------------- data


def _model_ready(record, config, inputs):
    """The evaluation pipeline's (centre-cropped, normalised) inputs of every sample, as arrays."""
    from fer_keras.data.pipeline import make_dataset

    xs = [x for x, _ in make_dataset(record, config, training=False, inputs=inputs).as_numpy_iterator()]
    if isinstance(xs[0], dict):
        return {key: np.concatenate([x[key] for x in xs]) for key in xs[0]}
    return np.concatenate(xs)


def stratified_choice(labels, n, seed=0):
    """Up to `n` indices, drawn in turn from each class present (seeded), sorted by class."""
    rng = np.random.default_rng(seed)
    pools = [list(rng.permutation(np.flatnonzero(labels == c))) for c in np.unique(labels)]
    chosen = []
    while len(chosen) < n and any(pools):
        for pool in pools:
            if pool and len(chosen) < n:
                chosen.append(pool.pop(0))
    chosen = np.asarray(chosen, np.int64)
    return chosen[np.argsort(labels[chosen], kind="stable")]


def _display(x):
    """(N, H, W, C) model inputs -> (N, H, W[, 3]) floats in [0, 1] for imshow."""
    x = np.asarray(x, np.float32)
    low = x.reshape(len(x), -1).min(axis=1)[:, None, None, None]
    high = x.reshape(len(x), -1).max(axis=1)[:, None, None, None]
    x = (x - low) / np.maximum(high - low, 1e-8)
    return x[..., 0] if x.shape[-1] == 1 else x


# ------------------------------------------------------------------------------------- figures


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_grad_cam(images, cams, true, predicted, confidence, class_names, path, title):
    """A grid of faces with their heat maps overlaid; captions true -> predicted (confidence)."""
    import cv2

    plt = _plt()
    n = len(images)
    cols = max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    figure, axes = plt.subplots(rows, cols, figsize=(max(2.0 * cols, 4.5), 2.5 * rows + 0.7), squeeze=False)
    for k, axis in enumerate(axes.ravel()):
        axis.axis("off")
        if k >= n:
            continue
        image = images[k]
        height, width = image.shape[:2]
        heat = cv2.resize(cams[k].astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC).clip(0, 1)
        axis.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1)
        axis.imshow(heat, cmap="jet", alpha=0.45, vmin=0, vmax=1)
        right = true[k] == predicted[k]
        axis.set_title(f"{class_names[true[k]]} → {class_names[predicted[k]]}\n{confidence[k]:.2f}", fontsize=8,
                       color="darkgreen" if right else "firebrick")
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_tsne(points, labels, class_names, path, title):
    """2-D t-SNE points coloured by true class."""
    plt = _plt()
    figure, axis = plt.subplots(figsize=(7, 6))
    colors = plt.get_cmap("tab10")
    for c in np.unique(labels):
        mask = labels == c
        axis.scatter(points[mask, 0], points[mask, 1], s=8, color=colors(int(c) % 10), label=class_names[c], alpha=0.8)
    axis.legend(markerscale=2, fontsize=8, loc="best")
    axis.set_xticks([])
    axis.set_yticks([])
    axis.set_title(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def tsne_embedding(features, seed=0):
    from sklearn.manifold import TSNE

    n = len(features)
    if n < 4:
        raise ArgumentError("tsne_samples", n, "t-SNE needs at least 4 samples")
    perplexity = float(min(30.0, max(1.0, (n - 1) / 3)))
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", learning_rate="auto", random_state=seed)
    try:  # sklearn's OpenMP threads contend with TensorFlow's: 20-50x slower in a process that ran a model
        from threadpoolctl import threadpool_limits

        limits = threadpool_limits(1, user_api="openmp")
    except ImportError:
        import contextlib

        limits = contextlib.nullcontext()
    with limits:
        return tsne.fit_transform(np.asarray(features, np.float32))


# ------------------------------------------------------------------------------------- command


def explain(trained, dataset=None, data=None, split=None, out="explain", samples=16, tsne_samples=1000, layer=None,
            batch_size=32, seed=0):
    """Write out/grad_cam.png and out/tsne.png for `trained` (a fer_keras.loading.Trained) on a
    dataset split (chosen as `fer_keras.evaluation.load_eval_record` does); returns a summary dict."""
    _require_tensorflow()
    for argument, value, low in (("samples", samples, 1), ("tsne_samples", tsne_samples, 0), ("batch_size", batch_size, 1)):
        if value is None and argument == "batch_size":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ArgumentError(argument, value, f"expected an integer >= {low}")
    model, recipe = trained.model, trained.recipe
    layer_path, feature_layer = pick_layer(model, layer)
    record, description = load_eval_record(recipe, dataset, default_data(trained, dataset, data), split)
    names = record.class_names
    if len(names) != int(model.output["probabilities"].shape[-1]):
        raise ArgumentError("dataset", record.name, f"has {len(names)} classes but the model predicts "
                            f"{int(model.output['probabilities'].shape[-1])}")
    config, regions = evaluation_inputs(model, recipe, record, batch_size)
    batch_size = config.batch_size
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    def ready(indices):
        subset = record.subset(indices)
        inputs = None if regions is None else {k: v[indices] for k, v in regions.items()}
        return subset, _model_ready(subset, config, inputs)

    chosen = stratified_choice(record.labels, samples, seed)
    subset, x = ready(chosen)
    cams, predicted, probabilities = grad_cam(model, x, feature_layer, batch_size=batch_size)
    faces = _display(x["face"] if isinstance(x, dict) else x)
    title = f"{trained.name}: Grad-CAM at {layer_path}\n{record.name} {description.split(' ')[0]} (true → predicted)"
    grad_cam_png = out / "grad_cam.png"
    plot_grad_cam(faces, cams, subset.labels, predicted, probabilities[np.arange(len(predicted)), predicted], names,
                  grad_cam_png, title)
    summary = {"grad_cam": str(grad_cam_png), "layer": layer_path, "samples": len(chosen), "split": description,
               "dataset": record.name}

    if tsne_samples:
        rng = np.random.default_rng(seed)
        count = min(tsne_samples, len(record))
        picked = np.sort(rng.choice(len(record), count, replace=False))
        subset, x = ready(picked)
        features, source = penultimate_features(model, x, batch_size)
        points = tsne_embedding(features, seed)
        tsne_png = out / "tsne.png"
        plot_tsne(points, subset.labels, names, tsne_png,
                  f"{trained.name}: t-SNE of {source}\n{count} {record.name} {description.split(' ')[0]} samples")
        summary.update({"tsne": str(tsne_png), "tsne_samples": int(count), "features": source,
                        "feature_dim": int(features.shape[1])})
    return summary


__all__ = ["classifier_layer", "explain", "grad_cam", "penultimate_features", "pick_layer", "plot_grad_cam",
           "plot_tsne", "stratified_choice", "tsne_embedding", "walk_layers"]
