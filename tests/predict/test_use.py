"""Using a trained model: `fer-keras evaluate`, `predict` and `explain` (fer_keras.loading,
fer_keras.evaluation, fer_keras.classify, fer_keras.predict, fer_keras.explain) and `fer_keras.data.faces.detect_faces`.

One tiny AMDCNN run (the `run` fixture of tests/predict/conftest.py: tests/helpers/tiny_run.py's
learnable folder dataset) is trained once per module and shared; the commands run in-process through `fer_keras.cli.main`."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from fer_keras.cli import main
from fer_keras.data.labels import CLASS_NAMES
from fer_keras.data.sample import faces_on_canvas as on_canvas  # photos built from real faces
from tests.helpers import run_cli
from tests.helpers.photos import write_rgb
from tests.helpers.real_data import REAL, require_real

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def fer_faces():
    """Three real FER2013 Training faces (48x48 uint8)."""
    require_real()
    from fer_keras.data import load_dataset

    return load_dataset("fer2013", REAL, split="Training").images[:3, :, :, 0]


# ----------------------------------------------------------------------------------- evaluate


def test_evaluate_json_reproduces_the_runs_validation_metrics(run, capsys):
    run_dir, _ = run
    saved = json.loads((run_dir / "metrics.json").read_text())["validation"]["single"]
    code, out, err = run_cli(capsys, "evaluate", "--run", run_dir, "--json")
    assert code == 0, err
    report = json.loads(out)  # stdout holds the JSON and nothing else
    assert report["accuracy"] == saved["accuracy"] and report["confusion_matrix"] == saved["confusion_matrix"]
    assert report["split"].startswith("val") and report["tta"] == "none" and report["samples"] == 24

    code, out, err = run_cli(capsys, "evaluate", "--run", run_dir, "--split", "val")
    assert code == 0, err
    assert f"accuracy {saved['accuracy']:.4f}" in out and "per-class accuracy: happy" in out


def test_evaluate_tencrop_is_the_mean_of_the_ten_crops(run, capsys):
    import keras

    from fer_keras.data import load_dataset
    from fer_keras.evaluation import evaluate_model
    from fer_keras.loading import load_run

    run_dir, data = run
    model = keras.saving.load_model(run_dir / "best.keras")
    record = load_dataset("folder", data, split="val")
    images = record.images.astype(np.float32) / 255.0  # (N, 32, 32, 1) -> 28x28 views
    views = [images[:, y : y + 28, x : x + 28] for y, x in ((0, 0), (0, 4), (4, 0), (4, 4), (2, 2))]
    views += [v[:, :, ::-1] for v in views]
    expected = model.predict(np.concatenate(views), verbose=0)["probabilities"].reshape(10, len(images), -1).mean(axis=0)

    loaded, recipe = load_run(run_dir)
    result = evaluate_model(loaded, recipe, data=data, tta="tencrop")
    np.testing.assert_allclose(result.probabilities, expected, atol=1e-5)
    assert result.tta == "tencrop" and np.array_equal(result.record.labels, record.labels)

    code, out, err = run_cli(capsys, "evaluate", "--run", run_dir, "--tta", "tencrop", "--json")
    assert code == 0, err
    report = json.loads(out)
    predicted = expected.argmax(axis=1)
    assert report["tta"] == "tencrop"
    assert report["accuracy"] == pytest.approx(float(np.mean(predicted == record.labels)))
    matrix = np.zeros((7, 7), int)
    np.add.at(matrix, (record.labels, predicted), 1)
    assert report["confusion_matrix"] == matrix.tolist()


def test_weights_file_and_recipe_give_the_runs_results(run, tmp_path, capsys):
    """--model NAME --weights FILE --recipe FILE builds the model from the recipe; a .keras file
    needs no --model."""
    from fer_keras.loading import load_run

    run_dir, data = run
    model, recipe = load_run(run_dir)
    model.save_weights(tmp_path / "amdcnn.weights.h5")
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    saved = json.loads((run_dir / "metrics.json").read_text())["validation"]["single"]["accuracy"]
    for extra in (["--model", "amdcnn", "--weights", tmp_path / "amdcnn.weights.h5", "--recipe", tmp_path / "recipe.yaml"],
                  ["--weights", run_dir / "best.keras", "--recipe", tmp_path / "recipe.yaml"]):
        code, out, err = run_cli(capsys, "evaluate", *extra, "--dataset", "folder", "--data", data, "--json")
        assert code == 0, err
        assert json.loads(out)["accuracy"] == saved
    # The FER2013 recipe's AMDCNN (48x48, MCBAM, three auxiliary heads) does not take these weights.
    code, out, err = run_cli(capsys, "evaluate", "--model", "amdcnn", "--weights", tmp_path / "amdcnn.weights.h5",
                             "--dataset", "folder", "--data", data)
    assert code == 2 and "--weights" in err and out == ""


# ----------------------------------------------------------------------------------- ensemble


def write_ensemble(path, members, **section):
    path.write_text(yaml.safe_dump({"ensemble": {**section, "members": members}}))
    return path


def test_ensemble_is_the_weighted_mean_of_its_members_probabilities(run, tmp_path, capsys):
    """Two members that see the same faces differently (single crop, ten-crop) with weights 1 and
    3: the ensemble's probabilities and metrics are those of (p_1 + 3 p_2) / 4."""
    from fer_keras.evaluation import classification_metrics, evaluate_model
    from fer_keras.loading import load_trained

    run_dir, data = run
    config = write_ensemble(tmp_path / "ensemble.yaml", [{"run": str(run_dir), "tta": "none"},
                                                         {"run": str(run_dir), "tta": "tencrop", "weight": 3}])
    code, out, err = run_cli(capsys, "ensemble", config, "--json", "--out", tmp_path / "out")
    assert code == 0, err
    report = json.loads(out)
    trained = load_trained(run=run_dir)
    single, tencrop = (evaluate_model(trained.model, trained.recipe, data=data, tta=t) for t in ("none", "tencrop"))
    assert not np.allclose(single.probabilities, tencrop.probabilities)  # two different members
    expected = (single.probabilities + 3 * tencrop.probabilities) / 4
    saved = np.loadtxt(tmp_path / "out/predictions.csv", delimiter=",", skiprows=1)
    np.testing.assert_allclose(saved[:, 2:], expected, atol=2e-6)
    reference = classification_metrics(single.record.labels, expected, single.record.class_names)
    assert report["accuracy"] == reference["accuracy"] and report["confusion_matrix"] == reference["confusion_matrix"]
    assert [m["accuracy"] for m in report["members"]] == [single.metrics["accuracy"], tencrop.metrics["accuracy"]]
    assert [m["tta"] for m in report["members"]] == ["none", "tencrop"] and report["skipped_members"] == []
    assert report["gain_over_best_member"] == pytest.approx(report["accuracy"] - max(single.metrics["accuracy"],
                                                                                    tencrop.metrics["accuracy"]))
    assert json.loads((tmp_path / "out/metrics.json").read_text())["accuracy"] == report["accuracy"]


def test_ensemble_missing_members_fail_unless_skipped(run, tmp_path, capsys):
    run_dir, _ = run
    config = write_ensemble(tmp_path / "ensemble.yaml", [{"run": str(run_dir)}, {"run": str(tmp_path / "untrained")}])
    code, out, err = run_cli(capsys, "ensemble", config)
    assert code == 2 and "untrained" in err and "--skip-missing" in err and out == ""
    code, out, err = run_cli(capsys, "ensemble", config, "--skip-missing")
    assert code == 0, err
    assert "untrained: skipped" in out and "gain over the best member: +0.00 points" in out


@pytest.mark.parametrize("members, named", [
    ([{"run": "a", "pretrained": "amdcnn_fer2013"}], "members[0]: give exactly one"),
    ([{"run": "a", "weights": 2}], "unknown key(s) ['weights']"),
    ([{"pretrained": "amdcnn_fer2013"}, {"run": "a", "weight": 0}], "members[1]: weight must be a positive number"),
    ([], "non-empty list"),
])
def test_ensemble_config_errors_name_the_file_and_member(tmp_path, capsys, members, named):
    config = write_ensemble(tmp_path / "bad.yaml", members)
    code, out, err = run_cli(capsys, "ensemble", config)
    assert code == 2 and str(config) in err and named in err and out == "", err


def test_ensemble_members_must_see_the_same_samples(run, tmp_path, capsys):
    """The tiny run (its folder data) and the bundled AMDCNN (the bundled FER2013 sample) evaluate
    different samples: an error, not a mean of unrelated rows, given before any member is evaluated."""
    run_dir, _ = run
    config = write_ensemble(tmp_path / "ensemble.yaml", [{"run": str(run_dir)}, {"pretrained": "amdcnn_fer2013"}])
    code, out, err = run_cli(capsys, "ensemble", config)
    assert code == 2 and "pretrained amdcnn_fer2013" in err and "give --data" in err and out == "", err
    assert "ensemble: evaluating" not in err, err


# ------------------------------------------------------------------------------------ predict


def test_detect_faces_finds_every_face_and_aligns_like_fer2013(fer_faces):
    from fer_keras.data.faces import align_face, detect_faces, detect_landmarks
    from fer_keras.classify import face_inputs
    from fer_keras.models import build_model
    from fer_keras.recipes import load_recipe

    canvas, boxes = on_canvas(fer_faces[:2])
    one, two, none = detect_faces([on_canvas(fer_faces[:1])[0], canvas, np.full((200, 200, 3), 128, np.uint8)])
    assert (len(one), len(two), len(none)) == (1, 2, 0)
    assert np.all(np.diff(two.confidences) <= 0) and two.confidences.min() >= 0.9
    for found, (x1, y1, x2, y2) in zip(sorted(two.boxes.tolist()), boxes):  # left face first
        assert x1 - 40 < found[0] < found[2] < x2 + 40 and y1 - 40 < found[1] < found[3] < y2 + 40
    # The face found in the photo, placed at FER2013's 48x48 without de-rotation, is the original
    # row itself (what AMDCNN was trained on), up to the row's distance from the mean landmarks.
    aligned = face_inputs(on_canvas(fer_faces[:1])[0], one, load_recipe("amdcnn"), build_model("amdcnn"))
    assert aligned.shape == (1, 48, 48, 1) and aligned.dtype == np.uint8
    original = fer_faces[:1, ..., None]
    reference = align_face(original[0], detect_landmarks(original).landmarks[0], 48, rotation=False)
    assert np.corrcoef(aligned[0].ravel(), reference.ravel().astype(float))[0, 1] > 0.95
    single = detect_faces(canvas)  # one image in, one FaceLandmarks out
    assert len(single) == 2 and single.sizes.tolist() == [list(canvas.shape[:2])] * 2


def test_predict_classifies_each_face_and_writes_annotated_images(run, fer_faces, tmp_path, capsys):
    import cv2

    run_dir, _ = run
    face = write_rgb(tmp_path / "face.png", on_canvas(fer_faces[:1])[0])
    blank = write_rgb(tmp_path / "blank.jpg", np.full((200, 240, 3), 90, np.uint8))
    code, out, err = run_cli(capsys, "predict", face, blank, "--run", run_dir, "--json", "--out", tmp_path / "out")
    assert code == 0, err
    entries = json.loads(out)
    assert [Path(e["file"]).name for e in entries] == ["face.png", "blank.jpg"]
    (found,) = entries[0]["faces"]
    assert list(found["probabilities"]) == list(CLASS_NAMES)
    assert sum(found["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    assert found["emotion"] == max(found["probabilities"], key=found["probabilities"].get)
    assert found["probability"] == found["probabilities"][found["emotion"]]
    assert 30 < found["box"][0] < found["box"][2] < 290 and found["detection_confidence"] >= 0.5  # BlazeFace's default
    assert entries[1]["faces"] == []
    annotated = cv2.imread(entries[0]["annotated"])
    assert annotated.shape == (320, 320, 3) and np.abs(annotated.astype(int) - cv2.imread(str(face)).astype(int)).max() > 100
    assert Path(entries[1]["annotated"]).is_file()

    code, out, err = run_cli(capsys, "predict", blank, "--run", run_dir)
    assert code == 0, err
    assert "blank.jpg: no face found" in out

    code, out, err = run_cli(capsys, "predict", face, "--run", run_dir, "--json", "--detector", "mtcnn")
    assert code == 0, err
    (by_mtcnn,) = json.loads(out)[0]["faces"]
    assert by_mtcnn["detection_confidence"] >= 0.9  # MTCNN's own default minimum
    for point in ("left_eye", "right_eye", "nose"):  # the boxes differ by convention (BlazeFace's starts at the brows)
        assert np.abs(np.subtract(by_mtcnn["landmarks"][point], found["landmarks"][point])).max() < 20


def test_predict_on_a_video_analyses_every_nth_frame(run, fer_faces, tmp_path, capsys):
    import cv2

    run_dir, _ = run
    canvas, _ = on_canvas(fer_faces[1:2])
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, canvas.shape[1::-1])
    if not writer.isOpened():
        pytest.skip("OpenCV cannot write mp4v videos here")
    for k in range(5):
        writer.write(cv2.cvtColor(np.roll(canvas, 4 * k, axis=1), cv2.COLOR_RGB2BGR))
    writer.release()
    code, out, err = run_cli(capsys, "predict", video, "--run", run_dir, "--every", "2", "--json", "--out", tmp_path / "out")
    assert code == 0, err
    entries = json.loads(out)
    frames = [e for e in entries if e["frame"] is not None]
    assert [e["frame"] for e in frames] == [0, 2, 4] and all(len(e["faces"]) == 1 for e in frames)
    assert entries[-1]["video"] == {"frames": 5, "analysed": 3, "with_faces": 3}
    capture = cv2.VideoCapture(entries[-1]["annotated"])
    count = 0
    while capture.read()[0]:
        count += 1
    assert count == 5


# ------------------------------------------------------------------------------------ explain


def test_explain_writes_grad_cam_and_tsne(run, tmp_path, capsys):
    run_dir, _ = run
    code, out, err = run_cli(capsys, "explain", "--run", run_dir, "--out", tmp_path / "figures", "--samples", "6", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["layer"] == "main_bn" and summary["samples"] == 6 and summary["tsne_samples"] == 24
    assert summary["features"] == "the input of layer 'main_cosine'" and summary["feature_dim"] == 7
    for name in ("grad_cam.png", "tsne.png"):
        assert (tmp_path / "figures" / name).read_bytes()[:8] == PNG


def test_grad_cam_matches_a_direct_computation(run):
    import keras
    import tensorflow as tf

    from fer_keras.explain import grad_cam, pick_layer
    from fer_keras.loading import load_run

    model, _ = load_run(run[0])
    x = np.random.default_rng(1).uniform(0, 1, (5, 28, 28, 1)).astype(np.float32)
    path, layer = pick_layer(model)
    cams, classes, probabilities = grad_cam(model, x, layer)
    probe = keras.Model(model.input, [layer.output, model.output["probabilities"]])
    with tf.GradientTape() as tape:
        feature_map, probs = probe(x, training=False)
        score = tf.reduce_sum(tf.math.log(tf.gather(probs, classes, batch_dims=1)))  # AMDCNN: no single softmax
    gradients = tape.gradient(score, feature_map)
    expected = tf.nn.relu(tf.reduce_sum(tf.reduce_mean(gradients, axis=(1, 2), keepdims=True) * feature_map, -1)).numpy()
    expected /= np.maximum(expected.reshape(5, -1).max(axis=1), 1e-12)[:, None, None]
    assert cams.shape == expected.shape == (5, *layer.output.shape[1:3])
    np.testing.assert_allclose(cams, expected, atol=1e-4)
    np.testing.assert_array_equal(classes, probs.numpy().argmax(axis=1))
    np.testing.assert_allclose(probabilities, probs.numpy(), atol=1e-6)


def test_grad_cam_reaches_into_mrcars_face_branch():
    from fer_keras.explain import grad_cam, penultimate_features, pick_layer
    from fer_keras.models import build_model

    model = build_model("mrcar", input_shape=(44, 44, 1), share_weights=True)
    path, layer = pick_layer(model)
    assert path.startswith("caresnet/")
    rng = np.random.default_rng(0)
    x = {region: rng.uniform(0, 1, (2, 44, 44, 1)).astype(np.float32) for region in ("face", "eyes", "mouth")}
    cams, classes, _ = grad_cam(model, x, layer)
    assert cams.shape == (2, 3, 3) and np.isfinite(cams).all() and cams.min() >= 0 and cams.max() <= 1
    features, source = penultimate_features(model, x)
    assert features.shape == (2, 512) and "cosines" in source


# ------------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize("argv, named", [
    (["evaluate", "--run", "{tmp}/no_such_run"], "--run"),
    (["evaluate", "--run", "{run}", "--split", "nope"], "--split"),
    (["evaluate", "--run", "{run}", "--dataset", "nosuch"], "--dataset"),
    (["evaluate", "--run", "{run}", "--data", "{tmp}/missing"], "--data"),
    (["evaluate", "--model", "amdcnn"], "--weights"),
    (["evaluate", "--model", "amdcnn", "--weights", "{tmp}/missing.weights.h5"], "--weights"),
    (["evaluate", "--run", "{run}", "--model", "amdcnn", "--weights", "w.h5"], "--run"),
    (["predict", "{tmp}/photo.png", "--pretrained", "nosuch"], "--pretrained"),
    (["evaluate"], "--pretrained"),
    (["evaluate", "--run", "{run}", "--pretrained", "amdcnn_fer2013"], "--pretrained"),
    (["predict", "{tmp}/missing.png", "--run", "{run}"], "INPUT"),
    (["explain", "--run", "{run}", "--out", "{tmp}/x", "--layer", "nosuch"], "--layer"),
    (["train", "--resume", "{run}", "--set", "optimizer.learning_rate=1"], "optimizer.learning_rate"),
    (["train", "--resume", "{run}", "--epochs", "9"], "--epochs"),
])
def test_bad_arguments_exit_2_naming_them(run, tmp_path, capsys, argv, named):
    (tmp_path / "photo.png").write_bytes(b"")
    argv = [a.format(tmp=tmp_path, run=run[0]) for a in argv]
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and named in err and out == "", err


@pytest.mark.parametrize("argv, named", [
    (["evaluate", "--run", "r", "--tta", "bogus"], "--tta"),
    (["explain", "--run", "r"], "--out"),
    (["predict", "x.png", "--run", "r", "--every", "0"], "--every"),
])
def test_argparse_errors_exit_2_naming_them(capsys, argv, named):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2 and named in capsys.readouterr().err
