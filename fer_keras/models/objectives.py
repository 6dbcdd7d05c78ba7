"""The papers' training objectives for the models' outputs.

`make_training_model(model, loss)` returns the model to `fit` and the `loss` dict for `compile`:

    loss          outputs used                            losses
    softmax       probabilities                           cross-entropy
    arcface       cosines                                 ArcFaceLoss (MrCAR eq. 10)
    angular       cosines                                 ArcFaceLoss (MIFAD-Net eq. 10)
    am_softmax    <head>_cosine (+ fused probabilities)   AMSoftmaxLoss on every classifier head
                                                          (AMDCNN eq. 10), cross-entropy on the
                                                          fused output so the fusion weights learn
    center        probabilities + features                cross-entropy + lambda * center loss
    island        probabilities + features                cross-entropy + lambda * island loss
    islets        probabilities + features                cross-entropy + lambda * islets loss

For the center-type losses the training model takes a second input "labels" and wraps the
inference model (which it shares weights with); fit it on `with_labels(x, y)`.

A loss or option these functions refuse, or a model without the outputs the loss needs, is an
ArgumentError about `loss` (the recipe's loss section), "loss: ..."; the loss classes' own checks
of their values are Keras-style ValueErrors (fer_keras.losses).
"""

from dataclasses import dataclass

import keras

from fer_keras.errors import ArgumentError
from fer_keras.losses import AMSoftmaxLoss, ArcFaceLoss, CenterLoss, IslandLoss, IsletsLoss

CENTER_LOSSES = {"center": CenterLoss, "island": IslandLoss, "islets": IsletsLoss}
LOSS_NAMES = ("softmax", "arcface", "angular", "am_softmax", *CENTER_LOSSES)
LABELS = "labels"


@dataclass
class TrainingModel:
    """What `model.fit` needs: the model, the per-output losses, and whether labels are an input."""

    model: keras.Model
    loss: dict
    needs_labels: bool = False
    center_loss: keras.layers.Layer = None
    loss_weights: dict = None
    sample_weighted: tuple = None  # outputs whose losses take the balanced sample weights (None: all)

    def metrics(self):
        """Accuracy of the fused probabilities and of every cosine head (argmax of its cosines)."""
        return {name: ["accuracy"] for name in self.model.output if name in ("probabilities", "cosines") or name.endswith("_cosine")}


def _require(model, output, loss):
    if output not in model.output:
        raise ArgumentError("loss", problem=f"Loss {loss!r} needs a {output!r} output, but model {model.name!r} has "
                            f"{sorted(model.output)}")


AUX_HEAD = "aux"
SAMPLE_WEIGHT_SCOPES = ("all", "final")


def make_training_model(model, loss, num_classes=7, scale: float = 30.0, margin: float | None = None,
                        loss_weight: float | None = None, aux_weight: float = 1.0, sample_weights_on: str = "all",
                        label_smoothing: float = 0.0, **center_options):
    """The training model and compile losses of `model` for the objective `loss`.

    Args:
        model: a fer_keras model (dict outputs with "probabilities", and "cosines",
            "<head>_cosine" or "features" as the loss needs).
        loss: one of LOSS_NAMES.
        num_classes: number of classes (for the centers of center-type losses).
        scale, margin: margin-softmax hyper-parameters (margin defaults: ArcFace 0.5, AM-Softmax 0.35).
        loss_weight: lambda of a center-type loss (defaults: center / island 0.01, islets 0.6).
        aux_weight: am_softmax only: the weight of each auxiliary head's loss ("aux<k>_cosine") in
            the total; the main head and the fused output keep weight 1.
        sample_weights_on: "all" (every output's loss takes the balanced sample weights, as Keras
            does by default) or "final" (only the main head and the fused output; auxiliary heads
            are unweighted).
        label_smoothing: softmax only: ε of `LabelSmoothingCrossentropy` (0: plain cross-entropy).
        **center_options: alpha, lambda1, lambda2, feature_reduction of the center-type losses.
    """
    _check_arguments(loss, aux_weight, sample_weights_on, label_smoothing, center_options)
    if not isinstance(model.output, dict):
        raise ArgumentError("model", problem=f"make_training_model needs a model with dict outputs, got "
                            f"{type(model.output).__name__}")
    if loss == "softmax":
        _require(model, "probabilities", loss)
        if label_smoothing:
            from fer_keras.losses import LabelSmoothingCrossentropy

            return TrainingModel(model, {"probabilities": LabelSmoothingCrossentropy(label_smoothing)})
        return TrainingModel(model, {"probabilities": "sparse_categorical_crossentropy"})
    if loss in ("arcface", "angular"):
        _require(model, "cosines", loss)
        return TrainingModel(model, {"cosines": _margin_loss(loss, scale, margin)})
    if loss == "am_softmax":
        heads = [name for name in model.output if name.endswith("_cosine")]
        if not heads:
            raise ArgumentError("loss", problem=f"Loss 'am_softmax' needs '<head>_cosine' outputs; model {model.name!r} "
                                f"has {sorted(model.output)}")
        losses = {name: _margin_loss(loss, scale, margin) for name in heads}
        if len(heads) > 1:
            losses["probabilities"] = "sparse_categorical_crossentropy"
        weights = {name: float(aux_weight) if name.startswith(AUX_HEAD) else 1.0 for name in losses}
        weighted = None if sample_weights_on == "all" else tuple(n for n in losses if not n.startswith(AUX_HEAD))
        return TrainingModel(model, losses, loss_weights=weights, sample_weighted=weighted)

    _require(model, "features", loss)
    _require(model, "probabilities", loss)
    center_loss = _center_loss(loss, num_classes, loss_weight, center_options)
    inputs = {t.name: keras.Input(t.shape[1:], dtype=t.dtype, name=t.name) for t in model.inputs}
    labels = keras.Input((), dtype="int32", name=LABELS)
    outputs = model(inputs if isinstance(model.input, dict) else next(iter(inputs.values())))
    outputs = {**outputs, "features": center_loss([outputs["features"], labels])}
    train_model = keras.Model({**inputs, LABELS: labels}, outputs, name=f"{model.name}_{loss}_training")
    return TrainingModel(train_model, {"probabilities": "sparse_categorical_crossentropy"}, True, center_loss)


def _check_arguments(loss, aux_weight, sample_weights_on, label_smoothing, center_options):
    if loss not in LOSS_NAMES:
        raise ArgumentError("loss", problem=f"Unknown loss {loss!r}; available: {', '.join(LOSS_NAMES)}")
    if sample_weights_on not in SAMPLE_WEIGHT_SCOPES:
        raise ArgumentError("loss", problem=f"sample_weights_on must be one of {SAMPLE_WEIGHT_SCOPES}, got "
                            f"{sample_weights_on!r}")
    if not float(aux_weight) >= 0:
        raise ArgumentError("loss", problem=f"aux_weight must be >= 0, got {aux_weight!r}")
    if label_smoothing and loss != "softmax":
        raise ArgumentError("loss", problem=f"label_smoothing applies to the softmax loss only, not {loss!r}")
    if center_options and loss not in CENTER_LOSSES:  # they would be dropped without a word
        raise ArgumentError(None, problem=f"loss {loss!r} takes no option(s) {sorted(center_options)}; its options: "
                            f"{', '.join(loss_options(loss))}")


def _margin_loss(loss, scale, margin):
    """The margin-softmax loss of one cosine head (margin defaults: ArcFace 0.5, AM-Softmax 0.35)."""
    if loss == "am_softmax":
        return AMSoftmaxLoss(scale, 0.35 if margin is None else margin)
    return ArcFaceLoss(scale, 0.5 if margin is None else margin)


def _center_loss(loss, num_classes, loss_weight, center_options, name=None):
    """The centre-type loss layer (lambda defaults: center / island 0.01, islets 0.6)."""
    if loss_weight is None:
        loss_weight = 0.6 if loss == "islets" else 0.01
    return CENTER_LOSSES[loss](num_classes, loss_weight=loss_weight, name=name or f"{loss}_loss", **center_options)


def loss_options(loss):
    """{option: inspect.Parameter} of what `make_training_model(model, loss, ...)` takes for the
    objective `loss` (a LOSS_NAMES name): its own keyword arguments and, for a centre-type loss, the
    loss layer's (alpha, lambda1, ...). A recipe's loss section holds these (and warmup_epochs)."""
    import inspect

    if loss not in LOSS_NAMES:
        raise ArgumentError("loss", problem=f"Unknown loss {loss!r}; available: {', '.join(LOSS_NAMES)}")
    own = {name: p for name, p in inspect.signature(make_training_model).parameters.items()
           if name not in ("model", "loss", "num_classes") and p.kind is not p.VAR_KEYWORD}
    if loss in CENTER_LOSSES:
        for cls in CENTER_LOSSES[loss].__mro__:
            if cls is keras.layers.Layer:
                break
            if "__init__" in vars(cls):
                for name, p in inspect.signature(cls.__init__).parameters.items():
                    if name not in ("self", "num_classes", "loss_weight", "name") and p.kind not in (p.VAR_POSITIONAL,
                                                                                                     p.VAR_KEYWORD):
                        own.setdefault(name, p)
    return own


def check_objective(loss, num_classes=7, scale=30.0, margin=None, loss_weight=None, aux_weight=1.0,
                    sample_weights_on="all", label_smoothing=0.0, **center_options):
    """Raise the error `make_training_model` would raise for these options, without a model: the
    argument checks (ArgumentError), then the losses' own constructors (which check their values:
    a ValueError, or a TypeError for a value of the wrong type)."""
    _check_arguments(loss, aux_weight, sample_weights_on, label_smoothing, center_options)
    if loss in ("arcface", "angular", "am_softmax"):
        _margin_loss(loss, scale, margin)
    elif loss in CENTER_LOSSES:
        _center_loss(loss, num_classes, loss_weight, center_options, name=f"checked_{loss}_loss")


def with_labels(x, y, model):
    """Inputs for a training model that takes labels: x (array or dict) plus {"labels": y}."""
    if isinstance(x, dict):
        return {**x, LABELS: y}
    return {model.inputs[0].name: x, LABELS: y}
