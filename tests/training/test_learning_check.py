"""Issue 15's learning check (experiments/learning_check.py): it reads the first N epochs of each
model's run, refuses a run trained with another recipe, says pass or fail by accuracy and collapse
after any loss warm-up, and stops training at the first passing epoch. Training itself is covered
by tests/training/test_training.py."""

import json
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from fer_keras.recipes import load_recipe
from tests.helpers import load_script


@pytest.fixture
def check(monkeypatch):
    return load_script("experiments/learning_check.py")


def _fake_run(runs, model, accuracies, shares, recipe=None, time_limit=140):
    """runs/<model>_fer2013 as training leaves it: config.yaml, log.csv, metrics.json."""
    run = runs / f"{model}_fer2013"
    run.mkdir(parents=True)
    recipe = recipe or load_recipe(model, "fer2013", [f"training.time_limit_minutes={time_limit}"])
    run.joinpath("config.yaml").write_text(yaml.safe_dump({"recipe": recipe, "data": None, "keras_backend": "tensorflow"}))
    n = len(accuracies)
    pd.DataFrame({"epoch": range(n), "probabilities_accuracy": np.linspace(0.2, 0.6, n),
                  "val_probabilities_accuracy": accuracies, "diag_most_predicted_share": shares}).to_csv(run / "log.csv", index=False)
    run.joinpath("metrics.json").write_text(json.dumps({"epochs_done": n, "train_images_per_second": 100.0,
                                                        "samples": {"train": 20000}, "precision": "float32", "macro_f1": 0.4}))
    return run


def test_reads_only_the_first_epochs_and_passes_on_accuracy_and_spread(check, tmp_path):
    accuracies = [0.2, 0.3, 0.47, 0.44] + [0.9]  # the 5th epoch is past the check's 4
    _fake_run(tmp_path, "amdcnn", accuracies, [0.99, 0.5, 0.4, 0.3, 0.3])
    _fake_run(tmp_path, "lban", [0.25, 0.25, 0.25, 0.25], [0.99, 0.99, 0.99, 0.99])
    out = tmp_path / "learning_check.json"
    result = check.main(["--read-only", "--runs", str(tmp_path), "--epochs", "4", "--models", "amdcnn", "lban",
                         "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    amdcnn, lban = result["models"]["amdcnn"], result["models"]["lban"]
    assert (amdcnn["publictest_accuracy"], amdcnn["best_epoch"], amdcnn["most_predicted_share"]) == (0.47, 3, 0.4)
    assert amdcnn["publictest_accuracy_by_epoch"] == [0.2, 0.3, 0.47, 0.44]
    assert amdcnn["epochs"] == 4 and amdcnn["passes"] and "time_limit_minutes" not in amdcnn["recipe"]["training"]
    assert amdcnn["seconds_per_epoch"] == 200.0 and "macro_f1" not in amdcnn  # the run went past the check
    assert lban["publictest_accuracy"] == 0.25 and not lban["passes"]


def test_a_run_short_of_the_epochs_passes_at_its_first_passing_epoch_or_not_yet(check, tmp_path):
    _fake_run(tmp_path, "lban", [0.3, 0.5, 0.2], [0.4, 0.3, 0.95])  # recipes without a loss warm-up
    _fake_run(tmp_path, "amdcnn", [0.3, 0.44], [0.4, 0.3])
    result = check.main(["--read-only", "--runs", str(tmp_path), "--epochs", "4", "--models", "lban", "amdcnn",
                         "--out", str(tmp_path / "lc.json")])
    lban, amdcnn = result["models"]["lban"], result["models"]["amdcnn"]
    assert lban["passes"] and lban["passed_at_epoch"] == 2  # a later collapse cannot undo a pass
    assert amdcnn["epochs"] == 2 and not amdcnn["passes"] and amdcnn["passed_at_epoch"] is None


def test_no_verdict_before_the_loss_warmup_ends(check, tmp_path):
    recipe = load_recipe("mifad_net", "fer2013")
    warmup = recipe["loss"]["warmup_epochs"]
    accuracies = [0.5] * warmup + [0.4, 0.46]
    _fake_run(tmp_path, "mifad_net", accuracies, [0.3] * len(accuracies))
    entry = check.main(["--read-only", "--runs", str(tmp_path), "--epochs", "20", "--models", "mifad_net",
                        "--out", str(tmp_path / "lc.json")])["models"]["mifad_net"]
    assert entry["passed_at_epoch"] == warmup + 2 and entry["publictest_accuracy"] == 0.5


def test_the_stop_callback_stops_at_the_first_passing_epoch_unless_full(check):
    class Model:
        stop_training = False

    def stops(callback, epoch, accuracy, share):
        callback.set_model(Model())
        callback.on_epoch_end(epoch, {"val_probabilities_accuracy": accuracy, "diag_most_predicted_share": share})
        return callback.model.stop_training

    early, full = check._stop_check(20, warmup=2, pass_accuracy=0.45), check._stop_check(20)
    assert not stops(early, 1, 0.6, 0.3)  # epoch 2: still in the warm-up
    assert not stops(early, 2, 0.6, 0.95) and not stops(early, 2, 0.44, 0.3)
    assert stops(early, 2, 0.45, 0.3)
    assert not stops(full, 2, 0.9, 0.3) and stops(full, 19, 0.2, 0.3)


def test_a_run_with_another_recipe_is_refused_before_training(check, tmp_path):
    recipe = load_recipe("amdcnn", "fer2013", ["loss.aux_weight=1.0"])
    _fake_run(tmp_path, "amdcnn", [0.3], [0.4], recipe=recipe)
    with pytest.raises(SystemExit, match="loss.aux_weight"):
        check.check_model("amdcnn", None, 4, tmp_path)
    with pytest.raises(SystemExit, match="loss.aux_weight"):  # summarising it is refused too
        check.main(["--read-only", "--runs", str(tmp_path), "--epochs", "1", "--models", "amdcnn",
                    "--out", str(tmp_path / "lc.json")])


def test_a_run_with_the_epochs_is_read_not_trained(check, tmp_path, monkeypatch):
    _fake_run(tmp_path, "amdcnn", [0.3] * 5, [0.4] * 5, time_limit=30)  # another chunk length is the same recipe
    _fake_run(tmp_path, "lban", [0.3, 0.5], [0.4, 0.3])  # short of the epochs, but passed
    monkeypatch.setitem(sys.modules, "fer_keras.training", None)  # importing train would fail
    assert check.check_model("amdcnn", None, 4, tmp_path) == tmp_path / "amdcnn_fer2013"
    assert check.check_model("lban", None, 4, tmp_path) == tmp_path / "lban_fer2013"
    with pytest.raises(ImportError):  # --full trains on
        check.check_model("lban", None, 4, tmp_path, full=True)
