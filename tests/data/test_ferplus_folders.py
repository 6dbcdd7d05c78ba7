"""FERPlus in the layouts users have (issue 32, item 1): Microsoft's folder release
(FER2013Train/, FER2013Valid/, FER2013Test/ with PNGs and label.csv) and fer2013new.csv with
fer2013.csv; split aliases; Microsoft's majority and probability rules on hand-computed rows; 7 or
8 classes; dropped rows counted; one-line errors naming file and row; label sampling in tf.data and
the PyDataset twin; the default split of `evaluate`; the real release when it is there."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from fer_keras.data import DatasetError, DatasetRecord, PipelineConfig, load_dataset, make_dataset
from fer_keras.data import ferplus
from fer_keras.data.pipeline import label_cdf, sample_labels
from fer_keras.data.shared import shared_data

VOTES = "neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF"
FULL = "(0, 0, 48, 48)"
# Votes in FERPlus's column order: neutral, happiness, surprise, sadness, anger, disgust, fear,
# contempt, unknown, NF. Canonical labels: angry 0, disgust 1, fear 2, happy 3, sad 4, surprise 5,
# neutral 6, contempt 7. Each comment: majority rule | probability rule (single votes discarded first).
TRAIN = [
    ("fer0000000.png", "0,8,0,0,1,1,0,0,0,0"),  # happy | happy
    ("fer0000001.png", "1,0,0,0,0,0,0,9,0,0"),  # contempt | contempt
    ("fer0000002.png", "2,0,0,0,0,0,0,0,8,0"),  # unknown | unknown (alone on top, 8 of 10)
    ("fer0000003.png", "0,0,0,0,0,0,0,0,0,10"),  # NF | NF
    ("fer0000004.png", "4,0,0,4,2,0,0,0,0,0"),  # no majority (4 of 10) | neutral 4 + sad 4 tie: 8 >= 7.5
    ("", "0,0,0,0,0,0,0,0,0,10"),  # removed by FERPlus (empty name)
    ("fer0000006.png", "1,1,1,1,4,1,1,0,0,0"),  # angry: 4 of 4 | angry 1.0
    ("fer0000007.png", "0,0,6,0,0,0,4,0,0,0"),  # surprise 6 of 10 | surprise .6, fear .4
    ("fer0000008.png", "3,3,2,2,0,0,0,0,0,0"),  # no majority | 3,3 then 2,2: four tops -> ambiguous
    ("fer0000009.png", "4,0,0,0,0,0,0,0,3,3"),  # no majority | neutral 4, then unknown: 4 <= half -> ambiguous
    ("fer0000010.png", "0,3,0,0,0,0,0,0,4,3"),  # no majority | unknown on top -> unknown
    ("fer0000011.png", "0,5,0,0,0,0,0,3,2,0"),  # no majority | happy .625, contempt .375
    ("fer0000012.png", "0,3,0,0,0,0,0,5,2,0"),  # no majority | contempt .625, happy .375
    ("fer0000013.png", "3,3,3,0,0,0,0,0,1,0"),  # no majority (3 of 9) | three tied tops, 1/3 each
    ("fer0000014.png", "6,0,0,0,0,0,0,0,2,2"),  # neutral 6 of 10 | neutral, unknown after it left out
]
VALID = [
    ("fer0000100.png", "4,0,0,4,2,0,0,0,0,0"),  # no majority, whatever the label mode
    ("fer0000101.png", "0,0,6,0,0,0,4,0,0,0"),  # surprise
    ("fer0000102.png", "0,0,0,10,0,0,0,0,0,0"),  # sad
]
TEST = [("fer0000200.png", "0,8,0,0,1,1,0,0,0,0")]  # happy
SPLITS = {"FER2013Train": TRAIN, "FER2013Valid": VALID, "FER2013Test": TEST}
USAGE = {"FER2013Train": "Training", "FER2013Valid": "PublicTest", "FER2013Test": "PrivateTest"}


def write_png(path, image):
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image)


def write_label_csv(folder, rows, boxes=None):
    folder.mkdir(parents=True, exist_ok=True)
    boxes = boxes or {}
    lines = "".join(f'{name},"{boxes.get(name, FULL)}",{votes}\n' for name, votes in rows)
    (folder / "label.csv").write_text(lines)


def write_release(root, rng, splits=None, test=True):
    """Microsoft's folder release of `splits` (folder -> rows) under `root`; {name: image}."""
    splits = dict(SPLITS if splits is None else splits)
    if not test:
        splits.pop("FER2013Test", None)
    images = {}
    for folder, rows in splits.items():
        write_label_csv(root / folder, rows)
        for name, _ in rows:
            if name:
                images[name] = rng.integers(0, 256, (48, 48), dtype=np.uint8)
                write_png(root / folder / name, images[name])
    return images


def write_csv_form(root, images):
    """The same data as fer2013new.csv + fer2013.csv (a removed row gets random pixels)."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    new, fer = [f"Usage,Image name,{VOTES}\n"], ["emotion,pixels,Usage\n"]
    for folder, rows in SPLITS.items():
        for name, votes in rows:
            pixels = images[name] if name else rng.integers(0, 256, (48, 48), dtype=np.uint8)
            new.append(f"{USAGE[folder]},{name},{votes}\n")
            fer.append(f"0,{' '.join(map(str, pixels.ravel()))},{USAGE[folder]}\n")
    (root / "fer2013new.csv").write_text("".join(new))
    (root / "fer2013.csv").write_text("".join(fer))


@pytest.fixture
def release(tmp_path, rng):
    root = tmp_path / "FERPlus"
    return root, write_release(root, rng)


# ------------------------------------------------------------------ layouts, splits, label rules


@pytest.mark.backend_neutral
def test_folder_layout_majority_seven_and_eight_classes(release):
    root, images = release
    train = load_dataset("ferplus", root, split="FER2013Train")
    assert train.labels.tolist() == [3, 0, 5, 6] and train.images.shape == (4, 48, 48, 1)
    assert train.extra["image_names"] == ["fer0000000.png", "fer0000006.png", "fer0000007.png", "fer0000014.png"]
    np.testing.assert_array_equal(train.images[1, :, :, 0], images["fer0000006.png"])
    assert train.extra["dropped"] == {"removed": 1, "no_majority": 7, "unknown": 1, "not_face": 1, "contempt": 1}
    assert train.extra["listed"] == 15 == len(train) + sum(train.extra["dropped"].values())
    assert train.extra["label_rows"].tolist() == [1, 7, 8, 15] and train.extra["layout"] == "folders"
    assert train.split == "FER2013Train" and train.skipped == 0 and train.extra["missing"] == ()

    eight = load_dataset("ferplus", root, split="FER2013Train", classes=8)
    assert eight.labels.tolist() == [3, 7, 0, 5, 6] and eight.class_names[7] == "contempt"
    assert "contempt" not in eight.extra["dropped"]

    whole = load_dataset("ferplus", root)  # every split folder
    assert len(whole) == 4 + 2 + 1
    assert whole.extra["usages"].tolist() == ["Training"] * 4 + ["PublicTest"] * 2 + ["PrivateTest"]


@pytest.mark.backend_neutral
@pytest.mark.parametrize("folder, usage", list(USAGE.items()))
def test_folder_names_and_usage_names_are_the_same_splits(release, folder, usage):
    root, _ = release
    by_folder, by_usage = (load_dataset("ferplus", root, split=s) for s in (folder, usage))
    np.testing.assert_array_equal(by_folder.labels, by_usage.labels)
    np.testing.assert_array_equal(by_folder.images, by_usage.images)
    assert by_usage.split == usage and by_folder.split == folder


@pytest.mark.backend_neutral
def test_both_layouts_give_the_same_records(release, tmp_path):
    root, images = release
    write_csv_form(tmp_path / "csv", images)
    for split in ("FER2013Train", "PublicTest", "PrivateTest", None):
        for options in ({}, {"classes": 8, "label_mode": "probability", "soft_labels": True}):
            folders = load_dataset("ferplus", root, split=split, **options)
            csv = load_dataset("ferplus", tmp_path / "csv", split=split, **options)
            assert csv.extra["layout"] == "csv" and folders.extra["layout"] == "folders"
            np.testing.assert_array_equal(folders.labels, csv.labels)
            np.testing.assert_array_equal(folders.images, csv.images)
            assert folders.extra["dropped"] == csv.extra["dropped"] and folders.extra["listed"] == csv.extra["listed"]
            assert folders.extra["image_names"] == csv.extra["image_names"]
            if "soft_labels" in options:
                np.testing.assert_array_equal(folders.extra["soft_labels"], csv.extra["soft_labels"])


@pytest.mark.backend_neutral
def test_probability_rule_on_hand_computed_rows(release):
    root, _ = release
    train = load_dataset("ferplus", root, split="Training", label_mode="probability", soft_labels=True)
    assert train.labels.tolist() == [3, 6, 0, 5, 3, 6, 6]
    assert train.extra["image_names"] == [f"fer00000{i:02d}.png" for i in (0, 4, 6, 7, 11, 13, 14)]
    assert train.extra["dropped"] == {"removed": 1, "no_majority": 0, "ambiguous": 2, "unknown": 2, "not_face": 1,
                                      "contempt": 2}
    third = 1 / 3
    np.testing.assert_allclose(train.extra["soft_labels"], [  # angry disgust fear happy sad surprise neutral
        [0, 0, 0, 1, 0, 0, 0],
        [0, 0, 0, 0, 0.5, 0, 0.5],
        [1, 0, 0, 0, 0, 0, 0],
        [0, 0, 0.4, 0, 0, 0.6, 0],
        [0, 0, 0, 1, 0, 0, 0],  # happy 5, contempt 3: contempt left out of seven classes
        [0, 0, 0, third, 0, third, third],
        [0, 0, 0, 0, 0, 0, 1],
    ], rtol=1e-6)
    assert train.extra["soft_labels"].dtype == np.float32

    eight = load_dataset("ferplus", root, split="Training", label_mode="probability", soft_labels=True, classes=8)
    assert eight.labels.tolist() == [3, 7, 6, 0, 5, 3, 7, 6, 6]
    np.testing.assert_allclose(eight.extra["soft_labels"][5], [0, 0, 0, 0.625, 0, 0, 0, 0.375])
    np.testing.assert_allclose(eight.extra["soft_labels"][6], [0, 0, 0, 0.375, 0, 0, 0, 0.625])

    # Validation and test keep the majority rule in probability mode (Microsoft's train.py does).
    for split in ("FER2013Valid", "FER2013Test"):
        majority, probability = (load_dataset("ferplus", root, split=split, label_mode=m) for m in ferplus.LABEL_MODES)
        np.testing.assert_array_equal(majority.labels, probability.labels)
    valid = load_dataset("ferplus", root, split="FER2013Valid", label_mode="probability")
    assert valid.labels.tolist() == [5, 4] and valid.extra["dropped"]["no_majority"] == 1


@pytest.mark.backend_neutral
def test_rules_as_functions():
    votes = np.array([[int(v) for v in row.split(",")] for _, row in TRAIN])  # row 5 (removed) is all NF
    assert ferplus.majority_vote(votes).tolist() == [1, 7, 8, 9, -1, 9, 4, 2, -1, -1, -1, -1, -1, -1, 0]
    columns, integrated = ferplus.probability_vote(votes)
    assert columns.tolist() == [1, 7, 8, 9, 0, 9, 4, 2, -1, -1, 8, 1, 7, 0, 0]
    assert integrated[13].tolist() == [3, 3, 3, 0, 0, 0, 0, 0, 0, 0]  # the single unknown vote discarded
    assert integrated[14].tolist() == [6, 0, 0, 0, 0, 0, 0, 0, 0, 0]  # unknown reached after neutral: left out


@pytest.mark.backend_neutral
def test_a_missing_test_folder_is_an_empty_record_and_other_folders_are_errors(tmp_path, rng):
    root = tmp_path / "FERPlus"
    write_release(root, rng, test=False)
    for split in ("FER2013Test", "PrivateTest"):
        test = load_dataset("ferplus", root, split=split)
        assert len(test) == 0 and test.extra["missing"] == (str(root / "FER2013Test"),)
        assert test.images.shape == (0, 48, 48, 1)
    assert len(load_dataset("ferplus", root)) == 6  # all: the folders there
    import shutil

    shutil.rmtree(root / "FER2013Valid")
    with pytest.raises(DatasetError, match=r"FER2013Valid: no such folder"):
        load_dataset("ferplus", root, split="PublicTest")
    names = "Training, PublicTest, PrivateTest, FER2013Train, FER2013Valid, FER2013Test or None"
    with pytest.raises(DatasetError, match=f"split must be one of {names}"):
        load_dataset("ferplus", root, split="test")
    with pytest.raises(DatasetError, match="label_mode must be one of majority, probability"):
        load_dataset("ferplus", root, split="Training", label_mode="soft")
    with pytest.raises(DatasetError, match="pass the folder above it"):
        load_dataset("ferplus", root / "FER2013Train")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="fer2013new.csv: no such file, and no FER2013Train/"):
        load_dataset("ferplus", tmp_path / "empty")


@pytest.mark.backend_neutral
def test_face_boxes_crop_the_face(tmp_path, rng):
    root = tmp_path / "FERPlus"
    big, small = rng.integers(0, 256, (60, 60), dtype=np.uint8), rng.integers(0, 256, (48, 48), dtype=np.uint8)
    write_png(root / "FER2013Valid" / "big.png", big)
    write_png(root / "FER2013Valid" / "small.png", small)
    rows = [("big.png", "0,10,0,0,0,0,0,0,0,0"), ("small.png", "0,10,0,0,0,0,0,0,0,0")]
    write_label_csv(root / "FER2013Valid", rows, boxes={"big.png": "(6, 6, 54, 54)", "small.png": "(0, 0, 24, 24)"})
    record = load_dataset("ferplus", root, split="FER2013Valid")
    np.testing.assert_array_equal(record.images[0, :, :, 0], big[6:54, 6:54])
    import cv2

    np.testing.assert_array_equal(record.images[1, :, :, 0], cv2.resize(small[:24, :24], (48, 48), interpolation=cv2.INTER_AREA))
    assert record.extra["face_boxes"].tolist() == [[6, 6, 54, 54], [0, 0, 24, 24]]


# ------------------------------------------------------------------ bad input: one line, file and row


def bad_release(tmp_path, rng, line=None, png=None):
    """A release whose FER2013Valid has `line` as its 2nd row (fer0000101.png, a kept row) and,
    when given, `png` bytes in place of that image."""
    root = tmp_path / "FERPlus"
    write_release(root, rng)
    folder = root / "FER2013Valid"
    if line is not None:
        lines = (folder / "label.csv").read_text().splitlines()
        lines[1] = line
        (folder / "label.csv").write_text("\n".join(lines) + "\n")
    if png is not None:
        (folder / "fer0000101.png").write_bytes(png)
    return root, folder / "label.csv"


@pytest.mark.backend_neutral
@pytest.mark.parametrize("line, message", [
    ('fer0000101.png,"(0, 0, 48, 48)",0,0,6,0', "row 2: 6 fields, expected 12"),
    ('fer0000101.png,"(0, 0, 48, 48)",0,0,6,0,0,0,4,0,0,0,0', "row 2: 13 fields, expected 12"),
    ('fer0000101.png,"(0, 0, 48, 48)",0,0,x,0,0,0,4,0,0,0', "row 2: votes must be non-negative integers, got 'x'"),
    ('fer0000101.png,"(0, 0, 48, 48)",0,0,-6,0,0,0,4,0,0,0', "row 2: votes must be non-negative integers, got '-6'"),
    ('fer0000101.png,"(0, 0, 48, 48)",0,0,0.5,0,0,0,4,0,0,0', "row 2: votes must be non-negative integers"),
    ('fer0000101.png,"(0, 0, 48)",0,0,6,0,0,0,4,0,0,0', r"row 2: face box '\(0, 0, 48\)' must be"),
    ('fer0000101.png,"(20, 0, 10, 48)",0,0,6,0,0,0,4,0,0,0', r"row 2: face box .* is empty or negative"),
    ('fer0000101.png,"(0, 0, 60, 48)",0,0,6,0,0,0,4,0,0,0', r"row 2: face box \(0, 0, 60, 48\) leaves the 48x48 image .*fer0000101.png"),
    ('fer0000109.png,"(0, 0, 48, 48)",0,0,6,0,0,0,4,0,0,0', r"row 2: .*fer0000109.png: cannot be read"),
])
def test_bad_rows_are_one_line_errors_naming_file_and_row(tmp_path, rng, line, message):
    root, label_csv = bad_release(tmp_path, rng, line=line)
    with pytest.raises(DatasetError, match=message) as err:
        load_dataset("ferplus", root, split="FER2013Valid")
    assert str(err.value).startswith(f"{label_csv}: row 2: ") and "\n" not in str(err.value)
    record = load_dataset("ferplus", root, split="FER2013Valid", skip_bad=True)
    assert (len(record), record.skipped, record.labels.tolist()) == (1, 1, [4])
    assert len(load_dataset("ferplus", root, split="FER2013Train")) == 4  # the other folders are fine


@pytest.mark.backend_neutral
@pytest.mark.parametrize("data, message", [
    (b"", "empty file"),
    (b"not an image at all", "cannot be read as an image"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "truncated PNG file"),
])
def test_unreadable_pngs_name_file_and_row(tmp_path, rng, data, message):
    root, label_csv = bad_release(tmp_path, rng, png=data)
    with pytest.raises(DatasetError, match=message) as err:
        load_dataset("ferplus", root, split="PublicTest")
    assert str(err.value).startswith(f"{label_csv}: row 2: {label_csv.parent / 'fer0000101.png'}: ")


@pytest.mark.backend_neutral
def test_a_missing_label_csv_and_an_empty_name(tmp_path, rng):
    root, label_csv = bad_release(tmp_path, rng, line=',"(0, 0, 48, 48)",0,0,6,0,0,0,4,0,0,0')
    record = load_dataset("ferplus", root, split="FER2013Valid")  # an empty name: removed, counted
    assert record.labels.tolist() == [4] and record.extra["dropped"]["removed"] == 1 and record.skipped == 0
    label_csv.unlink()
    with pytest.raises(DatasetError, match=r"FER2013Valid/label.csv: no such file \(each FERPlus split folder"):
        load_dataset("ferplus", root, split="FER2013Valid")


# ------------------------------------------------------------------ recipes, splits, evaluate


@pytest.mark.backend_neutral
def test_recipes_read_the_folder_release(tmp_path, rng, capsys):
    from fer_keras.data.splits import load_splits
    from fer_keras.evaluation import load_eval_record
    from fer_keras.recipes import Recipe, load_recipe

    root = tmp_path / "FERPlus"
    write_release(root, rng, test=False)
    paper, probability = load_recipe("amdcnn_ferplus"), load_recipe("amdcnn_ferplus_probability")
    assert paper["pipeline"]["batch_size"] == 32 and paper["data"]["options"] == {"classes": 7}
    assert (paper["data"]["train"], paper["data"]["validation"], paper["data"]["test"]) == ("Training", "PublicTest", "PrivateTest")
    assert probability["pipeline"]["label_sampling"] and probability["data"]["options"]["label_mode"] == "probability"

    train, validation, test, _ = load_splits(Recipe.of(paper).data, root)
    assert (len(train), len(validation), test) == (4, 2, None)
    train, validation, test, _ = load_splits(Recipe.of(probability).data, root)
    assert len(train) == 7 and train.extra["soft_labels"].shape == (7, 7) and validation.labels.tolist() == [5, 4]

    capsys.readouterr()
    record, description = load_eval_record(paper, data=root)  # no FER2013Test: the validation split, said
    note = capsys.readouterr().err.strip()
    assert record.labels.tolist() == [5, 4] and f"{root} has no FER2013Test folder" in description
    assert note == f"note: {root} has no FER2013Test folder; scoring the validation split PublicTest (FER2013Valid) instead"
    fer2013 = load_recipe("amdcnn_fer2013")  # another recipe's model on FERPlus: likewise, not "all"
    record, description = load_eval_record(fer2013, dataset="ferplus", data=root)
    assert len(record) == 2 and description.startswith("PublicTest (FER2013Valid) (validation split: ") and capsys.readouterr().err

    write_release(root, rng, splits={"FER2013Test": TEST})
    record, description = load_eval_record(paper, data=root)
    assert (record.labels.tolist(), description) == ([3], "PrivateTest (FER2013Test) (test split)")
    record, description = load_eval_record(fer2013, dataset="ferplus", data=root)
    assert (len(record), description) == (1, "PrivateTest (FER2013Test) (test split)") and capsys.readouterr().err == ""


def test_evaluate_command_scores_the_validation_split_and_says_so(tmp_path, rng, capsys):
    from fer_keras.cli import main

    root = tmp_path / "FERPlus"
    write_release(root, rng, test=False)
    code = main(["evaluate", "--pretrained", "amdcnn_fer2013", "--dataset", "ferplus", "--data", str(root), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads(captured.out)
    assert report["samples"] == 2 and report["split"] == f"PublicTest (FER2013Valid) (validation split: {root} has no FER2013Test folder)"
    assert f"note: {root} has no FER2013Test folder; scoring the validation split PublicTest (FER2013Valid) instead" in captured.err


# ------------------------------------------------------------------ label sampling


def soft_record(rng, n=40, classes=7):
    soft = rng.dirichlet(np.full(classes, 0.7), n).astype(np.float32)
    soft[0] = np.eye(classes)[3]  # one certain label
    soft[1] = 0
    soft[1, [0, classes - 2]] = 0.5  # mass on two classes, none on the last
    images = rng.integers(0, 256, (n, 48, 48, 1), dtype=np.uint8)
    return DatasetRecord("toy", images, soft.argmax(axis=1).astype(np.int64), tuple("abcdefgh"[:classes]),
                         extra={"soft_labels": soft})


@pytest.mark.backend_neutral
def test_sampled_label_frequencies_match_the_distribution(rng):
    record = soft_record(rng)
    cdf, soft = label_cdf(record), record.extra["soft_labels"].astype(np.float64)
    epochs = 3000
    counts = np.zeros(soft.shape)
    for epoch in range(epochs):
        counts[np.arange(len(soft)), sample_labels(cdf, 5, epoch, np.arange(len(soft)))] += 1
    frequencies = counts / epochs
    assert np.all(np.abs(frequencies - soft) <= 5 * np.sqrt(soft * (1 - soft) / epochs) + 1e-9)
    assert frequencies[0, 3] == 1 and frequencies[1, [0, 5]].sum() == 1  # never a class without mass
    again = sample_labels(cdf, 5, 17, np.arange(len(soft)))
    np.testing.assert_array_equal(again, sample_labels(cdf, 5, 17, np.arange(len(soft))))  # seeded
    assert not np.array_equal(again, sample_labels(cdf, 6, 17, np.arange(len(soft))))


@pytest.mark.backend_neutral
def test_pydataset_samples_labels_per_epoch_and_keeps_majority_for_evaluation(rng):
    from fer_keras.data.pydataset import make_pydataset

    record = soft_record(rng)
    config = PipelineConfig(batch_size=16, label_sampling=True, seed=2)
    data = make_pydataset(record, config, True, shuffle=False, epochs=2)
    first, second = (np.concatenate([batch[1] for batch in data.epoch_batches(e)]) for e in (0, 1))
    cdf = label_cdf(record)
    np.testing.assert_array_equal(first, sample_labels(cdf, 2, 0, np.arange(len(record))))
    assert not np.array_equal(first, second)
    evaluation = make_pydataset(record, config, False)
    np.testing.assert_array_equal(np.concatenate([batch[1] for batch in evaluation.epoch_batches()]), record.labels)
    with pytest.raises(ValueError, match="label_sampling needs per-image label distributions"):
        make_pydataset(DatasetRecord("toy", record.images, record.labels, record.class_names), config, True)


def test_tf_data_and_pydataset_sample_the_same_labels(rng):
    from fer_keras.data.pydataset import make_pydataset

    record = soft_record(rng, n=37, classes=8)
    config = PipelineConfig(batch_size=8, label_sampling=True, seed=4, sample_weights=True)
    tf_batches = list(make_dataset(record, config, True, shuffle=False, epochs=3, initial_epoch=1).as_numpy_iterator())
    py_batches = list(make_pydataset(record, config, True, shuffle=False, epochs=3, initial_epoch=1).stream())
    assert len(tf_batches) == len(py_batches) == 10
    for (_, y_tf, w_tf), (_, y_py, w_py) in zip(tf_batches, py_batches):
        np.testing.assert_array_equal(y_tf, y_py)
        np.testing.assert_allclose(w_tf, w_py)
    # shuffled: each epoch's label of each image is still the same draw
    shuffled = make_dataset(record, config, True, epochs=2)
    for epoch, batches in enumerate([list(shuffled.take(5).as_numpy_iterator()), list(shuffled.skip(5).as_numpy_iterator())]):
        y = np.concatenate([b[1] for b in batches])
        assert sorted(y.tolist()) == sorted(sample_labels(label_cdf(record), 4, epoch, np.arange(37)).tolist())
    evaluation = make_dataset(record, config, False)  # majority labels when not training
    np.testing.assert_array_equal(np.concatenate([b[1] for b in evaluation.as_numpy_iterator()]), record.labels)


# ------------------------------------------------------------------ the real release


def real_ferplus():
    root = Path(os.environ.get("FERPLUS_DIR", shared_data("ferplus")))
    if not (root / "FER2013Train" / "label.csv").is_file() or not (root / "FER2013Valid" / "label.csv").is_file():
        pytest.skip(f"real FERPlus release not found at {root} (set FERPLUS_DIR)")
    return root


@pytest.mark.slow  # reads all 28,000 PNGs of the real release
def test_real_release_counts():
    root = real_ferplus()
    train = load_dataset("ferplus", root, split="FER2013Train")
    valid = load_dataset("ferplus", root, split="FER2013Valid")
    assert (train.extra["listed"], valid.extra["listed"]) == (28558, 3579)
    assert train.extra["dropped"] == {"removed": 0, "no_majority": 3434, "unknown": 77, "not_face": 2, "contempt": 120}
    assert valid.extra["dropped"] == {"removed": 0, "no_majority": 377, "unknown": 11, "not_face": 0, "contempt": 16}
    assert (len(train), len(valid)) == (24925, 3175) and train.skipped == valid.skipped == 0
    assert train.images.shape == (24925, 48, 48, 1) and train.images.dtype == np.uint8
    probability = load_dataset("ferplus", root, split="Training", label_mode="probability", soft_labels=True)
    assert len(probability) == 27784 and probability.extra["dropped"]["ambiguous"] == 438
    np.testing.assert_allclose(probability.extra["soft_labels"].sum(axis=1), 1, rtol=1e-6)
