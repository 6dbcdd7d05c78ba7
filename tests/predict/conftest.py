"""The tiny trained run that tests/predict/ evaluates, predicts with, explains and publishes."""

import numpy as np
import pytest

from tests.helpers.tiny_run import small_recipe, write_learnable_folders


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """(run directory, data folder) of a 2-epoch AMDCNN run on 28x28 crops of 32x32 images, trained
    once per test module that asks for it."""
    from fer_keras.training import train

    root = tmp_path_factory.mktemp("use")
    write_learnable_folders(root / "data", {"train": 24, "val": 12}, np.random.default_rng(0))
    train(small_recipe(2), data=root / "data", out=root / "run", verbose=0)
    return root / "run", root / "data"
