"""Cross-entropy with label smoothing on integer labels (Szegedy et al., "Rethinking the Inception
Architecture", 2016, §7): the target is q = (1 - ε) · onehot(y) + ε / K, so

    L = -Σ_k q_k log p_k = (1 - ε) · (-log p_y) + ε · mean_k(-log p_k).

Keras' SparseCategoricalCrossentropy has no label smoothing; this is it, on probabilities (the
fer_keras models' "probabilities" output) or on logits. Beyond the four papers: issue 18's recipe.

    model.compile(loss={"probabilities": LabelSmoothingCrossentropy(0.1)})
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="fer_keras")
class LabelSmoothingCrossentropy(keras.losses.Loss):
    """Sparse categorical cross-entropy against targets smoothed by `label_smoothing` (ε in [0, 1)).

    Args:
        label_smoothing: ε; 0 is plain cross-entropy.
        from_logits: whether predictions are logits (else probabilities, clipped at 1e-7 as Keras does).
    """

    def __init__(self, label_smoothing=0.1, from_logits=False, name="label_smoothing_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        if not 0 <= float(label_smoothing) < 1:
            raise ValueError(f"LabelSmoothingCrossentropy: label_smoothing must be in [0, 1), got {label_smoothing!r}")
        self.label_smoothing = float(label_smoothing)
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        y_pred = ops.cast(y_pred, "float32")
        if self.from_logits:
            log_p = ops.log_softmax(y_pred, axis=-1)
        else:
            log_p = ops.log(ops.clip(y_pred, 1e-7, 1.0))
        classes = ops.shape(y_pred)[-1]
        labels = ops.cast(ops.reshape(y_true, [-1]), "int32")
        true_term = -ops.sum(ops.one_hot(labels, classes) * log_p, axis=-1)
        uniform_term = -ops.mean(log_p, axis=-1)
        return (1.0 - self.label_smoothing) * true_term + self.label_smoothing * uniform_term

    def get_config(self):
        config = super().get_config()
        config.update(label_smoothing=self.label_smoothing, from_logits=self.from_logits)
        return config
