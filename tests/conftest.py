"""Shared test set-up: quiet TensorFlow, seeded randomness, weight helpers."""

import os

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from fer_keras.quiet import import_keras_quietly  # noqa: E402

keras = import_keras_quietly()


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", default=False,
                     help="also run the tests marked slow (make test-all); `make test` leaves them out")


def pytest_collection_modifyitems(config, items):
    """The two tiers (keras-hub's --run_large): `slow` tests are skipped unless --run-slow."""
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow tier: run with --run-slow (make test-all)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _seed_and_policy():
    keras.utils.set_random_seed(1234)
    keras.config.set_dtype_policy("float32")
    yield
    keras.config.set_dtype_policy("float32")


@pytest.fixture
def real_fer2013():
    """The real FER2013 file (tests/real_data.py); the test is skipped without it."""
    from tests.real_data import require_real

    return require_real()


@pytest.fixture
def rng():
    return np.random.default_rng(0)


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
