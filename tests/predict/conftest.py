"""The tiny trained run that tests/predict/ evaluates, predicts with, explains and publishes."""

import shutil

import numpy as np
import pytest

from tests.helpers.tiny_run import small_recipe, write_learnable_folders


@pytest.fixture(scope="session")
def _trained_run(tmp_path_factory):
    """(run directory, data folder) of a 2-epoch AMDCNN run on 28x28 crops of 32x32 images, trained
    once per test session (per pytest-xdist worker)."""
    from fer_keras.training import train

    root = tmp_path_factory.mktemp("use")
    write_learnable_folders(root / "data", {"train": 24, "val": 12}, np.random.default_rng(0))
    train(small_recipe(2), data=root / "data", out=root / "run", verbose=0)
    return root / "run", root / "data"


@pytest.fixture(scope="module")
def run(_trained_run, tmp_path_factory):
    """The session's tiny run, copied for each test module that asks for it (a module may write
    into its run folder), with the data folder it was trained on."""
    trained, data = _trained_run
    copy = tmp_path_factory.mktemp("run") / "run"
    shutil.copytree(trained, copy)
    return copy, data
