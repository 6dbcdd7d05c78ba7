"""Folder-per-class reader and balanced sample weights."""

import numpy as np
import pytest

from fer_keras.data import DatasetError, load_dataset, sample_weights



def write_images(root, counts, rng, size=(48, 48), channels=1):
    import cv2

    for folder, n in counts.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            image = rng.integers(0, 256, (*size, channels) if channels == 3 else size, dtype=np.uint8)
            cv2.imwrite(str(root / folder / f"{i:03d}.png"), image)


def test_fer2013_image_folder_release(tmp_path, rng):
    write_images(tmp_path / "train", {"angry": 2, "happy": 3, "neutral": 1}, rng)
    write_images(tmp_path / "test", {"sad": 2}, rng)
    train = load_dataset("fer2013", tmp_path, split="train")
    assert train.images.shape == (6, 48, 48, 1)
    assert train.class_counts() == {"angry": 2, "disgust": 0, "fear": 0, "happy": 3, "sad": 0, "surprise": 0, "neutral": 1}
    assert load_dataset("fer2013", tmp_path, split="test").labels.tolist() == [4, 4]


def test_aliases_contempt_and_own_classes(tmp_path, rng):
    write_images(tmp_path / "ck", {"anger": 1, "contempt": 1, "happiness": 1}, rng)
    ck = load_dataset("folder", tmp_path / "ck")
    assert ck.class_names[-1] == "contempt" and ck.labels.tolist() == [0, 7, 3]
    write_images(tmp_path / "own", {"smile": 1, "frown": 2}, rng, size=(20, 30), channels=3)
    own = load_dataset("folder", tmp_path / "own", channels=3)
    assert own.class_names == ("frown", "smile") and own.images.shape == (3, 20, 30, 3)


def test_bad_folders_and_images(tmp_path, rng):
    with pytest.raises(DatasetError, match="no such folder"):
        load_dataset("folder", tmp_path / "nothing")
    (tmp_path / "a" / "happy").mkdir(parents=True)
    with pytest.raises(DatasetError, match="happy: empty class folder"):
        load_dataset("folder", tmp_path / "a")
    write_images(tmp_path / "b", {"happy": 2}, rng)
    (tmp_path / "b" / "happy" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError, match="broken.png: cannot be read as an image"):
        load_dataset("folder", tmp_path / "b")
    record = load_dataset("folder", tmp_path / "b", skip_bad=True)
    assert (len(record), record.skipped) == (2, 1)
    write_images(tmp_path / "c", {"sad": 1}, rng, size=(40, 40))
    write_images(tmp_path / "c", {"happy": 1}, rng, size=(48, 48))
    with pytest.raises(DatasetError, match="pass image_size"):
        load_dataset("folder", tmp_path / "c")
    assert load_dataset("folder", tmp_path / "c", image_size=(32, 32)).images.shape == (2, 32, 32, 1)


def test_sample_weights_are_sklearns_balanced_weights():
    labels = np.array([0, 0, 0, 1, 3, 3])
    weights = sample_weights(labels)
    # n / (classes present * count): 6 / (3 * 3), 6 / (3 * 1), 6 / (3 * 2)
    np.testing.assert_allclose(weights, [2 / 3, 2 / 3, 2 / 3, 2.0, 1.0, 1.0])
    assert weights.sum() == pytest.approx(len(labels))
