"""Issue 34, items 1 and 2: the recipes ship inside the package (found from any folder, listed by
`fer-keras recipes`, a user's file by path with a shipped `base:`), and one check of every section
on load and after the overrides: an unknown key is refused naming it and the closest known key, a
wrong type naming the key, exit 2 before anything is trained or written."""

import copy
import json
import re
from pathlib import Path

import pytest
import yaml

import fer_keras.recipes as recipes
from fer_keras.cli import main
from fer_keras.errors import RecipeError
from fer_keras.recipes import available_recipes, load_recipe, shipped_recipes, validate

PACKAGE = Path(recipes.__file__).parent


@pytest.fixture
def no_training(monkeypatch):
    """fer_keras.training.train and load_splits replaced by ones that fail the test if called."""
    import fer_keras.data.splits
    import fer_keras.training

    def must_not_run(*args, **kwargs):
        raise AssertionError("training (or data loading) started")

    monkeypatch.setattr(fer_keras.training, "train", must_not_run)
    monkeypatch.setattr(fer_keras.training, "load_splits", must_not_run)
    monkeypatch.setattr(fer_keras.data.splits, "load_splits", must_not_run)


def last_error_line(capsys):
    err = capsys.readouterr().err.strip()
    assert err and "Traceback" not in err, err
    return err.splitlines()[-1]


# --------------------------------------------------------------------------- bad --set values

BAD_SETS = [
    # (override, what the one line must name)
    ("loss.magin=0.2", ["loss.magin", "did you mean loss.margin?"]),
    ("model.input_shap=[44,44,1]", ["model.input_shap", "did you mean model.input_shape?"]),
    ("training.early_stopping_patience=abc", ["training.early_stopping_patience", "an integer", "'abc'"]),
    ("schedule.nmae=cosine", ["schedule.nmae", "did you mean schedule.name?"]),
    ("data.options.foo=1", ["data.options.foo", "the fer2013 reader takes: cache, ferplus_targets, ferplus_targets_weight, skip_bad"]),
    ("training.seed=abc", ["training.seed", "an integer", "'abc'"]),
    ("training.epochs=ten", ["training.epochs", "an integer", "'ten'"]),
    ("training.epochs=-3", ["training.epochs", ">= 1"]),
    ("pipeline.batch_size=-1", ["batch_size", "positive integer"]),
    ("pipeline.batch_size=many", ["pipeline.batch_size", "an integer"]),
    ("optimizer.learning_rate=fast", ["optimizer.learning_rate", "a number"]),
    ("model.options.num_ax=1", ["model.options.num_ax", "did you mean model.options.num_aux?"]),
    ("loss.alpha=0.5", ["loss.alpha", "loss 'am_softmax' takes"]),  # a centre-loss option on a margin loss
    ("pipeline.seed=3", ["pipeline.seed", "training.seed"]),
]


@pytest.mark.parametrize("override, needles", BAD_SETS, ids=[o for o, _ in BAD_SETS])
def test_a_bad_set_is_exit_2_naming_the_key_before_anything_is_trained(tmp_path, capsys, no_training, override, needles):
    run = tmp_path / "run"
    assert main(["train", "amdcnn", "--set", override, "--out", str(run)]) == 2
    line = last_error_line(capsys)
    assert line.startswith(f"fer-keras train: override '{override}': "), line
    for needle in needles:
        assert needle in line, line
    assert not run.exists()


def test_crossval_refuses_a_bad_set_before_any_fold_or_folder(tmp_path, capsys, no_training):
    out = tmp_path / "cv"
    assert main(["crossval", "amdcnn_ckplus", "--data", str(tmp_path), "--out", str(out),
                 "--set", "data.folds.protocl=subject"]) == 2
    line = last_error_line(capsys)
    assert "data.folds.protocl" in line and "did you mean data.folds.protocol?" in line
    assert not out.exists()


def test_the_error_names_the_override_that_set_the_key_and_the_overrides_are_checked_together():
    # each override alone would leave the input shape and the crop apart; together they agree
    recipe = load_recipe("amdcnn", overrides=["model.input_shape=[44, 44, 1]", "pipeline.input_size=[44, 44]"])
    assert recipe["model"]["input_shape"] == [44, 44, 1] and recipe["pipeline"]["input_size"] == [44, 44]
    with pytest.raises(RecipeError, match=r"^override 'loss.magin=0.2': unknown key loss.magin"):
        load_recipe("amdcnn", overrides=["training.epochs=2", "loss.magin=0.2", "training.seed=1"])
    with pytest.raises(RecipeError, match=r"^override 'model.input_shape=\[44, 44, 1\]': model.input_shape \[44, 44, 1\] "
                                          r"does not match pipeline.input_size \[48, 48\]"):
        load_recipe("amdcnn", overrides=["model.input_shape=[44, 44, 1]"])


def test_yaml_1_2_floats_in_overrides_and_files(tmp_path):
    """3e-4 is a float (PyYAML's YAML 1.1 reads it as the string '3e-4', which Keras refuses)."""
    assert load_recipe("amdcnn", overrides=["optimizer.learning_rate=3e-4"])["optimizer"]["learning_rate"] == 3e-4
    mine = tmp_path / "mine.yaml"
    mine.write_text("base: amdcnn_fer2013\noptimizer: {learning_rate: 5e-5}\n")
    assert load_recipe(str(mine))["optimizer"]["learning_rate"] == 5e-5


# ------------------------------------------------------------------ close matches and derived keys


@pytest.mark.parametrize("name, override, message", [
    ("amdcnn", "model.name=amdcn", r"model.name must be one of .*got 'amdcn' \(did you mean 'amdcnn'\?\)"),
    ("amdcnn", "data.dataset=ckpluss", r"data.dataset must be one of .*\(did you mean 'ckplus'\?\)"),
    ("amdcnn", "pipeline.augmentation.rotaton=5", r"did you mean pipeline.augmentation.rotation\?"),
    ("amdcnn", "pipeline.input_sise=[48, 48]", r"did you mean pipeline.input_size\?"),
    ("amdcnn", "optimizer.nam=sgd", r"did you mean optimizer.name\?"),
    ("amdcnn", "training.mixed_precison=float32", r"did you mean training.mixed_precision\?"),
    ("amdcnn", "training.mixed_precision=flaot32", r"training.mixed_precision must be one of .*got 'flaot32' \(did you mean 'float32'\?\)"),
    ("lban", "loss.lamda1=0.1", r"unknown key loss.lamda1; did you mean loss.lambda1\?"),
    ("lban", "optimizer.momentun=0.8", r"unknown key optimizer.momentun; did you mean optimizer.momentum\?"),
    ("lban", "schedule.every_epoch=2", r"did you mean schedule.every_epochs\?"),
    ("mrcar_ckplus", "data.options.contemt=true", r"did you mean data.options.contempt\?"),
    ("mrcar_ckplus", "data.expand.factr=3", r"did you mean data.expand.factor\?"),
    ("amdcnn", "loss.name=arcfce", r"loss.name must be one of .*\(did you mean 'arcface'\?\)"),
    ("amdcnn", "schedule={name: cosin}", r"schedule.name must be one of .*\(did you mean 'cosine'\?\)"),
])
def test_unknown_keys_and_names_suggest_the_closest_known_one(name, override, message):
    with pytest.raises(RecipeError, match=message):
        load_recipe(name, overrides=[override])


def test_an_unknown_key_with_nothing_close_lists_the_known_keys_instead():
    with pytest.raises(RecipeError) as caught:
        load_recipe("amdcnn", overrides=["data.options.foo=1"])
    assert "did you mean" not in str(caught.value) and "(the fer2013 reader takes: cache, ferplus_targets, ferplus_targets_weight, skip_bad)" in str(caught.value)


def test_the_keys_come_from_the_code_that_receives_them():
    """Every builder option and reader option is accepted as its own default; each loss takes its
    own options only; a schedule needs what its function needs."""
    from fer_keras.data import READERS
    from fer_keras.models.registry import get_model_info, list_models

    for model in list_models():
        for option, default in get_model_info(model).options().items():
            load_recipe(model, overrides=[f"model.options.{option}={json.dumps(default)}"])
    import inspect

    for dataset, reader in READERS.items():
        options = [k for k, p in inspect.signature(reader).parameters.items() if k not in ("path", "split")]
        keys = recipes.schema.keys_of(reader, skip=("path", "split"))
        assert sorted(keys) == sorted(options), dataset
    assert load_recipe("lban", overrides=["loss.alpha=0.4"])["loss"]["alpha"] == 0.4  # islets takes alpha
    with pytest.raises(RecipeError, match="unknown key loss.label_smoothin; did you mean loss.label_smoothing"):
        load_recipe("amdcnn_plus", overrides=["loss.label_smoothin=0.2"])
    with pytest.raises(RecipeError, match=r"schedule.factor is missing"):
        load_recipe("amdcnn", overrides=["schedule={name: epoch_step_decay, start_epoch: 3, every_epochs: 2}"])
    with pytest.raises(RecipeError, match=r"loss: .*margin must be in"):  # the loss's own value check, no model needed
        load_recipe("amdcnn", overrides=["loss.margin=-1"])


def test_make_training_model_refuses_centre_options_on_another_loss():
    from fer_keras.models import build_model
    from fer_keras.models.objectives import make_training_model

    model = build_model("mrcar", input_shape=(44, 44, 1), regions=False)
    with pytest.raises(ValueError, match=r"loss 'arcface' takes no option\(s\) \['alpha'\]"):
        make_training_model(model, "arcface", alpha=0.5)


def test_training_refuses_a_hand_made_recipe_before_writing_its_folder(tmp_path):
    from fer_keras.training import train

    recipe = load_recipe("amdcnn")
    recipe["loss"]["magin"] = 0.2
    with pytest.raises(RecipeError, match="unknown key loss.magin"):
        train(recipe, out=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_checked_recipe_stays_the_plain_dict_it_was(tmp_path):
    """Nothing is added or converted: a saved recipe compares equal (cross-validation's resume check)."""
    from fer_keras.crossval import _check_recipe

    recipe = load_recipe("amdcnn_ckplus")
    before = copy.deepcopy(recipe)
    assert validate(recipe) is recipe and recipe == before
    assert yaml.safe_load(yaml.safe_dump(recipe)) == recipe
    _check_recipe(tmp_path / "cv", recipe)
    _check_recipe(tmp_path / "cv", load_recipe("amdcnn_ckplus"))  # the same recipe, loaded again: accepted


# ------------------------------------------------------------------ shipped recipes, user files


def test_every_shipped_recipe_loads_by_name_from_another_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    names = sorted(shipped_recipes())
    assert names == sorted(p.stem for p in PACKAGE.glob("*.yaml"))
    assert {"amdcnn_fer2013", "mrcar_fer2013", "lban_fer2013", "mifad_net_fer2013", "amdcnn_ckplus"} <= set(names)
    assert available_recipes() == names and not any(n.startswith("ensemble_") for n in names)
    for name in names:
        recipe = load_recipe(name)
        assert name.startswith(recipe["model"]["name"]), name
        assert str(recipes.recipe_file(name)).startswith(str(PACKAGE))
    assert load_recipe("amdcnn") == load_recipe("amdcnn_fer2013")


def test_a_user_yaml_by_path_inherits_a_shipped_recipe(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "small.yaml").write_text("base: amdcnn_fer2013\ntraining: {epochs: 3}\npipeline: {batch_size: 8}\n")
    (folder / "smaller.yaml").write_text("base: small.yaml\ntraining: {seed: 4}\n")  # a path beside the file
    recipe = load_recipe(str(folder / "smaller.yaml"), overrides=["optimizer.learning_rate=0.001"])
    shipped = load_recipe("amdcnn_fer2013")
    assert recipe["training"] == {**shipped["training"], "epochs": 3, "seed": 4}
    assert recipe["pipeline"]["batch_size"] == 8 and recipe["optimizer"]["learning_rate"] == 0.001
    assert recipe["loss"] == shipped["loss"]
    (folder / "typo.yaml").write_text("base: amdcnn_fer2013\ntraining: {epoch: 3}\n")
    with pytest.raises(RecipeError, match=rf"^{re.escape(str(folder / 'typo.yaml'))}: unknown key training.epoch; "
                                          r"did you mean training.epochs\?"):
        load_recipe(str(folder / "typo.yaml"))
    (folder / "loop.yaml").write_text("base: loop.yaml\n")
    with pytest.raises(RecipeError, match="loops back"):
        load_recipe(str(folder / "loop.yaml"))


def test_a_recipe_in_the_working_folders_experiments_takes_the_shipped_ones_place(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "experiments").mkdir()
    # it may name the shipped recipe it replaces as its base; it is also the base of amdcnn_ckplus
    (tmp_path / "experiments" / "amdcnn_fer2013.yaml").write_text(
        "# My AMDCNN: the shipped recipe, 5 epochs.\nbase: amdcnn_fer2013\ntraining: {epochs: 5}\n")
    (tmp_path / "experiments" / "ensemble_fer2013.yaml").write_text("members: []\n")  # not a recipe
    assert load_recipe("amdcnn")["training"]["epochs"] == 5
    assert load_recipe("amdcnn_ckplus")["training"]["epochs"] == 5
    assert "ensemble_fer2013" not in available_recipes()
    assert main(["recipes", "--json"]) == 0
    entries = {e["name"]: e for e in json.loads(capsys.readouterr().out)}
    assert entries["amdcnn_fer2013"]["source"] == str(tmp_path / "experiments" / "amdcnn_fer2013.yaml")
    assert entries["amdcnn_fer2013"]["summary"] == "My AMDCNN"
    assert entries["mrcar_fer2013"]["source"] == "package"


def test_fer_keras_recipes_lists_what_ships_one_line_each(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["recipes"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == sorted(shipped_recipes())
    by_name = {line.split()[0]: line for line in lines}
    assert "AMDCNN on FER2013 (AMDCNN paper, §IV.B and Table 2)" in by_name["amdcnn_fer2013"]
    assert "MrCAR on JAFFE, leave-one-subject-out" in by_name["mrcar_jaffe_subject"]
    assert main(["recipes", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [e["name"] for e in entries] == sorted(shipped_recipes())
    for entry in entries:
        assert set(entry) == {"name", "model", "dataset", "summary", "source"} and entry["source"] == "package"
        assert entry["summary"] and entry["name"].startswith(entry["model"]), entry
    assert {e["name"]: e["dataset"] for e in entries}["lban_rafdb"] == "rafdb"
