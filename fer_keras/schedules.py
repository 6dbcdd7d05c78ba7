"""Learning-rate schedules of the papers' recipes, as Keras schedules on the optimizer's step count
(so a resumed run continues the schedule exactly where it stopped). A wrong value is an
ArgumentError naming it, a recipe's schedule section that names no schedule a RecipeError."""

import keras
from keras import ops

from fer_keras.errors import ArgumentError, RecipeError


@keras.saving.register_keras_serializable(package="fer_keras")
class EpochStepDecay(keras.optimizers.schedules.LearningRateSchedule):
    """lr(epoch) = initial * factor ** floor((epoch - start) / every + 1) for epoch >= start, else initial.

    The papers' wording, epochs counted from 0:
    - MrCAR (FER2013): 0.01, "after the model runs 80 epochs ... every 5 epochs becomes 0.9 times":
      start=80, every=5, factor=0.9 -> epochs 80-84 use 0.009, 85-89 0.0081, ...
    - LBAN-IL: 0.001, "decreased by 0.9 every five epoches since the 20th epoch": start=20, every=5.

    The epoch is `step // steps_per_epoch` (steps = optimizer iterations).
    """

    def __init__(self, initial_learning_rate, steps_per_epoch, start_epoch, every_epochs, factor):
        if steps_per_epoch < 1 or every_epochs < 1 or start_epoch < 0 or not 0 < factor <= 1:
            raise ArgumentError(None, problem="EpochStepDecay needs steps_per_epoch >= 1, every_epochs >= 1, start_epoch "
                                f">= 0 and 0 < factor <= 1; got {steps_per_epoch}, {every_epochs}, {start_epoch}, {factor}")
        self.initial_learning_rate = float(initial_learning_rate)
        self.steps_per_epoch = int(steps_per_epoch)
        self.start_epoch = int(start_epoch)
        self.every_epochs = int(every_epochs)
        self.factor = float(factor)

    def __call__(self, step):
        epoch = ops.floor_divide(ops.cast(step, "int32"), self.steps_per_epoch)
        decays = ops.where(
            epoch >= self.start_epoch, ops.floor_divide(epoch - self.start_epoch, self.every_epochs) + 1, 0
        )
        return self.initial_learning_rate * ops.power(self.factor, ops.cast(decays, "float32"))

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "steps_per_epoch": self.steps_per_epoch,
            "start_epoch": self.start_epoch,
            "every_epochs": self.every_epochs,
            "factor": self.factor,
        }


def warmup_factor(epoch, warmup_epochs):
    """The share of a loss's margin or weight used in `epoch` (counted from 0): a linear ramp
    0, 1/N, 2/N, ... reaching 1 at epoch N (1 throughout when N is 0)."""
    if warmup_epochs <= 0:
        return 1.0
    return min(1.0, epoch / warmup_epochs)


def loss_warmup(training, warmup_epochs):
    """A Keras callback that ramps the training objective in over the first `warmup_epochs`
    epochs: the margin m of each ArcFace / AM-Softmax loss and the weight lambda of a center-type
    loss are scaled by `warmup_factor(epoch)` (so epoch 0 trains with plain normalised softmax, or
    softmax alone). The softmax warm-up is the usual remedy for margin losses that collapse from
    scratch (docs/architectures.md, "Collapse"). The value depends only on the epoch, so a resumed
    run continues the ramp exactly; the train and test functions are re-traced when it changes."""
    import keras

    targets = [(loss, "margin", loss.margin) for loss in training.loss.values() if hasattr(loss, "margin")]
    if training.center_loss is not None:
        targets.append((training.center_loss, "loss_weight", training.center_loss.loss_weight))

    class LossWarmup(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            factor = warmup_factor(epoch, warmup_epochs)
            changed = False
            for owner, attribute, full in targets:
                if getattr(owner, attribute) != full * factor:
                    setattr(owner, attribute, full * factor)
                    changed = True
            if changed:
                self.model.make_train_function(force=True)
                self.model.make_test_function(force=True)

        def on_epoch_end(self, epoch, logs=None):
            if logs is not None:
                logs["warmup_factor"] = warmup_factor(epoch, warmup_epochs)

    return LossWarmup()


@keras.saving.register_keras_serializable(package="fer_keras")
class CoupledL2SGD(keras.optimizers.SGD):
    """SGD whose weight decay is PyTorch's: `l2 * w` is added to the gradient before momentum
    (torch.optim.SGD's weight_decay), not subtracted from the weights afterwards as Keras'
    decoupled `weight_decay` does. With momentum mu the two differ by about 1 / (lr * (1 - mu))
    for the same number: LBAN-IL's "weight decay 0.05" under PyTorch is this optimiser with l2=0.05.
    Like PyTorch's default it applies to every trainable variable (BN and biases too)."""

    def __init__(self, l2=0.0, **kwargs):
        super().__init__(**kwargs)
        if not float(l2) >= 0:
            raise ArgumentError(None, problem=f"CoupledL2SGD: l2 must be >= 0, got {l2!r}")
        self.l2 = float(l2)

    def update_step(self, gradient, variable, learning_rate):
        if self.l2:
            gradient = ops.add(gradient, ops.multiply(ops.cast(self.l2, variable.dtype), variable))
        return super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "l2": self.l2}


def epoch_step_decay(learning_rate, steps_per_epoch, epochs, start_epoch: int, every_epochs: int, factor: float):
    """The papers' step decay (`EpochStepDecay`): x`factor` every `every_epochs` epochs from `start_epoch`."""
    return EpochStepDecay(learning_rate, steps_per_epoch, start_epoch, every_epochs, factor)


def cosine(learning_rate, steps_per_epoch, epochs, warmup_epochs: float = 0.0, alpha: float = 0.0):
    """Beyond the papers: linear warm-up from 0 over `warmup_epochs`, then half a cosine from the
    learning rate down to `alpha` times it at the last of the recipe's `epochs` (Keras' CosineDecay,
    on the optimizer's step count, so a resumed run continues it)."""
    warmup = int(round(float(warmup_epochs) * steps_per_epoch))
    total = int(epochs) * int(steps_per_epoch)
    if not 0 <= warmup < total:
        raise ArgumentError(None, problem=f"cosine schedule: warmup_epochs must be >= 0 and below the recipe's epochs "
                            f"({epochs}), got {warmup_epochs!r}")
    if warmup:
        return keras.optimizers.schedules.CosineDecay(0.0, total - warmup, alpha=float(alpha),
                                                      warmup_target=float(learning_rate), warmup_steps=warmup)
    return keras.optimizers.schedules.CosineDecay(float(learning_rate), total, alpha=float(alpha))


# A recipe's schedule section: {name: SCHEDULES key, and that function's keyword arguments but
# SCHEDULE_ARGUMENTS, which the trainer passes}; a section without a name is DEFAULT_SCHEDULE.
SCHEDULES = {"epoch_step_decay": epoch_step_decay, "cosine": cosine}
SCHEDULE_ARGUMENTS = ("learning_rate", "steps_per_epoch", "epochs")
DEFAULT_SCHEDULE = "epoch_step_decay"


def optimizer_classes():
    """{a recipe's optimizer.name: the Keras optimizer classes whose arguments its section may
    hold}; sgd with `l2` is `CoupledL2SGD`."""
    return {"adam": (keras.optimizers.Adam,), "sgd": (keras.optimizers.SGD, CoupledL2SGD)}


def learning_rate(base, schedule, steps_per_epoch, epochs):
    """The learning rate starting from `base` under the recipe's schedule section (a
    `fer_keras.recipes.schema.ScheduleSection`; None: constant): `SCHEDULES[schedule.name]`
    (epoch_step_decay: `EpochStepDecay`; cosine) with the section's options."""
    import inspect

    if schedule is None:
        return base
    name, options = schedule.name, dict(schedule.options)
    if name not in SCHEDULES:
        raise RecipeError(f"schedule name must be one of {', '.join(SCHEDULES)}, got {name!r}")
    function = SCHEDULES[name]
    known = [key for key in inspect.signature(function).parameters if key not in SCHEDULE_ARGUMENTS]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise RecipeError(f"{name} schedule: unknown key(s) {unknown}; known: {', '.join(known)}")
    return function(base, steps_per_epoch, epochs, **options)
