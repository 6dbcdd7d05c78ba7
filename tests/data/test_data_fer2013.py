"""FER2013 CSV reader: real-format files written by the test, malformed rows, the cache, the real file.

The readers use NumPy, pandas and OpenCV only, so these tests run once (TensorFlow backend run)."""

import gzip
import os
import time

import numpy as np
import pytest

from fer_keras.data import CLASS_NAMES, DatasetError, load_dataset
from tests.helpers.real_data import REAL




def write_csv(path, rows, compress=False):
    text = "emotion,pixels,Usage\n" + "".join(f"{e},{p},{u}\n" for e, p, u in rows)
    if compress:
        with gzip.open(path, "wt") as f:
            f.write(text)
    else:
        path.write_text(text)
    return path


def pixels(rng):
    return " ".join(str(v) for v in rng.integers(0, 256, 2304))


@pytest.fixture
def rows(rng):
    usages = ["Training"] * 5 + ["PublicTest"] * 2 + ["PrivateTest"] * 3
    return [(i % 7, pixels(rng), u) for i, u in enumerate(usages)]


@pytest.mark.parametrize("compress", [False, True])
def test_reads_the_kaggle_layout(tmp_path, rows, compress):
    path = write_csv(tmp_path / ("fer2013.csv.gz" if compress else "fer2013.csv"), rows, compress)
    record = load_dataset("fer2013", path)
    assert record.images.shape == (10, 48, 48, 1) and record.images.dtype == np.uint8
    assert record.labels.tolist() == [i % 7 for i in range(10)]
    assert record.class_names == CLASS_NAMES and record.subjects is None and record.skipped == 0
    expected = np.array([int(v) for v in rows[3][1].split()], np.uint8).reshape(48, 48)
    np.testing.assert_array_equal(record.images[3, :, :, 0], expected)  # row-major, as Kaggle's
    assert len(load_dataset("fer2013", path, split="Training")) == 5
    assert len(load_dataset("fer2013", path, split="PublicTest")) == 2
    private = load_dataset("fer2013", path, split="PrivateTest")
    assert private.labels.tolist() == [0, 1, 2]


@pytest.mark.parametrize(
    "row, message",
    [
        (("9", None, "Training"), "row 4: emotion must be an integer label 0..6"),
        (("x", None, "Training"), "row 4: emotion must be an integer label 0..6"),
        (("3", None, "Validation"), "row 4: Usage must be one of Training, PublicTest, PrivateTest"),
        (("3", "1 2 3", "Training"), "row 4: pixels must be 2304 values for a 48x48 image (wrong pixel count)"),
        (("3", "TRUNCATED", "Training"), "row 4: pixels must be 2304 space-separated integers 0..255 (found a non-numeric value)"),
        (("3", "300" + " 0" * 2303, "Training"), "row 4: pixel values must be in 0..255"),
    ],
)
def test_malformed_rows_raise_naming_file_and_row(tmp_path, rows, rng, row, message):
    bad = (row[0], row[1] if row[1] is not None else pixels(rng), row[2])
    path = write_csv(tmp_path / "fer2013.csv", rows[:2] + [bad] + rows[2:4])
    with pytest.raises(DatasetError) as err:
        load_dataset("fer2013", path, cache=False)
    assert str(path) in str(err.value) and message in str(err.value)
    record = load_dataset("fer2013", path, skip_bad=True, cache=False)  # opt-in: skipped and counted
    assert (len(record), record.skipped) == (4, 1)


def test_bad_files(tmp_path):
    with pytest.raises(DatasetError, match="no such file"):
        load_dataset("fer2013", tmp_path / "missing.csv")
    (tmp_path / "wrong.csv").write_text("label,image\n1,2\n")
    with pytest.raises(DatasetError, match=r"missing column\(s\) \['emotion', 'pixels', 'Usage'\]"):
        load_dataset("fer2013", tmp_path / "wrong.csv")
    with pytest.raises(DatasetError, match="split must be one of"):
        load_dataset("fer2013", tmp_path / "wrong.csv", split="Test")
    with pytest.raises(ValueError, match="Unknown dataset 'imagenet'"):
        load_dataset("imagenet", tmp_path)


def test_cache_is_reused_and_invalidated(tmp_path, rows, rng):
    path = write_csv(tmp_path / "fer2013.csv", rows)
    first = load_dataset("fer2013", path)
    caches = list(tmp_path.glob(".fer2013.csv.*.npz"))
    assert len(caches) == 1
    os.utime(caches[0], ns=(1, 1))  # mark the cache file so a rewrite would be visible
    again = load_dataset("fer2013", path)
    np.testing.assert_array_equal(again.images, first.images)
    assert caches[0].stat().st_mtime_ns == 1  # read, not rewritten
    time.sleep(0.01)
    write_csv(path, rows[:4])  # the source changes: new size and mtime, so a new cache key
    assert len(load_dataset("fer2013", path)) == 4


def test_cache_survives_the_source_being_touched_or_copied(tmp_path, rows, monkeypatch):
    """The key is the source's bytes, not its modification time: a dataset re-copied each session
    (a new mtime) reuses its cache instead of adding another one."""
    path = write_csv(tmp_path / "fer2013.csv", rows)
    load_dataset("fer2013", path)
    (cache,) = tmp_path.glob(".fer2013.csv.*.npz")
    os.utime(cache, ns=(1, 1))
    os.utime(path, ns=(10**18, 10**18))  # touched
    load_dataset("fer2013", path)
    assert list(tmp_path.glob(".fer2013.csv.*.npz")) == [cache] and cache.stat().st_mtime_ns == 1


def test_read_only_folder_caches_elsewhere(tmp_path, rows, monkeypatch):
    folder = tmp_path / "shared"
    folder.mkdir()
    path = write_csv(folder / "fer2013.csv", rows)
    folder.chmod(0o555)
    monkeypatch.setenv("FER_KERAS_CACHE", str(tmp_path / "cache"))
    try:
        load_dataset("fer2013", path)
        assert not list(folder.glob(".*.npz")) and len(list((tmp_path / "cache").glob("*.npz"))) == 1
    finally:
        folder.chmod(0o755)


@pytest.mark.slow
def test_real_fer2013_split_sizes_and_class_counts(tmp_path, monkeypatch, real_fer2013):
    monkeypatch.setenv("FER_KERAS_CACHE", str(tmp_path))
    beside = set(REAL.parent.glob(".*.npz"))  # whatever someone else left there is not ours to judge
    train = load_dataset("fer2013", REAL, split="Training")
    public = load_dataset("fer2013", REAL, split="PublicTest")
    assert (len(train), len(public)) == (28709, 3589)
    # The official per-class counts, in label order (angry, disgust, fear, happy, sad, surprise, neutral).
    assert list(train.class_counts().values()) == [3995, 436, 4097, 7215, 4830, 3171, 4965]
    assert list(public.class_counts().values()) == [467, 56, 496, 895, 653, 415, 607]
    assert len(list(tmp_path.glob(".fer2013.csv.gz.*.npz"))) == 1  # cached outside the read-only folder
    assert set(REAL.parent.glob(".*.npz")) == beside  # nothing written beside the read-only source
