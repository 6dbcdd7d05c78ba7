"""Commands never destroy files they did not write (issue 17).

`fer-keras export` writes a SavedModel only into a new or empty folder or over an earlier export
(its fer_keras_export.json marker, nothing else in the folder), a .tflite / .onnx file over an
existing file only with --overwrite, and always under a temporary name first. `fer-keras predict
--out` never writes into an input folder or over an input file, and replaces existing annotated
copies only with --overwrite. The refusals come before any model is loaded; the CLI gets a tiny
Dense model instead of a real one (its SavedModel export takes a second), and predict runs with a
stub predictor (no MTCNN, no model).
"""

import json
from pathlib import Path

import numpy as np
import pytest

import fer_keras.cli as cli
from tests.helpers import ROOT, run_cli
from tests.helpers.photos import StubPredictor, photo


def tree(folder):
    """{relative path: bytes} of every file under `folder`."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def tiny():
    """A Trained with a one-layer model: a SavedModel export of it takes a second or two."""
    import keras

    from fer_keras.data.labels import CLASS_NAMES
    from fer_keras.loading import Trained, model_recipe

    image = keras.Input((8, 8, 1), name="image")
    probabilities = keras.layers.Dense(7, activation="softmax")(keras.layers.Flatten()(image))
    return Trained(keras.Model(image, {"probabilities": probabilities}), model_recipe("amdcnn"), "test", CLASS_NAMES)


@pytest.fixture
def loads(monkeypatch, tiny):
    """The CLI loads the tiny model; the list records each load (a refusal comes before any)."""
    done = []

    def load(args):
        done.append(args)
        return tiny

    monkeypatch.setattr(cli, "_trained", load)
    return done


# ------------------------------------------------------------------------------------ export


def test_export_refuses_a_folder_it_did_not_write_and_keeps_every_file(capsys, tmp_path, loads):
    """The issue's command: --out a folder holding saved_model.pb, notes.txt and sub/f."""
    folder = tmp_path / "mine"
    (folder / "sub").mkdir(parents=True)
    (folder / "saved_model.pb").write_bytes(b"not ours")
    (folder / "notes.txt").write_text("precious")
    (folder / "sub" / "f").write_text("also precious")
    before = tree(folder)
    for extra in ([], ["--overwrite"]):  # --overwrite does not allow deleting a foreign folder's files
        code, out, err = run_cli(capsys, "export", "--pretrained", "amdcnn_fer2013", "--format", "savedmodel",
                                 "--out", folder, *extra)
        assert code == 2 and out == ""
        assert f"--out {folder}" in err and "did not write" in err and "Traceback" not in err
        assert tree(folder) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # no temporary folder left beside it
    assert loads == []


def test_export_out_dot_refuses_the_current_folder(capsys, tmp_path, monkeypatch, loads):
    (tmp_path / "saved_model.pb").write_bytes(b"not ours")
    (tmp_path / "notes.txt").write_text("precious")
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, "export", "--pretrained", "amdcnn_fer2013", "--format", "savedmodel", "--out", ".")
    assert code == 2 and "--out ." in err and "choose a new or empty folder" in err
    assert tree(tmp_path) == {"notes.txt": b"precious", "saved_model.pb": b"not ours"} and loads == []


def test_savedmodel_export_replaces_an_earlier_export_but_not_one_with_other_files(tiny, tmp_path):
    from fer_keras.export import MARKER, ExportError, export_model

    out = tmp_path / "sm"
    path, details = export_model(tiny, "savedmodel", out)
    marker = json.loads((out / MARKER).read_text())
    assert marker["format"] == "savedmodel" and marker["class_names"] == details["class_names"]
    (out / "variables" / "stale").write_text("from the earlier export")  # inside an entry an export writes
    export_model(tiny, "savedmodel", out)  # an earlier export: replaced
    assert (out / "saved_model.pb").is_file() and (out / MARKER).is_file()
    assert not (out / "variables" / "stale").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sm"]  # the old folder and the staging folder are gone
    (out / "notes.txt").write_text("precious")
    before = tree(out)
    with pytest.raises(ExportError, match=r"out=.*sm': .*notes\.txt"):
        export_model(tiny, "savedmodel", out, overwrite=True)
    assert tree(out) == before


def test_savedmodel_export_into_the_empty_current_folder_keeps_the_folder(tiny, tmp_path, monkeypatch):
    from fer_keras.export import MARKER, export_model

    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    export_model(tiny, "savedmodel", ".")
    assert Path.cwd() == here and here.is_dir() and (here / "saved_model.pb").is_file() and (here / MARKER).is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["here"]


def test_a_failed_savedmodel_export_leaves_the_earlier_export_and_no_temporary_folder(tiny, tmp_path, monkeypatch):
    import fer_keras.export as export

    out = tmp_path / "sm"
    export.export_model(tiny, "savedmodel", out)
    before = tree(out)

    def broken(model, path):
        (Path(path) / "saved_model.pb").write_bytes(b"half")
        raise RuntimeError("converter crashed")

    monkeypatch.setattr(export, "_write_savedmodel", broken)
    with pytest.raises(export.ExportError, match="converter crashed"):
        export.export_model(tiny, "savedmodel", out)
    assert tree(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ["sm"]


@pytest.mark.parametrize("fmt", ["tflite", "onnx"])
def test_file_export_refuses_an_existing_file_without_overwrite(capsys, tmp_path, loads, fmt):
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    code, _, err = run_cli(capsys, "export", "--pretrained", "amdcnn_fer2013", "--format", fmt, "--out", precious)
    assert code == 2 and f"--out {precious}" in err and "--overwrite" in err and "Traceback" not in err
    assert precious.read_text() == "keep me" and loads == []


def test_file_export_with_overwrite_replaces_the_file_only_when_the_conversion_succeeds(capsys, tmp_path, monkeypatch,
                                                                                          loads):
    import fer_keras.export as export

    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")

    def broken(trained, out, *args):
        Path(out).write_bytes(b"half a flatbuffer")
        raise RuntimeError("converter crashed")

    monkeypatch.setattr(export, "_export_tflite", broken)
    argv = ["export", "--pretrained", "x", "--format", "tflite", "--out", precious, "--overwrite"]
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and "converter crashed" in err
    assert tree(tmp_path) == {"precious.txt": b"keep me"}  # neither destroyed nor half-written, no temporary file

    def converts(trained, out, *args):
        assert Path(out).parent == tmp_path and Path(out).name.startswith(".")  # a temporary name beside --out
        Path(out).write_bytes(b"a flatbuffer")
        return {}

    monkeypatch.setattr(export, "_export_tflite", converts)
    code, _, err = run_cli(capsys, *argv)
    assert code == 0, err
    assert tree(tmp_path) == {"precious.txt": b"a flatbuffer"}


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder no file can be created in: a read-only tmpfs where we are root (root writes through
    a folder's permissions), else a folder with mode 0o555; the test is skipped where neither works."""
    import os
    import shutil
    import subprocess

    folder = tmp_path / "ro"
    folder.mkdir()
    mounted = False
    if os.geteuid() == 0:
        if shutil.which("mount") is None or subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs",
                                                            str(folder)], capture_output=True).returncode:
            pytest.skip("cannot make a read-only folder as root here (no read-only tmpfs)")
        mounted = True
    else:
        folder.chmod(0o555)
    try:
        probe = folder / "probe"
        try:
            probe.write_text("x")
            probe.unlink()
            pytest.skip("the read-only folder takes files here")
        except OSError:
            pass
        yield folder
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], check=False)
        else:
            folder.chmod(0o755)


@pytest.mark.parametrize("fmt, name", [("tflite", "m.tflite"), ("savedmodel", "sm")])
def test_export_to_a_read_only_folder_names_out_before_converting(capsys, monkeypatch, read_only_folder, loads, fmt,
                                                                  name):
    """Issue 35, defect 6: the whole conversion ran, then the export failed with "amdcnn does not
    convert: OSError ... Read-only file system", blaming the model."""
    import fer_keras.export as export

    def converted(*args):
        pytest.fail("converted before checking --out")

    for converter in ("_export_tflite", "_export_savedmodel", "_write_savedmodel"):
        monkeypatch.setattr(export, converter, converted)
    out = read_only_folder / name
    code, _, err = run_cli(capsys, "export", "--pretrained", "amdcnn_fer2013", "--format", fmt, "--out", out)
    assert code == 2 and "Traceback" not in err
    line = err.strip().splitlines()[-1]
    assert line.startswith(f"fer-keras export: --out {out}: cannot write in {read_only_folder}"), line
    assert "Read-only file system" in line or "Permission denied" in line
    assert "does not convert" not in line and loads == [] and list(read_only_folder.iterdir()) == []
    with pytest.raises(export.ExportError, match=r"out=.*cannot write in"):  # the library says it too
        export.check_out(read_only_folder / "deeper" / name, fmt)


# ------------------------------------------------------------------------------------ predict


@pytest.fixture
def stub_model(monkeypatch, loads):
    """`fer-keras predict` with the stub predictor (and the tiny model, never used)."""
    import fer_keras.predict as predict

    stub = StubPredictor()
    monkeypatch.setattr(predict, "FacePredictor", lambda *args, **kwargs: stub)
    stub.loads = loads
    return stub


def test_predict_refuses_an_input_folder_as_out_and_keeps_the_photos(capsys, tmp_path, stub_model):
    """The issue's command: `fer-keras predict DIR --out DIR`."""
    from fer_keras.errors import ArgumentError
    from fer_keras.predict import predict_paths

    photos = tmp_path / "photos"
    photo(photos / "a.png")
    photo(photos / "b.jpg")
    before = tree(photos)
    code, out, err = run_cli(capsys, "predict", photos, "--out", photos, "--overwrite")
    assert code == 2 and out == "" and f"--out {photos}" in err and "input folder" in err
    assert stub_model.images == 0 and stub_model.loads == [] and tree(photos) == before
    stub = StubPredictor()
    with pytest.raises(ArgumentError, match="out=.*input folder"):
        predict_paths(stub, [str(photos)], out=photos / ".." / "photos")
    assert stub.images == 0 and tree(photos) == before


def test_predict_refuses_an_out_that_would_replace_an_input_file_even_with_overwrite(tmp_path):
    from fer_keras.errors import ArgumentError
    from fer_keras.predict import predict_paths

    photos = tmp_path / "photos"
    a = photo(photos / "a.png")
    before = tree(photos)
    (tmp_path / "link").symlink_to(photos)  # the same folder under another name
    stub = StubPredictor()
    for out in (photos, tmp_path / "link"):
        with pytest.raises(ArgumentError, match=r"out=.*written over the input .*a\.png"):
            predict_paths(stub, [str(a)], out=out, overwrite=True)
    assert stub.images == 0 and tree(photos) == before


def test_predict_refuses_existing_copies_unless_overwrite(capsys, tmp_path, stub_model):
    import cv2

    photos, annotated = tmp_path / "photos", tmp_path / "annotated"
    photo(photos / "a.png")
    annotated.mkdir()
    (annotated / "a.png").write_bytes(b"an earlier copy")
    code, out, err = run_cli(capsys, "predict", photos, "--out", annotated)
    assert code == 2 and "--out" in err and "a.png exists" in err and "--overwrite" in err
    assert stub_model.images == 0 and stub_model.loads == [] and (annotated / "a.png").read_bytes() == b"an earlier copy"
    code, out, err = run_cli(capsys, "predict", photos, "--out", annotated, "--overwrite", "--json")
    assert code == 0, err
    assert json.loads(out)[0]["annotated"] == str(annotated / "a.png")
    assert cv2.imread(str(annotated / "a.png")).shape == (40, 50, 3)
    assert sorted(p.name for p in annotated.iterdir()) == ["a.png"]  # no temporary file left


def test_predict_numbers_same_named_inputs_and_writes_each_copy(tmp_path):
    import cv2

    from fer_keras.predict import predict_paths

    first, second = photo(tmp_path / "one" / "a.png", 10), photo(tmp_path / "two" / "a.png", 200)
    out = tmp_path / "annotated"
    entries = predict_paths(StubPredictor(), [str(first), str(second)], out=out)
    assert [e["annotated"] for e in entries] == [str(out / "a.png"), str(out / "a_2.png")]
    assert sorted(tree(out)) == ["a.png", "a_2.png"]
    for copy, original in ((out / "a.png", first), (out / "a_2.png", second)):  # no face: the image unchanged
        assert np.array_equal(cv2.imread(str(copy)), cv2.imread(str(original)))


def test_predict_reports_a_truncated_photo_instead_of_classifying_its_grey_fill(tmp_path):
    """A cut JPEG decodes in OpenCV with grey fill; predict names the file and the problem, and
    still classifies the whole photos beside it."""
    import cv2

    from fer_keras.predict import predict_paths

    whole = tmp_path / "whole.jpg"
    assert cv2.imwrite(str(whole), np.full((60, 60, 3), 120, np.uint8))
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(whole.read_bytes()[: len(whole.read_bytes()) // 2])
    entries = {Path(e["file"]).name: e for e in predict_paths(StubPredictor(), [str(cut), str(whole)])}
    assert "truncated JPEG" in entries["cut.jpg"]["error"] and "faces" not in entries["cut.jpg"]
    assert entries["whole.jpg"]["faces"] == []


def test_predict_exits_1_when_some_inputs_fail_naming_each_and_analyses_the_others(capsys, tmp_path, stub_model):
    """Issue 35 ("Also"): the per-file rule README states. Exit 1: some inputs failed, each named on
    stderr, and every other input was analysed (and its copy written); exit 2 is for a command that
    failed as a whole. A link to nothing is such an input (it was skipped without a word); other
    entries of the folder (.gif, .txt) are counted in a note."""
    import cv2

    photos, annotated = tmp_path / "photos", tmp_path / "annotated"
    photo(photos / "a.png")
    assert cv2.imwrite(str(photos / "b.jpg"), np.full((60, 60, 3), 120, np.uint8))
    (photos / "cut.jpg").write_bytes((photos / "b.jpg").read_bytes()[:300])
    (photos / "lost.jpg").symlink_to(tmp_path / "nowhere.jpg")
    (photos / "notes.txt").write_text("not a photo")
    (photos / "anim.gif").write_bytes(b"GIF89a")
    code, out, err = run_cli(capsys, "predict", photos, "--out", annotated, "--json")
    assert code == 1
    entries = {Path(e["file"]).name: e for e in json.loads(out)}
    assert sorted(entries) == ["a.png", "b.jpg", "cut.jpg", "lost.jpg"]
    assert "truncated JPEG" in entries["cut.jpg"]["error"] and "broken symbolic link" in entries["lost.jpg"]["error"]
    assert entries["a.png"]["faces"] == [] and sorted(p.name for p in annotated.iterdir()) == ["a.png", "b.jpg"]
    assert f"{photos}: 2 entries not analysed (not image or video files): anim.gif, notes.txt" in err
    for name in ("cut.jpg", "lost.jpg"):
        assert f"fer-keras predict: {photos / name}: " in err
    code, out, err = run_cli(capsys, "predict", photos / "a.png", photos / "cut.jpg")
    assert code == 1 and "truncated JPEG" in out
    code, out, err = run_cli(capsys, "predict", photos / "a.png")
    assert code == 0


ODD = b"odd\xff"  # a file-name byte that is not UTF-8: Python holds it as a surrogate escape


def test_predict_writes_a_copy_of_a_photo_whose_name_is_not_utf8_and_goes_on(tmp_path):
    """Issue 35: OpenCV's binding crashed the process (segmentation fault, exit 139) on such a name
    when predict wrote its annotated copy, losing every file after it. Run in a subprocess so that a
    crash fails this test instead of killing pytest."""
    import os
    import subprocess
    import sys

    import cv2

    photos, out = tmp_path / "photos", tmp_path / "annotated"
    photo(photos / "a.png", 10)
    odd = os.fsencode(photos) + b"/" + ODD + b".jpg"
    with open(odd, "wb") as handle:
        handle.write(cv2.imencode(".jpg", np.full((40, 50, 3), 90, np.uint8))[1].tobytes())
    photo(photos / "z.png", 200)
    script = (
        "import json, sys\n"
        "from tests.helpers.photos import StubPredictor\n"
        "from fer_keras.predict import predict_paths\n"
        "entries = predict_paths(StubPredictor(), [sys.argv[1]], out=sys.argv[2])\n"
        "print(json.dumps(entries))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(photos), str(out)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    entries = json.loads(done.stdout)
    assert [Path(e["file"]).name for e in entries] == ["a.png", os.fsdecode(ODD + b".jpg"), "z.png"]
    assert all("annotated" in e and "error" not in e for e in entries)
    assert sorted(os.listdir(os.fsencode(out))) == [b"a.png", ODD + b".jpg", b"z.png"]  # the name kept, byte for byte
    copy = np.frombuffer(open(os.fsencode(out) + b"/" + ODD + b".jpg", "rb").read(), np.uint8)
    assert cv2.imdecode(copy, cv2.IMREAD_COLOR).shape == (40, 50, 3)


def test_predict_reads_and_writes_a_video_whose_name_is_not_utf8(tmp_path):
    import os

    import cv2

    from fer_keras.predict import predict_paths

    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (32, 24))
    if not writer.isOpened():
        pytest.skip("OpenCV cannot write mp4v videos here")
    for value in (40, 120, 200):
        writer.write(np.full((24, 32, 3), value, np.uint8))
    writer.release()
    odd = os.fsencode(tmp_path) + b"/" + ODD + b".mp4"
    os.rename(video, odd)
    out = tmp_path / "annotated"
    entries = predict_paths(StubPredictor(), [os.fsdecode(odd)], out=out)
    assert entries[-1]["video"]["frames"] == 3 and entries[-1]["annotated"] == os.fsdecode(os.fsencode(out) + b"/" + ODD + b".mp4")
    assert entries[-1]["timeline"] == os.fsdecode(os.fsencode(out) + b"/" + ODD + b".csv")
    assert sorted(os.listdir(os.fsencode(out))) == [ODD + b".csv", ODD + b".mp4", ODD + b".png"]  # no temporary file or link left
    assert not [p for p in Path(tempfile_root()).glob("fer-keras-*")]


def tempfile_root():
    import tempfile

    return tempfile.gettempdir()


def test_a_copy_name_taken_after_the_plan_is_not_replaced(tmp_path):
    """Issue 35: two predicts writing into one --out checked for existing copies only at start-up,
    so the later writer replaced the other's copy. The name is now claimed when the copy is written:
    one taken in the meantime is kept and the copy goes to the next free name."""
    import cv2

    from fer_keras.predict import predict_paths

    photos, out = tmp_path / "photos", tmp_path / "annotated"
    photo(photos / "a.png", 10)

    class RacingPredictor(StubPredictor):
        def predict_images(self, images):  # another process writes a.png after the plan was made
            out.mkdir(exist_ok=True)
            (out / "a.png").write_bytes(b"the other process's copy")
            return super().predict_images(images)

    entries = predict_paths(RacingPredictor(), [str(photos)], out=out)
    assert entries[0]["annotated"] == str(out / "a_2.png")
    assert (out / "a.png").read_bytes() == b"the other process's copy"
    assert cv2.imread(str(out / "a_2.png")).shape == (40, 50, 3) and sorted(tree(out)) == ["a.png", "a_2.png"]
    entries = predict_paths(RacingPredictor(), [str(photos)], out=out, overwrite=True)  # asked for: replaced
    assert entries[0]["annotated"] == str(out / "a.png") and cv2.imread(str(out / "a.png")).shape == (40, 50, 3)
