"""The package imports without TensorFlow (the GPU machine has none) and its CLI works.

Run once, in the TensorFlow run: the JAX check starts its own KERAS_BACKEND=jax subprocess."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.helpers import ROOT



BLOCK_TENSORFLOW = textwrap.dedent(
    """
    import importlib.abc, sys

    class NoTensorFlow(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name == "tensorflow" or name.startswith("tensorflow."):
                raise ImportError("tensorflow is blocked in this test")

    sys.meta_path.insert(0, NoTensorFlow())
    """
)


def run_python(code, **env):
    env = {**os.environ, "PYTHONPATH": os.getcwd(), "TF_CPP_MIN_LOG_LEVEL": "3", **env}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)


def test_import_without_tensorflow_on_jax():
    pytest.importorskip("jax")
    code = BLOCK_TENSORFLOW + textwrap.dedent(
        """
        import numpy as np
        import fer_keras, fer_keras.layers, fer_keras.losses
        from fer_keras.layers import CBAM
        from fer_keras.losses import ArcFaceLoss
        import keras
        y = CBAM(reduction_ratio=2)(np.ones((1, 6, 6, 4), "float32"))
        assert keras.backend.backend() == "jax", keras.backend.backend()
        assert "tensorflow" not in sys.modules
        print("ok", tuple(y.shape))
        """
    )
    done = run_python(code, KERAS_BACKEND="jax")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok (1, 6, 6, 4)")


def test_bare_import_is_light():
    done = run_python("import sys, fer_keras; print(sorted(m for m in ('keras', 'tensorflow', 'jax') if m in sys.modules))")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_cli_lists_every_layer_and_loss(capsys):
    from fer_keras.cli import main

    assert main(["layers", "--json"]) in (0, None)
    listed = {row["name"] for row in json.loads(capsys.readouterr().out)}
    import fer_keras.layers as layers
    import fer_keras.losses as losses

    assert listed == set(layers.__all__) | set(losses.__all__)


def test_cli_version(capsys):
    import re

    from fer_keras import __version__
    from fer_keras.cli import main

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)
    assert __version__ in capsys.readouterr().out


def test_make_install_on_a_python_that_refuses_pip_says_what_to_do(tmp_path):
    """PEP 668: a system Python marked EXTERNALLY-MANAGED gets one line naming the fix, exit 2."""
    import subprocess

    fake = tmp_path / "python3"
    fake.write_text("#!/bin/sh\nexit 3\n")  # what the Makefile's check returns on such a Python
    fake.chmod(0o755)
    done = subprocess.run(["make", "--no-print-directory", "install", f"PYTHON={fake}"], capture_output=True, text=True,
                          cwd=ROOT)
    assert done.returncode == 2 and "refuses pip (PEP 668)" in done.stderr and "-m venv .venv" in done.stderr
    assert "pip install" not in done.stdout  # nothing was attempted


@pytest.mark.slow
def test_a_wheel_in_a_fresh_venv_finds_its_recipes_from_an_empty_folder_and_trains(tmp_path):
    """Issue 34: the wheel built from the checkout holds the training recipes; installed in a venv
    (its dependencies from this interpreter's site-packages, the checkout nowhere on the path),
    `fer-keras` lists them, loads `amdcnn`, refuses a mistyped --set, trains one epoch on the
    bundled sample, from an empty folder, and predicts a photo with the bundled model and with that run."""
    import shutil
    import zipfile

    root = ROOT
    source = tmp_path / "source"  # a copy, so the build leaves no build/ in the checkout
    source.mkdir()
    for name in ("setup.py", "setup.cfg", "README.md"):
        shutil.copy(root / name, source / name)
    shutil.copytree(root / "fer_keras", source / "fer_keras", ignore=shutil.ignore_patterns("__pycache__", ".*"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path / "dist"), str(source)], check=True, capture_output=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("fer_keras-*.whl")
    shipped = sorted(p.stem for p in (root / "fer_keras" / "recipes").glob("*.yaml"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert shipped and {f"fer_keras/recipes/{name}.yaml" for name in shipped} <= names
    assert {"fer_keras/recipes/README.md", "fer_keras/recipes/schema.py"} <= names

    env_dir = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(env_dir)], check=True,
                   timeout=120)
    python, cli = env_dir / "bin" / "python", env_dir / "bin" / "fer-keras"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--ignore-installed",
                    str(wheel)], check=True, capture_output=True, timeout=300)
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="", FER_KERAS_CACHE=str(tmp_path / "cache"))

    def run(*argv):
        return subprocess.run([str(a) for a in argv], cwd=empty, env=env, capture_output=True, text=True, timeout=600)

    done = run(python, "-c", "import fer_keras; from fer_keras.recipes import load_recipe; "
               "print(fer_keras.__file__); print(load_recipe('amdcnn')['model']['name'])")
    assert done.returncode == 0, done.stderr[-3000:]
    where, model = done.stdout.split()[-2:]
    assert where.startswith(str(env_dir)) and model == "amdcnn", done.stdout
    done = run(cli, "recipes", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    assert [entry["name"] for entry in json.loads(done.stdout)] == shipped
    done = run(cli, "train", "amdcnn", "--set", "loss.magin=0.2", "--out", "typo")
    assert done.returncode == 2 and "did you mean loss.margin?" in done.stderr.splitlines()[-1], done.stderr[-2000:]
    done = run(cli, "train", "amdcnn", "--epochs", "1", "--out", "run", "--verbose", "0")
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads((empty / "run" / "metrics.json").read_text())["epochs_done"] == 1
    assert sorted(p.name for p in empty.iterdir()) == ["run"]
    import cv2
    import numpy as np

    photo = tmp_path / "photo.png"  # outside the empty folder: predict's input
    assert cv2.imwrite(str(photo), np.full((64, 64, 3), 128, np.uint8))
    for model in ([], ["--run", "run"]):  # the bundled default, then the run just trained
        done = run(cli, "predict", photo, *model, "--json")
        assert done.returncode == 0, done.stderr[-3000:]
        assert json.loads(done.stdout)[0]["faces"] == []
