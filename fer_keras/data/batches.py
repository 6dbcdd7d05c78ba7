"""One function for batches on any Keras backend: `make_batches` gives the tf.data pipeline
(`fer_keras.data.pipeline.make_dataset`) on TensorFlow and its NumPy + OpenCV twin, a keras
PyDataset (`fer_keras.data.pydataset.make_pydataset`), on JAX and PyTorch; both make the same
batches (tests/data/test_data_pydataset.py) from the same `batch_source`.

    train = make_batches(record, config, True, epochs=30, transform=to_fit)
    train, options, callbacks = fit_options(train, steps_per_epoch(record, config))
    model.fit(train, epochs=30, callbacks=callbacks, shuffle=False, **options)
"""


def uses_tf_data():
    """Whether `make_batches` gives tf.data datasets: on the TensorFlow backend."""
    import keras

    return keras.backend.backend() == "tensorflow"


def make_batches(record, config, training, inputs=None, epochs=None, initial_epoch=0, transform=None):
    """Batches of `record` (and `inputs`, the images of a multi-input model) under `config` for
    fit / evaluate / predict on the current Keras backend, each passed through `transform(x, y)`
    or `transform(x, y, w)` when given (what fit or predict takes: e.g. `lambda x, y: (x,)`).
    `epochs`, `initial_epoch`: a training stream from `initial_epoch` (see `make_dataset` and
    `make_pydataset`); with a PyDataset, pass `fit_options(...)`'s callbacks to fit."""
    if uses_tf_data():
        from fer_keras.data.pipeline import make_dataset

        dataset = make_dataset(record, config, training, inputs, epochs=epochs, initial_epoch=initial_epoch)
        return dataset if transform is None else dataset.map(transform)
    from fer_keras.data.pydataset import make_pydataset

    return make_pydataset(record, config, training, inputs, epochs=epochs, initial_epoch=initial_epoch,
                          transform=transform)


def fit_options(batches, steps):
    """(batches, the keyword arguments of fit, the callbacks) for training batches from
    `make_batches(..., epochs=...)` with `steps` batches an epoch: tf.data repeats the stream with
    steps_per_epoch; a PyDataset is one epoch long and its callback keeps its epoch on fit's."""
    if uses_tf_data():
        return batches.repeat(), {"steps_per_epoch": steps}, []
    return batches, {}, [batches.callback()]


__all__ = ["fit_options", "make_batches", "uses_tf_data"]
