"""Cross-validation for the lab datasets: offline expansion (MrCAR's augment-then-split), the fold
splits (test fold held out, validation carved from the training folds by the same protocol) and the
`cross_validate` driver (one run per fold, resumable, crossval.json with mean and std)."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from fer_keras.data import DatasetRecord
from fer_keras.data.expand import copies_per_image, expand_record, shared_sources
from fer_keras.data.splits import fold_splits
from fer_keras.errors import ArgumentError, RecipeError
from fer_keras.recipes import Recipe, load_recipe
from fer_keras.recipes.schema import Folds

pytestmark = pytest.mark.backend_neutral


def lab_record(rng, n=120, subjects=12, size=16):
    labels = np.arange(n) % 6
    who = np.array([f"S{i % subjects:03d}" for i in range(n)])
    images = rng.integers(0, 256, (n, size, size, 1), dtype=np.uint8)
    return DatasetRecord("lab", images, labels.astype(np.int64), tuple("abcdef"), subjects=who,
                         extra={"paths": [f"{i}.png" for i in range(n)]})


def test_copies_per_image_reach_the_total_exactly():
    counts = copies_per_image(981, 7881, seed=0)
    assert counts.sum() == 7881 and set(counts.tolist()) == {8, 9} and (counts == 9).sum() == 7881 - 8 * 981
    assert copies_per_image(213, 6930).sum() == 6930
    with pytest.raises(ArgumentError, match="total=100: must be an integer >= the 213 source images"):
        copies_per_image(213, 100)


def test_expansion_keeps_each_source_once_and_adds_augmented_copies(rng):
    record = lab_record(rng, n=30)
    expanded = expand_record(record, total=100, seed=3)
    source = expanded.extra["source_index"]
    assert len(expanded) == 100 and expanded.extra["expanded_from"] == 30
    assert np.array_equal(np.unique(source), np.arange(30)) and np.all(np.diff(source) >= 0)  # sources in order
    assert np.array_equal(expanded.labels, record.labels[source])
    assert np.array_equal(expanded.subjects, record.subjects[source])
    assert expanded.extra["paths"] == [record.extra["paths"][s] for s in source]
    first = np.searchsorted(source, np.arange(30))  # copy 0 of each source: the source itself
    assert np.array_equal(expanded.images[first], record.images)
    copies = np.setdiff1d(np.arange(100), first)
    changed = [not np.array_equal(expanded.images[i], record.images[source[i]]) for i in copies]
    assert np.mean(changed) > 0.9  # augmented (a mirror alone can leave a symmetric image as it was)
    again = expand_record(record, total=100, seed=3)
    assert np.array_equal(again.images, expanded.images)  # seeded
    assert len(expand_record(record, factor=2.5)) == 75
    with pytest.raises(ArgumentError, match="give one of `total`"):
        expand_record(record)


def test_a_fold_holds_out_its_test_fold_and_validates_on_the_training_folds(rng):
    record = lab_record(rng)
    train, validation, test, protocol = fold_splits(record, Folds(k=10, protocol="random", fold=2))
    paths = [set(r.extra["paths"]) for r in (train, validation, test)]
    assert not (paths[0] & paths[1] or paths[0] & paths[2] or paths[1] & paths[2])
    assert sum(map(len, paths)) == 120 and (len(test), len(validation), len(train)) == (12, 12, 96)
    assert np.bincount(test.labels, minlength=6).tolist() == [2] * 6  # stratified
    assert "fold 2 of 10" in protocol and "test on the held-out fold (12)" in protocol
    assert test.split == "fold2-test" and validation.split == "fold2-validation"
    every_test = set()
    for index in range(10):
        every_test |= set(fold_splits(record, Folds(k=10, fold=index))[2].extra["paths"])
    assert len(every_test) == 120  # the test folds partition the data


def test_subject_folds_keep_each_subject_on_one_side(rng):
    record = lab_record(rng)
    train, validation, test, protocol = fold_splits(record, Folds(k=4, protocol="subject", fold=1))
    sides = [set(r.subjects) for r in (train, validation, test)]
    assert not (sides[0] & sides[1] or sides[0] & sides[2] or sides[1] & sides[2])
    assert len(train) + len(validation) + len(test) == 120 and protocol.startswith("subject-independent 4-fold")
    loso = fold_splits(record, Folds(k=12, protocol="subject", fold=5))  # leave one subject out
    assert len(set(loso[2].subjects)) == 1 and len(set(loso[1].subjects)) == 1


def test_expansion_before_the_split_is_counted_and_after_it_touches_training_only(rng):
    record = lab_record(rng, n=60)
    expand = {"total": 240, "rotation": 10, "scale": 0.1, "seed": 0}
    train, validation, test, protocol = fold_splits(record, Folds(k=5), expand)
    assert len(train) + len(validation) + len(test) == 240
    shared = int(np.isin(test.extra["source_index"], np.concatenate(
        [train.extra["source_index"], validation.extra["source_index"]])).sum())
    assert shared > 0 and f"so {shared} of the {len(test)} test images have a copy" in protocol
    train, validation, test, protocol = fold_splits(record, Folds(k=5, protocol="subject"),
                                                    {**expand, "before_split": False})
    assert len(validation) + len(test) + len(train) // 4 == 60 and len(train) % 4 == 0
    assert "expanded 4x" in protocol and "source_index" not in test.extra
    assert not set(train.subjects) & (set(test.subjects) | set(validation.subjects))
    assert shared_sources(record, np.arange(10), np.arange(10, 20)) == 0


@pytest.mark.parametrize("folds, expand, message", [
    ({"k": 2}, None, r"data.folds.k must be an integer >= 3"),
    ({"k": 5, "fold": 5}, None, r"data.folds.fold must be an integer in 0..4"),
    ({"k": 5, "protocl": "subject"}, None, r"unknown key\(s\) \['protocl'\]"),
    ({"k": 5, "protocol": "loso"}, None, r"protocol must be one of random, subject"),
    ({"k": 5}, {"totl": 300}, r"data.expand: unknown key\(s\) \['totl'\]"),
    ({"k": 5}, {"total": 10}, r"total=10: must be an integer >= the 120 source images"),
    ({"k": 20, "protocol": "subject"}, None, r"12 subjects cannot make 20 subject-independent folds"),
])
def test_bad_fold_settings_are_recipe_errors(rng, folds, expand, message):
    with pytest.raises(RecipeError, match=message):
        fold_splits(lab_record(rng), Folds.from_dict(folds), expand)


def fake_recipe(k=4, epochs=5, patience=None):
    return load_recipe("amdcnn_ckplus", overrides=[f"data.folds.k={k}", "data.folds.protocol=random", f"training.epochs={epochs}",
                                                   f"training.early_stopping_patience={'null' if patience is None else patience}"])


@pytest.fixture
def fake_train(monkeypatch):
    """fer_keras.training.train replaced by one that writes a run folder's config, log and metrics:
    fold i scores 0.9 + i / 100 on its test fold and trains `epochs_per_call` epochs per call."""
    import pandas as pd
    import yaml

    fake = SimpleNamespace(calls=[], epochs_per_call=5)

    def train(recipe, data=None, out=None, resume=False, verbose="auto", command=None, time_limit_minutes=None):
        from pathlib import Path

        run = Path(out)
        if resume:
            recipe = Recipe.of(yaml.safe_load((run / "config.yaml").read_text())["recipe"])
        else:
            assert not (run / "config.yaml").exists()
            run.mkdir(parents=True)
            (run / "config.yaml").write_text(yaml.safe_dump({"recipe": recipe.to_dict()}))
        index = recipe.data.folds.fold
        fake.calls.append((index, resume))
        old = pd.read_csv(run / "log.csv") if (run / "log.csv").exists() else pd.DataFrame({"epoch": [], "val_probabilities_accuracy": []})
        done = min(len(old) + fake.epochs_per_call, recipe.training.epochs)
        log = pd.DataFrame({"epoch": range(done), "val_probabilities_accuracy": [0.5 + e / 100 for e in range(done)]})
        log.to_csv(run / "log.csv", index=False)
        metrics = {"accuracy": 0.8, "test": {"accuracy": 0.9 + index / 100, "macro_f1": 0.85}, "epochs_done": done,
                   "train_seconds_total": 10.0 * done, "samples": {"train": 8}, "protocol": "fake"}
        (run / "metrics.json").write_text(json.dumps(metrics))
        return metrics

    monkeypatch.setattr("fer_keras.training.train", train)
    return fake


def test_one_fold_has_no_standard_deviation(tmp_path, fake_train):
    from fer_keras.crossval import cross_validate

    summary = cross_validate(fake_recipe(), data="x", out=tmp_path / "cv", folds=[1])
    assert summary["folds_run"] == 1 and summary["accuracy_mean"] == pytest.approx(0.91)
    assert summary["accuracy_std"] is None  # ddof=1 is undefined for one fold, not 0


def test_cross_validate_runs_each_fold_once_and_summarises(tmp_path, fake_train):
    from fer_keras.crossval import cross_validate

    summary = cross_validate(fake_recipe(), data="x", out=tmp_path / "cv", folds=[0, 2])
    assert fake_train.calls == [(0, False), (2, False)]
    assert summary["folds_run"] == 2 and summary["folds_total"] == 4
    assert summary["accuracy_mean"] == pytest.approx(0.91) and summary["accuracy_std"] == pytest.approx(np.std([0.9, 0.92], ddof=1))
    assert [row["fold"] for row in summary["folds"]] == [0, 2] and summary["folds"][1]["best_epoch"] == 5
    assert json.loads((tmp_path / "cv" / "crossval.json").read_text()) == summary
    summary = cross_validate(fake_recipe(), data="x", out=tmp_path / "cv")  # finished folds are kept
    assert fake_train.calls[2:] == [(1, False), (3, False)] and summary["folds_run"] == 4
    with pytest.raises(ArgumentError, match="holds a cross-validation of another recipe"):
        cross_validate(fake_recipe(epochs=7), data="x", out=tmp_path / "cv")
    with pytest.raises(ArgumentError, match=r"folds=\[4\]: fold indices must be in 0..3"):
        cross_validate(fake_recipe(), data="x", out=tmp_path / "cv", folds=[4])


def test_an_unfinished_fold_resumes_and_early_stopping_counts_as_finished(tmp_path, fake_train):
    from fer_keras.crossval import cross_validate, fold_state

    fake_train.epochs_per_call = 3
    recipe = fake_recipe(k=3, epochs=8)
    summary = cross_validate(recipe, data="x", out=tmp_path / "cv", folds=[0])
    assert fake_train.calls == [(0, False)] and summary["folds_run"] == 0
    assert summary["folds"] == [{"fold": 0, "state": "partial", "epochs_done": 3}]
    cross_validate(recipe, data="x", out=tmp_path / "cv", folds=[0])
    cross_validate(recipe, data="x", out=tmp_path / "cv", folds=[0])
    assert fake_train.calls == [(0, False), (0, True), (0, True)] and fold_state(tmp_path / "cv" / "fold0", recipe) == "done"
    # patience used up: the best epoch is more than `patience` epochs back
    run = tmp_path / "cv" / "fold0"
    (run / "log.csv").write_text("epoch,val_probabilities_accuracy\n0,0.9\n1,0.5\n2,0.5\n")
    assert fold_state(run, fake_recipe(k=3, epochs=8, patience=2)) == "done"
    assert fold_state(run, fake_recipe(k=3, epochs=8, patience=3)) == "partial"


def test_a_recipe_without_folds_is_refused(tmp_path):
    from fer_keras.crossval import cross_validate

    with pytest.raises(ArgumentError, match="data.folds is not set"):
        cross_validate(load_recipe("amdcnn"), data="x", out=tmp_path / "cv")
