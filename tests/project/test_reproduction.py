"""The papers' CK+, JAFFE and FERPlus claims (issue 32): experiments/tools/publish.py's crossval folder,
experiments/tools/reproduction.py's rows and README table, generated from committed files only."""

import json

import pytest
import yaml

from tests.helpers import ROOT, load_script


def _script(name):
    """A maintainer tool of experiments/tools/ as a module."""
    return load_script(f"experiments/tools/{name}.py")


def test_reproduction_json_and_the_readme_table_are_generated_from_the_committed_results():
    reproduction = _script("reproduction")
    assert reproduction.main(["--check"]) == 0, "run python experiments/tools/reproduction.py"
    rows = json.loads((ROOT / "experiments/results/reproduction.json").read_text())
    keys = {"model", "dataset", "protocol", "paper_accuracy", "accuracy_mean", "accuracy_std", "folds_run",
            "folds_total", "epochs", "command", "run"}
    claims = [r for r in rows if r["protocol"] != "cross_dataset"]
    assert all(keys <= set(r) for r in rows)
    for model, dataset in (("amdcnn", "ckplus"), ("mrcar", "ckplus"), ("mrcar", "jaffe"), ("amdcnn", "ferplus")):
        protocols = {r["protocol"] for r in claims if (r["model"], r["dataset"]) == (model, dataset)}
        assert "paper" in protocols and len(protocols) == 2, (model, dataset, protocols)


def fold_run(folder, index, accuracy, epochs, command="fer-keras crossval amdcnn_ckplus --data CK+48"):
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(yaml.safe_dump({"recipe": {}, "command": command}))
    (folder / "resumed.txt").write_text(command + "\n")
    (folder / "log.csv").write_text("epoch,val_probabilities_accuracy\n" + "".join(f"{e},0.5\n" for e in range(epochs)))
    (folder / "metrics.json").write_text(json.dumps({"accuracy": 0.9, "test": {"accuracy": accuracy}, "epochs_done": epochs}))


def test_a_published_crossval_gives_its_claims_row(tmp_path, monkeypatch):
    publish, reproduction = _script("publish"), _script("reproduction")
    cv = tmp_path / "runs" / "amdcnn_ckplus_cv"
    fold_run(cv / "fold0", 0, 1.0, 86)
    fold_run(cv / "fold1", 1, 0.98, 90)
    (cv / "recipe.yaml").write_text("model: {name: amdcnn}\n")
    summary = {"protocol": "random", "expand": None, "folds_total": 10, "folds_run": 2, "accuracy_mean": 0.99,
               "accuracy_std": 0.01414, "epochs": 300, "folds": [
                   {"fold": 0, "state": "done", "accuracy": 1.0, "epochs_done": 86, "best_epoch": 36},
                   {"fold": 1, "state": "done", "accuracy": 0.98, "epochs_done": 90, "best_epoch": 40}]}
    (cv / "crossval.json").write_text(json.dumps(summary))
    results = tmp_path / "results"
    out = publish.publish_crossval(cv, "amdcnn_ckplus", results)
    assert sorted(p.name for p in out.iterdir()) == ["command.txt", "crossval.json", "fold0", "fold1", "recipe.yaml"]
    assert sorted(p.name for p in (out / "fold1").iterdir()) == ["config.yaml", "log.csv", "metrics.json"]
    assert (out / "command.txt").read_text() == "fer-keras crossval amdcnn_ckplus --data CK+48\n"  # once, not per resume
    monkeypatch.setattr(reproduction, "RESULTS", results)
    row = reproduction.claim_row({"model": "amdcnn", "dataset": "ckplus", "protocol": "paper", "paper_accuracy": 99.49,
                                  "target": 98.5, "where": "Table 3", "recipe": "amdcnn_ckplus", "results": "amdcnn_ckplus"})
    assert (row["accuracy_mean"], row["accuracy_std"], row["folds_run"], row["folds_total"]) == (99.0, 1.41, 2, 10)
    assert row["reaches_target"] and [f["accuracy"] for f in row["per_fold"]] == [100.0, 98.0]
    line = reproduction.table([row]).splitlines()[-1]
    assert "| 99.00 ± 1.41 | 2 of 10 | 86-90 of 300 | yes (≥ 98.5) |" in line
    missing = reproduction.claim_row({"model": "mrcar", "dataset": "jaffe", "protocol": "subject_independent",
                                      "paper_accuracy": 99.07, "where": "Table 4", "recipe": "mrcar_jaffe_subject",
                                      "results": "mrcar_jaffe_subject"})
    assert missing["accuracy_mean"] is None and "not run yet" in reproduction.table([missing])


def test_publish_refuses_to_bundle_a_crossval_folder(tmp_path):
    publish = _script("publish")
    cv = tmp_path / "cv"
    cv.mkdir()
    (cv / "crossval.json").write_text("{}")
    with pytest.raises(SystemExit, match="not a cross-validation folder"):
        publish.main([str(cv), "--name", "x", "--bundle"])


@pytest.mark.parametrize("epochs_done, best, state", [(13, 11, "in_progress"), (300, 200, "finished"), (70, 19, "early_stopped")])
def test_a_single_runs_state_comes_from_its_recipe_and_log(tmp_path, epochs_done, best, state):
    reproduction = _script("reproduction")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"recipe": {"training": {"epochs": 300, "early_stopping_patience": 50}}}))
    scores = [0.1 + 0.001 * i for i in range(best + 1)] + [0.05] * (epochs_done - best - 1)
    (tmp_path / "log.csv").write_text("epoch,val_probabilities_accuracy\n" + "".join(f"{i},{s}\n" for i, s in enumerate(scores)))
    assert reproduction.run_state(tmp_path, epochs_done) == {"epochs_total": 300, "state": state}
