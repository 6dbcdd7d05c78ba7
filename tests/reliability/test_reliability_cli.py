"""Issue 17, cases 5 and 6: every expected failure of the CLI is one line and exit 2 (130 for
Ctrl-C), and a train that fails at its start leaves a folder that can be used again."""

from pathlib import Path

import pytest

from fer_keras.cli import main


def run_cli(capsys, *argv):
    code = main(list(argv))
    err = capsys.readouterr().err.strip()
    return code, err


def one_line_error(err, *needles):
    lines = err.splitlines()
    assert lines and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[-1], lines
    return lines[-1]


def test_train_out_that_is_a_file_is_refused_and_kept(tmp_path, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    code, err = run_cli(capsys, "train", "amdcnn", "--out", str(target), "--epochs", "1")
    assert code == 2
    one_line_error(err, str(target), "is a file")
    assert target.read_text() == "mine"


def test_train_into_a_folder_holding_run_files_but_no_run_refuses_and_keeps_them(tmp_path, capsys):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "log.csv").write_text("my log")
    (folder / "metrics.json").write_text("{}")
    code, err = run_cli(capsys, "train", "amdcnn", "--out", str(folder), "--epochs", "1")
    assert code == 2
    one_line_error(err, "log.csv", "metrics.json", "choose another --out")
    assert (folder / "log.csv").read_text() == "my log" and not (folder / "config.yaml").exists()


@pytest.mark.parametrize("content, needle", [
    ("recipe: [\n", "not valid YAML"),
    ("- 1\n- 2\n", "not a run's config"),
    ("data: null\n", "not a run's config"),
])
def test_resume_and_evaluate_name_a_damaged_config_yaml(tmp_path, capsys, content, needle):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text(content)
    for argv in (("train", "--resume", str(run)), ("evaluate", "--run", str(run))):
        code, err = run_cli(capsys, *argv)
        assert code == 2, argv
        one_line_error(err, str(run / "config.yaml"), needle)


def test_set_of_a_whole_section_to_a_scalar_is_a_usage_error(tmp_path, capsys):
    code, err = run_cli(capsys, "train", "amdcnn", "--set", "training=5", "--out", str(tmp_path / "run"))
    assert code == 2
    one_line_error(err, "training=5", "is a section")
    assert not (tmp_path / "run").exists()


def test_set_with_a_python_yaml_tag_is_refused_without_running_it(tmp_path, capsys):
    marker = tmp_path / "pwned"
    value = f'training.seed=!!python/object/apply:os.system ["touch {marker}"]'
    code, err = run_cli(capsys, "train", "amdcnn", "--set", value, "--out", str(tmp_path / "run"))
    assert code == 2
    one_line_error(err, "not a plain YAML value")
    assert not marker.exists()
    with pytest.raises(SystemExit) as exit_info:  # summary --option: argparse's own usage error
        main(["summary", "amdcnn", "--option", "x=!!python/name:os.system"])
    assert exit_info.value.code == 2 and "not a plain YAML value" in capsys.readouterr().err


def test_a_train_that_fails_to_build_leaves_no_run_and_the_folder_can_be_used_again(tmp_path, capsys):
    from fer_keras.run.folder import check_new_run_folder

    run = tmp_path / "run"
    code, err = run_cli(capsys, "train", "amdcnn", "--set", "model.options.foo=1", "--out", str(run), "--epochs", "1")
    assert code == 2
    one_line_error(err, "model.options.foo")
    assert not run.exists()  # an unknown key is refused when the recipe is loaded, before anything is made
    # a value of the right type that the builder refuses: found when the model is built
    code, err = run_cli(capsys, "train", "amdcnn", "--set", "model.options.num_aux=7", "--out", str(run), "--epochs", "1")
    assert code == 2
    one_line_error(err, "num_aux")
    assert not run.exists()  # nothing for --resume to replay: the start removed the folder it made
    code, err = run_cli(capsys, "train", "--resume", str(run))
    assert code == 2
    one_line_error(err, "no such run directory")
    run.mkdir()  # a folder the user made is kept, with no run in it
    code, err = run_cli(capsys, "train", "amdcnn", "--set", "model.options.num_aux=7", "--out", str(run), "--epochs", "1")
    assert code == 2
    assert run.is_dir() and not (run / "config.yaml").exists()
    check_new_run_folder(run)  # a corrected command may use the same --out
    code, err = run_cli(capsys, "train", "--resume", str(run))
    assert code == 2
    one_line_error(err, "no config.yaml")



@pytest.mark.parametrize("overrides, section", [
    # larger than the sample's 48x48 faces, without a resize: found when the pipeline is built
    (["model.input_shape=[60,60,1]", "pipeline.input_size=[60,60]"], "pipeline: input_size"),
    (["loss.margin=-1"], "loss"),
    (["optimizer.name=rmsprop_typo"], "optimizer"),
])
def test_a_recipe_value_checked_while_building_is_one_line_naming_its_section(tmp_path, capsys, overrides, section):
    run = tmp_path / "run"
    sets = [arg for value in overrides for arg in ("--set", value)]
    code, err = run_cli(capsys, "train", "amdcnn", *sets, "--out", str(run), "--epochs", "1")
    assert code == 2
    one_line_error(err, section)
    assert not (run / "config.yaml").exists()

def test_ctrl_c_during_training_is_one_line_exit_130_with_the_resume_command(tmp_path, capsys, monkeypatch):
    import fer_keras.training

    run = tmp_path / "run"

    def interrupted(recipe, data=None, out=None, **kwargs):  # Ctrl-C after the run has started
        Path(out).mkdir()
        (Path(out) / "config.yaml").write_text("recipe: {}\n")
        raise KeyboardInterrupt

    monkeypatch.setattr(fer_keras.training, "train", interrupted)
    code, err = run_cli(capsys, "train", "amdcnn", "--out", str(run), "--epochs", "1")
    assert code == 130
    one_line_error(err, "interrupted", f"fer-keras train --resume {run}")


def test_ctrl_c_and_os_errors_in_any_command_are_one_line(capsys, monkeypatch):
    import fer_keras.cli as cli

    def raise_(error):
        def command(args):
            raise error
        return command

    for error, code, needle in ((KeyboardInterrupt(), 130, "interrupted"),
                                (PermissionError(13, "Permission denied", "/photos/a.jpg"), 2, "/photos/a.jpg: Permission denied")):
        monkeypatch.setattr(cli, "cmd_layers", raise_(error))  # build_parser binds cmd_layers when called
        got, err = run_cli(capsys, "layers")
        assert got == code
        one_line_error(err, "fer-keras layers", needle)


def test_evaluate_out_that_is_a_file_or_a_run_folder_is_refused_before_evaluating(tmp_path, capsys, monkeypatch):
    import fer_keras.evaluation

    monkeypatch.setattr(fer_keras.evaluation, "evaluate_model", lambda *a, **k: pytest.fail("evaluated first"))
    target = tmp_path / "report.txt"
    target.write_text("mine")
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("recipe: {}\n")
    (run / "metrics.json").write_text('{"accuracy": 0.7}')
    for out, needle in ((target, "is a file"), (run, "training run's folder")):
        code, err = run_cli(capsys, "evaluate", "--pretrained", "amdcnn_fer2013", "--out", str(out))
        assert code == 2
        one_line_error(err, str(out), needle)
    assert target.read_text() == "mine" and (run / "metrics.json").read_text() == '{"accuracy": 0.7}'
