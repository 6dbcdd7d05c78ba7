"""FERPlus's votes as soft targets for FER2013's Training rows (issue 36, item 1): rows matched to
FERPlus's FER2013Train images by their pixels (shuffled rows, pixels a few levels off, a contrast
stretch), ambiguous, unmatched and FER2013Valid-nearer rows kept one-hot, the votes mapped to
FER2013's order and renormalised, the blend, validation and test rows untouched, the cache, the
errors naming the option and the file, the recipe, and the real files when they are there."""

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

from fer_keras.data import DatasetError, load_dataset
from fer_keras.data import ferplus_match as fm
from fer_keras.data.ferplus import VOTE_COLUMNS
from fer_keras.data.pipeline import label_cdf
from fer_keras.data.shared import shared_data

pytestmark = pytest.mark.backend_neutral

TRAIN_IMAGES = 14
VALID_IMAGES = 3


def smooth_images(rng, count):
    """Distinct, face-like smooth 48x48 uint8 images: random 6x6 grids upsampled."""
    import cv2

    grids = rng.integers(0, 256, (count, 6, 6)).astype(np.float32)
    return np.stack([np.clip(cv2.resize(g, (48, 48), interpolation=cv2.INTER_CUBIC), 0, 255) for g in grids]).astype(np.uint8)


def perturbed(image, rng, levels=3):
    """A JPEG-like copy: every pixel moved by up to `levels`."""
    return np.clip(image.astype(np.int16) + rng.integers(-levels, levels + 1, image.shape), 0, 255).astype(np.uint8)


def write_ferplus(root, train, valid, train_votes, valid_votes):
    import cv2

    for folder, images, votes in (("FER2013Train", train, train_votes), ("FER2013Valid", valid, valid_votes)):
        (root / folder).mkdir(parents=True)
        lines = []
        offset = 0 if folder == "FER2013Train" else 50000
        for i, (image, row) in enumerate(zip(images, votes)):
            name = f"fer{offset + i:07d}.png"
            cv2.imwrite(str(root / folder / name), image)
            lines.append(f'{name},"(0, 0, 48, 48)",' + ",".join(str(v) for v in row))
        (root / folder / "label.csv").write_text("\n".join(lines) + "\n")


def write_fer2013(path, rows):
    """rows: (label, image, usage)."""
    text = "emotion,pixels,Usage\n" + "".join(f"{label},{' '.join(map(str, image.ravel()))},{usage}\n"
                                              for label, image, usage in rows)
    with gzip.open(path, "wt") as handle:
        handle.write(text)


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A FERPlus folder and a fer2013.csv.gz whose Training rows are shuffled, perturbed copies of
    FER2013Train's images, plus: a row with no FERPlus twin, a row between two near copies (3
    levels apart), a Training row copying a FER2013Valid image, and PublicTest rows."""
    monkeypatch.setenv("FER_KERAS_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    train = smooth_images(rng, TRAIN_IMAGES)
    # images 12 and 13: near copies of each other (3 levels apart), farther apart than copies (fm.DUPLICATE)
    train[13] = np.clip(train[12].astype(np.int16) + rng.choice([-3, 3], train[12].shape), 0, 255)
    valid = smooth_images(rng, VALID_IMAGES)
    train_votes = rng.integers(0, 5, (TRAIN_IMAGES, 10))
    train_votes[0] = [4, 0, 0, 1, 3, 2, 0, 5, 1, 1]  # hand-computed below
    train_votes[1] = [0, 0, 0, 0, 0, 0, 0, 6, 2, 2]  # contempt / unknown / NF only: no target
    valid_votes = np.full((VALID_IMAGES, 10), 0)
    valid_votes[:, 1] = 10  # all happy: a target from FER2013Valid would show
    root = tmp_path / "ferplus"
    write_ferplus(root, train, valid, train_votes, valid_votes)

    order = rng.permutation(12)  # images 0..11 as shuffled, perturbed Training rows
    stretch = lambda image: np.clip((image.astype(np.float32) - 20) * 1.3, 0, 255).astype(np.uint8)  # clipped
    rows = [(int(i % 7), perturbed(train[i], rng) if k % 2 else stretch(perturbed(train[i], rng)), "Training")
            for k, i in enumerate(order)]
    labels = [row[0] for row in rows]
    rows.append((2, smooth_images(np.random.default_rng(7), 1)[0], "Training"))  # no twin: unmatched
    rows.append((3, perturbed(train[12], rng, 1), "Training"))  # 12 or 13: ambiguous
    rows.append((4, perturbed(valid[0], rng), "Training"))  # a FER2013Valid picture: one-hot
    rows += [(5, perturbed(valid[i], rng), "PublicTest") for i in range(VALID_IMAGES)]
    csv = tmp_path / "fer2013.csv.gz"
    write_fer2013(csv, rows)
    expected = [f"fer{i:07d}.png" for i in order]
    return {"csv": csv, "root": root, "expected": expected, "labels": np.array(labels + [2, 3, 4]),
            "train_votes": train_votes}


def test_the_matching_recovers_the_permutation_and_the_targets_are_the_matched_votes(tiny):
    record = load_dataset("fer2013", tiny["csv"], split="Training", ferplus_targets=str(tiny["root"]))
    names = record.extra["ferplus_images"]
    assert names[:12] == [n if n != "fer0000001.png" else "" for n in tiny["expected"]]  # 1: no emotion vote
    soft = record.extra["soft_labels"]
    for i, name in enumerate(tiny["expected"]):
        index = int(name[3:10])
        votes = fm.vote_distribution(tiny["train_votes"][index])[0]
        want = votes if votes.sum() else np.eye(7)[record.labels[i]]
        np.testing.assert_allclose(soft[i], want, atol=1e-6)
    np.testing.assert_array_equal(record.labels, tiny["labels"])  # FER2013's labels stay
    counts = record.extra["ferplus_match"]
    assert counts == {"rows": 15, "matched": 12, "unmatched": 1, "ambiguous": 1, "valid": 1, "targets": 11,
                      "no_votes": 1, "weight": 1.0, "folder": str(tiny["root"])}


def test_unmatched_ambiguous_and_valid_rows_keep_their_one_hot_label(tiny):
    record = load_dataset("fer2013", tiny["csv"], split="Training", ferplus_targets=str(tiny["root"]))
    match = fm.match_ferplus(record.images, tiny["root"])
    assert [fm.STATUSES[s] for s in match.status[12:]] == ["unmatched", "ambiguous", "valid"]
    assert match.distance[12] >= fm.THRESHOLD and match.second[13] < match.distance[13] + fm.MARGIN
    assert match.valid_distance[14] < match.distance[14]
    np.testing.assert_array_equal(record.extra["soft_labels"][12:], np.eye(7, dtype=np.float32)[[2, 3, 4]])
    assert record.extra["ferplus_images"][12:] == ["", "", ""]
    # no row anywhere got FER2013Valid's all-happy votes unless FER2013Train's say happy too
    assert match.valid_checked and not any(name.startswith("fer005") for name in match.names)


def test_the_votes_map_to_fer2013s_order_without_contempt_unknown_and_nf():
    # neutral 4, happiness 0, surprise 0, sadness 1, anger 3, disgust 2, fear 0, contempt 5, unknown 1, NF 1
    # -> 10 emotion votes: angry .3, disgust .2, fear 0, happy 0, sad .1, surprise 0, neutral .4
    np.testing.assert_allclose(fm.vote_distribution([4, 0, 0, 1, 3, 2, 0, 5, 1, 1]),
                               [[0.3, 0.2, 0.0, 0.0, 0.1, 0.0, 0.4]])
    # happiness 6, surprise 2, fear 2 -> happy .6, surprise .2, fear .2
    np.testing.assert_allclose(fm.vote_distribution([0, 6, 2, 0, 0, 0, 2, 0, 0, 0]), [[0, 0, 0.2, 0.6, 0, 0.2, 0]])
    np.testing.assert_array_equal(fm.vote_distribution([0, 0, 0, 0, 0, 0, 0, 3, 3, 4]), np.zeros((1, 7)))
    assert fm.EMOTION_COLUMNS == VOTE_COLUMNS[:7]


def test_the_blend_weighs_ferplus_against_the_one_hot_label(tiny):
    record = load_dataset("fer2013", tiny["csv"], split="Training", ferplus_targets=str(tiny["root"]),
                          ferplus_targets_weight=0.25)
    i = tiny["expected"].index("fer0000000.png")
    label = record.labels[i]
    want = 0.25 * np.array([0.3, 0.2, 0.0, 0.0, 0.1, 0.0, 0.4]) + 0.75 * np.eye(7)[label]
    np.testing.assert_allclose(record.extra["soft_labels"][i], want, atol=1e-6)
    np.testing.assert_allclose(record.extra["soft_labels"].sum(axis=1), 1.0, atol=1e-6)
    cdf = label_cdf(record)  # what pipeline.label_sampling reads
    assert cdf.shape == (len(record), 7)
    for weight in (-0.1, 1.5, "half", True):
        with pytest.raises(DatasetError, match="^data.options.ferplus_targets_weight must be a number in"):
            load_dataset("fer2013", tiny["csv"], split="Training", ferplus_targets=str(tiny["root"]),
                         ferplus_targets_weight=weight)
    with pytest.raises(DatasetError, match="ferplus_targets_weight .* needs data.options.ferplus_targets"):
        load_dataset("fer2013", tiny["csv"], split="Training", ferplus_targets_weight=0.5)


def test_validation_and_test_rows_are_untouched(tiny, tmp_path):
    plain = load_dataset("fer2013", tiny["csv"], split="PublicTest")
    record = load_dataset("fer2013", tiny["csv"], split="PublicTest", ferplus_targets=str(tiny["root"]))
    np.testing.assert_array_equal(record.labels, plain.labels)
    np.testing.assert_array_equal(record.images, plain.images)
    assert "soft_labels" not in record.extra
    # PublicTest needs no FERPlus folder (evaluate reads a run's recipe on machines without one)
    assert len(load_dataset("fer2013", tiny["csv"], split="PublicTest", ferplus_targets=str(tmp_path / "none")))
    every = load_dataset("fer2013", tiny["csv"], split=None, ferplus_targets=str(tiny["root"]))
    public = every.extra["usages"] == "PublicTest"
    np.testing.assert_array_equal(every.extra["soft_labels"][public], np.eye(7, dtype=np.float32)[every.labels[public]])
    assert every.extra["ferplus_match"]["rows"] == 15
    subset = every.subset(np.flatnonzero(~public))
    training = load_dataset("fer2013", tiny["csv"], split="Training", ferplus_targets=str(tiny["root"]))
    np.testing.assert_array_equal(subset.extra["soft_labels"], training.extra["soft_labels"])


def test_the_image_folder_release_gets_the_targets_on_train_only(tiny, tmp_path):
    import cv2

    from fer_keras.data.labels import CLASS_NAMES

    training = load_dataset("fer2013", tiny["csv"], split="Training")
    folders = tmp_path / "fer2013_images"
    for split, record in (("train", training), ("test", load_dataset("fer2013", tiny["csv"], split="PublicTest"))):
        for i, (image, label) in enumerate(zip(record.images, record.labels)):
            (folders / split / CLASS_NAMES[label]).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folders / split / CLASS_NAMES[label] / f"{i:03d}.png"), image[..., 0])
    train = load_dataset("fer2013", str(folders), split="train", ferplus_targets=str(tiny["root"]))
    assert train.extra["ferplus_match"]["matched"] == 12 and train.extra["ferplus_match"]["targets"] == 11
    assert sorted(n for n in train.extra["ferplus_images"] if n) == sorted(n for n in tiny["expected"] if n != "fer0000001.png")
    test = load_dataset("fer2013", str(folders), split="test", ferplus_targets=str(tiny["root"]))
    assert "soft_labels" not in test.extra
    with pytest.raises(DatasetError, match="^data.options.ferplus_targets: FER2013's image-folder release .* needs a split"):
        load_dataset("fer2013", str(folders), ferplus_targets=str(tiny["root"]))


def test_a_missing_folder_or_label_file_is_one_line_naming_the_option_and_the_file(tiny, tmp_path):
    load = lambda root: load_dataset("fer2013", tiny["csv"], split="Training", ferplus_targets=str(root))
    absent = tmp_path / "absent"
    with pytest.raises(DatasetError, match=rf"^data.options.ferplus_targets: {absent}: no such folder") as info:
        load(absent)
    assert "\n" not in str(info.value)
    bare = tmp_path / "bare"
    bare.mkdir()
    with pytest.raises(DatasetError, match=rf"^data.options.ferplus_targets: {bare / 'FER2013Train'}: no such folder"):
        load(bare)
    (bare / "FER2013Train").mkdir()
    with pytest.raises(DatasetError, match=rf"^data.options.ferplus_targets: {bare / 'FER2013Train' / 'label.csv'}: "
                                           "no such file") as info:
        load(bare)
    assert "\n" not in str(info.value)
    (tiny["root"] / "FER2013Train" / "fer0000003.png").unlink()
    with pytest.raises(DatasetError, match=r"FER2013Train/label.csv: row 4: .*fer0000003.png"):
        load(tiny["root"])


def test_the_match_is_cached_and_a_changed_input_matches_again(tiny, monkeypatch):
    first = load_dataset("fer2013", tiny["csv"], split="Training", ferplus_targets=str(tiny["root"]))
    cached = list(Path(os.environ["FER_KERAS_CACHE"]).glob(".ferplus_match.*.npz"))
    assert len(cached) == 1 and not list(cached[0].parent.glob("*.tmp*"))

    def refuse(*args, **kwargs):
        raise AssertionError("matched again")

    monkeypatch.setattr(fm, "match_images", refuse)
    again = load_dataset("fer2013", tiny["csv"], split="Training", ferplus_targets=str(tiny["root"]))
    np.testing.assert_array_equal(again.extra["soft_labels"], first.extra["soft_labels"])
    label_file = tiny["root"] / "FER2013Train" / "label.csv"
    os.utime(label_file, ns=(label_file.stat().st_atime_ns, label_file.stat().st_mtime_ns + 10**9))
    with pytest.raises(AssertionError, match="matched again"):
        load_dataset("fer2013", tiny["csv"], split="Training", ferplus_targets=str(tiny["root"]))


def test_the_recipe_adds_the_targets_to_amdcnn_plus_and_refuses_unknown_options():
    from fer_keras.errors import RecipeError
    from fer_keras.recipes import load_recipe

    recipe, base = load_recipe("amdcnn_plus_fer2013_ferplus"), load_recipe("amdcnn_plus_fer2013")
    assert recipe["data"]["options"] == {"ferplus_targets": "../shared/data/ferplus", "ferplus_targets_weight": 0.5}
    assert recipe["pipeline"] == {**base["pipeline"], "label_sampling": True}
    assert {k: v for k, v in recipe["data"].items() if k != "options"} == \
        {k: v for k, v in base["data"].items() if k != "options"}
    assert recipe["data"]["validation"] == "PublicTest"
    with pytest.raises(RecipeError, match="unknown key data.options.ferplus_target; did you mean data.options.ferplus_targets"):
        load_recipe("amdcnn_plus_fer2013_ferplus", overrides=["data.options.ferplus_target=x"])


@pytest.mark.slow
def test_the_real_training_rows_match_ferplus(real_fer2013):
    root = shared_data("ferplus")
    if not (root / "FER2013Train" / "label.csv").is_file():
        pytest.skip(f"real FERPlus not found at {root}")
    record = load_dataset("fer2013", real_fer2013, split="Training", ferplus_targets=str(root), cache=False)
    counts = record.extra["ferplus_match"]
    assert counts["rows"] == 28709
    assert counts["matched"] >= 0.99 * counts["rows"] and counts["valid"] == 0
    assert counts["unmatched"] <= 28709 - 28558 + 20  # FERPlus removed 151 of the Training pictures
    used = np.array([bool(name) for name in record.extra["ferplus_images"]])
    agree = (record.extra["soft_labels"][used].argmax(axis=1) == record.labels[used]).mean()
    assert 0.55 <= agree <= 0.85  # measured 0.645 (experiments/results/ferplus_match.json)
