"""Shared test set-up for every folder of tests/: quiet TensorFlow, hidden GPUs, seeded randomness,
the slow tier (--run-slow) and the `rng` and `real_fer2013` fixtures. What tests share beyond
fixtures (references, stubs, small runs) is in tests/helpers/, which tests import; no test module
imports another."""

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
    """The two tiers (keras-hub's --run_large): `slow` tests are skipped unless --run-slow, and so are
    `slow_on_jax` tests on the JAX backend (fresh-process checks that the fast tier runs on TensorFlow)."""
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow tier: run with --run-slow (make test-all)")
    on_jax = keras.backend.backend() == "jax"
    for item in items:
        if "slow" in item.keywords or (on_jax and "slow_on_jax" in item.keywords):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _seed_and_policy():
    keras.utils.set_random_seed(1234)
    keras.config.set_dtype_policy("float32")
    yield
    keras.config.set_dtype_policy("float32")


@pytest.fixture
def real_fer2013():
    """The real FER2013 file (tests/helpers/real_data.py); the test is skipped without it."""
    from tests.helpers.real_data import require_real

    return require_real()


@pytest.fixture
def rng():
    return np.random.default_rng(0)

