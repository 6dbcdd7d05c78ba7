"""FERPlus, RAF-DB, CK+, JAFFE, SFEW and ExpW readers on tiny files written here in each release's
real format: counts, the canonical label mapping, splits, subjects, dropped counts, bad input; the
dataset registry (fer_keras.data.datasets) they are entered in."""

import inspect

import numpy as np
import pytest

from fer_keras.data import CLASS_NAMES, DATASETS, READERS, DatasetError, get_dataset_info, list_datasets, load_dataset
from fer_keras.data import expw, ferplus
from fer_keras.errors import ArgumentError


def write_image(path, rng, size=(48, 48), channels=1, color=None):
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (*size, 3) if channels == 3 else size
    image = np.full(shape, color, np.uint8) if color is not None else rng.integers(0, 256, shape, dtype=np.uint8)
    assert cv2.imwrite(str(path), image)
    return path


# ---------------------------------------------------------------- FERPlus

VOTES = "neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF"
FERPLUS_ROWS = [  # (Usage, Image name, votes in the header's order)
    ("Training", "fer0000000.png", "0,8,0,0,1,1,0,0,0,0"),  # happiness
    ("Training", "fer0000001.png", "1,0,0,0,0,0,0,9,0,0"),  # contempt
    ("Training", "fer0000002.png", "2,0,0,0,0,0,0,0,8,0"),  # unknown
    ("PublicTest", "fer0000003.png", "0,0,0,0,0,0,0,0,0,10"),  # NF: not a face
    ("PublicTest", "fer0000004.png", "4,0,0,4,2,0,0,0,0,0"),  # 4 of 10: no majority
    ("PublicTest", "", "0,0,0,0,0,0,0,0,0,10"),  # removed by FERPlus
    ("PrivateTest", "fer0000006.png", "1,1,1,1,4,1,1,0,0,0"),  # anger: 4 of 4 once single votes go
    ("PrivateTest", "fer0000007.png", "0,0,6,0,0,0,4,0,0,0"),  # surprise
]


def write_ferplus(folder, rng, rows=FERPLUS_ROWS, fer_rows=None):
    folder.mkdir(parents=True, exist_ok=True)
    fer_rows = fer_rows if fer_rows is not None else len(rows)
    usages = [r[0] for r in FERPLUS_ROWS] + ["Training"] * (fer_rows - len(FERPLUS_ROWS))  # fer2013.csv's own
    pixels = rng.integers(0, 256, (fer_rows, 2304))
    (folder / "fer2013.csv").write_text(
        "emotion,pixels,Usage\n" + "".join(f"0,{' '.join(map(str, p))},{u}\n" for p, u in zip(pixels, usages))
    )
    lines = "".join(f"{u},{n},{v}\n" for u, n, v in rows)
    (folder / "fer2013new.csv").write_text(f"Usage,Image name,{VOTES}\n{lines}")
    return pixels.reshape(-1, 48, 48).astype(np.uint8)


def test_ferplus_majority_vote_and_mapping(tmp_path, rng):
    pixels = write_ferplus(tmp_path, rng)
    # FERPlus's emotion columns onto the canonical order (angry 0 ... neutral 6, contempt 7).
    assert ferplus.CANONICAL.tolist() == [6, 3, 5, 4, 0, 1, 2, 7]
    record = load_dataset("ferplus", tmp_path)
    assert record.class_names == CLASS_NAMES and record.images.shape == (3, 48, 48, 1)
    assert record.labels.tolist() == [3, 0, 5]  # happy, angry, surprise
    assert record.extra["rows"].tolist() == [0, 6, 7] and record.extra["image_names"][1] == "fer0000006.png"
    np.testing.assert_array_equal(record.images[1, :, :, 0], pixels[6])
    assert record.extra["dropped"] == {"removed": 1, "no_majority": 1, "unknown": 1, "not_face": 1, "contempt": 1}
    assert record.extra["usages"].tolist() == ["Training", "PrivateTest", "PrivateTest"]

    eight = load_dataset("ferplus", tmp_path, classes=8, soft_labels=True)
    assert eight.class_names[7] == "contempt" and eight.labels.tolist() == [3, 7, 0, 5]
    assert "contempt" not in eight.extra["dropped"]
    soft = eight.extra["soft_labels"]
    assert soft.shape == (4, 8) and soft.dtype == np.float32
    np.testing.assert_allclose(soft.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(soft[1], [0, 0, 0, 0, 0, 0, 0.1, 0.9])  # neutral 1, contempt 9
    np.testing.assert_allclose(soft[3], [0, 0, 0.4, 0, 0, 0.6, 0, 0])  # fear 4, surprise 6

    new, fer = tmp_path / "fer2013new.csv", tmp_path / "fer2013.csv"  # the file paths, not the folder
    private = load_dataset("ferplus", new, split="PrivateTest", fer2013=fer, soft_labels=True)
    assert private.labels.tolist() == [0, 5] and private.split == "PrivateTest"
    np.testing.assert_allclose(private.extra["soft_labels"][0], [0.4, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])  # 7 columns
    assert sum(private.extra["dropped"].values()) == 0
    training = load_dataset("ferplus", tmp_path, split="Training")
    assert training.labels.tolist() == [3] and training.extra["dropped"]["unknown"] == 1


def test_majority_vote_rule():
    votes = np.array([
        [5, 5, 0, 0, 0, 0, 0, 0, 0, 0],  # a tie: no majority
        [6, 4, 0, 0, 0, 0, 0, 0, 0, 0],  # 6 of 10
        [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],  # all single votes: nothing left
        [0, 0, 0, 0, 0, 0, 0, 0, 3, 2],  # unknown
    ])
    assert ferplus.majority_vote(votes).tolist() == [-1, 0, -1, 8]


@pytest.mark.parametrize(
    "row, message",
    [
        (("Training", "fer0000001.png", "1,0,0,0,0,0,0,-9,0,0"), "row 3: votes .* must be non-negative integers"),
        (("Training", "fer0000001.png", "1,0,0,x,0,0,0,9,0,0"), "row 3: votes .* must be non-negative integers"),
        (("Training", "fer0000001.png", "1,0,0,0.5,0,0,0,9,0,0"), "row 3: votes .* must be non-negative integers"),
        (("PublicTest", "fer0000001.png", "1,0,0,0,0,0,0,9,0,0"), "row 3: Usage differs from fer2013.csv's"),
    ],
)
def test_ferplus_bad_rows(tmp_path, rng, row, message):
    rows = FERPLUS_ROWS[:1] + [row] + FERPLUS_ROWS[2:]
    write_ferplus(tmp_path, rng, rows)
    with pytest.raises(DatasetError, match=f"fer2013new.csv: {message}"):
        load_dataset("ferplus", tmp_path)
    record = load_dataset("ferplus", tmp_path, skip_bad=True)
    assert (len(record), record.skipped) == (3, 1)


def test_ferplus_bad_files(tmp_path, rng):
    write_ferplus(tmp_path / "short", rng, fer_rows=9)
    with pytest.raises(DatasetError, match=r"fer2013new.csv: 8 data rows but .*fer2013.csv has 9; .*same order"):
        load_dataset("ferplus", tmp_path / "short")
    write_ferplus(tmp_path / "alone", rng)
    (tmp_path / "alone" / "fer2013.csv").unlink()
    with pytest.raises(DatasetError, match="pass fer2013=<path of fer2013.csv>"):
        load_dataset("ferplus", tmp_path / "alone")
    with pytest.raises(DatasetError, match="no such file .*fer2013new.csv"):
        load_dataset("ferplus", tmp_path / "nothing")
    write_ferplus(tmp_path / "header", rng)
    (tmp_path / "header" / "fer2013new.csv").write_text("Usage,Image name,neutral\nTraining,a.png,10\n")
    with pytest.raises(DatasetError, match=r"missing column\(s\) \['happiness'"):
        load_dataset("ferplus", tmp_path / "header")
    with pytest.raises(DatasetError, match="classes must be 7 or 8"):
        load_dataset("ferplus", tmp_path / "short", classes=6)


# ---------------------------------------------------------------- RAF-DB

RAF_LINES = ["train_00001.jpg 1", "train_00002.jpg 6", "train_00003.jpg 7", "test_0001.jpg 4", "test_0002.jpg 2"]


def write_rafdb(root, rng, lines=RAF_LINES):
    for i, line in enumerate(RAF_LINES):
        stem = line.split()[0][:-4]
        write_image(root / "Image" / "aligned" / f"{stem}_aligned.jpg", rng, (100, 100), 3, color=(255, 0, 0))
        write_image(root / "Image" / "original" / f"{stem}.jpg", rng, (60 + 10 * i, 80), 3)
    (root / "EmoLabel").mkdir(parents=True, exist_ok=True)
    (root / "EmoLabel" / "list_patition_label.txt").write_text("\n".join(lines) + "\n")


def test_rafdb_labels_splits_and_images(tmp_path, rng):
    write_rafdb(tmp_path, rng)
    record = load_dataset("rafdb", tmp_path)
    assert record.images.shape == (5, 100, 100, 3) and record.class_names == CLASS_NAMES
    # RAF 1 surprise -> 5, 6 anger -> 0, 7 neutral -> 6, 4 happiness -> 3, 2 fear -> 2
    assert record.labels.tolist() == [5, 0, 6, 3, 2]
    assert record.extra["splits"].tolist() == ["train"] * 3 + ["test"] * 2
    assert record.extra["paths"][0].endswith("Image/aligned/train_00001_aligned.jpg")
    assert np.abs(record.images[0, 50, 50].astype(int) - [0, 0, 255]).max() <= 2  # BGR blue read as RGB
    test = load_dataset("rafdb", tmp_path, split="test")
    assert test.labels.tolist() == [3, 2] and test.split == "test"
    with pytest.raises(DatasetError, match="original images differ in size; pass image_size"):
        load_dataset("rafdb", tmp_path, images="original")
    original = load_dataset("rafdb", tmp_path, images="original", image_size=(64, 64), split="train")
    assert original.images.shape == (3, 64, 64, 3) and original.extra["paths"][2].endswith("original/train_00003.jpg")
    with pytest.raises(DatasetError, match="split must be 'train', 'test' or None"):
        load_dataset("rafdb", tmp_path, split="val")


@pytest.mark.parametrize(
    "line, message",
    [
        ("train_00004.jpg", r"line 4: expected '<train\|test>_<number>.jpg <label 1..7>', found 'train_00004.jpg'"),
        ("val_00004.jpg 3", r"line 4: expected '<train\|test>_<number>.jpg <label 1..7>', found 'val_00004.jpg 3'"),
        ("train_00004.jpg 8", "line 4: label '8' is outside 1..7"),
        ("train_00004.jpg 0", "line 4: label '0' is outside 1..7"),
        ("test_0003.jpg 3", r"line 4: names test_0003.jpg, but .*Image/aligned/test_0003_aligned.jpg does not exist"),
    ],
)
def test_rafdb_bad_lines(tmp_path, rng, line, message):
    write_rafdb(tmp_path, rng, RAF_LINES[:3] + [line] + RAF_LINES[3:])
    with pytest.raises(DatasetError, match=f"list_patition_label.txt: {message}"):
        load_dataset("rafdb", tmp_path)
    record = load_dataset("rafdb", tmp_path, skip_bad=True)
    assert (len(record), record.skipped) == (5, 1)


def test_rafdb_missing_label_file(tmp_path):
    with pytest.raises(DatasetError, match=r"EmoLabel/list_patition_label.txt: no such file"):
        load_dataset("rafdb", tmp_path)


# ---------------------------------------------------------------- CK+


def write_ckplus(root, rng):
    for folder, name in [
        ("anger", "S010_004_00000017.png"),
        ("anger", "S011_001_00000010.png"),
        ("contempt", "S010_002_00000009.png"),
        ("happy", "S052_004_00000031.png"),
        ("sadness", "S130_007_00000014.png"),
    ]:
        write_image(root / folder / name, rng)
    (root / "happy" / "README.txt").write_text("not an image")


def test_ckplus_subjects_and_contempt(tmp_path, rng):
    write_ckplus(tmp_path, rng)
    record = load_dataset("ckplus", tmp_path)
    assert record.images.shape == (4, 48, 48, 1) and record.class_names == CLASS_NAMES
    assert record.labels.tolist() == [0, 0, 3, 4]  # anger -> angry, happy, sadness -> sad
    assert record.subjects.tolist() == ["S010", "S011", "S052", "S130"]
    assert record.extra["dropped"] == {"contempt": 1}
    assert record.extra["paths"][2].endswith("happy/S052_004_00000031.png")
    seven = load_dataset("ckplus", tmp_path, contempt=True, image_size=(24, 24))  # CK+'s seven: no neutral
    assert seven.class_names == ("angry", "disgust", "fear", "happy", "sad", "surprise", "contempt")
    assert seven.labels.tolist() == [0, 0, 6, 3, 4]
    assert seven.subjects.tolist()[2] == "S010" and seven.images.shape == (5, 24, 24, 1)
    assert seven.extra["dropped"] == {}


def test_ckplus_bad_input(tmp_path, rng):
    write_ckplus(tmp_path, rng)
    write_image(tmp_path / "fear" / "frame1.png", rng)
    with pytest.raises(DatasetError, match=r"fear/frame1.png: name is not CK\+'s <subject>_<sequence>_<frame>"):
        load_dataset("ckplus", tmp_path)
    record = load_dataset("ckplus", tmp_path, skip_bad=True)
    assert (len(record), record.skipped) == (4, 1)
    with pytest.raises(DatasetError, match="has no official split"):
        load_dataset("ckplus", tmp_path, split="train")
    write_image(tmp_path / "own" / "smile" / "S010_001_00000001.png", rng)
    with pytest.raises(DatasetError, match="smile: not a CK\\+ emotion folder"):
        load_dataset("ckplus", tmp_path / "own")


# ---------------------------------------------------------------- JAFFE


JAFFE_NAMES = ("KA.AN1.39.tiff", "KA.HA2.30.tiff", "KM.SU1.14.tiff", "YM.NE1.50.tiff", "NA.DI1.214.tiff",
               "UY.FE3.68.tiff", "TM.SA1.181.tiff")


def write_jaffe(root, rng, names=JAFFE_NAMES):
    for name in names:
        write_image(root / name, rng, (32, 32))
    (root / "README").write_text("The JAFFE images ...")
    (root / "jaffe.html").write_text("<html></html>")


def test_jaffe_codes_and_subjects(tmp_path, rng):
    # face_crop=False: the files as they are (the face crops: tests/data/test_face_crop_datasets.py)
    write_jaffe(tmp_path, rng)
    record = load_dataset("jaffe", tmp_path, face_crop=False)
    assert record.images.shape == (7, 32, 32, 1) and record.class_names == CLASS_NAMES
    # sorted file order: KA.AN, KA.HA, KM.SU, NA.DI, TM.SA, UY.FE, YM.NE
    assert record.labels.tolist() == [0, 3, 5, 1, 4, 2, 6]
    assert record.subjects.tolist() == ["KA", "KA", "KM", "NA", "TM", "UY", "YM"]
    assert record.extra["paths"][0].endswith("KA.AN1.39.tiff")
    assert load_dataset("jaffe", tmp_path, face_crop=False, image_size=(16, 16)).images.shape == (7, 16, 16, 1)


@pytest.mark.parametrize(
    "name, message",
    [
        ("KA.XX1.40.tiff", r"KA.XX1.40.tiff: unknown expression code 'XX' \(expected one of AN, DI, FE, HA, NE, SA, SU"),
        ("scan.tiff", r"scan.tiff: name is not JAFFE's <subject>.<code><n>.<number>"),
    ],
)
def test_jaffe_bad_names(tmp_path, rng, name, message):
    write_jaffe(tmp_path, rng, ("KA.AN1.39.tiff", name))
    with pytest.raises(DatasetError, match=message):
        load_dataset("jaffe", tmp_path)
    record = load_dataset("jaffe", tmp_path, skip_bad=True, face_crop=False)
    assert (len(record), record.skipped) == (1, 1)


# ---------------------------------------------------------------- SFEW


def write_sfew(root, rng, val_size=(40, 36)):
    for split, folder, count, size in [("Train", "Angry", 2, (40, 36)), ("Train", "Happy", 1, (40, 36)),
                                       ("Val", "Sad", 1, val_size), ("Val", "Surprise", 1, val_size)]:
        for i in range(count):
            write_image(root / split / folder / f"{folder}_{i:03d}.png", rng, size, 3)


def test_sfew_splits(tmp_path, rng):
    write_sfew(tmp_path, rng)
    for i in range(2):  # EmotiW's Test set: images without labels
        write_image(tmp_path / "Test" / f"test_{i}.png", rng, (40, 36), 3)
    record = load_dataset("sfew", tmp_path)
    assert record.images.shape == (5, 40, 36, 3) and record.class_names == CLASS_NAMES
    assert record.labels.tolist() == [0, 0, 3, 4, 5]
    assert record.extra["splits"].tolist() == ["Train"] * 3 + ["Val"] * 2
    assert record.extra["dropped"] == {"unlabelled_test": 2}
    assert record.extra["paths"][3].endswith("Val/Sad/Sad_000.png")
    train = load_dataset("sfew", tmp_path, split="train")
    assert (len(train), train.split) == (3, "Train")
    assert load_dataset("sfew", tmp_path, split="Val", channels=1).images.shape == (2, 40, 36, 1)
    write_image(tmp_path / "labelled" / "Test" / "Fear" / "f.png", rng, (40, 36), 3)
    write_sfew(tmp_path / "labelled", rng)
    labelled = load_dataset("sfew", tmp_path / "labelled")
    assert labelled.extra["splits"].tolist()[-1] == "Test" and labelled.labels.tolist()[-1] == 2


def test_sfew_bad_input(tmp_path, rng):
    write_sfew(tmp_path, rng, val_size=(50, 50))
    with pytest.raises(DatasetError, match=r"Val's images are \(50, 50\), Train's \(40, 36\); pass image_size"):
        load_dataset("sfew", tmp_path)
    assert load_dataset("sfew", tmp_path, image_size=(32, 32)).images.shape == (5, 32, 32, 3)
    with pytest.raises(DatasetError, match="split must be one of Train, Val, Test or None"):
        load_dataset("sfew", tmp_path, split="Validation")
    with pytest.raises(DatasetError, match="Test: no such folder"):
        load_dataset("sfew", tmp_path, split="test")
    with pytest.raises(DatasetError, match="no Train/, Val/ or Test/ folder"):
        load_dataset("sfew", tmp_path / "Train")


# ---------------------------------------------------------------- ExpW

EXPW_LINES = ["a.jpg 0 10 5 45 40 80.5 3", "a.jpg 1 20 30 70 50 12.0 6", "b.jpg 0 0 0 30 30 55.25 0"]


def write_expw(root, rng, lines=EXPW_LINES):
    write_image(root / "image" / "origin" / "a.jpg", rng, (60, 80), 3)
    write_image(root / "image" / "origin" / "b.jpg", rng, (30, 30), 3)
    (root / "label").mkdir(parents=True, exist_ok=True)
    (root / "label" / "label.lst").write_text("\n".join(lines) + "\n")


def test_expw_faces(tmp_path, rng, monkeypatch):
    import cv2

    write_expw(tmp_path, rng)
    reads = []
    original = expw.read_image
    monkeypatch.setattr(expw, "read_image", lambda *args: reads.append(args[0]) or original(*args))
    record = load_dataset("expw", tmp_path)
    assert len(reads) == 2  # a.jpg holds two faces but is read once
    assert record.images.shape == (3, 100, 100, 3) and record.class_names == CLASS_NAMES
    assert record.labels.tolist() == [3, 6, 0]  # ExpW's 0..6 is the canonical order
    assert record.extra["boxes"].tolist() == [[10, 5, 45, 40], [20, 30, 70, 50], [0, 0, 30, 30]]
    np.testing.assert_allclose(record.extra["confidences"], [80.5, 12.0, 55.25])
    assert record.extra["face_ids"].tolist() == [0, 1, 0] and record.extra["dropped"] == {"low_confidence": 0}
    assert record.extra["paths"][1].endswith("image/origin/a.jpg")
    exact = load_dataset("expw", tmp_path, image_size=(30, 40))  # box 0 is 30 high, 40 wide: no resizing
    source = cv2.cvtColor(cv2.imread(str(tmp_path / "image" / "origin" / "a.jpg")), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(exact.images[0], source[10:40, 5:45])
    confident = load_dataset("expw", tmp_path, min_confidence=50, channels=1)
    assert confident.labels.tolist() == [3, 0] and confident.extra["dropped"] == {"low_confidence": 1}
    assert confident.images.shape == (2, 100, 100, 1)
    with pytest.raises(DatasetError, match="ExpW has no official split"):
        load_dataset("expw", tmp_path, split="train")
    with pytest.raises(DatasetError, match="pass image_size"):
        load_dataset("expw", tmp_path, image_size=None)


@pytest.mark.parametrize(
    "line, message",
    [
        ("b.jpg 1 0 0 30 30 55.0", "line 4: expected 8 fields"),
        ("b.jpg 1 0 0 30 30 high 2", "line 4: expected .* with integer id, box and label"),
        ("b.jpg 1 0 0 30 30 55.0 7", "line 4: expression_label 7 is outside 0..6"),
        ("b.jpg 1 20 0 30 10 55.0 2", "line 4: face box top=20 left=0 right=30 bottom=10 is empty"),
        ("b.jpg 1 0 0 31 30 55.0 2", r"line 4: face box .* lies outside the 30x30 \(width x height\) image .*b.jpg"),
        ("c.jpg 0 0 0 30 30 55.0 2", r"line 4: names image c.jpg, but .*image/origin/c.jpg does not exist"),
    ],
)
def test_expw_bad_lines(tmp_path, rng, line, message):
    write_expw(tmp_path, rng, EXPW_LINES + [line])
    with pytest.raises(DatasetError, match=f"label.lst: {message}"):
        load_dataset("expw", tmp_path)
    record = load_dataset("expw", tmp_path, skip_bad=True)
    assert (len(record), record.skipped) == (3, 1)


def test_expw_missing_label_file(tmp_path):
    with pytest.raises(DatasetError, match=r"label/label.lst: no such file"):
        load_dataset("expw", tmp_path)


# -- the dataset registry (fer_keras.data.datasets) ----------------------------------------------------


@pytest.mark.parametrize("name", list_datasets())
def test_every_registered_dataset_has_its_reader_and_consistent_facts(name):
    """Each entry's reader is `load_<name>(path, split=None, ..., skip_bad=False)` and its facts agree
    with the reader's defaults; `READERS` is the registry's readers."""
    info = get_dataset_info(name)
    assert info.name == name and READERS[name] is info.reader and info.reader.__name__ == f"load_{name}"
    parameters = inspect.signature(info.reader).parameters
    assert list(parameters)[:2] == ["path", "split"] and parameters["split"].default is None
    assert parameters["skip_bad"].default is False
    assert info.title and set(info.splits) <= {"train", "validation", "test"}
    if info.standard_splits is not None:
        assert info.standard_splits == (info.splits["test"], info.splits["validation"])
    assert info.face_side is None or info.face_side > 0
    size = parameters["image_size"].default if "image_size" in parameters else None
    if size is not None:  # a reader that resizes by default delivers faces of that side (ExpW)
        assert info.face_side == max(size)
    if info.face_crop:  # a reader that crops portraits' faces does so by default (JAFFE)
        assert parameters["face_crop"].default is True
    assert info.missing_split is None or callable(info.missing_split)


def test_the_dataset_registry_facts_and_errors():
    from fer_keras.data import fer2013, jaffe

    assert list(READERS) == list(DATASETS) and sorted(READERS) == list_datasets()
    assert get_dataset_info("fer2013").face_side == fer2013.SIDE and get_dataset_info("jaffe").face_side == jaffe.FACE_SIDE
    assert set(get_dataset_info("fer2013").splits.values()) == set(fer2013.USAGES)
    assert [n for n in DATASETS if DATASETS[n].derotated] == ["rafdb"]
    assert [n for n in DATASETS if DATASETS[n].standard_splits] == ["ferplus"]
    assert get_dataset_info("ferplus").standard_splits == ("PrivateTest", "PublicTest")
    assert sorted(n for n in DATASETS if DATASETS[n].has_subjects) == ["ckplus", "jaffe"]
    with pytest.raises(ArgumentError, match=r"dataset='affectnet': unknown dataset; available: ckplus, expw, fer2013"):
        get_dataset_info("affectnet")
    with pytest.raises(ValueError, match="Unknown dataset 'affectnet'; available: ckplus, expw"):
        load_dataset("affectnet", "x")
