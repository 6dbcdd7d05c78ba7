"""tf.data pipeline: crops, ten-crop, augmentation geometry, sample weights, determinism; k-fold splits."""

import numpy as np
import pytest

from tests.helpers.augmentation_checks import ROTATION_CONFIG, assert_rotated_about_the_centre, rotation_probe
from fer_keras.data import (
    DatasetRecord,
    PipelineConfig,
    average_ten_crop,
    kfold,
    make_dataset,
    sample_weights,
    steps_per_epoch,
)
from fer_keras.data.splits import fold_records


def record_of(images, labels, subjects=None):
    return DatasetRecord("toy", images, np.asarray(labels, np.int64), tuple("abcdefg"), subjects=subjects)


@pytest.fixture
def toy(rng):
    return record_of(rng.integers(0, 256, (40, 48, 48, 1), dtype=np.uint8), rng.integers(0, 7, 40))


def batches(dataset):
    def numpy(t):
        return {k: np.asarray(v) for k, v in t.items()} if isinstance(t, dict) else np.asarray(t)

    return [[numpy(t) for t in element] for element in dataset]


def test_weights_are_the_third_element_and_sklearns(toy):
    config = PipelineConfig(batch_size=16, sample_weights=True)
    (x, y, w), *_ = batches(make_dataset(toy, config, training=False))
    assert np.allclose(w, sample_weights(toy.labels)[:16]) and np.array_equal(y, toy.labels[:16])
    assert len(batches(make_dataset(toy, PipelineConfig(batch_size=16), training=False))[0]) == 2


def test_random_crops_are_exact_windows_and_evaluation_crops_are_centred(toy):
    config = PipelineConfig(input_size=(44, 44), batch_size=40, augmentation={"horizontal_flip": False})
    x, y = batches(make_dataset(toy, config, training=True, shuffle=False))[0]
    crops = np.rint(x * 255).astype(np.uint8)
    offsets = set()
    for image, crop in zip(toy.images, crops):
        matches = [(dy, dx) for dy in range(5) for dx in range(5) if np.array_equal(image[dy : dy + 44, dx : dx + 44], crop)]
        assert len(matches) == 1
        offsets.add(matches[0])
    assert len(offsets) > 5  # positions vary between samples
    x, _ = batches(make_dataset(toy, config, training=False))[0]
    assert np.array_equal(np.rint(x * 255).astype(np.uint8), toy.images[:, 2:46, 2:46])


def test_ten_crop_views_are_the_corners_centre_and_mirrors(toy):
    config = PipelineConfig(input_size=(40, 40), batch_size=8, tta="tencrop", normalization="none")
    x, y = batches(make_dataset(toy, config, training=False))[0]
    assert x.shape == (80, 40, 40, 1) and y.shape == (8,)
    views = x.reshape(8, 10, 40, 40, 1)
    image = toy.images[3].astype(np.float32)
    expected = [image[:40, :40], image[:40, 8:], image[8:, :40], image[8:, 8:], image[4:44, 4:44]]
    expected += [view[:, ::-1] for view in expected]
    for got, want in zip(views[3], expected):
        assert np.array_equal(got, want)
    predictions = np.arange(80, dtype=np.float32)[:, None] * np.ones((1, 7))
    assert np.allclose(average_ten_crop(predictions)[:, 0], np.arange(8) * 10 + 4.5)


def test_fixed_seed_gives_the_same_batches_and_each_epoch_reshuffles(toy):
    augmentation = {"rotation": 10, "scale": 0.1, "perspective": 0.1, "brightness": 0.2, "vertical_flip": True}
    config = PipelineConfig(input_size=(44, 44), batch_size=16, augmentation=augmentation, sample_weights=True, seed=3)
    first, again = batches(make_dataset(toy, config, True)), batches(make_dataset(toy, config, True))
    assert all(np.array_equal(a, b) for e1, e2 in zip(first, again) for a, b in zip(e1, e2))
    dataset = make_dataset(toy, config, True)
    epoch1, epoch2 = [e[1] for e in batches(dataset)], [e[1] for e in batches(dataset)]
    assert not all(np.array_equal(a, b) for a, b in zip(epoch1, epoch2))
    assert sorted(np.concatenate(epoch1)) == sorted(toy.labels)
    other = batches(make_dataset(toy, PipelineConfig(**{**config.to_dict(), "seed": 4}), True))
    assert not np.array_equal(first[0][0], other[0][0])


def test_an_epoch_stream_resumed_at_epoch_k_yields_what_the_full_stream_did(toy):
    config = PipelineConfig(input_size=(44, 44), batch_size=16, augmentation={"rotation": 10}, seed=5)
    full = batches(make_dataset(toy, config, True, epochs=3))
    assert len(full) == 3 * steps_per_epoch(toy, config) == 9
    resumed = batches(make_dataset(toy, config, True, epochs=3, initial_epoch=2))
    assert all(np.array_equal(a, b) for e1, e2 in zip(full[6:], resumed) for a, b in zip(e1, e2))
    assert not np.array_equal(full[0][1], full[3][1])  # epochs differ in order


def test_datasets_state_their_length_so_keras_knows_the_steps(toy):
    config = PipelineConfig(batch_size=16, tta="tencrop", input_size=(40, 40))
    for dataset, expected in [
        (make_dataset(toy, config, training=False), 3),
        (make_dataset(toy, config, training=True), 3),
        (make_dataset(toy, config, True, epochs=3), 9),
        (make_dataset(toy, config, True, epochs=3, initial_epoch=2), 3),
    ]:
        assert int(dataset.cardinality()) == expected == len(batches(dataset))  # the claim is checked while iterating


def test_rotation_turns_about_the_centre_within_the_limit():
    (x, _), = batches(make_dataset(rotation_probe(), ROTATION_CONFIG, True))
    assert_rotated_about_the_centre(x)


def test_flips_mirror_and_channels_and_normalisations(toy):
    config = PipelineConfig(batch_size=40, normalization="none", augmentation={"horizontal_flip": True})
    (x, _), = batches(make_dataset(toy, config, True, shuffle=False))
    mirrored = [np.array_equal(out, image[:, ::-1]) for out, image in zip(x, toy.images.astype(np.float32))]
    plain = [np.array_equal(out, image) for out, image in zip(x, toy.images.astype(np.float32))]
    assert all(m or p for m, p in zip(mirrored, plain)) and 5 < sum(mirrored) < 35
    (x, _), = batches(make_dataset(toy, PipelineConfig(batch_size=40, channels=3, normalization="centered"), False))
    assert x.shape[-1] == 3 and x.min() >= -1 and x.max() <= 1 and np.array_equal(x[..., 0], x[..., 2])
    (x, _), = batches(make_dataset(toy, PipelineConfig(batch_size=40, normalization="standard"), False))
    assert np.allclose(x.mean(axis=(1, 2, 3)), 0, atol=1e-4) and np.allclose(x.std(axis=(1, 2, 3)), 1, atol=1e-2)


def test_multi_input_regions_share_the_random_draws(toy):
    regions = {"face": toy.images, "eyes": toy.images.copy(), "mouth": toy.images[:, ::-1].copy()}
    config = PipelineConfig(input_size=(44, 44), batch_size=8, augmentation={"rotation": 15})
    (x, _), *_ = batches(make_dataset(toy, config, True, inputs=regions))
    assert sorted(x) == ["eyes", "face", "mouth"] and x["face"].shape == (8, 44, 44, 1)
    assert np.array_equal(x["face"], x["eyes"]) and not np.array_equal(x["face"], x["mouth"])


def test_bad_configs_name_what_is_wrong(toy):
    with pytest.raises(ValueError, match=r"unknown pipeline option\(s\) \['crop'\]"):
        PipelineConfig.from_dict({"crop": 44})
    with pytest.raises(ValueError, match=r"unknown augmentation option\(s\) \['mixup'\]"):
        PipelineConfig(augmentation={"mixup": 1})
    with pytest.raises(ValueError, match="larger than the images"):
        make_dataset(toy, PipelineConfig(input_size=(50, 50)), True)
    assert make_dataset(toy, PipelineConfig(input_size=(80, 80), resize=(100, 100)), True).element_spec[0].shape[1:] == (80, 80, 1)
    with pytest.raises(ValueError, match=r"inputs\['eyes'\] has 3 images but the record has 40"):
        make_dataset(toy, PipelineConfig(), True, inputs={"face": toy.images, "eyes": toy.images[:3]})


def test_random_folds_partition_and_stratify(rng):
    labels = np.repeat(np.arange(7), 20)
    record = record_of(np.zeros((140, 4, 4, 1), np.uint8), labels)
    folds = kfold(record, k=10, protocol="random", seed=1)
    assert len(folds) == 10 and folds[0].protocol.startswith("random 10-fold")
    tests = np.concatenate([f.test for f in folds])
    assert sorted(tests) == list(range(140))
    for fold in folds:
        assert not set(fold.train) & set(fold.test)
        assert np.bincount(labels[fold.test], minlength=7).tolist() == [2] * 7
    train, test = fold_records(record, folds[0])
    assert (len(train), len(test), test.split) == (126, 14, "fold0-test")


def test_subject_independent_folds_share_no_subject(rng):
    subjects = np.array([f"S{s:03d}" for s in rng.integers(0, 25, 200)])
    record = record_of(np.zeros((200, 4, 4, 1), np.uint8), rng.integers(0, 7, 200), subjects=subjects)
    folds = kfold(record, k=5, protocol="subject")
    assert folds[0].protocol.startswith("subject-independent 5-fold")
    assert sorted(np.concatenate([f.test for f in folds])) == list(range(200))
    for fold in folds:
        assert not set(subjects[fold.train]) & set(subjects[fold.test])
    with pytest.raises(ValueError, match="needs subject ids"):
        kfold(record_of(record.images, record.labels), protocol="subject")
    with pytest.raises(ValueError, match="protocol must be one of"):
        kfold(record, protocol="leave-one-out")
