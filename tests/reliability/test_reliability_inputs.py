"""Bad input files are named, not used silently or reported misleadingly (issue 17, cases 4 and 7).

Truncated images in image-folder datasets, empty or non-CSV files given as a CSV, a corrupted
FER2013 cache, mixed image sizes, damaged .keras and .weights.h5 files. Tiny synthetic files in
tmp_path; no training.
"""

import numpy as np
import pytest

from fer_keras.data import DatasetError, load_dataset
from fer_keras.data.files import image_problem
from fer_keras.errors import ArgumentError
from fer_keras.loading import load_model_weights, load_run, load_trained


def face(side=48, channels=1):
    """A smooth image (libjpeg fills what a cut removed with grey; noise would hide it)."""
    y, x = np.mgrid[:side, :side]
    image = (128 + 60 * np.sin(x / 5) * np.cos(y / 7)).astype(np.uint8)
    return np.repeat(image[..., None], 3, axis=-1) if channels == 3 else image


def encoded(ext, image=None):
    import cv2

    ok, buffer = cv2.imencode(ext, face() if image is None else image)
    assert ok
    return buffer.tobytes()


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def cut(data, fraction=0.6):
    return data[: int(len(data) * fraction)]


# ----------------------------------------------------------------------------- truncated images


def test_truncated_jpeg_in_a_folder_dataset_raises_naming_it_or_is_skipped_and_counted(tmp_path, capfd):
    write(tmp_path / "happy" / "a.jpg", encoded(".jpg"))
    write(tmp_path / "happy" / "b.png", encoded(".png"))
    bad = write(tmp_path / "sad" / "c.jpg", cut(encoded(".jpg")))
    with pytest.raises(DatasetError, match="truncated JPEG") as err:
        load_dataset("folder", tmp_path)
    assert str(err.value).startswith(f"{bad}: ")
    record = load_dataset("folder", tmp_path, skip_bad=True)
    assert (len(record), record.skipped) == (2, 1) and str(bad) not in record.extra["paths"]
    assert "Premature end of JPEG" not in capfd.readouterr().err  # never handed to libjpeg


def test_intact_jpeg_and_png_load_also_with_padding_or_data_after_the_jpeg(tmp_path):
    import cv2

    jpeg = encoded(".jpg")
    write(tmp_path / "happy" / "plain.jpg", jpeg)
    write(tmp_path / "happy" / "padded.jpg", jpeg + b"\x00\x00\r\n")  # writers that pad the file
    write(tmp_path / "happy" / "trailer.jpg", jpeg + b"APPENDED DATA")  # data after the end-of-image marker
    write(tmp_path / "sad" / "face.png", encoded(".png"))
    record = load_dataset("folder", tmp_path)
    assert (len(record), record.skipped) == (4, 0)
    expected = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    for image in record.images[:3]:
        np.testing.assert_array_equal(image[..., 0], expected)
    np.testing.assert_array_equal(record.images[3, ..., 0], face())  # PNG: lossless
    rgb = load_dataset("folder", tmp_path, channels=3)
    assert rgb.images.shape == (4, 48, 48, 3)


@pytest.mark.parametrize("ext, message", [(".jpg", "truncated JPEG"), (".png", "truncated PNG"), (".bmp", "truncated BMP")])
def test_image_problem_finds_each_truncation(ext, message):
    data = encoded(ext)
    assert image_problem(data) is None
    for fraction in (0.3, 0.6, 0.95):
        assert message in image_problem(cut(data, fraction))
    assert image_problem(b"") == "empty file"


def test_other_readers_use_the_same_check(tmp_path):
    """CK+ (PNG) and RAF-DB (JPEG) read through the shared decode: the cut file is named, or
    skipped and counted with skip_bad."""
    ck = tmp_path / "ck"
    write(ck / "happy" / "S010_004_00000017.png", encoded(".png"))
    bad = write(ck / "happy" / "S011_004_00000017.png", cut(encoded(".png")))
    with pytest.raises(DatasetError, match=f"{bad}: truncated PNG"):
        load_dataset("ckplus", ck)
    assert load_dataset("ckplus", ck, skip_bad=True).skipped == 1
    raf = tmp_path / "raf"
    write(raf / "EmoLabel" / "list_patition_label.txt", b"train_00001.jpg 4\ntrain_00002.jpg 5\n")
    write(raf / "Image" / "aligned" / "train_00001_aligned.jpg", encoded(".jpg", face(100, 3)))
    bad = write(raf / "Image" / "aligned" / "train_00002_aligned.jpg", cut(encoded(".jpg", face(100, 3))))
    with pytest.raises(DatasetError, match=f"{bad}: truncated JPEG"):
        load_dataset("rafdb", raf)
    record = load_dataset("rafdb", raf, skip_bad=True)
    assert (len(record), record.skipped) == (1, 1)


def test_mixed_sizes_name_the_odd_image_with_both_sizes(tmp_path):
    import cv2

    odd = tmp_path / "angry" / "000.png"  # sorted first: the old message named the next, normal image
    odd.parent.mkdir()
    cv2.imwrite(str(odd), face(40))
    for name in ("happy", "sad"):
        (tmp_path / name).mkdir()
        for i in range(2):
            cv2.imwrite(str(tmp_path / name / f"{i:03d}.png"), face(48))
    with pytest.raises(DatasetError) as err:
        load_dataset("folder", tmp_path)
    message = str(err.value)
    assert message.startswith(f"{odd}: size (40, 40)") and "(48, 48) of 4 of the 5 images" in message
    assert "pass image_size" in message


# ----------------------------------------------------------------------------------- CSV files


def fer2013_rows(n=4):
    rng = np.random.default_rng(0)
    usages = ["Training", "PublicTest", "PrivateTest"]
    return "emotion,pixels,Usage\n" + "".join(
        f"{i % 7},{' '.join(str(v) for v in rng.integers(0, 256, 2304))},{usages[i % 3]}\n" for i in range(n))


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_KERAS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.mark.parametrize("content", [b"", b"  \n\n \t\n"], ids=["zero-bytes", "whitespace"])
def test_an_empty_csv_is_named_and_called_empty(tmp_path, cache_dir, content):
    path = write(tmp_path / "fer2013.csv", content)
    with pytest.raises(DatasetError, match="empty file") as err:
        load_dataset("fer2013", path)
    assert str(err.value).startswith(f"{path}: ") and "emotion,pixels,Usage" in str(err.value)
    write(tmp_path / "plus" / "fer2013.csv", fer2013_rows().encode())
    new = write(tmp_path / "plus" / "fer2013new.csv", content)
    with pytest.raises(DatasetError, match="empty file") as err:
        load_dataset("ferplus", tmp_path / "plus")
    assert str(err.value).startswith(f"{new}: ")


def test_a_file_without_line_breaks_is_refused_from_its_first_64_kib(tmp_path, cache_dir, monkeypatch):
    import pandas as pd

    path = write(tmp_path / "fer2013.csv", b"x" * (100 * 1024))

    def read_csv(*args, **kwargs):  # the whole file must not be read
        raise AssertionError("pandas.read_csv called on a file that is not a CSV")

    monkeypatch.setattr(pd, "read_csv", read_csv)
    with pytest.raises(DatasetError, match="no line break in its first 64 KiB") as err:
        load_dataset("fer2013", path)
    assert str(err.value).startswith(f"{path}: ") and "'emotion,pixels,Usage'" in str(err.value)
    gz = write(tmp_path / "named.csv", b"\x1f\x8b" + b"\x00" * 100)  # gzip data without .gz in the name
    with pytest.raises(DatasetError, match="does not end in .gz"):
        load_dataset("fer2013", gz)


def test_header_check_accepts_the_real_layouts(tmp_path, cache_dir):
    import gzip

    text = fer2013_rows()
    plain = write(tmp_path / "a" / "fer2013.csv", ("\ufeff\n" + text).encode())  # BOM, a blank line first
    packed = tmp_path / "b" / "fer2013.csv.gz"
    packed.parent.mkdir()
    with gzip.open(packed, "wt") as handle:
        handle.write(text.replace("\n", "\r\n"))
    assert len(load_dataset("fer2013", plain, cache=False)) == len(load_dataset("fer2013", packed, cache=False)) == 4


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_corrupted_fer2013_cache_is_named_and_rebuilt(tmp_path, cache_dir, capsys, damage):
    folder = tmp_path / "shared"
    path = write(folder / "fer2013.csv", fer2013_rows().encode())
    folder.chmod(0o555)  # the cache goes to $FER_KERAS_CACHE
    try:
        first = load_dataset("fer2013", path)
        (cache,) = cache_dir.glob("*.npz")
        data = cache.read_bytes()
        cache.write_bytes(np.random.default_rng(1).bytes(len(data)) if damage == "garbage" else cut(data))
        capsys.readouterr()
        again = load_dataset("fer2013", path)
        err = capsys.readouterr().err
        np.testing.assert_array_equal(again.images, first.images)
        np.testing.assert_array_equal(again.labels, first.labels)
        assert err.count("\n") == 1 and str(cache) in err and "rebuilding" in err
        with np.load(cache) as rebuilt:  # written again, whole
            np.testing.assert_array_equal(rebuilt["images"], first.images)
        assert sorted(p.name for p in cache_dir.iterdir()) == [cache.name]  # no temporary file left
        load_dataset("fer2013", path)
        assert capsys.readouterr().err == ""
    finally:
        folder.chmod(0o755)


def test_a_truncated_landmarks_cache_is_detected_again_not_raised(tmp_path):
    from fer_keras.data.faces import _load_cache

    path = tmp_path / "landmarks.npz"
    np.savez(path, key="k", boxes=np.zeros((50, 4)))
    path.write_bytes(cut(path.read_bytes(), 0.5))  # zipfile.BadZipFile, which is no OSError or ValueError
    assert _load_cache(path, "k") is None


# --------------------------------------------------------------------------------- model files


@pytest.fixture
def tiny_model(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.save(tmp_path / "tiny.keras")
    model.save_weights(tmp_path / "tiny.weights.h5")
    return model


@pytest.mark.parametrize("damage", ["random", "truncated"])
def test_a_damaged_keras_file_is_not_called_missing(tmp_path, tiny_model, damage):
    data = (tmp_path / "tiny.keras").read_bytes()
    path = write(tmp_path / "model.keras", np.random.default_rng(2).bytes(5000) if damage == "random" else cut(data))
    for load in (lambda: load_model_weights("amdcnn", path), lambda: load_trained(weights=path)):
        with pytest.raises(ArgumentError) as err:
            load()
        assert f"{str(path)!r}: not a readable Keras model file (" in str(err.value)
        assert "not found" not in str(err.value)


def test_a_damaged_best_keras_of_a_run_is_named(tmp_path):
    run = tmp_path / "run"
    write(run / "config.yaml", b"recipe:\n  model: {name: amdcnn}\n")
    best = write(run / "best.keras", b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(ArgumentError, match="not a readable Keras model file") as err:
        load_run(run)
    assert str(best) in str(err.value)


@pytest.mark.parametrize("damage", ["random", "truncated"])
def test_a_damaged_weights_file_is_not_blamed_on_the_recipe(tmp_path, tiny_model, damage):
    data = (tmp_path / "tiny.weights.h5").read_bytes()
    path = write(tmp_path / "amdcnn.weights.h5", np.random.default_rng(3).bytes(5000) if damage == "random" else cut(data))
    with pytest.raises(ArgumentError) as err:
        load_model_weights("amdcnn", path)
    assert f"weights={str(path)!r}: not a readable weights file (" in str(err.value)
    assert "recipe" not in str(err.value)


def test_weights_of_another_model_keep_the_recipe_advice(tmp_path, tiny_model):
    with pytest.raises(ArgumentError) as err:
        load_model_weights("amdcnn", tmp_path / "tiny.weights.h5")
    assert "does not fit amdcnn" in str(err.value) and "`recipe`" in str(err.value)
    assert "not a readable" not in str(err.value)


# ------------------------------------------------------------------ issue 35: what readers leave out


def test_folder_readers_count_and_report_every_entry_they_do_not_read(tmp_path, capsys):
    """Issue 35 ("Also"): a .gif in a class folder and a link to nothing were skipped without a word."""
    from pathlib import Path

    root = tmp_path / "faces"
    write(root / "happy" / "a.png", encoded(".png"))
    write(root / "sad" / "b.png", encoded(".png"))
    write(root / "happy" / "anim.gif", b"GIF89a")
    write(root / "happy" / ".DS_Store", b"")  # hidden: no data, not counted
    write(root / "README.txt", b"about these faces")
    (root / "sad" / "gone.png").symlink_to(tmp_path / "nowhere.png")  # an image that is a link to nothing
    (root / "lost").symlink_to(tmp_path / "no_folder")  # a class folder that is a link to nothing
    with pytest.raises(DatasetError, match="gone.png: is a broken symbolic link, not an image file"):
        load_dataset("folder", root)
    record = load_dataset("folder", root, skip_bad=True)
    assert (len(record), record.skipped) == (2, 1)  # the broken image link is a bad image: counted there
    assert sorted(Path(p).name for p in record.extra["ignored"]) == ["README.txt", "anim.gif", "lost"]
    err = capsys.readouterr().err
    assert f"note: {root}: 3 entries not read" in err
    assert "1 .gif files (anim.gif)" in err and "1 broken links (lost)" in err and "1 .txt files (README.txt)" in err
    ck = tmp_path / "ck"
    write(ck / "happy" / "S010_004_00000017.png", encoded(".png"))
    write(ck / "happy" / "S010_004_00000018.gif", b"GIF89a")
    record = load_dataset("ckplus", ck)
    assert len(record) == 1 and [Path(p).name for p in record.extra["ignored"]] == ["S010_004_00000018.gif"]
    assert record.subset([0]).extra["ignored"] == record.extra["ignored"]  # not sliced as a per-sample list


def test_a_named_pipe_given_as_data_is_called_one_not_a_missing_file(tmp_path, capsys, cache_dir):
    """Issue 35 ("Also"): a FIFO as --calibration-data was reported as "no such file"; it is never
    opened (a read would wait for a writer)."""
    import os

    from fer_keras.cli import main

    fifo = tmp_path / "fer2013.csv"
    os.mkfifo(fifo)
    with pytest.raises(DatasetError, match=r"fer2013.csv: is a named pipe \(FIFO\), not a file"):
        load_dataset("fer2013", fifo)
    for argv, flag in ((["export", "--pretrained", "amdcnn_fer2013", "--format", "tflite", "--quantize", "int8",
                         "--calibration-data", fifo, "--out", tmp_path / "m.tflite"], "--calibration-data"),
                       (["evaluate", "--pretrained", "amdcnn_fer2013", "--data", fifo], "--data")):
        assert main([str(a) for a in argv]) == 2
        line = capsys.readouterr().err.strip().splitlines()[-1]
        assert f"{flag} {fifo}: is a named pipe (FIFO), not a dataset file or folder" in line, line
    assert not (tmp_path / "m.tflite").exists()


def fer2013_csv(path, usages, per_usage=14):
    """A FER2013 CSV whose rows are all of `usages` (two of each class per 14 rows)."""
    rng = np.random.default_rng(1)
    rows = [f"{i % 7},{' '.join(str(v) for v in rng.integers(0, 256, 2304))},{usage}\n"
            for usage in usages for i in range(per_usage)]
    return write(path, ("emotion,pixels,Usage\n" + "".join(rows)).encode())


def test_evaluate_explain_and_calibration_read_only_the_splits_they_use(tmp_path, capsys, cache_dir, monkeypatch):
    """Issue 35 ("Also"): `fer-keras explain --pretrained amdcnn_plus_fer2013 --data test_rows_only.csv
    --out ex` failed with "the training split 'Training' has no samples": the test split it scores
    was read through the training protocol, which needs the training split."""
    import fer_keras.data
    from fer_keras.cli import main
    from fer_keras.evaluation import load_eval_record
    from fer_keras.export import calibration_inputs
    from fer_keras.recipes import load_recipe
    from fer_keras.loading import load_trained

    test_only = fer2013_csv(tmp_path / "test_rows_only.csv", ["PrivateTest"])
    read, load = [], fer_keras.data.load_dataset

    def recording(name, path, split=None, **options):
        read.append(split)
        return load(name, path, split=split, **options)

    monkeypatch.setattr(fer_keras.data, "load_dataset", recording)
    record, description = load_eval_record(load_recipe("amdcnn"), data=test_only)
    assert (len(record), description, read) == (14, "PrivateTest (test split)", ["PrivateTest"])
    code = main(["explain", "--pretrained", "amdcnn_plus_fer2013", "--data", str(test_only), "--out", str(tmp_path / "ex"),
                 "--samples", "4", "--tsne-samples", "0"])
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "ex" / "grad_cam.png").is_file()
    public_only = fer2013_csv(tmp_path / "public_rows_only.csv", ["PublicTest"])
    read.clear()
    record, description = load_eval_record(load_recipe("amdcnn"), data=public_only)
    assert record.split == "PublicTest" and "validation split" in description and "Training" not in read
    training = fer2013_csv(tmp_path / "training.csv", ["Training", "PublicTest", "PrivateTest"])
    read.clear()
    arrays, where = calibration_inputs(load_trained(pretrained="amdcnn_fer2013"), training, samples=5)
    assert len(arrays) == 5 and where["split"] == "Training" and read == ["Training", "PublicTest"]
