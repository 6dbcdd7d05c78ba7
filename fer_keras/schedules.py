"""Learning-rate schedules of the papers' recipes, as Keras schedules on the optimizer's step count
(so a resumed run continues the schedule exactly where it stopped)."""

import keras
from keras import ops


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
            raise ValueError(
                "EpochStepDecay needs steps_per_epoch >= 1, every_epochs >= 1, start_epoch >= 0 and "
                f"0 < factor <= 1; got {steps_per_epoch}, {every_epochs}, {start_epoch}, {factor}"
            )
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
