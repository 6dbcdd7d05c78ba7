"""The backend-neutral PyDataset pipeline: parity with tf.data where nothing is random, shared
geometry (one matrix, warped by OpenCV and by TF alike), exact crops, rotation, determinism and
exact resume, training with model.fit on the current backend, and use with TensorFlow blocked."""

import importlib.util
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from fer_keras.data import DatasetRecord, PipelineConfig, make_pydataset, sample_weights, steps_per_epoch
from fer_keras.data.augment import (
    GEOMETRY,
    Augmentation,
    compose_matrices,
    geometry_parameters,
    transform_matrices,
    warp_images,
)
from fer_keras.quiet import import_keras_quietly
from tests.helpers import ROOT
from tests.helpers.augmentation_checks import ROTATION_CONFIG, assert_rotated_about_the_centre, rotation_probe

keras = import_keras_quietly()

pytestmark = pytest.mark.backend_neutral


def record_of(images, labels):
    return DatasetRecord("toy", images, np.asarray(labels, np.int64), tuple("abcdefg"))


@pytest.fixture
def toy(rng):
    return record_of(rng.integers(0, 256, (40, 48, 48, 1), dtype=np.uint8), rng.integers(0, 7, 40))


def tensorflow_or_skip():
    """TensorFlow, when this run's backend is TensorFlow and it imports; skip otherwise."""
    if keras.backend.backend() != "tensorflow":
        pytest.skip("tf.data comparison runs on the TensorFlow backend only")
    return pytest.importorskip("tensorflow")


def as_numpy(element):
    return [{k: np.asarray(v) for k, v in t.items()} if isinstance(t, dict) else np.asarray(t) for t in element]


def same_batches(first, second):
    def equal(a, b):
        if isinstance(a, dict):
            return sorted(a) == sorted(b) and all(np.array_equal(a[k], b[k]) for k in a)
        return np.array_equal(a, b)

    return len(first) == len(second) and all(
        len(e1) == len(e2) and all(equal(a, b) for a, b in zip(e1, e2)) for e1, e2 in zip(first, second)
    )


def random_parameters(rng, batch, augmentation):
    draws = rng.random((8, batch))
    return geometry_parameters(np, lambda step: draws[step], batch, (48, 48), (44, 44), augmentation, True)


# --- parity with the tf.data pipeline (TensorFlow only) ----------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"input_size": (44, 44), "sample_weights": True},
        {"input_size": (40, 40), "tta": "tencrop", "normalization": "none"},
        {"channels": 3, "normalization": "centered"},
        {"input_size": (42, 40), "normalization": "standard", "sample_weights": True},
    ],
    ids=["centre-crop-weights", "tencrop", "rgb-centered", "standard"],
)
def test_evaluation_batches_equal_the_tf_pipeline(toy, options):
    tensorflow_or_skip()
    from fer_keras.data import make_dataset

    config = PipelineConfig(batch_size=16, **options)
    expected = [as_numpy(e) for e in make_dataset(toy, config, training=False)]
    got = list(make_pydataset(toy, config, training=False))
    assert len(got) == len(expected) == 3
    for (x, y, *w), (want_x, want_y, *want_w) in zip(got, expected):
        assert x.dtype == np.float32 and x.shape == want_x.shape
        if config.normalization == "standard":
            assert np.allclose(x, want_x, atol=1e-4)
        else:
            assert np.array_equal(x, want_x)
        assert np.array_equal(y, want_y) and y.dtype == want_y.dtype
        assert len(w) == len(want_w) and all(np.allclose(a, b) for a, b in zip(w, want_w))


def test_rgb_to_gray_and_multi_input_equal_the_tf_pipeline(rng):
    tensorflow_or_skip()
    from fer_keras.data import make_dataset

    record = record_of(rng.integers(0, 256, (12, 48, 48, 3), dtype=np.uint8), rng.integers(0, 7, 12))
    regions = {"face": record.images, "mouth": record.images[:, ::-1].copy()}
    config = PipelineConfig(input_size=(44, 44), batch_size=8, channels=1)
    expected = [as_numpy(e) for e in make_dataset(record, config, False, inputs=regions)]
    got = list(make_pydataset(record, config, False, inputs=regions))
    assert sorted(got[0][0]) == ["face", "mouth"] and got[0][0]["face"].shape == (8, 44, 44, 1)
    for (x, y), (want_x, want_y) in zip(got, expected):
        assert all(np.allclose(x[k], want_x[k], atol=1e-5) for k in want_x) and np.array_equal(y, want_y)


def test_one_matrix_warped_by_opencv_and_by_tensorflow_gives_one_image(rng):
    tf = tensorflow_or_skip()
    augmentation = Augmentation(vertical_flip=True, rotation=30, scale=0.2, perspective=0.2)
    params = random_parameters(rng, 16, augmentation)
    matrices = transform_matrices(params, (48, 48), (44, 44))
    tf_params = {name: tf.constant(params[name], tf.float32) for name in GEOMETRY}
    assert np.allclose(compose_matrices(tf, tf_params, (48, 48), (44, 44)).numpy(), matrices, atol=1e-5)
    images = rng.integers(0, 256, (16, 48, 48, 3)).astype(np.float32)
    tf_images = tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=tf.constant(matrices.reshape(16, 9)[:, :8], tf.float32),
        output_shape=tf.constant([44, 44]), fill_value=0.0, interpolation="BILINEAR", fill_mode="REFLECT",
    ).numpy()
    cv2_images = warp_images(images, matrices, (44, 44))
    assert np.abs(cv2_images - tf_images).max() < 0.05  # same sampling, same reflected border


def test_each_random_step_has_the_tf_paths_distribution():
    tf = tensorflow_or_skip()
    from fer_keras.data.augment import crop_transforms

    augmentation = Augmentation(vertical_flip=True, rotation=20, scale=0.15, perspective=0.1)
    n = 4000
    tf_matrices = crop_transforms(n, (48, 48), (44, 44), augmentation, tf.constant([1, 2], tf.int64), True).numpy()
    np_matrices = transform_matrices(random_parameters(np.random.default_rng(1), n, augmentation), (48, 48), (44, 44))
    np_matrices = np_matrices.reshape(n, 9)[:, :8]
    for entry in range(8):  # two-sample Kolmogorov-Smirnov distance of each matrix entry
        a, b = np.sort(tf_matrices[:, entry]), np.sort(np_matrices[:, entry])
        grid = np.concatenate([a, b])
        distance = np.abs(np.searchsorted(a, grid, "right") - np.searchsorted(b, grid, "right")).max() / n
        assert distance < 0.05, (entry, distance)


# --- geometry on every backend -----------------------------------------------------------------


def test_matrices_are_the_documented_product(rng):
    augmentation = Augmentation(vertical_flip=True, rotation=25, scale=0.2, perspective=0.15)
    params = random_parameters(rng, 8, augmentation)
    matrices = transform_matrices(params, (48, 48), (44, 44))

    def translation(tx, ty):
        return np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1.0]])

    for i, matrix in enumerate(matrices):
        angle, zoom = np.radians(params["angle"][i]), params["zoom"][i]
        fx, fy = params["flip_x"][i], params["flip_y"][i]
        linear = np.array([
            [np.cos(angle) / zoom * fx, -np.sin(angle) / zoom * fy, 0],
            [np.sin(angle) / zoom * fx, np.cos(angle) / zoom * fy, 0],
            [params["tilt_x"][i] / 22, params["tilt_y"][i] / 22, 1],
        ])
        product = translation(23.5 + params["dx"][i], 23.5 + params["dy"][i]) @ linear @ translation(-21.5, -21.5)
        assert np.allclose(matrix, product / product[2, 2], atol=1e-12)
    centre = matrices @ np.array([21.5, 21.5, 1.0])  # the output centre reads the window's centre
    assert np.allclose(centre[:, :2] / centre[:, 2:], np.stack([23.5 + params["dx"], 23.5 + params["dy"]], 1))


def test_random_crops_are_exact_windows_and_evaluation_crops_are_centred(toy):
    config = PipelineConfig(input_size=(44, 44), batch_size=40, augmentation={"horizontal_flip": False})
    x, y = make_pydataset(toy, config, training=True, shuffle=False)[0]
    crops = np.rint(x * 255).astype(np.uint8)
    offsets = set()
    for image, crop in zip(toy.images, crops):
        matches = [(dy, dx) for dy in range(5) for dx in range(5) if np.array_equal(image[dy : dy + 44, dx : dx + 44], crop)]
        assert len(matches) == 1
        offsets.add(matches[0])
    assert len(offsets) > 5 and np.array_equal(y, toy.labels)
    x, _ = make_pydataset(toy, config, training=False)[0]
    assert np.array_equal(np.rint(x * 255).astype(np.uint8), toy.images[:, 2:46, 2:46])


def test_crops_and_flips_are_exact_copies_by_slice_and_by_warp(toy):
    import cv2

    config = PipelineConfig(input_size=(44, 44), batch_size=40, normalization="none",
                            augmentation={"horizontal_flip": True, "vertical_flip": True})
    x, _ = make_pydataset(toy, config, training=True, shuffle=False)[0]
    kinds = []
    for image, out in zip(toy.images.astype(np.float32), x):
        views = {(fy, fx): image[::fy, ::fx] for fy in (1, -1) for fx in (1, -1)}
        hits = [k for k, v in views.items() for dy in range(5) for dx in range(5)
                if np.array_equal(v[dy : dy + 44, dx : dx + 44], out)]
        assert hits
        kinds.append(hits[0])
    assert len(set(kinds)) == 4  # all four mirror combinations occur
    # The same whole-pixel matrices resampled by OpenCV give the very same pixels.
    params = random_parameters(np.random.default_rng(2), 40, Augmentation(vertical_flip=True))
    matrices = transform_matrices(params, (48, 48), (44, 44))
    images = toy.images.astype(np.float32)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    warped = [cv2.warpPerspective(i, m, (44, 44), flags=flags, borderMode=cv2.BORDER_REFLECT) for i, m in zip(images, matrices)]
    assert np.array_equal(np.stack(warped)[..., None], warp_images(images, matrices, (44, 44)))


def test_rotation_turns_about_the_centre_within_the_limit():
    x, _ = make_pydataset(rotation_probe(), ROTATION_CONFIG, True)[0]
    assert_rotated_about_the_centre(x)


def test_ten_crop_views_channels_normalisations_and_weights(toy):
    config = PipelineConfig(input_size=(40, 40), batch_size=8, tta="tencrop", normalization="none", sample_weights=True)
    x, y, w = make_pydataset(toy, config, training=False)[0]
    assert x.shape == (80, 40, 40, 1) and y.shape == (8,) and w.shape == (8,)
    views = x.reshape(8, 10, 40, 40, 1)
    image = toy.images[3].astype(np.float32)
    expected = [image[:40, :40], image[:40, 8:], image[8:, :40], image[8:, 8:], image[4:44, 4:44]]
    expected += [view[:, ::-1] for view in expected]
    assert all(np.array_equal(got, want) for got, want in zip(views[3], expected))
    from sklearn.utils.class_weight import compute_sample_weight

    weights = np.concatenate([b[2] for b in make_pydataset(toy, PipelineConfig(batch_size=16, sample_weights=True), False)])
    assert np.allclose(weights, compute_sample_weight("balanced", toy.labels)) and weights.dtype == np.float32
    assert len(make_pydataset(toy, PipelineConfig(batch_size=16), False)[0]) == 2
    x, _ = make_pydataset(toy, PipelineConfig(batch_size=40, channels=3, normalization="centered"), False)[0]
    assert x.shape[-1] == 3 and x.min() >= -1 and x.max() <= 1 and np.array_equal(x[..., 0], x[..., 2])
    x, _ = make_pydataset(toy, PipelineConfig(batch_size=40, normalization="standard"), False)[0]
    assert np.allclose(x.mean(axis=(1, 2, 3)), 0, atol=1e-4) and np.allclose(x.std(axis=(1, 2, 3)), 1, atol=1e-2)


def test_photometric_steps_and_regions_sharing_the_draws(rng):
    record = record_of(rng.integers(0, 256, (16, 48, 48, 3), dtype=np.uint8), rng.integers(0, 7, 16))
    config = PipelineConfig(input_size=(44, 44), batch_size=16, normalization="none",
                            augmentation={"horizontal_flip": False, "grayscale": 0.5, "brightness": 0.2})
    x, _ = make_pydataset(record, config, True)[0]
    gray = np.array([np.array_equal(v[..., 0], v[..., 1]) and np.array_equal(v[..., 0], v[..., 2]) for v in x])
    assert 0 < gray.sum() < 16 and x.min() >= 0 and x.max() <= 255
    regions = {"face": record.images, "eyes": record.images.copy(), "mouth": record.images[:, ::-1].copy()}
    config = PipelineConfig(input_size=(44, 44), batch_size=8, augmentation={"rotation": 15, "perspective": 0.1})
    x, _ = make_pydataset(record, config, True, inputs=regions)[0]
    assert sorted(x) == ["eyes", "face", "mouth"] and x["face"].shape == (8, 44, 44, 3)
    assert np.array_equal(x["face"], x["eyes"]) and not np.array_equal(x["face"], x["mouth"])


# --- determinism and resume --------------------------------------------------------------------

AUGMENTATION = {"rotation": 10, "scale": 0.1, "perspective": 0.1, "brightness": 0.2, "vertical_flip": True}


def test_fixed_seed_gives_the_same_batches_and_each_epoch_reshuffles(toy):
    config = PipelineConfig(input_size=(44, 44), batch_size=16, augmentation=AUGMENTATION, sample_weights=True, seed=3)
    dataset = make_pydataset(toy, config, True)
    assert len(dataset) == steps_per_epoch(toy, config) == 3
    first, again = list(dataset), list(make_pydataset(toy, config, True))
    assert same_batches(first, again)
    dataset.on_epoch_end()
    assert dataset.epoch == 1
    second = list(dataset)
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(first, second))
    for epoch in (first, second):
        assert sorted(np.concatenate([b[1] for b in epoch])) == sorted(toy.labels)
    other = list(make_pydataset(toy, PipelineConfig(**{**config.to_dict(), "seed": 4}), True))
    assert not np.array_equal(first[0][0], other[0][0])
    from concurrent.futures import ThreadPoolExecutor

    threaded = make_pydataset(toy, config, True, workers=2)  # any order, any thread: the same batches
    with ThreadPoolExecutor(3) as pool:
        out_of_order = dict(zip([2, 0, 1], pool.map(threaded.__getitem__, [2, 0, 1])))
    assert same_batches(first, [out_of_order[i] for i in range(3)])


def test_an_epoch_stream_resumed_at_epoch_k_yields_what_the_full_stream_did(toy):
    config = PipelineConfig(input_size=(44, 44), batch_size=16, augmentation={"rotation": 10}, seed=5)
    full = list(make_pydataset(toy, config, True, epochs=3).stream())
    assert len(full) == 9
    resumed = make_pydataset(toy, config, True, epochs=3, initial_epoch=2)
    assert same_batches(full[6:], list(resumed.stream())) and same_batches(full[6:], list(resumed))
    assert not np.array_equal(full[0][1], full[3][1])  # epochs differ in order
    counted = make_pydataset(toy, config, True, epochs=3)
    counted.on_epoch_end(), counted.on_epoch_end()  # what keras calls between epochs
    assert same_batches(full[6:], list(counted))


def tiny_model(shape, classes=7):
    """Dict outputs with a loss on "probabilities" only, as fer_keras models are trained."""
    inputs = keras.Input(shape, name="image")
    hidden = keras.layers.Conv2D(4, 3, strides=2, activation="relu")(inputs)
    features = keras.layers.Flatten(name="features")(keras.layers.MaxPooling2D(2)(hidden))
    probabilities = keras.layers.Dense(classes, activation="softmax", name="probabilities")(features)
    model = keras.Model(inputs, {"probabilities": probabilities, "features": features})
    model.compile(keras.optimizers.Adam(0.05), {"probabilities": "sparse_categorical_crossentropy"})
    return model


def test_fit_resumed_at_epoch_k_sees_the_batches_the_full_run_saw(toy):
    config = PipelineConfig(input_size=(44, 44), batch_size=20, augmentation={"rotation": 10}, seed=7)
    model = tiny_model((44, 44, 1))  # shared: the second fit finds it built (keras then skips its peek)

    def run(initial_epoch):
        seen, fit_epoch = {}, [None]

        class Recorder(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                fit_epoch[0] = epoch

        def record_batch(x, y):
            if fit_epoch[0] is not None:  # not the batch fit peeks at to build the model
                seen.setdefault(fit_epoch[0], []).append(y.copy())
            return x, {"probabilities": y}

        dataset = make_pydataset(toy, config, True, epochs=3, initial_epoch=initial_epoch, transform=record_batch)
        model.fit(dataset, epochs=3, initial_epoch=initial_epoch, shuffle=False, verbose=0,
                  callbacks=[dataset.callback(), Recorder()])
        return seen

    full, resumed = run(0), run(2)
    stream = [b[1] for b in make_pydataset(toy, config, True, epochs=3).stream()]
    assert sorted(full) == [0, 1, 2] and sorted(resumed) == [2] and len(resumed[2]) == 2
    assert all(np.array_equal(a, b) for a, b in zip(full[2], resumed[2]))
    assert all(np.array_equal(a, b) for a, b in zip(sum((full[e] for e in range(3)), []), stream))


def test_a_tiny_model_learns_with_fit_on_this_backend(rng):
    labels = rng.integers(0, 3, 96)
    images = rng.integers(0, 60, (96, 24, 24, 1)).astype(np.uint8)
    for i, label in enumerate(labels):  # the class is where the bright bar lies
        images[i, 2 + 7 * label : 7 + 7 * label, :] += 180
    record = record_of(images, labels)
    config = PipelineConfig(input_size=(20, 20), batch_size=16, sample_weights=True,
                            augmentation={"horizontal_flip": True, "perspective": 0.05})

    def to_fit(x, y, w):  # what the training driver's `to_fit` does for a model without label inputs
        return x, {"probabilities": y}, {"probabilities": w}

    dataset = make_pydataset(record, config, True, transform=to_fit)
    model = tiny_model((20, 20, 1), classes=3)
    history = model.fit(dataset, epochs=6, shuffle=False, verbose=0, callbacks=[dataset.callback()])
    losses = history.history["loss"]
    assert losses[-1] < 0.7 * losses[0], losses
    predictions = model.predict(make_pydataset(record, config, False, transform=lambda x, y, w: (x,)), verbose=0)
    assert predictions["probabilities"].shape == (96, 3)


def test_bad_configs_name_what_is_wrong(toy):
    with pytest.raises(ValueError, match="larger than the images"):
        make_pydataset(toy, PipelineConfig(input_size=(50, 50)), True)
    assert make_pydataset(toy, PipelineConfig(input_size=(80, 80), resize=(100, 100)), True)[0][0].shape == (32, 80, 80, 1)
    with pytest.raises(ValueError, match=r"inputs\['eyes'\] has 3 images but the record has 40"):
        make_pydataset(toy, PipelineConfig(), True, inputs={"face": toy.images, "eyes": toy.images[:3]})
    with pytest.raises(IndexError):
        make_pydataset(toy, PipelineConfig(batch_size=16), True)[3]


# --- without TensorFlow ------------------------------------------------------------------------

BLOCKED = """
import importlib.abc, sys

class NoTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ImportError(f"{name} is blocked in this test")
        return None

sys.meta_path.insert(0, NoTensorFlow())
"""

WITHOUT_TF = BLOCKED + """
import numpy as np
import keras
from fer_keras.data import DatasetRecord, PipelineConfig, make_pydataset

assert keras.backend.backend() == "jax"
rng = np.random.default_rng(0)
record = DatasetRecord("toy", rng.integers(0, 256, (40, 48, 48, 1), dtype=np.uint8), rng.integers(0, 3, 40), tuple("abc"))
config = PipelineConfig(input_size=(44, 44), batch_size=16, sample_weights=True,
                        augmentation={"horizontal_flip": True, "vertical_flip": True, "perspective": 0.1})
train = make_pydataset(record, config, True, epochs=2)
x, y, w = train[0]
assert x.shape == (16, 44, 44, 1) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
views = make_pydataset(record, PipelineConfig(input_size=(40, 40), batch_size=8, tta="tencrop"), False)[0][0]
assert views.shape == (80, 40, 40, 1)
model = keras.Sequential([keras.Input((44, 44, 1)), keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
model.compile("sgd", "sparse_categorical_crossentropy")
model.fit(train, epochs=1, shuffle=False, verbose=0, callbacks=[train.callback()])
assert "tensorflow" not in sys.modules
print("ok without tensorflow")
"""


def test_imports_and_trains_with_tensorflow_blocked():
    if importlib.util.find_spec("jax") is None:
        pytest.skip("needs jax for a backend without TensorFlow")
    env = {**os.environ, "KERAS_BACKEND": "jax", "CUDA_VISIBLE_DEVICES": "", "JAX_PLATFORMS": "cpu"}
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(WITHOUT_TF)], capture_output=True, text=True,
                            env=env, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ok without tensorflow" in result.stdout
