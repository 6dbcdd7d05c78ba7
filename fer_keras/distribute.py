"""The tf.distribute strategy a recipe's training.distribute asks for (`distribution_strategy`)."""

import os

from fer_keras.errors import RecipeError


def distribution_strategy(setting):
    """The tf.distribute strategy for training.distribute (TensorFlow backend only), or None.

    "auto": MultiWorkerMirroredStrategy when TF_CONFIG names a cluster, MirroredStrategy when the
    machine has several GPUs, else none. "mirrored": MirroredStrategy over all GPUs, or over all
    (logical) CPUs when there is no GPU. "multi_worker": MultiWorkerMirroredStrategy from TF_CONFIG.
    "none": no strategy. The recipe's batch size is the global batch, split across replicas.
    """
    import keras

    if setting in ("none", None, False):
        return None
    if setting not in ("auto", "mirrored", "multi_worker"):
        raise RecipeError(f"training.distribute must be auto, mirrored, multi_worker or none, got {setting!r}")
    if keras.backend.backend() != "tensorflow":
        if setting != "auto":
            raise RecipeError(f"training.distribute={setting!r} needs the TensorFlow backend (KERAS_BACKEND=tensorflow)")
        return None
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    if setting == "multi_worker" or (setting == "auto" and os.environ.get("TF_CONFIG")):
        return tf.distribute.MultiWorkerMirroredStrategy()
    if setting == "mirrored":
        devices = gpus or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    return tf.distribute.MirroredStrategy() if len(gpus) > 1 else None


__all__ = ["distribution_strategy"]
