"""Issue 35, defects 2 to 5: a run folder takes one process at a time; a full disk ends a run with
one line and exit 2, its last checkpoint whole and no temporary file left, and it resumes once
there is room; a resume refuses a recipe edited in config.yaml (listing the keys) unless
--allow-recipe-change, which records the change; and a resume names the run's model when given
another. The fast tests make run folders by hand (a config.yaml as a run writes it) and stop before
any training; the slow ones train a tiny AMDCNN in subprocesses."""

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

from fer_keras.cli import main
from tests.helpers.tiny_run import SMALL_SETS, small_recipe, write_learnable_folders


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err.strip()


def one_line(err, *needles):
    lines = err.splitlines()
    assert lines and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[-1], lines[-1]
    return lines[-1]


def made_run(folder, recipe=None, epochs_done=2, fingerprint=True):
    """A run folder as a run that finished `epochs_done` epochs leaves it: config.yaml (with the
    recipe's fingerprint and .recipe.json, or as runs made before them), backup metadata, log.csv."""
    from fer_keras.run.record import write_new_run

    folder.mkdir(parents=True, exist_ok=True)
    recipe = small_recipe(epochs_done) if recipe is None else recipe
    write_new_run(folder, recipe, str(folder.parent / "data"), "train on train, select on val", "fer-keras train ...",
                  "tensorflow")
    if not fingerprint:
        saved = yaml.safe_load((folder / "config.yaml").read_text())
        del saved["recipe_sha256"]
        (folder / "config.yaml").write_text(yaml.safe_dump(saved, sort_keys=False))
        (folder / ".recipe.json").unlink()
    (folder / "backup").mkdir()
    (folder / "backup" / "training_metadata.json").write_text(json.dumps({"epoch": epochs_done, "batch": 0}))
    (folder / "log.csv").write_text("epoch,loss\n" + "".join(f"{i},1.0\n" for i in range(epochs_done)))
    return folder


def edit_recipe(run, **values):
    """Set dotted recipe keys in run/config.yaml, as a user editing it would."""
    saved = yaml.safe_load((run / "config.yaml").read_text())
    for key, value in values.items():
        node = saved["recipe"]
        *parents, last = key.split("__")
        for part in parents:
            node = node[part]
        node[last] = value
    (run / "config.yaml").write_text(yaml.safe_dump(saved, sort_keys=False))
    return saved


class ReadData(Exception):
    """Raised where training would read its data: what came before (the checks, the record) is done."""


@pytest.fixture
def stop_at_data(monkeypatch):
    import fer_keras.training

    def read(recipe, data):
        raise ReadData(recipe)

    monkeypatch.setattr(fer_keras.training, "load_splits", read)


# ------------------------------------------------------------------------ defect 2: the run lock

HOLD = textwrap.dedent("""
    import sys, time
    from fer_keras.run.lock import hold_run
    with hold_run(sys.argv[1]):
        print("held", flush=True)
        time.sleep(120)
""")


def holder(folder):
    """A process holding `folder`'s run lock (as a training process does)."""
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_run_folder_in_use_is_refused_naming_it_and_the_holders_pid_and_a_killed_holder_frees_it(tmp_path, capsys):
    from fer_keras.errors import RunInUseError
    from fer_keras.run.lock import LOCK_FILE, hold_run

    run = tmp_path / "run"
    run.mkdir()
    process = holder(run)
    try:
        code, err = run_cli(capsys, "train", "amdcnn", "--out", run, "--epochs", "1")
        assert code == 2
        one_line(err, f"--out {run}", f"process {process.pid}", "in use")
        assert sorted(p.name for p in run.iterdir()) == [LOCK_FILE]  # nothing written
        made_run(run)
        code, err = run_cli(capsys, "train", "--resume", run)  # the same for a resume
        assert code == 2
        one_line(err, f"--resume {run}", f"process {process.pid}")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    with hold_run(run):  # the kernel dropped the dead process's lock: not stale, free
        assert (run / LOCK_FILE).read_text().strip() == str(os.getpid())
        with pytest.raises(RunInUseError, match=f"process {os.getpid()}"):
            with hold_run(run):
                pass
    with pytest.raises(ValueError, match="boom"):  # released on any exit
        with hold_run(run):
            raise ValueError("boom")
    process = holder(run)
    process.kill()
    process.wait()


TRAIN = [sys.executable, "-m", "fer_keras", "train", "amdcnn", *SMALL_SETS, "--epochs", "2", "--verbose", "0"]


@pytest.mark.slow
def test_two_trains_started_a_second_apart_into_one_folder_one_is_refused(tmp_path, rng):
    """The issue's repro: both exited 0, config.yaml and metrics.json came from the second run and
    log.csv was torn. Now the one that comes second to the lock is refused, naming the other."""
    write_learnable_folders(tmp_path / "data", {"train": 16, "val": 8}, rng)
    run = tmp_path / "run"
    command = TRAIN + ["--data", str(tmp_path / "data"), "--out", str(run)]
    env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(1)
    second = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    results = [(p, *p.communicate()) for p in (first, second)]
    codes = sorted(p.returncode for p, _, _ in results)
    assert codes == [0, 2], [err[-2000:] for _, _, err in results]
    (winner, _, _), (loser, _, err) = sorted(results, key=lambda r: r[0].returncode)
    one_line(err, f"--out {run}", f"process {winner.pid}", "in use")
    log = (run / "log.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in log[1:]] == ["0", "1"]
    assert len({line.count(",") for line in log}) == 1  # no torn row
    assert json.loads((run / "metrics.json").read_text())["epochs_done"] == 2


# ------------------------------------------------------------------------ defect 3: a full disk

def test_a_full_disk_while_a_checkpoint_is_written_keeps_the_last_one_and_no_temporary_file(tmp_path, monkeypatch):
    """The writer fails with ENOSPC halfway (as h5py does on a full disk): the best weights and the
    backup written before stay whole, and the temporary file is gone."""
    import keras

    from fer_keras.callbacks import backup_and_restore, keep_best_weights
    from fer_keras.run.folder import MONITOR
    from fer_keras.run.write import is_disk_full

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(optimizer="adam", loss="mse")
    best, backup = keep_best_weights(tmp_path / "best.weights.h5"), backup_and_restore(tmp_path / "backup")
    for callback in (best, backup):
        callback.set_model(model)
    best.on_epoch_end(0, {MONITOR: 0.5})
    backup.on_epoch_end(0)
    kept = {p: p.read_bytes() for p in (tmp_path / "best.weights.h5", tmp_path / "backup" / "latest.weights.h5",
                                        tmp_path / "backup" / "training_metadata.json")}
    save_weights = keras.Model.save_weights

    def full_disk(self, filepath, *args, **kwargs):
        Path(filepath).write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(1000))  # half a file, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device", str(filepath))

    monkeypatch.setattr(keras.Model, "save_weights", full_disk)
    model.layers[0].kernel.assign(np.ones((4, 3), np.float32))
    for callback, logs in ((best, {MONITOR: 0.9}), (backup, None)):
        with pytest.raises(OSError) as raised:
            callback.on_epoch_end(1, logs)
        assert is_disk_full(raised.value)
    assert {p: p.read_bytes() for p in kept} == kept
    assert not [p.name for p in [*tmp_path.iterdir(), *(tmp_path / "backup").iterdir()] if ".tmp" in p.name]
    monkeypatch.setattr(keras.Model, "save_weights", save_weights)
    model.load_weights(tmp_path / "best.weights.h5")  # whole, and the earlier weights
    assert not np.array_equal(model.layers[0].kernel.numpy(), np.ones((4, 3)))


def test_a_disk_too_small_for_the_run_is_refused_before_training_naming_the_folder_and_the_space(
        tmp_path, capsys, monkeypatch, rng):
    import fer_keras.run.space

    write_learnable_folders(tmp_path / "data", {"train": 4, "val": 2}, rng)
    run = tmp_path / "run"
    monkeypatch.setattr(fer_keras.run.space.shutil, "disk_usage",
                        lambda path: SimpleNamespace(total=10**9, used=10**9 - 3 * 10**6, free=3 * 10**6))
    code, err = run_cli(capsys, "train", "amdcnn", *SMALL_SETS, "--data", tmp_path / "data", "--out", run, "--epochs", "1")
    assert code == 2
    line = one_line(err, f"--out {run}", "not enough free space", "3.0 MB are", "choose another --out")
    needed = float(line.split("needs about ")[1].split(" MB")[0])
    assert needed > 6 * 19  # six checkpoints of this AMDCNN's weights and Adam state (19 MB)
    assert not (run / "config.yaml").exists()  # no run: the same --out can be used once there is room



def test_a_failed_start_removes_the_folders_it_made_and_keeps_the_users(tmp_path, capsys):
    """A wrong --data: before, the new run folder stayed behind holding only its .run.lock."""
    from fer_keras.run.lock import LOCK_FILE

    missing = tmp_path / "no_such_data"
    run = tmp_path / "runs" / "deep" / "run"
    code, err = run_cli(capsys, "train", "amdcnn", *SMALL_SETS, "--data", missing, "--out", run, "--epochs", "1")
    assert code == 2
    one_line(err, str(missing))
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # run, deep and runs were made by the start: gone

    mine = tmp_path / "mine"  # a folder the user made, empty or holding a file of theirs, stays as it was
    mine.mkdir()
    (tmp_path / "theirs").mkdir()
    (tmp_path / "theirs" / "notes.txt").write_text("mine")
    for folder, before in ((mine, []), (tmp_path / "theirs", ["notes.txt"])):
        code, err = run_cli(capsys, "train", "amdcnn", *SMALL_SETS, "--data", missing, "--out", folder, "--epochs", "1")
        assert code == 2
        assert sorted(p.name for p in folder.iterdir()) == sorted(before + [LOCK_FILE])


def test_a_full_disk_when_the_run_writes_is_one_line_exit_2_keeping_its_checkpoint(tmp_path, capsys, monkeypatch, rng):
    """Through `fer-keras train --resume`: a run whose epochs are done saves last.keras, and the
    disk is full (the writer raises ENOSPC after writing part of the file). Before: an h5py
    traceback, a segmentation fault (exit 139) and a temporary file left."""
    import keras

    write_learnable_folders(tmp_path / "data", {"train": 4, "val": 2}, rng)
    run = made_run(tmp_path / "run", small_recipe(2), epochs_done=2)
    best = run / "best.weights.h5"
    best.write_bytes(b"the best weights of epoch 1")
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}

    def full_disk(self, filepath, *args, **kwargs):
        Path(filepath).write_bytes(b"PK\x03\x04" + bytes(5000))
        raise OSError(errno.ENOSPC, "No space left on device", str(filepath))

    monkeypatch.setattr(keras.Model, "save", full_disk)
    code, err = run_cli(capsys, "train", "--resume", run)
    assert code == 2
    one_line(err, f"--resume {run}", "no space left", "after epoch 2", "temporary files are removed", "MB free",
             "continue it with --resume")
    after = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    assert best.read_bytes() == b"the best weights of epoch 1" and after["log.csv"] == before["log.csv"]
    assert not [name for name in after if ".tmp" in name] and "last.keras" not in after


def mounted_tmpfs(folder, size):
    """`folder` as a tmpfs of `size` (needs root); skips the test where it cannot be mounted."""
    folder.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")


@pytest.fixture
def small_disk(tmp_path):
    mounts = []

    def make(size):
        folder = tmp_path / f"disk{len(mounts)}"
        mounted_tmpfs(folder, size)
        mounts.append(folder)
        return folder

    yield make
    for folder in mounts:
        subprocess.run(["umount", str(folder)], check=False)


@pytest.mark.slow
def test_train_on_a_3_mb_disk_exits_2_with_one_line_not_a_crash(tmp_path, rng, small_disk):
    """The issue's repro: "No space left", an h5py traceback, a segmentation fault (exit 139) and a
    2.9 MB .best.tmp.weights.h5 left on the disk."""
    write_learnable_folders(tmp_path / "data", {"train": 16, "val": 8}, rng)
    disk = small_disk("3m")
    done = subprocess.run(TRAIN + ["--data", str(tmp_path / "data"), "--out", str(disk / "run")], capture_output=True,
                          text=True, env={**os.environ, "KERAS_BACKEND": "tensorflow"})
    assert done.returncode == 2, done.stderr[-3000:]
    one_line(done.stderr, f"--out {disk / 'run'}", "not enough free space", "MB free there")
    assert not [p for p in disk.rglob("*") if ".tmp" in p.name]


FILL_DISK = textwrap.dedent("""
    import functools, os, shutil, sys
    import keras
    import fer_keras.training as training
    from fer_keras.cli import main

    class FillTheDisk(keras.callbacks.Callback):  # another program takes the space during epoch 2
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                disk = os.path.dirname(sys.argv[1])
                with open(os.path.join(disk, "filler"), "wb") as handle:
                    handle.write(bytes(shutil.disk_usage(disk).free - 5 * 2**20))

    training.train = functools.partial(training.train, callbacks=[FillTheDisk()])
    sys.exit(main(sys.argv[2:] + ["--out", sys.argv[1]]))
""")


@pytest.mark.slow
def test_a_disk_that_fills_during_the_run_stops_it_cleanly_and_it_resumes_once_there_is_room(tmp_path, rng, small_disk):
    write_learnable_folders(tmp_path / "data", {"train": 16, "val": 8}, rng)
    disk = small_disk("140m")  # room for the run (about 120 MB), until another program fills it
    run = disk / "run"
    env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    argv = ["train", "amdcnn", *SMALL_SETS, "--epochs", "3", "--verbose", "0", "--data", str(tmp_path / "data")]
    done = subprocess.run([sys.executable, "-c", FILL_DISK, str(run), *argv], capture_output=True, text=True, env=env)
    assert done.returncode == 2, done.stderr[-3000:]
    one_line(done.stderr, f"--out {run}", "no space left", "after epoch 1", "continue it with --resume")
    assert "h5py" not in done.stderr and not [p for p in run.rglob("*") if ".tmp" in p.name]
    assert json.loads((run / "backup" / "training_metadata.json").read_text())["epoch"] == 1
    (disk / "filler").unlink()
    resumed = subprocess.run([sys.executable, "-m", "fer_keras", "train", "--resume", str(run), "--verbose", "0"],
                             capture_output=True, text=True, env=env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    log = (run / "log.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in log[1:]] == ["0", "1", "2"]
    assert json.loads((run / "metrics.json").read_text())["epochs_done"] == 3


# --------------------------------------------------------- defect 4: resume refuses a changed recipe

def test_resume_refuses_a_recipe_edited_in_config_yaml_listing_the_changed_keys(tmp_path, capsys, stop_at_data):
    run = made_run(tmp_path / "run")
    edit_recipe(run, optimizer__learning_rate=0.5, loss__margin=0.1, training__epochs=9)
    code, err = run_cli(capsys, "train", "--resume", run)
    assert code == 2
    one_line(err, f"--resume {run}", "changed since the run started", "optimizer.learning_rate 0.003 -> 0.5",
             "loss.margin 0.35 -> 0.1", "training.epochs 2 -> 9", "--allow-recipe-change")
    assert "recipe_changes" not in (run / "config.yaml").read_text()


def test_allow_recipe_change_records_the_change_and_its_epoch_and_takes_the_new_fingerprint(
        tmp_path, stop_at_data, monkeypatch, rng):
    import fer_keras.training
    from fer_keras.data.splits import load_splits
    from fer_keras.run.record import recipe_fingerprint
    from fer_keras.training import train

    run = made_run(tmp_path / "run", epochs_done=2)
    edited = edit_recipe(run, optimizer__learning_rate=0.5, training__epochs=9)
    with pytest.raises(ReadData):  # accepted, but recorded only once the model and its optimizer are built
        train(None, out=run, resume=True, allow_recipe_change=True, command="fer-keras train --resume run --allow-recipe-change")
    assert "recipe_changes" not in (run / "config.yaml").read_text()

    def space(*args):
        raise ReadData("checked the free space: the run is about to train")

    write_learnable_folders(tmp_path / "data", {"train": 4, "val": 2}, rng)
    monkeypatch.setattr(fer_keras.training, "load_splits", load_splits)
    monkeypatch.setattr(fer_keras.training, "check_free_space", space)
    with pytest.raises(ReadData):
        train(None, out=run, resume=True, allow_recipe_change=True, command="fer-keras train --resume run --allow-recipe-change")
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["recipe_changes"] == [{
        "after_epoch": 2,
        "changes": [{"key": "optimizer.learning_rate", "old": 0.003, "new": 0.5},
                    {"key": "training.epochs", "old": 2, "new": 9}],
        "command": "fer-keras train --resume run --allow-recipe-change"}]
    assert saved["recipe_sha256"] == recipe_fingerprint(edited["recipe"])
    with pytest.raises(ReadData):  # the accepted recipe is the run's now
        train(None, out=run, resume=True)


def test_a_backup_of_another_optimizer_state_is_refused_naming_the_changed_keys(tmp_path):
    """The check behind the next test, on a tiny model: a backup holds Adam's state; the same Adam
    passes, Adam with a weight average (more variables) is refused, naming the recipe's key."""
    import keras

    from fer_keras.callbacks import check_backup_optimizer
    from fer_keras.errors import ArgumentError

    def model(**adam):
        m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        m.compile(optimizer=keras.optimizers.Adam(**adam), loss="mse")
        return m

    backup = tmp_path / "backup"
    check_backup_optimizer(backup, model(), tmp_path)  # no backup yet: nothing to check
    backup.mkdir()
    saved = model()
    saved.fit(np.zeros((4, 3)), np.zeros((4, 2)), verbose=0)
    saved.save_weights(backup / "latest.weights.h5")
    check_backup_optimizer(backup, model(), tmp_path)
    change = {"changes": [{"key": "optimizer.ema_momentum", "old": "(not set)", "new": 0.99},
                          {"key": "training.epochs", "old": 2, "new": 4}]}
    with pytest.raises(ArgumentError, match=r"recipe change \(optimizer.ema_momentum\) gives the optimizer \d+ variables "
                                            r"where the backup holds \d+.*start a new run"):
        check_backup_optimizer(backup, model(use_ema=True, ema_momentum=0.99), tmp_path, change)
    with pytest.raises(ArgumentError, match="its backup holds the state of an optimizer with"):
        check_backup_optimizer(backup, model(use_ema=True), tmp_path)


@pytest.mark.slow
def test_a_weight_average_switched_on_mid_run_is_refused_before_anything_is_written(tmp_path, capsys, rng):
    """optimizer.ema_momentum added by --allow-recipe-change: Keras skipped the backup's optimizer
    state (its variable count differs) and the EMA swap put the empty average slots into the
    model: every weight zero, the loss constant from then on, and the backup overwritten."""
    write_learnable_folders(tmp_path / "data", {"train": 4, "val": 2}, rng)
    run = tmp_path / "run"
    code, err = run_cli(capsys, "train", "amdcnn", *SMALL_SETS, "--data", tmp_path / "data", "--out", run, "--epochs", "1",
                        "--verbose", "0")
    assert code == 0, err
    edit_recipe(run, optimizer__ema_momentum=0.99, training__epochs=2)
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file() and p.name != ".run.lock"}
    code, err = run_cli(capsys, "train", "--resume", run, "--allow-recipe-change", "--verbose", "0")
    assert code == 2
    one_line(err, f"--resume {run}", "optimizer.ema_momentum", "drop the optimizer's state", "start a new run")
    after = {p: p.read_bytes() for p in run.rglob("*") if p.is_file() and p.name != ".run.lock"}
    assert after == before  # config.yaml records no change; the backup and weights are as they were
    saved = yaml.safe_load((run / "config.yaml").read_text())  # back to the run's optimizer: it continues
    del saved["recipe"]["optimizer"]["ema_momentum"]
    (run / "config.yaml").write_text(yaml.safe_dump(saved, sort_keys=False))
    code, err = run_cli(capsys, "train", "--resume", run, "--allow-recipe-change", "--verbose", "0")
    assert code == 0, err
    changes = yaml.safe_load((run / "config.yaml").read_text())["recipe_changes"]
    assert [c["key"] for c in changes[0]["changes"]] == ["training.epochs"]


def test_time_limit_is_no_recipe_change_and_a_run_without_a_fingerprint_resumes_as_before(tmp_path, capsys, stop_at_data):
    from fer_keras.training import train

    run = made_run(tmp_path / "run")
    edit_recipe(run, training__time_limit_minutes=30)  # the session's, not the recipe's
    with pytest.raises(ReadData):
        train(None, out=run, resume=True)
    with pytest.raises(ReadData):  # and given on the command line
        main(["train", "--resume", str(run), "--set", "training.time_limit_minutes=5"])
    old = made_run(tmp_path / "old", fingerprint=False)  # made before fingerprints: unknown, not refused
    edit_recipe(old, optimizer__learning_rate=0.5)
    with pytest.raises(ReadData):
        train(None, out=old, resume=True)
    assert "recipe_changes" not in (old / "config.yaml").read_text()
    code, err = run_cli(capsys, "train", "amdcnn", "--allow-recipe-change", "--out", tmp_path / "new")
    assert code == 2
    one_line(err, "--allow-recipe-change applies to --resume")


@pytest.mark.slow
def test_a_resumed_run_with_an_allowed_recipe_change_trains_with_the_new_learning_rate(tmp_path, rng):
    """Keras's backup holds the optimizer's learning-rate variable: without setting it again after
    the restore, a resumed run kept the old rate while its record claimed the new one."""
    import h5py

    write_learnable_folders(tmp_path / "data", {"train": 16, "val": 8}, rng)
    run = tmp_path / "run"
    env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    first = subprocess.run(TRAIN[:-4] + ["--epochs", "1", "--verbose", "0", "--data", str(tmp_path / "data"),
                                         "--out", str(run)], capture_output=True, text=True, env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    edit_recipe(run, optimizer__learning_rate=0.0005, training__epochs=2)
    resume = [sys.executable, "-m", "fer_keras", "train", "--resume", str(run), "--verbose", "0"]
    refused = subprocess.run(resume, capture_output=True, text=True, env=env)
    assert refused.returncode == 2 and "optimizer.learning_rate 0.003 -> 0.0005" in refused.stderr.splitlines()[-1]
    allowed = subprocess.run(resume + ["--allow-recipe-change"], capture_output=True, text=True, env=env)
    assert allowed.returncode == 0, allowed.stderr[-3000:]
    with h5py.File(run / "backup" / "latest.weights.h5") as weights:
        learning_rate = float(weights["optimizer"]["vars"]["1"][()])
    assert learning_rate == pytest.approx(0.0005)
    assert yaml.safe_load((run / "config.yaml").read_text())["recipe_changes"][0]["after_epoch"] == 1


# ------------------------------------------------------------ defect 5: resume names the run's model

def test_resume_with_another_model_or_dataset_is_refused_naming_the_runs_own(tmp_path, capsys, monkeypatch):
    import fer_keras.training
    from fer_keras.recipes import load_recipe

    resumed = []
    monkeypatch.setattr(fer_keras.training, "train", lambda recipe, **kwargs: resumed.append(kwargs["out"]) or
                        {"accuracy": 0.5, "macro_f1": 0.5, "epochs_done": 2})
    run = made_run(tmp_path / "run")  # amdcnn on folder data
    for argv, needle in ((["lban"], "lban: "), (["amdcnn_plus"], "amdcnn_plus: "), (["amdcnn", "--dataset", "rafdb"], "--dataset rafdb: ")):
        code, err = run_cli(capsys, "train", *argv, "--resume", run)
        assert code == 2, argv
        one_line(err, needle, f"{run} is a run of amdcnn on folder", "resuming continues it with its own recipe")
    assert resumed == []
    fer2013 = made_run(tmp_path / "fer2013", load_recipe("amdcnn_plus"))  # amdcnn on fer2013
    for argv, folder in ((["amdcnn"], run), ([], run), (["amdcnn_plus"], fer2013), (["amdcnn", "--dataset", "fer2013"], fer2013)):
        code, err = run_cli(capsys, "train", *argv, "--resume", folder)
        assert code == 0, (argv, err)
    assert resumed == [str(run), str(run), str(fer2013), str(fer2013)]
