"""Adaptive weighted fusion module (AWFM) of AMDCNN (Shang et al., IEEE Access 2024), eq. 13-14."""

import keras
from keras import ops

from fer_keras.layers._common import float32_compute, serializable


@serializable
class AdaptiveWeightedFusion(keras.layers.Layer):
    """P_all = sum_k alpha_k P_k with alpha_k > 0 and sum_k alpha_k = 1 (AMDCNN eq. 13-14).

    Takes a list of K same-shaped classifier outputs (the auxiliary classifiers' and the main
    classifier's probabilities) and returns their convex combination. The weights are
    alpha = softmax(w) of K free trainable logits w, initialised equal (alpha_k = 1/K), which keeps
    them positive and summing to one while gradient descent adapts them. It takes no arguments
    but Keras's own (name, dtype, ...); its one weight is created in `build`.

    Example:

        heads = [keras.Input((7,)) for _ in range(3)]   # each head's probabilities
        fused = AdaptiveWeightedFusion()(heads)          # (None, 7)
    """

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or not input_shape or not isinstance(input_shape[0], (list, tuple)):
            raise ValueError(
                f"AdaptiveWeightedFusion '{self.name}' expects a list of classifier outputs, got shape {input_shape!r}"
            )
        shapes = {tuple(s[1:]) for s in input_shape}
        if len(shapes) != 1:
            raise ValueError(
                f"AdaptiveWeightedFusion '{self.name}' needs inputs of one shape, got {[tuple(s) for s in input_shape]}"
            )
        self.num_inputs = len(input_shape)
        self.fusion_logits = self.add_weight(name="fusion_logits", shape=(self.num_inputs,), initializer="zeros")

    @property
    def fusion_weights(self):
        """alpha: the current positive fusion weights, summing to 1."""
        return ops.softmax(float32_compute(self.fusion_logits))

    def call(self, inputs):
        alpha = ops.cast(self.fusion_weights, inputs[0].dtype)
        return sum(alpha[k] * inputs[k] for k in range(self.num_inputs))

    def compute_output_shape(self, input_shape):
        return input_shape[0]

