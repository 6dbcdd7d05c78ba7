"""fer_keras: MIFAD-Net, MrCAR, AMDCNN and LBAN-IL for facial expression recognition, in Keras 3.

Sub-packages:
    fer_keras.layers  reusable attention, local-binary and margin layers
    fer_keras.losses  margin-softmax losses and center / island / islets losses

    import fer_keras
    model = fer_keras.load_model("my_model.keras")   # a saved model using fer_keras layers or losses

`import fer_keras` imports neither TensorFlow nor Keras; the sub-packages need only Keras 3 and
run on the TensorFlow, JAX and PyTorch backends.
"""

__version__ = "0.1.0"

# The modules whose classes a saved model may name ("fer_keras>ClassName"); importing them registers them.
SERIALIZABLE_MODULES = ("fer_keras.layers", "fer_keras.losses", "fer_keras.schedules")


def load_model(path, **kwargs):
    """Load a model saved with `model.save("....keras")` that uses fer_keras layers, losses or
    learning-rate schedules.

    Imports fer_keras.layers, fer_keras.losses and fer_keras.schedules, which registers their
    classes with Keras, then returns `keras.saving.load_model(path, **kwargs)`; kwargs are its
    (`compile=False`, `custom_objects`, `safe_mode`). Keras (and its backend) is imported on the
    first call, not by `import fer_keras`.

        import fer_keras
        model = fer_keras.load_model("my_model.keras")

    A local `path` that is not a file is an ArgumentError naming `path`.
    """
    import importlib
    import os

    from fer_keras.errors import ArgumentError

    if "://" not in os.fspath(path) and not os.path.isfile(path):
        raise ArgumentError("path", path, "no such file" if not os.path.exists(path) else "not a file")
    for module in SERIALIZABLE_MODULES:
        importlib.import_module(module)
    from fer_keras.quiet import import_keras_quietly

    return import_keras_quietly().saving.load_model(path, **kwargs)


__all__ = ["__version__", "load_model"]
