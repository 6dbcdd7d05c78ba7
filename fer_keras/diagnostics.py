"""Is a run learning, or has it collapsed? Per-epoch diagnostics written into the run's log.

Margin-softmax and centre-type losses can lower their loss without learning to classify: every
face given the majority class, every feature pulled into one direction (all cosines equal), or
features shrunk towards the centres. Keras' loss and accuracy columns do not say which. After each
epoch `CollapseMonitor` runs the inference model on a fixed sample of the validation split and adds
to the epoch's logs (so log.csv, TensorBoard and the History get them):

    diag_most_predicted_share   share of the sample given the most-predicted class (fused output)
    diag_<output>_spread        mean over samples of max_j cos_j - min_j cos_j, for each cosine
                                output; near 0 means the cosines have collapsed to one value
    diag_<output>_target_cosine mean cosine to the true class
    diag_feature_norm           mean L2 norm of the "features" output (centre-type losses)
    diag_center_term            1/2 mean ||x_i - c_{y_i}||^2 against the loss layer's centres: the
                                centre part of a center / island / islets loss before lambda, in
                                the papers' half-sum form whatever the loss's feature_reduction,
                                so runs stay comparable (with "mean" the loss's term is 2 / D of it)

and warns once, in words, when after `warn_after` epochs a run still gives at least
`majority_share` of the faces one class, or a head's cosines spread less than `min_spread`.
The accuracy of every head is a compiled metric (`TrainingModel.metrics`), and each loss term is
already a log column (`<output>_loss`, the centre loss as `<name>_loss`).
"""

import sys

import numpy as np

PREFIX = "diag_"


def output_diagnostics(outputs, labels, centers=None):
    """The diagnostics of one prediction pass: `outputs` a dict of (N, ...) arrays (a fer_keras
    model's outputs), `labels` (N,) ints, `centers` (classes, D) of a centre-type loss or None.
    Returns {name: float} without the "diag_" prefix."""
    labels = np.asarray(labels).reshape(-1)
    result = {}
    if "probabilities" in outputs:
        predicted = np.asarray(outputs["probabilities"]).argmax(axis=-1)
        counts = np.bincount(predicted, minlength=np.asarray(outputs["probabilities"]).shape[-1])
        result["most_predicted_share"] = float(counts.max() / max(counts.sum(), 1))
        result["most_predicted_class"] = int(counts.argmax())
    for name, value in outputs.items():
        if name == "cosines" or name.endswith("_cosine"):
            cosines = np.asarray(value, np.float64)
            result[f"{name}_spread"] = float((cosines.max(axis=-1) - cosines.min(axis=-1)).mean())
            result[f"{name}_target_cosine"] = float(cosines[np.arange(len(labels)), labels].mean())
    if "features" in outputs:
        features = np.asarray(outputs["features"], np.float64).reshape(len(labels), -1)
        result["feature_norm"] = float(np.linalg.norm(features, axis=-1).mean())
        if centers is not None:
            offsets = features - np.asarray(centers, np.float64)[labels]
            result["center_term"] = float(0.5 * np.square(offsets).sum(axis=-1).mean())
    return result


def collapse_messages(diagnostics, epochs_done, class_names, split, majority_share=0.9, min_spread=0.05):
    """Plain-words warnings for one epoch's diagnostics: {kind: message}, empty when the run looks
    healthy; kind is "majority" or "<output>_collapse"."""
    messages = {}
    share = diagnostics.get("most_predicted_share")
    if share is not None and share >= majority_share:
        name = class_names[diagnostics["most_predicted_class"]] if class_names else diagnostics["most_predicted_class"]
        messages["majority"] = (
            f"after {epochs_done} epoch(s) the model gives {share:.0%} of the {split} faces the same class ({name!r}): "
            "it has not learned past the majority class. Margin and centre losses can fall for a while without "
            "learning to classify; see docs/architectures.md, 'Collapse', before training longer.")
    for key, value in diagnostics.items():
        if key.endswith("_spread") and value < min_spread:
            head = key[: -len("_spread")]
            messages[f"{head}_collapse"] = (
                f"after {epochs_done} epoch(s) the {head!r} head's cosines have collapsed: a face's cosines to the "
                f"classes differ by {value:.3f} on average, so every class looks alike to it (all features and "
                "class vectors in one direction).")
    return messages


def diagnostic_sample(record, size=512, seed=0):
    """Indices of a fixed, seeded sample of `record` (all of it when it is smaller)."""
    n = len(record.labels)
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False))


def collapse_monitor(predict, labels, class_names=None, split="validation", warn_after=3, majority_share=0.9,
                     min_spread=0.05, stream=None, centers=None):
    """A Keras callback: after each epoch, `predict()` (-> dict of outputs for `labels`) is run and
    its diagnostics (with `centers()`, the centre-type loss's centres, when given) are added to the epoch's logs with the "diag_" prefix; warnings (see
    `collapse_messages`) go to `stream` (stderr) once each, from epoch `warn_after` on."""
    import keras

    class CollapseMonitor(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.warned = set()

        def on_epoch_end(self, epoch, logs=None):
            diagnostics = output_diagnostics(predict(), labels, None if centers is None else centers())
            if logs is not None:
                logs.update({f"{PREFIX}{k}": v for k, v in diagnostics.items() if k != "most_predicted_class"})
            if epoch + 1 < warn_after:
                return
            found = collapse_messages(diagnostics, epoch + 1, class_names, split, majority_share, min_spread)
            for kind, message in found.items():
                if kind not in self.warned:
                    self.warned.add(kind)
                    print(f"fer-keras: warning: {message}", file=stream or sys.stderr, flush=True)

    return CollapseMonitor()
