"""The SavedModel format: Keras' ExportArchive with the one serving endpoint, the contract in
assets.extra/fer_keras.json; and its runner for `fer_keras.export.load_exported`."""

import json

from fer_keras.export.signature import OUTPUT, contract, serving_function


def _write_savedmodel(model, path):
    import keras

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", serving_function(model))  # also written as "serving_default"
    archive.write_out(str(path), verbose=False)


def _export_savedmodel(trained, out):
    from fer_keras import export  # the package: a replaced `fer_keras.export._write_savedmodel` is the one used

    export._write_savedmodel(trained.model, out)
    extra = out / "assets.extra"
    extra.mkdir(exist_ok=True)
    (extra / "fer_keras.json").write_text(json.dumps(contract(trained), indent=2) + "\n")
    return {}


def runner(path, threads=None):
    """(input names, run, loaded) for a SavedModel directory: run({name: float32 array}) ->
    (N, classes) probabilities; `loaded` keeps the SavedModel alive. `threads` is not used."""
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    signature = loaded.signatures["serving_default"]
    names = list(signature.structured_input_signature[1])
    return names, lambda named: signature(**{k: tf.constant(v) for k, v in named.items()})[OUTPUT].numpy(), loaded
