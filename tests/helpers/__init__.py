"""What the tests share, imported by them (no test module imports another):

- `ROOT` (the checkout), `load_script` (a script of experiments/ or benchmarks/ by path) and
  `run_cli` (`fer-keras ...` in-process) here;
- numpy_reference: independent NumPy implementations of the papers' equations (the oracles);
- real_data: the real FER2013 file, or a skip;
- augmentation_checks: the rotation probe of the tf.data and PyDataset pipeline tests;
- weights: known weights for the numeric layer tests;
- tiny_run: the learnable folder dataset and the small AMDCNN recipe that tiny runs train;
- photos: photos written to disk and a predictor stub that finds no face.

The fixtures every folder uses (`rng`, `real_fer2013`, the slow tier) are in tests/conftest.py.
"""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_script(path):
    """The module of a script that is not in the package, by its path in the checkout
    (e.g. "experiments/tools/publish.py")."""
    path = ROOT / path
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_cli(capsys, *argv):
    """`fer-keras *argv` in-process: (exit code, stdout, stderr)."""
    from fer_keras.cli import main

    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err
