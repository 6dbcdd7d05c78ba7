"""Datasets whose images are portraits (JAFFE): the reader finds, aligns and crops each face, so
training (`load_splits`, k-fold subsets) and evaluation (`load_eval_record`) see face crops, as
`fer-keras predict` does. The landmark detector is replaced by one returning known landmarks (fast,
deterministic, no TensorFlow); one test runs MTCNN on the real JAFFE and is skipped without it."""

import os
from pathlib import Path

import numpy as np
import pytest

from fer_keras.data import faces, load_dataset
from fer_keras.data.faces import TEMPLATE, FaceLandmarks, align_face
from fer_keras.data.jaffe import FACE_SIDE
from fer_keras.data.shared import shared_data

REAL_JAFFE = Path(os.environ.get("JAFFE_DIR", shared_data("jaffe")))
CODES = ("AN", "DI", "FE", "HA", "NE", "SA", "SU")  # labels 0, 1, 2, 3, 6, 4, 5
LABEL_OF = {"AN": 0, "DI": 1, "FE": 2, "HA": 3, "SA": 4, "SU": 5, "NE": 6}
SIZE = 96  # the portraits' side
MISSED = 3  # the image where the fake detector finds no face


def portrait_landmarks(i):
    """Image i's face: the template at 40..56 pixels, shifted around the 96x96 portrait (float32,
    as FaceLandmarks and the cache hold them)."""
    scale = 40 + 2 * (i % 9)
    return (TEMPLATE.astype(np.float64) * scale + np.array([18 + i % 5, 12 + (i * 3) % 7])).astype(np.float32)


def dots(points, size=SIZE, sigma=1.2):
    """uint8 (size, size) image with a Gaussian dot on each landmark over a faint gradient."""
    y, x = np.mgrid[:size, :size]
    image = 20 + 10 * x / size
    for px, py in points:
        image = image + 200 * np.exp(-((x - px) ** 2 + (y - py) ** 2) / (2 * sigma**2))
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def write_portraits(root):
    """A JAFFE-named folder: three subjects (KA, KM, NA) x seven expressions, 96x96 grayscale TIFFs with
    dots on each face's landmarks; returns {file name: landmarks} in the reader's (sorted) order."""
    import cv2

    root.mkdir(parents=True, exist_ok=True)
    names = sorted(f"{subject}.{code}1.{10 * k + j}.tiff" for k, subject in enumerate(("KA", "KM", "NA"))
                   for j, code in enumerate(CODES))
    truth = {}
    for i, name in enumerate(names):
        truth[name] = portrait_landmarks(i)
        assert cv2.imwrite(str(root / name), dots(truth[name]))
    (root / "README").write_text("not an image")
    return truth


@pytest.fixture
def fake_detector(monkeypatch, tmp_path):
    """Replaces MTCNN: each image's landmarks found from its dots' known positions, none for image
    MISSED (then the template over the image, as detect_landmarks gives); records each call's size."""
    monkeypatch.setenv("FER_KERAS_CACHE", str(tmp_path / "cache"))
    calls = []

    def detect(images, template=None, progress=None, **options):
        n = len(images)
        calls.append(n)
        sizes = np.array([image.shape[:2] for image in images], np.int64)
        landmarks = np.stack([portrait_landmarks(i) for i in range(n)]).astype(np.float32)
        found = np.ones(n, bool)
        if n > MISSED:
            found[MISSED] = False
            landmarks[MISSED] = TEMPLATE * sizes[MISSED][::-1]
        boxes = np.tile(np.array([0, 0, SIZE, SIZE], np.float32), (n, 1))
        return FaceLandmarks(boxes, landmarks, found.astype(np.float32), found, sizes)

    monkeypatch.setattr(faces, "detect_landmarks", detect)
    return calls


def brightest_points(image, count=5):
    """(count, 2) (x, y) sub-pixel centres of the `count` brightest local maxima of a 2-D image."""
    padded = np.pad(image.astype(np.float64), 1, mode="edge")
    centre = padded[1:-1, 1:-1]
    is_max = np.ones(image.shape, bool)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                is_max &= centre >= padded[1 + dy : padded.shape[0] - 1 + dy, 1 + dx : padded.shape[1] - 1 + dx]
    ys, xs = np.nonzero(is_max)
    order = np.argsort(-centre[ys, xs])[:count]
    points = []
    for y, x in zip(ys[order], xs[order]):
        window = centre[max(0, y - 1) : y + 2, max(0, x - 1) : x + 2] - centre.min()
        gy, gx = np.mgrid[max(0, y - 1) : y + 2, max(0, x - 1) : x + 2]
        points.append([(window * gx).sum() / window.sum(), (window * gy).sum() / window.sum()])
    return np.asarray(points)


@pytest.mark.backend_neutral
def test_jaffe_faces_are_found_aligned_and_cropped(tmp_path, fake_detector, capsys):
    truth = write_portraits(tmp_path / "jaffe")
    record = load_dataset("jaffe", tmp_path / "jaffe")
    names = list(truth)
    assert FACE_SIDE == 48 and record.images.shape == (21, 48, 48, 1) and record.images.dtype == np.uint8
    # labels and subjects stay with their files
    assert record.labels.tolist() == [LABEL_OF[name.split(".")[1][:2]] for name in names]
    assert record.subjects.tolist() == [name.split(".")[0] for name in names]
    assert [Path(p).name for p in record.extra["paths"]] == names
    assert record.extra["face_found"].tolist() == [i != MISSED for i in range(21)]
    faces_report = record.extra["faces"]
    assert {k: faces_report[k] for k in ("detector", "images", "found", "fallback", "side", "rotation")} == {
        "detector": "mtcnn", "images": 21, "found": 20, "fallback": 1, "side": 48, "rotation": False}
    assert "jaffe: MTCNN found a face in 20 of 21 images; 1 without a face" in capsys.readouterr().err
    # each found face's landmarks land on the template at 48 pixels (predict's geometry: align_face upright)
    for i, name in enumerate(names):
        if i == MISSED:
            continue
        crop = record.images[i, :, :, 0]
        expected = align_face(dots(truth[name])[..., None], truth[name], 48, rotation=False)[..., 0]
        np.testing.assert_array_equal(crop, expected)
        found = brightest_points(crop)
        target = TEMPLATE * 48
        distances = np.linalg.norm(found[:, None] - target[None], axis=-1).min(axis=0)
        assert distances.max() < 0.6, (name, found, target)
    # the image without a face: cropped where the others' faces sit (their landmarks' median, as fractions)
    fractions = np.stack([truth[n] for i, n in enumerate(names) if i != MISSED]).astype(np.float64) / SIZE
    typical = np.median(fractions, axis=0) * SIZE
    expected = align_face(dots(truth[names[MISSED]])[..., None], typical, 48, rotation=False)
    np.testing.assert_array_equal(record.images[MISSED], expected)


@pytest.mark.backend_neutral
def test_landmarks_are_cached_beside_the_folder_and_reused(tmp_path, fake_detector):
    write_portraits(tmp_path / "jaffe")
    first = load_dataset("jaffe", tmp_path / "jaffe")
    cache_file = Path(first.extra["faces"]["cache_file"])
    assert cache_file.parent == tmp_path and cache_file.name.startswith(".jaffe.landmarks.") and fake_detector == [21]
    again = load_dataset("jaffe", str(tmp_path / "jaffe") + "/")  # another spelling of the same folder
    assert fake_detector == [21] and again.extra["faces"]["cache_file"] == str(cache_file)
    np.testing.assert_array_equal(again.images, first.images)
    load_dataset("jaffe", tmp_path / "jaffe", channels=3)  # other images: their own entry
    assert fake_detector == [21, 21]


@pytest.mark.backend_neutral
def test_read_only_data_folder_caches_under_the_cache_root(tmp_path, fake_detector):
    shared = tmp_path / "shared"
    write_portraits(shared / "jaffe")
    (shared / "jaffe").chmod(0o555)
    shared.chmod(0o555)
    try:
        record = load_dataset("jaffe", shared / "jaffe")
        again = load_dataset("jaffe", shared / "jaffe")
    finally:
        shared.chmod(0o755)
        (shared / "jaffe").chmod(0o755)
    assert Path(record.extra["faces"]["cache_file"]).parent == tmp_path / "cache"
    assert not list(shared.glob(".*")) and not list((shared / "jaffe").glob(".*"))
    assert fake_detector == [21] and again.extra["faces"]["found"] == 20


@pytest.mark.backend_neutral
def test_face_crop_options(tmp_path, fake_detector):
    folder = tmp_path / "jaffe"
    truth = write_portraits(folder)
    whole = load_dataset("jaffe", folder, face_crop=False)
    assert whole.images.shape == (21, SIZE, SIZE, 1) and "faces" not in whole.extra and fake_detector == []
    assert load_dataset("jaffe", folder, face_crop=False, image_size=(16, 16)).images.shape == (21, 16, 16, 1)
    assert load_dataset("jaffe", folder, face_size=64).images.shape == (21, 64, 64, 1)
    # image_size: the crops' size (cropped at that side directly, not cropped at 48 and resized)
    direct = load_dataset("jaffe", folder, image_size=(32, 32))
    assert direct.images.shape == (21, 32, 32, 1) and direct.extra["faces"]["side"] == 32
    name = next(iter(truth))
    np.testing.assert_array_equal(direct.images[0], align_face(dots(truth[name])[..., None], truth[name], 32, rotation=False))
    assert load_dataset("jaffe", folder, image_size=(40, 32)).images.shape == (21, 40, 32, 1)
    rgb = load_dataset("jaffe", folder, channels=3)
    assert rgb.images.shape == (21, 48, 48, 3)
    assert fake_detector == [21, 21]  # grey at every size shares one detection; RGB has its own


@pytest.mark.backend_neutral
def test_training_evaluation_and_folds_read_the_crops(tmp_path, fake_detector):
    from fer_keras.data.splits import load_splits
    from fer_keras.evaluation import load_eval_record
    from fer_keras.recipes import Recipe, load_recipe

    folder = tmp_path / "jaffe"
    names = list(write_portraits(folder))
    recipe = Recipe.of(load_recipe("mrcar_jaffe", overrides=["data.folds={k: 3, protocol: subject, fold: 0}", "data.expand=null"]))
    train, validation, test, protocol = load_splits(recipe.data, str(folder))  # what `fer-keras train` reads
    assert "subject-independent 3-fold" in protocol
    for part in (train, validation, test):
        assert part.images.shape[1:] == (48, 48, 1) and len(part.extra["face_found"]) == len(part)
        files = [Path(p).name for p in part.extra["paths"]]
        assert part.subjects.tolist() == [f.split(".")[0] for f in files]
        assert part.labels.tolist() == [LABEL_OF[f.split(".")[1][:2]] for f in files]
        assert part.extra["face_found"].tolist() == [names.index(f) != MISSED for f in files]
    assert [len(set(part.subjects)) for part in (train, validation, test)] == [1, 1, 1]
    assert len(train) + len(validation) + len(test) == 21 and len({*train.subjects, *validation.subjects, *test.subjects}) == 3
    # `fer-keras evaluate`: the run's own dataset (its held-out fold) and another model's (all of it)
    record, description = load_eval_record(recipe, data=str(folder))
    assert record.images.shape[1:] == (48, 48, 1) and description.startswith("fold0-test")
    record, description = load_eval_record(load_recipe("amdcnn_fer2013"), dataset="jaffe", data=str(folder))
    assert record.images.shape == (21, 48, 48, 1) and description == "all" and record.extra["faces"]["found"] == 20
    assert fake_detector == [21]  # one detection, then the cache


@pytest.mark.backend_neutral
def test_no_face_anywhere_falls_back_to_the_whole_image(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_KERAS_CACHE", str(tmp_path / "cache"))

    def nothing(images, template=None, progress=None, **options):
        n = len(images)
        sizes = np.array([image.shape[:2] for image in images], np.int64)
        return FaceLandmarks(np.zeros((n, 4), np.float32), (TEMPLATE[None] * sizes[:, None, ::-1]).astype(np.float32),
                             np.zeros(n, np.float32), np.zeros(n, bool), sizes)

    monkeypatch.setattr(faces, "detect_landmarks", nothing)
    write_portraits(tmp_path / "jaffe")
    record = load_dataset("jaffe", tmp_path / "jaffe")
    assert record.extra["faces"]["found"] == 0 and record.extra["faces"]["fallback"] == 21 and len(record) == 21
    whole = load_dataset("jaffe", tmp_path / "jaffe", face_crop=False)
    np.testing.assert_array_equal(record.images[0], align_face(whole.images[0], TEMPLATE * SIZE, 48, rotation=False))


@pytest.mark.backend_neutral
def test_face_sides_of_the_lab_datasets():
    import keras

    from fer_keras.classify import face_rotation, face_side
    from fer_keras.data.datasets import get_dataset_info
    from fer_keras.recipes import load_recipe

    def on(dataset, *overrides):  # the FER2013 recipe (no resize, no reader options) on another dataset
        return load_recipe("amdcnn_fer2013", overrides=[f"data.dataset={dataset}", *overrides])

    assert get_dataset_info("jaffe").face_side == FACE_SIDE == 48 and get_dataset_info("ckplus").face_side == 48
    inputs = keras.Input((44, 44, 1))
    model = keras.Model(inputs, keras.layers.Dense(7)(keras.layers.Flatten()(inputs)))
    assert face_side(on("jaffe"), model) == 48
    assert face_side(on("jaffe", "data.options.face_size=64"), model) == 64
    assert face_side(on("ckplus"), model) == 48
    # The registry's facts reach photos: RAF-DB's 100x100 faces come de-rotated, FER2013's crops do not.
    assert face_side(on("rafdb"), model) == 100 and face_rotation(on("rafdb"), model)
    assert face_side(on("sfew"), model) == 44  # no fixed face size: the input's
    assert not face_rotation(on("fer2013"), model) and not face_rotation(on("jaffe"), model)


@pytest.mark.slow
def test_real_jaffe_all_faces_found(tmp_path, monkeypatch):
    """MTCNN on the real JAFFE (../shared/data/jaffe or $JAFFE_DIR; skipped without it): every one
    of the 213 portraits has its face found, and the crops are 48x48."""
    if not REAL_JAFFE.is_dir():
        pytest.skip(f"real JAFFE not found at {REAL_JAFFE} (set JAFFE_DIR)")
    pytest.importorskip("mtcnn")
    monkeypatch.setenv("FER_KERAS_CACHE", str(tmp_path / "cache"))
    record = load_dataset("jaffe", REAL_JAFFE)
    assert record.images.shape == (213, 48, 48, 1) and len(record.labels) == len(record.subjects) == 213
    assert record.extra["faces"]["found"] == 213 and record.extra["face_found"].all()
    assert sorted(set(record.subjects)) == ["KA", "KL", "KM", "KR", "MK", "NA", "NM", "TM", "UY", "YM"]
    assert np.bincount(record.labels, minlength=7).tolist() == [30, 29, 32, 31, 31, 30, 30]
