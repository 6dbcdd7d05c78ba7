"""A video's timeline (issue 36, item 3): `fer-keras predict VIDEO --out DIR` writes <name>.csv (one row
per analysed frame and face) and <name>.png (each emotion's probability over time) beside the annotated
copy, and `fer_keras.predict.predict_video` returns the same table as a pandas DataFrame
(fer_keras.timeline).

The clips are written here with OpenCV from faces of the FER2013 sample that ships in the package, and
classified by the bundled default model (what `fer-keras predict` uses when no model is named); the
tests of file handling and of the model's class names use a scripted predictor instead (no model)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fer_keras.data.labels import CLASS_NAMES, CLASS_NAMES_CONTEMPT
from fer_keras.timeline import timeline_columns
from tests.helpers import run_cli

PNG = b"\x89PNG\r\n\x1a\n"
FPS = 10
FRAMES = 7


def write_clip(path, frames, fps=FPS):
    """Write RGB frames as an mp4v video (the test is skipped where OpenCV cannot); return the path."""
    import cv2

    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        pytest.skip("OpenCV cannot write mp4v videos here")
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """(clip with two faces moving to the right over FRAMES frames, a blank clip of 4 frames)."""
    from fer_keras.data import load_dataset
    from fer_keras.data.sample import faces_on_canvas, sample_path

    folder = tmp_path_factory.mktemp("clips")
    faces = load_dataset("fer2013", sample_path(), split="Training").images[:2, :, :, 0]
    canvas, _ = faces_on_canvas(faces)
    clip = write_clip(folder / "clip.mp4", [np.roll(canvas, 3 * k, axis=1) for k in range(FRAMES)])
    blank = write_clip(folder / "blank.mp4", [np.full((48, 64, 3), 90, np.uint8)] * 4)
    return clip, blank


@pytest.fixture(scope="module")
def predictor():
    from fer_keras.loading import load_trained
    from fer_keras.models.pretrained import DEFAULT_PRETRAINED
    from fer_keras.predict import FacePredictor

    return FacePredictor(load_trained(pretrained=DEFAULT_PRETRAINED))


class ScriptedPredictor:
    """One face per image, its probabilities drawn at random over `class_names` (no model)."""

    batch_size = 4

    def __init__(self, class_names=CLASS_NAMES):
        self.class_names = tuple(class_names)
        self.rng = np.random.default_rng(0)

    def predict_images(self, images):
        return [(image.shape, self.rng.dirichlet(np.ones(len(self.class_names)), size=1)) for image in images]

    def faces(self, shape, probabilities):
        names = self.class_names
        return [{"box": [1.0, 2.0, 30.5, 40.0], "detection_confidence": 0.9, "landmarks": {},
                 "emotion": names[int(np.argmax(p))], "probability": float(p.max()),
                 "probabilities": {name: float(v) for name, v in zip(names, p)}} for p in probabilities]


def test_predict_writes_the_timeline_csv_and_plot_beside_the_annotated_video(clips, tmp_path, capsys):
    clip, _ = clips
    out = tmp_path / "out"
    code, stdout, err = run_cli(capsys, "predict", clip, "--every", "2", "--json", "--out", out)
    assert code == 0, err
    entries = json.loads(stdout)
    summary = entries[-1]
    assert summary["timeline"] == str(out / "clip.csv") and summary["plot"] == str(out / "clip.png")
    assert sorted(p.name for p in out.iterdir()) == ["clip.csv", "clip.mp4", "clip.png"]  # no temporary file left
    assert (out / "clip.png").read_bytes().startswith(PNG)
    lines = (out / "clip.csv").read_text().splitlines()
    assert lines[0] == ",".join(timeline_columns(CLASS_NAMES))
    table = pd.read_csv(out / "clip.csv")
    frames = [e for e in entries if e["frame"] is not None]
    assert [e["frame"] for e in frames] == [0, 2, 4, 6]
    assert len(table) == sum(len(e["faces"]) for e in frames) >= 4  # one row per analysed frame and face
    assert sorted(set(table["frame"])) == [e["frame"] for e in frames if e["faces"]]
    np.testing.assert_allclose(table["time_s"], table["frame"] / FPS, atol=1e-3)
    rows = iter(table.itertuples(index=False))
    for entry in frames:  # the same faces as the JSON entries, in their order
        for k, face in enumerate(entry["faces"]):
            row = next(rows)._asdict()
            assert (row["frame"], row["face"], row["emotion"]) == (entry["frame"], k, face["emotion"])
            assert [row[c] for c in ("x1", "y1", "x2", "y2")] == face["box"]
            np.testing.assert_allclose([row[name] for name in CLASS_NAMES], list(face["probabilities"].values()), atol=1e-6)
    probabilities = table[list(CLASS_NAMES)].to_numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-4)
    assert list(table["emotion"]) == [CLASS_NAMES[k] for k in probabilities.argmax(axis=1)]

    code, stdout, err = run_cli(capsys, "predict", clip, "--out", tmp_path / "every", "--every", "3")
    assert code == 0, err
    assert "timeline" in stdout and "clip.csv" in stdout and "clip.png" in stdout
    every_3 = pd.read_csv(tmp_path / "every" / "clip.csv")
    assert sorted(set(every_3["frame"])) == [0, 3, 6]  # --every 3 of 7 frames
    same = table[table["frame"].isin([0, 6])].reset_index(drop=True)  # analysed by both: the same rows
    pd.testing.assert_frame_equal(every_3[every_3["frame"] != 3].reset_index(drop=True), same, atol=1e-5)


def test_predict_video_returns_the_csv_as_a_dataframe(clips, predictor, tmp_path):
    from fer_keras.predict import predict_video

    clip, _ = clips
    table = predict_video(predictor, clip, out=tmp_path / "out")
    pd.testing.assert_frame_equal(table, pd.read_csv(tmp_path / "out" / "clip.csv"))
    assert list(table.columns) == timeline_columns(CLASS_NAMES) and sorted(set(table["frame"])) == list(range(FRAMES))
    assert table.attrs["timeline"] == str(tmp_path / "out" / "clip.csv") and table.attrs["video"]["analysed"] == FRAMES
    assert (tmp_path / "out" / "clip.png").read_bytes().startswith(PNG)
    without_out = predict_video(predictor, clip, every=2)  # no folder: nothing written, the same table
    pd.testing.assert_frame_equal(without_out, table[table["frame"] % 2 == 0].reset_index(drop=True), atol=1e-5)
    assert "timeline" not in without_out.attrs and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_video_without_a_face_gives_a_csv_with_only_its_header_and_a_note(clips, predictor, tmp_path, capsys):
    from fer_keras.predict import predict_video

    _, blank = clips
    code, out, err = run_cli(capsys, "predict", blank, "--out", tmp_path / "out")
    assert code == 0, err
    assert (tmp_path / "out" / "blank.csv").read_text() == ",".join(timeline_columns(CLASS_NAMES)) + "\n"
    assert (tmp_path / "out" / "blank.png").read_bytes().startswith(PNG)
    assert "note:" in err and "no face found in its 4 analysed frames" in err
    table = predict_video(predictor, blank)
    assert table.empty and list(table.columns) == timeline_columns(CLASS_NAMES)
    assert table.dtypes["frame"] == np.int64 and table.dtypes["happy"] == np.float64
    assert "no face found" in table.attrs["note"]


def test_the_columns_follow_the_models_classes_and_memory_stays_flat(tmp_path):
    """A FERPlus model has eight classes; `keep_frames=False` keeps no per-frame entry; the progress
    callback sees the frames read, the frame count and the end."""
    from fer_keras.predict import predict_paths

    clip = write_clip(tmp_path / "clip.mp4", [np.full((24, 32, 3), 10 * k, np.uint8) for k in range(9)])
    calls = []
    entries = predict_paths(ScriptedPredictor(CLASS_NAMES_CONTEMPT), [str(clip)], out=tmp_path / "out", every=4,
                            keep_frames=False, progress=lambda *call: calls.append(call))
    assert [e["frame"] for e in entries] == [None] and entries[0]["video"] == {"frames": 9, "analysed": 3, "with_faces": 3}
    table = pd.read_csv(tmp_path / "out" / "clip.csv")
    assert list(table.columns) == timeline_columns(CLASS_NAMES_CONTEMPT) and "contempt" in table.columns
    assert list(table["frame"]) == [0, 4, 8] and list(table["face"]) == [0, 0, 0]
    assert calls[-1] == (str(clip), 9, 9, True) and all(not finished for *_, finished in calls[:-1])


def test_timeline_files_are_never_replaced_unless_asked(tmp_path):
    from fer_keras.errors import ArgumentError
    from fer_keras.predict import predict_paths

    clip = write_clip(tmp_path / "clip.mp4", [np.full((24, 32, 3), 60, np.uint8)] * 3)
    out = tmp_path / "out"
    out.mkdir()
    (out / "clip.csv").write_text("the user's table")
    with pytest.raises(ArgumentError, match=r"clip\.csv exists.*overwrite=True"):
        predict_paths(ScriptedPredictor(), [str(clip)], out=out)
    assert sorted(p.name for p in out.iterdir()) == ["clip.csv"]
    entries = predict_paths(ScriptedPredictor(), [str(clip)], out=out, overwrite=True)
    assert entries[-1]["timeline"] == str(out / "clip.csv") and len(pd.read_csv(out / "clip.csv")) == 3

    fresh = tmp_path / "fresh"

    class Racing(ScriptedPredictor):
        def predict_images(self, images):  # another process takes clip.png after the plan was made
            fresh.mkdir(exist_ok=True)
            (fresh / "clip.png").write_bytes(b"the other process's plot")
            return super().predict_images(images)

    entries = predict_paths(Racing(), [str(clip)], out=fresh)
    summary = entries[-1]
    assert [Path(summary[k]).name for k in ("annotated", "timeline", "plot")] == ["clip_2.mp4", "clip_2.csv", "clip_2.png"]
    assert (fresh / "clip.png").read_bytes() == b"the other process's plot"
    assert sorted(p.name for p in fresh.iterdir()) == ["clip.png", "clip_2.csv", "clip_2.mp4", "clip_2.png"]


def test_a_long_timeline_is_plotted_from_the_file_in_time_bins(tmp_path):
    """More rows than the plot's points: read in chunks and averaged in time bins; the figure is a PNG."""
    import fer_keras.timeline as timeline

    names = ["calm", "glad"]
    with open(tmp_path / "long.csv", "w", newline="") as handle:
        writer = timeline.TimelineWriter(handle, names)
        for frame in range(3000):
            glad = frame / 3000
            face = {"box": [0.0, 0.0, 9.0, 9.0], "probabilities": {"calm": 1 - glad, "glad": glad}, "emotion": "glad"}
            writer.add(frame, round(frame / 30, 3), [face, face])
        assert writer.close() and writer.rows == 6000
    timeline.plot_timeline(tmp_path / "long.csv", tmp_path / "long.png", names, "long", max_points=100)
    assert (tmp_path / "long.png").read_bytes().startswith(PNG)
    table = timeline.read_timeline(tmp_path / "long.csv")
    assert len(table) == 6000 and list(table.columns) == timeline_columns(names)


def test_the_progress_line_says_the_frames_read_once_the_delay_has_passed():
    import io

    from fer_keras.timeline import ProgressLine

    stream = io.StringIO()
    progress = ProgressLine(stream, delay=0, interval=0)
    progress("clip.mp4", 64, 256)
    progress("clip.mp4", 256, 256, True)
    assert stream.getvalue().startswith("clip.mp4: frame 64 of 256 (25%), ") and stream.getvalue().count("\n") == 1
    quiet = io.StringIO()
    ProgressLine(quiet)("clip.mp4", 64, None)  # within the first two seconds: nothing
    assert quiet.getvalue() == ""
