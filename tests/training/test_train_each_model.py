"""`make train MODEL=<each>` on the bundled FER2013 sample: one epoch of each registered model's
FER2013 recipe on CPU, every run artifact written and readable without this project's code (JSON,
CSV, PNG, .keras)."""

import json
import os
import subprocess

import numpy as np
import pytest

from fer_keras.models import list_models
from tests.helpers import ROOT
ARTIFACTS = ("config.yaml", "best.keras", "last.keras", "log.csv", "metrics.json", "confusion_matrix.png", "curves.png")
# The collapse diagnostics (fer_keras.diagnostics) each model's log must have, by its outputs.
DIAGNOSTICS = {
    "amdcnn": ["diag_main_cosine_spread", "diag_aux1_cosine_spread", "val_aux1_cosine_accuracy"],
    "mrcar": ["diag_cosines_spread", "val_cosines_accuracy"],
    "mifad_net": ["diag_cosines_spread", "diag_feature_norm"],
    "lban": ["diag_feature_norm", "diag_center_term"],
}


def test_every_registered_model_has_its_test_facts():
    assert sorted(DIAGNOSTICS) == list_models(), "add the new model's entry to DIAGNOSTICS"


@pytest.mark.slow
@pytest.mark.parametrize("model", list_models())
def test_make_train_on_the_bundled_sample(model, tmp_path):
    import pandas as pd

    out = tmp_path / model
    done = subprocess.run(
        ["make", "--no-print-directory", "train", f"MODEL={model}", "EPOCHS=1", f"OUT={out}", "SET=training.jit_compile=false"],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "KERAS_BACKEND": "tensorflow"},
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    for name in ARTIFACTS:
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs_done"] == 1 and metrics["samples"] == {"train": 448, "validation": 112, "test": None}
    assert "stratified 20% of Training" in metrics["protocol"]
    # The headline accuracy is the one the confusion matrix gives (ten-crop where the recipe has it).
    headline = metrics["validation"]["tencrop" if "tencrop" in metrics["validation"] else "single"]
    counts = np.asarray(headline["confusion_matrix"])
    assert counts.sum() == 112 and metrics["accuracy"] == pytest.approx(np.trace(counts) / 112)
    log = pd.read_csv(out / "log.csv")
    assert len(log) == 1
    # The collapse diagnostics (fer_keras.diagnostics) are log columns, with each head's accuracy.
    # One epoch: the kept weights are the logged ones, so the share is the single-crop confusion
    # matrix's largest column over the 112 validation faces (all of them: fewer than 512).
    predicted = np.asarray(metrics["validation"]["single"]["confusion_matrix"]).sum(axis=0)
    assert log["diag_most_predicted_share"].iloc[0] == pytest.approx(predicted.max() / 112)
    assert not [c for c in DIAGNOSTICS[model] if c not in log], sorted(log.columns)
    assert json.loads(done.stdout.strip().splitlines()[-1])["run"] == str(out)
