"""Known weights for the numeric layer tests: every weight of a layer set to a known random value,
and the value read back by the end of its path."""

from fer_keras.quiet import import_keras_quietly

keras = import_keras_quietly()


def randomize_weights(layer, rng, scale=0.5):
    """Give every weight a known random value (positive for BN variances); return {path: value}."""
    values = {}
    for w in layer.weights:
        if "binary_kernel" in w.path:
            value = keras.ops.convert_to_numpy(w)
        elif "moving_variance" in w.path:
            value = rng.uniform(0.5, 1.5, w.shape)
        else:
            value = rng.normal(0.0, scale, w.shape)
        w.assign(value.astype("float32"))
        values[w.path] = value.astype("float32")
    return values


def weight(values, suffix):
    """The one value whose path ends with `suffix`."""
    hits = [v for p, v in values.items() if p.endswith(suffix)]
    assert len(hits) == 1, f"{suffix!r} matches {[p for p in values if p.endswith(suffix)]}"
    return hits[0]


def bn_params(values, prefix):
    return tuple(weight(values, f"{prefix}/{n}") for n in ("gamma", "beta", "moving_mean", "moving_variance"))
