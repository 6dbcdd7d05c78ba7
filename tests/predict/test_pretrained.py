"""Pretrained weights shipped in the package (fer_keras.models.pretrained), publishing a run
(experiments/tools/publish.py) and README's results table (experiments/tools/results_table.py)."""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import fer_keras.models.pretrained as pretrained
from fer_keras.data.sample import faces_on_canvas as on_canvas
from tests.helpers import ROOT, load_script, run_cli
from tests.helpers.photos import write_rgb
from tests.helpers.real_data import REAL, require_real

BUNDLED = "amdcnn_fer2013"


def _script(name):
    """A maintainer tool of experiments/tools/ as a module."""
    return load_script(f"experiments/tools/{name}.py")


@pytest.fixture
def store(tmp_path, monkeypatch):
    """An empty pretrained store in tmp_path (the package's own is left alone)."""
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", tmp_path / "pretrained")
    monkeypatch.setattr(pretrained, "MANIFEST", tmp_path / "pretrained" / "manifest.json")
    return tmp_path / "pretrained"


def _small_amdcnn():
    from fer_keras.models import build_model

    return build_model("amdcnn", input_shape=(28, 28, 1), attention="cbam", num_aux=1)


HEADER = {"model": "amdcnn", "input_shape": [28, 28, 1], "num_classes": 7, "options": {"attention": "cbam", "num_aux": 1},
          "class_names": ["a", "b", "c", "d", "e", "f", "g"], "recipe": {}}


def test_float16_round_trip_restores_every_weight_and_the_predictions(store, rng):
    import keras

    model = _small_amdcnn()
    for variable in model.weights:  # non-trivial values everywhere, BN statistics included
        variable.assign(rng.normal(0, 0.2, variable.shape).astype("float32") + (1.0 if "variance" in variable.path else 0.0))
    path = store / "toy.weights.npz"
    sha = pretrained.save_pretrained(model, HEADER, path)
    pretrained.register_pretrained("toy", path, sha)
    assert pretrained.available_pretrained() == ["toy"] and pretrained.sha256_of(path) == sha
    loaded = pretrained.load_pretrained("toy")
    for original, restored in zip(model.weights, loaded.weights):
        expected = keras.ops.convert_to_numpy(original).astype(np.float16).astype(np.float32)
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(restored), expected)
    x = rng.uniform(0, 1, (8, 28, 28, 1)).astype("float32")
    before = keras.ops.convert_to_numpy(model(x, training=False)["probabilities"])
    after = keras.ops.convert_to_numpy(loaded(x, training=False)["probabilities"])
    assert np.abs(before - after).max() < 2e-2
    assert pretrained.pretrained_info("toy")["class_names"] == HEADER["class_names"]


def test_a_changed_file_or_unknown_name_is_refused_naming_it(store):
    model = _small_amdcnn()
    path = store / "toy.weights.npz"
    pretrained.register_pretrained("toy", path, pretrained.save_pretrained(model, HEADER, path))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(pretrained.PretrainedError, match=r"toy.weights.npz has SHA-256 .* expected"):
        pretrained.load_pretrained("toy")
    with pytest.raises(pretrained.PretrainedError, match=r"no pretrained model 'nosuch'; available: toy"):
        pretrained.load_pretrained("nosuch")
    path.unlink()
    with pytest.raises(pretrained.PretrainedError, match="missing from the installed package"):
        pretrained.load_pretrained("toy")


@pytest.mark.parametrize("tflite", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["keras", "with_litert_export"])
def test_publish_copies_the_run_and_bundles_weights_that_score_as_the_run(tflite, run, store, tmp_path):
    """publish.py copies the run's record and bundles its weights; the slow tier also builds and
    checks predict's LiteRT export (a TFLite conversion: 10 s here; tests/export/ converts in the
    fast tier)."""
    publish = _script("publish")
    run_dir, data = run
    out, saved = publish.publish(run_dir, "toy_run", results=tmp_path / "results")
    for name in ("metrics.json", "log.csv", "confusion_matrix.png", "curves.png", "config.yaml", "command.txt"):
        assert (out / name).is_file(), name
    assert (out / "command.txt").read_text().splitlines()[0] == saved["command"]
    publish.bundle(run_dir, "toy_run", saved, out, max_drop=0.005, tflite=tflite)
    report = json.loads((out / "pretrained.json").read_text())
    assert report["sha256"] == pretrained.sha256_of(store / "toy_run.weights.npz")
    assert abs(report["accuracy_float16"] - report["accuracy_float32"]) <= 0.005
    info = pretrained.pretrained_info("toy_run")
    assert info["trained_on"] == "folder train" and info["input_shape"] == [28, 28, 1]
    entry = json.loads((store / "manifest.json").read_text())["toy_run"]
    if not tflite:
        assert "tflite" not in entry and not (store / "toy_run.tflite").exists()
    else:
        lite = entry["tflite"]  # predict's LiteRT export
        assert lite["sha256"] == pretrained.sha256_of(store / "toy_run.tflite") and lite["inputs"] == {"image": [28, 28, 1]}
        assert lite["class_names"] == info["class_names"] and lite["parity"]["none"]["top1_agreement"] >= 0.98
    with pytest.raises(SystemExit, match="lacks metrics.json"):
        publish.publish(tmp_path, "empty", results=tmp_path / "results")


def test_restore_run_rebuilds_a_lost_run_from_its_published_folder_and_bundle(run, store, tmp_path):
    """experiments/tools/restore_run.py: a published run plus its bundled (best-epoch) weights give a run
    folder that `train(resume=True)` continues from the best epoch with those weights."""
    import pandas as pd

    from fer_keras.run.folder import MONITOR
    from fer_keras.training import train

    publish, restore = _script("publish"), _script("restore_run")
    run_dir, _ = run
    out, saved = publish.publish(run_dir, "toy_run", results=tmp_path / "results")
    publish.bundle(run_dir, "toy_run", saved, out, max_drop=0.005, tflite=False)
    log = pd.read_csv(out / "log.csv")
    kept = int(log[MONITOR].idxmax()) + 1
    restored = tmp_path / "restored"
    restore.main([str(out), "--weights", str(store / "toy_run.weights.npz"), "--out", str(restored)])
    assert len(pd.read_csv(restored / "log.csv")) == kept
    assert json.loads((restored / "backup" / "training_metadata.json").read_text())["epoch"] == kept
    assert (restored / "resumed.txt").read_text().splitlines()[-1].startswith("python experiments/tools/restore_run.py")
    with pytest.raises(SystemExit, match="exists"):  # never written over
        restore.main([str(out), "--weights", str(store / "toy_run.weights.npz"), "--out", str(restored)])
    metrics = train(None, out=restored, resume=True, verbose=0)
    assert metrics["epochs_done"] == 2 and len(pd.read_csv(restored / "log.csv")) == 2
    if kept == 2:  # nothing left to train: the run's model is the bundled weights
        report = json.loads((out / "pretrained.json").read_text())
        assert metrics["accuracy"] == pytest.approx(report["accuracy_float16"], abs=1e-9)


@pytest.mark.slow
def test_restore_run_with_last_weights_continues_after_the_last_epoch(run, store, tmp_path):
    """publish.py --last-epoch + restore_run.py --last-weights: the whole log is kept and the run
    resumes with the last epoch's weights in backup/ and the best epoch's as its best."""
    import keras
    import pandas as pd

    from fer_keras.loading import load_keras_file
    from fer_keras.training import train

    publish, restore = _script("publish"), _script("restore_run")
    run_dir, _ = run
    out, saved = publish.publish(run_dir, "toy_run", results=tmp_path / "results")
    publish.bundle(run_dir, "toy_run", saved, out, max_drop=0.005, tflite=False)
    publish.save_last_epoch(run_dir, out)
    epochs = len(pd.read_csv(out / "log.csv"))
    restored = tmp_path / "restored"
    with pytest.raises(SystemExit, match="epochs"):  # the best weights are not the last epoch's file
        restore.main([str(out), "--weights", str(store / "toy_run.weights.npz"), "--out", str(restored),
                      "--last-weights", str(store / "toy_run.weights.npz")])
    restore.main([str(out), "--weights", str(store / "toy_run.weights.npz"), "--out", str(restored),
                  "--last-weights", str(out / "last_epoch.weights.npz")])
    assert len(pd.read_csv(restored / "log.csv")) == epochs
    assert json.loads((restored / "backup" / "training_metadata.json").read_text())["epoch"] == epochs
    train(None, out=restored, resume=True, verbose=0)  # nothing left to train: it saves what it restored
    for name in ("last.keras", "best.keras"):
        original, again = (load_keras_file(folder / name, "run") for folder in (Path(run_dir), restored))
        for a, b in zip(original.weights, again.weights):
            a = keras.ops.convert_to_numpy(a)
            np.testing.assert_allclose(keras.ops.convert_to_numpy(b), a.astype(np.float16).astype(a.dtype), rtol=0, atol=1e-6)


# ----------------------------------------------------------------------- the bundled AMDCNN


def _bundled_report():
    path = ROOT / "experiments" / "results" / BUNDLED / "pretrained.json"
    if BUNDLED not in pretrained.available_pretrained() or not path.is_file():
        pytest.skip(f"no bundled {BUNDLED} yet")
    return json.loads(path.read_text())


def test_bundled_weights_match_their_published_record():
    report = _bundled_report()
    manifest = json.loads(pretrained.MANIFEST.read_text())[BUNDLED]
    assert manifest["sha256"] == report["sha256"] == pretrained.sha256_of(pretrained.PRETRAINED_DIR / manifest["file"])
    info = pretrained.pretrained_info(BUNDLED)
    assert info["trained_on"] == "fer2013 Training" and info["recipe"]["data"]["validation"] == "PublicTest"
    model = pretrained.load_pretrained(BUNDLED)
    assert model.output["probabilities"].shape[-1] == 7 and tuple(model.input.shape[1:]) == (48, 48, 1)


@pytest.mark.slow
def test_evaluate_pretrained_reproduces_its_publictest_accuracy(capsys):
    report = _bundled_report()
    require_real()
    code, out, err = run_cli(capsys, "evaluate", "--pretrained", BUNDLED, "--dataset", "fer2013", "--data", REAL, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["split"].startswith("PublicTest") and result["samples"] == report["samples"]  # the file has no PrivateTest
    assert result["source"] == f"pretrained {BUNDLED}"
    assert abs(result["accuracy"] - report["accuracy_float16"]) < 1e-3


def test_predict_uses_the_bundled_model_when_none_is_named(tmp_path, capsys):
    _bundled_report()
    require_real()
    from fer_keras.data import load_dataset

    faces = load_dataset("fer2013", REAL, split="PublicTest").images[:1, :, :, 0]
    photo = write_rgb(tmp_path / "photo.png", on_canvas(faces)[0])
    code, out, err = run_cli(capsys, "predict", photo, "--json")
    assert code == 0, err
    default = json.loads(out)
    assert pretrained.DEFAULT_PRETRAINED in pretrained.available_pretrained()
    code, out, err = run_cli(capsys, "predict", photo, "--pretrained", pretrained.DEFAULT_PRETRAINED, "--json")
    assert code == 0 and json.loads(out) == default
    (face,) = default[0]["faces"]
    assert abs(sum(face["probabilities"].values()) - 1) < 1e-3


def test_the_wheel_ships_the_pretrained_weights(tmp_path):
    _bundled_report()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path),
                    str(ROOT)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("fer_keras-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    manifest = json.loads(pretrained.MANIFEST.read_text())
    assert "fer_keras/assets/pretrained/manifest.json" in names
    for entry in manifest.values():
        assert f"fer_keras/assets/pretrained/{entry['file']}" in names
        assert f"fer_keras/assets/pretrained/{entry['tflite']['file']}" in names  # predict's LiteRT export


# ------------------------------------------------------------------------- the results table


def test_readme_results_table_is_generated_from_the_committed_results():
    table = _script("results_table")
    assert table.main(["--check"]) == 0, "run python experiments/tools/results_table.py"
    from fer_keras.models import get_model_info, list_models

    rows = table.table()
    for model in list_models():  # a row per registered model, named by its registry title
        assert f"| {get_model_info(model).title} |" in rows


def test_results_rows_compare_with_the_papers_protocol_and_show_the_ensemble(tmp_path, monkeypatch):
    """A ten-crop recipe's row is compared with its paper on ten-crop; a published ensemble gets a
    row with its gain over its best member."""
    table = _script("results_table")
    run = tmp_path / "mrcar_fer2013"
    run.mkdir()
    validation = {"single": {"accuracy": 0.5, "macro_f1": 0.4}, "tencrop": {"accuracy": 0.6, "macro_f1": 0.5}}
    (run / "metrics.json").write_text(json.dumps({
        "validation": validation, "accuracy": 0.6, "macro_f1": 0.5, "epochs_done": 3, "train_seconds": 100.0,
        "train_seconds_total": 7200.0, "hardware": "CPU; x86_64, 2 CPU cores", "precision": "float32",
        "keras_backend": "tensorflow", "train_images_per_second": 50.0, "samples": {"train": 1200}}))
    (tmp_path / "ensemble_fer2013").mkdir()
    (tmp_path / "ensemble_fer2013/metrics.json").write_text(json.dumps({
        "accuracy": 0.65, "macro_f1": 0.55, "gain_over_best_member": 0.05,
        "members": [{"model": "mrcar", "tta": "tencrop"}, {"model": "amdcnn", "tta": "none"}]}))
    monkeypatch.setattr(table, "RESULTS", tmp_path)
    row = table.model_row("mrcar", {"accuracy": 74.5})
    assert row[2] == "ten-crop **60.00** (-14.50); single crop 50.00" and row[3] == "0.500" and row[5] == "2.0 h"
    assert row[9] == "0.5"  # 3 epochs x 1200 images over all 7200 s, not the last chunk's 50
    (ensemble,) = table.ensemble_row()
    assert ensemble[0] == "Ensemble, mean of probabilities: MrCAR ten-crop, AMDCNN"
    assert ensemble[2] == "**65.00** (+5.00 over its best member)"
